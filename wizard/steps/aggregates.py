"""supabase.aggregates: the dashboards' aggregates computed on the DW, read through the FDW.

Why a step (issue 15): postgres_fdw never ships ``date_trunc('month', col)`` (the constant
'month' carries a collation), so the runbook's monthly revenue dashboard hauls the whole
invoices table to Supabase and aggregates it there — linear in the warehouse (4.7 s at scale 20
and 30 ms RTT). Aggregated on the DW and imported, it is one remote query of a few rows.

What it does, with the operator's yes (Risk.DW: it creates objects in their DW):
* on the DW: a schema ``bi_agg`` owned by the ETL's role (``reader.tables_owner``, by default the
  owner of the imported tables) with materialized views of the dashboards' aggregates — the
  monthly revenue (fat_faturamentos), maintenance by month (fat_manutencao_completa), vehicles
  off the road by month (fat_manutencao_unificado) and the fleet summary (dim_frota) — each with
  a unique index, readable by the read-only role. Materialized: a plain view would still
  aggregate the whole fact table on every read (measured at scale 20: 842 ms vs 159 ms). They
  are as fresh as their last ``REFRESH MATERIALIZED VIEW CONCURRENTLY``, which the ETL runs
  after each load as their owner (the plan's note; the app.etl step's guidance).
* on Supabase: the same schema name, private (not exposed by the API), holding the imported
  foreign tables, granted to the mapped API roles; views ``v_<aggregate>`` in the views' schema
  (like v_frota_360: security_invoker, grant_to) are what the app reads.

Why ``supabase.aggregates`` and not ``local.aggregates``: it needs the foreign server, the user
mappings and the read-only role (Phase 2) and imports into Supabase; ``local.*`` steps run
before any of these exist. An aggregate whose source table is not in ``fdw.tables`` is skipped.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from wizard import db, sql_text
from wizard.engine import (
    ApplyResult,
    CheckResult,
    NoteAction,
    Plan,
    SqlAction,
    Status,
    Step,
)
from wizard.i18n import Message
from wizard.plan import Risk
from wizard.step_context import StepContext
from wizard.steps.supabase_fdw import API_ROLES

AGG_SCHEMA = "bi_agg"
NOTIFY_RELOAD = "NOTIFY pgrst, 'reload schema'"


@dataclass(frozen=True)
class Aggregate:
    name: str  # the materialized view on the DW and the foreign table on Supabase
    source: str  # the DW table it aggregates (must be in fdw.tables)
    key: tuple[str, ...]  # its unique key (one row per ...)

    @property
    def template(self) -> str:
        return f"aggregates/{self.name}.sql"

    @property
    def view(self) -> str:
        return f"v_{self.name}"


AGGREGATES: tuple[Aggregate, ...] = (
    Aggregate("faturamento_mensal", "fat_faturamentos", ("mes",)),
    Aggregate("manutencao_mensal", "fat_manutencao_completa", ("mes", "tipo_manutencao")),
    Aggregate("parada_mensal", "fat_manutencao_unificado", ("mes", "tipo_manutencao")),
    Aggregate("frota_resumo", "dim_frota", ("marca", "categoria", "situacao")),
)
MONTHLY_REVENUE = AGGREGATES[0]


def wanted(ctx: StepContext) -> list[Aggregate]:
    return [a for a in AGGREGATES if a.source in ctx.config.fdw.tables]


def _owner(ctx: StepContext) -> str:
    from wizard.steps.local_role import table_owners

    configured = str(ctx.config.reader.tables_owner)
    if configured != "auto":
        return configured
    owners = table_owners(
        ctx.local_conn(),
        ctx.config.local.source_schema,
        [a.source for a in wanted(ctx)] or list(ctx.config.fdw.tables),
    )
    return owners[0] if owners else str(ctx.config.local.superuser)


def _readers(ctx: StepContext) -> list[str]:
    return [r for r in ctx.config.fdw.map_roles if r != "postgres"]


def _view_cfg(ctx: StepContext) -> Any:
    return ctx.config.views.frota_360  # the aggregates are exposed like the fleet's view


def refresh_statements(ctx: StepContext, conn: Any) -> list[str]:
    """What the ETL runs after each load (as the owner of the aggregates)."""
    from psycopg import sql

    return [
        sql_text.render(
            conn,
            "aggregates/refresh.sql",
            agg_schema=sql.Identifier(AGG_SCHEMA),
            view=sql.Identifier(a.name),
        ).strip()
        for a in wanted(ctx)
    ]


def statements(
    cfg: Any,
    *,
    owner: Any,
    collate: str,
    dw: dict[str, tuple[str, bool]],
    dw_schema: tuple[bool, bool],
    supa: dict[str, Any],
    readers: list[str],
) -> list[tuple[str, Any, Message]]:
    """(target, statement, description) for what is missing: ``dw``/``dw_schema``/``supa`` are
    what the servers have (the step's ``_dw_state``, ``_dw_schema``, ``_supabase_state``; empty
    for export-sql's fresh site), ``readers`` the mapped API roles that exist on Supabase and
    ``owner`` the ETL's role (a name, or export-sql's psql variable the DW fills in)."""
    from psycopg import sql

    from wizard.steps.supabase_import import analyze_statement, import_statement

    aggs = [a for a in AGGREGATES if a.source in cfg.fdw.tables]
    reader = cfg.reader.name
    agg = sql.Identifier(AGG_SCHEMA)
    out: list[tuple[str, Any, Message]] = []

    def add(target: str, statement: Any, key: str, **params: Any) -> None:
        out.append((target, statement, Message(f"step.aggregates.action.{key}", params)))

    def compose(template: str, **params: Any) -> Any:
        return sql_text.compose(template, agg_schema=agg, **params)

    if not dw_schema[0]:
        add("local", compose("aggregates/schema_create.sql", owner=owner), "dw_schema",
            schema=AGG_SCHEMA, owner=owner)  # fmt: skip
    if not dw_schema[1]:
        add("local", compose("aggregates/reader_usage.sql", role=reader), "dw_usage",
            schema=AGG_SCHEMA, role=reader)  # fmt: skip
    for a in aggs:
        name, label = sql.Identifier(a.name), f"{AGG_SCHEMA}.{a.name}"
        if a.name not in dw:
            add("local", compose(a.template, source_schema=cfg.local.source_schema),
                "dw_create", view=label, source=a.source)  # fmt: skip
            index = compose(
                "aggregates/unique_index.sql",
                index=sql.Identifier(f"{a.name}_key"),
                view=name,
                columns=sql_text.identifiers(list(a.key)),
            )
            add("local", index, "dw_index", view=label, columns=", ".join(a.key))
            add("local", compose("aggregates/owner.sql", view=name, owner=owner), "dw_owner",
                view=label, owner=owner)  # fmt: skip
        if a.name not in dw or not dw[a.name][1]:
            add("local", compose("aggregates/reader_select.sql", view=name, role=reader),
                "dw_grant", view=label, role=reader)  # fmt: skip
    # Supabase: the private schema, the import, statistics, grants, the exposed views.
    if not supa["schema"]:
        add("supabase", sql.SQL("CREATE SCHEMA {}").format(agg), "schema", schema=AGG_SCHEMA)
    to_import = [a.name for a in aggs if a.name not in supa["foreign"]]
    if to_import:
        imported = import_statement(cfg, to_import, collate, source=AGG_SCHEMA, into=AGG_SCHEMA)
        add("supabase", imported, "import", views=", ".join(to_import), schema=AGG_SCHEMA)
        for table in to_import:
            add("supabase", analyze_statement(AGG_SCHEMA, table), "analyze",
                view=f"{AGG_SCHEMA}.{table}")  # fmt: skip
    for role in readers:
        usage = sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(agg, sql.Identifier(role))
        add("supabase", usage, "usage", schema=AGG_SCHEMA, role=role)
        for a in aggs:
            if a.name in to_import or (role, a.name) in supa["missing_grants"]:
                grant = sql.SQL("GRANT SELECT ON {}.{} TO {}").format(
                    agg, sql.Identifier(a.name), sql.Identifier(role)
                )
                add("supabase", grant, "grant", view=f"{AGG_SCHEMA}.{a.name}", role=role)
    view_cfg = cfg.views.frota_360  # the aggregates are exposed like the fleet's view
    schema = sql.Identifier(view_cfg.schema_name)
    for a in aggs:
        if a.view in supa["views"]:
            continue
        expose = sql_text.compose(
            "aggregates/expose_view.sql",
            view_schema=view_cfg.schema_name,
            name=sql.Identifier(a.view),
            security_invoker=view_cfg.security_invoker,
            fdw_schema=AGG_SCHEMA,
            view=a.name,
        )
        add("supabase", expose, "view", view=f"{view_cfg.schema_name}.{a.view}")
        for role in sorted(set(API_ROLES) | set(view_cfg.grant_to)):
            granted = role in view_cfg.grant_to
            text = "GRANT SELECT ON {}.{} TO {}" if granted else "REVOKE ALL ON {}.{} FROM {}"
            statement = sql.SQL(text).format(schema, sql.Identifier(a.view), sql.Identifier(role))
            add("supabase", statement, "view_grant" if granted else "view_revoke",
                view=a.view, role=role)  # fmt: skip
    out.append(("supabase", sql.SQL(NOTIFY_RELOAD), Message("step.views.notify")))
    return out


def _drop_in_agg_schema(
    conn: Any, kind: str, names: list[str], schema: bool, said: Callable[[str], Message]
) -> list[Message]:
    """Drops the remembered objects of one side (Supabase's foreign tables, the DW's
    materialized views) in bi_agg, then bi_agg itself when this step made it there."""
    from psycopg import sql

    agg = sql.Identifier(AGG_SCHEMA)
    dropped = []
    for name in names:
        conn.execute(
            sql.SQL("DROP {} IF EXISTS {}.{}").format(sql.SQL(kind), agg, sql.Identifier(name))
        )
        dropped.append(said(f"{AGG_SCHEMA}.{name}"))
    if schema:
        with contextlib.suppress(Exception):  # RESTRICT: a schema others use stays
            with conn.transaction():
                conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {}").format(agg))
            dropped.append(said(AGG_SCHEMA))
    return dropped


class Aggregates(Step):
    id = "supabase.aggregates"
    phase = "supabase"
    requires = ("supabase.grants",)
    risks = frozenset({Risk.DW})

    # -- what is there ---------------------------------------------------------------------

    def _dw_state(self, ctx: StepContext) -> dict[str, tuple[str, bool]]:
        """{materialized view: (owner, reader can SELECT)} in the DW's aggregate schema."""
        conn = ctx.local_conn()
        rows = conn.execute(
            sql_text.render(
                conn,
                "aggregates/dw_state.sql",
                reader=ctx.config.reader.name,
                agg_schema_name=AGG_SCHEMA,
            )
        ).fetchall()
        return {str(name): (str(owner), bool(can)) for name, owner, can in rows}

    def _dw_schema(self, ctx: StepContext) -> tuple[bool, bool]:
        """(the DW's aggregate schema exists, the reader has USAGE on it)."""
        row = db.one(
            ctx.local_conn().execute(
                "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = %s),"
                " EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = %s"
                " AND has_schema_privilege(%s, oid, 'USAGE'))",
                (AGG_SCHEMA, AGG_SCHEMA, ctx.config.reader.name),
            )
        )
        return bool(row[0]), bool(row[1])

    def _supabase_state(self, ctx: StepContext) -> dict[str, Any]:
        conn = ctx.supabase_conn()
        view_schema = _view_cfg(ctx).schema_name
        foreign = {
            str(r[0])
            for r in conn.execute(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = %s AND c.relkind = 'f'",
                (AGG_SCHEMA,),
            ).fetchall()
        }
        views = {
            str(r[0])
            for r in conn.execute(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = %s AND c.relkind = 'v' AND c.relname = ANY(%s)",
                (view_schema, [a.view for a in AGGREGATES]),
            ).fetchall()
        }
        schema = db.one(
            conn.execute(
                "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = %s)", (AGG_SCHEMA,)
            )
        )[0]
        missing_grants: list[tuple[str, str]] = []
        for role in _readers(ctx):
            if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
                continue
            for a in wanted(ctx):
                if a.name in foreign:
                    can = db.one(
                        conn.execute(
                            "SELECT has_table_privilege(%s, %s, 'SELECT')",
                            (role, sql_text.identifier(AGG_SCHEMA, a.name)),
                        )
                    )[0]
                    if not can:
                        missing_grants.append((role, a.name))
        return {
            "schema": bool(schema),
            "foreign": foreign,
            "views": views,
            "missing_grants": missing_grants,
        }

    def _gaps(self, ctx: StepContext) -> list[Message]:
        aggs = wanted(ctx)
        dw = self._dw_state(ctx)
        schema, usage = self._dw_schema(ctx)
        supa = self._supabase_state(ctx)
        gaps: list[Message] = []
        if not schema:
            gaps.append(Message("step.aggregates.dw_schema_missing", {"schema": AGG_SCHEMA}))
        elif not usage:
            gaps.append(
                Message(
                    "step.aggregates.dw_usage_missing",
                    {"schema": AGG_SCHEMA, "role": ctx.config.reader.name},
                )
            )
        for a in aggs:
            name = f"{AGG_SCHEMA}.{a.name}"
            if a.name not in dw:
                gaps.append(
                    Message("step.aggregates.dw_missing", {"view": name, "source": a.source})
                )
            elif not dw[a.name][1]:
                gaps.append(
                    Message(
                        "step.aggregates.dw_grant_missing",
                        {"view": name, "role": ctx.config.reader.name},
                    )
                )
            if a.name not in supa["foreign"]:
                gaps.append(Message("step.aggregates.import_missing", {"view": name}))
            if a.view not in supa["views"]:
                gaps.append(
                    Message(
                        "step.aggregates.view_missing",
                        {"view": f"{_view_cfg(ctx).schema_name}.{a.view}"},
                    )
                )
        for role, view in supa["missing_grants"]:
            gaps.append(Message("step.aggregates.grant_missing", {"view": view, "role": role}))
        return gaps

    # -- the step ----------------------------------------------------------------------------

    def check(self, ctx: StepContext) -> CheckResult:
        aggs = wanted(ctx)
        if not aggs:
            return CheckResult(Status.NOT_APPLICABLE, Message("step.aggregates.none"))
        gaps = self._gaps(ctx)
        if gaps:
            return CheckResult(
                Status.PENDING,
                Message("step.aggregates.proposed", {"count": len(aggs), "schema": AGG_SCHEMA}),
                [*gaps, Message("step.aggregates.why")],
            )
        view_schema = _view_cfg(ctx).schema_name
        return CheckResult(
            Status.DONE,
            Message(
                "step.aggregates.ok",
                {
                    "views": ", ".join(f"{view_schema}.{a.view}" for a in aggs),
                    "schema": AGG_SCHEMA,
                },
            ),
            [
                Message(
                    "step.aggregates.refresh_note",
                    {"sql": "; ".join(refresh_statements(ctx, ctx.supabase_conn()))},
                )
            ],
        )

    def plan(self, ctx: StepContext) -> Plan:
        from wizard.steps.supabase_import import Import

        plan = Plan(self.id)
        local, conn = ctx.local_conn(), ctx.supabase_conn()
        owner = _owner(ctx)
        supa = self._supabase_state(ctx)
        collate = "true"
        if [a for a in wanted(ctx) if a.name not in supa["foreign"]]:
            collate = "false" if Import()._collations_differ(ctx) else "true"
        readers = [
            r
            for r in _readers(ctx)
            if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (r,)).fetchone()
        ]
        for target, statement, description in statements(
            ctx.config,
            owner=owner,
            collate=collate,
            dw=self._dw_state(ctx),
            dw_schema=self._dw_schema(ctx),
            supa=supa,
            readers=readers,
        ):
            text = statement.as_string(local if target == "local" else conn)
            plan.actions.append(SqlAction(target, text, description))
        plan.actions.append(
            NoteAction(
                Message(
                    "step.aggregates.refresh_note",
                    {"sql": "; ".join(refresh_statements(ctx, conn))},
                )
            )
        )
        plan.risks.add(Risk.DW)
        plan.warnings.append(
            Message("step.aggregates.dw_warning", {"schema": AGG_SCHEMA, "owner": owner})
        )
        return plan

    def apply(self, ctx: StepContext, plan: Plan) -> ApplyResult:
        """The DW's part in one transaction, then Supabase's in another (the import needs the
        DW's objects committed). What was created is remembered for undo."""
        result = ApplyResult()
        dw_before = set(self._dw_state(ctx))
        dw_schema_existed = self._dw_schema(ctx)[0]
        supa_before = self._supabase_state(ctx)
        for target, conn in (("local", ctx.local_conn()), ("supabase", ctx.supabase_conn())):
            actions = [a for a in plan.actions if isinstance(a, SqlAction) and a.target == target]
            with conn.transaction():
                for action in actions:
                    ctx.progress(self.id, action.description)
                    conn.execute(action.sql)
                    result.changes.append(action.description)
        memory = ctx.recall(self.id)
        supa_after = self._supabase_state(ctx)
        ctx.remember(
            self.id,
            dw_schema=bool(memory.get("dw_schema")) or not dw_schema_existed,
            dw_views=sorted(
                set(memory.get("dw_views") or []) | (set(self._dw_state(ctx)) - dw_before)
            ),
            schema=bool(memory.get("schema")) or not supa_before["schema"],
            foreign=sorted(
                set(memory.get("foreign") or []) | (supa_after["foreign"] - supa_before["foreign"])
            ),
            views=sorted(
                set(memory.get("views") or []) | (supa_after["views"] - supa_before["views"])
            ),
        )
        return result

    def verify(self, ctx: StepContext) -> CheckResult:
        """The check, plus the proof: each exposed view is ONE remote query of its aggregate,
        and the monthly revenue read through it equals the same total computed by the DW from
        the invoices (the query the dashboard ran before, without hauling the table)."""
        result = self.check(ctx)
        if result.status is not Status.DONE:
            return result
        proofs = self.proofs(ctx)
        result.details = [*proofs["messages"], *result.details]
        result.facts.update({k: v for k, v in proofs.items() if k != "messages"})
        if not proofs["ok"]:
            result.status = Status.FAILED
            result.message = Message("step.aggregates.proof_failed")
        return result

    def proofs(self, ctx: StepContext) -> dict[str, Any]:
        from wizard.steps.views import explain_joins

        conn = ctx.supabase_conn()
        view_schema = _view_cfg(ctx).schema_name
        messages: list[Message] = []
        remote: dict[str, list[str]] = {}
        ok = True
        for a in wanted(ctx):
            relation = f"{view_schema}.{a.view}"
            report = explain_joins(
                conn, f"SELECT * FROM {sql_text.identifier(view_schema, a.view)}"
            )
            remote[relation] = report.remote_sql
            one = len(report.remote_sql) == 1 and f"{AGG_SCHEMA}.{a.name}" in report.remote_sql[0]
            ok = ok and one
            messages.append(
                Message(
                    "step.aggregates.pushed" if one else "step.aggregates.not_pushed",
                    {"view": relation, "sql": "; ".join(report.remote_sql) or "-"},
                )
            )
        equal = None
        if MONTHLY_REVENUE in wanted(ctx):
            through = conn.execute(
                f"SELECT mes, valor_liquido FROM"
                f" {sql_text.identifier(view_schema, MONTHLY_REVENUE.view)} ORDER BY mes"
            ).fetchall()
            direct = (
                ctx.local_conn()
                .execute(
                    "SELECT date_trunc('month', data_emissao)::date, sum(valor_liquido) FROM"
                    f" {sql_text.identifier(ctx.config.local.source_schema, 'fat_faturamentos')}"
                    " GROUP BY 1 ORDER BY 1"
                )
                .fetchall()
            )
            equal = [tuple(r) for r in through] == [tuple(r) for r in direct]
            ok = ok and equal
            messages.append(
                Message(
                    "step.aggregates.equal" if equal else "step.aggregates.differs",
                    {"view": f"{view_schema}.{MONTHLY_REVENUE.view}", "months": len(direct)},
                )
            )
        return {"ok": ok, "messages": messages, "remote_sql": remote, "equal": equal}

    def undo(self, ctx: StepContext) -> ApplyResult:
        from psycopg import sql

        memory = ctx.recall(self.id)
        result = ApplyResult()
        if not any(memory.get(k) for k in ("dw_schema", "dw_views", "schema", "foreign", "views")):
            return ApplyResult([Message("step.supabase.kept", {"object": AGG_SCHEMA})])
        conn = ctx.supabase_conn()
        view_schema = sql.Identifier(_view_cfg(ctx).schema_name)
        for view in memory.get("views") or []:
            conn.execute(
                sql.SQL("DROP VIEW IF EXISTS {}.{}").format(view_schema, sql.Identifier(view))
            )
            result.changes.append(Message("step.supabase.dropped", {"object": view}))
        result.changes += _drop_in_agg_schema(
            conn,
            "FOREIGN TABLE",
            memory.get("foreign") or [],
            bool(memory.get("schema")),
            lambda name: Message("step.supabase.dropped", {"object": name}),
        )
        conn.execute(NOTIFY_RELOAD)
        result.changes += _drop_in_agg_schema(
            ctx.local_conn(),
            "MATERIALIZED VIEW",
            memory.get("dw_views") or [],
            bool(memory.get("dw_schema")),
            lambda name: Message("step.aggregates.dw_dropped", {"view": name}),
        )
        ctx.remember(self.id, dw_schema=None, dw_views=None, schema=None, foreign=None, views=None)
        return result
