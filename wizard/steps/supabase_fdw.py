"""Phase 2 on Supabase: the extension, the foreign server and the user mappings (runbook 2.1).

Safer than the runbook's literal SQL: the server fails fast when the DW is offline
(connect_timeout, keepalives, tcp_user_timeout) so the app falls back to the Storage JSONs in
time, requires TLS when the DW has it, is read-only (updatable 'false'); mappings exist for
postgres and authenticated only (anon on explicit request), and no API role gets USAGE on the
server (it would let them read the mapping's password from pg_user_mappings).
"""

from __future__ import annotations

from typing import Any

from wizard import sql_text
from wizard.engine import (
    ApplyResult,
    CheckResult,
    NoteAction,
    NotUndoable,
    Plan,
    Risk,
    SqlAction,
    Status,
    Step,
    StepError,
)
from wizard.i18n import Message
from wizard.probes import fdw_login_error

API_ROLES = ("anon", "authenticated", "service_role")
FETCH_BUDGET_BYTES = 8 * 1024 * 1024  # per batch on a small Supabase instance
FETCH_MIN, FETCH_MAX = 1000, 50000


def run_actions(ctx: Any, step_id: str, plan: Plan, conn: Any) -> ApplyResult:
    """Run a plan's SQL actions in one transaction, reporting each as it goes."""
    result = ApplyResult()
    with conn.transaction():
        for action in plan.actions:
            if isinstance(action, SqlAction):
                ctx.progress(step_id, action.description)
                conn.execute(action.sql)
                result.changes.append(action.description)
    return result


# -- extension ------------------------------------------------------------------------------


class Extension(Step):
    """Runbook: "CREATE EXTENSION IF NOT EXISTS postgres_fdw"."""

    id = "supabase.extension"
    phase = "supabase"
    requires = ("prereq.supabase-connection",)

    def check(self, ctx: Any) -> CheckResult:
        row = (
            ctx.supabase_conn()
            .execute(
                "SELECT e.extversion, n.nspname FROM pg_extension e"
                " JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'postgres_fdw'"
            )
            .fetchone()
        )
        if row is None:
            return CheckResult(Status.PENDING, Message("step.supabase.extension.missing"))
        return CheckResult(
            Status.DONE,
            Message("step.supabase.extension.ok", {"version": row[0], "schema": row[1]}),
        )

    def plan(self, ctx: Any) -> Plan:
        conn = ctx.supabase_conn()
        has_extensions = conn.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'extensions')"
        ).fetchone()[0]
        schema = "extensions" if has_extensions else "public"  # Supabase keeps them apart
        text = sql_text.render(conn, "supabase/extension.sql", schema=schema)
        return Plan(
            self.id, [SqlAction("supabase", text, Message("step.supabase.extension.create"))]
        )

    def apply(self, ctx: Any, plan: Plan) -> ApplyResult:
        result = run_actions(ctx, self.id, plan, ctx.supabase_conn())
        ctx.remember(self.id, created=True)
        return result

    def undo(self, ctx: Any) -> ApplyResult:
        if not ctx.recall(self.id).get("created"):
            # Kept, so nothing changes: reported as "nothing to undo", not as a change.
            raise NotUndoable(Message("step.supabase.kept", {"object": "postgres_fdw"}))
        ctx.supabase_conn().execute("DROP EXTENSION IF EXISTS postgres_fdw")
        ctx.remember(self.id, created=None)
        return ApplyResult([Message("step.supabase.dropped", {"object": "postgres_fdw"})])


# -- server ---------------------------------------------------------------------------------


