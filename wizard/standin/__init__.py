"""A LOCAL STAND-IN for the few Supabase HTTP APIs fdw-wizard uses. It is not Supabase.

Tests and the rehearsal sandbox cannot reach a real Supabase project, so this module serves the
documented endpoints the product (and the runbook's app) call through supabase-py, backed by
the Supabase-like test bed cluster, on 127.0.0.1 only:

* REST (PostgREST semantics): ``GET|HEAD /rest/v1/<relation>?select=&limit=&offset=&order=&
  col=op.v`` with ``Accept-Profile`` choosing the schema and ``Prefer: count=exact`` adding the
  total to ``Content-Range`` (``0-9/1200``; 206 when the rows are part of the total; HEAD has no
  body: supabase-js' ``select('*', {count: 'exact', head: true})``). The schema must be in
  ``pgrst.db_schemas`` of the ``authenticator`` role (read from the database), else 406
  PGRST106. Each request runs on one of a pool of long-lived connections (LIFO, so
  postgres_fdw's cached connection to the DW is warm, as behind a real PostgREST; a request
  waits up to ``pool_timeout_s`` for one, then 504 PGRST003), in PostgREST's order:
  ``BEGIN ISOLATION LEVEL READ COMMITTED READ ONLY``; one ``SELECT set_config(..., true), ...``
  of search_path, role, request.jwt.claims, request.method, request.path, request.headers,
  request.cookies and the role's own ``ALTER ROLE ... SET`` settings (anon's 3 s /
  authenticated's 8 s statement_timeout); ``SELECT <pgrst.db_pre_request>()`` when authenticator
  names one; the query; ``COMMIT`` (``ROLLBACK`` on error). SQLSTATEs map to HTTP statuses as
  PostgREST documents them (08* -> 503, 57014 / HV* -> 500, 42501 -> 401 for anon / 403, 42P01
  -> 404 PGRST205).
* Storage: ``POST /storage/v1/object/list/<bucket>`` (storage3's list body) and
  ``GET /storage/v1/object[/authenticated]/<bucket>/<path>``. Listing reads ``storage.objects``
  as the caller's role (so its RLS applies, as in Supabase Storage); the bytes come from
  ``<storage_dir>/<bucket>/<name>``. :func:`write_fallback_files` exports the DW tables there
  the way the ETL does and updates the objects' metadata.
* Functions: ``POST /functions/v1/fdw-health-check``, the runbook's Edge Function 5.1: it times
  ``select=count`` through the REST path as ``service_role`` on :class:`HealthCheck`'s relation.
  The runbook reads ``public.dim_clientes``; with the secure default (foreign tables in the
  private ``bi`` schema, which the API does not expose) a function cannot ``.schema('bi')``, so
  point it at the exposed view ``v_clientes_360`` instead (``HealthCheck("public",
  "v_clientes_360")``). A function not in ``functions`` answers 404, like an undeployed one.

What it still does NOT do (it is a fake): writes (POST/PATCH/DELETE), RPC, embedded resources,
JSON/array operators, ranges by header, ``Prefer: count=planned|estimated`` (answered like no
count), the schema cache (a missing relation is found by the database's error, and the
in-database configuration is read on every request instead of at ``NOTIFY pgrst, 'reload
config'``), JWT audiences and asymmetric keys, Supavisor, Kong's rate limits; it connects as
the configured database user (``supabase_admin`` in tests, not ``authenticator``), and Storage
and Functions open a connection per request (their roles switch with a session ``SET ROLE``).

Keys are HS256 JWTs with a ``role`` claim (:func:`make_key`); the gateway refuses a request
without a valid ``apikey`` (401) like Supabase's, and ``Authorization: Bearer`` picks the role.

Run it on its own (secrets come from files or the environment, never argv)::

    python -m wizard.supabase_standin --db-host 127.0.0.1 --db-port P --storage-dir D \\
        --jwt-secret-file F [--db-password-file F2 | env FDW_WIZARD_STANDIN_DB_PASSWORD]
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import hmac
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

from wizard import redact
from wizard.runbook import RUNBOOK_BUCKET, RUNBOOK_TABLES

if TYPE_CHECKING:
    import psycopg
    from psycopg import sql

__all__ = [
    "HEALTH_FUNCTION",
    "HealthCheck",
    "Response",
    "StandIn",
    "make_key",
    "verify_key",
    "write_fallback_files",
]

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"  # the only address the stand-in ever listens on
HEALTH_FUNCTION = "fdw-health-check"
ENV_DB_PASSWORD = "FDW_WIZARD_STANDIN_DB_PASSWORD"  # noqa: S105 - a variable name
ENV_JWT_SECRET = "FDW_WIZARD_STANDIN_JWT_SECRET"  # noqa: S105 - a variable name
_CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Headers": "authorization, x-client-info, apikey, content-type",
}
_RESERVED_PARAMS = {"select", "limit", "offset", "order", "columns", "on_conflict", "apikey"}
_OPERATORS = {"eq": "=", "neq": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
_MAX_BODY = 1 << 20


# ---------------------------------------------------------------------------------------------
# JWT keys (HS256, as Supabase's legacy anon / service_role keys)


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


# ---------------------------------------------------------------------------------------------
# Requests and responses


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, data: Any, headers: Mapping[str, str] | None = None) -> Response:
        out = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
        return cls(status, json.dumps(data, default=str).encode("utf-8"), out)

    def payload(self) -> Any:
        return json.loads(self.body) if self.body else None


def _pgrst_error(
    status: int, code: str, message: str, details: str | None = None, hint: str | None = None
) -> Response:
    return Response.json(
        status, {"code": code, "details": details, "hint": hint, "message": message}
    )


def _storage_error(status: int, error: str, message: str) -> Response:
    # Supabase Storage sends statusCode as a string.
    return Response.json(status, {"statusCode": str(status), "error": error, "message": message})


def postgrest_status(sqlstate: str | None, role: str) -> int:
    """HTTP status PostgREST answers for a SQLSTATE (postgrest.org, "Errors", SQLSTATE table)."""
    code = sqlstate or ""
    exact = {
        "23503": 409,
        "23505": 409,
        "25006": 405,
        "P0001": 400,
        "42883": 404,
        "42P01": 404,
        "42P17": 500,
    }
    if code in exact:
        return exact[code]
    if code == "42501":
        return 401 if role == "anon" else 403  # PostgREST: not authenticated vs. forbidden
    by_class = {
        "08": 503,
        "09": 500,
        "0L": 403,
        "0P": 403,
        "25": 500,
        "28": 403,
        "2D": 500,
        "38": 500,
        "39": 500,
        "3B": 500,
        "40": 500,
        "53": 503,
        "54": 500,
        "55": 500,
        "57": 500,
        "58": 500,
        "F0": 500,
        "HV": 500,
        "P0": 500,
        "XX": 500,
    }
    return by_class.get(code[:2], 400)


@dataclass(frozen=True)
class HealthCheck:
    """What the ``fdw-health-check`` function reads (as service_role, through REST)."""

    schema: str = "public"
    relation: str = "dim_clientes"


@dataclass
class _Request:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: Mapping[str, str]  # lower-case names
    body: bytes = b""


# ---------------------------------------------------------------------------------------------
# The stand-in


class StandIn:
    """The HTTP stand-in. ``db`` is psycopg conninfo for the Supabase-like database, as a role
    that may ``SET ROLE`` to the API roles (``supabase_admin``, or ``authenticator`` with a
    password)."""

    def __init__(
        self,
        *,
        db: Mapping[str, Any],
        storage_dir: Path,
        jwt_secret: str,
        functions: Iterable[str] = (HEALTH_FUNCTION,),
        health: HealthCheck | None = None,
        port: int = 0,
        db_schemas: Sequence[str] | None = None,
        pool_size: int = 4,
        pool_timeout_s: float = 10.0,
    ) -> None:
        if not jwt_secret:
            raise ValueError("jwt_secret is required")
        self.db = dict(db)
        self.storage_dir = Path(storage_dir)
        self.jwt_secret = jwt_secret
        self.functions = set(functions)
        self.health = health or HealthCheck()
        self.db_schemas = list(db_schemas) if db_schemas is not None else None
        self._port = port
        self.pool = _Pool(self._pool_connect, pool_size, pool_timeout_s)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        redact.register(jwt_secret)
        redact.register(str(self.db.get("password") or ""))

    # -- lifecycle ------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the stand-in is not started")
        return f"http://{LOOPBACK}:{self._server.server_address[1]}"

    def start(self) -> StandIn:
        if self._server is not None:
            return self
        server = _Server((LOOPBACK, self._port), _Handler)
        server.standin = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, name="supabase-standin", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=10)
        self.pool.close()

    def __enter__(self) -> StandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def key(self, role: str) -> str:
        """A key for ``role`` signed with this stand-in's secret."""
        return make_key(self.jwt_secret, role)

    # -- dispatch -------------------------------------------------------------------------------

    def handle(self, req: _Request) -> Response:
        if req.method == "OPTIONS":
            return Response(200, b"ok", dict(_CORS))
        parts = [unquote(p) for p in req.path.split("/") if p]
        if len(parts) < 2 or parts[1] != "v1" or parts[0] not in ("rest", "storage", "functions"):
            return Response.json(404, {"message": "no Route matched with those values"})
        # The API gateway: every request carries a project key.
        apikey = req.headers.get("apikey") or dict(req.query).get("apikey")
        if not apikey:
            return Response.json(401, {"message": "No API key found in request"})
        if verify_key(apikey, self.jwt_secret) is None:
            return Response.json(401, {"message": "Invalid API key"})
        token = apikey
        auth = req.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            token = auth[7:].strip()
        claims = verify_key(token, self.jwt_secret)
        service, rest = parts[0], parts[2:]
        if service == "rest":
            if claims is None:
                return _pgrst_error(401, "PGRST301", "JWSError JWSInvalidSignature")
            if req.method not in ("GET", "HEAD") or len(rest) != 1:
                return _pgrst_error(405, "PGRST117", "Unsupported HTTP method: " + req.method)
            schema = req.headers.get("accept-profile", "")
            response = self.rest_select(
                claims,
                schema,
                rest[0],
                req.query,
                method=req.method,
                headers=req.headers,
                count=_prefer_count(req.headers.get("prefer", "")),
            )
            if req.method == "HEAD":
                response.body = b""
            return response
        if service == "storage":
            if claims is None:
                return _storage_error(403, "Unauthorized", "invalid signature")
            return self._storage(claims, req, rest)
        if claims is None:
            return Response.json(401, {"code": 401, "message": "Invalid JWT"})
        return self._function(rest)

    # -- database -------------------------------------------------------------------------------

    def _connect(self) -> psycopg.Connection[Any]:
        import psycopg

        info = {"connect_timeout": 5, "application_name": "fdw-wizard-standin", **self.db}
        return psycopg.connect(autocommit=False, **info)

    def _pool_connect(self) -> psycopg.Connection[Any]:
        import psycopg

        info = {"connect_timeout": 5, "application_name": "fdw-wizard-standin-pool", **self.db}
        return psycopg.connect(autocommit=True, **info)  # BEGIN/COMMIT sent explicitly

    def _become(self, conn: psycopg.Connection[Any], claims: Mapping[str, Any]) -> str | None:
        """PostgREST's per-request role switch; None when the claim names no usable role."""
        from wizard.testbed import impersonate

        role = str(claims.get("role") or "anon")
        row = conn.execute(
            "SELECT pg_has_role('authenticator', oid, 'MEMBER') FROM pg_roles WHERE rolname = %s",
            [role],
        ).fetchone()
        if row is None or not row[0]:
            return None
        impersonate(conn, role)
        conn.execute(
            "SELECT set_config('request.jwt.claims', %s, true)", [json.dumps(dict(claims))]
        )
        return role

    # -- REST -----------------------------------------------------------------------------------

    def rest_select(
        self,
        claims: Mapping[str, Any],
        schema: str,
        relation: str,
        query: Sequence[tuple[str, str]],
        *,
        method: str = "GET",
        headers: Mapping[str, str] | None = None,
        count: str | None = None,
    ) -> Response:
        """One PostgREST read, as the claims' role, on a pooled connection, in PostgREST's order:
        ``BEGIN ... READ ONLY``; one ``set_config`` statement for search_path, role (with the
        role's own settings), the JWT claims and ``request.method/path/headers/cookies``; the
        pre-request function when ``pgrst.db_pre_request`` names one; the query; ``COMMIT``."""
        import psycopg

        try:
            built = _build_select(relation, query)
        except ValueError as exc:
            return _pgrst_error(400, "PGRST100", str(exc))
        built.count_exact = count == "exact"
        try:
            lease = self.pool.acquire()
        except psycopg.OperationalError as exc:
            return _pgrst_error(503, "PGRST000", "Database client error", redact.redact(str(exc)))
        except TimeoutError:
            return _pgrst_error(504, "PGRST003", "Timed out acquiring connection from pool.")
        with lease as conn:
            try:
                config = self._in_db_config(conn)
            except psycopg.Error as exc:
                lease.broken = True
                return _pgrst_error(
                    503, "PGRST000", "Database client error", redact.redact(str(exc))
                )
            exposed = list(self.db_schemas) if self.db_schemas is not None else config.schemas
            schema = schema or (exposed[0] if exposed else "public")
            if schema not in exposed:
                return _pgrst_error(
                    406,
                    "PGRST106",
                    "The schema must be one of the following: " + ", ".join(exposed),
                    None,
                    None,
                )
            role = str(claims.get("role") or "anon")
            if role not in config.roles:
                return _pgrst_error(401, "PGRST301", "JWT role is not a known API role")
            try:
                conn.execute("BEGIN ISOLATION LEVEL READ COMMITTED READ ONLY")
                conn.execute(
                    _locals_sql(role, config.roles[role]),
                    _locals_params(schema, role, claims, method, relation, headers or {}),
                )
                if config.pre_request:
                    conn.execute(_call_sql(config.pre_request))
                row = conn.execute(built.compose(schema)).fetchone()
                conn.execute("COMMIT")
            except psycopg.Error as exc:
                lease.rollback()
                return self._pgrst_db_error(exc, role, schema, relation)
        text, got = (row[0], int(row[1])) if row else ("[]", 0)
        total = int(row[2]) if row and built.count_exact and row[2] is not None else None
        offset = built.offset
        shown = f"{offset}-{offset + got - 1}" if got else "*"
        content_range = f"{shown}/{total if total is not None else '*'}"
        status = 200
        if total is not None and got and (offset > 0 or offset + got < total):
            status = 206  # PostgREST: a counted read that returns part of the rows
        return Response(
            status,
            str(text).encode("utf-8"),
            {"Content-Type": "application/json; charset=utf-8", "Content-Range": content_range},
        )

    def _in_db_config(self, conn: psycopg.Connection[Any]) -> _DbConfig:
        """PostgREST's in-database configuration (``pgrst.*`` settings of the authenticator
        role) and the roles it may switch to with their settings. PostgREST reads these at
        start and on ``NOTIFY pgrst, 'reload config'``; the stand-in reads them per request."""
        rows = conn.execute(
            "SELECT r.rolname, r.rolconfig FROM pg_roles r"
            " WHERE pg_has_role('authenticator', r.oid, 'MEMBER')"
        ).fetchall()
        roles: dict[str, list[tuple[str, str]]] = {}
        settings: dict[str, str] = {}
        for name, config in rows:
            pairs = [tuple(str(c).split("=", 1)) for c in (config or []) if "=" in str(c)]
            if name == "authenticator":
                settings = {k: v for k, v in pairs}
                continue
            roles[str(name)] = [(k, v) for k, v in pairs if not k.startswith("pgrst.")]
        schemas = [x.strip() for x in settings.get("pgrst.db_schemas", "public").split(",")]
        pre = settings.get("pgrst.db_pre_request", "").strip() or None
        return _DbConfig([x for x in schemas if x], pre, roles)

    @staticmethod
    def _pgrst_db_error(exc: Any, role: str, schema: str, relation: str) -> Response:
        diag = exc.diag
        sqlstate = exc.sqlstate
        if sqlstate == "42P01":
            return _pgrst_error(
                404,
                "PGRST205",
                f"Could not find the table '{schema}.{relation}' in the schema cache",
            )
        return _pgrst_error(
            postgrest_status(sqlstate, role),
            sqlstate or "PGRST000",
            redact.redact(diag.message_primary or str(exc)),
            redact.redact(diag.message_detail) if diag.message_detail else None,
            diag.message_hint,
        )

    # -- Storage --------------------------------------------------------------------------------

    def _storage(self, claims: Mapping[str, Any], req: _Request, rest: list[str]) -> Response:
        if len(rest) >= 3 and rest[:2] == ["object", "list"] and req.method == "POST":
            try:
                body = json.loads(req.body or b"{}")
            except ValueError:
                return _storage_error(400, "invalid_request", "body must be JSON")
            return self.storage_list(claims, rest[2], body if isinstance(body, dict) else {})
        if rest and rest[0] == "object" and req.method in ("GET", "HEAD"):
            tail = rest[1:]
            if tail and tail[0] == "authenticated":
                tail = tail[1:]
            if len(tail) < 2:
                return _storage_error(400, "invalid_request", "bucket and object name required")
            response = self.storage_download(claims, tail[0], "/".join(tail[1:]))
            if req.method == "HEAD":
                response.body = b""
            return response
        return _storage_error(404, "not_found", "Route not found")

    def storage_list(
        self, claims: Mapping[str, Any], bucket: str, body: Mapping[str, Any]
    ) -> Response:
        """storage3 ``list``: one folder level under ``prefix``, sorted, paginated."""
        prefix = str(body.get("prefix") or "").strip("/")
        try:
            limit = int(body.get("limit", 100))
            offset = int(body.get("offset", 0))
        except (TypeError, ValueError):
            return _storage_error(400, "invalid_request", "limit and offset must be numbers")
        sort = body.get("sortBy") or {}
        column = str(sort.get("column", "name"))
        if column not in ("name", "updated_at", "created_at", "last_accessed_at"):
            return _storage_error(400, "invalid_request", "invalid sortBy column")
        descending = str(sort.get("order", "asc")).lower() == "desc"
        search = str(body.get("search") or "")
        with self._storage_conn(claims) as conn:
            if conn is None:
                return _storage_error(403, "Unauthorized", "role not allowed")
            if not self._bucket_exists(conn, bucket):
                return _storage_error(404, "Bucket not found", "Bucket not found")
            base = prefix + "/" if prefix else ""
            rows = conn.execute(
                "SELECT name, id, updated_at, created_at, last_accessed_at, metadata"
                " FROM storage.objects WHERE bucket_id = %s AND starts_with(name, %s)",
                [bucket, base],
            ).fetchall()
        entries: dict[str, dict[str, Any]] = {}
        for name, oid, updated, created, accessed, metadata in rows:
            rest_name = str(name)[len(base) :]
            first, sep, _ = rest_name.partition("/")
            if search and not first.lower().startswith(search.lower()):
                continue
            if sep:  # a deeper object: its folder is listed once, without metadata
                entries.setdefault(
                    first,
                    {
                        "name": first,
                        "id": None,
                        "updated_at": None,
                        "created_at": None,
                        "last_accessed_at": None,
                        "metadata": None,
                    },
                )
                continue
            entries[first] = {
                "name": first,
                "id": str(oid),
                "updated_at": _iso(updated),
                "created_at": _iso(created),
                "last_accessed_at": _iso(accessed),
                "metadata": metadata,
            }
        items = sorted(entries.values(), key=lambda e: (e[column] is None, str(e[column] or "")))
        if descending:
            items.reverse()
        return Response.json(200, items[offset : offset + max(limit, 0)])

    def storage_download(self, claims: Mapping[str, Any], bucket: str, name: str) -> Response:
        not_found = _storage_error(404, "not_found", "Object not found")
        if any(part in ("", ".", "..") for part in name.split("/")):
            return _storage_error(400, "invalid_key", "Invalid key: " + name)
        with self._storage_conn(claims) as conn:
            if conn is None:
                return _storage_error(403, "Unauthorized", "role not allowed")
            if not self._bucket_exists(conn, bucket):
                return _storage_error(404, "Bucket not found", "Bucket not found")
            row = conn.execute(
                "SELECT metadata FROM storage.objects WHERE bucket_id = %s AND name = %s",
                [bucket, name],
            ).fetchone()
        if row is None:
            return not_found  # absent, or the role's RLS hides it (Storage says the same)
        root = (self.storage_dir / bucket).resolve()
        path = (root / name).resolve()
        if root not in path.parents or not path.is_file():
            return not_found
        metadata = row[0] if isinstance(row[0], dict) else {}
        mimetype = str(metadata.get("mimetype") or "application/octet-stream")
        return Response(200, path.read_bytes(), {"Content-Type": mimetype})

    @contextlib.contextmanager
    def _storage_conn(self, claims: Mapping[str, Any]) -> Iterator[psycopg.Connection[Any] | None]:
        conn = self._connect()
        try:
            yield conn if self._become(conn, claims) is not None else None
        finally:
            conn.close()

    @staticmethod
    def _bucket_exists(conn: psycopg.Connection[Any], bucket: str) -> bool:
        return (
            conn.execute("SELECT 1 FROM storage.buckets WHERE id = %s", [bucket]).fetchone()
            is not None
        )

    # -- Functions ------------------------------------------------------------------------------

    def _function(self, rest: list[str]) -> Response:
        name = rest[0] if rest else ""
        if name not in self.functions:
            return Response.json(
                404, {"code": "NOT_FOUND", "message": "Requested function was not found"}
            )
        if name == HEALTH_FUNCTION:
            return self.health_check()
        return Response.json(200, {}, _CORS)

    def health_check(self) -> Response:
        """Runbook 5.1: ``from(relation).select('count').limit(1)`` with the service role key."""
        started = time.monotonic()
        timestamp = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        try:
            answer = self.rest_select(
                {"role": "service_role"},
                self.health.schema,
                self.health.relation,
                [("select", "count"), ("limit", "1")],
            )
        except Exception as exc:  # the runbook's catch-all branch
            answer = _pgrst_error(500, "PGRST000", redact.redact(str(exc)))
        latency = int((time.monotonic() - started) * 1000)
        if answer.status >= 400:
            error = (answer.payload() or {}).get("message", f"HTTP {answer.status}")
            return Response.json(
                500,
                {
                    "status": "error",
                    "fdw_available": False,
                    "error": error,
                    "fallback": "storage",
                    "timestamp": timestamp,
                },
                _CORS,
            )
        return Response.json(
            200,
            {
                "status": "healthy",
                "fdw_available": True,
                "latency_ms": latency,
                "timestamp": timestamp,
            },
            _CORS,
        )


