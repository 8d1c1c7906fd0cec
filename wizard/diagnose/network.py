"""From an error or a symptom to its likely causes, told apart by probes, with the fix.

:func:`diagnose` reads what the operator saw (a libpq / server message, a SQLSTATE, an
exception, or a symptom id from :data:`SYMPTOMS`), works out which connection it is about
(the wizard's own login to the DW, Supabase's login to the DW through the FDW, or the wizard's
login to Supabase), runs the probes that separate the candidate causes (wizard.probes) and
returns :class:`Diagnosis` objects, most likely first. A cause a probe proved is
``confirmed``; one the evidence points to is ``likely``; one that fits but was not proved is
``possible``. Each fix names the wizard step that applies it when the wizard owns the fix.

It works on a partial context: a probe that needs a missing secret, connection or config value
is reported as skipped (with the reason) in the evidence; nothing here raises for that.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from wizard import probes
from wizard.i18n import Message
from wizard.probes import ProbeResult
from wizard.redact import redact, redact_obj

CONFIRMED, LIKELY, POSSIBLE = "confirmed", "likely", "possible"
NOTHING_FOUND = "nothing-found"
_RANK = {CONFIRMED: 0, LIKELY: 1, POSSIBLE: 2}


@dataclass(frozen=True)
class Fix:
    message: Message
    step_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"message": self.message.to_json(), "step": self.step_id}
        if self.step_id:
            out["command"] = f"fdw-wizard apply --only {self.step_id}"
        return out


@dataclass
class Diagnosis:
    id: str
    cause: Message
    evidence: list[Message] = field(default_factory=list)
    fixes: list[Fix] = field(default_factory=list)
    confidence: str = POSSIBLE

    @property
    def problem(self) -> bool:
        """False for the "nothing found" report (measurements only)."""
        return self.id != NOTHING_FOUND

    def to_json(self) -> dict[str, Any]:
        return redact_obj(  # type: ignore[no-any-return]
            {
                "id": self.id,
                "confidence": self.confidence,
                "cause": self.cause.to_json(),
                "evidence": [e.to_json() for e in self.evidence],
                "fixes": [f.to_json() for f in self.fixes],
            }
        )


@dataclass(frozen=True)
class Symptom:
    id: str

    @property
    def title(self) -> Message:
        return Message("diagnose.symptom." + self.id)


# What the CLI (--symptom) and the TUI's troubleshooting screen offer: the runbook's four first.
SYMPTOMS: tuple[Symptom, ...] = tuple(
    Symptom(s)
    for s in (
        "cannot-connect",
        "password-failed",
        "permission-denied",
        "high-latency",
        "no-hba-entry",
        "ssl",
        "password-required",
        "network-unreachable",
        "transaction-pooler",
        "dns",
        "collation",
        "statement-timeout",
        "unqualified-names",
        "too-many-connections",
        "cgnat",
        "api-exposure",
        "fdw-library",
    )
)
SYMPTOM_IDS: tuple[str, ...] = tuple(s.id for s in SYMPTOMS)

# Sides: which login the error is about.
DW_LOCAL = "dw-local"  # the wizard's superuser login to the DW
FDW = "fdw"  # Supabase's login to the DW as the reader, through the foreign server
SUPABASE = "supabase"  # the wizard's login to Supabase

# Text fragments -> family (first match wins; order matters).
_FAMILIES: tuple[tuple[str, str], ...] = (
    ("could not load library", "fdw-library"),
    ("undefined symbol", "fdw-library"),
    ("password is required", "password-required"),
    ("password or gssapi delegated credentials required", "password-required"),  # PG16+
    ("cannot connect if the server does not request a password", "password-required"),
    ("must provide a password in the user mapping", "password-required"),
    ("does not support ssl", "ssl"),
    ("ssl is not enabled", "ssl"),
    ("ssl was required", "ssl"),
    ("no pg_hba.conf entry", "no-hba-entry"),
    ("pg_hba.conf rejects connection", "no-hba-entry"),
    ("password authentication failed", "password-failed"),
    # The same server messages from an EDB DW with lc_messages 'Portuguese_Brazil.1252'
    # (PostgreSQL's own pt_BR translations), relayed inside an FDW "could not connect" error.
    ("nenhuma entrada no pg_hba.conf", "no-hba-entry"),
    ("pg_hba.conf rejeita conexão", "no-hba-entry"),
    ("autenticação do tipo senha falhou", "password-failed"),
    ("could not translate host name", "dns"),
    ("failed to resolve host", "dns"),
    ("name or service not known", "dns"),
    ("temporary failure in name resolution", "dns"),
    ("nodename nor servname", "dns"),
    ("no such host is known", "dns"),
    ("network is unreachable", "network-unreachable"),
    ("too many connections", "too-many-connections"),
    ("muitos clientes conectados", "too-many-connections"),
    ("remaining connection slots", "too-many-connections"),
    ("canceling statement due to statement timeout", "statement-timeout"),
    ("foreign_table_in_api", "api-exposure"),
    ("permission denied", "permission-denied"),
    ("permissão negada", "permission-denied"),
    ("6543", "transaction-pooler"),
    ("connection refused", "cannot-connect"),
    ("timeout expired", "cannot-connect"),
    ("timed out", "cannot-connect"),
    ("could not connect to server", "cannot-connect"),
    ("server closed the connection unexpectedly", "cannot-connect"),
    ("connection failed", "cannot-connect"),
)
_SQLSTATE_FAMILIES = {
    "57014": "statement-timeout",
    "53300": "too-many-connections",
    "42501": "permission-denied",
    "28P01": "password-failed",
    "28000": "no-hba-entry",
    "08001": "cannot-connect",
    "08006": "cannot-connect",
    "2F003": "password-required",
}

_HOST_PORT = re.compile(r'connection to server at "([^"]+)"(?: \(([^)]+)\))?, port (\d+)')
_HBA_TEXT = re.compile(
    r'for host "([^"]+)", user "([^"]+)", database "([^"]+)"(?:, (no encryption|SSL encryption|'
    r"GSS encryption|SSL on|SSL off))?"
)
_USER = re.compile(r'for user "([^"]+)"')
_PERMISSION = re.compile(r"permission denied for (foreign table|table|view|schema|relation) (\S+)")
_RELATION = re.compile(r'relation "([^"]+)" does not exist')
_COLLATION = re.compile(r'collation "([^"]+)" for encoding "([^"]+)" does not exist')
_REMOTE_FROM = re.compile(r"remote SQL command: .*?\bFROM\s+([\w.\"]+)", re.S)
_SUPABASE_DIRECT = re.compile(r"^db\.[a-z0-9]+\.supabase\.co$", re.I)


def _t(msg_key: str, /, **params: Any) -> Message:
    return Message(msg_key, params)


# ---------------------------------------------------------------------------------------------
# What the operator gave us


@dataclass
class _Input:
    text: str
    sqlstate: str | None
    symptom: str | None
    step_id: str | None
    host: str | None = None
    address: str | None = None
    port: int | None = None

    @property
    def lowered(self) -> str:
        return self.text.lower()


def _text_of(error: str | BaseException | None) -> tuple[str, str | None]:
    if error is None:
        return "", None
    if isinstance(error, str):
        return redact(error), None
    sqlstate = getattr(error, "sqlstate", None)
    parts = [str(error)]
    detail = getattr(error, "detail", None)  # wizard.db.DbError carries the server's text
    if isinstance(detail, str) and detail and detail not in parts[0]:
        parts.append(detail)
    diag = getattr(error, "diag", None)
    for name in ("message_detail", "message_hint", "context"):
        value = getattr(diag, name, None) if diag is not None else None
        if isinstance(value, str) and value and value not in parts[0]:
            parts.append(value)
    return redact("\n".join(parts)), sqlstate if isinstance(sqlstate, str) else None


def _family(inp: _Input) -> str | None:
    if inp.symptom:
        return inp.symptom
    lowered = inp.lowered
    if "collation" in lowered and "does not exist" in lowered:
        return "collation"
    if "does not exist" in lowered and "remote sql command" in lowered:
        return "unqualified-names"
    if "prepared statement" in lowered and (
        "does not exist" in lowered or "already exists" in lowered
    ):
        return "transaction-pooler"
    for fragment, family in _FAMILIES:
        if fragment in lowered:
            return family
    if inp.sqlstate in _SQLSTATE_FAMILIES:
        return _SQLSTATE_FAMILIES[inp.sqlstate]
    if "100.64." in lowered:
        return "cgnat"
    return None


# ---------------------------------------------------------------------------------------------
# The investigation: the context, the probes already run, the reasons probes were skipped


@dataclass
class _Endpoint:
    side: str
    host: str
    port: int
    dbname: str
    user: str
    secret: str
    sslmode: str

    def login(self, password: str, target: str) -> probes.ProbeResult:
        """A real login to this endpoint, classified (never raises)."""
        return probes.login(
            host=self.host,
            port=self.port,
            dbname=self.dbname,
            user=self.user,
            password=password,
            sslmode=self.sslmode,
            target=target,
        )


class _Investigation:
    def __init__(self, ctx: Any, inp: _Input) -> None:
        self.ctx = ctx
        self.cfg = ctx.config
        self.inp = inp
        self.skips: list[Message] = []
        self._conns: dict[str, Any] = {}
        self._failed: dict[str, Message] = {}
        self.fdw_results: dict[str, ProbeResult | None] = {}

    # -- access that may fail --------------------------------------------------------------------

    def skip(self, result: ProbeResult) -> None:
        if result.skipped and result.message not in self.skips:
            self.skips.append(result.message)

    def _conn(self, name: str, opener: Callable[[], Any]) -> Any | None:
        if name in self._conns:
            return self._conns[name]
        if name in self._failed:
            return None
        from wizard.engine import StepError

        try:
            conn = opener()
        except StepError as exc:
            reason = exc.message
        except Exception as exc:  # a probe never crashes the diagnosis
            reason = _t("probes.reason.error", detail=redact(f"{type(exc).__name__}: {exc}"))
        else:
            self._conns[name] = conn
            return conn
        self._failed[name] = reason
        self.skip(probes.skipped(name, reason))
        return None

    def local(self) -> Any | None:
        """Superuser connection to the DW, or None (the reason joins the evidence)."""
        return self._conn("local-connection", self.ctx.local_conn)

    def supabase(self) -> Any | None:
        if not self.cfg.supabase.host:
            self.skip(probes.skipped("supabase-connection", _t("probes.reason.no_supabase_host")))
            return None
        return self._conn("supabase-connection", self.ctx.supabase_conn)

    def secret(self, name: str) -> str | None:
        from wizard.secrets import SecretMissing

        try:
            return str(self.ctx.secrets.get(name))
        except SecretMissing as exc:
            self.skip(probes.skipped("secret " + name, exc.message))
        except Exception as exc:
            self.skip(probes.skipped("secret " + name, _t("probes.reason.error", detail=str(exc))))
        return None

    # -- which login -------------------------------------------------------------------------

    def endpoint(self, side: str) -> _Endpoint:
        cfg = self.cfg
        if side == SUPABASE:
            s = cfg.supabase
            return _Endpoint(side, s.host, s.port, s.database, s.user, "supabase-db", s.sslmode)
        if side == FDW:
            tls = cfg.exposure.tls.enabled and cfg.exposure.hba_connection_type == "hostssl"
            return _Endpoint(
                side,
                cfg.exposure.public_host,
                cfg.exposure.public_port,
                cfg.local.database,
                cfg.reader.name,
                "reader",
                "require" if tls else "prefer",
            )
        lc = cfg.local
        return _Endpoint(
            side, lc.host, lc.port, lc.database, lc.superuser, "local-superuser", "prefer"
        )

    def side(self) -> str:
        inp, cfg = self.inp, self.cfg
        text = inp.text
        lowered = inp.lowered
        if text.startswith("local:"):
            return DW_LOCAL
        if text.startswith("supabase:"):
            return SUPABASE
        if (
            'could not connect to server "' in lowered
            or "remote sql command" in lowered
            or "user mapping" in lowered
            or "password is required" in lowered
        ):
            return FDW
        user = None
        for pattern in (_HBA_TEXT, _USER):
            found = pattern.search(text)
            if found:
                user = found.group(2) if pattern is _HBA_TEXT else found.group(1)
                break
        if user is not None:
            if user == cfg.reader.name:
                return FDW
            if user == cfg.supabase.user and user != cfg.local.superuser:
                return SUPABASE
            if user == cfg.local.superuser and user != cfg.supabase.user:
                return DW_LOCAL
            if user == cfg.local.superuser and inp.port is None:
                return DW_LOCAL  # the same name on both sides: the DW is checked first
        if inp.port is not None:
            if inp.port == cfg.supabase.port and inp.host in (cfg.supabase.host, None):
                return SUPABASE
            if (
                inp.port == cfg.local.port
                and inp.host == cfg.local.host
                and user != cfg.reader.name
            ):
                return DW_LOCAL if user in (None, cfg.local.superuser) else FDW
        step = inp.step_id or ""
        if step == "prereq.supabase-connection":
            return SUPABASE
        if step.startswith(("prereq.", "local.")):
            return DW_LOCAL
        if step.startswith(("supabase.", "views.", "app.", "validate.")):
            return FDW
        return FDW if cfg.exposure.public_host else DW_LOCAL

    def hba_path(self) -> str | None:
        conn = self.local()
        if conn is not None:
            try:
                return str(conn.execute("SHOW hba_file").fetchone()[0])
            except Exception as exc:
                self.skip(probes.skipped("hba", _t("probes.reason.error", detail=str(exc))))
                return None
        data_dir = self.cfg.local.data_dir
        if data_dir and data_dir != "auto":
            from pathlib import Path

            return str(Path(data_dir) / "pg_hba.conf")
        self.skip(probes.skipped("hba", _t("probes.reason.no_hba_path")))
        return None

    def sample_address(self) -> str:
        """An address Supabase's connection may come from, as far as the config knows: the
        first allowed CIDR's first host (Supabase's outbound address is not static)."""
        import ipaddress

        if self.inp.address and probes.is_ip(self.inp.address):
            return self.inp.address
        for cidr in self.cfg.exposure.allowed_cidrs:
            net = ipaddress.ip_network(cidr, strict=False)
            return str(next(iter(net.hosts()), net.network_address))
        return "127.0.0.1"

    def server_option(self, name: str) -> str | None:
        conn = self.supabase()
        if conn is None:
            return None
        from wizard.steps.supabase_fdw import current_server

        try:
            found = current_server(conn, self.cfg.fdw.server_name)
        except Exception as exc:
            self.skip(probes.skipped("foreign-server", _t("probes.reason.error", detail=str(exc))))
            return None
        if found is None:
            return None
        return found[1].get(name)

    def close(self) -> None:
        self._conns.clear()  # connections belong to the context, which closes them


def _evidence(*results: ProbeResult) -> list[Message]:
    return [r.message for r in results if not r.skipped]


def _start_fix(inv: _Investigation) -> Fix:
    return Fix(_t("diagnose.fix.start_server", target=_service_target(inv)))


def _service_target(inv: _Investigation) -> str:
    lc = inv.cfg.local
    if lc.service != "auto":
        return str(lc.service)
    if lc.data_dir != "auto":
        return str(lc.data_dir)
    return f"{lc.host}:{lc.port}"


# ---------------------------------------------------------------------------------------------
# Families


def _cannot_connect(inv: _Investigation) -> list[Diagnosis]:
    """Server down / service stopped vs firewall dropping vs wrong port vs DNS vs
    listen_addresses not covering the interface, from what the probes see right now."""
    side = inv.side()
    ep = inv.endpoint(side)
    if not ep.host:
        key = "supabase.host" if side == SUPABASE else "exposure.public_host"
        return [
            Diagnosis(
                "not-configured",
                _t("diagnose.cause.not_configured", key=key),
                [],
                [Fix(_t("diagnose.fix.set_config", key=key))],
                CONFIRMED,
            )
        ]
    dns = probes.resolve(ep.host)
    inv.skip(dns)
    if dns.outcome in ("failed", probes.TIMEOUT):
        return _dns_failure(inv, ep, dns)
    tcp = probes.tcp_connect(ep.host, ep.port)
    evidence = _evidence(dns, tcp) if not probes.is_ip(ep.host) else _evidence(tcp)
    if tcp.outcome == probes.REFUSED:
        return _refused(inv, ep, evidence)
    if tcp.outcome == probes.TIMEOUT:
        return _dropped(inv, ep, evidence)
    if tcp.outcome == probes.UNREACHABLE:
        return _unreachable(inv, ep, evidence, dns)
    if tcp.outcome != probes.OPEN:
        return [_unexplained(inv, evidence)]
    hello = probes.ssl_request(ep.host, ep.port)
    evidence.append(hello.message)
    if hello.outcome == "silent":
        return [
            Diagnosis(
                "firewall-or-blackhole",
                _t("diagnose.cause.blackhole", host=ep.host, port=ep.port),
                evidence,
                _firewall_fixes(side),
                CONFIRMED,
            )
        ]
    if hello.outcome == "not-postgres":
        return [
            Diagnosis(
                "wrong-port",
                _t("diagnose.cause.not_postgres", host=ep.host, port=ep.port),
                evidence,
                _port_fixes(side),
                CONFIRMED,
            )
        ]
    up = probes.server_answers(ep.host, ep.port)
    evidence.append(up.message)
    if up.outcome == "down":
        return [
            Diagnosis(
                "server-starting",
                _t("diagnose.cause.starting", host=ep.host, port=ep.port),
                evidence,
                [Fix(_t("diagnose.fix.wait_and_log"))],
                LIKELY,
            )
        ]
    # It answers now: log in for real and diagnose what that says, if anything.
    secret = inv.secret(ep.secret)
    if secret is not None:
        attempt = ep.login(secret, side)
        evidence.append(attempt.message)
        if attempt.outcome != "ok" and not inv.inp.symptom:
            detail = str(attempt.data.get("detail", ""))
            again = _Input(detail, attempt.data.get("sqlstate"), None, inv.inp.step_id)
            if _family(again) not in (None, "cannot-connect"):
                found = _run(inv.ctx, again)
                for item in found:
                    item.evidence[:0] = evidence
                return found
    if side == FDW:
        fdw = _fdw_probe(inv, "postgres")
        if fdw is not None:
            evidence.append(fdw.message)
            if fdw.outcome == "failed":
                again = _Input(str(fdw.data.get("error", "")), None, None, inv.inp.step_id)
                family = _family(again)
                if family not in (None, "cannot-connect"):
                    found = _run(inv.ctx, again)
                    for item in found:
                        item.evidence[:0] = evidence
                    return found
    if not inv.inp.text:
        return [_nothing(inv, evidence)]
    return [
        Diagnosis(
            "intermittent",
            _t("diagnose.cause.intermittent", host=ep.host, port=ep.port),
            evidence,
            [Fix(_t("diagnose.fix.wait_and_log"))],
            POSSIBLE,
        )
    ]


def _local_server_state(inv: _Investigation) -> tuple[ProbeResult, ProbeResult]:
    """(the service as the OS sees it, does the DW answer on its configured local port)."""
    lc = inv.cfg.local
    service = probes.service_state(lc)
    inv.skip(service)
    answers = probes.server_answers(lc.host, lc.port)
    return service, answers


def _refused(inv: _Investigation, ep: _Endpoint, evidence: list[Message]) -> list[Diagnosis]:
    if ep.side == SUPABASE:
        return [
            Diagnosis(
                "wrong-port",
                _t("diagnose.cause.refused_supabase", host=ep.host, port=ep.port),
                evidence,
                [Fix(_t("diagnose.fix.set_config", key="supabase.host / supabase.port"))],
                LIKELY,
            )
        ]
    service, answers = _local_server_state(inv)
    evidence = evidence + _evidence(service, answers)
    stopped = service.outcome in ("stopped", "not-found")
    if stopped or (answers.outcome == "down" and service.outcome != "running"):
        return [
            Diagnosis(
                "server-down",
                _t("diagnose.cause.server_down", target=_service_target(inv)),
                evidence,
                [_start_fix(inv)],
                CONFIRMED if stopped or _is_loopback(ep.host) else LIKELY,
            )
        ]
    if answers.outcome == "down":
        # The OS says running but nothing answers: crashed, starting, or listening elsewhere.
        return [
            Diagnosis(
                "server-down",
                _t("diagnose.cause.server_not_answering", target=_service_target(inv)),
                evidence,
                [_start_fix(inv), Fix(_t("diagnose.fix.wait_and_log"))],
                LIKELY,
            )
        ]
    # The server runs and answers on its own port: the refused address/port is the problem.
    actual_port, listen = inv.cfg.local.port, ""
    conn = inv.local()
    if conn is not None:
        try:
            row = conn.execute(
                "SELECT current_setting('port')::int, current_setting('listen_addresses')"
            ).fetchone()
            actual_port, listen = int(row[0]), str(row[1])
        except Exception as exc:
            inv.skip(probes.skipped("settings", _t("probes.reason.error", detail=str(exc))))
    if ep.port != actual_port:
        return [
            Diagnosis(
                "wrong-port",
                _t("diagnose.cause.wrong_port", port=ep.port, actual=actual_port),
                evidence,
                _port_fixes(ep.side),
                CONFIRMED,
            )
        ]
    evidence.append(_t("diagnose.evidence.listen", value=listen or "?"))
    return [
        Diagnosis(
            "listen-addresses",
            _t("diagnose.cause.listen", host=ep.host, port=ep.port, value=listen or "?"),
            evidence,
            [
                Fix(_t("diagnose.fix.listen"), "local.listen"),
                Fix(_t("diagnose.fix.restart"), "local.reload"),
            ],
            LIKELY if not listen else CONFIRMED,
        )
    ]


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _firewall_fixes(side: str) -> list[Fix]:
    if side == SUPABASE:
        return [Fix(_t("diagnose.fix.outbound_firewall"))]
    return [
        Fix(_t("diagnose.fix.firewall"), "local.firewall"),
        Fix(_t("diagnose.fix.port_forward")),
    ]


def _port_fixes(side: str) -> list[Fix]:
    if side == FDW:
        return [Fix(_t("diagnose.fix.public_port"), "supabase.server")]
    if side == SUPABASE:
        return [Fix(_t("diagnose.fix.set_config", key="supabase.port"))]
    return [Fix(_t("diagnose.fix.set_config", key="local.port"))]


def _dropped(inv: _Investigation, ep: _Endpoint, evidence: list[Message]) -> list[Diagnosis]:
    found: list[Diagnosis] = []
    confidence = LIKELY
    if ep.side != SUPABASE:
        service, answers = _local_server_state(inv)
        evidence = evidence + _evidence(service, answers)
        if service.outcome in ("stopped", "not-found") or answers.outcome == "down":
            found.append(
                Diagnosis(
                    "server-down",
                    _t("diagnose.cause.server_down", target=_service_target(inv)),
                    list(evidence),
                    [_start_fix(inv)],
                    CONFIRMED if service.outcome == "stopped" else LIKELY,
                )
            )
            confidence = POSSIBLE
        elif answers.outcome == "up":
            confidence = CONFIRMED  # it runs here, yet packets to the address are dropped
    found.append(
        Diagnosis(
            "firewall-or-blackhole",
            _t("diagnose.cause.firewall", host=ep.host, port=ep.port),
            evidence,
            _firewall_fixes(ep.side),
            confidence,
        )
    )
    return found


def _unreachable(
    inv: _Investigation, ep: _Endpoint, evidence: list[Message], dns: ProbeResult
) -> list[Diagnosis]:
    families = set(dns.data.get("families", []))
    v6_only = families == {"ipv6"} or (":" in ep.host and probes.is_ip(ep.host))
    if v6_only or _SUPABASE_DIRECT.match(ep.host):
        return [_ipv6(ep.host, evidence, CONFIRMED if v6_only else LIKELY)]
    return [
        Diagnosis(
            "network-unreachable",
            _t("diagnose.cause.unreachable", host=ep.host),
            evidence,
            [Fix(_t("diagnose.fix.route"))],
            LIKELY,
        )
    ]


def _ipv6(host: str, evidence: list[Message], confidence: str) -> Diagnosis:
    return Diagnosis(
        "ipv6-unreachable",
        _t("diagnose.cause.ipv6", host=host),
        evidence,
        [Fix(_t("diagnose.fix.session_pooler"))],
        confidence,
    )


def _network_unreachable(inv: _Investigation) -> list[Diagnosis]:
    """ "Network is unreachable": decided from the text (an IPv6 address, Supabase's direct
    host) and the configured host's DNS; hosts named only in pasted text are never probed."""
    inp = inv.inp
    shown = inp.address or inp.host or ""
    evidence = [_t("diagnose.evidence.text", text=_excerpt(inp.text))] if inp.text else []
    host = inp.host or ""
    if ":" in shown and probes.is_ip(shown):
        return [_ipv6(host or shown, evidence, CONFIRMED)]
    if host and _SUPABASE_DIRECT.match(host):
        return [_ipv6(host, evidence, LIKELY)]
    side = inv.side()
    ep = inv.endpoint(side)
    if ep.host:
        dns = probes.resolve(ep.host)
        inv.skip(dns)
        evidence += _evidence(dns)
        return _unreachable(inv, ep, evidence, dns)
    return [
        Diagnosis(
            "network-unreachable",
            _t("diagnose.cause.unreachable", host=host or "?"),
            evidence,
            [Fix(_t("diagnose.fix.route"))],
            POSSIBLE,
        )
    ]


