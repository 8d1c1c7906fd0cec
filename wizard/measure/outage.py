"""Offline: how the app's read ends when the DW is refused, partitioned or hung.

:func:`api_outage` times the app's read of a BI view as PostgREST runs it (role, role settings,
request.path, the pre-request function) while the foreign server points — inside a transaction
that is always rolled back — at an outage made on this machine's loopback: a refused port
(:class:`wizard.testbed.blackhole.RefusedPort`), a partitioned one
(:mod:`wizard.testbed.partition`), a
listener that never answers (:class:`wizard.testbed.blackhole.Blackhole`), or for a warm session a
proxy to the DW (:class:`wizard.testbed.blackhole.FreezableProxy`) that then drops, is cut off or
freezes. Used by ``validate.offline`` (:mod:`wizard.steps.validate_offline`).
"""

from __future__ import annotations

import contextlib
import socket
import time
from dataclasses import dataclass
from typing import Any

OUTAGE_KINDS = ("refused", "partitioned", "hung")
SESSIONS = ("fresh", "warm")


@dataclass
class Outage:
    """One measurement: the app's read of ``relation`` as PostgREST runs it (role, role
    settings, request.path, the pre-request function) while the foreign server points at an
    outage of ``kind`` — a fresh connection attempt, or a connection made while the DW
    answered (``warm``) that then stops answering (hung), is dropped (refused) or loses the
    link (partitioned: no packet comes back, not even an ACK)."""

    kind: str  # "refused" | "partitioned" | "hung"
    session: str  # "fresh" | "warm"
    address: str
    seconds: float | None = None  # None: still waiting when the wizard stopped waiting
    error: str | None = None
    sqlstate: str | None = None
    http_status: int | None = None  # what PostgREST answers for that SQLSTATE
    answered: bool = False  # the read succeeded: it was not an outage at all
    hung: bool = False
    cleaned: bool = False  # the server's options are as before (the change was rolled back)
    problem: str | None = None  # the measurement itself could not run (e.g. no warm-up)
    statement_timeout_ms: int | None = None  # what the request's transaction had

    @property
    def label(self) -> str:
        return f"{self.kind}, {self.session}"

    def within(self, bound_s: float, margin_s: float) -> bool:
        return (
            not self.hung
            and not self.answered
            and self.problem is None
            and self.seconds is not None
            and self.seconds <= bound_s + margin_s
        )

    def to_json(self) -> dict[str, Any]:
        from wizard.redact import redact

        return {
            "kind": self.label,
            "outage": self.kind,
            "session": self.session,
            "address": self.address,
            "seconds": self.seconds,
            "error": redact(self.error) if self.error else None,
            "sqlstate": self.sqlstate,
            "http_status": self.http_status,
            "answered": self.answered,
            "hung": self.hung,
            "cleaned": self.cleaned,
            "problem": redact(self.problem) if self.problem else None,
            "statement_timeout_ms": self.statement_timeout_ms,
        }


@dataclass(frozen=True)
class AppRequest:
    """The app's read as PostgREST runs it: who, with which role settings, which pre-request
    function, which relation (``request.path`` is ``/<name>``)."""

    role: str
    role_settings: tuple[tuple[str, str], ...]
    pre_request: str | None
    schema: str
    relation: str
    limit: int = 10


def _first_line(exc: BaseException) -> str:
    detail = getattr(getattr(exc, "diag", None), "message_detail", None)
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return " ".join((first + (f" — {detail}" if detail else "")).split())


def _request(conn: Any, app: AppRequest) -> None:
    """PostgREST's per-request preamble in the current transaction, then its pre-request."""
    from psycopg import sql

    conn.execute(
        "SELECT set_config('role', %s, true), set_config('request.method', 'GET', true),"
        " set_config('request.path', %s, true)",
        (app.role, "/" + app.relation),
    )
    for name, value in app.role_settings:
        conn.execute("SELECT set_config(%s, %s, true)", (name, value))
    if app.pre_request:
        parts = [p.strip().strip('"') for p in app.pre_request.split(".") if p.strip()]
        conn.execute(sql.SQL("SELECT {}()").format(sql.Identifier(*parts)))