@dataclass
class _DbConfig:
    schemas: list[str]
    pre_request: str | None
    roles: dict[str, list[tuple[str, str]]]  # role -> its ALTER ROLE ... SET settings


def _prefer_count(prefer: str) -> str | None:
    for item in prefer.split(","):
        name, _, value = item.strip().partition("=")
        if name.strip().lower() == "count":
            return value.strip().lower()
    return None


def _locals_sql(role: str, settings: Sequence[tuple[str, str]]) -> sql.Composed:
    """PostgREST's one statement of transaction-local settings for a request."""
    from psycopg import sql

    names = [
        "search_path",
        "role",
        "request.jwt.claims",
        "request.method",
        "request.path",
        "request.headers",
        "request.cookies",
    ]
    parts = [
        sql.SQL("set_config({}, {}, true)").format(sql.Literal(n), sql.Placeholder()) for n in names
    ]
    # Impersonated role settings (PostgREST 11.1+): e.g. authenticated's statement_timeout.
    parts += [
        sql.SQL("set_config({}, {}, true)").format(sql.Literal(k), sql.Literal(v))
        for k, v in settings
    ]
    return sql.SQL("SELECT ") + sql.SQL(", ").join(parts)


def _locals_params(
    schema: str,
    role: str,
    claims: Mapping[str, Any],
    method: str,
    relation: str,
    headers: Mapping[str, str],
) -> list[str]:
    safe_headers = {k: v for k, v in headers.items() if k not in ("authorization", "apikey")}
    return [
        schema,
        role,
        json.dumps(dict(claims)),
        method,
        "/" + relation,
        json.dumps(safe_headers),
        "{}",
    ]