def _dns_failure(inv: _Investigation, ep: _Endpoint, dns: ProbeResult) -> list[Diagnosis]:
    key = {SUPABASE: "supabase.host", FDW: "exposure.public_host"}.get(ep.side, "local.host")
    return [
        Diagnosis(
            "dns-failure",
            _t("diagnose.cause.dns", host=ep.host),
            _evidence(dns),
            [Fix(_t("diagnose.fix.dns", key=key))],
            CONFIRMED,
        )
    ]


def _dns(inv: _Investigation) -> list[Diagnosis]:
    ep = inv.endpoint(inv.side())
    if not ep.host:
        return _cannot_connect(inv)
    dns = probes.resolve(ep.host)
    inv.skip(dns)
    if dns.outcome in ("failed", probes.TIMEOUT):
        return _dns_failure(inv, ep, dns)
    return [_nothing(inv, _evidence(dns))]


# -- authentication -----------------------------------------------------------------------------


def _password_failed(inv: _Investigation) -> list[Diagnosis]:
    side = inv.side()
    ep = inv.endpoint(side)
    if side != FDW:
        evidence: list[Message] = []
        secret = inv.secret(ep.secret)
        if secret is not None and ep.host:
            attempt = ep.login(secret, side)
            evidence.append(attempt.message)
            if attempt.outcome == "ok":
                return [_nothing(inv, evidence)]
        return [
            Diagnosis(
                "wrong-password",
                _t("diagnose.cause.wrong_secret", user=ep.user, secret=ep.secret),
                evidence,
                [Fix(_t("diagnose.fix.secret_set", secret=ep.secret))],
                CONFIRMED if evidence else LIKELY,
            )
        ]
    reader = inv.cfg.reader.name
    conn = inv.local()
    evidence = []
    if conn is not None:
        storage = probes.guarded("password", lambda: probes.password_storage(conn, reader))
        inv.skip(storage)
        evidence += _evidence(storage)
        if storage.outcome == "no-role":
            return [
                Diagnosis(
                    "reader-missing",
                    _t("diagnose.cause.reader_missing", role=reader),
                    evidence,
                    [Fix(_t("diagnose.fix.reader_role"), "local.reader-role")],
                    CONFIRMED,
                )
            ]
        rule = _reader_rule(inv, "ssl" if ep.sslmode != "disable" else "nossl")
        if rule is not None:
            evidence += _evidence(rule)
        method = rule.data.get("method") if rule is not None else None
        if storage.outcome == "md5":
            scram_rule = method == "scram-sha-256"
            return [
                Diagnosis(
                    "md5-password-storage",
                    _t("diagnose.cause.md5", role=reader, method=method or "?"),
                    evidence,
                    [Fix(_t("diagnose.fix.rehash"), "local.reader-role")],
                    CONFIRMED if scram_rule else LIKELY,
                )
            ]
        secret = inv.secret("reader")
        verifier = conn.execute(
            "SELECT rolpassword FROM pg_authid WHERE rolname = %s", (reader,)
        ).fetchone()
        if secret is not None and verifier is not None:
            from wizard.scram import verifier_matches

            if not verifier_matches(verifier[0], secret):
                evidence.append(_t("diagnose.evidence.keyring_differs", role=reader))
                return [
                    Diagnosis(
                        "wrong-password",
                        _t("diagnose.cause.reader_password_changed", role=reader),
                        evidence,
                        [
                            Fix(_t("diagnose.fix.reader_password"), "local.reader-role"),
                            Fix(_t("diagnose.fix.mappings"), "supabase.user-mappings"),
                        ],
                        CONFIRMED,
                    )
                ]
            evidence.append(_t("diagnose.evidence.keyring_matches", role=reader))
    # The DW role and the keyring agree: the user mapping holds another password.
    broken = _broken_mappings(inv, evidence, "password authentication failed")
    if not broken and not inv.inp.text and inv.fdw_results:
        return [_nothing(inv, evidence)]
    confidence = CONFIRMED if broken else (POSSIBLE if inv.fdw_results else LIKELY)
    return [
        Diagnosis(
            "wrong-password",
            _t("diagnose.cause.mapping_password", roles=", ".join(broken) or "?"),
            evidence,
            [Fix(_t("diagnose.fix.mappings"), "supabase.user-mappings")],
            confidence,
        )
    ]


