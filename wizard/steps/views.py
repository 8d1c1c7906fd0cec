"""Phase 3: the runbook's unified views (3.1 v_clientes_360, 3.2 v_frota_360).

security_invoker (the default) makes a view check the CALLER's rights: the RLS of the
operational `clientes` table applies to each app user, and Supabase's lint 0010 stays quiet;
each API role that reads the view needs its own user mapping (authenticated has one by
default). Without it, the view runs as its owner (postgres): anyone granted the view sees every
row, whatever RLS says.
"""

from __future__ import annotations

from typing import Any

from wizard import sql_text
from wizard.engine import ApplyResult, CheckResult, Plan, Risk, SqlAction, Status, Step
from wizard.i18n import Message
from wizard.steps.supabase_fdw import API_ROLES, run_actions

NOTIFY_RELOAD = "NOTIFY pgrst, 'reload schema'"

CLIENTES_COLUMNS = (
    "supabase_id", "stage_id", "ultimo_atendente_id", "ultimo_atendimento_at", "status_triagem",
    "descartado_em", "descartado_motivo", "codigo_cliente", "razao_social", "nome_fantasia",
    "cpf_cnpj", "email", "telefone", "cidade", "estado", "segmento", "situacao", "data_criacao",
    "grupo_economico",
)  # fmt: skip


# The app reads a view `limit 10000`; when the view joins a foreign table with a LOCAL table
# (clientes), that LIMIT cannot travel to the DW, so postgres_fdw ships whole batches and the
# join discards the rest. A batch near the app's page (2 pages) wastes less than the server's
# big batch (measured at 30 ms RTT: 233 ms with 20000 vs 263 ms with ~40000; bench/fetch_size.py).
LOCAL_JOIN_FETCH_SIZE = 20000


def foreign_table_options(conn: Any, schema: str, table: str) -> dict[str, str] | None:
    row = conn.execute(
        "SELECT ft.ftoptions FROM pg_foreign_table ft JOIN pg_class c ON c.oid = ft.ftrelid"
        " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname = %s",
        (schema, table),
    ).fetchone()
    if row is None:
        return None
    return dict(item.split("=", 1) for item in (row[0] or []))


