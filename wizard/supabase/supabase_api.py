"""The product's thin wrapper around supabase-py: read, list, download and invoke the way the
runbook's app does, with timeouts, and every HTTP failure turned into an operator message.

supabase-py is imported lazily (it costs ~0.7 s). Its PostgREST errors do not carry the HTTP
status, so every client here runs on an httpx client of ours whose response hook records the
status and body. PostgREST's automatic retry of 503 (up to 3 times, 7 s of sleeps) is turned
off: the wizard reports what one request of the app sees, and fast.

How statuses read for this product (FIELD-GUIDE §4):

* 503, or SQLSTATE 08*: Supabase cannot reach the DW (postgres_fdw could not connect);
* 500 with 57014 (statement timeout) or HV* (an FDW error): the FDW is down or too slow;
  both mean the app's hook will use the Storage JSON fallback;
* 401/403 with 42501: the key's role has no GRANT on the relation; 401 otherwise: a bad key;
* 406 PGRST106: the schema is not exposed by the API (the private ``bi`` schema: the secure
  default, so the app reads the views instead);
* 404 PGRST205 / 42P01: the relation does not exist (yet).

Keys are registered with :mod:`wizard.redact` and never appear in messages.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from wizard import redact
from wizard.errors import StepError
from wizard.i18n import Message

if TYPE_CHECKING:
    import httpx

__all__ = [
    "APP_READ_LIMIT",
    "DEFAULT_TIMEOUT_S",
    "STORAGE_PAGE_SIZE",
    "FunctionResult",
    "ReadResult",
    "SupabaseApiError",
    "classify",
    "download",
    "invoke_function",
    "key_role",
    "list_bucket",
    "read_as_app",
]

APP_READ_LIMIT = 10000  # the runbook hook: .select('*').limit(10000)
STORAGE_PAGE_SIZE = 100  # storage3's default list limit: anything longer must be paginated
DEFAULT_TIMEOUT_S = 15.0  # above authenticated's 8 s statement_timeout, so the server speaks first

T = TypeVar("T")


@dataclass
class ReadResult:
    relation: str  # schema.name
    http_status: int
    rows: int
    latency_ms: int
    columns: list[str] = field(default_factory=list)


@dataclass
class FunctionResult:
    name: str
    http_status: int
    body: Any  # the function's JSON answer (or its text when not JSON)
    latency_ms: int


class SupabaseApiError(StepError):
    """An API call that failed, classified: ``kind`` is one of ``dw_unreachable``, ``fdw_down``,
    ``denied``, ``no_mapping``, ``bad_key``, ``schema_not_exposed``, ``not_found``,
    ``object_missing``, ``bucket_missing``, ``function_missing``, ``timeout``, ``unreachable``,
    ``api_unavailable``, ``http``. The message is ``app.err.<kind>``, the fix
    ``app.err.<kind>.fix``."""

    def __init__(
        self,
        kind: str,
        what: str,
        *,
        http_status: int | None = None,
        code: str | None = None,
        detail: str = "",
        role: str | None = None,
        latency_ms: int = 0,
    ) -> None:
        self.kind = kind
        self.what = what
        self.http_status = http_status
        self.code = code
        self.detail = redact.redact(detail.strip())[:500]
        self.role = role
        self.latency_ms = latency_ms
        params = {
            "what": what,
            "status": http_status if http_status is not None else "-",
            "code": code or "-",
            "detail": self.detail,
            "role": role or "?",
        }
        super().__init__(Message(f"app.err.{kind}", params), Message(f"app.err.{kind}.fix", params))


def key_role(key: str) -> str | None:
    """The ``role`` claim of a Supabase JWT key (not verified: only to explain results)."""
    parts = key.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, UnicodeDecodeError):
        return None
    role = claims.get("role") if isinstance(claims, dict) else None
    return str(role) if role else None


def classify(http_status: int | None, code: str | None, detail: str = "") -> str:
    """Our kind of failure for a PostgREST answer (status, code, message)."""
    code = code or ""
    if code == "42704" and "user mapping" in detail:
        return "no_mapping"  # a GRANT without a user mapping for the role (FIELD-GUIDE §4)
    if code == "PGRST106" or http_status == 406:
        return "schema_not_exposed"
    if code in ("PGRST205", "42P01") or (http_status == 404 and code.startswith("PGRST2")):
        return "not_found"
    if code.startswith("08"):
        return "dw_unreachable"
    if code == "57014" or code.startswith("HV"):
        return "fdw_down"
    if code == "42501":
        return "denied"
    if code in ("PGRST000", "PGRST001", "PGRST002"):
        return "api_unavailable"  # PostgREST cannot reach its own database
    if http_status == 503:
        return "dw_unreachable"
    if http_status == 401:
        return "bad_key"
    if http_status == 403:
        return "denied"
    if http_status == 404:
        return "not_found"
    return "http"


# ---------------------------------------------------------------------------------------------
# Clients


class _Recorder:
    """httpx response hook: the last response's status and body (supabase-py drops them)."""

    def __init__(self) -> None:
        self.status: int | None = None
        self.body: bytes = b""

    def __call__(self, response: httpx.Response) -> None:
        response.read()
        self.status = response.status_code
        self.body = response.content

    def json(self) -> Any:
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return None


