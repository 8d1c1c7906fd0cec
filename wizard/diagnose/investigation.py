"""One investigation: the context, the connections opened so far, the probes already run, and
the reasons probes were skipped. It also works out which login an error is about (the side)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from wizard.diagnose.classify import HBA_TEXT, USER, Input
from wizard.diagnose.core import msg, pasted
from wizard.errors import StepError
from wizard.i18n import Message
from wizard.measure import probes
from wizard.measure.probes import ProbeResult
from wizard.redact import redact
from wizard.step_context import StepContext

# Sides: which login the error is about.
DW_LOCAL = "dw-local"  # the wizard's superuser login to the DW
FDW = "fdw"  # Supabase's login to the DW as the reader, through the foreign server
SUPABASE = "supabase"  # the wizard's login to Supabase


@dataclass
class Endpoint:
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


class Investigation:
    def __init__(self, ctx: StepContext, inp: Input) -> None:
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
        try:
            conn = opener()
        except StepError as exc:
            reason = exc.message
        except Exception as exc:  # a probe never crashes the diagnosis
            reason = msg("probes.reason.error", detail=redact(f"{type(exc).__name__}: {exc}"))
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
            self.skip(probes.skipped("supabase-connection", msg("probes.reason.no_supabase_host")))
            return None
        return self._conn("supabase-connection", self.ctx.supabase_conn)

    def secret(self, name: str) -> str | None:
        from wizard.secrets import SecretMissing

        try:
            return str(self.ctx.secrets.get(name))
        except SecretMissing as exc:
            self.skip(probes.skipped("secret " + name, exc.message))
        except Exception as exc:
            self.probe_failed("secret " + name, exc)
        return None

    # -- which login -------------------------------------------------------------------------

    def endpoint(self, side: str) -> Endpoint:
        cfg = self.cfg
        if side == SUPABASE:
            s = cfg.supabase
            return Endpoint(side, s.host, s.port, s.database, s.user, "supabase-db", s.sslmode)
        if side == FDW:
            tls = cfg.exposure.tls.enabled and cfg.exposure.hba_connection_type == "hostssl"
            return Endpoint(
                side,
                cfg.exposure.public_host,
                cfg.exposure.public_port,
                cfg.local.database,
                cfg.reader.name,
                "reader",
                "require" if tls else "prefer",
            )
        lc = cfg.local
        return Endpoint(
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
        for pattern in (HBA_TEXT, USER):
            found = pattern.search(text)
            if found:
                user = found.group(2) if pattern is HBA_TEXT else found.group(1)
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
                self.probe_failed("hba", exc)
                return None
        data_dir = self.cfg.local.data_dir
        if data_dir and data_dir != "auto":
            from pathlib import Path

            return str(Path(data_dir) / "pg_hba.conf")
        self.skip(probes.skipped("hba", msg("probes.reason.no_hba_path")))
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
            self.probe_failed("foreign-server", exc)
            return None
        if found is None:
            return None
        return found[1].get(name)

    def fdw_login(self, role: str) -> ProbeResult | None:
        """Supabase's login to the DW through the foreign server as ``role`` (once per role)."""
        if role in self.fdw_results:
            return self.fdw_results[role]
        conn = self.supabase()
        if conn is None:
            return None
        server = self.cfg.fdw.server_name
        result = probes.guarded("fdw", lambda: probes.fdw_login(conn, server, role))
        self.skip(result)
        self.fdw_results[role] = None if result.skipped else result
        return self.fdw_results[role]

    # -- what goes into the evidence -------------------------------------------------------------

    def pasted(self) -> list[Message]:
        """The operator's error text as evidence (nothing when a symptom was picked)."""
        return pasted(self.inp.text)

    def probe_failed(self, probe: str, exc: Exception) -> None:
        """A probe that raised: reported as skipped, with the error (never a crash)."""
        self.skip(probes.skipped(probe, msg("probes.reason.error", detail=redact(str(exc)))))

    def close(self) -> None:
        self._conns.clear()  # connections belong to the context, which closes them
