"""local.reload and local.firewall: make the edited files take effect, then open the port.

A restart is checked before it happens (`postgres -C` — first argument, as an elevated
process must — reads the new postgresql.conf and its includes with the server's own binaries),
and if the server does not come back every backup of this run is restored and the
server started again, with the server's own log shown.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wizard import faults
from wizard.dwhost import discovery
from wizard.engine import (
    ApplyResult,
    CheckResult,
    CommandAction,
    NoteAction,
    Plan,
    Risk,
    SqlAction,
    Status,
    Step,
    StepError,
)
from wizard.i18n import Message
from wizard.plan import SettingRisk, any_open_network
from wizard.step_context import StepContext
from wizard.steps.local_conf import same_value
from wizard.steps.local_files import (
    RELOAD_STEP,
    conf_judge,
    delete_unused,
    hba_judge,
    journal_change,
    originals,
)

FILE_STEPS = ("local.listen", "local.tls", "local.hba")
RESTART_SETTINGS = ("listen_addresses", "port")


def _file_values(conn: Any) -> dict[str, str]:
    from wizard.dwhost.pgfiles.judge import file_settings

    values: dict[str, str] = {}
    for row in file_settings(conn):  # ordered by seqno: the last occurrence wins
        if row.name and row.setting is not None:
            values[row.name.lower()] = row.setting
    return values


def _bin_dir(ctx: StepContext, data_dir: Path | None = None) -> Path | None:
    configured = ctx.config.local.bin_dir
    if configured != "auto":
        return Path(configured)
    from wizard.testbed.pgcluster import ClusterError, find_pg_binaries

    if data_dir is not None:  # the server's own binaries (its service's, its major's)
        from wizard.dwhost.platform import server_bin_dir

        own = server_bin_dir(str(data_dir), service=ctx.config.local.service)
        if own:
            return Path(own)

    try:
        return find_pg_binaries().bin_dir
    except ClusterError:
        return None


def _owner(ctx: StepContext, data_dir: Path) -> str | None:
    configured = ctx.config.local.os_user
    if configured != "auto":
        return str(configured)
    if os.name != "posix":
        return None
    import pwd

    return pwd.getpwuid(data_dir.stat().st_uid).pw_name


@dataclass
class _BringBack:
    """How an attempt to start the server again went."""

    up: bool = False
    restored: list[str] = field(default_factory=list)
    tried_previous: bool = False
    error: str = ""
    seconds: float = 0.0
    log: str = ""


def _changed(files: dict[Path, bytes | None]) -> dict[Path, bytes | None]:
    """The entries of ``files`` that differ from what is on disk now."""
    return {path: data for path, data in files.items() if _read(path) != data}


def _same(restored: list[str], files: dict[Path, bytes | None]) -> bool:
    return all(Path(p) in files and _read(Path(p)) == files[Path(p)] for p in restored)


def _read(path: Path) -> bytes | None:
    return path.read_bytes() if path.exists() else None


def target_port(ctx: StepContext, facts: discovery.LocalFacts) -> int:
    listen_port = ctx.config.exposure.listen_port
    return facts.port if listen_port == "auto" else int(listen_port)


def service_control(ctx: StepContext, facts: discovery.LocalFacts, port: int | None = None) -> Any:
    """The server's service control; ``port`` is where it must accept after a restart."""
    from wizard.dwhost.platform import service_control_for

    local = ctx.config.local
    return service_control_for(
        control=local.control,
        service=local.service,
        data_dir=str(facts.data_directory) if local.data_dir == "auto" else local.data_dir,
        bin_dir=local.bin_dir,
        os_user=local.os_user,
        port=port if port is not None else target_port(ctx, facts),
    )