def _fdw_probe(inv: _Investigation, role: str) -> ProbeResult | None:
    if role in inv.fdw_results:
        return inv.fdw_results[role]
    conn = inv.supabase()
    if conn is None:
        return None
    result = probes.guarded("fdw", lambda: probes.fdw_login(conn, inv.cfg.fdw.server_name, role))
    inv.skip(result)
    inv.fdw_results[role] = None if result.skipped else result
    return inv.fdw_results[role]


def _broken_mappings(inv: _Investigation, evidence: list[Message], needle: str = "") -> list[str]:
    """Mapped roles whose FDW login fails (optionally: with ``needle`` in the error)."""
    broken: list[str] = []
    for role in inv.cfg.fdw.map_roles:
        result = _fdw_probe(inv, role)
        if result is None:
            return broken
        evidence.append(result.message)
        error = str(result.data.get("error", "")).lower()
        if result.outcome == "failed" and needle.lower() in error:
            broken.append(role)
    return broken


def _reader_rule(inv: _Investigation, conn_type: str) -> ProbeResult | None:
    path = inv.hba_path()
    if path is None:
        return None
    result = probes.hba_first_match(
        path, conn_type, inv.cfg.local.database, inv.cfg.reader.name, inv.sample_address()
    )
    inv.skip(result)
    return None if result.skipped else result