def _call_sql(function: str) -> sql.Composed:
    from psycopg import sql

    parts = [p.strip().strip('"') for p in function.split(".") if p.strip()]
    return sql.SQL("SELECT {}()").format(sql.Identifier(*parts))


class _Lease:
    """One pooled connection for one request; back to the pool (or closed when broken)."""

    def __init__(self, pool: _Pool, conn: psycopg.Connection[Any]) -> None:
        self.pool = pool
        self.conn = conn
        self.broken = False

    def __enter__(self) -> psycopg.Connection[Any]:
        return self.conn

    def __exit__(self, *exc: object) -> None:
        self.pool.release(self.conn, broken=self.broken or exc[0] is not None)

    def rollback(self) -> None:
        try:
            self.conn.execute("ROLLBACK")
        except Exception:
            self.broken = True


class _Pool:
    """Long-lived connections, as PostgREST keeps them (so postgres_fdw's cached connection to
    the DW is warm, as in production). Last in, first out: a request after another one gets the
    same backend. A request waits up to ``timeout_s`` for a free connection (PostgREST's
    db-pool-acquisition-timeout, answered 504)."""

    def __init__(self, connect: Any, size: int, timeout_s: float) -> None:
        self._connect = connect
        self._size = max(1, size)
        self._timeout = timeout_s
        self._idle: list[psycopg.Connection[Any]] = []
        self._open = 0
        self._cond = threading.Condition()
        self._closed = False

    def acquire(self) -> _Lease:
        deadline = time.monotonic() + self._timeout
        with self._cond:
            while True:
                if self._closed:
                    raise TimeoutError("pool closed")
                if self._idle:
                    return _Lease(self, self._idle.pop())
                if self._open < self._size:
                    self._open += 1
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("no free connection")
                self._cond.wait(left)
        try:
            return _Lease(self, self._connect())
        except BaseException:
            with self._cond:
                self._open -= 1
                self._cond.notify()
            raise

    def release(self, conn: psycopg.Connection[Any], *, broken: bool = False) -> None:
        from psycopg.pq import TransactionStatus

        if not broken and (conn.closed or conn.info.transaction_status != TransactionStatus.IDLE):
            broken = True
        with self._cond:
            if broken or self._closed:
                self._open -= 1
            else:
                self._idle.append(conn)
            self._cond.notify()
        if broken or self._closed:
            with contextlib.suppress(Exception):
                conn.close()

    @property
    def size(self) -> int:
        with self._cond:
            return self._open

    def close(self) -> None:
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            self._open -= len(idle)
            self._cond.notify_all()
        for conn in idle:
            with contextlib.suppress(Exception):
                conn.close()