def _read(conn: Any, app: AppRequest) -> None:
    from psycopg import sql

    conn.execute(
        sql.SQL("SELECT * FROM {} LIMIT {}").format(
            sql.Identifier(app.schema, app.relation), sql.Literal(app.limit)
        )
    ).fetchall()


def _outage_worker(
    conn: Any,
    out: Outage,
    server: str,
    point_to: tuple[str, int],
    app: AppRequest,
    warm: Any,
    on_ready: Any,
) -> None:
    """Point the server at the outage, (warm: read once through the proxy, then break it),
    and time the app's read — all in one transaction that is always rolled back, so nothing
    is ever committed and nobody else ever sees the server pointed elsewhere."""
    import psycopg
    from psycopg import sql

    from wizard import sql_text
    from wizard.testbed.standin import postgrest_status

    options = sql.SQL(", ").join(
        sql.SQL("SET {} {}").format(sql.Identifier(k), sql.Literal(v))
        for k, v in (("host", point_to[0]), ("port", str(point_to[1])))
    )
    try:
        with conn.transaction(force_rollback=True):
            conn.execute(
                sql_text.render(
                    conn, "validate/offline_point_server.sql", server=server, options=options
                )
            )
            if warm is not None:
                conn.execute("SAVEPOINT fdw_wizard_warm_up")
                _request(conn, app)
                try:
                    _read(conn, app)  # the connection is made while the DW answers
                except psycopg.Error as exc:
                    out.problem = "warm-up: " + _first_line(exc)
                    return
                conn.execute("RELEASE SAVEPOINT fdw_wizard_warm_up")
                try:
                    warm()  # the DW stops answering / goes away, the connection stays cached
                except Exception as exc:  # e.g. nft refused the partition
                    out.problem = "outage: " + _first_line(exc)
                    return
            # The timed read in a savepoint: its first remote command is then a transaction-
            # control one (SAVEPOINT), as on an idle warm connection in production (START
            # TRANSACTION) — the command postgres_fdw drops the connection for, without a
            # cancel request, when it is interrupted. (A DW that freezes in the middle of a
            # read gets a cancel request, which PostgreSQL 15/16 wait for without a limit.)
            conn.execute("SAVEPOINT fdw_wizard_request")
            _request(conn, app)
            row = conn.execute(
                "SELECT setting::integer FROM pg_settings WHERE name = 'statement_timeout'"
            ).fetchone()
            out.statement_timeout_ms = int(row[0]) if row else None
            if on_ready is not None:
                on_ready()
            started = time.perf_counter()
            try:
                _read(conn, app)
                out.answered = True
            except psycopg.Error as exc:
                out.error = _first_line(exc)
                out.sqlstate = exc.sqlstate
                out.http_status = postgrest_status(exc.sqlstate, app.role)
            out.seconds = round(time.perf_counter() - started, 3)
    except psycopg.Error as exc:
        out.problem = _first_line(exc)


