"""supabase.test-queries: the runbook's 2.3 test queries, proven rather than just run.

COUNT(*) per table equals the DW's; COUNT and the runbook's join are pushed down (read from
EXPLAIN VERBOSE's Remote SQL), and so are the joins of every view the wizard created (a join
of foreign tables of one server left on Supabase is flagged with its remedy); every table is
read as `authenticated` under its own statement_timeout, as the REST API would; and Supabase's
lints 0017 and 0010 are checked.

It must not grow with the warehouse (it runs in every `status`): tables up to
COUNT_EXACT_MAX_ROWS rows (by the DW's statistics) are counted on both sides; bigger ones are
compared by their statistics (the DW's pg_class.reltuples against the foreign table's, from
supabase.analyze), and their exact count is taken only when measurements are asked for
(`fdw-wizard validate`). Every plan is EXPLAINed, not run.
"""

from __future__ import annotations

from typing import Any

import sql_templates
from wizard import db, sql_text
from wizard.engine import CheckResult, Status, Step
from wizard.i18n import Message
from wizard.step_context import StepContext
from wizard.steps.supabase_import import exposed_schemas
from wizard.steps.views import Clientes360, Frota360, explain_joins, join_messages

COUNT_EXACT_MAX_ROWS = 50_000  # a count(*) this size costs the DW a few ms
STATS_TOLERANCE = 0.10  # statistics of both sides may differ this much (sampling, a new load)

PLATFORM_SCHEMAS = [
    "auth", "cron", "extensions", "graphql", "graphql_public", "information_schema", "net",
    "pgsodium", "pgsodium_masks", "pgbouncer", "pg_catalog", "pgtle", "realtime", "storage",
    "supabase_functions", "supabase_migrations", "vault",
]  # fmt: skip


def lint_findings(conn: Any) -> list[Message]:
    """Supabase splinter lints 0017 (foreign_table_in_api) and 0010 (security_definer_view)."""
    findings = []
    rows = conn.execute(
        sql_templates.load("supabase/lint_foreign_table_in_api.sql"),
        {"exposed": exposed_schemas(conn)},
    ).fetchall()
    findings += [
        Message("step.supabase.test-queries.lint_0017", {"table": f"{s}.{t}"}) for s, t in rows
    ]
    rows = conn.execute(
        sql_templates.load("supabase/lint_security_definer_view.sql"),
        {"platform_schemas": PLATFORM_SCHEMAS},
    ).fetchall()
    findings += [
        Message("step.supabase.test-queries.lint_0010", {"view": f"{s}.{v}"}) for s, v in rows
    ]
    return findings


def dw_estimates(ctx: StepContext) -> dict[str, float]:
    """The DW's own row estimates of the configured tables (pg_class.reltuples; -1: never
    analyzed). Catalog only: the same cost at any size."""
    rows = (
        ctx.local_conn()
        .execute(
            "SELECT c.relname, c.reltuples, pg_relation_size(c.oid) FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = %s AND c.relname = ANY(%s)",
            (ctx.config.local.source_schema, list(ctx.config.fdw.tables)),
        )
        .fetchall()
    )
    # Never analyzed (-1): judge by size, ~200 bytes a row (a table this big is not counted).
    return {
        str(name): float(tuples)
        if tuples >= 0
        else (-1.0 if size < 200 * COUNT_EXACT_MAX_ROWS else float(size // 200))
        for name, tuples, size in rows
    }


def foreign_estimates(conn: Any, schema: str) -> dict[str, float]:
    """The foreign tables' row estimates (from supabase.analyze's ANALYZE)."""
    rows = conn.execute(
        "SELECT c.relname, c.reltuples FROM pg_class c JOIN pg_namespace n"
        " ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind = 'f'",
        (schema,),
    ).fetchall()
    return {str(name): float(rows_) for name, rows_ in rows}


def remote_sql(conn: Any, query: str) -> list[str]:
    """The Remote SQL lines of EXPLAIN VERBOSE: what postgres_fdw actually sends to the DW."""
    rows = conn.execute("EXPLAIN (VERBOSE, COSTS OFF) " + query).fetchall()
    return [r[0].split("Remote SQL:", 1)[1].strip() for r in rows if "Remote SQL:" in r[0]]


def read_as(conn: Any, role: str, query: str) -> Any:
    """Run ``query`` the way PostgREST would for ``role``: SET ROLE plus the role's settings
    (statement_timeout...), which a bare SET ROLE would not apply."""
    from psycopg import sql

    with conn.transaction(force_rollback=True):
        settings = conn.execute(
            "SELECT rolconfig FROM pg_roles WHERE rolname = %s", (role,)
        ).fetchone()
        conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(role)))
        for entry in settings[0] if settings and settings[0] else []:
            name, _, value = str(entry).partition("=")
            conn.execute("SELECT set_config(%s, %s, true)", (name, value))
        return conn.execute(query).fetchall()