def _no_hba_entry(inv: _Investigation) -> list[Diagnosis]:
    cfg = inv.cfg
    found = _HBA_TEXT.search(inv.inp.text)
    side = inv.side()
    if found:
        address, user, database, encryption = found.groups()
        conn_type = "nossl" if encryption in ("no encryption", "SSL off") else "ssl"
    else:
        address = inv.sample_address()
        user = cfg.reader.name if side == FDW else cfg.local.superuser
        database = cfg.local.database
        sslmode = inv.server_option("sslmode") if side == FDW else None
        conn_type = "nossl" if sslmode == "disable" else "ssl"
    if side == SUPABASE:
        return [
            Diagnosis(
                "no-hba-entry",
                _t("diagnose.cause.supabase_hba", user=user),
                [_t("diagnose.evidence.text", text=_excerpt(inv.inp.text))],
                [Fix(_t("diagnose.fix.set_config", key="supabase.user / supabase.sslmode"))],
                LIKELY,
            )
        ]
    path = inv.hba_path()
    evidence: list[Message] = []
    if path is None or not probes.is_ip(address):
        return [
            Diagnosis(
                "no-hba-entry",
                _t("diagnose.cause.no_hba", user=user, database=database, address=address),
                evidence,
                [Fix(_t("diagnose.fix.hba"), "local.hba")],
                LIKELY,
            )
        ]
    other = "ssl" if conn_type == "nossl" else "nossl"
    this = probes.hba_first_match(path, conn_type, database, user, address)
    that = probes.hba_first_match(path, other, database, user, address)
    for r in (this, that):
        inv.skip(r)
    evidence += _evidence(this, that)
    rejected = "rejects connection" in inv.inp.lowered
    if this.outcome == "match" and not (rejected or found):
        return [_nothing(inv, evidence)]
    if this.outcome == "match":
        # The file would let it in but the server did not: the file changed after the last reload.
        return [
            Diagnosis(
                "hba-not-reloaded",
                _t("diagnose.cause.hba_not_reloaded", path=path),
                evidence,
                [Fix(_t("diagnose.fix.reload"), "local.reload")],
                CONFIRMED,
            )
        ]
    if conn_type == "nossl" and that.outcome == "match" and this.outcome != "match":
        fixes = (
            [Fix(_t("diagnose.fix.server_sslmode"), "supabase.server")]
            if side == FDW
            else [Fix(_t("diagnose.fix.client_sslmode"))]
        )
        return [
            Diagnosis(
                "ssl-required",
                _t("diagnose.cause.ssl_required", user=user, line=that.data.get("line", "?")),
                evidence,
                fixes,
                CONFIRMED,
            )
        ]
    if this.outcome == "reject":
        return [
            Diagnosis(
                "hba-reject",
                _t("diagnose.cause.hba_reject", line=this.data.get("line", "?"), user=user),
                evidence,
                [
                    Fix(_t("diagnose.fix.hba"), "local.hba"),
                    Fix(_t("diagnose.fix.reload"), "local.reload"),
                ],
                CONFIRMED,
            )
        ]
    if this.outcome == "skipped":
        confidence = LIKELY
    else:
        confidence = CONFIRMED if this.outcome == "none" else POSSIBLE
    return [
        Diagnosis(
            "no-hba-entry",
            _t("diagnose.cause.no_hba", user=user, database=database, address=address),
            evidence,
            [
                Fix(_t("diagnose.fix.hba"), "local.hba"),
                Fix(_t("diagnose.fix.reload"), "local.reload"),
            ],
            confidence,
        )
    ]


