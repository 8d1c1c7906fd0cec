"""Joins the wizard creates run on the DW (Remote SQL), and a join left on Supabase is flagged.

On a test bed of its own with Phases 1-3 applied. Why v_frota_360's join used to stay local
(see wizard/steps/views.py): without remote estimates postgres_fdw prices a shipped join as the
cross product of both tables, so the planner fetched both and joined them on Supabase; the
views step now sets use_remote_estimate on the view's driving table and fdw_tuple_cost 0.2 on
the server. v_clientes_360 joins Supabase's own `clientes`, which the DW cannot see: no
PostgreSQL can ship that join, so what is asserted there is that the DW receives one plain scan
of dim_clientes and that no join of two foreign tables is left on Supabase.
"""

from __future__ import annotations

from typing import Any

import pytest

from wizard.engine import Status
from wizard.session import open_session
from wizard.steps.supabase_checks import remote_sql
from wizard.steps.validate import Latency
from wizard.steps.views import (
    REMOTE_ESTIMATE_OPTION,
    STARTUP_COST_OPTION,
    TUPLE_COST_OPTION,
    Frota360,
    explain_joins,
    foreign_table_options,
)
from wizard.testbed.bed import TestBed

pytestmark = pytest.mark.clusters

RUNBOOK_JOIN = (
    "SELECT c.razao_social, f.placa, f.modelo FROM bi.dim_clientes c"
    " JOIN bi.dim_frota f ON c.codigo_cliente = f.cliente_codigo"
)


@pytest.fixture(scope="module")
def site(applied_site: dict[str, Any]) -> dict[str, Any]:
    return applied_site


def supa(bed: TestBed) -> Any:
    conn = bed.supabase.connect(user="postgres")
    conn.autocommit = True
    return conn


def by_id(report: Any) -> dict[str, Any]:
    return {o.step_id: o for o in report.outcomes}


def test_v_frota_360_join_runs_on_the_dw(site: dict[str, Any]) -> None:
    with supa(site["bed"]) as conn:
        for query in (
            "SELECT * FROM public.v_frota_360 LIMIT 10000",  # the app's read
            "SELECT * FROM public.v_frota_360 LIMIT 10",
            "SELECT * FROM public.v_frota_360",
        ):
            sent = remote_sql(conn, query)
            assert len(sent) == 1, (query, sent)  # one remote query
            assert "LEFT JOIN public.dim_clientes" in sent[0], sent
            assert "FROM (public.dim_frota" in sent[0], sent
        # The LIMIT travels with the join (the bed's fleet is smaller than the app's 10000).
        assert remote_sql(conn, "SELECT * FROM public.v_frota_360 LIMIT 10")[0].endswith(
            "LIMIT 10::bigint"
        )
        report = explain_joins(conn, "SELECT * FROM public.v_frota_360 LIMIT 10000")
        assert report.local == [] and report.local_tables == []
        assert report.pushed and " JOIN " in report.pushed[0]
        # The same rows as the join computed by the DW itself.
        via_fdw = conn.execute(
            "SELECT count(*), count(cliente_nome), md5(string_agg(placa || coalesce(cliente_nome,"
            " '-'), ',' ORDER BY placa)) FROM public.v_frota_360"
        ).fetchone()
    with site["bed"].dw.connect() as dw:
        direct = dw.execute(
            "SELECT count(*), count(c.razao_social), md5(string_agg(f.placa ||"
            " coalesce(c.razao_social, '-'), ',' ORDER BY f.placa)) FROM dim_frota f"
            " LEFT JOIN dim_clientes c ON f.cliente_codigo = c.codigo_cliente"
        ).fetchone()
    assert via_fdw == direct


def test_v_clientes_360_ships_one_scan_and_no_foreign_join_stays_local(
    site: dict[str, Any],
) -> None:
    with supa(site["bed"]) as conn:
        report = explain_joins(conn, "SELECT * FROM public.v_clientes_360 LIMIT 10000")
    assert report.local == []  # no join of two foreign tables left on Supabase
    assert report.local_tables == ["public.clientes"]  # Supabase's own table: never shippable
    assert len(report.remote_sql) == 1
    assert report.remote_sql[0].endswith("FROM public.dim_clientes")


def test_the_runbook_join_is_shipped_with_its_limit(site: dict[str, Any]) -> None:
    with supa(site["bed"]) as conn:
        for query, tail in ((RUNBOOK_JOIN + " LIMIT 10", "LIMIT 10::bigint"), (RUNBOOK_JOIN, "")):
            sent = remote_sql(conn, query)
            assert len(sent) == 1 and "INNER JOIN public.dim_frota" in sent[0], sent
            assert sent[0].endswith(tail)


def test_steps_report_the_pushdown_as_evidence(site: dict[str, Any]) -> None:
    report = by_id(site["runner"].status(["supabase.test-queries", "views.frota-360"]))
    test_queries = report["supabase.test-queries"]
    assert test_queries.status is Status.DONE
    keys = [d.key for d in test_queries.details]
    assert "step.supabase.test-queries.join_pushed" in keys
    assert "step.pushdown.join_local" not in keys
    joins = test_queries.facts["joins"]
    assert set(joins) == {"runbook join", "public.v_clientes_360", "public.v_frota_360"}
    assert joins["public.v_frota_360"]["pushed"] and not joins["public.v_frota_360"]["local"]
    frota = report["views.frota-360"]
    assert frota.status is Status.DONE
    assert "step.pushdown.join_pushed" in {d.key for d in frota.details}


