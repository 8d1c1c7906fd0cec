"""Phase 2 on Supabase: import the foreign tables, ANALYZE them, grant exactly what is needed.

Secure default: a private schema (`bi`) that the API does not expose; `public` (the runbook's
literal choice) publishes every imported table to whoever can SELECT it, with no RLS.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from wizard import db, sql_text
from wizard.engine import ApplyResult, CheckResult, Plan, Risk, SqlAction, Status, Step, StepError
from wizard.i18n import Message
from wizard.plan import SettingRisk, is_value
from wizard.step_context import StepContext
from wizard.steps.supabase_fdw import API_ROLES, run_actions

OUR_VIEWS = ("v_clientes_360", "v_frota_360")


def exposed_schemas(conn: Any) -> list[str]:
    """Schemas the Data API (PostgREST) exposes: its in-database setting, else Supabase's
    default ('public, graphql_public')."""
    row = conn.execute(
        "SELECT coalesce("
        " (SELECT split_part(cfg, '=', 2) FROM pg_db_role_setting s"
        "  JOIN pg_roles r ON r.oid = s.setrole, unnest(s.setconfig) cfg"
        "  WHERE r.rolname = 'authenticator' AND cfg LIKE 'pgrst.db\\_schemas=%%' LIMIT 1),"
        " (SELECT split_part(cfg, '=', 2) FROM pg_db_role_setting s, unnest(s.setconfig) cfg"
        "  WHERE s.setrole = 0 AND cfg LIKE 'pgrst.db\\_schemas=%%' LIMIT 1),"
        " current_setting('pgrst.db_schemas', true),"
        " 'public, graphql_public')"
    ).fetchone()
    return [s.strip() for s in str(row[0]).split(",") if s.strip()]


def dw_tables(ctx: StepContext) -> dict[str, dict[str, Any]]:
    """The configured tables as the DW has them now: columns (name -> type) and size."""
    rows = (
        ctx.local_conn()
        .execute(
            "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod),"
            " pg_total_relation_size(c.oid) FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
            " WHERE n.nspname = %s AND c.relname = ANY(%s) AND c.relkind IN ('r','p','v','m','f')"
            " ORDER BY c.relname, a.attnum",
            (ctx.config.local.source_schema, list(ctx.config.fdw.tables)),
        )
        .fetchall()
    )
    tables: dict[str, dict[str, Any]] = {}
    for name, column, kind, size in rows:
        entry = tables.setdefault(name, {"columns": {}, "size": int(size)})
        entry["columns"][column] = kind
    return tables


def foreign_tables(ctx: StepContext) -> dict[str, dict[str, str]]:
    """Foreign tables of our server in the target schema: name -> columns (name -> type)."""
    cfg = ctx.config
    rows = (
        ctx.supabase_conn()
        .execute(
            "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod)"
            " FROM pg_foreign_table ft JOIN pg_class c ON c.oid = ft.ftrelid"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " JOIN pg_foreign_server s ON s.oid = ft.ftserver"
            " LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0"
            " AND NOT a.attisdropped"
            " WHERE n.nspname = %s AND s.srvname = %s ORDER BY c.relname, a.attnum",
            (cfg.fdw.target_schema, cfg.fdw.server_name),
        )
        .fetchall()
    )
    tables: dict[str, dict[str, str]] = {}
    for name, column, kind in rows:
        columns = tables.setdefault(name, {})
        if column is not None:
            columns[column] = kind
    return tables


def schema_statement(schema: str) -> Any:
    from psycopg import sql

    return sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema))


def import_statement(
    cfg: Any, tables: list[str], collate: str, *, source: str | None = None, into: str | None = None
) -> Any:
    """IMPORT FOREIGN SCHEMA of ``tables`` through the configured server (``source``/``into``:
    the DW's and Supabase's schemas, the configured ones by default)."""
    return sql_text.compose(
        "supabase/import.sql",
        source_schema=source or cfg.local.source_schema,
        tables=sql_text.identifiers(tables),
        server=cfg.fdw.server_name,
        schema=into or cfg.fdw.target_schema,
        import_collate=collate,
    )


def analyze_statement(schema: str, table: str) -> Any:
    from psycopg import sql

    return sql.SQL("ANALYZE {}.{}").format(sql.Identifier(schema), sql.Identifier(table))


class Import(Step):
    """Runbook 2.2: "IMPORT FOREIGN SCHEMA public LIMIT TO (...) ... INTO public" — into `bi`."""

    id = "supabase.import"
    phase = "supabase"
    requires = ("supabase.user-mappings",)
    settings_keys = ("fdw.target_schema", "fdw.tables", "local.source_schema")
    risks = frozenset({Risk.SECURITY})
    setting_risks = (
        SettingRisk("fdw.target_schema", Risk.SECURITY, "public_schema", is_value("public")),
    )

    def _state(self, ctx: StepContext) -> dict[str, Any]:
        wanted = list(ctx.config.fdw.tables)
        source = dw_tables(ctx)
        unknown = [t for t in wanted if t not in source]
        if unknown:
            raise StepError(
                Message(
                    "step.supabase.import.unknown_tables",
                    {"tables": ", ".join(unknown), "schema": ctx.config.local.source_schema},
                ),
                Message("step.supabase.import.unknown_tables.fix"),
            )
        present = foreign_tables(ctx)
        new = [t for t in wanted if t not in present]
        drifted = {
            t: sorted(set(source[t]["columns"].items()) ^ set(present[t].items()))
            for t in wanted
            if t in present and present[t] != source[t]["columns"]
        }
        vanished = sorted(t for t in present if t not in wanted or t not in source)
        return {"new": new, "drifted": drifted, "vanished": vanished, "source": source}

    def check(self, ctx: StepContext) -> CheckResult:
        state = self._state(ctx)
        schema = ctx.config.fdw.target_schema
        details = [Message("step.supabase.import.new", {"table": t}) for t in state["new"]]
        details += [
            Message(
                "step.supabase.import.drift",
                {"table": t, "columns": ", ".join(f"{c} {k}" for c, k in diff)},
            )
            for t, diff in state["drifted"].items()
        ]
        details += [
            Message("step.supabase.import.vanished", {"table": t}) for t in state["vanished"]
        ]
        if schema in exposed_schemas(ctx.supabase_conn()):
            details.append(Message("step.supabase.import.exposed", {"schema": schema}))
        facts = {"sizes": {t: v["size"] for t, v in state["source"].items()}}
        if state["new"] or state["drifted"]:
            return CheckResult(
                Status.PENDING, Message("step.supabase.import.pending"), details, facts
            )
        return CheckResult(
            Status.DONE,
            Message(
                "step.supabase.import.ok",
                {"count": len(ctx.config.fdw.tables), "schema": schema},
            ),
            details,
            facts,
        )

    def _collations_differ(self, ctx: StepContext) -> bool:
        query = "SELECT datcollate FROM pg_database WHERE datname = current_database()"
        local = db.one(ctx.local_conn().execute(query))[0]
        remote = db.one(ctx.supabase_conn().execute(query))[0]
        return bool(local != remote)

    def plan(self, ctx: StepContext) -> Plan:
        from psycopg import sql

        conn = ctx.supabase_conn()
        cfg = ctx.config
        schema = cfg.fdw.target_schema
        state = self._state(ctx)
        plan = Plan(self.id)

        def add(statement: Any, key: str, **params: Any) -> None:
            said = Message(f"step.supabase.import.{key}", params)
            plan.actions.append(SqlAction("supabase", statement.as_string(conn), said))

        if schema in exposed_schemas(conn):
            plan.risks.add(Risk.SECURITY)
            plan.warnings.append(Message("step.supabase.import.exposed", {"schema": schema}))
        exists = db.one(
            conn.execute("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = %s)", (schema,))
        )[0]
        if not exists:
            add(schema_statement(schema), "schema", schema=schema)
        drifted = list(state["drifted"])
        if drifted:
            # Our views depend on the tables; the views steps recreate them right after.
            for view_cfg, view in (
                (cfg.views.clientes_360, OUR_VIEWS[0]),
                (cfg.views.frota_360, OUR_VIEWS[1]),
            ):
                drop = sql.SQL("DROP VIEW IF EXISTS {}.{}").format(
                    sql.Identifier(view_cfg.schema_name), sql.Identifier(view)
                )
                add(drop, "drop_view", view=view)
            for table in drifted:
                drop = sql.SQL("DROP FOREIGN TABLE {}.{}").format(
                    sql.Identifier(schema), sql.Identifier(table)
                )
                add(drop, "reimport", table=table)
        to_import = state["new"] + drifted
        if to_import:
            collate = "false" if self._collations_differ(ctx) else "true"
            add(
                import_statement(cfg, to_import, collate),
                "import",
                count=len(to_import),
                schema=schema,
                collate=collate,
            )
        return plan

    def apply(self, ctx: StepContext, plan: Plan) -> ApplyResult:
        conn = ctx.supabase_conn()
        schema = ctx.config.fdw.target_schema
        schema_existed = db.one(
            conn.execute("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = %s)", (schema,))
        )[0]
        before = set(foreign_tables(ctx))
        result = run_actions(ctx, self.id, plan, conn)
        memory = ctx.recall(self.id)
        imported = sorted(set(memory.get("imported", [])) | (set(foreign_tables(ctx)) - before))
        ctx.remember(
            self.id,
            imported=imported,
            created_schema=memory.get("created_schema") or not schema_existed,
        )
        return result

    def undo(self, ctx: StepContext) -> ApplyResult:
        from psycopg import sql

        conn = ctx.supabase_conn()
        schema = ctx.config.fdw.target_schema
        memory = ctx.recall(self.id)
        result = ApplyResult()
        for table in memory.get("imported", []):
            conn.execute(
                sql.SQL("DROP FOREIGN TABLE IF EXISTS {}.{}").format(
                    sql.Identifier(schema), sql.Identifier(table)
                )
            )
        if memory.get("imported"):
            result.changes.append(
                Message(
                    "step.supabase.dropped", {"object": f"{len(memory['imported'])} foreign tables"}
                )
            )
        if memory.get("created_schema"):
            # RESTRICT: a schema someone else put objects into stays.
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {}").format(sql.Identifier(schema)))
            result.changes.append(Message("step.supabase.dropped", {"object": schema}))
        ctx.remember(self.id, imported=None, created_schema=None)
        return result


class Analyze(Step):
    """Statistics on the foreign tables: without them LIMIT is not pushed down (FIELD-GUIDE §5)."""

    id = "supabase.analyze"
    phase = "supabase"
    requires = ("supabase.import",)

    def _unanalyzed(self, ctx: StepContext) -> list[str]:
        rows = (
            ctx.supabase_conn()
            .execute(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = %s AND c.relkind = 'f' AND c.relname = ANY(%s)"
                " AND (c.reltuples < 0 OR NOT EXISTS (SELECT 1 FROM pg_stats st"
                " WHERE st.schemaname = n.nspname AND st.tablename = c.relname)) ORDER BY 1",
                (ctx.config.fdw.target_schema, list(ctx.config.fdw.tables)),
            )
            .fetchall()
        )
        return [r[0] for r in rows]

    def check(self, ctx: StepContext) -> CheckResult:
        missing = self._unanalyzed(ctx)
        if missing:
            return CheckResult(
                Status.PENDING,
                Message("step.supabase.analyze.pending", {"tables": ", ".join(missing)}),
            )
        return CheckResult(Status.DONE, Message("step.supabase.analyze.ok"))

    def plan(self, ctx: StepContext) -> Plan:
        conn = ctx.supabase_conn()
        schema = ctx.config.fdw.target_schema
        plan = Plan(self.id)
        for table in self._unanalyzed(ctx):
            text = analyze_statement(schema, table)
            plan.actions.append(
                SqlAction(
                    "supabase",
                    text.as_string(conn),
                    Message("step.supabase.analyze.table", {"table": table}),
                )
            )
        return plan

    def apply(self, ctx: StepContext, plan: Plan) -> ApplyResult:
        return run_actions(ctx, self.id, plan, ctx.supabase_conn())


Gap = tuple[str, str, str, str]  # (kind 'grant'|'revoke', privilege, 'schema'|table, role)


def privilege_gaps(
    schema: str,
    readers: list[str],
    roles: list[str],
    tables: list[str],
    has: Callable[[str, str, str], bool],
) -> list[Gap]:
    """What to grant or revoke so that exactly ``readers`` may use ``schema`` and SELECT its
    ``tables`` (``roles``: every role to look at; ``has(role, privilege, object)``: what it
    holds now — the live server for the step, nothing for export-sql's fresh site)."""
    gaps: list[Gap] = []
    for role in roles:
        wanted = role in readers
        if schema != "public":
            has_usage = has(role, "USAGE", "schema")
            if wanted and not has_usage:
                gaps.append(("grant", "USAGE", "schema", role))
            if not wanted and has_usage:
                gaps.append(("revoke", "USAGE", "schema", role))
        for table in tables:
            for privilege in ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE"):
                holds = has(role, privilege, table)
                should = wanted and privilege == "SELECT"
                if should and not holds:
                    gaps.append(("grant", privilege, table, role))
                elif holds and not should:
                    gaps.append(("revoke", privilege, table, role))
    return gaps


def gap_statement(schema: str, gap: Gap) -> tuple[Any, Message]:
    from psycopg import sql

    kind, privilege, obj, role = gap
    target = (
        sql.SQL("SCHEMA {}").format(sql.Identifier(schema))
        if obj == "schema"
        else sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(obj))
    )
    verb = "GRANT {} ON {} TO {}" if kind == "grant" else "REVOKE {} ON {} FROM {}"
    return (
        sql.SQL(verb).format(sql.SQL(privilege), target, sql.Identifier(role)),
        Message(
            f"step.supabase.grants.{kind}", {"privilege": privilege, "object": obj, "role": role}
        ),
    )