def _iso(value: Any) -> str | None:
    if not isinstance(value, datetime):
        return None
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# ---------------------------------------------------------------------------------------------
# PostgREST query string -> SQL


@dataclass
class _Select:
    relation: str
    columns: list[str] | None  # None = *
    aggregate_count: bool
    filters: list[tuple[str, str, str]]  # column, operator, value
    order: list[tuple[str, bool, str | None]]  # column, descending, nulls
    limit: int | None
    offset: int
    count_exact: bool = False  # Prefer: count=exact -> the total in Content-Range

    def compose(self, schema: str) -> sql.Composed:
        from psycopg import sql

        rel = sql.Identifier(schema, self.relation)
        where: sql.Composable = sql.SQL("")
        if self.filters:
            where = sql.SQL(" WHERE ") + sql.SQL(" AND ").join(
                _filter_sql(col, op, value) for col, op, value in self.filters
            )
        if self.aggregate_count:
            inner = sql.SQL('SELECT count(*) AS "count" FROM {}{}').format(rel, where)
        else:
            cols: sql.Composable = (
                sql.SQL("*")
                if self.columns is None
                else sql.SQL(", ").join(sql.Identifier(c) for c in self.columns)
            )
            order: sql.Composable = sql.SQL("")
            if self.order:
                order = sql.SQL(" ORDER BY ") + sql.SQL(", ").join(
                    sql.SQL("{}{}{}").format(
                        sql.Identifier(col),
                        sql.SQL(" DESC" if desc else " ASC"),
                        sql.SQL(f" NULLS {nulls.upper()}" if nulls else ""),
                    )
                    for col, desc, nulls in self.order
                )
            limit: sql.Composable = sql.SQL("")
            if self.limit is not None:
                limit = sql.SQL(" LIMIT {}").format(sql.Literal(self.limit))
            offset = sql.SQL(" OFFSET {}").format(sql.Literal(self.offset))
            inner = sql.SQL("SELECT {} FROM {}{}{}{}{}").format(
                cols, rel, where, order, limit, offset
            )
        total: sql.Composable = sql.SQL("NULL::bigint")
        if self.count_exact:
            total = sql.SQL("(SELECT count(*) FROM {}{})").format(rel, where)
        # PostgREST builds the JSON body in the database, like this.
        return sql.SQL(
            "SELECT coalesce(json_agg(_pgrst_t), '[]')::text, count(*), {} FROM ({}) _pgrst_t"
        ).format(total, inner)