class TestQueries(Step):
    """Runbook 2.3 "Testar Conectividade" (and "Validar conexão" of the progress table)."""

    id = "supabase.test-queries"
    phase = "supabase"
    requires = ("supabase.grants", "supabase.analyze")

    def check(self, ctx: StepContext) -> CheckResult:
        import psycopg

        cfg = ctx.config
        conn = ctx.supabase_conn()
        schema = cfg.fdw.target_schema
        details: list[Message] = []
        failed = False
        counts: dict[str, int] = {}
        estimates = dw_estimates(ctx)
        remote_estimates = foreign_estimates(conn, schema)
        exact_all = bool(getattr(ctx, "fresh_measurements", False))
        for table in cfg.fdw.tables:
            dw_rows = estimates.get(table, -1.0)
            if not exact_all and dw_rows > COUNT_EXACT_MAX_ROWS:
                # Big table: statistics only (a count would read the whole table every status).
                remote_rows = remote_estimates.get(table, -1.0)
                counts[table] = int(remote_rows)
                if remote_rows >= 0 and abs(remote_rows - dw_rows) > STATS_TOLERANCE * dw_rows:
                    details.append(
                        Message(
                            "step.pushdown.stats_differ",
                            {"table": table, "remote": int(remote_rows), "local": int(dw_rows)},
                        )
                    )
                continue
            ctx.progress(self.id, Message("step.supabase.test-queries.counting", {"table": table}))
            remote = db.one(
                conn.execute(f"SELECT count(*) FROM {sql_text.identifier(schema, table)}")
            )[0]
            local = db.one(
                ctx.local_conn().execute(
                    f"SELECT count(*) FROM {sql_text.identifier(cfg.local.source_schema, table)}"
                )
            )[0]
            counts[table] = remote
            if remote != local:
                failed = True
                details.append(
                    Message(
                        "step.supabase.test-queries.count_mismatch",
                        {"table": table, "remote": remote, "local": local},
                    )
                )
        # Pushdown: the aggregate and the runbook's join travel to the DW as SQL.
        clientes = sql_text.identifier(schema, "dim_clientes")
        frota = sql_text.identifier(schema, "dim_frota")
        if "dim_clientes" in cfg.fdw.tables:
            sent = remote_sql(conn, f"SELECT count(*) FROM {clientes}")
            pushed = any("count(*)" in s for s in sent)
            details.append(
                Message(
                    "step.supabase.test-queries.count_pushed"
                    if pushed
                    else "step.supabase.test-queries.count_local",
                    {"sql": "; ".join(sent)},
                )
            )
        joins: dict[str, Any] = {}
        if {"dim_clientes", "dim_frota"} <= set(cfg.fdw.tables):
            join = (
                f"SELECT c.razao_social, f.placa, f.modelo FROM {clientes} c"
                f" JOIN {frota} f ON c.codigo_cliente = f.cliente_codigo LIMIT 10"
            )
            report = explain_joins(conn, join)
            joins["runbook join"] = report.to_json()
            pushed = bool(report.pushed) and not report.local
            details.append(
                Message(
                    "step.supabase.test-queries.join_pushed"
                    if pushed
                    else "step.supabase.test-queries.join_local",
                    {"sql": "; ".join(report.remote_sql)},
                )
            )
            details += [
                m
                for m in join_messages(report, "runbook join")
                if m.key != "step.pushdown.join_pushed"
            ]
            # Run it only when the DW does the join (a local join would read both tables).
            if pushed and len(conn.execute(join).fetchall()) == 0 and counts.get("dim_frota"):
                details.append(Message("step.supabase.test-queries.join_empty"))
        # The views the wizard created: the app's read of each, planned (not run).
        for view_step in (Clientes360(), Frota360()):
            view_cfg = getattr(cfg.views, view_step.config_key)
            if not view_cfg.enabled:
                continue
            view_report = view_step.pushdown(ctx)
            if view_report is None:
                continue
            name = f"{view_cfg.schema_name}.{view_step.view_name}"
            joins[name] = view_report.to_json()
            details += join_messages(view_report, name)
        # Every table read as each API role that should read it, with its own timeout.
        readers = [r for r in cfg.fdw.map_roles if r != "postgres"]
        for role in readers:
            for table in cfg.fdw.tables:
                try:
                    read_as(
                        conn, role, f"SELECT * FROM {sql_text.identifier(schema, table)} LIMIT 1"
                    )
                except psycopg.Error as exc:
                    failed = True
                    details.append(
                        Message(
                            "step.supabase.test-queries.read_failed",
                            {"table": table, "role": role, "error": str(exc).strip()},
                        )
                    )
        if "anon" not in readers:
            try:
                read_as(conn, "anon", f"SELECT 1 FROM {clientes} LIMIT 1")
                failed = True
                details.append(Message("step.supabase.test-queries.anon_reads"))
            except psycopg.errors.InsufficientPrivilege:
                details.append(Message("step.supabase.test-queries.anon_denied"))
            except psycopg.Error:
                pass  # no such table (not configured): nothing to prove
        lints = lint_findings(conn)
        details += lints
        facts = {"counts": counts, "lints": len(lints), "joins": joins}
        if failed:
            status, said = Status.FAILED, Message("step.supabase.test-queries.failed")
        else:
            params = {"count": len(counts), "roles": ", ".join(readers) or "-", "lints": len(lints)}
            status, said = Status.DONE, Message("step.supabase.test-queries.ok", params)
        return CheckResult(status, said, details, facts)