def _ssl(inv: _Investigation) -> list[Diagnosis]:
    side = inv.side()
    ep = inv.endpoint(side)
    if not ep.host:
        return _cannot_connect(inv)
    hello = probes.ssl_request(ep.host, ep.port)
    inv.skip(hello)
    evidence = _evidence(hello)
    if hello.outcome == "no-tls":
        if side == SUPABASE:
            fixes = [Fix(_t("diagnose.fix.set_config", key="supabase.host / supabase.port"))]
        else:
            fixes = [
                Fix(_t("diagnose.fix.tls"), "local.tls"),
                Fix(_t("diagnose.fix.restart"), "local.reload"),
            ]
        return [
            Diagnosis(
                "ssl-not-supported",
                _t("diagnose.cause.ssl_off", host=ep.host, port=ep.port),
                evidence,
                fixes,
                CONFIRMED,
            )
        ]
    if hello.outcome == "tls":
        if not inv.inp.text:
            return [_nothing(inv, evidence)]
        return [
            Diagnosis(
                "intermittent",
                _t("diagnose.cause.ssl_now_on", host=ep.host, port=ep.port),
                evidence,
                [Fix(_t("diagnose.fix.wait_and_log"))],
                POSSIBLE,
            )
        ]
    return _cannot_connect(inv)


def _password_required(inv: _Investigation) -> list[Diagnosis]:
    """postgres_fdw's "password is required": a mapping without a password, or a DW rule
    (trust/peer) that never asks for one. Supabase's postgres is not a superuser."""
    lowered = inv.inp.lowered
    evidence: list[Message] = []
    broken = _broken_mappings(inv, evidence, "must provide a password")
    if broken or "must provide a password" in lowered:
        return [
            Diagnosis(
                "mapping-without-password",
                _t("diagnose.cause.mapping_no_password", roles=", ".join(broken) or "?"),
                evidence,
                [Fix(_t("diagnose.fix.mappings"), "supabase.user-mappings")],
                CONFIRMED,
            )
        ]
    rule = _reader_rule(inv, "ssl")
    method = rule.data.get("method") if rule is not None else None
    if rule is not None:
        evidence.insert(0, rule.message)
    no_password = method in ("trust", "peer", "ident", "cert")
    failing = _broken_mappings(inv, [], "does not request a password")
    if not no_password and not failing and "does not request" not in lowered:
        return [_nothing(inv, evidence)]
    return [
        Diagnosis(
            "password-not-requested",
            _t("diagnose.cause.trust", method=method or "?", role=inv.cfg.reader.name),
            evidence,
            [
                Fix(_t("diagnose.fix.hba_scram"), "local.hba"),
                Fix(_t("diagnose.fix.reload"), "local.reload"),
            ],
            CONFIRMED if no_password or failing else LIKELY,
        )
    ]


# -- privileges ---------------------------------------------------------------------------------


def _permission_denied(inv: _Investigation) -> list[Diagnosis]:
    cfg = inv.cfg
    text = inv.inp.text
    found = _PERMISSION.search(text)
    kind, name = (found.group(1), found.group(2).strip('"')) if found else ("", "")
    table = name.split(".")[-1].strip('"') if name else ""
    remote = "remote sql command" in inv.inp.lowered
    tables = [table] if table and kind != "schema" else list(cfg.fdw.tables)
    dw_gaps = _dw_gaps(inv, tables)
    supa_gaps = _supabase_gaps(inv, tables, kind == "schema")
    found_list: list[Diagnosis] = []
    dw_diag = supa_diag = None
    if dw_gaps:
        dw_diag = Diagnosis(
            "missing-grant-dw",
            _t("diagnose.cause.grant_dw", role=cfg.reader.name, tables=", ".join(dw_gaps)),
            [_t("diagnose.evidence.text", text=_excerpt(text))] if text else [],
            [Fix(_t("diagnose.fix.grant_dw"), "local.reader-role")],
            CONFIRMED,
        )
    if supa_gaps:
        views = {"v_clientes_360": "views.clientes-360", "v_frota_360": "views.frota-360"}
        step = views.get(table, "supabase.grants")
        supa_diag = Diagnosis(
            "missing-grant-supabase",
            _t("diagnose.cause.grant_supabase", items=", ".join(supa_gaps)),
            [_t("diagnose.evidence.text", text=_excerpt(text))] if text else [],
            [Fix(_t("diagnose.fix.grant_supabase"), step)],
            CONFIRMED,
        )
    ordered = [dw_diag, supa_diag] if remote or kind != "foreign table" else [supa_diag, dw_diag]
    found_list = [d for d in ordered if d is not None]
    dbname = inv.server_option("dbname")
    if dbname is not None and dbname != cfg.local.database:
        found_list.append(
            Diagnosis(
                "wrong-database",
                _t("diagnose.cause.wrong_database", dbname=dbname, wanted=cfg.local.database),
                [],
                [Fix(_t("diagnose.fix.server_options"), "supabase.server")],
                CONFIRMED,
            )
        )
    if found_list:
        return found_list
    side_hint = "dw" if remote else "supabase"
    return [
        Diagnosis(
            "permission-unexplained",
            _t("diagnose.cause.permission_unexplained", side=side_hint, name=name or "?"),
            [_t("diagnose.evidence.text", text=_excerpt(text))] if text else [],
            [Fix(_t("diagnose.fix.status"))],
            POSSIBLE,
        )
    ]


