"""Prerequisites: can the wizard reach both databases with the right powers?"""

from __future__ import annotations

from typing import Any

from wizard.engine import CheckResult, OperatorActionNeeded, Status, Step
from wizard.i18n import Message


class LocalConnection(Step):
    """Runbook: "Credenciais de superuser do PostgreSQL local"."""

    id = "prereq.local-connection"
    phase = "prereq"

    def check(self, ctx: Any) -> CheckResult:
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
        facts = {
            "server_version": version,
            "server_version_num": version_num,
            "superuser": is_super,
            "server_encoding": encoding,
            "password_encryption": pw_enc,
            "ssl": ssl,
        }
        target = {"host": local.host, "port": local.port, "user": local.superuser}
        if not is_super:
            return CheckResult(
                Status.FAILED,
                Message("step.prereq.local-connection.not_superuser", target),
                facts=facts,
            )
        return CheckResult(
            Status.DONE,
            Message("step.prereq.local-connection.ok", {**target, "version": version}),
            facts=facts,
        )


class SupabaseConnection(Step):
    """Runbook: "Acesso ao SQL Editor do Supabase" (the wizard uses the same database role)."""

    id = "prereq.supabase-connection"
    phase = "prereq"

    def check(self, ctx: Any) -> CheckResult:
        supa = ctx.config.supabase
        if not supa.host:
            raise OperatorActionNeeded(
                Message("step.prereq.supabase-connection.no_host"),
                Message("step.prereq.supabase-connection.no_host.fix"),
            )
        conn = ctx.supabase_conn()
        row = conn.execute(
            "SELECT current_setting('server_version'), current_user, r.rolsuper,"
            " (SELECT default_version FROM pg_available_extensions WHERE name = 'postgres_fdw'),"
            " (SELECT extversion FROM pg_extension WHERE extname = 'postgres_fdw')"
            " FROM pg_roles r WHERE r.rolname = current_user"
        ).fetchone()
        assert row is not None
        version, user, is_super, fdw_available, fdw_installed = row
        facts = {
            "server_version": version,
            "user": user,
            "superuser": is_super,
            "postgres_fdw_available": fdw_available,
            "postgres_fdw_installed": fdw_installed,
        }
        target = {"host": supa.host, "port": supa.port, "user": supa.user, "version": version}
        if fdw_available is None:
            return CheckResult(
                Status.FAILED,
                Message("step.prereq.supabase-connection.no_fdw", target),
                facts=facts,
            )
        return CheckResult(
            Status.DONE,
            Message("step.prereq.supabase-connection.ok", target),
            facts=facts,
        )
