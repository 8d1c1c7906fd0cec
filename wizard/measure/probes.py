"""Small probes that tell failure causes apart, each bounded by a timeout.

Every probe returns a :class:`ProbeResult`: what it tried, what it saw (``outcome``), a Message
for the operator and the numbers behind it. A probe that cannot run (no host configured, a
secret missing, no permission to read a file) returns outcome ``skipped`` with the reason; no
probe raises for a failure of the thing it probes. Nothing here decides what the cause is:
:mod:`wizard.diagnose` does.
"""

from __future__ import annotations

import errno
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wizard.dwhost.pgfiles.pg_hba import is_ip as is_ip  # re-exported: diagnose asks probes.is_ip
from wizard.errors import StepError
from wizard.i18n import Message
from wizard.redact import redact, redact_obj

DEFAULT_TIMEOUT_S = 3.0
SKIPPED = "skipped"

# Outcomes of tcp_connect
OPEN, REFUSED, TIMEOUT, UNREACHABLE, DNS_FAILED, ERROR = (
    "open",
    "refused",
    "timeout",
    "unreachable",
    "dns-failed",
    "error",
)

# errno values for "no route": POSIX and Winsock (WSAENETUNREACH, WSAEHOSTUNREACH)
_UNREACHABLE_ERRNOS = {errno.ENETUNREACH, errno.EHOSTUNREACH, 10051, 10065}
_SSL_REQUEST = struct.pack("!ii", 8, 80877103)  # PostgreSQL's SSLRequest packet


@dataclass
class ProbeResult:
    """What one probe saw. ``outcome`` values are documented by each probe function."""

    probe: str
    outcome: str
    message: Message
    elapsed_ms: float | None = None
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def skipped(self) -> bool:
        return self.outcome == SKIPPED

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "probe": self.probe,
            "outcome": self.outcome,
            "message": self.message.to_json(),
        }
        if self.elapsed_ms is not None:
            out["elapsed_ms"] = round(self.elapsed_ms, 1)
        if self.data:
            out["data"] = self.data
        return redact_obj(out)  # type: ignore[no-any-return]


def skipped(probe: str, reason: Message) -> ProbeResult:
    """A probe that could not run, and why."""
    return ProbeResult(
        probe,
        SKIPPED,
        Message("probes.skipped", {"probe": probe, "reason": reason.render()}),
        data={"reason": reason.to_json()},
    )


def _ms(started: float) -> float:
    return (time.monotonic() - started) * 1000


# ---------------------------------------------------------------------------------------------
# Name resolution


def resolve(host: str, *, timeout: float = DEFAULT_TIMEOUT_S) -> ProbeResult:
    """Resolve ``host``. Outcomes: ``ok`` (data: addresses, families), ``failed``, ``timeout``.

    getaddrinfo has no timeout of its own: it runs in a daemon thread we stop waiting for."""
    if not host:
        return skipped("dns", Message("probes.reason.no_host"))
    if is_ip(host):
        return ProbeResult(
            "dns", "ok", Message("probes.dns.literal", {"host": host}), 0.0, {"addresses": [host]}
        )
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["infos"] = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
        except OSError as exc:
            box["error"] = exc

    started = time.monotonic()
    worker = threading.Thread(target=work, daemon=True, name="probe-dns")
    worker.start()
    worker.join(timeout)
    elapsed = _ms(started)
    if worker.is_alive():
        return ProbeResult(
            "dns", TIMEOUT, Message("probes.dns.timeout", {"host": host, "seconds": timeout}),
            elapsed,
        )  # fmt: skip
    if "error" in box:
        detail = str(box["error"])
        return ProbeResult(
            "dns", "failed", Message("probes.dns.failed", {"host": host, "detail": detail}),
            elapsed, {"detail": detail},
        )  # fmt: skip
    addresses = sorted({str(info[4][0]).split("%")[0] for info in box["infos"]})
    families = sorted({"ipv6" if ":" in a else "ipv4" for a in addresses})
    return ProbeResult(
        "dns",
        "ok",
        Message("probes.dns.ok", {"host": host, "addresses": ", ".join(addresses)}),
        elapsed,
        {"addresses": addresses, "families": families},
    )