class Grants(Step):
    """USAGE on the schema and SELECT on the tables to the chosen roles only (runbook: none)."""

    id = "supabase.grants"
    phase = "supabase"
    requires = ("supabase.import",)
    risks = frozenset({Risk.SECURITY})

    def _readers(self, ctx: StepContext) -> list[str]:
        # Every mapped API role can read; postgres owns the tables anyway.
        return [r for r in ctx.config.fdw.map_roles if r != "postgres"]

    def _gaps(self, ctx: StepContext) -> list[Gap]:
        conn = ctx.supabase_conn()
        cfg = ctx.config
        schema = cfg.fdw.target_schema
        readers = self._readers(ctx)
        existing_roles = {
            r[0]
            for r in conn.execute(
                "SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)", (list(API_ROLES),)
            ).fetchall()
        }
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = %s AND c.relkind = 'f' AND c.relname = ANY(%s) ORDER BY 1",
                (schema, list(cfg.fdw.tables)),
            ).fetchall()
        ]

        def has(role: str, privilege: str, obj: str) -> bool:
            if obj == "schema":
                query = "SELECT has_schema_privilege(%s, %s, 'USAGE')"
                return bool(db.one(conn.execute(query, (role, schema)))[0])
            query = "SELECT has_table_privilege(%s, %s, %s)"
            params = (role, sql_text.identifier(schema, obj), privilege)
            return bool(db.one(conn.execute(query, params))[0])

        return privilege_gaps(schema, readers, sorted(existing_roles | set(readers)), tables, has)

    def check(self, ctx: StepContext) -> CheckResult:
        gaps = self._gaps(ctx)
        if gaps:
            details = [
                Message(f"step.supabase.grants.{kind}", {"privilege": p, "object": o, "role": r})
                for kind, p, o, r in gaps[:20]
            ]
            return CheckResult(Status.PENDING, Message("step.supabase.grants.pending"), details)
        return CheckResult(
            Status.DONE,
            Message("step.supabase.grants.ok", {"roles": ", ".join(self._readers(ctx)) or "-"}),
        )

    def plan(self, ctx: StepContext) -> Plan:
        conn = ctx.supabase_conn()
        schema = ctx.config.fdw.target_schema
        plan = Plan(self.id)
        for gap in self._gaps(ctx):
            statement, description = gap_statement(schema, gap)
            plan.actions.append(SqlAction("supabase", statement.as_string(conn), description))
        if "anon" in self._readers(ctx):
            plan.risks.add(Risk.SECURITY)
            plan.warnings.append(Message("step.supabase.user-mappings.anon_warning"))
        return plan

    def apply(self, ctx: StepContext, plan: Plan) -> ApplyResult:
        return run_actions(ctx, self.id, plan, ctx.supabase_conn())
