"""The stand-in itself: lifecycle, the API gateway (keys, routes), and the HTTP plumbing."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from wizard import redact
from wizard.testbed.standin.auth import make_key, verify_key
from wizard.testbed.standin.functions import FunctionsApi
from wizard.testbed.standin.pool import Pool
from wizard.testbed.standin.protocol import (
    CORS,
    HEALTH_FUNCTION,
    LOOPBACK,
    HealthCheck,
    Request,
    Response,
    pgrst_error,
    storage_error,
)
from wizard.testbed.standin.rest_query import prefer_count
from wizard.testbed.standin.storage import StorageApi

log = logging.getLogger(__name__)

_MAX_BODY = 1 << 20


class StandIn(FunctionsApi, StorageApi):
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
        self.pool = Pool(self._pool_connect, pool_size, pool_timeout_s)
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

    def handle(self, req: Request) -> Response:
        if req.method == "OPTIONS":
            return Response(200, b"ok", dict(CORS))
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
                return pgrst_error(401, "PGRST301", "JWSError JWSInvalidSignature")
            if req.method not in ("GET", "HEAD") or len(rest) != 1:
                return pgrst_error(405, "PGRST117", "Unsupported HTTP method: " + req.method)
            schema = req.headers.get("accept-profile", "")
            response = self.rest_select(
                claims,
                schema,
                rest[0],
                req.query,
                method=req.method,
                headers=req.headers,
                count=prefer_count(req.headers.get("prefer", "")),
            )
            if req.method == "HEAD":
                response.body = b""
            return response
        if service == "storage":
            if claims is None:
                return storage_error(403, "Unauthorized", "invalid signature")
            return self._storage(claims, req, rest)
        if claims is None:
            return Response.json(401, {"code": 401, "message": "Invalid JWT"})
        return self._function(rest)


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
        request = Request(
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