# ---------------------------------------------------------------------------------------------
# TCP


def tcp_connect(host: str, port: int, *, timeout: float = DEFAULT_TIMEOUT_S) -> ProbeResult:
    """Open a TCP connection and close it. Outcomes: ``open``, ``refused`` (nothing listens:
    the host answered with a reset), ``timeout`` (no answer at all: packets dropped on the
    way, or the host is off), ``unreachable`` (no route, e.g. an IPv6-only host from an
    IPv4-only network), ``dns-failed``, ``error``."""
    if not host:
        return skipped("tcp", Message("probes.reason.no_host"))
    params: dict[str, Any] = {"host": host, "port": port}
    started = time.monotonic()
    try:
        with socket.create_connection((host, port), timeout=timeout):
            elapsed = _ms(started)
    except ConnectionRefusedError:
        return ProbeResult("tcp", REFUSED, Message("probes.tcp.refused", params), _ms(started))
    except TimeoutError:
        params["seconds"] = timeout
        return ProbeResult("tcp", TIMEOUT, Message("probes.tcp.timeout", params), _ms(started))
    except socket.gaierror as exc:
        params["detail"] = str(exc)
        return ProbeResult("tcp", DNS_FAILED, Message("probes.tcp.dns", params), _ms(started))
    except OSError as exc:
        params["detail"] = str(exc)
        if exc.errno in _UNREACHABLE_ERRNOS or getattr(exc, "winerror", None) in (10051, 10065):
            return ProbeResult(
                "tcp", UNREACHABLE, Message("probes.tcp.unreachable", params), _ms(started)
            )
        return ProbeResult("tcp", ERROR, Message("probes.tcp.error", params), _ms(started))
    params["ms"] = round(elapsed, 1)
    return ProbeResult("tcp", OPEN, Message("probes.tcp.open", params), elapsed)