@dataclass
class _Session:
    client: Any  # supabase.Client
    http: httpx.Client
    recorder: _Recorder
    role: str | None


def _session(url: str, key: str, timeout_s: float) -> _Session:
    import httpx
    from supabase import create_client
    from supabase.lib.client_options import SyncClientOptions

    redact.register(key)
    recorder = _Recorder()
    http = httpx.Client(
        timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 10.0)),
        event_hooks={"response": [recorder]},
        follow_redirects=False,  # a key must never follow a redirect to another host
    )
    options = SyncClientOptions(
        httpx_client=http,
        postgrest_client_retry=False,
        auto_refresh_token=False,
        persist_session=False,
    )
    client = create_client(url, key, options)
    return _Session(client, http, recorder, key_role(key))


def _call(session: _Session, what: str, fn: Callable[[], T]) -> tuple[T, int]:
    """Run one API call; returns (result, latency ms) or raises SupabaseApiError."""
    import httpx

    started = time.monotonic()
    try:
        result = fn()
    except httpx.TimeoutException as exc:
        raise SupabaseApiError(
            "timeout", what, detail=str(exc), role=session.role, latency_ms=_since(started)
        ) from None
    except httpx.TransportError as exc:
        raise SupabaseApiError(
            "unreachable", what, detail=str(exc), role=session.role, latency_ms=_since(started)
        ) from None
    except Exception as exc:
        raise _from_response(session, what, exc, _since(started)) from None
    return result, _since(started)


def _since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _from_response(session: _Session, what: str, exc: Exception, latency_ms: int) -> StepError:
    status = session.recorder.status
    body = session.recorder.json()
    code: str | None = None
    detail = ""
    if isinstance(body, dict):
        raw_code = body.get("code") or body.get("error")
        code = str(raw_code) if raw_code is not None else None
        detail = str(body.get("message") or "")
        if body.get("details"):
            detail += f" ({body['details']})"
    if not detail:
        detail = getattr(exc, "message", None) or str(exc)
    if status is None:
        return SupabaseApiError(
            "unreachable", what, detail=str(detail), role=session.role, latency_ms=latency_ms
        )
    kind = classify(status, code, str(detail))
    return SupabaseApiError(
        kind,
        what,
        http_status=status,
        code=code,
        detail=str(detail),
        role=session.role,
        latency_ms=latency_ms,
    )


# ---------------------------------------------------------------------------------------------
# Operations


