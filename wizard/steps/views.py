"""Phase 3: the runbook's unified views (3.1 v_clientes_360, 3.2 v_frota_360).

security_invoker (the default) makes a view check the CALLER's rights: the RLS of the
operational `clientes` table applies to each app user, and Supabase's lint 0010 stays quiet;
each API role that reads the view needs its own user mapping (authenticated has one by
default). Without it, the view runs as its owner (postgres): anyone granted the view sees every
row, whatever RLS says.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

from wizard import db, sql_text
from wizard.engine import ApplyResult, CheckResult, Plan, Risk, SqlAction, Status, Step
from wizard.i18n import Message
from wizard.plan import SettingRisk, has_item, is_value
from wizard.step_context import StepContext
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


# Why a join of two foreign tables of one server can stay on Supabase (measured on the test
# bed, PostgreSQL 15, scale 1; the same arithmetic holds on 16/17): without remote estimates
# postgres_fdw prices the pushed-down join as the runs of both scans PLUS the join clause
# evaluated over their CROSS PRODUCT (estimate_path_cost_size: nrows_outer * nrows_inner *
# cpu_operator_cost) — 20k x 40k rows = 2,000,000 cost units against ~4,400 for fetching both
# tables and hash-joining them locally. The gap grows with the product of the two sizes, so no
# fdw_tuple_cost / fdw_startup_cost keeps up with the warehouse (PG17's fdw_tuple_cost 0.2
# changes nothing here), and the view's shape cannot avoid it. Per-table fetch_size does NOT
# block the join (postgres_fdw takes the larger of the two). With use_remote_estimate on one
# side, the join's cost comes from the DW's own EXPLAIN and the planner ships the join, with
# the app's LIMIT: one remote query. The price is planning round trips: 3 remote EXPLAINs for
# `v_frota_360 limit 10000`, 1 for a plain read of that table (measured) — so it goes on the
# view's driving table only, not on the server (server-wide: ~23 EXPLAINs for the same view).
#
# One more setting is needed for small LIMITs (the runbook's test join, `v_frota_360 limit 10`):
# with the DW's estimates the shipped join starts at the DW's hash-build cost, while the local
# plan counts each row crossing the network at fdw_tuple_cost = 0.01 (PostgreSQL <= 16's
# default) — far too cheap for a WAN, so Supabase would rather fetch both tables. PostgreSQL 17
# raised the default to 0.2 for that reason; the wizard sets 0.2 on the server so that 15 and 16
# plan like 17 (measured: every read of the test bed keeps or gains its pushdown).
#
# And one for the price of a remote query: use_remote_estimate also lets the planner consider
# parameterized scans — a nested loop sending one `... WHERE cliente_codigo = $1` query per row
# of the other table. With fdw_startup_cost at its default 100 each of those queries looks
# nearly free, and at scale 5 the runbook's `LIMIT 10` join became ~25 remote queries (2.6 s at
# 30 ms RTT vs 0.17 s shipped). Every postgres_fdw query costs ~5 round trips over a WAN;
# fdw_startup_cost 5000 prices it so, which only changes plans that differ in how many remote
# queries they send (a single scan, a shipped join or aggregate pay it once either way).
# Measured on the scale-5 bed: every read of the test bed ships as one query with it.
REMOTE_ESTIMATE_OPTION = "use_remote_estimate"
TUPLE_COST_OPTION = "fdw_tuple_cost"
TUPLE_COST_MIN = 0.2  # PostgreSQL 17's default
STARTUP_COST_OPTION = "fdw_startup_cost"
STARTUP_COST_MIN = 5000.0  # one remote query over a WAN (postgres_fdw's default: 100)
SERVER_COSTS: dict[str, float] = {
    TUPLE_COST_OPTION: TUPLE_COST_MIN,
    STARTUP_COST_OPTION: STARTUP_COST_MIN,
}


def _number(value: float) -> str:
    return f"{value:g}"


JOIN_NODES = ("Hash Join", "Merge Join", "Nested Loop")
APP_READ_LIMIT = 10000  # the hook's read (runbook 4.1: .select('*').limit(10000))
_RELATIONS = re.compile(r"\(([A-Za-z0-9_.\"]+)\s+[^()]*\)")


@dataclass
class LocalJoin:
    """A join the plan runs on Supabase although its foreign tables share one server."""

    server: str
    tables: list[str]  # schema.table, each side's foreign tables of that server
    estimated: bool  # one of them already has use_remote_estimate: the join is not shippable

    def to_json(self) -> dict[str, Any]:
        return {"server": self.server, "tables": self.tables, "estimated": self.estimated}


@dataclass
class JoinReport:
    """What EXPLAIN VERBOSE shows about the joins of one read."""

    query: str
    remote_sql: list[str] = field(default_factory=list)
    pushed: list[str] = field(default_factory=list)  # "Relations" of the shipped joins
    local: list[LocalJoin] = field(default_factory=list)
    local_tables: list[str] = field(default_factory=list)  # Supabase tables joined here

    def to_json(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "remote_sql": self.remote_sql,
            "pushed": self.pushed,
            "local": [j.to_json() for j in self.local],
            "local_tables": self.local_tables,
        }


def foreign_catalog(conn: Any) -> dict[str, tuple[str, dict[str, str]]]:
    """schema.table -> (server, options) of every foreign table."""
    rows = conn.execute(sql_text.render(conn, "views/foreign_servers.sql")).fetchall()
    return {
        str(rel): (str(server), dict(str(o).split("=", 1) for o in (options or [])))
        for rel, server, options in rows
    }


def _foreign_under(node: dict[str, Any]) -> list[str]:
    """Foreign relations (schema.table) read under ``node``, shipped joins included."""
    found: list[str] = []
    if node.get("Node Type") == "Foreign Scan":
        if node.get("Relation Name"):
            found.append(f"{node.get('Schema', '')}.{node['Relation Name']}")
        else:  # a shipped join or aggregate: "(bi.dim_frota f) LEFT JOIN (bi.dim_clientes c)"
            found += [m.replace('"', "") for m in _RELATIONS.findall(str(node.get("Relations")))]
    for child in node.get("Plans", []) or []:
        found += _foreign_under(child)
    return found


def _local_under(node: dict[str, Any]) -> list[str]:
    found: list[str] = []
    kind = str(node.get("Node Type", ""))
    if kind != "Foreign Scan" and kind.endswith("Scan") and node.get("Relation Name"):
        found.append(f"{node.get('Schema', '')}.{node['Relation Name']}")
    for child in node.get("Plans", []) or []:
        found += _local_under(child)
    return found


def plan_joins(
    plan: dict[str, Any], catalog: dict[str, tuple[str, dict[str, str]]], query: str = ""
) -> JoinReport:
    """Shipped joins, local joins between foreign tables of one server, and Supabase tables
    joined, from an EXPLAIN (VERBOSE, FORMAT JSON) plan's top node."""
    report = JoinReport(query)

    def walk(node: dict[str, Any]) -> None:
        kind = str(node.get("Node Type", ""))
        if kind == "Foreign Scan":
            if node.get("Remote SQL"):
                report.remote_sql.append(str(node["Remote SQL"]))
            relations = str(node.get("Relations", ""))
            if " JOIN " in relations.upper():
                report.pushed.append(relations)
        if kind in JOIN_NODES:
            sides = [_foreign_under(child) for child in node.get("Plans", []) or []]
            if len(sides) == 2:
                by_server: dict[str, list[list[str]]] = {}
                for side in sides:
                    servers = {catalog[r][0] for r in side if r in catalog}
                    for server in servers:
                        by_server.setdefault(server, []).append(
                            [r for r in side if catalog.get(r, ("",))[0] == server]
                        )
                for server, parts in sorted(by_server.items()):
                    if len(parts) == 2:
                        tables = sorted({t for part in parts for t in part})
                        estimated = any(
                            catalog[t][1].get(REMOTE_ESTIMATE_OPTION, "").lower()
                            in ("true", "on", "1")
                            for t in tables
                        )
                        report.local.append(LocalJoin(server, tables, estimated))
        for child in node.get("Plans", []) or []:
            walk(child)

    walk(plan)
    report.local_tables = sorted(set(_local_under(plan)))
    return report