class Reload(Step):
    """Runbook: "Reiniciar PostgreSQL" — only when needed, and never a blind restart."""

    id = "local.reload"
    phase = "local"
    requires = ("prereq.elevation",)  # the service: only a process allowed to restart it
    follows_changes_of = FILE_STEPS
    settings_keys = ("local.control", "local.service")
    risks = frozenset({Risk.RESTART})

    def _state(self, ctx: StepContext) -> tuple[discovery.LocalFacts, list[str], list[str]]:
        """(facts, settings that need a restart, reasons for a reload)."""
        conn = ctx.local_conn()
        facts = discovery.discover_local(ctx.local_conn())
        files = _file_values(conn)
        running = {
            "listen_addresses": facts.listen_addresses,
            "port": str(facts.port),
            "ssl": facts.ssl,
            "ssl_cert_file": facts.ssl_cert_file,
            "ssl_key_file": facts.ssl_key_file,
        }
        restart = sorted(
            set(facts.pending_restart)
            | {
                name
                for name in RESTART_SETTINGS
                if name in files and not same_value(name, running[name], files[name])
            }
        )
        reload_reasons = [
            name
            for name in discovery.MANAGED_SETTINGS
            if name not in RESTART_SETTINGS
            and name in files
            and not same_value(name, running[name], files[name])
        ]
        reload_reasons += ctx.recall(RELOAD_STEP).get("requested_by", [])
        return facts, restart, reload_reasons

    def check(self, ctx: StepContext) -> CheckResult:
        facts, restart, reload_reasons = self._state(ctx)
        if restart:
            return CheckResult(
                Status.PENDING,
                Message("step.local.reload.restart_needed", {"settings": ", ".join(restart)}),
            )
        if reload_reasons:
            return CheckResult(
                Status.PENDING,
                Message("step.local.reload.reload_needed", {"reasons": ", ".join(reload_reasons)}),
            )
        return CheckResult(
            Status.DONE,
            Message(
                "step.local.reload.ok",
                {"addresses": facts.listen_addresses, "port": facts.port, "ssl": facts.ssl},
            ),
        )

    def plan(self, ctx: StepContext) -> Plan:
        facts, restart, reload_reasons = self._state(ctx)
        plan = Plan(self.id)
        if restart:
            control = service_control(ctx, facts)
            plan.risks.add(Risk.RESTART)
            plan.actions.append(NoteAction(Message("step.local.reload.precheck")))
            plan.actions.append(control.restart_action())
            plan.actions.append(NoteAction(Message("step.local.reload.rollback_note")))
        elif reload_reasons:
            plan.actions.append(
                SqlAction("local", "SELECT pg_reload_conf()", Message("step.local.reload.reload"))
            )
        return plan

    def apply(self, ctx: StepContext, plan: Plan) -> ApplyResult:
        result = ApplyResult()
        if any(isinstance(a, CommandAction) for a in plan.actions):
            self._restart(ctx, result)
        else:
            # A file with errors is not applied at all ("contains errors; no changes were
            # applied"), yet pg_reload_conf() returns true: judge before and after.
            problem = self._judge(ctx)
            if problem:
                raise StepError(
                    Message("step.local.reload.rejected", {"errors": problem}),
                    Message("step.local.reload.rejected.fix"),
                )
            ctx.local_conn().execute("SELECT pg_reload_conf()")
            time.sleep(0.5)  # the postmaster re-reads the files asynchronously
            result.changes.append(Message("step.local.reload.reloaded"))
        ctx.remember(RELOAD_STEP, requested_by=None)
        return result

    def undo(self, ctx: StepContext) -> ApplyResult:
        """After the file steps restored their originals: make the server run them again —
        started if it is down, reloaded or restarted if not — and judge the result."""
        return self.settle(ctx, {}, restore=False, make_effective=True)

    # -- making the server run its files, judged -------------------------------------------------

    def settle(
        self,
        ctx: StepContext,
        files: dict[Path, bytes | None],
        *,
        restore: bool,
        make_effective: bool | None = None,
    ) -> ApplyResult:
        """After a run died midway (or an undo): make the server run the files on disk.

        ``restore``: first put ``files`` (each file's bytes before that run) back. Without it,
        the current files are tried first and ``files`` only if the server does not start on
        them. A server that is down is always started (checked by a login and by PostgreSQL's
        own judgement of its files), or a StepError says loudly that it is down. A running
        server is reloaded or restarted only when ``make_effective`` (default: ``restore``,
        which the operator confirmed): finishing a run leaves that to the steps, which ask."""
        if make_effective is None:
            make_effective = restore
        from wizard.journal import put_back

        result = ApplyResult()
        if restore and files:
            for path in files:
                journal_change(ctx, path)
            for restored in put_back(files):
                result.changes.append(Message("step.local.files.restored", {"path": restored}))
        ctx.drop_local_conn()
        if self._accepting(ctx):
            if not make_effective:
                return result
            checked = self.check(ctx)
            if checked.status is not Status.DONE:
                applied = self.apply(ctx, self.plan(ctx))
                result.changes.extend(applied.changes)
            problem = self._judge(ctx)
            if problem:
                raise StepError(
                    Message("step.local.reload.rejected", {"errors": problem}),
                    Message("step.local.reload.rejected.fix"),
                )
            self._delete_unused(ctx, result)
            return result
        # The server is down (a restart that died with its run, or stopped by hand).
        control = self._offline_control(ctx)
        candidates = [{}] if restore or not files else [{}, files]
        back = self._start_judged(ctx, control, candidates, self._known_data_dir(ctx))
        result.changes.extend(
            Message("step.local.files.restored", {"path": p}) for p in back.restored
        )
        if not back.up:
            self._keep_for_recovery(ctx)
            raise StepError(self._down_message(back), Message("step.local.reload.down.fix"))
        result.changes.append(Message("step.local.reload.started", {"target": control.target}))
        self._delete_unused(ctx, result)
        return result

    @staticmethod
    def _delete_unused(ctx: StepContext, result: ApplyResult) -> None:
        """The server runs its files without error: delete what an undo left for now."""
        changes, notes = delete_unused(ctx)
        result.changes.extend(changes)
        if notes:
            result.notes.extend(notes)
            result.incomplete = True

    def _accepting(self, ctx: StepContext) -> bool:
        from wizard.dwhost.platform.service import probe_postgres

        local = ctx.config.local
        ports = [local.port]
        listen_port = ctx.config.exposure.listen_port
        if listen_port != "auto" and listen_port != local.port:
            ports.append(int(listen_port))
        host = "127.0.0.1" if local.host in ("localhost", "::1") else local.host
        return any(probe_postgres(host, port, timeout=3.0) for port in ports)

    def _judge(self, ctx: StepContext) -> str:
        """PostgreSQL's own verdict on the files it runs: '' when it sees no error."""
        conn = ctx.local_conn()
        return "; ".join(conf_judge(conn) + hba_judge(conn))

    def _known_data_dir(self, ctx: StepContext) -> Path | None:
        """The data dir from the config, else the one the last restart recorded."""
        configured = ctx.config.local.data_dir
        if configured != "auto":
            return Path(configured)
        recorded = ctx.recall(self.id).get("data_directory")
        return Path(recorded) if recorded else None

    def _offline_control(self, ctx: StepContext) -> Any:
        """Service control without a connection to ask the server where its files are."""
        from wizard.dwhost.platform import service_control_for

        local = ctx.config.local
        data_dir = self._known_data_dir(ctx)
        return service_control_for(
            control=local.control,
            service=local.service,
            data_dir=str(data_dir) if data_dir else "auto",
            bin_dir=local.bin_dir,
            os_user=local.os_user,
            port=local.port,
        )

    def _port_of_files(self, ctx: StepContext, data_dir: Path, fallback: int | None) -> int | None:
        """The port the files on disk will give the server (``postgres -C port``)."""
        from wizard.dwhost.pgfiles.judge import PostgresCheckFailed, postgres_check

        bins = _bin_dir(ctx, data_dir)
        if bins is None:
            return fallback
        config_file = ctx.recall(self.id).get("config_file")  # Debian: outside the data dir
        try:
            value = postgres_check(
                bins, data_dir, "port", run_as=_owner(ctx, data_dir), config_file=config_file
            )
            return int(value)
        except (PostgresCheckFailed, ValueError, OSError):
            return fallback

    def _start_judged(
        self,
        ctx: StepContext,
        control: Any,
        candidates: list[dict[Path, bytes | None]],
        data_dir: Path | None,
    ) -> _BringBack:
        """Start the server on each candidate set of files in turn ({} = the files as they
        are) until it runs and PostgreSQL reports no error in them."""
        from wizard.dwhost.platform import PlatformError
        from wizard.journal import put_back

        back = _BringBack()
        for files in candidates:
            if files:
                for path in files:
                    journal_change(ctx, path)
                back.restored += [p for p in put_back(files) if p not in back.restored]
                back.tried_previous = True
            if data_dir is not None:
                control.port = self._port_of_files(ctx, data_dir, control.port)
            started = time.monotonic()
            try:
                control.start()
            except PlatformError as exc:
                back.error = exc.message.render("en")
                back.seconds = time.monotonic() - started
                back.log = control.log_tail() or ""
                if not self._accepting(ctx):
                    continue
            ctx.drop_local_conn()
            try:
                problem = self._judge(ctx)
            except Exception as exc:  # up but no login: not running usefully
                back.error = str(exc)
                continue
            if problem:
                back.error = problem
                continue
            back.up = True
            return back
        return back

    def _down_message(self, back: _BringBack) -> Message:
        return Message(
            "step.local.reload.down",
            {
                "error": back.error or "-",
                "seconds": round(back.seconds, 1),
                "log": (back.log or "-")[-1500:],
                "files": ", ".join(back.restored) or "-",
            },
        )

    @staticmethod
    def _keep_for_recovery(ctx: StepContext) -> None:
        journal = ctx.journal
        if journal is not None:
            journal.keep_for_recovery()

    def _restart(self, ctx: StepContext, result: ApplyResult) -> None:
        from wizard.dwhost.pgfiles.judge import PostgresCheckFailed, postgres_check
        from wizard.dwhost.platform import PlatformError

        facts = discovery.discover_local(ctx.local_conn())
        bins = _bin_dir(ctx, facts.data_directory)
        owner = _owner(ctx, facts.data_directory)
        if bins is not None:
            # The new files, read exactly as the server will read them at start.
            ctx.progress(self.id, Message("step.local.reload.precheck"))
            for param in RESTART_SETTINGS:
                try:
                    postgres_check(
                        bins,
                        facts.data_directory,
                        param,
                        run_as=owner,
                        config_file=facts.config_file,
                    )
                except PostgresCheckFailed as exc:
                    raise StepError(
                        exc.message, Message("step.local.reload.not_restarted")
                    ) from None
        # The port the files will give the server (after an undo it is the old one again).
        file_port = _file_values(ctx.local_conn()).get("port")
        control = service_control(ctx, facts, int(file_port) if file_port else facts.port)
        # Known-good files to fall back on: as before this run, else as before the wizard.
        journal = ctx.journal
        pre_run = journal.pre_run() if journal is not None else {}
        first_edits: dict[Path, bytes | None] = dict(originals(ctx, FILE_STEPS))
        ctx.remember(
            self.id,
            data_directory=str(facts.data_directory),
            config_file=str(facts.config_file),
        )
        if journal is not None:
            journal.set_phase("restart", target=control.target)
        ctx.drop_local_conn()
        ctx.progress(self.id, Message("step.local.reload.restarting", {"target": control.target}))
        started = time.monotonic()
        faults.point("restart.before")
        try:
            control.restart()
            ctx.drop_local_conn()
            problem = self._judge(ctx)
            if problem:
                raise StepError(
                    Message("step.local.reload.rejected", {"errors": problem}),
                    Message("step.local.reload.rejected.fix"),
                )
        except PlatformError as exc:
            seconds = time.monotonic() - started
            faults.point("restart.failed")
            log = control.log_tail() or ""
            ctx.progress(self.id, Message("step.local.reload.rolling_back"))
            candidates = [c for c in (_changed(pre_run), _changed(first_edits)) if c]
            if len(candidates) == 2 and candidates[0] == candidates[1]:
                candidates.pop()
            back = self._start_judged(ctx, control, candidates or [{}], facts.data_directory)
            failed = Message(
                "step.local.reload.failed",
                {
                    "error": exc.message.render("en"),
                    "seconds": round(seconds, 1),
                    "log": log[-1500:],
                },
            )
            if not back.up:
                self._keep_for_recovery(ctx)
                raise StepError(self._down_message(back), failed) from None
            if journal is not None:
                journal.set_phase(None)
            which = "pre_run" if back.restored and _same(back.restored, pre_run) else "original"
            raise StepError(
                failed,
                Message(
                    f"step.local.reload.restored_{which}",
                    {"files": ", ".join(back.restored) or "-"},
                ),
            ) from None
        if journal is not None:
            journal.set_phase(None)
        result.changes.append(Message("step.local.reload.restarted", {"target": control.target}))

    def verify(self, ctx: StepContext) -> CheckResult:
        checked = self.check(ctx)
        if checked.status is not Status.DONE:
            return checked
        conn = ctx.local_conn()
        errors = hba_judge(conn)
        if errors:
            return CheckResult(
                Status.FAILED,
                Message("step.local.hba.errors"),
                details=[Message("step.local.hba.server_error", {"error": e}) for e in errors],
            )
        facts = discovery.discover_local(conn)
        if facts.ssl == "on":
            self._prove_tls(ctx, facts, checked)
        return checked

    def _prove_tls(
        self, ctx: StepContext, facts: discovery.LocalFacts, checked: CheckResult
    ) -> None:
        """A real sslmode=require login: the proof that TLS works, not the setting."""
        with ctx.open_local(port=facts.port, sslmode="require") as conn:
            row = conn.execute(
                "SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
            ).fetchone()
        if not row or not row[0]:
            raise StepError(Message("step.local.reload.tls_not_used"))
        checked.details.append(Message("step.local.reload.tls_proven", {"version": row[1]}))