def read_as_app(
    url: str,
    key: str,
    table: str,
    schema: str = "public",
    limit: int = APP_READ_LIMIT,
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> ReadResult:
    """``supabase.schema(schema).from_(table).select('*').limit(limit)``, as the runbook's
    ``useBIDataWithFDW`` hook reads (section 4.1)."""
    what = f"{schema}.{table}"
    session = _session(url, key, timeout_s)
    try:
        response, latency = _call(
            session,
            what,
            lambda: session.client.schema(schema).from_(table).select("*").limit(limit).execute(),
        )
    finally:
        session.http.close()
    data = response.data if isinstance(response.data, list) else []
    columns = list(data[0]) if data and isinstance(data[0], dict) else []
    return ReadResult(what, session.recorder.status or 200, len(data), latency, columns)


def list_bucket(
    url: str,
    key: str,
    bucket: str,
    prefix: str = "",
    *,
    page_size: int = STORAGE_PAGE_SIZE,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> list[dict[str, Any]]:
    """Every entry under ``prefix`` (one folder level), page by page: storage3 returns at most
    ``limit`` (default 100) entries per call."""
    session = _session(url, key, timeout_s)
    entries: list[dict[str, Any]] = []
    try:
        bucket_api = session.client.storage.from_(bucket)
        while True:
            offset = len(entries)
            page, _ = _call(
                session,
                bucket,
                lambda offset=offset: bucket_api.list(  # type: ignore[misc]
                    prefix,
                    {
                        "limit": page_size,
                        "offset": offset,
                        "sortBy": {"column": "name", "order": "asc"},
                    },
                ),
            )
            entries.extend(e for e in page if isinstance(e, dict))
            if len(page) < page_size:
                return entries
    except SupabaseApiError as exc:
        raise _storage_kind(exc) from None
    finally:
        session.http.close()


def download(
    url: str, key: str, bucket: str, path: str, *, timeout_s: float = DEFAULT_TIMEOUT_S
) -> bytes:
    """The object's bytes, as ``supabase.storage.from_(bucket).download(path)``."""
    session = _session(url, key, timeout_s)
    try:
        data, _ = _call(
            session, f"{bucket}/{path}", lambda: session.client.storage.from_(bucket).download(path)
        )
    except SupabaseApiError as exc:
        raise _storage_kind(exc) from None
    finally:
        session.http.close()
    return bytes(data)


def _rekind(exc: SupabaseApiError, kind: str) -> SupabaseApiError:
    return SupabaseApiError(
        kind,
        exc.what,
        http_status=exc.http_status,
        code=exc.code,
        detail=exc.detail,
        role=exc.role,
        latency_ms=exc.latency_ms,
    )


def _storage_kind(exc: SupabaseApiError) -> SupabaseApiError:
    """Storage speaks its own dialect: 404 is a missing object or bucket, not a relation."""
    if exc.http_status in (400, 404) and exc.kind in ("not_found", "http"):
        text = (exc.code or "") + " " + exc.detail
        return _rekind(exc, "bucket_missing" if "bucket" in text.lower() else "object_missing")
    if exc.http_status in (401, 403) and "signature" in exc.detail.lower():
        return _rekind(exc, "bad_key")
    return exc


def invoke_function(
    url: str, key: str, name: str, *, timeout_s: float = DEFAULT_TIMEOUT_S
) -> FunctionResult:
    """POST ``/functions/v1/<name>``. A function's own error answer (any 5xx with a body) is a
    result, not an exception: the health check's 500 is what it has to say. 404 (not
    deployed), 401 (bad key), timeouts and network errors raise SupabaseApiError."""
    session = _session(url, key, timeout_s)
    try:
        try:
            data, latency = _call(
                session, name, lambda: session.client.functions.invoke(name, {"method": "POST"})
            )
        except SupabaseApiError as exc:
            status = exc.http_status or 0
            if status == 404:
                raise _rekind(exc, "function_missing") from None
            if status >= 500 and session.recorder.body:
                body = session.recorder.json()
                if body is None:
                    body = session.recorder.body.decode("utf-8", errors="replace")
                return FunctionResult(name, status, body, exc.latency_ms)
            if status in (401, 403):
                raise _rekind(exc, "bad_key") from None
            raise
    finally:
        session.http.close()
    body = session.recorder.json()
    if body is None:
        body = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
    return FunctionResult(name, session.recorder.status or 200, body, latency)