def test_a_join_left_on_supabase_is_flagged_with_its_remedy_and_fixed_by_apply(
    site: dict[str, Any],
) -> None:
    """Take away what the views step set (as a runbook-built setup has it): the join goes back
    to Supabase, test-queries and validate.latency flag it with the remedy, the views step says
    what is missing, and applying it brings the join back to the DW."""
    bed: TestBed = site["bed"]
    server = site["config"].fdw.server_name
    with supa(bed) as conn:
        conn.execute(f"ALTER FOREIGN TABLE bi.dim_frota OPTIONS (DROP {REMOTE_ESTIMATE_OPTION})")
        conn.execute(f"ALTER SERVER {server} OPTIONS (DROP {TUPLE_COST_OPTION})")
        conn.execute(f"ALTER SERVER {server} OPTIONS (DROP {STARTUP_COST_OPTION})")
        local = explain_joins(conn, "SELECT * FROM public.v_frota_360 LIMIT 10000")
    assert [j.tables for j in local.local] == [["bi.dim_clientes", "bi.dim_frota"]]
    assert len(local.remote_sql) == 2 and not any("JOIN" in s for s in local.remote_sql)

    ctx, runner = open_session(site["config"], site["path"])
    ctx.fresh_measurements = True
    try:
        report = by_id(runner.status(["supabase.test-queries", "views.frota-360"]))
        test_queries = report["supabase.test-queries"]
        keys = [d.key for d in test_queries.details]
        assert "step.pushdown.join_local" in keys
        assert "step.pushdown.remedy_estimate" in keys
        flagged = next(d for d in test_queries.details if d.key == "step.pushdown.join_local")
        assert flagged.params["relation"] == "public.v_frota_360" or "runbook" in str(
            flagged.params["relation"]
        )
        views = report["views.frota-360"]
        assert views.status is Status.PENDING
        assert "step.pushdown.estimate_missing" in {d.key for d in views.details}
        missing = {
            d.params["option"] for d in views.details if d.key == "step.pushdown.cost_missing"
        }
        assert missing == {TUPLE_COST_OPTION, STARTUP_COST_OPTION}
        # The runner would hold validate.latency back (views.frota-360 is pending): its check.
        latency = Latency().check(ctx)
        frota_reads = next(
            r for r in latency.facts["relations"] if r["relation"] == "public.v_frota_360"
        )["reads"]
        limit_read = next(r for r in frota_reads if r["read"] == "limit")
        assert limit_read["pushdown"]["join"] == "local"
        assert "step.pushdown.remedy_estimate" in {f["key"] for f in limit_read["local_joins"]}
        assert "step.pushdown.join_local" in {d.key for d in latency.details}
        clientes_reads = next(
            r for r in latency.facts["relations"] if r["relation"] == "public.v_clientes_360"
        )["reads"]
        assert {r["pushdown"]["join"] for r in clientes_reads} <= {"local_table", None}

        fixed = by_id(runner.apply(["views.frota-360"], confirm=lambda s, p: True))
        assert fixed["views.frota-360"].status is Status.DONE
        assert fixed["views.frota-360"].changed
        sent = [a.sql for a in fixed["views.frota-360"].plan.actions if hasattr(a, "sql")]
        assert any(REMOTE_ESTIMATE_OPTION in s for s in sent)
        assert any(TUPLE_COST_OPTION in s for s in sent)
        assert any(STARTUP_COST_OPTION in s for s in sent)
        again = by_id(runner.apply(["views.frota-360"], confirm=lambda s, p: True))
        assert not again["views.frota-360"].changed  # a second run changes nothing
    finally:
        ctx.close()
    with supa(bed) as conn:
        sent = remote_sql(conn, "SELECT * FROM public.v_frota_360 LIMIT 10000")
        assert len(sent) == 1 and "LEFT JOIN" in sent[0]


def test_undo_puts_the_options_back(site: dict[str, Any]) -> None:
    """Undo drops exactly what the step added (and only that), and apply sets it again."""
    bed: TestBed = site["bed"]
    server = site["config"].fdw.server_name
    ctx, runner = open_session(site["config"], site["path"])
    step = Frota360()
    try:
        with supa(bed) as conn:
            conn.execute(
                f"ALTER FOREIGN TABLE bi.dim_frota OPTIONS (DROP {REMOTE_ESTIMATE_OPTION})"
            )
            conn.execute(f"ALTER SERVER {server} OPTIONS (SET {TUPLE_COST_OPTION} '0.05')")
        runner.apply(["views.frota-360"], confirm=lambda s, p: True)
        step.undo(ctx)
        with supa(bed) as conn:
            options = foreign_table_options(conn, "bi", "dim_frota") or {}
            assert REMOTE_ESTIMATE_OPTION not in options
            srv = conn.execute(
                "SELECT srvoptions FROM pg_foreign_server WHERE srvname = %s", (server,)
            ).fetchone()[0]
            assert f"{TUPLE_COST_OPTION}=0.05" in srv  # the operator's value, as before
    finally:
        by_id(runner.apply(["views.frota-360"], confirm=lambda s, p: True))
        ctx.close()
    with supa(bed) as conn:
        assert (foreign_table_options(conn, "bi", "dim_frota") or {}).get(
            REMOTE_ESTIMATE_OPTION
        ) == "true"