def _dw_gaps(inv: _Investigation, tables: list[str]) -> list[str]:
    conn = inv.local()
    if conn is None:
        return []
    cfg = inv.cfg
    try:
        rows = conn.execute(
            "SELECT t FROM unnest(%s::text[]) AS t WHERE to_regclass(quote_ident(%s) || '.'"
            " || quote_ident(t)) IS NOT NULL AND NOT has_table_privilege(%s,"
            " to_regclass(quote_ident(%s) || '.' || quote_ident(t)), 'SELECT')",
            (tables, cfg.local.source_schema, cfg.reader.name, cfg.local.source_schema),
        ).fetchall()
    except Exception as exc:  # e.g. the reader role does not exist
        inv.skip(probes.skipped("dw-grants", _t("probes.reason.error", detail=redact(str(exc)))))
        return []
    return [str(r[0]) for r in rows]


def _supabase_gaps(inv: _Investigation, tables: list[str], schema_only: bool) -> list[str]:
    conn = inv.supabase()
    if conn is None:
        return []
    cfg = inv.cfg
    gaps: list[str] = []
    schema = cfg.fdw.target_schema
    roles = [r for r in cfg.fdw.map_roles if r != "postgres"]
    views = {"v_clientes_360": cfg.views.clientes_360, "v_frota_360": cfg.views.frota_360}
    try:
        for role in roles:
            usage = conn.execute(
                "SELECT has_schema_privilege(%s, %s, 'USAGE')", (role, schema)
            ).fetchone()[0]
            if not usage:
                gaps.append(f"USAGE ON SCHEMA {schema} -> {role}")
                continue
            if schema_only:
                continue
            for table in tables:
                where = views[table].schema_name if table in views else schema
                row = conn.execute(
                    "SELECT to_regclass(quote_ident(%s) || '.' || quote_ident(%s))",
                    (where, table),
                ).fetchone()
                if row is None or row[0] is None:
                    continue
                if not conn.execute(
                    "SELECT has_table_privilege(%s, %s::regclass, 'SELECT')", (role, row[0])
                ).fetchone()[0]:
                    gaps.append(f"SELECT ON {where}.{table} -> {role}")
    except Exception as exc:
        inv.skip(
            probes.skipped("supabase-grants", _t("probes.reason.error", detail=redact(str(exc))))
        )
    return gaps


# -- speed --------------------------------------------------------------------------------------


def _foreign_tables(conn: Any, server: str) -> list[tuple[str, str, float]]:
    rows = conn.execute(
        "SELECT n.nspname, c.relname, c.reltuples FROM pg_foreign_table ft"
        " JOIN pg_class c ON c.oid = ft.ftrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
        " JOIN pg_foreign_server s ON s.oid = ft.ftserver WHERE s.srvname = %s ORDER BY 2",
        (server,),
    ).fetchall()
    return [(str(r[0]), str(r[1]), float(r[2])) for r in rows]


def _latency(inv: _Investigation, *, from_timeout: bool = False) -> list[Diagnosis]:
    """Measure a trivial FDW read and the TCP connect time; point at fetch_size, ANALYZE and
    aggregates that are not pushed down (with the Remote SQL as evidence)."""
    from wizard import sql_text
    from wizard.steps.supabase_checks import remote_sql

    cfg = inv.cfg
    target = cfg.validation.latency_target_ms
    evidence: list[Message] = []
    found: list[Diagnosis] = []
    rtt_ms: float | None = None
    if cfg.exposure.public_host:
        rtt = probes.tcp_round_trip_ms(cfg.exposure.public_host, cfg.exposure.public_port)
        inv.skip(rtt)
        evidence += _evidence(rtt)
        rtt_ms = rtt.elapsed_ms if rtt.outcome == "ok" else None
    conn = inv.supabase()
    fdw_ms: float | None = None
    if conn is not None:
        try:
            tables = _foreign_tables(conn, cfg.fdw.server_name)
        except Exception as exc:
            inv.skip(probes.skipped("foreign-tables", _t("probes.reason.error", detail=str(exc))))
            tables = []
        if tables:
            schema, table, _ = tables[0]
            query = f"SELECT 1 FROM {sql_text.identifier(schema, table)} LIMIT 1"
            timed = probes.timed_query(conn, query, label=f"{schema}.{table}")
            evidence.append(timed.message)
            fdw_ms = timed.elapsed_ms if timed.outcome == "ok" else None
        unanalyzed = [f"{s}.{t}" for s, t, n in tables if n < 0]
        if unanalyzed:
            found.append(
                Diagnosis(
                    "fdw-no-statistics",
                    _t(
                        "diagnose.cause.no_statistics",
                        count=len(unanalyzed),
                        tables=", ".join(unanalyzed[:5]),
                    ),
                    [_t("diagnose.evidence.reltuples", tables=", ".join(unanalyzed[:5]))],
                    [Fix(_t("diagnose.fix.analyze"), "supabase.analyze")],
                    CONFIRMED,
                )
            )
        fetch = inv.server_option("fetch_size")
        if tables or fetch is not None:
            size = int(fetch) if fetch and fetch.isdigit() else 100  # postgres_fdw's default
            if size < 1000:
                found.append(
                    Diagnosis(
                        "fetch-size-small",
                        _t("diagnose.cause.fetch_size", size=size),
                        [_t("diagnose.evidence.fetch_size", size=size)],
                        [Fix(_t("diagnose.fix.fetch_size"), "supabase.server")],
                        CONFIRMED,
                    )
                )
        pushdown = _date_trunc_pushdown(inv, conn, tables, remote_sql)
        if pushdown is not None:
            found.append(pushdown)
    slow_net = rtt_ms is not None and rtt_ms * 5 > target
    slow_fdw = fdw_ms is not None and fdw_ms > target
    if slow_net or slow_fdw:
        found.append(
            Diagnosis(
                "slow-network",
                _t(
                    "diagnose.cause.slow_network",
                    rtt=round(rtt_ms or 0, 1),
                    floor=round((rtt_ms or 0) * 5),
                    target=target,
                ),
                list(evidence),
                [Fix(_t("diagnose.fix.network")), Fix(_t("diagnose.fix.materialize"))],
                LIKELY if slow_net else POSSIBLE,
            )
        )
    for item in found:
        if item.id != "slow-network":
            item.evidence = evidence + item.evidence
    if found:
        found.sort(key=lambda d: _RANK[d.confidence])
        return found
    if from_timeout:
        return []
    return [_nothing(inv, evidence)]


def _date_trunc_pushdown(
    inv: _Investigation, conn: Any, tables: list[tuple[str, str, float]],
    remote_sql: Callable[[Any, str], list[str]],
) -> Diagnosis | None:  # fmt: skip
    """EXPLAIN a date_trunc('month', ...) aggregate on a foreign table with a date column:
    postgres_fdw never ships it, so the whole table crosses the network."""
    from wizard import sql_text

    if not tables:
        return None
    names = [t for _, t, _ in tables]
    schema = tables[0][0]
    try:
        row = conn.execute(
            "SELECT c.relname, a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid"
            " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s"
            " AND c.relname = ANY(%s) AND a.attnum > 0 AND NOT a.attisdropped"
            " AND a.atttypid IN ('date'::regtype, 'timestamp'::regtype, 'timestamptz'::regtype)"
            " ORDER BY c.relname LIKE 'fat%%' DESC, c.relname, a.attnum LIMIT 1",
            (schema, names),
        ).fetchone()
        if row is None:
            return None
        table, column = str(row[0]), str(row[1])
        query = (
            f"SELECT date_trunc('month', {sql_text.identifier(column)}), count(*)"
            f" FROM {sql_text.identifier(schema, table)} GROUP BY 1"
        )
        sent = remote_sql(conn, query)
    except Exception as exc:
        inv.skip(probes.skipped("pushdown", _t("probes.reason.error", detail=str(exc))))
        return None
    if any("GROUP BY" in s.upper() for s in sent):
        return None
    return Diagnosis(
        "aggregate-not-pushed-down",
        _t("diagnose.cause.not_pushed", table=f"{schema}.{table}"),
        [_t("diagnose.evidence.remote_sql", query=query, sql="; ".join(sent) or "-")],
        [Fix(_t("diagnose.fix.aggregate_on_dw"))],
        POSSIBLE,
    )