class Firewall(Step):
    """Runbook: "Configurar firewall/NAT" (the router's port forward stays the operator's)."""

    id = "local.firewall"
    phase = "local"
    requires = ("prereq.elevation",)  # a firewall rule: administrators only
    settings_keys = ("exposure.listen_port", "exposure.allowed_cidrs")
    risks = frozenset({Risk.NETWORK})
    setting_risks = (
        SettingRisk("exposure.allowed_cidrs", Risk.NETWORK, "open_cidr", any_open_network),
    )

    def _plan(self, ctx: StepContext) -> tuple[Any, Any] | None:
        from wizard.dwhost.exposure import classify_ip
        from wizard.dwhost.platform import current

        exposure = ctx.config.exposure
        listen = discovery.normalize_listen(exposure.listen_addresses)
        only_loopback = listen and all(
            a == "localhost" or ((a[0].isdigit() or ":" in a) and classify_ip(a) == "loopback")
            for a in listen
        )
        if only_loopback or not exposure.allowed_cidrs:
            return None
        facts = discovery.discover_local(ctx.local_conn())
        firewall = current().firewall()
        return firewall, firewall.plan_rule(target_port(ctx, facts), exposure.allowed_cidrs)

    def check(self, ctx: StepContext) -> CheckResult:
        planned = self._plan(ctx)
        if planned is None:
            return CheckResult(Status.NOT_APPLICABLE, Message("step.local.firewall.loopback"))
        _firewall, fw_plan = planned
        details = list(fw_plan.notes) + list(fw_plan.warnings)
        details.append(Message("step.local.firewall.router"))
        if not fw_plan.applicable:
            return CheckResult(
                Status.NOT_APPLICABLE, Message("step.local.firewall.none"), details=details
            )
        if fw_plan.policy_blocked:
            # A GPO ignores local rules on the network's profile: the rule would be inert.
            blocked = [w for w in fw_plan.warnings if w.key.endswith("gpo_ignores_local_rules")]
            return CheckResult(Status.FAILED, blocked[0], details=details)
        if fw_plan.nothing_to_do:
            return CheckResult(Status.DONE, Message("step.local.firewall.ok"), details=details)
        return CheckResult(Status.PENDING, Message("step.local.firewall.pending"), details=details)

    def plan(self, ctx: StepContext) -> Plan:
        planned = self._plan(ctx)
        plan = Plan(self.id)
        if planned is None:
            return plan
        _firewall, fw_plan = planned
        plan.actions.extend(fw_plan.actions())
        plan.warnings.extend(fw_plan.warnings)
        if fw_plan.argv_list:
            plan.risks.add(Risk.NETWORK)
        return plan

    def apply(self, ctx: StepContext, plan: Plan) -> ApplyResult:
        planned = self._plan(ctx)
        result = ApplyResult()
        if planned is None:
            return result
        firewall, fw_plan = planned
        firewall.apply(fw_plan)
        result.changes = [a.description for a in plan.actions if isinstance(a, CommandAction)]
        ctx.remember(self.id, created=True)
        return result

    def undo_says(self, ctx: StepContext, memory: dict[str, Any]) -> list[Message]:
        return self.said_if_created(memory, "undo.preview.drop.firewall", "-")

    def undo(self, ctx: StepContext) -> ApplyResult:
        from wizard.dwhost.platform import current

        result = ApplyResult()
        if not ctx.recall(self.id).get("created"):
            return result
        firewall = current().firewall()
        removal = firewall.remove_rule()
        firewall.apply(removal)
        result.changes = [a.description for a in removal.actions() if isinstance(a, CommandAction)]
        ctx.remember(self.id, created=None)
        return result
