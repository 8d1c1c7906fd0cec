"""local.listen and local.tls: postgresql.conf settings (runbook 1.1), edited like a DBA would.

Only the lines that must change are touched (the last occurrence, where PostgreSQL reads it:
an included file or postgresql.auto.conf when that is where the value in force lives).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from wizard import faults
from wizard.dwhost import discovery
from wizard.engine import (
    ApplyResult,
    CheckResult,
    FileEdit,
    GeneratedFile,
    NoteAction,
    Plan,
    SqlAction,
    Status,
    Step,
    StepError,
)
from wizard.fileio import atomic_write_bytes
from wizard.i18n import Message
from wizard.plan import Risk, SettingRisk, is_value
from wizard.step_context import StepContext
from wizard.steps.local_files import (
    TRUE_WORDS,
    conf_judge,
    defer_delete,
    journal_change,
    read_dw_file,
    request_reload,
    restore_originals,
    still_used,
    undoing_reload_too,
    write_judged,
)

_FALSE = {"off", "false", "no", "0"}

SELF_SIGNED_CERT = "fdw-wizard-server.crt"
SELF_SIGNED_KEY = "fdw-wizard-server.key"
RENEW_DAYS = 30


def same_value(name: str, current: str | None, wanted: str) -> bool:
    if current is None:
        return False
    if name == "listen_addresses":
        return discovery.normalize_listen(current) == discovery.normalize_listen(wanted)
    low, want = current.strip().lower(), wanted.strip().lower()
    if want in TRUE_WORDS | _FALSE:
        return (low in TRUE_WORDS and want in TRUE_WORDS) or (low in _FALSE and want in _FALSE)
    return current.strip() == wanted.strip()


class ConfSettingsStep(Step):
    """A step whose target state is a set of postgresql.conf values."""

    phase = "local"
    # Files under the data dir: only a process allowed to write them (and on the DW host).
    requires = ("prereq.elevation",)

    def desired(self, ctx: StepContext, facts: discovery.LocalFacts) -> dict[str, str]:
        raise NotImplementedError

    def _read(self, facts: discovery.LocalFacts) -> Any:
        from wizard.dwhost.pgfiles.postgresql_conf import ConfFile

        return read_dw_file(ConfFile.read, facts.config_file)

    def differences(
        self, ctx: StepContext
    ) -> tuple[discovery.LocalFacts, dict[str, str], dict[str, str]]:
        """(facts, wanted values that differ, their current file values)."""
        from wizard.dwhost.pgfiles.postgresql_conf import auto_conf_shadows

        facts = discovery.discover_local(ctx.local_conn())
        conf = self._read(facts)
        wanted = self.desired(ctx, facts)
        shadows = auto_conf_shadows(facts.data_directory, list(wanted))
        current: dict[str, str] = {}
        differ: dict[str, str] = {}
        for name, value in wanted.items():
            in_force = shadows[name].value if name in shadows else conf.get(name)
            current[name] = in_force if in_force is not None else ""
            if not same_value(name, in_force, value):
                differ[name] = value
        return facts, differ, current

    def check(self, ctx: StepContext) -> CheckResult:
        facts, differ, current = self.differences(ctx)
        if not differ:
            return CheckResult(Status.DONE, self.done_message(ctx, facts), facts=facts.to_json())
        details = [
            Message(
                "step.local.conf.differs", {"name": n, "current": current[n] or "-", "wanted": v}
            )
            for n, v in differ.items()
        ]
        return CheckResult(
            Status.PENDING,
            Message(f"step.{self.id}.pending"),
            details=details,
            facts=facts.to_json(),
        )

    def done_message(self, ctx: StepContext, facts: discovery.LocalFacts) -> Message:
        return Message(f"step.{self.id}.ok")

    def conf_plan(
        self, ctx: StepContext, plan: Plan, facts: discovery.LocalFacts, differ: dict[str, str]
    ) -> None:
        """File edits (grouped per file) and ALTER SYSTEM for values postgresql.auto.conf holds."""
        from wizard.dwhost.pgfiles.postgresql_conf import (
            ConfFile,
            SettingInIncludedFile,
            auto_conf_shadows,
        )

        shadows = auto_conf_shadows(facts.data_directory, list(differ))
        conn = ctx.local_conn()
        files: dict[Path, Any] = {}
        originals: dict[Path, bytes] = {}
        for name, value in differ.items():
            if name in shadows:
                from psycopg import sql

                text = (
                    sql.SQL("ALTER SYSTEM SET {} = {}")
                    .format(sql.Identifier(name), sql.Literal(value))
                    .as_string(conn)
                )
                plan.actions.append(
                    SqlAction(
                        "local", text, Message("step.local.conf.alter_system", {"name": name})
                    )
                )
                continue
            path = facts.config_file
            conf = files.get(path) or self._read(facts)
            try:
                files[path] = conf.set(name, value)
                originals.setdefault(
                    path, conf.to_bytes() if path not in originals else originals[path]
                )
            except SettingInIncludedFile as exc:
                # The value in force lives in an included file: edit it there, and say so.
                included = Path(str(exc.setting.file))
                plan.warnings.append(
                    Message("step.local.conf.included", {"name": name, "path": str(included)})
                )
                conf_inc = files.get(included) or ConfFile.read(included)
                originals.setdefault(included, conf_inc.to_bytes())
                files[included] = conf_inc.set(name, value)
        for path, conf in files.items():
            before = path.read_bytes()
            after = conf.to_bytes()
            if conf.text.had_bom:
                plan.warnings.append(Message("step.local.conf.bom", {"path": str(path)}))
            if after != before:
                plan.actions.append(
                    FileEdit(
                        path,
                        before,
                        after,
                        Message(
                            "step.local.conf.edit", {"path": str(path), "names": ", ".join(differ)}
                        ),
                        encoding=conf.text.encoding,
                    )
                )

    def plan(self, ctx: StepContext) -> Plan:
        facts, differ, _current = self.differences(ctx)
        plan = Plan(self.id)
        if differ:
            self.conf_plan(ctx, plan, facts, differ)
            plan.actions.append(NoteAction(Message("step.local.conf.takes_effect")))
        return plan

    def apply(self, ctx: StepContext, plan: Plan) -> ApplyResult:
        result = ApplyResult()
        edits = [a for a in plan.actions if isinstance(a, FileEdit)]
        conn = ctx.local_conn()
        for action in plan.actions:
            if isinstance(action, SqlAction):
                ctx.progress(self.id, action.description)
                # ALTER SYSTEM rewrites postgresql.auto.conf: journal it first.
                data_dir = discovery.discover_local(conn).data_directory
                journal_change(ctx, data_dir / "postgresql.auto.conf")
                conn.execute(action.sql)
                result.changes.append(action.description)
                request_reload(ctx, self.id)
        if edits:
            result.backups = write_judged(ctx, self.id, edits, conf_judge)
            result.changes.extend(e.description for e in edits)
        return result

    def undo(self, ctx: StepContext) -> ApplyResult:
        restored, kept = restore_originals(ctx, self.id)
        result = ApplyResult()
        result.changes = [Message("step.local.files.restored", {"path": p}) for p in restored]
        result.changes += [Message("step.local.files.kept", {"path": p}) for p in kept]
        return result


class Listen(ConfSettingsStep):
    """Runbook: "Configurar listen_addresses = '*'" (and the port)."""

    id = "local.listen"
    settings_keys = ("exposure.listen_addresses", "exposure.listen_port")

    def desired(self, ctx: StepContext, facts: discovery.LocalFacts) -> dict[str, str]:
        exposure = ctx.config.exposure
        wanted = {"listen_addresses": exposure.listen_addresses}
        if exposure.listen_port != "auto":
            wanted["port"] = str(exposure.listen_port)
        return wanted

    def done_message(self, ctx: StepContext, facts: discovery.LocalFacts) -> Message:
        exposure = ctx.config.exposure
        port = facts.port if exposure.listen_port == "auto" else exposure.listen_port
        return Message(
            "step.local.listen.ok", {"addresses": exposure.listen_addresses, "port": port}
        )


class Tls(ConfSettingsStep):
    """TLS for the FDW connection (not in the runbook: its rule lets passwords cross the
    Internet in clear text; the wizard turns TLS on first)."""

    id = "local.tls"
    settings_keys = (
        "exposure.tls.enabled",
        "exposure.tls.mode",
        "exposure.tls.cert_file",
        "exposure.tls.key_file",
    )
    setting_risks = (
        SettingRisk("exposure.tls.enabled", Risk.SECURITY, "tls_off", is_value(False)),
    )

    def _paths(self, ctx: StepContext, facts: discovery.LocalFacts) -> tuple[Path, Path, bool]:
        """(cert, key, generated_by_wizard)."""
        tls = ctx.config.exposure.tls
        if tls.mode == "provided":
            if tls.cert_file == "auto" or tls.key_file == "auto":
                raise StepError(
                    Message("step.local.tls.need_files"), Message("step.local.tls.need_files.fix")
                )
            return Path(tls.cert_file), Path(tls.key_file), False
        cert = (
            Path(tls.cert_file)
            if tls.cert_file != "auto"
            else facts.data_directory / SELF_SIGNED_CERT
        )
        key = (
            Path(tls.key_file) if tls.key_file != "auto" else facts.data_directory / SELF_SIGNED_KEY
        )
        return cert, key, True

    @staticmethod
    def _conf_path(path: Path, facts: discovery.LocalFacts) -> str:
        from wizard.dwhost.pgfiles.postgresql_conf import pg_path

        # Inside the data dir a relative name survives moving the cluster; '/' even on Windows.
        try:
            return pg_path(path.relative_to(facts.data_directory))
        except ValueError:
            return pg_path(path)

    def desired(self, ctx: StepContext, facts: discovery.LocalFacts) -> dict[str, str]:
        if not ctx.config.exposure.tls.enabled:
            return {}
        cert, key, _ = self._paths(ctx, facts)
        return {
            "ssl": "on",
            "ssl_cert_file": self._conf_path(cert, facts),
            "ssl_key_file": self._conf_path(key, facts),
        }

    def _pair_problem(self, ctx: StepContext, facts: discovery.LocalFacts) -> Message | None:
        from wizard.dwhost.tls import inspect_pair

        cert, key, _ = self._paths(ctx, facts)
        if not cert.exists() or not key.exists():
            return Message("step.local.tls.files_missing", {"cert": str(cert), "key": str(key)})
        try:
            info = inspect_pair(cert, key)
        except StepError as exc:
            return exc.message
        if info.expires_in_days < RENEW_DAYS:
            return Message("step.local.tls.expiring", {"days": info.expires_in_days})
        return None

    def check(self, ctx: StepContext) -> CheckResult:
        if not ctx.config.exposure.tls.enabled:
            return CheckResult(Status.NOT_APPLICABLE, Message("step.local.tls.disabled"))
        result = super().check(ctx)
        facts = discovery.discover_local(ctx.local_conn())
        problem = self._pair_problem(ctx, facts)
        if problem is not None:
            result.status = Status.PENDING
            result.message = Message("step.local.tls.pending")
            result.details.insert(0, problem)
        result.details.append(Message(f"step.local.tls.about_{ctx.config.exposure.tls.mode}"))
        return result

    def done_message(self, ctx: StepContext, facts: discovery.LocalFacts) -> Message:
        cert, _, _ = self._paths(ctx, facts)
        return Message("step.local.tls.ok", {"cert": str(cert)})

    def plan(self, ctx: StepContext) -> Plan:
        facts, differ, _current = self.differences(ctx)
        plan = Plan(self.id)
        cert, key, generated = self._paths(ctx, facts)
        problem = self._pair_problem(ctx, facts)
        if problem is not None:
            if not generated:
                raise StepError(problem, Message("step.local.tls.need_files.fix"))
            names = {"cert": str(cert), "key": str(key)}
            plan.actions.append(GeneratedFile(key, Message("step.local.tls.gen_key", names), 0o600))
            plan.actions.append(
                GeneratedFile(cert, Message("step.local.tls.gen_cert", names), 0o644)
            )
        if differ:
            self.conf_plan(ctx, plan, facts, differ)
        plan.actions.append(
            NoteAction(Message(f"step.local.tls.about_{ctx.config.exposure.tls.mode}"))
        )
        plan.actions.append(NoteAction(Message("step.local.conf.takes_effect")))
        return plan

    def apply(self, ctx: StepContext, plan: Plan) -> ApplyResult:
        from wizard.dwhost.tls import generate_self_signed

        generated = [a for a in plan.actions if isinstance(a, GeneratedFile)]
        result = ApplyResult()
        if generated:
            facts = discovery.discover_local(ctx.local_conn())
            exposure = ctx.config.exposure
            names = [exposure.public_host, ctx.config.local.host, "localhost", "127.0.0.1"]
            cert_pem, key_pem = generate_self_signed([n for n in names if n])
            owner = facts.data_directory.stat() if os.name == "posix" else None
            if os.name == "nt":
                # Windows: the files inherit the data directory's ACL, which the EDB installer
                # grants to the service account; PostgreSQL does not check key modes there.
                result.changes.append(Message("step.local.tls.windows_acl"))
            created: list[str] = []
            previous = ctx.recall(self.id).get("generated", [])
            for action in generated:
                data = key_pem if action.mode == 0o600 else cert_pem
                journal_change(ctx, action.path)
                # Remembered before the write: a crash right after still lets undo find it.
                created.append(str(action.path))
                ctx.remember(self.id, generated=sorted(set(created) | set(previous)))
                atomic_write_bytes(action.path, data, backup=action.path.exists(), mode=action.mode)
                if owner is not None and os.geteuid() == 0:
                    # The server (not root) must read its key; PostgreSQL wants it 0600 and its own.
                    os.chown(action.path, owner.st_uid, owner.st_gid)
                result.changes.append(action.description)
                faults.point("tls.after-key")
        conf_result = super().apply(ctx, plan)
        result.changes.extend(conf_result.changes)
        result.backups = conf_result.backups
        return result

    def verify(self, ctx: StepContext) -> CheckResult:
        checked = self.check(ctx)
        checked.details.append(Message("step.local.tls.proof_later"))
        return checked

    def undo(self, ctx: StepContext) -> ApplyResult:
        """Restore postgresql.conf, then delete the generated certificate and key — but only
        when the files PostgreSQL will read no longer use them: a file edited since the
        wizard wrote it is kept, and a kept ``ssl = on`` pointing at a deleted key would stop
        the server at its next start. When local.reload is undone in the same run, the
        deletion waits for it: only the files as the whole rollback leaves them, reloaded and
        judged by the server, tell whether the certificate is still needed."""
        result = super().undo(ctx)
        generated = ctx.recall(self.id).get("generated", [])
        if not generated:
            return result
        if undoing_reload_too(ctx):
            defer_delete(ctx, generated)
            result.notes.append(Message("step.local.tls.delete_after_reload"))
            ctx.remember(self.id, generated=None)
            return result
        reason = still_used(ctx, [Path(p) for p in generated])
        if reason is not None:
            result.incomplete = True
            result.notes.append(reason)
            for path in generated:
                result.notes.append(Message("step.local.tls.kept_file", {"path": path}))
            return result
        for path in generated:
            journal_change(ctx, Path(path))
            Path(path).unlink(missing_ok=True)
            result.changes.append(Message("step.local.tls.removed", {"path": path}))
        ctx.remember(self.id, generated=None)
        return result