def _filter_sql(column: str, op: str, value: str) -> sql.Composed:
    from psycopg import sql

    col = sql.Identifier(column)
    if op == "is":
        word = {"null": "NULL", "true": "TRUE", "false": "FALSE", "unknown": "UNKNOWN"}[value]
        return sql.SQL("{} IS " + word).format(col)
    if op == "in":
        items = [v.strip().strip('"') for v in value.strip("()").split(",") if v.strip()]
        return sql.SQL("{} IN ({})").format(col, sql.SQL(", ").join(map(sql.Literal, items)))
    # An untyped literal: the server infers the column's type, as PostgREST's casts do.
    return sql.SQL("{} " + _OPERATORS[op] + " {}").format(col, sql.Literal(value))


def _build_select(relation: str, query: Sequence[tuple[str, str]]) -> _Select:
    columns: list[str] | None = None
    aggregate = False
    filters: list[tuple[str, str, str]] = []
    order: list[tuple[str, bool, str | None]] = []
    limit: int | None = None
    offset = 0
    for name, value in query:
        if name == "select":
            wanted = [c.strip() for c in value.split(",") if c.strip()]
            if wanted in (["count"], ["count()"]):
                aggregate = True
            elif wanted and wanted != ["*"]:
                if any("(" in c or ":" in c or "." in c for c in wanted):
                    raise ValueError(f"'select={value}': only * or plain column names here")
                columns = wanted
        elif name == "limit":
            limit = _non_negative(name, value)
        elif name == "offset":
            offset = _non_negative(name, value)
        elif name == "order":
            for item in value.split(","):
                col, *mods = item.strip().split(".")
                desc = "desc" in mods
                nulls = "first" if "nullsfirst" in mods else "last" if "nullslast" in mods else None
                order.append((col, desc, nulls))
        elif name not in _RESERVED_PARAMS:
            op, _, operand = value.partition(".")
            if op not in _OPERATORS and op not in ("is", "in"):
                raise ValueError(f"'{name}={value}': unsupported operator '{op}'")
            if op == "is" and operand not in ("null", "true", "false", "unknown"):
                raise ValueError(f"'{name}={value}': is. takes null, true, false or unknown")
            filters.append((name, op, operand))
    return _Select(relation, columns, aggregate, filters, order, limit, offset)


