"""Prerequisites: can the wizard reach both databases with the right powers?"""

from __future__ import annotations

from typing import Any

from wizard.engine import CheckResult, OperatorActionNeeded, Status, Step, StepError
from wizard.i18n import Message
from wizard.step_context import StepContext


class LocalConnection(Step):
    """Runbook: "Credenciais de superuser do PostgreSQL local"."""

    id = "prereq.local-connection"
    phase = "prereq"
    settings_keys = ("local.host", "local.port", "local.database", "local.superuser")
    first_run_keys = settings_keys
    secret_keys = ("local-superuser",)

    def check(self, ctx: StepContext) -> CheckResult:
        local = ctx.config.local
        conn = ctx.local_conn()
        row = conn.execute(
            "SELECT current_setting('server_version'), current_setting('server_version_num')::int,"
            " r.rolsuper, current_setting('server_encoding'),"
            " current_setting('password_encryption'), current_setting('ssl')"
            " FROM pg_roles r WHERE r.rolname = current_user"
        ).fetchone()
        assert row is not None
        version, version_num, is_super, encoding, pw_enc, ssl = row
        # The port it answered on: after local.reload moved the server, not local.port.
        port = int(conn.info.port)
        facts = {
            "server_version": version,
            "server_version_num": version_num,
            "superuser": is_super,
            "server_encoding": encoding,
            "password_encryption": pw_enc,
            "ssl": ssl,
            "port": port,
        }
        target = {"host": local.host, "port": port, "user": local.superuser}
        details: list[Message] = []
        if port != local.port:
            details.append(
                Message(
                    "step.prereq.local-connection.moved", {"port": port, "configured": local.port}
                )
            )
        if not is_super:
            return CheckResult(
                Status.FAILED,
                Message("step.prereq.local-connection.not_superuser", target),
                facts=facts,
            )
        return CheckResult(
            Status.DONE,
            Message("step.prereq.local-connection.ok", {**target, "version": version}),
            details=details,
            facts=facts,
        )


class SupabaseConnection(Step):
    """Runbook: "Acesso ao SQL Editor do Supabase" (the wizard uses the same database role)."""

    id = "prereq.supabase-connection"
    phase = "prereq"
    settings_keys = (
        "supabase.host",
        "supabase.port",
        "supabase.database",
        "supabase.user",
        "supabase.project_url",
        "supabase.sslmode",
    )
    first_run_keys = ("supabase.host", "supabase.port", "supabase.user")
    secret_keys = ("supabase-db",)

    def check(self, ctx: StepContext) -> CheckResult:
        supa = ctx.config.supabase
        if not supa.host:
            raise OperatorActionNeeded(
                Message("step.prereq.supabase-connection.no_host"),
                Message("step.prereq.supabase-connection.no_host.fix"),
            )
        from wizard import db
        from wizard.supabase.supabase_dsn import DIRECT_HOST

        try:
            conn = ctx.supabase_conn()
        except db.DbError as exc:
            direct = DIRECT_HOST.match(supa.host)
            if direct and exc.kind in (
                "db.err.network_unreachable",
                "db.err.dns",
                "db.err.timeout",
            ):
                raise StepError(
                    Message(
                        "step.prereq.supabase-connection.ipv6_only",
                        {"host": supa.host, "detail": exc.detail},
                    ),
                    Message(
                        "step.prereq.supabase-connection.ipv6_only.fix", {"ref": direct.group(1)}
                    ),
                ) from None
            raise
        row = conn.execute(
            "SELECT current_setting('server_version'), current_user, r.rolsuper,"
            " (SELECT default_version FROM pg_available_extensions WHERE name = 'postgres_fdw'),"
            " (SELECT extversion FROM pg_extension WHERE extname = 'postgres_fdw')"
            " FROM pg_roles r WHERE r.rolname = current_user"
        ).fetchone()
        assert row is not None
        version, user, is_super, fdw_available, fdw_installed = row
        from wizard.steps.supabase_import import exposed_schemas

        facts = {
            "exposed_schemas": exposed_schemas(conn),
            "server_version": version,
            "user": user,
            "superuser": is_super,
            "postgres_fdw_available": fdw_available,
            "postgres_fdw_installed": fdw_installed,
        }
        target = {"host": supa.host, "port": supa.port, "user": supa.user, "version": version}
        if fdw_available is None:
            status, said = Status.FAILED, Message("step.prereq.supabase-connection.no_fdw", target)
        else:
            status, said = Status.DONE, Message("step.prereq.supabase-connection.ok", target)
        return CheckResult(status, said, facts=facts)