def tcp_round_trip_ms(
    host: str, port: int, *, samples: int = 3, timeout: float = DEFAULT_TIMEOUT_S
) -> ProbeResult:
    """Median TCP connect time (one round trip) over ``samples`` connections.
    Outcomes: ``ok`` (data: samples_ms, median_ms) or the first failing tcp outcome."""
    times: list[float] = []
    for _ in range(max(1, samples)):
        result = tcp_connect(host, port, timeout=timeout)
        if result.outcome != OPEN:
            return result
        times.append(result.elapsed_ms or 0.0)
    times.sort()
    median = times[len(times) // 2]
    return ProbeResult(
        "rtt",
        "ok",
        Message("probes.rtt.ok", {"host": host, "port": port, "ms": round(median, 1)}),
        median,
        {"samples_ms": [round(t, 1) for t in times], "median_ms": round(median, 1)},
    )


# ---------------------------------------------------------------------------------------------
# PostgreSQL protocol, without a client library


def _recv_some(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


def ssl_request(host: str, port: int, *, timeout: float = DEFAULT_TIMEOUT_S) -> ProbeResult:
    """Send PostgreSQL's 8-byte SSLRequest and read the one-byte answer.

    Outcomes: ``tls`` ('S': the server speaks TLS), ``no-tls`` ('N'), ``not-postgres``
    (another answer, or the peer closed at once), ``silent`` (TCP accepted, nothing came back
    before the timeout: a black hole), or a tcp outcome when the connection itself failed."""
    if not host:
        return skipped("tls", Message("probes.reason.no_host"))
    params: dict[str, Any] = {"host": host, "port": port}
    started = time.monotonic()
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except OSError:
        first = tcp_connect(host, port, timeout=timeout)
        return ProbeResult("tls", first.outcome, first.message, first.elapsed_ms, first.data)
    with sock:
        try:
            sock.settimeout(timeout)
            sock.sendall(_SSL_REQUEST)
            answer = _recv_some(sock, 1)
        except TimeoutError:
            params["seconds"] = timeout
            return ProbeResult("tls", "silent", Message("probes.tls.silent", params), _ms(started))
        except OSError as exc:
            params["detail"] = str(exc)
            return ProbeResult("tls", ERROR, Message("probes.tcp.error", params), _ms(started))
    if answer == b"S":
        return ProbeResult("tls", "tls", Message("probes.tls.yes", params), _ms(started))
    if answer == b"N":
        return ProbeResult("tls", "no-tls", Message("probes.tls.no", params), _ms(started))
    params["answer"] = answer.hex() or "-"
    return ProbeResult(
        "tls", "not-postgres", Message("probes.tls.not_postgres", params), _ms(started)
    )


def server_answers(host: str, port: int, *, timeout: float = DEFAULT_TIMEOUT_S) -> ProbeResult:
    """Does a PostgreSQL server on host:port accept connections (pg_isready's question)?
    Outcomes: ``up`` or ``down`` (no answer, or "starting up / shutting down")."""
    from wizard.dwhost.platform.service import probe_postgres

    if not host:
        return skipped("server", Message("probes.reason.no_host"))
    started = time.monotonic()
    up = probe_postgres(host, port, timeout=timeout)
    params = {"host": host, "port": port}
    if up:
        return ProbeResult("server", "up", Message("probes.server.up", params), _ms(started))
    return ProbeResult("server", "down", Message("probes.server.down", params), _ms(started))


# ---------------------------------------------------------------------------------------------
# A real login


def login(
    *,
    host: str,
    port: int,
    dbname: str,
    user: str,
    password: str | None,
    sslmode: str = "prefer",
    timeout: int = 5,
    target: str = "probe",
) -> ProbeResult:
    """Log in with libpq and close at once. Outcomes: ``ok`` or the classified error key
    (``db.err.auth_failed``, ``db.err.no_hba``, ...; see :func:`wizard.db.classify`), with the
    server's text (redacted) in data['detail'] and the SQLSTATE when there is one."""
    from wizard import db

    if not host:
        return skipped("login", Message("probes.reason.no_host"))
    params: dict[str, Any] = {"user": user, "host": host, "port": port, "sslmode": sslmode}
    started = time.monotonic()
    try:
        conn = db.connect(
            host=host,
            port=port,
            dbname=dbname,
            user=user,
            password=password,
            target=target,
            sslmode=sslmode,
            connect_timeout=timeout,
        )
    except db.DbError as exc:
        params["error"] = exc.detail
        return ProbeResult(
            "login",
            exc.kind,
            Message("probes.login.failed", params),
            _ms(started),
            {"detail": exc.detail, "sqlstate": exc.sqlstate},
        )
    try:
        row = conn.execute("SELECT coalesce((SELECT ssl FROM pg_stat_ssl"
                           " WHERE pid = pg_backend_pid()), false)").fetchone()  # fmt: skip
        params["tls"] = "on" if row and row[0] else "off"
    finally:
        conn.close()
    return ProbeResult("login", "ok", Message("probes.login.ok", params), _ms(started))


# ---------------------------------------------------------------------------------------------
# The local service, as the OS sees it


def service_state(local: Any, *, data_dir: str | None = None) -> ProbeResult:
    """The local PostgreSQL service's state through the platform layer (Windows service,
    pg_ctlcluster, systemd or pg_ctl). Outcomes: the ServiceStatus value (``running``,
    ``stopped``, ``not-found``, ...) or ``skipped`` when the service cannot be identified."""
    from wizard.dwhost.platform import service_control_for_local
    from wizard.dwhost.platform.runner import PlatformError

    started = time.monotonic()
    try:
        control = service_control_for_local(local, data_dir=data_dir)
        state = control.status()
    except PlatformError as exc:
        return skipped("service", exc.message)
    except OSError as exc:
        return skipped("service", Message("probes.reason.os_error", {"detail": str(exc)}))
    params = {"target": control.target, "state": state.describe().render(), "raw": state.raw}
    return ProbeResult(
        "service",
        state.status.value,
        Message("probes.service.state", params),
        _ms(started),
        {"target": control.target, "log": control.log_location() or ""},
    )


# ---------------------------------------------------------------------------------------------
# pg_hba.conf, simulated


def hba_first_match(
    path: Path | str, conn_type: str, database: str, user: str, address: str
) -> ProbeResult:
    """Which pg_hba.conf rule PostgreSQL would pick for a TCP login (``conn_type`` 'ssl' or
    'nossl') from ``address``. Outcomes: ``match`` (data: line, method, type, rule),
    ``reject`` (the first match is a reject rule), ``none`` (no rule: "no pg_hba.conf entry")."""
    from wizard.dwhost.pgfiles.pg_hba import HbaFile

    try:
        hba = HbaFile.read(path)
    except (OSError, UnicodeDecodeError) as exc:
        return skipped(
            "hba", Message("probes.reason.unreadable", {"path": str(path), "detail": str(exc)})
        )
    params: dict[str, Any] = {
        "path": str(path),
        "user": user,
        "database": database,
        "address": address,
        "tls": "TLS" if conn_type == "ssl" else "no TLS",
    }
    rule = hba.first_match(conn_type, database, user, address)
    if rule is None:
        return ProbeResult("hba", "none", Message("probes.hba.none", params), data=params)
    params.update(line=rule.line or 0, rule=rule.to_line())
    data = {**params, "method": rule.method, "type": rule.conn_type}
    if rule.method == "reject":
        return ProbeResult("hba", "reject", Message("probes.hba.reject", params), data=data)
    return ProbeResult("hba", "match", Message("probes.hba.match", params), data=data)


# ---------------------------------------------------------------------------------------------
# Things only a superuser connection to the DW can see


def password_storage(conn: Any, role: str) -> ProbeResult:
    """How ``role``'s password is stored (pg_authid.rolpassword prefix; the hash is never
    copied). Outcomes: ``scram``, ``md5``, ``none`` (no password), ``no-role``, ``other``."""
    row = conn.execute("SELECT rolpassword FROM pg_authid WHERE rolname = %s", (role,)).fetchone()
    if row is None:
        return ProbeResult(
            "password", "no-role", Message("probes.password.no_role", {"role": role})
        )
    stored = str(row[0] or "")
    if not stored:
        kind = "none"
    elif stored.startswith("SCRAM-SHA-256$"):
        kind = "scram"
    elif stored.startswith("md5"):
        kind = "md5"
    else:
        kind = "other"
    return ProbeResult(
        "password", kind, Message("probes.password.kind", {"role": role, "kind": kind})
    )


# ---------------------------------------------------------------------------------------------
# From the Supabase side


def fdw_login_error(conn: Any, server: str, role: str) -> str | None:
    """Log in to the DW through ``role``'s user mapping on ``server``, for real (Supabase side);
    None when it works, else the server's whole message (the cause is in its DETAIL line).

    Inside a transaction that is rolled back: a throwaway schema and a column-less foreign table
    over the remote pg_catalog.pg_am (readable by any role), granted to ``role``, read as it."""
    import psycopg
    from psycopg import sql

    try:
        with conn.transaction(force_rollback=True):
            conn.execute("SELECT postgres_fdw_disconnect_all()")  # a fresh login, not a cached one
            conn.execute("CREATE SCHEMA fdw_wizard_probe")
            conn.execute(
                sql.SQL(
                    "CREATE FOREIGN TABLE fdw_wizard_probe.probe () SERVER {}"
                    " OPTIONS (schema_name 'pg_catalog', table_name 'pg_am')"
                ).format(sql.Identifier(server))
            )
            if role != "postgres":
                for grant in (
                    "GRANT USAGE ON SCHEMA fdw_wizard_probe TO {}",
                    "GRANT SELECT ON fdw_wizard_probe.probe TO {}",
                    "SET LOCAL ROLE {}",
                ):
                    conn.execute(sql.SQL(grant).format(sql.Identifier(role)))
            conn.execute("SELECT count(*) FROM fdw_wizard_probe.probe")
    except psycopg.Error as exc:
        return " ".join(str(exc).split()) or type(exc).__name__
    finally:
        conn.execute("SELECT postgres_fdw_disconnect_all()")
    return None


def fdw_login(conn: Any, server: str, role: str) -> ProbeResult:
    """:func:`fdw_login_error` as a probe. Outcomes: ``ok`` or ``failed`` (data: error, the
    server's whole message, redacted)."""
    params: dict[str, Any] = {"server": server, "role": role}
    started = time.monotonic()
    error = fdw_login_error(conn, server, role)
    elapsed = _ms(started)
    if error is None:
        params["ms"] = round(elapsed, 1)
        return ProbeResult("fdw", "ok", Message("probes.fdw.ok", params), elapsed)
    params["error"] = redact(error)
    return ProbeResult(
        "fdw", "failed", Message("probes.fdw.failed", params), elapsed, {"error": params["error"]}
    )


def timed_query(conn: Any, query: str, *, samples: int = 3, label: str = "") -> ProbeResult:
    """Run a read ``samples`` times (the first may include the FDW's login). Outcomes: ``ok``
    (data: samples_ms, median_ms, first_ms) or ``failed`` (data: error, sqlstate)."""
    times: list[float] = []
    for _ in range(max(1, samples)):
        started = time.monotonic()
        try:
            conn.execute(query).fetchall()
        except Exception as exc:  # any driver error is an observation here
            detail = redact(str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc))
            return ProbeResult(
                "query",
                "failed",
                Message("probes.query.failed", {"query": label or query, "error": detail}),
                data={"error": detail, "sqlstate": getattr(exc, "sqlstate", None)},
            )
        times.append(_ms(started))
    ordered = sorted(times)
    median = ordered[len(ordered) // 2]
    return ProbeResult(
        "query",
        "ok",
        Message("probes.query.ok", {"query": label or query, "ms": round(median, 1)}),
        median,
        {
            "samples_ms": [round(t, 1) for t in times],
            "median_ms": round(median, 1),
            "first_ms": round(times[0], 1),
        },
    )


# ---------------------------------------------------------------------------------------------
# Addresses


def address_kind(host: str, *, resolve_names: bool = True) -> ProbeResult:
    """Classify the address Supabase must reach (wizard.dwhost.exposure): outcomes ``public``,
    ``private``, ``cgnat`` (100.64.0.0/10: inbound impossible), ``loopback``, ``link-local``,
    ``unresolved``, ``empty``."""
    from wizard.dwhost.exposure import classify_host

    verdict = classify_host(host, resolve=resolve_names)
    params = {"host": host or "-", "kind": verdict.kind, "addresses": ", ".join(verdict.addresses)}
    return ProbeResult(
        "address",
        verdict.kind,
        Message("probes.address.kind", params),
        data={"addresses": verdict.addresses},
    )


def guarded(probe: str, fn: Callable[[], ProbeResult]) -> ProbeResult:
    """Run a probe that needs a connection or a secret; their absence becomes ``skipped``."""
    try:
        return fn()
    except StepError as exc:
        return skipped(probe, exc.message)
    except Exception as exc:  # a probe must never crash the diagnosis
        return skipped(
            probe,
            Message("probes.reason.error", {"detail": redact(f"{type(exc).__name__}: {exc}")}),
        )