def _non_negative(name: str, value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"'{name}={value}' is not a number") from None
    if number < 0:
        raise ValueError(f"'{name}={value}' is negative")
    return number


# ---------------------------------------------------------------------------------------------
# HTTP plumbing


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    standin: StandIn


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as httpx expects from an API
    server_version = "fdw-wizard-supabase-standin"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        # Request lines carry no keys (they travel in headers), but never trust that blindly.
        log.debug(redact.redact(format % args))

    def _dispatch(self, method: str) -> None:
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        if length > _MAX_BODY:
            self._send(Response.json(413, {"message": "Request body too large"}))
            return
        body = self.rfile.read(length) if length else b""
        request = _Request(
            method,
            split.path,
            parse_qsl(split.query, keep_blank_values=True),
            {k.lower(): v for k, v in self.headers.items()},
            body,
        )
        try:
            response = self.server.standin.handle(request)
        except Exception as exc:  # a bug in the stand-in must still answer, not hang the client
            log.exception("stand-in error")
            response = Response.json(500, {"message": redact.redact(str(exc))})
        self._send(response)

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if response.body and self.command != "HEAD":
            self.wfile.write(response.body)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_OPTIONS(self) -> None:
        self._dispatch("OPTIONS")


# ---------------------------------------------------------------------------------------------
# Fallback JSON files (what the ETL exports to the bi-reports bucket)