class Exposure(Step):
    """Runbook 1.3 / pre-requisite "IP público disponível OU túnel configurado"."""

    id = "prereq.exposure"
    phase = "prereq"
    settings_keys = (
        "exposure.public_host",
        "exposure.public_port",
        "exposure.online_ip_lookup",
    )
    first_run_keys = ("exposure.public_host", "exposure.public_port")

    def check(self, ctx: StepContext) -> CheckResult:
        from wizard.dwhost.exposure import classify_host, lookup_public_ip

        exposure = ctx.config.exposure
        notes = [
            Message("step.prereq.exposure.note_tunnels"),
            Message("step.prereq.exposure.note_hairpin"),
        ]
        verdict = classify_host(exposure.public_host)
        facts: dict[str, Any] = {
            "public_host": exposure.public_host,
            "kind": verdict.kind,
            "addresses": verdict.addresses,
        }
        if exposure.online_ip_lookup and not ctx.config.sandbox:
            seen = lookup_public_ip()
            facts["public_ip_seen"] = seen
            if seen:
                notes.insert(0, Message("step.prereq.exposure.seen", {"ip": seen}))
                if seen in verdict.addresses:
                    notes.insert(1, Message("step.prereq.exposure.matches"))
        params = {
            "host": exposure.public_host,
            "addresses": ", ".join(verdict.addresses),
            "port": exposure.public_port,
        }
        if verdict.kind == "empty":
            status, said = Status.MANUAL, Message("step.prereq.exposure.empty")
        elif verdict.kind == "loopback" and ctx.config.sandbox:
            status, said = Status.DONE, Message("step.prereq.exposure.rehearsal", params)
        elif verdict.kind == "public":
            status, said = Status.DONE, Message("step.prereq.exposure.public", params)
        else:
            status, said = Status.FAILED, Message(f"step.prereq.exposure.{verdict.kind}", params)
        return CheckResult(status, said, details=notes, facts=facts)


class Elevation(Step):
    """Editing files under the data dir, restarting the service and the firewall need rights."""

    id = "prereq.elevation"
    phase = "prereq"
    requires = ("prereq.local-connection",)

    def check(self, ctx: StepContext) -> CheckResult:

        from wizard.dwhost.discovery import discover_local
        from wizard.dwhost.platform import check_elevation
        from wizard.write_errors import write_problem

        facts = discover_local(ctx.local_conn())
        files = [facts.config_file, facts.hba_file]
        elevation = check_elevation(data_dir=facts.data_directory, files=files)
        if elevation.how == "not-administrator":
            # Windows: the data dir's ACL hides its files from a process that is not elevated;
            # say what is missing before looking at them (else: "not this host", or a crash).
            return CheckResult(
                Status.FAILED,
                Message("step.prereq.elevation.needed", {"detail": elevation.message.render()}),
                details=[elevation.relaunch] if elevation.relaunch else [],
                facts={"how": elevation.how, "writable": False},
            )

        def exists(path: Any) -> bool:
            try:
                return bool(path.exists())
            except PermissionError:  # there, but not ours to read: the write check says why
                return True

        if not all(exists(path) for path in files):
            # The server reports paths this machine does not have: we are not on the DW host.
            return CheckResult(
                Status.FAILED,
                Message("step.prereq.elevation.not_here", {"path": str(facts.config_file)}),
            )
        problems = [p for p in (write_problem(path) for path in files) if p is not None]
        writable = not problems
        facts_json = {"how": elevation.how, "writable": writable}
        if elevation.elevated and writable:
            return CheckResult(Status.DONE, elevation.message, facts=facts_json)
        blocking = [p for p in problems if p.key != "input.write.permission"]
        if blocking or (elevation.elevated and problems):
            # Rights are not what is missing (root, administrator, or an attribute that stops
            # everyone): say what stops the write and how to lift it, not "Running as root".
            shown = blocking or problems
            return CheckResult(Status.FAILED, shown[0], details=shown[1:], facts=facts_json)
        details = [elevation.relaunch] if elevation.relaunch else []
        return CheckResult(
            Status.FAILED,
            Message("step.prereq.elevation.needed", {"detail": elevation.message.render()}),
            details=details,
            facts=facts_json,
        )
