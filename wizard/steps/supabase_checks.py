"""supabase.test-queries: the runbook's 2.3 test queries, proven rather than just run.

COUNT(*) per table equals the DW's; COUNT and the runbook's join are pushed down (read from
EXPLAIN VERBOSE's Remote SQL); every table is read as `authenticated` under its own
statement_timeout, as the REST API would; and Supabase's lints 0017 and 0010 are checked.
"""

from __future__ import annotations

from typing import Any

import sql_templates
from wizard import sql_text
from wizard.engine import CheckResult, Status, Step
from wizard.i18n import Message
from wizard.steps.supabase_import import exposed_schemas

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

    def check(self, ctx: Any) -> CheckResult:
        import psycopg

        cfg = ctx.config
        conn = ctx.supabase_conn()
        schema = cfg.fdw.target_schema
        details: list[Message] = []
        failed = False
        counts: dict[str, int] = {}
        for table in cfg.fdw.tables:
            ctx.progress(self.id, Message("step.supabase.test-queries.counting", {"table": table}))
            remote = conn.execute(
                f"SELECT count(*) FROM {sql_text.identifier(schema, table)}"
            ).fetchone()[0]
            local = (
                ctx.local_conn()
                .execute(
                    f"SELECT count(*) FROM {sql_text.identifier(cfg.local.source_schema, table)}"
                )
                .fetchone()[0]
            )
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
        if {"dim_clientes", "dim_frota"} <= set(cfg.fdw.tables):
            join = (
                f"SELECT c.razao_social, f.placa, f.modelo FROM {clientes} c"
                f" JOIN {frota} f ON c.codigo_cliente = f.cliente_codigo LIMIT 10"
            )
            sent = remote_sql(conn, join)
            pushed = any(" JOIN " in s.upper() for s in sent)
            details.append(
                Message(
                    "step.supabase.test-queries.join_pushed"
                    if pushed
                    else "step.supabase.test-queries.join_local",
                    {"sql": "; ".join(sent)},
                )
            )
            if len(conn.execute(join).fetchall()) == 0 and counts.get("dim_frota"):
                details.append(Message("step.supabase.test-queries.join_empty"))
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
        facts = {"counts": counts, "lints": len(lints)}
        if failed:
            return CheckResult(
                Status.FAILED, Message("step.supabase.test-queries.failed"), details, facts
            )
        return CheckResult(
            Status.DONE,
            Message(
                "step.supabase.test-queries.ok",
                {"count": len(counts), "roles": ", ".join(readers) or "-", "lints": len(lints)},
            ),
            details,
            facts,
        )