def write_fallback_files(
    dw: psycopg.Connection[Any],
    supabase: psycopg.Connection[Any],
    storage_dir: Path,
    *,
    bucket: str = RUNBOOK_BUCKET,
    tables: Iterable[str] = RUNBOOK_TABLES,
    source_schema: str = "public",
) -> dict[str, int]:
    """Export every table of ``tables`` from the DW as ``<storage_dir>/<bucket>/<table>.json``
    (a JSON array of rows, as the ETL writes it) and upsert its ``storage.objects`` row with the
    real size, a fresh lastModified and the eTag. ``supabase`` must be allowed to write
    storage.objects (supabase_admin or postgres). Returns bytes written per table."""
    from psycopg import sql

    from wizard.fileio import atomic_write_bytes

    folder = Path(storage_dir) / bucket
    folder.mkdir(parents=True, exist_ok=True)
    sizes: dict[str, int] = {}
    for table in tables:
        row = dw.execute(
            sql.SQL("SELECT coalesce(json_agg(t), '[]')::text FROM {} t").format(
                sql.Identifier(source_schema, table)
            )
        ).fetchone()
        data = str(row[0] if row else "[]").encode("utf-8")
        atomic_write_bytes(folder / f"{table}.json", data, backup=False)
        sizes[table] = len(data)
        supabase.execute(
            "INSERT INTO storage.objects (bucket_id, name, created_at, updated_at,"
            " last_accessed_at, metadata)"
            " VALUES (%(bucket)s, %(name)s, now(), now(), now(), jsonb_build_object("
            " 'eTag', %(etag)s::text, 'size', %(size)s::bigint, 'mimetype', 'application/json',"
            " 'cacheControl', 'max-age=3600',"
            " 'lastModified',"
            " to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"
            " 'contentLength', %(size)s::bigint, 'httpStatusCode', 200))"
            " ON CONFLICT (bucket_id, name) DO UPDATE SET updated_at = now(),"
            " metadata = EXCLUDED.metadata",
            {
                "bucket": bucket,
                "name": f"{table}.json",
                "etag": '"' + hashlib.md5(data, usedforsecurity=False).hexdigest() + '"',
                "size": len(data),
            },
        )
    if not supabase.autocommit:
        supabase.commit()
    return sizes