def _statement_timeout(inv: _Investigation) -> list[Diagnosis]:
    conn = inv.supabase()
    evidence: list[Message] = []
    if inv.inp.text:
        evidence.append(_t("diagnose.evidence.text", text=_excerpt(inv.inp.text)))
    if conn is not None:
        try:
            rows = conn.execute(
                "SELECT r.rolname, cfg FROM pg_roles r, unnest(r.rolconfig) cfg"
                " WHERE r.rolname IN ('anon', 'authenticated', 'service_role', current_user)"
                " AND cfg LIKE 'statement_timeout=%%' ORDER BY 1"
            ).fetchall()
            for role, setting in rows:
                evidence.append(
                    _t(
                        "diagnose.evidence.role_timeout",
                        role=role,
                        value=str(setting).split("=", 1)[1],
                    )
                )
        except Exception as exc:
            inv.skip(probes.skipped("role-timeouts", _t("probes.reason.error", detail=str(exc))))
    proved = inv.inp.sqlstate == "57014" or "statement timeout" in inv.inp.lowered
    main = Diagnosis(
        "statement-timeout",
        _t("diagnose.cause.statement_timeout"),
        evidence,
        [
            Fix(_t("diagnose.fix.analyze"), "supabase.analyze"),
            Fix(_t("diagnose.fix.fetch_size"), "supabase.server"),
            Fix(_t("diagnose.fix.aggregate_on_dw")),
        ],
        CONFIRMED if proved else LIKELY,
    )
    return [main, *_latency(inv, from_timeout=True)]


# -- schema ------------------------------------------------------------------------------------


def _unqualified(inv: _Investigation) -> list[Diagnosis]:
    text = inv.inp.text
    found = _RELATION.search(text)
    evidence = [_t("diagnose.evidence.text", text=_excerpt(text))] if text else []
    remote = _REMOTE_FROM.search(text)
    remote_object = remote.group(1) if remote else "?"
    if found is None:
        return [
            Diagnosis(
                "unqualified-remote-names",
                _t("diagnose.cause.unqualified", name="?", schema="?", remote=remote_object),
                evidence,
                [Fix(_t("diagnose.fix.qualify"))],
                POSSIBLE,
            )
        ]
    name = found.group(1)
    bare = name.split(".")[-1]
    if "remote sql command" not in inv.inp.lowered:
        return [
            Diagnosis(
                "not-imported",
                _t("diagnose.cause.not_imported", name=name),
                evidence,
                [Fix(_t("diagnose.fix.import"), "supabase.import")],
                POSSIBLE,
            )
        ]
    conn = inv.local()
    schemas: list[str] = []
    if conn is not None:
        rows = conn.execute(
            "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE c.relname = %s AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
            " ORDER BY 1",
            (bare,),
        ).fetchall()
        schemas = [str(r[0]) for r in rows]
    if "." not in name and schemas:
        evidence.append(_t("diagnose.evidence.exists_in", name=bare, schemas=", ".join(schemas)))
        return [
            Diagnosis(
                "unqualified-remote-names",
                _t(
                    "diagnose.cause.unqualified", name=bare, schema=schemas[0], remote=remote_object
                ),
                evidence,
                [Fix(_t("diagnose.fix.qualify"))],
                CONFIRMED,
            )
        ]
    if conn is not None and not schemas:
        return [
            Diagnosis(
                "remote-table-missing",
                _t("diagnose.cause.remote_missing", name=name),
                evidence,
                [Fix(_t("diagnose.fix.import"), "supabase.import")],
                CONFIRMED,
            )
        ]
    return [
        Diagnosis(
            "unqualified-remote-names",
            _t("diagnose.cause.unqualified", name=bare, schema="?", remote=remote_object),
            evidence,
            [Fix(_t("diagnose.fix.qualify"))],
            LIKELY,
        )
    ]


def _collation(inv: _Investigation) -> list[Diagnosis]:
    text = inv.inp.text
    found = _COLLATION.search(text)
    evidence = [_t("diagnose.evidence.text", text=_excerpt(text))] if text else []
    name = found.group(1) if found else "?"
    missing_here: bool | None = None
    conn = inv.supabase()
    if conn is not None:
        try:
            if found:
                bare = name.split(".")[-1]
                missing_here = not conn.execute(
                    "SELECT EXISTS (SELECT 1 FROM pg_collation WHERE collname = %s)", (bare,)
                ).fetchone()[0]
                if missing_here:
                    evidence.append(_t("diagnose.evidence.collation_absent", name=bare))
            query = "SELECT datcollate FROM pg_database WHERE datname = current_database()"
            remote = conn.execute(query).fetchone()[0]
            local_conn = inv.local()
            local = local_conn.execute(query).fetchone()[0] if local_conn is not None else "?"
            evidence.append(_t("diagnose.evidence.collations", local=local, remote=remote))
        except Exception as exc:
            inv.skip(probes.skipped("collations", _t("probes.reason.error", detail=str(exc))))
    return [
        Diagnosis(
            "collation-mismatch",
            _t("diagnose.cause.collation", name=name),
            evidence,
            [Fix(_t("diagnose.fix.import_collate"), "supabase.import")],
            CONFIRMED if found and missing_here is not False else LIKELY,
        )
    ]


# -- capacity, exposure, platform --------------------------------------------------------------


def _too_many(inv: _Investigation) -> list[Diagnosis]:
    side = inv.side()
    lowered = inv.inp.lowered
    evidence = [_t("diagnose.evidence.text", text=_excerpt(inv.inp.text))] if inv.inp.text else []
    if side == SUPABASE:
        return [
            Diagnosis(
                "too-many-connections",
                _t("diagnose.cause.too_many_supabase"),
                evidence,
                [Fix(_t("diagnose.fix.supabase_connections"))],
                LIKELY,
            )
        ]
    if "for role" in lowered:
        return [
            Diagnosis(
                "reader-connection-limit",
                _t(
                    "diagnose.cause.role_limit",
                    role=inv.cfg.reader.name,
                    limit=inv.cfg.reader.connection_limit,
                ),
                evidence,
                [Fix(_t("diagnose.fix.connection_limit"), "local.reader-role")],
                CONFIRMED,
            )
        ]
    conn = inv.local()
    confidence = LIKELY
    if conn is not None:
        try:
            row = conn.execute(
                "SELECT current_setting('max_connections')::int,"
                " current_setting('superuser_reserved_connections')::int,"
                " (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'),"
                " (SELECT count(*) FROM pg_stat_activity WHERE usename = %s),"
                " (SELECT rolconnlimit FROM pg_roles WHERE rolname = %s)",
                (inv.cfg.reader.name, inv.cfg.reader.name),
            ).fetchone()
            max_c, reserved, used, by_reader, limit = row
            evidence.append(
                _t(
                    "diagnose.evidence.connections",
                    used=used,
                    max=max_c,
                    reserved=reserved,
                    reader=by_reader,
                    limit=limit if limit is not None else "-",
                )
            )
            if used >= max_c - reserved:
                confidence = CONFIRMED
            elif not inv.inp.text:
                return [_nothing(inv, evidence)]
            if limit is not None and limit >= 0 and by_reader >= limit:
                return [
                    Diagnosis(
                        "reader-connection-limit",
                        _t("diagnose.cause.role_limit", role=inv.cfg.reader.name, limit=limit),
                        evidence,
                        [Fix(_t("diagnose.fix.connection_limit"), "local.reader-role")],
                        CONFIRMED,
                    )
                ]
        except Exception as exc:
            inv.skip(probes.skipped("connections", _t("probes.reason.error", detail=str(exc))))
    return [
        Diagnosis(
            "too-many-connections",
            _t("diagnose.cause.too_many"),
            evidence,
            [Fix(_t("diagnose.fix.too_many"))],
            confidence,
        )
    ]