class ViewStep(Step):
    phase = "views"
    requires = ("supabase.grants",)
    view_name: str
    template: str
    config_key: str
    # Foreign tables the view joins with a local table (their fetch_size is tuned, see above).
    locally_joined: tuple[str, ...] = ()

    def _fetch_gaps(self, ctx: Any) -> dict[str, dict[str, str]]:
        """{table: current options} for locally joined tables without the tuned fetch_size."""
        conn = ctx.supabase_conn()
        gaps = {}
        for table in self.locally_joined:
            options = foreign_table_options(conn, ctx.config.fdw.target_schema, table)
            if options is not None and options.get("fetch_size") != str(LOCAL_JOIN_FETCH_SIZE):
                gaps[table] = options
        return gaps

    def _cfg(self, ctx: Any) -> Any:
        return getattr(ctx.config.views, self.config_key)

    def expected_columns(self, ctx: Any) -> list[str]:
        raise NotImplementedError

    def _state(self, ctx: Any) -> dict[str, Any] | None:
        conn = ctx.supabase_conn()
        cfg = self._cfg(ctx)
        row = conn.execute(
            "SELECT c.oid, coalesce(c.reloptions, '{}') FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = %s AND c.relname = %s AND c.relkind = 'v'",
            (cfg.schema_name, self.view_name),
        ).fetchone()
        if row is None:
            return None
        columns = [
            r[0]
            for r in conn.execute(
                "SELECT attname FROM pg_attribute WHERE attrelid = %s AND attnum > 0"
                " AND NOT attisdropped ORDER BY attnum",
                (row[0],),
            ).fetchall()
        ]
        invoker = any(
            o.lower() in ("security_invoker=true", "security_invoker=on", "security_invoker=1")
            for o in row[1]
        )
        readers = {
            role: conn.execute(
                "SELECT has_table_privilege(%s, %s, 'SELECT')", (role, row[0])
            ).fetchone()[0]
            for role in sorted(set(API_ROLES) | set(cfg.grant_to))
            if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
        }
        return {"columns": columns, "invoker": invoker, "readers": readers}

    def _problems(self, ctx: Any) -> list[Message]:
        cfg = self._cfg(ctx)
        state = self._state(ctx)
        name = f"{cfg.schema_name}.{self.view_name}"
        if state is None:
            return [Message("step.views.missing", {"view": name})]
        problems = []
        if state["columns"] != self.expected_columns(ctx):
            problems.append(Message("step.views.columns", {"view": name}))
        if state["invoker"] != cfg.security_invoker:
            problems.append(
                Message(
                    "step.views.invoker",
                    {"view": name, "wanted": str(cfg.security_invoker).lower()},
                )
            )
        problems += [
            Message("step.views.fetch_size", {"table": t, "fetch": LOCAL_JOIN_FETCH_SIZE})
            for t in self._fetch_gaps(ctx)
        ]
        for role, can in state["readers"].items():
            if can != (role in cfg.grant_to):
                problems.append(
                    Message(
                        "step.views.grant" if not can else "step.views.extra_grant",
                        {"view": name, "role": role},
                    )
                )
        return problems

    def check(self, ctx: Any) -> CheckResult:
        cfg = self._cfg(ctx)
        if not cfg.enabled:
            return CheckResult(
                Status.NOT_APPLICABLE, Message("step.views.disabled", {"view": self.view_name})
            )
        problems = self._problems(ctx)
        explain = Message(
            "step.views.about_invoker" if cfg.security_invoker else "step.views.about_definer"
        )
        if problems:
            return CheckResult(Status.PENDING, Message("step.views.pending"), [*problems, explain])
        return CheckResult(
            Status.DONE,
            Message(
                "step.views.ok",
                {
                    "view": f"{cfg.schema_name}.{self.view_name}",
                    "roles": ", ".join(cfg.grant_to) or "-",
                },
            ),
            [explain],
        )

    def plan(self, ctx: Any) -> Plan:
        from psycopg import sql

        conn = ctx.supabase_conn()
        cfg = self._cfg(ctx)
        plan = Plan(self.id)
        state = self._state(ctx)
        qualified = sql.SQL("{}.{}").format(
            sql.Identifier(cfg.schema_name), sql.Identifier(self.view_name)
        )
        if state is not None and state["columns"] != self.expected_columns(ctx):
            # CREATE OR REPLACE cannot drop or rename columns.
            plan.actions.append(
                SqlAction(
                    "supabase",
                    sql.SQL("DROP VIEW {}").format(qualified).as_string(conn),
                    Message("step.views.drop", {"view": self.view_name}),
                )
            )
        text = sql_text.render(
            conn,
            self.template,
            view_schema=cfg.schema_name,
            fdw_schema=ctx.config.fdw.target_schema,
            security_invoker=cfg.security_invoker,
        )
        plan.actions.append(
            SqlAction("supabase", text, Message("step.views.create", {"view": self.view_name}))
        )
        for role in sorted(set(API_ROLES) | set(cfg.grant_to)):
            verb = (
                "GRANT SELECT ON {} TO {}" if role in cfg.grant_to else "REVOKE ALL ON {} FROM {}"
            )
            plan.actions.append(
                SqlAction(
                    "supabase",
                    sql.SQL(verb).format(qualified, sql.Identifier(role)).as_string(conn),
                    Message(
                        "step.views.grant_action"
                        if role in cfg.grant_to
                        else "step.views.revoke_action",
                        {"view": self.view_name, "role": role},
                    ),
                )
            )
        for table, options in self._fetch_gaps(ctx).items():
            verb = "SET" if "fetch_size" in options else "ADD"
            alter = sql.SQL("ALTER FOREIGN TABLE {}.{} OPTIONS ({} fetch_size {})").format(
                sql.Identifier(ctx.config.fdw.target_schema),
                sql.Identifier(table),
                sql.SQL(verb),
                sql.Literal(str(LOCAL_JOIN_FETCH_SIZE)),
            )
            plan.actions.append(
                SqlAction(
                    "supabase",
                    alter.as_string(conn),
                    Message(
                        "step.views.fetch_size_action",
                        {"table": table, "fetch": LOCAL_JOIN_FETCH_SIZE, "view": self.view_name},
                    ),
                )
            )
        plan.actions.append(SqlAction("supabase", NOTIFY_RELOAD, Message("step.views.notify")))
        if not cfg.security_invoker:
            plan.risks.add(Risk.SECURITY)
            plan.warnings.append(Message("step.views.about_definer"))
        if "anon" in cfg.grant_to:
            plan.risks.add(Risk.SECURITY)
            plan.warnings.append(Message("step.views.anon", {"view": self.view_name}))
        return plan

    def apply(self, ctx: Any, plan: Plan) -> ApplyResult:
        created = self._state(ctx) is None
        result = run_actions(ctx, self.id, plan, ctx.supabase_conn())
        if created:
            ctx.remember(self.id, created=True)
        return result

    def undo(self, ctx: Any) -> ApplyResult:
        from psycopg import sql

        cfg = self._cfg(ctx)
        if not ctx.recall(self.id).get("created"):
            return ApplyResult([Message("step.supabase.kept", {"object": self.view_name})])
        conn = ctx.supabase_conn()
        conn.execute(
            sql.SQL("DROP VIEW IF EXISTS {}.{}").format(
                sql.Identifier(cfg.schema_name), sql.Identifier(self.view_name)
            )
        )
        for table in self.locally_joined:
            options = foreign_table_options(conn, ctx.config.fdw.target_schema, table)
            if options and options.get("fetch_size") == str(LOCAL_JOIN_FETCH_SIZE):
                conn.execute(
                    sql.SQL("ALTER FOREIGN TABLE {}.{} OPTIONS (DROP fetch_size)").format(
                        sql.Identifier(ctx.config.fdw.target_schema), sql.Identifier(table)
                    )
                )
        conn.execute(NOTIFY_RELOAD)
        ctx.remember(self.id, created=None)
        return ApplyResult([Message("step.supabase.dropped", {"object": self.view_name})])


class Clientes360(ViewStep):
    id = "views.clientes-360"
    view_name = "v_clientes_360"
    template = "views/v_clientes_360.sql"
    config_key = "clientes_360"
    locally_joined = ("dim_clientes",)

    def expected_columns(self, ctx: Any) -> list[str]:
        return list(CLIENTES_COLUMNS)


class Frota360(ViewStep):
    id = "views.frota-360"
    view_name = "v_frota_360"
    template = "views/v_frota_360.sql"
    config_key = "frota_360"

    def expected_columns(self, ctx: Any) -> list[str]:
        from wizard.steps.supabase_import import foreign_tables

        frota = foreign_tables(ctx).get("dim_frota", {})
        return [*frota, "cliente_nome", "cliente_cidade"]
