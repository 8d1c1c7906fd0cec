"""Phase 4 on a test bed of its own: latency and pushdown of every app read, the offline
time-to-error against a loopback blackhole, and the health probe — after a full Phase 1-3."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import psycopg
import pytest

from wizard import latency, monitor
from wizard.blackhole import Blackhole
from wizard.engine import Status
from wizard.session import open_session
from wizard.steps.supabase_checks import remote_sql
from wizard.steps.supabase_fdw import current_server
from wizard.testbed import TestBed

pytestmark = pytest.mark.clusters

LEFTOVERS = (
    "SELECT (SELECT count(*) FROM pg_foreign_server"
    " WHERE srvname LIKE 'fdw\\_wizard\\_offline\\_%')"
    " + (SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'fdw\\_wizard\\_offline\\_%')"
)


@pytest.fixture(scope="module")
def site(applied_site: dict[str, Any]) -> dict[str, Any]:
    return {**applied_site, "report": applied_site["runner"].status(["validate"])}


def outcome(site: dict[str, Any], step_id: str) -> Any:
    return next(o for o in site["report"].outcomes if o.step_id == step_id)


def supa(bed: TestBed) -> psycopg.Connection[Any]:
    return bed.supabase.connect(user="postgres")


def test_latency_measures_every_table_and_view(site: dict[str, Any]) -> None:
    lat = outcome(site, "validate.latency")
    assert lat.status is Status.DONE, [d.render("en") for d in lat.details]
    facts = lat.facts
    names = {r["relation"] for r in facts["relations"]}
    tables = {f"bi.{t}" for t in site["ctx"].config.fdw.tables}
    assert names == tables | {"public.v_clientes_360", "public.v_frota_360"}
    assert facts["network"]["dw_rtt_ms"] is not None
    assert facts["target_ms"] == 500
    for rel in facts["relations"]:
        kinds = [r["read"] for r in rel["reads"]]
        assert kinds[:2] == ["limit", "count"]
        for read in rel["reads"]:
            assert read["verdict"] == "ok"
            assert read["n"] == site["ctx"].config.validation.samples
            assert 0 <= read["p50_ms"] <= read["p95_ms"] <= read["max_ms"]


def test_pushdown_flags_match_explain(site: dict[str, Any]) -> None:
    facts = outcome(site, "validate.latency").facts
    with supa(site["bed"]) as conn:
        for rel in facts["relations"]:
            for read in rel["reads"]:
                sent = remote_sql(conn, read["sql"])
                assert sorted(sent) == sorted(read["remote_sql"]), read["sql"]
                flags = read["pushdown"]
                if read["read"] == "count":
                    pushed = any("count(*)" in s for s in sent)
                    assert flags["aggregate"] == ("pushed" if pushed else "not_pushed")
                if read["read"] == "limit":
                    assert (flags["limit"] == "pushed") == any(" LIMIT " in s for s in sent)
        # Plain foreign tables: COUNT is computed by the DW.
        counts = [
            r["pushdown"]["aggregate"]
            for rel in facts["relations"]
            if rel["kind"] == "table"
            for r in rel["reads"]
            if r["read"] == "count"
        ]
        assert set(counts) == {"pushed"}


def test_date_trunc_aggregate_flagged_as_not_pushed_down(site: dict[str, Any]) -> None:
    facts = outcome(site, "validate.latency").facts
    fat = next(r for r in facts["relations"] if r["relation"] == "bi.fat_faturamentos")
    agg = next(r for r in fat["reads"] if r["read"] == "aggregate")
    assert "date_trunc('month'" in agg["sql"]
    assert agg["pushdown"]["aggregate"] == "not_pushed"
    assert not any("sum(" in s or "date_trunc" in s for s in agg["remote_sql"])
    assert "validate.finding.date_trunc" in {f["key"] for f in agg["findings"]}
    keys = {d.key for d in outcome(site, "validate.latency").details}
    assert "step.validate.latency.date_trunc" in keys


def test_tiny_target_fails_with_remedies(site: dict[str, Any], tmp_path: Path) -> None:
    config = site["ctx"].config.model_copy(deep=True)
    config.validation.latency_target_ms = 1
    config.validation.samples = 2
    ctx, runner = open_session(config, site["path"])
    try:
        report = runner.status(["validate.latency"])
    finally:
        ctx.close()
    lat = next(o for o in report.outcomes if o.step_id == "validate.latency")
    assert lat.status is Status.FAILED
    assert lat.facts["over"] > 0
    over = [
        (rel["relation"], r)
        for rel in lat.facts["relations"]
        for r in rel["reads"]
        if r["verdict"] == "over"
    ]
    assert over
    for _name, read in over:
        assert read["remedies"], read["sql"]
        assert all(m["key"].startswith("validate.remedy.") for m in read["remedies"])
    remedies = {(name, read["read"]): {m["key"] for m in read["remedies"]} for name, read in over}
    if ("bi.fat_faturamentos", "aggregate") in remedies:
        assert "validate.remedy.dw_aggregate" in remedies[("bi.fat_faturamentos", "aggregate")]
    if ("public.v_clientes_360", "limit") in remedies:
        assert "validate.remedy.materialize" in remedies[("public.v_clientes_360", "limit")]
    assert "step.validate.latency.read_over" in {d.key for d in lat.details}


def test_unanalyzed_table_gets_analyze_and_index_remedies(site: dict[str, Any]) -> None:
    ctx = site["ctx"]
    with supa(site["bed"]) as conn:
        conn.execute("CREATE SCHEMA raw_probe")
        try:
            conn.execute(
                "IMPORT FOREIGN SCHEMA public LIMIT TO (dim_clientes)"
                " FROM SERVER bluconecta_dw_server INTO raw_probe"
            )
            rows = conn.execute("SELECT count(*) FROM raw_probe.dim_clientes").fetchone()[0]
            limit = rows - 1  # more rows exist than the read wants
            read = latency.Read(
                ("raw_probe", "dim_clientes"),
                "table",
                "limit",
                "validate/read_limit.sql",
                {"limit": limit},
            )
            m = latency.measure(conn, "postgres", read, 1)
            flags = latency.pushdown(m)
            assert flags["limit"] == "not_pushed"  # no statistics: LIMIT stays on Supabase
            found = latency.remedies(m, flags, target_ms=1, rtt_ms=0.1, fetch_size=100000)
            assert "validate.remedy.analyze" in {f.key for f in found}
        finally:
            conn.execute("DROP SCHEMA raw_probe CASCADE")
    scans = latency.dw_seq_scans(
        ctx.local_conn(), "SELECT numero_nota FROM public.fat_faturamentos WHERE situacao = 'x'"
    )
    assert scans and scans[0].startswith("fat_faturamentos")


def test_offline_fails_in_time_against_a_blackhole(site: dict[str, Any]) -> None:
    off = outcome(site, "validate.offline")
    assert off.status is Status.DONE, off.message.render("en")
    bound = site["ctx"].config.fdw.connect_timeout_s + 2
    probe = off.facts["probe"]
    assert probe["kind"] == "blackhole"
    # The bound IS the feature: the app's query must fail before its fallback is too late.
    assert probe["seconds"] is not None and probe["seconds"] <= bound
    assert "timeout expired" in probe["error"]
    assert probe["cleaned"]
    refused = off.facts["refused"]
    assert refused["seconds"] is not None and refused["seconds"] < probe["seconds"]
    assert "refused" in refused["error"].lower()
    with supa(site["bed"]) as conn:
        assert conn.execute(LEFTOVERS).fetchone()[0] == 0


def _options(ctx: Any) -> dict[str, str]:
    server = current_server(ctx.supabase_conn(), ctx.config.fdw.server_name)
    assert server is not None
    return server[1]


def test_offline_objects_removed_when_interrupted(site: dict[str, Any]) -> None:
    ctx = site["ctx"]

    def interrupt() -> None:
        with supa(site["bed"]) as other:  # uncommitted: nobody else ever sees them
            assert other.execute(LEFTOVERS).fetchone()[0] == 0
        raise KeyboardInterrupt

    with Blackhole() as hole, pytest.raises(KeyboardInterrupt):
        latency.time_to_error(
            lambda: monitor.open_supabase(ctx),
            ctx.supabase_conn(),
            _options(ctx),
            hole.host,
            hole.port,
            kind="blackhole",
            remote_user=ctx.config.reader.name,
            statement_timeout="8s",
            cap_s=10,
            on_created=interrupt,
        )
    with supa(site["bed"]) as conn:
        assert conn.execute(LEFTOVERS).fetchone()[0] == 0


def test_offline_without_connect_timeout_hangs_and_is_cut(site: dict[str, Any]) -> None:
    """The runbook's server (no connect_timeout): statement_timeout does not help on PG15; the
    wizard stops waiting at its cap, frees the backend and still leaves nothing behind."""
    ctx = site["ctx"]
    options = {k: v for k, v in _options(ctx).items() if k != "connect_timeout"}
    started = time.monotonic()
    with Blackhole() as hole:
        out = latency.time_to_error(
            lambda: monitor.open_supabase(ctx),
            ctx.supabase_conn(),
            options,
            hole.host,
            hole.port,
            kind="blackhole",
            remote_user=ctx.config.reader.name,
            statement_timeout="1s",
            cap_s=2.5,
            release=hole.release,
        )
    assert out.hung and out.seconds is None
    assert out.cleaned
    assert time.monotonic() - started < 2.5 + 5 + 3  # the wizard's own wait is bounded


def test_monitor_probe_is_logged_and_gate_pending(site: dict[str, Any]) -> None:
    mon = outcome(site, "validate.monitor")
    assert mon.status is Status.PENDING
    assert mon.facts["records"] >= 1 and mon.facts["ok"] >= 1
    assert mon.facts["gate_ok"] is False
    ok, summary = monitor.monitor_gate(site["ctx"])
    assert not ok
    assert summary["remaining_hours"] > 47
    assert Path(summary["log"]).is_file()


def test_a_table_no_bigger_than_the_limit_is_not_flagged() -> None:
    """Found on the demo at scale 1: dim_contratos_locacao has exactly 10,000 rows, so the
    planner keeps LIMIT 10000 local — correctly: the whole table crosses either way."""
    from wizard.latency import HOOK_LIMIT, Measured, Read, Scan, pushdown

    read = Read(("bi", "dim_contratos_locacao"), "table", "limit", "", {"limit": HOOK_LIMIT})
    scan = Scan("bi.dim_contratos_locacao", True, HOOK_LIMIT, 84, "SELECT a FROM t")
    measured = Measured(read, "select", scans=[scan], rows=HOOK_LIMIT)
    assert pushdown(measured, table_rows=10000.0)["limit"] == "not_needed"
    assert pushdown(measured, table_rows=40000.0)["limit"] == "not_pushed"
    assert pushdown(measured)["limit"] == "not_pushed"  # unknown size: say what the plan shows
