"""supabase.aggregates on a test bed of its own: the dashboards' aggregates built on the DW,
read through the FDW as one remote query, with the DW's numbers; declined without a yes;
a second apply changes nothing; undo leaves both sides as they were."""

from __future__ import annotations

from typing import Any

import pytest

from wizard.engine import Risk, Status
from wizard.session import open_session
from wizard.steps.aggregates import AGG_SCHEMA, AGGREGATES, Aggregates
from wizard.steps.supabase_checks import remote_sql
from wizard.testbed.bed import DW_ETL_ROLE, TestBed

pytestmark = pytest.mark.clusters

STEP = "supabase.aggregates"
MONTHLY = (
    "SELECT date_trunc('month', data_emissao)::date AS mes, sum(valor_liquido)"
    " FROM {table} GROUP BY 1 ORDER BY 1"
)


@pytest.fixture(scope="module")
def site(applied_site: dict[str, Any]) -> dict[str, Any]:
    return applied_site


def by_id(report: Any) -> dict[str, Any]:
    return {o.step_id: o for o in report.outcomes}


def supa(bed: TestBed) -> Any:
    conn = bed.supabase.connect(user="postgres")
    conn.autocommit = True
    return conn


def test_declined_without_a_yes_and_the_plan_names_the_dw_risk(site: dict[str, Any]) -> None:
    ctx, runner = open_session(site["config"], site["path"])
    step = Aggregates()
    try:
        if step.check(ctx).status is Status.DONE:  # the fixture's apply said yes to everything
            step.undo(ctx)
        checked = step.check(ctx)
        assert checked.status is Status.PENDING
        assert checked.message.key == "step.aggregates.proposed"
        plan = step.plan(ctx)
        assert Risk.DW in plan.risks
        targets = {a.target for a in plan.actions if hasattr(a, "target")}
        assert targets == {"local", "supabase"}
        sql = "\n".join(a.sql for a in plan.actions if hasattr(a, "sql"))
        assert "CREATE MATERIALIZED VIEW" in sql and "IMPORT FOREIGN SCHEMA" in sql
        # The templates' comments are for developers, in English: the preview a pt-BR operator
        # reads carries the catalog's words around the SQL, never those comments.
        assert [line for line in sql.splitlines() if line.lstrip().startswith("--")] == []
        notes = [a for a in plan.actions if not hasattr(a, "sql")]
        assert any("REFRESH MATERIALIZED VIEW CONCURRENTLY" in str(n.to_json()) for n in notes)
        declined = by_id(runner.apply([STEP], confirm=lambda s, p: False))[STEP]
        assert declined.status is Status.SKIPPED
        with site["bed"].dw.connect() as dw:
            assert (
                dw.execute(
                    "SELECT count(*) FROM pg_namespace WHERE nspname = %s", (AGG_SCHEMA,)
                ).fetchone()[0]
                == 0
            )
    finally:
        ctx.close()