def explain_joins(conn: Any, query: str) -> JoinReport:
    """EXPLAIN (VERBOSE, FORMAT JSON) of ``query`` (planned, not run: it costs the DW a few
    remote EXPLAINs at most, whatever the tables' size) and what it says about joins."""
    row = conn.execute("EXPLAIN (VERBOSE, FORMAT JSON) " + query).fetchone()
    document = row[0]
    if isinstance(document, str):
        import json

        document = json.loads(document)
    return plan_joins(document[0]["Plan"], foreign_catalog(conn), query)


def join_messages(report: JoinReport, relation: str) -> list[Message]:
    """The evidence and, for a join left on Supabase, the remedy."""
    sent = "; ".join(report.remote_sql) or "-"
    out: list[Message] = []
    for join in report.local:
        out.append(
            Message(
                "step.pushdown.join_local",
                {"relation": relation, "tables": ", ".join(join.tables), "server": join.server},
            )
        )
        if join.estimated:
            out.append(Message("step.pushdown.remedy_dw_view", {"relation": relation}))
        else:
            out.append(
                Message(
                    "step.pushdown.remedy_estimate",
                    {"table": join.tables[0], "option": REMOTE_ESTIMATE_OPTION},
                )
            )
    if report.pushed and not report.local:
        out.append(Message("step.pushdown.join_pushed", {"relation": relation, "sql": sent}))
    if report.local_tables and not report.local:
        out.append(
            Message(
                "step.pushdown.local_table",
                {"relation": relation, "tables": ", ".join(report.local_tables), "sql": sent},
            )
        )
    return out


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
    risks = frozenset({Risk.SECURITY})
    # Its section of fdw-wizard.yaml (views.<config_key>); the view's name, its template and
    # its settings follow from it (see __init_subclass__).
    config_key: ClassVar[str]
    view_name: ClassVar[str]
    template: ClassVar[str]
    # Foreign tables the view joins with a local table (their fetch_size is tuned, see above).
    locally_joined: tuple[str, ...] = ()
    # The view's driving foreign table, when it joins foreign tables of one server: it gets
    # use_remote_estimate so that the join is shipped to the DW (see REMOTE_ESTIMATE_OPTION).
    remote_estimate: tuple[str, ...] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """A view step names its config section; the rest is the same rule for every view:
        v_<key>, views/v_<key>.sql, the settings views.<key>.*, and their security risks
        (running as the owner, a grant to anon)."""
        super().__init_subclass__(**kwargs)
        key = cls.config_key
        cls.view_name = f"v_{key}"
        cls.template = f"views/v_{key}.sql"
        cls.settings_keys = tuple(
            f"views.{key}.{name}" for name in ("enabled", "schema", "security_invoker", "grant_to")
        )
        cls.setting_risks = (
            SettingRisk(
                f"views.{key}.security_invoker", Risk.SECURITY, "security_definer", is_value(False)
            ),
            SettingRisk(f"views.{key}.grant_to", Risk.SECURITY, "anon_grant", has_item("anon")),
        )

    def _cost_gaps(self, ctx: StepContext) -> dict[str, str]:
        """{server cost option: its current value ("" when unset)} for each one below what a
        view that ships joins needs (SERVER_COSTS; a higher value is the operator's and kept)."""
        from wizard.steps.supabase_fdw import current_server

        if not self.remote_estimate:
            return {}
        server = current_server(ctx.supabase_conn(), ctx.config.fdw.server_name)
        if server is None:
            return {}
        gaps: dict[str, str] = {}
        for option, minimum in SERVER_COSTS.items():
            current = server[1].get(option)
            try:
                if current is not None and float(current) >= minimum:
                    continue
            except ValueError:
                pass
            gaps[option] = current or ""
        return gaps

    def _estimate_gaps(self, ctx: StepContext) -> dict[str, dict[str, str]]:
        """{table: current options} for driving tables without use_remote_estimate 'true'."""
        conn = ctx.supabase_conn()
        gaps = {}
        for table in self.remote_estimate:
            options = foreign_table_options(conn, ctx.config.fdw.target_schema, table)
            if options is not None and options.get(REMOTE_ESTIMATE_OPTION) != "true":
                gaps[table] = options
        return gaps

    def app_read(self, ctx: StepContext) -> str:
        """The app's read of the view (the hook's LIMIT), as text."""
        cfg = self._cfg(ctx)
        return f"SELECT * FROM {sql_text.identifier(cfg.schema_name, self.view_name)}" + (
            f" LIMIT {APP_READ_LIMIT}"
        )

    def pushdown(self, ctx: StepContext) -> JoinReport | None:
        """What the DW would be sent for the app's read of the view (None: no view yet)."""
        if self._state(ctx) is None:
            return None
        return explain_joins(ctx.supabase_conn(), self.app_read(ctx))

    def _fetch_gaps(self, ctx: StepContext) -> dict[str, dict[str, str]]:
        """{table: current options} for locally joined tables without the tuned fetch_size."""
        conn = ctx.supabase_conn()
        gaps = {}
        for table in self.locally_joined:
            options = foreign_table_options(conn, ctx.config.fdw.target_schema, table)
            if options is not None and options.get("fetch_size") != str(LOCAL_JOIN_FETCH_SIZE):
                gaps[table] = options
        return gaps

    def _cfg(self, ctx: StepContext) -> Any:
        return getattr(ctx.config.views, self.config_key)

    def expected_columns(self, ctx: StepContext) -> list[str]:
        raise NotImplementedError

    def _state(self, ctx: StepContext) -> dict[str, Any] | None:
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
            role: db.one(
                conn.execute("SELECT has_table_privilege(%s, %s, 'SELECT')", (role, row[0]))
            )[0]
            for role in sorted(set(API_ROLES) | set(cfg.grant_to))
            if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
        }
        return {"columns": columns, "invoker": invoker, "readers": readers}

    def _problems(self, ctx: StepContext) -> list[Message]:
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
        problems += [
            Message(
                "step.pushdown.cost_missing",
                {
                    "option": option,
                    "current": current or "-",
                    "wanted": _number(SERVER_COSTS[option]),
                    "view": name,
                },
            )
            for option, current in self._cost_gaps(ctx).items()
        ]
        problems += [
            Message(
                "step.pushdown.estimate_missing",
                {"table": t, "view": name, "option": REMOTE_ESTIMATE_OPTION},
            )
            for t in self._estimate_gaps(ctx)
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

    def check(self, ctx: StepContext) -> CheckResult:
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
        # The proof that the view's joins run on the DW: the plan of the app's read (planned,
        # not run). A join left on Supabase is flagged with its remedy; it does not make the
        # view "pending" when the wizard has nothing more to set (the remedy is the operator's).
        name = f"{cfg.schema_name}.{self.view_name}"
        report = self.pushdown(ctx)
        evidence = join_messages(report, name) if report is not None else []
        facts = {"pushdown": report.to_json()} if report is not None else {}
        return CheckResult(
            Status.DONE,
            Message("step.views.ok", {"view": name, "roles": ", ".join(cfg.grant_to) or "-"}),
            [*evidence, explain],
            facts,
        )

    def statements(
        self,
        config: Any,
        *,
        drop: bool,
        fetch_gaps: dict[str, dict[str, str]],
        estimate_gaps: dict[str, dict[str, str]],
        cost_gaps: dict[str, str],
    ) -> list[tuple[Any, Message]]:
        """The view's statements, given what the server lacks (``*_gaps``: table or option ->
        what it has now); the plan passes the live gaps, export-sql a fresh site's."""
        from psycopg import sql

        cfg = getattr(config.views, self.config_key)
        fdw_schema = sql.Identifier(config.fdw.target_schema)
        qualified = sql.SQL("{}.{}").format(
            sql.Identifier(cfg.schema_name), sql.Identifier(self.view_name)
        )
        view = {"view": self.view_name}
        out: list[tuple[Any, Message]] = []
        if drop:  # CREATE OR REPLACE cannot drop or rename columns.
            out.append(
                (sql.SQL("DROP VIEW {}").format(qualified), Message("step.views.drop", view))
            )
        create = sql_text.compose(
            self.template,
            view_schema=cfg.schema_name,
            fdw_schema=config.fdw.target_schema,
            security_invoker=cfg.security_invoker,
        )
        out.append((create, Message("step.views.create", view)))
        for role in sorted(set(API_ROLES) | set(cfg.grant_to)):
            granted = role in cfg.grant_to
            verb = "GRANT SELECT ON {} TO {}" if granted else "REVOKE ALL ON {} FROM {}"
            key = "step.views.grant_action" if granted else "step.views.revoke_action"
            out.append(
                (
                    sql.SQL(verb).format(qualified, sql.Identifier(role)),
                    Message(key, {**view, "role": role}),
                )
            )
        for table, options in fetch_gaps.items():
            alter = sql.SQL("ALTER FOREIGN TABLE {}.{} OPTIONS ({} fetch_size {})").format(
                fdw_schema,
                sql.Identifier(table),
                sql.SQL("SET" if "fetch_size" in options else "ADD"),
                sql.Literal(str(LOCAL_JOIN_FETCH_SIZE)),
            )
            params = {**view, "table": table, "fetch": LOCAL_JOIN_FETCH_SIZE}
            out.append((alter, Message("step.views.fetch_size_action", params)))
        for table, options in estimate_gaps.items():
            alter = sql_text.compose(
                "views/table_option.sql",
                schema=config.fdw.target_schema,
                table=table,
                verb=sql.SQL("SET" if REMOTE_ESTIMATE_OPTION in options else "ADD"),
                option=sql.Identifier(REMOTE_ESTIMATE_OPTION),
                value="true",
            )
            params = {**view, "table": table, "option": REMOTE_ESTIMATE_OPTION}
            out.append((alter, Message("step.pushdown.estimate_action", params)))
        for option, current in cost_gaps.items():
            wanted = _number(SERVER_COSTS[option])
            alter = sql.SQL("ALTER SERVER {} OPTIONS ({} {} {})").format(
                sql.Identifier(config.fdw.server_name),
                sql.SQL("SET" if current else "ADD"),
                sql.Identifier(option),
                sql.Literal(wanted),
            )
            params = {**view, "current": current or "-", "wanted": wanted}
            out.append((alter, Message(f"step.pushdown.{option}_action", params)))
        out.append((sql.SQL(NOTIFY_RELOAD), Message("step.views.notify")))
        return out

    def plan(self, ctx: StepContext) -> Plan:
        conn = ctx.supabase_conn()
        cfg = self._cfg(ctx)
        plan = Plan(self.id)
        state = self._state(ctx)
        drop = state is not None and state["columns"] != self.expected_columns(ctx)
        for statement, description in self.statements(
            ctx.config,
            drop=drop,
            fetch_gaps=self._fetch_gaps(ctx),
            estimate_gaps=self._estimate_gaps(ctx),
            cost_gaps=self._cost_gaps(ctx),
        ):
            plan.actions.append(SqlAction("supabase", statement.as_string(conn), description))
        if not cfg.security_invoker:
            plan.risks.add(Risk.SECURITY)
            plan.warnings.append(Message("step.views.about_definer"))
        if "anon" in cfg.grant_to:
            plan.risks.add(Risk.SECURITY)
            plan.warnings.append(Message("step.views.anon", {"view": self.view_name}))
        return plan

    def apply(self, ctx: StepContext, plan: Plan) -> ApplyResult:
        created = self._state(ctx) is None
        estimated = [
            t for t, o in self._estimate_gaps(ctx).items() if REMOTE_ESTIMATE_OPTION not in o
        ]
        costs = self._cost_gaps(ctx)
        result = run_actions(ctx, self.id, plan, ctx.supabase_conn())
        if costs:
            # What undo puts back: the values this apply replaced, or nothing ("").
            kept = dict(ctx.recall(self.id).get("costs_before") or {})
            ctx.remember(self.id, costs_before={**kept, **costs})
        if created:
            ctx.remember(self.id, created=True)
        if estimated:  # options the wizard added (undo drops only those)
            before = list(ctx.recall(self.id).get("estimated") or [])
            ctx.remember(self.id, estimated=sorted(set(before) | set(estimated)))
        return result

    def undo_says(self, ctx: StepContext, memory: dict[str, Any]) -> list[Message]:
        return self.said_if_created(memory, "undo.preview.drop.view", self.view_name)

    def undo(self, ctx: StepContext) -> ApplyResult:
        from psycopg import sql

        cfg = self._cfg(ctx)
        memory = ctx.recall(self.id)
        if not (memory.get("created") or memory.get("estimated") or memory.get("costs_before")):
            return ApplyResult([Message("step.supabase.kept", {"object": self.view_name})])
        conn = ctx.supabase_conn()
        result = ApplyResult()
        schema = ctx.config.fdw.target_schema
        for table in memory.get("estimated") or []:
            options = foreign_table_options(conn, schema, table)
            if options and REMOTE_ESTIMATE_OPTION in options:
                conn.execute(
                    sql_text.render(
                        conn,
                        "views/table_option_drop.sql",
                        schema=schema,
                        table=table,
                        option=sql.Identifier(REMOTE_ESTIMATE_OPTION),
                    )
                )
                result.changes.append(
                    Message(
                        "step.pushdown.estimate_dropped",
                        {"table": table, "option": REMOTE_ESTIMATE_OPTION},
                    )
                )
        server = sql.Identifier(ctx.config.fdw.server_name)
        for option, value in (memory.get("costs_before") or {}).items():
            before = str(value or "")
            with contextlib.suppress(Exception), conn.transaction():  # the server may be gone
                if before:
                    conn.execute(
                        sql.SQL("ALTER SERVER {} OPTIONS (SET {} {})").format(
                            server, sql.Identifier(option), sql.Literal(before)
                        )
                    )
                else:
                    conn.execute(
                        sql.SQL("ALTER SERVER {} OPTIONS (DROP {})").format(
                            server, sql.Identifier(option)
                        )
                    )
                result.changes.append(
                    Message(
                        "step.pushdown.cost_restored", {"option": option, "value": before or "-"}
                    )
                )
        if memory.get("created"):
            conn.execute(
                sql.SQL("DROP VIEW IF EXISTS {}.{}").format(
                    sql.Identifier(cfg.schema_name), sql.Identifier(self.view_name)
                )
            )
            for table in self.locally_joined:
                options = foreign_table_options(conn, schema, table)
                if options and options.get("fetch_size") == str(LOCAL_JOIN_FETCH_SIZE):
                    conn.execute(
                        sql.SQL("ALTER FOREIGN TABLE {}.{} OPTIONS (DROP fetch_size)").format(
                            sql.Identifier(schema), sql.Identifier(table)
                        )
                    )
            result.changes.append(Message("step.supabase.dropped", {"object": self.view_name}))
        conn.execute(NOTIFY_RELOAD)
        ctx.remember(self.id, created=None, estimated=None, costs_before=None)
        return result


class Clientes360(ViewStep):
    """Runbook 3.1: Supabase's clientes joined with the DW's dim_clientes (through the FDW)."""

    id = "views.clientes-360"
    config_key = "clientes_360"
    locally_joined = ("dim_clientes",)

    def expected_columns(self, ctx: StepContext) -> list[str]:
        return list(CLIENTES_COLUMNS)


class Frota360(ViewStep):
    """Runbook 3.2: the fleet with its client's name and city (the join is shipped to the DW)."""

    id = "views.frota-360"
    config_key = "frota_360"
    remote_estimate = ("dim_frota",)

    def expected_columns(self, ctx: StepContext) -> list[str]:
        from wizard.steps.supabase_import import foreign_tables

        frota = foreign_tables(ctx).get("dim_frota", {})
        return [*frota, "cliente_nome", "cliente_cidade"]
