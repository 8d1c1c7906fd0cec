"""API keys: HS256 JWTs with a ``role`` claim, as Supabase's legacy anon / service_role keys.
The stand-in has no Auth (GoTrue) endpoints; a test makes the keys it needs with
:func:`make_key`."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

from wizard import redact


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def make_key(secret: str, role: str, *, ttl_s: int = 10 * 365 * 86400, ref: str = "standin") -> str:
    """A Supabase-style API key / access token: an HS256 JWT whose ``role`` claim PostgREST
    switches to (``anon``, ``service_role``, ``authenticated``)."""
    now = int(time.time())
    header = {"alg": "HS256", "typ": "JWT"}
    payload = {"iss": "supabase", "ref": ref, "role": role, "iat": now, "exp": now + ttl_s}
    signing_input = (
        _b64url(json.dumps(header, separators=(",", ":")).encode())
        + "."
        + _b64url(json.dumps(payload, separators=(",", ":")).encode())
    )
    signature = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    token = signing_input + "." + _b64url(signature)
    redact.register(token)  # a key is a secret wherever it is printed
    return token


def verify_key(token: str, secret: str) -> dict[str, Any] | None:
    """The claims of a valid, unexpired HS256 JWT signed with ``secret``; else None."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        header = json.loads(_b64url_decode(parts[0]))
        claims = json.loads(_b64url_decode(parts[1]))
        signature = _b64url_decode(parts[2])
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(header, dict) or header.get("alg") != "HS256":
        return None  # never "none", never an algorithm we did not sign with
    expected = hmac.new(
        secret.encode(), (parts[0] + "." + parts[1]).encode(), hashlib.sha256
    ).digest()
    if not hmac.compare_digest(expected, signature) or not isinstance(claims, dict):
        return None
    exp = claims.get("exp")
    if isinstance(exp, int | float) and exp < time.time():
        return None
    return claims