def test_apply_builds_pushed_down_aggregates_with_the_dws_numbers(site: dict[str, Any]) -> None:
    bed: TestBed = site["bed"]
    ctx, runner = open_session(site["config"], site["path"])
    try:
        if Aggregates().check(ctx).status is Status.DONE:  # built here, whatever ran before
            Aggregates().undo(ctx)
        done = by_id(runner.apply([STEP], confirm=lambda s, p: True))[STEP]
        assert done.status is Status.DONE, [d.render("en") for d in done.details]
        assert done.facts["equal"] is True
        again = by_id(runner.apply([STEP], confirm=lambda s, p: True))[STEP]
        assert again.status is Status.DONE and not again.changed  # a second run: nothing
    finally:
        ctx.close()
    with bed.dw.connect() as dw:
        owners = dict(
            dw.execute(
                "SELECT matviewname, matviewowner FROM pg_matviews WHERE schemaname = %s",
                (AGG_SCHEMA,),
            ).fetchall()
        )
        direct = dw.execute(MONTHLY.format(table="public.fat_faturamentos")).fetchall()
    assert owners == {a.name: DW_ETL_ROLE for a in AGGREGATES}  # the ETL's role refreshes them
    with supa(bed) as conn:
        # The dashboard through the aggregate: ONE remote query, of the aggregate.
        sent = remote_sql(conn, "SELECT mes, valor_liquido FROM public.v_faturamento_mensal")
        assert len(sent) == 1 and f"FROM {AGG_SCHEMA}.faturamento_mensal" in sent[0], sent
        through = conn.execute(
            "SELECT mes, valor_liquido FROM public.v_faturamento_mensal ORDER BY mes"
        ).fetchall()
        # The same dashboard the old way: date_trunc is not shipped, every invoice crosses.
        old_sent = remote_sql(conn, MONTHLY.format(table="bi.fat_faturamentos"))
        assert not any("date_trunc" in s or "sum(" in s for s in old_sent)
        not_pushed = conn.execute(MONTHLY.format(table="bi.fat_faturamentos")).fetchall()
        for agg in AGGREGATES:
            assert len(remote_sql(conn, f"SELECT * FROM public.v_{agg.name}")) == 1
        # Readable as the app's role, not by anon.
        conn.execute("SET ROLE authenticated")
        assert conn.execute("SELECT count(*) FROM public.v_frota_resumo").fetchone()[0] > 0
        conn.execute("RESET ROLE")
        denied = conn.execute(
            "SELECT has_table_privilege('anon', 'public.v_faturamento_mensal', 'SELECT')"
        ).fetchone()[0]
        assert denied is False
    assert through == direct == not_pushed
    assert len(through) > 1


def test_undo_removes_what_it_created_on_both_sides(site: dict[str, Any]) -> None:
    bed: TestBed = site["bed"]
    ctx, runner = open_session(site["config"], site["path"])
    try:
        runner.apply([STEP], confirm=lambda s, p: True)
        Aggregates().undo(ctx)
        assert Aggregates().check(ctx).status is Status.PENDING
    finally:
        ctx.close()
    with bed.dw.connect() as dw:
        assert (
            dw.execute(
                "SELECT count(*) FROM pg_namespace WHERE nspname = %s", (AGG_SCHEMA,)
            ).fetchone()[0]
            == 0
        )
    with supa(bed) as conn:
        left = conn.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = %s OR c.relname = ANY(%s)",
            (AGG_SCHEMA, [f"v_{a.name}" for a in AGGREGATES]),
        ).fetchone()[0]
        assert left == 0
        schema = conn.execute(
            "SELECT count(*) FROM pg_namespace WHERE nspname = %s", (AGG_SCHEMA,)
        ).fetchone()[0]
        assert schema == 0


def test_validate_latency_reads_the_aggregates_as_one_remote_query(site: dict[str, Any]) -> None:
    from wizard.steps.validate import Latency

    config = site["config"].model_copy(deep=True)
    config.validation.latency_target_ms = 1  # every read "over": every remedy is shown
    config.validation.samples = 1
    ctx, runner = open_session(config, site["path"])
    try:
        runner.apply([STEP], confirm=lambda s, p: True)
        ctx.fresh_measurements = True
        facts = Latency().check(ctx).facts
    finally:
        ctx.close()
    fat = next(r for r in facts["relations"] if r["relation"] == "bi.fat_faturamentos")
    monthly = next(r for r in fat["reads"] if r["read"] == "aggregate")
    first = monthly["remedies"][0]
    assert first["key"] == "step.pushdown.remedy_aggregate_step"
    assert first["params"]["view"] == "public.v_faturamento_mensal"
    measured = {r["relation"]: r for r in facts["relations"] if r["kind"] == "aggregate"}
    assert set(measured) == {f"public.v_{a.name}" for a in AGGREGATES}
    for relation in measured.values():
        assert {r["read"] for r in relation["reads"]} == {"limit", "count"}
        for read in relation["reads"]:
            assert len(read["remote_sql"]) == 1 and AGG_SCHEMA in read["remote_sql"][0]