def _cgnat(inv: _Investigation) -> list[Diagnosis]:
    host = inv.cfg.exposure.public_host
    if not host:
        return [
            Diagnosis(
                "not-configured",
                _t("diagnose.cause.not_configured", key="exposure.public_host"),
                [],
                [Fix(_t("diagnose.fix.set_config", key="exposure.public_host"), "prereq.exposure")],
                CONFIRMED,
            )
        ]
    kind = probes.address_kind(host)
    evidence = _evidence(kind)
    if kind.outcome == "cgnat":
        return [
            Diagnosis(
                "cgnat",
                _t("diagnose.cause.cgnat", host=host),
                evidence,
                [Fix(_t("diagnose.fix.cgnat"), "prereq.exposure")],
                CONFIRMED,
            )
        ]
    if kind.outcome in ("private", "link-local") or (
        kind.outcome == "loopback" and not inv.cfg.sandbox
    ):
        return [
            Diagnosis(
                "private-address",
                _t("diagnose.cause.private", host=host, kind=kind.outcome),
                evidence,
                [Fix(_t("diagnose.fix.public_address"), "prereq.exposure")],
                CONFIRMED,
            )
        ]
    return [_nothing(inv, evidence)]


def _api_exposure(inv: _Investigation) -> list[Diagnosis]:
    conn = inv.supabase()
    if conn is None:
        return [_nothing(inv, [])]
    from wizard.steps.supabase_checks import lint_findings

    try:
        findings = [m for m in lint_findings(conn) if m.key.endswith("lint_0017")]
    except Exception as exc:
        inv.skip(probes.skipped("lints", _t("probes.reason.error", detail=str(exc))))
        return [_nothing(inv, [])]
    if not findings:
        return [_nothing(inv, [_t("diagnose.evidence.no_lint")])]
    tables = [str(m.params.get("table", "")) for m in findings]
    return [
        Diagnosis(
            "foreign-table-in-api",
            _t("diagnose.cause.api_exposure", tables=", ".join(tables)),
            findings,
            [Fix(_t("diagnose.fix.private_schema"), "supabase.import")],
            CONFIRMED,
        )
    ]


def _fdw_library(inv: _Investigation) -> list[Diagnosis]:
    side = inv.side()
    evidence = [_t("diagnose.evidence.text", text=_excerpt(inv.inp.text))] if inv.inp.text else []
    fixes = (
        [Fix(_t("diagnose.fix.restart"), "local.reload")]
        if side == DW_LOCAL
        else [Fix(_t("diagnose.fix.restart_supabase"))]
    )
    proved = "undefined symbol" in inv.inp.lowered and "could not load library" in inv.inp.lowered
    return [
        Diagnosis(
            "fdw-library-mismatch",
            _t("diagnose.cause.library"),
            evidence,
            fixes,
            CONFIRMED if proved else LIKELY,
        )
    ]


def _transaction_pooler(inv: _Investigation) -> list[Diagnosis]:
    evidence = [_t("diagnose.evidence.text", text=_excerpt(inv.inp.text))] if inv.inp.text else []
    evidence.append(_t("diagnose.evidence.supabase_port", port=inv.cfg.supabase.port))
    proved = "6543" in inv.inp.text or inv.cfg.supabase.port == 6543
    return [
        Diagnosis(
            "transaction-pooler",
            _t("diagnose.cause.transaction_pooler"),
            evidence,
            [Fix(_t("diagnose.fix.session_pooler_port"))],
            CONFIRMED if proved else POSSIBLE,
        )
    ]


def _nothing(inv: _Investigation, evidence: list[Message]) -> Diagnosis:
    return Diagnosis(NOTHING_FOUND, _t("diagnose.cause.nothing"), evidence, [], CONFIRMED)


def _unexplained(inv: _Investigation, evidence: list[Message]) -> Diagnosis:
    if inv.inp.text:
        evidence = [_t("diagnose.evidence.text", text=_excerpt(inv.inp.text)), *evidence]
    return Diagnosis(
        "unrecognized",
        _t("diagnose.cause.unrecognized"),
        evidence,
        [Fix(_t("diagnose.fix.status"))],
        POSSIBLE,
    )


def _excerpt(text: str, limit: int = 400) -> str:
    text = redact(" ".join(text.split()))
    return text if len(text) <= limit else text[: limit - 1] + "…"


_HANDLERS: dict[str, Callable[[_Investigation], list[Diagnosis]]] = {
    "cannot-connect": _cannot_connect,
    "password-failed": _password_failed,
    "permission-denied": _permission_denied,
    "high-latency": _latency,
    "no-hba-entry": _no_hba_entry,
    "ssl": _ssl,
    "password-required": _password_required,
    "network-unreachable": _network_unreachable,
    "transaction-pooler": _transaction_pooler,
    "dns": _dns,
    "collation": _collation,
    "statement-timeout": _statement_timeout,
    "unqualified-names": _unqualified,
    "too-many-connections": _too_many,
    "cgnat": _cgnat,
    "api-exposure": _api_exposure,
    "fdw-library": _fdw_library,
}


# ---------------------------------------------------------------------------------------------
# Entry points


def _run(ctx: Any, inp: _Input) -> list[Diagnosis]:
    found = _HOST_PORT.search(inp.text)
    if found:
        inp.host = found.group(1)
        inp.address = found.group(2) or (found.group(1) if probes.is_ip(found.group(1)) else None)
        inp.port = int(found.group(3))
    inv = _Investigation(ctx, inp)
    family = _family(inp)
    try:
        result = [_unexplained(inv, [])] if family is None else _HANDLERS[family](inv)
    finally:
        inv.close()
    for diagnosis in result:
        for skip in inv.skips:
            if skip not in diagnosis.evidence:
                diagnosis.evidence.append(skip)
    # Most likely first: confirmed before likely before possible, problems before "nothing".
    result.sort(key=lambda d: (not d.problem, _RANK.get(d.confidence, 3)))
    return result


def diagnose(
    ctx: Any,
    *,
    error: str | BaseException | None = None,
    sqlstate: str | None = None,
    symptom: str | None = None,
    step_id: str | None = None,
) -> list[Diagnosis]:
    """Likely causes of ``error`` (text or exception) / ``sqlstate`` / ``symptom`` (one of
    :data:`SYMPTOM_IDS`), most likely first; ``step_id`` (the checklist step that failed) helps
    tell which connection the error is about. Never raises for missing secrets, connections
    or config: those probes are reported as skipped in the evidence."""
    if symptom is not None and symptom not in SYMPTOM_IDS:
        raise ValueError(f"unknown symptom {symptom!r}; known: {', '.join(SYMPTOM_IDS)}")
    text, found_state = _text_of(error)
    inp = _Input(text, sqlstate or found_state, symptom, step_id)
    return _run(ctx, inp)


def diagnose_config(messages: list[Message]) -> list[Diagnosis]:
    """Diagnoses for a config that does not load (no context exists yet)."""
    found: list[Diagnosis] = []
    for message in messages:
        if message.key == "config.err.transaction_pooler":
            found.append(
                Diagnosis(
                    "transaction-pooler",
                    _t("diagnose.cause.transaction_pooler"),
                    [message],
                    [Fix(_t("diagnose.fix.session_pooler_port"))],
                    CONFIRMED,
                )
            )
    return found
