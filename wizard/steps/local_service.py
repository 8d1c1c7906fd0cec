"""local.reload and local.firewall: make the edited files take effect, then open the port.

A restart is checked before it happens (`postgres -C` reads the new files as the service
account), and if the server does not come back every backup of this run is restored and the
server started again, with the server's own log shown.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import Any

from wizard import discovery
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
from wizard.fileio import atomic_write_bytes
from wizard.i18n import Message
from wizard.steps.local_conf import same_value
from wizard.steps.local_files import RELOAD_STEP, backups_of_run, hba_judge

FILE_STEPS = ("local.listen", "local.tls", "local.hba")
RESTART_SETTINGS = ("listen_addresses", "port")


def _file_values(conn: Any) -> dict[str, str]:
    from wizard.pgfiles.judge import file_settings

    values: dict[str, str] = {}
    for row in file_settings(conn):  # ordered by seqno: the last occurrence wins
        if row.name and row.setting is not None:
            values[row.name.lower()] = row.setting
    return values


def _bin_dir(ctx: Any) -> Path | None:
    configured = ctx.config.local.bin_dir
    if configured != "auto":
        return Path(configured)
    from wizard.pgcluster import ClusterError, find_pg_binaries

    try:
        return find_pg_binaries().bin_dir
    except ClusterError:
        return None


def _owner(ctx: Any, data_dir: Path) -> str | None:
    configured = ctx.config.local.os_user
    if configured != "auto":
        return str(configured)
    if os.name != "posix":
        return None
    import pwd

    return pwd.getpwuid(data_dir.stat().st_uid).pw_name


def target_port(ctx: Any, facts: discovery.LocalFacts) -> int:
    listen_port = ctx.config.exposure.listen_port
    return facts.port if listen_port == "auto" else int(listen_port)


def service_control(ctx: Any, facts: discovery.LocalFacts, port: int | None = None) -> Any:
    """The server's service control; ``port`` is where it must accept after a restart."""
    from wizard.platform import service_control_for

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
    requires = ("prereq.local-connection",)
    follows_changes_of = FILE_STEPS

    def _state(self, ctx: Any) -> tuple[discovery.LocalFacts, list[str], list[str]]:
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

    def check(self, ctx: Any) -> CheckResult:
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

    def plan(self, ctx: Any) -> Plan:
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

    def apply(self, ctx: Any, plan: Plan) -> ApplyResult:
        result = ApplyResult()
        if any(isinstance(a, CommandAction) for a in plan.actions):
            self._restart(ctx, result)
        else:
            ctx.local_conn().execute("SELECT pg_reload_conf()")
            time.sleep(0.5)  # the postmaster re-reads the files asynchronously
            result.changes.append(Message("step.local.reload.reloaded"))
        ctx.remember(RELOAD_STEP, requested_by=None)
        return result

    def undo(self, ctx: Any) -> ApplyResult:
        """After the file steps restored their originals: make the server run them again."""
        checked = self.check(ctx)
        if checked.status is Status.DONE:
            return ApplyResult()
        return self.apply(ctx, self.plan(ctx))

    def _restart(self, ctx: Any, result: ApplyResult) -> None:
        from wizard.pgfiles.judge import PostgresCheckFailed, postgres_check
        from wizard.platform import PlatformError

        facts = discovery.discover_local(ctx.local_conn())
        bins = _bin_dir(ctx)
        owner = _owner(ctx, facts.data_directory)
        if bins is not None:
            # The new files, read exactly as the server will read them at start.
            ctx.progress(self.id, Message("step.local.reload.precheck"))
            for param in RESTART_SETTINGS:
                try:
                    postgres_check(bins, facts.data_directory, param, run_as=owner)
                except PostgresCheckFailed as exc:
                    raise StepError(
                        exc.message, Message("step.local.reload.not_restarted")
                    ) from None
        # The port the files will give the server (after an undo it is the old one again).
        file_port = _file_values(ctx.local_conn()).get("port")
        control = service_control(ctx, facts, int(file_port) if file_port else facts.port)
        ctx.drop_local_conn()
        ctx.progress(self.id, Message("step.local.reload.restarting", {"target": control.target}))
        try:
            control.restart()
        except PlatformError as exc:
            log = control.log_tail() or ""
            restored = self._roll_back(ctx, control)
            raise StepError(
                Message(
                    "step.local.reload.failed",
                    {"error": exc.message.render("en"), "log": log[-1500:]},
                ),
                Message("step.local.reload.restored", {"files": ", ".join(restored) or "-"}),
            ) from None
        result.changes.append(Message("step.local.reload.restarted", {"target": control.target}))

    def _roll_back(self, ctx: Any, control: Any) -> list[str]:
        """Put every file this run changed back as it was, and start the server again."""
        restored = []
        for path, backup in backups_of_run(ctx, FILE_STEPS):
            if backup.exists():
                atomic_write_bytes(path, backup.read_bytes())
                restored.append(str(path))
        ctx.progress(self.id, Message("step.local.reload.rolling_back"))
        with contextlib.suppress(Exception):  # the original failure is the one to report
            control.start()
        return restored

    def verify(self, ctx: Any) -> CheckResult:
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

    def _prove_tls(self, ctx: Any, facts: discovery.LocalFacts, checked: CheckResult) -> None:
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
    requires = ("prereq.local-connection",)

    def _plan(self, ctx: Any) -> tuple[Any, Any] | None:
        from wizard.exposure import classify_ip
        from wizard.platform import current

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

    def check(self, ctx: Any) -> CheckResult:
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
        if fw_plan.nothing_to_do:
            return CheckResult(Status.DONE, Message("step.local.firewall.ok"), details=details)
        return CheckResult(Status.PENDING, Message("step.local.firewall.pending"), details=details)

    def plan(self, ctx: Any) -> Plan:
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

    def apply(self, ctx: Any, plan: Plan) -> ApplyResult:
        planned = self._plan(ctx)
        result = ApplyResult()
        if planned is None:
            return result
        firewall, fw_plan = planned
        firewall.apply(fw_plan)
        result.changes = [a.description for a in plan.actions if isinstance(a, CommandAction)]
        ctx.remember(self.id, created=True)
        return result

    def undo(self, ctx: Any) -> ApplyResult:
        from wizard.platform import current

        result = ApplyResult()
        if not ctx.recall(self.id).get("created"):
            return result
        firewall = current().firewall()
        removal = firewall.remove_rule()
        firewall.apply(removal)
        result.changes = [a.description for a in removal.actions() if isinstance(a, CommandAction)]
        ctx.remember(self.id, created=None)
        return result