def auto_fetch_size(ctx: Any) -> tuple[int, int]:
    """(fetch_size, widest row in bytes): as many rows as fit the batch budget."""
    rows = (
        ctx.local_conn()
        .execute(
            "SELECT tablename, sum(avg_width) FROM pg_stats WHERE schemaname = %s"
            " AND tablename = ANY(%s) GROUP BY tablename",
            (ctx.config.local.source_schema, list(ctx.config.fdw.tables)),
        )
        .fetchall()
    )
    widest = max((int(r[1] or 0) for r in rows), default=0) or 200
    return max(FETCH_MIN, min(FETCH_MAX, FETCH_BUDGET_BYTES // widest)), widest


def server_options(ctx: Any) -> dict[str, str]:
    cfg = ctx.config
    fdw = cfg.fdw
    fetch = fdw.fetch_size if fdw.fetch_size != "auto" else auto_fetch_size(ctx)[0]
    tls = cfg.exposure.tls.enabled and cfg.exposure.hba_connection_type == "hostssl"
    return {
        "host": cfg.exposure.public_host,
        "port": str(cfg.exposure.public_port),
        "dbname": cfg.local.database,
        "fetch_size": str(fetch),
        "connect_timeout": str(fdw.connect_timeout_s),
        "keepalives": "1",
        "keepalives_idle": str(fdw.keepalives_idle_s),
        "keepalives_interval": "10",
        "keepalives_count": "3",
        "tcp_user_timeout": str(fdw.tcp_user_timeout_ms),
        "sslmode": "require" if tls else "prefer",
        "application_name": "supabase_fdw",
        "updatable": "false",
    }


def current_server(conn: Any, name: str) -> tuple[str, dict[str, str]] | None:
    """(wrapper name, options) of the foreign server ``name``."""
    row = conn.execute(
        "SELECT w.fdwname, s.srvoptions FROM pg_foreign_server s"
        " JOIN pg_foreign_data_wrapper w ON w.oid = s.srvfdw WHERE s.srvname = %s",
        (name,),
    ).fetchone()
    if row is None:
        return None
    options = dict(item.split("=", 1) for item in (row[1] or []))
    return row[0], options


class Server(Step):
    """Runbook: "CREATE SERVER bluconecta_dw_server ..."."""

    id = "supabase.server"
    phase = "supabase"
    requires = ("supabase.extension", "prereq.exposure")

    def _diff(self, ctx: Any) -> tuple[dict[str, str], dict[str, str] | None]:
        conn = ctx.supabase_conn()
        name = ctx.config.fdw.server_name
        existing = current_server(conn, name)
        if existing is not None and existing[0] != "postgres_fdw":
            raise StepError(
                Message("step.supabase.server.other_wrapper", {"name": name, "fdw": existing[0]}),
                Message("step.supabase.server.other_wrapper.fix"),
            )
        return server_options(ctx), existing[1] if existing else None

    def check(self, ctx: Any) -> CheckResult:
        wanted, current = self._diff(ctx)
        name = ctx.config.fdw.server_name
        if current is None:
            return CheckResult(
                Status.PENDING, Message("step.supabase.server.missing", {"name": name})
            )
        details = [
            Message(
                "step.supabase.server.option",
                {"option": k, "current": current.get(k, "-"), "wanted": v},
            )
            for k, v in wanted.items()
            if current.get(k) != v
        ]
        if details:
            return CheckResult(
                Status.PENDING, Message("step.supabase.server.differs", {"name": name}), details
            )
        return CheckResult(
            Status.DONE,
            Message(
                "step.supabase.server.ok",
                {
                    "name": name,
                    "host": wanted["host"],
                    "port": wanted["port"],
                    "sslmode": wanted["sslmode"],
                    "fetch_size": wanted["fetch_size"],
                },
            ),
            facts={"options": wanted},
        )

    def plan(self, ctx: Any) -> Plan:
        from psycopg import sql

        conn = ctx.supabase_conn()
        wanted, current = self._diff(ctx)
        name = ctx.config.fdw.server_name
        plan = Plan(self.id)
        if ctx.config.fdw.fetch_size == "auto":
            fetch, widest = auto_fetch_size(ctx)
            plan.actions.append(
                NoteAction(
                    Message("step.supabase.server.fetch_auto", {"fetch": fetch, "width": widest})
                )
            )
        if wanted["sslmode"] != "require":
            plan.warnings.append(Message("step.supabase.server.no_tls"))
        if current is None:
            text = sql_text.render(
                conn, "supabase/server_create.sql", server=name, options=sql_text.options(wanted)
            )
            plan.actions.append(
                SqlAction("supabase", text, Message("step.supabase.server.create", {"name": name}))
            )
            return plan
        changes = []
        for key, value in wanted.items():
            if key not in current:
                changes.append(sql.SQL("ADD {} {}").format(sql.Identifier(key), sql.Literal(value)))
            elif current[key] != value:
                changes.append(sql.SQL("SET {} {}").format(sql.Identifier(key), sql.Literal(value)))
        if changes:
            text = (
                sql.SQL("ALTER SERVER {} OPTIONS ({})")
                .format(sql.Identifier(name), sql.SQL(", ").join(changes))
                .as_string(conn)
            )
            plan.actions.append(
                SqlAction("supabase", text, Message("step.supabase.server.alter", {"name": name}))
            )
        return plan

    def apply(self, ctx: Any, plan: Plan) -> ApplyResult:
        created = current_server(ctx.supabase_conn(), ctx.config.fdw.server_name) is None
        result = run_actions(ctx, self.id, plan, ctx.supabase_conn())
        if created:
            ctx.remember(self.id, created=True)
        return result

    def undo(self, ctx: Any) -> ApplyResult:
        name = ctx.config.fdw.server_name
        if not ctx.recall(self.id).get("created"):
            return ApplyResult([Message("step.supabase.kept", {"object": name})])
        from psycopg import sql

        ctx.supabase_conn().execute(
            sql.SQL("DROP SERVER IF EXISTS {}").format(sql.Identifier(name))
        )
        ctx.remember(self.id, created=None)
        return ApplyResult([Message("step.supabase.dropped", {"object": name})])


# -- user mappings ----------------------------------------------------------------------------


def mapped_roles(conn: Any, server: str) -> list[str]:
    # pg_user_mappings (the view): the catalog table is for superusers only.
    rows = conn.execute(
        "SELECT usename FROM pg_user_mappings WHERE srvname = %s ORDER BY 1", (server,)
    ).fetchall()
    return [r[0] for r in rows]


class UserMappings(Step):
    """Runbook: "CREATE USER MAPPING FOR postgres / authenticated / anon"."""

    id = "supabase.user-mappings"
    phase = "supabase"
    requires = ("supabase.server", "local.reader-role")

    def _state(self, ctx: Any) -> tuple[list[str], list[str], dict[str, str], list[str]]:
        """(missing roles, present roles, broken roles -> error, API roles with USAGE)."""
        conn = ctx.supabase_conn()
        server = ctx.config.fdw.server_name
        wanted = list(ctx.config.fdw.map_roles)
        present = mapped_roles(conn, server)
        missing = [r for r in wanted if r not in present]
        broken = {}
        for role in wanted:
            if role in present:
                error = fdw_login_error(conn, server, role)
                if error is not None:
                    broken[role] = error
        usage = [
            r
            for r in API_ROLES
            if conn.execute(
                "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = %s)"
                " AND has_server_privilege(%s, %s, 'USAGE')",
                (r, r, server),
            ).fetchone()[0]
        ]
        return missing, [r for r in wanted if r in present], broken, usage

    def check(self, ctx: Any) -> CheckResult:
        missing, present, broken, usage = self._state(ctx)
        details = [Message("step.supabase.user-mappings.missing", {"role": r}) for r in missing]
        details += [
            Message("step.supabase.user-mappings.broken", {"role": r, "error": e})
            for r, e in broken.items()
        ]
        details += [Message("step.supabase.user-mappings.usage", {"role": r}) for r in usage]
        if "anon" in ctx.config.fdw.map_roles:
            details.append(Message("step.supabase.user-mappings.anon_warning"))
        if missing or broken or usage:
            return CheckResult(
                Status.PENDING, Message("step.supabase.user-mappings.pending"), details
            )
        return CheckResult(
            Status.DONE,
            Message("step.supabase.user-mappings.ok", {"roles": ", ".join(present)}),
            details,
        )

    def plan(self, ctx: Any) -> Plan:
        from psycopg import sql

        conn = ctx.supabase_conn()
        cfg = ctx.config
        server = cfg.fdw.server_name
        missing, _present, broken, usage = self._state(ctx)
        plan = Plan(self.id)
        password = ctx.secret("reader")
        for role in missing + list(broken):
            if role in broken:
                # ALTER ... SET fails on an option the mapping lacks, and postgres cannot see
                # other roles' options: replace the mapping (same transaction, no gap).
                drop = sql.SQL("DROP USER MAPPING FOR {} SERVER {}").format(
                    sql.Identifier(role), sql.Identifier(server)
                )
                plan.actions.append(
                    SqlAction(
                        "supabase",
                        drop.as_string(conn),
                        Message("step.supabase.user-mappings.replace", {"role": role}),
                    )
                )
            text = sql_text.render(
                conn,
                "supabase/mapping_create.sql",
                role=role,
                server=server,
                remote_user=cfg.reader.name,
                password=password,
            )
            key = "create" if role in missing else "update"
            plan.actions.append(
                SqlAction(
                    "supabase", text, Message(f"step.supabase.user-mappings.{key}", {"role": role})
                )
            )
        for role in usage:
            text = (
                sql.SQL("REVOKE USAGE ON FOREIGN SERVER {} FROM {}")
                .format(sql.Identifier(server), sql.Identifier(role))
                .as_string(conn)
            )
            plan.actions.append(
                SqlAction(
                    "supabase",
                    text,
                    Message("step.supabase.user-mappings.revoke_usage", {"role": role}),
                )
            )
        if "anon" in cfg.fdw.map_roles and "anon" in missing:
            plan.risks.add(Risk.SECURITY)
            plan.warnings.append(Message("step.supabase.user-mappings.anon_warning"))
        return plan

    def apply(self, ctx: Any, plan: Plan) -> ApplyResult:
        conn = ctx.supabase_conn()
        before = set(mapped_roles(conn, ctx.config.fdw.server_name))
        result = run_actions(ctx, self.id, plan, conn)
        created = sorted(set(mapped_roles(conn, ctx.config.fdw.server_name)) - before)
        if created:
            known = set(ctx.recall(self.id).get("created", []))
            ctx.remember(self.id, created=sorted(known | set(created)))
        return result

    def undo(self, ctx: Any) -> ApplyResult:
        from psycopg import sql

        server = ctx.config.fdw.server_name
        result = ApplyResult()
        for role in ctx.recall(self.id).get("created", []):
            ctx.supabase_conn().execute(
                sql.SQL("DROP USER MAPPING IF EXISTS FOR {} SERVER {}").format(
                    sql.Identifier(role), sql.Identifier(server)
                )
            )
            result.changes.append(
                Message("step.supabase.dropped", {"object": f"user mapping {role}"})
            )
        ctx.remember(self.id, created=None)
        return result