# ---------------------------------------------------------------------------------------------
# Command line


def _read_secret(path: str | None, env: str, what: str) -> str:
    if path:
        value = Path(path).read_text(encoding="utf-8").strip()
    else:
        value = os.environ.get(env, "").strip()
    if not value:
        raise SystemExit(f"{what}: give a file (--{what}-file) or set {env}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m wizard.supabase_standin",
        description="Local stand-in of Supabase's REST/Storage/Functions APIs (127.0.0.1 only).",
    )
    parser.add_argument("--db-host", default=LOOPBACK)
    parser.add_argument("--db-port", type=int, required=True)
    parser.add_argument("--db-name", default="postgres")
    parser.add_argument("--db-user", default="supabase_admin")
    parser.add_argument("--db-password-file", help=f"or env {ENV_DB_PASSWORD}")
    parser.add_argument("--storage-dir", type=Path, required=True)
    parser.add_argument("--jwt-secret-file", help=f"or env {ENV_JWT_SECRET}")
    parser.add_argument("--port", type=int, default=0, help="0 = any free port")
    parser.add_argument("--health-schema", default="public")
    parser.add_argument("--health-relation", default="dim_clientes")
    parser.add_argument(
        "--no-health-function", action="store_true", help="answer 404, as if not deployed"
    )
    args = parser.parse_args(argv)
    password = _read_secret(args.db_password_file, ENV_DB_PASSWORD, "db-password")
    secret = _read_secret(args.jwt_secret_file, ENV_JWT_SECRET, "jwt-secret")
    standin = StandIn(
        db={
            "host": args.db_host,
            "port": args.db_port,
            "dbname": args.db_name,
            "user": args.db_user,
            "password": password,
        },
        storage_dir=args.storage_dir,
        jwt_secret=secret,
        functions=() if args.no_health_function else (HEALTH_FUNCTION,),
        health=HealthCheck(args.health_schema, args.health_relation),
        port=args.port,
    ).start()
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    # One line a parent process can read to learn where we listen.
    print(json.dumps({"url": standin.url, "pid": os.getpid()}), flush=True)
    try:
        while not stopping.wait(0.5):
            pass
    finally:
        standin.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