def api_outage(
    open_conn: Any,
    check_conn: Any,
    server: str,
    app: AppRequest,
    *,
    kind: str,
    session: str,
    dw: tuple[str, int] | None = None,
    probe: tuple[str, int] | None = None,
    cap_s: float,
    on_ready: Any = None,
) -> Outage:
    """Time the app's read during one outage of ``kind`` ("refused" | "partitioned" | "hung")
    for a ``session`` ("fresh" | "warm").

    Where the outage comes from: ``probe`` (an address that never answers, reachable from
    Supabase) for a fresh hung read; else loopback listeners of this machine, which Supabase
    reaches only when it shares the loopback (the sandbox): a bound, non-listening port
    (refused; with its packets dropped by nftables, partitioned — :mod:`wizard.testbed.partition`,
    root only), the blackhole (hung), and for warm reads a proxy to the DW (``dw``) that
    freezes, drops or (partitioned) is cut off after one read. After ``cap_s`` the wizard
    stops waiting (PostgreSQL 15 cannot cancel a hanging connection attempt): the partition is
    healed and the listener's sockets are closed, which frees the backend; if even that fails
    the connection is abandoned with its uncommitted transaction."""
    import threading

    from wizard.testbed.blackhole import Blackhole, FreezableProxy, RefusedPort
    from wizard.testbed.partition import Partition

    endpoint: Any
    warm: Any = None
    release: Any = None
    cut: Partition | None = None
    if session == "warm":
        if dw is None:
            raise ValueError("a warm measurement needs the DW's loopback address")
        endpoint = FreezableProxy(dw[0], dw[1])
        release = endpoint.release
        address = (endpoint.host, endpoint.port)
        if kind == "partitioned":
            cut = Partition(endpoint.port, endpoint.host)
            warm = cut.cut
        else:
            warm = endpoint.freeze if kind == "hung" else endpoint.refuse
    elif probe is not None:
        endpoint, address = None, probe
    elif kind == "hung":
        endpoint = Blackhole()
        release = endpoint.release
        address = (endpoint.host, endpoint.port)
    else:
        endpoint = RefusedPort()
        address = (endpoint.host, endpoint.port)
        if kind == "partitioned":
            cut = Partition(endpoint.port, endpoint.host)
            try:
                cut.cut()  # the SYNs to the port go unanswered from the start
            except Exception as exc:  # nft refused: the measurement could not run
                endpoint.close()
                where = f"{endpoint.host}:{endpoint.port}"
                return Outage(kind, session, where, problem=_first_line(exc), cleaned=True)
    if cut is not None:
        # Healing first: the retransmissions then reach closed sockets and get an RST.
        release = _then(cut.heal, release)
    out = Outage(kind, session, f"{address[0]}:{address[1]}")
    before = _server_options(check_conn, server)
    conn = open_conn()
    failure: list[BaseException] = []

    def run() -> None:
        try:
            _outage_worker(conn, out, server, address, app, warm, on_ready)
        except BaseException as exc:
            failure.append(exc)

    worker = threading.Thread(target=run, name="fdw-offline", daemon=True)
    worker.start()
    try:
        worker.join(cap_s)
        if worker.is_alive():
            out.hung = True
            if release is not None:
                release()
            worker.join(5.0)
            if worker.is_alive():
                with contextlib.suppress(Exception):  # best effort: the connection is abandoned
                    conn.cancel()
        if out.hung:
            out.seconds = None
    finally:
        if cut is not None:
            with contextlib.suppress(Exception):
                cut.heal()
        if not worker.is_alive():
            conn.close()
        if endpoint is not None:
            with contextlib.suppress(Exception):
                endpoint.stop() if hasattr(endpoint, "stop") else endpoint.close()
        out.cleaned = _server_options(check_conn, server) == before and not (
            cut is not None and cut.active
        )
    if failure:
        raise failure[0]
    return out


def _then(first: Any, second: Any) -> Any:
    def both() -> None:
        first()
        if second is not None:
            second()

    return both


def _server_options(conn: Any, server: str) -> list[str] | None:
    row = conn.execute(
        "SELECT srvoptions FROM pg_foreign_server WHERE srvname = %s", (server,)
    ).fetchone()
    return sorted(row[0] or []) if row else None


def parse_host_port(text: str, default_port: int) -> tuple[str, int]:
    """'host', 'host:port', '[v6]:port' or a bare IPv6 address."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") else default_port
    if text.count(":") == 1:
        host, port = text.split(":")
        return host, int(port)
    return text, default_port


def resolved_addresses(host: str, port: int) -> int:
    """How many addresses libpq would try in turn (connect_timeout applies to each)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        return 0
    return len({info[4][0] for info in infos})
