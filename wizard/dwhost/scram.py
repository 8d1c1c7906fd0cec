"""SCRAM-SHA-256 verifiers: made by libpq on the client, checked here without a login.

Hashing on the client (PQencryptPasswordConn) means the plaintext never reaches the server or
its log (log_statement). Checking a stored verifier against the keyring's password (RFC 5802
/ RFC 7677 with the verifier's own salt and iterations) tells "the password we hold still
works" before any pg_hba rule exists.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any


def make_verifier(conn: Any, password: str, user: str) -> str:
    """libpq's SCRAM-SHA-256 verifier for ``password`` (the algorithm passed explicitly)."""
    raw: bytes = conn.pgconn.encrypt_password(
        password.encode("utf-8"), user.encode("utf-8"), b"scram-sha-256"
    )
    return raw.decode("ascii")


def verifier_matches(verifier: str | None, password: str) -> bool:
    """True when ``verifier`` (pg_authid.rolpassword) was made from ``password``."""
    if not verifier or not verifier.startswith("SCRAM-SHA-256$"):
        return False
    try:
        head, keys = verifier[len("SCRAM-SHA-256$") :].split("$", 1)
        iterations_text, salt_b64 = head.split(":", 1)
        stored_b64, server_b64 = keys.split(":", 1)
        salt = base64.b64decode(salt_b64)
        iterations = int(iterations_text)
    except ValueError:
        return False
    salted = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    return hmac.compare_digest(base64.b64encode(stored_key).decode(), stored_b64) and (
        hmac.compare_digest(base64.b64encode(server_key).decode(), server_b64)
    )
