"""Phase 4 on a test bed of its own: latency and pushdown of every app read, the offline
time-to-error against a refused port, a partition (nftables, root only: skipped with the reason
elsewhere) and a loopback blackhole, and the health probe — after a full Phase 1-3."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest

from wizard.engine import Status
from wizard.measure import latency, monitor, outage
from wizard.session import open_session
from wizard.steps.supabase_bound import BOUND_FUNCTION, ReadBound, role_settings
from wizard.steps.supabase_checks import remote_sql
from wizard.steps.supabase_fdw import current_server
from wizard.steps.validate import Offline
from wizard.testbed import partition
from wizard.testbed.bed import TestBed

pytestmark = pytest.mark.clusters


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
    from wizard.steps.aggregates import AGGREGATES

    aggregates = {f"public.{a.view}" for a in AGGREGATES}  # supabase.aggregates' views
    assert names == tables | {"public.v_clientes_360", "public.v_frota_360"} | aggregates
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
        # Each remedy is one of validate's, or the aggregates step that removes the cause.
        assert all(
            m["key"].startswith(("validate.remedy.", "step.pushdown.remedy_"))
            for m in read["remedies"]
        )
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


def test_offline_measures_each_outage_within_the_bound(site: dict[str, Any]) -> None:
    off = outcome(site, "validate.offline")
    assert off.status is Status.DONE, [off.message.render("en")] + [
        d.render("en") for d in off.details
    ]
    facts = off.facts
    bound = site["ctx"].config.fdw.api_read_bound_s
    assert facts["bound_s"] == bound and facts["pre_request"] == BOUND_FUNCTION
    assert facts["relation"] == "public.v_clientes_360"
    cases = {c["kind"]: c for c in facts["cases"]}
    every = {f"{k}, {s}" for k in ("refused", "partitioned", "hung") for s in ("fresh", "warm")}
    skipped = {c["kind"]: c for c in facts["not_measured"]}
    if partition.unavailable() is None:
        assert set(cases) == every and not skipped
        assert cases["partitioned, warm"]["sqlstate"] == "57014"  # the bound, not the kernel
        assert cases["partitioned, warm"]["seconds"] >= bound - 0.2  # nothing came back
    else:  # not root / no nft: said so, with the reason, and nothing failed for it
        assert set(cases) == every - {"partitioned, fresh", "partitioned, warm"}
        assert set(skipped) == {"partitioned, fresh", "partitioned, warm"}
        assert any(d.key.startswith("step.validate.offline.no_partition.") for d in off.details)
    for case in cases.values():
        # The bound IS the feature: the app's read ends, with an error it acts on, in time.
        assert case["seconds"] is not None and case["seconds"] <= bound + 0.5, case
        assert case["http_status"] in (500, 503), case
        assert case["cleaned"] and not case["answered"] and not case["hung"]
        assert case["statement_timeout_ms"] == bound * 1000  # the pre-request's, not 8 s
    assert cases["hung, warm"]["sqlstate"] == "57014"  # statement_timeout ended it
    assert cases["hung, warm"]["seconds"] >= bound - 0.2  # it really waited: a real hang
    assert cases["refused, fresh"]["sqlstate"].startswith("08")
    assert cases["refused, fresh"]["seconds"] < 1
    assert facts["probe"]["kind"] == "hung, fresh" and facts["refused"]["kind"] == "refused, fresh"
    _print_cases("bound", facts)
    assert _options(site["ctx"])["host"] == "127.0.0.1"  # the server was never left elsewhere


def _print_cases(title: str, facts: dict[str, Any]) -> None:
    """What README's offline table shows (pytest -s prints it)."""
    cells = [
        f"{c['kind']}: {c['seconds']} ({c['http_status']}, {c['sqlstate']})" for c in facts["cases"]
    ]
    print(f"\nvalidate.offline, {title}, {facts['server_version_num']}: " + "; ".join(cells))


def _options(ctx: Any) -> dict[str, str]:
    server = current_server(ctx.supabase_conn(), ctx.config.fdw.server_name)
    assert server is not None
    return server[1]


def _app(site: dict[str, Any], **changes: Any) -> outage.AppRequest:
    """The app's read as validate.offline builds it (role settings, the pre-request)."""
    with supa(site["bed"]) as conn:
        settings = tuple(role_settings(conn, "authenticated").items())
        pre = role_settings(conn, "authenticator").get("pgrst.db_pre_request")
    app = outage.AppRequest("authenticated", settings, pre, "public", "v_clientes_360")
    return dataclasses.replace(app, **changes)


def test_offline_without_the_bound_fails_and_says_how(site: dict[str, Any]) -> None:
    """Without supabase.read-bound a warm read of a hung DW waits authenticated's 8 s."""
    ctx = site["ctx"]
    step = ReadBound()
    assert not step.undo(ctx).incomplete
    try:
        result = Offline()._measure(ctx, ctx.supabase_conn(), lambda *a: None)
    finally:
        again = site["runner"].apply([step.id], confirm=lambda s, p: True)
        assert again.exit_code == 0
    assert result.status is Status.FAILED
    keys = [d.key for d in result.details]
    assert "step.validate.offline.no_bound" in keys
    assert "step.validate.offline.slow.fix_bound" in keys
    _print_cases("no bound", result.facts)
    warm = next(c for c in result.facts["cases"] if c["kind"] == "hung, warm")
    assert warm["statement_timeout_ms"] == 8000 and warm["seconds"] >= 7.5
    assert "step.validate.offline.case_over" in keys


def test_offline_says_why_a_partition_is_not_measurable_here(
    site: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not root (or no nft, or not Linux): the partitioned cases are reported as not
    measurable here, with the reason in the operator's language, and nothing fails for it."""
    monkeypatch.setattr(partition, "unavailable", lambda: ("root", "1000"))
    ctx = site["ctx"]
    result = Offline()._measure(ctx, ctx.supabase_conn(), lambda *a: None)
    assert result.status is Status.DONE, result.message.render("en")
    assert {c["kind"] for c in result.facts["cases"]} == {
        "refused, fresh",
        "hung, fresh",
        "refused, warm",
        "hung, warm",
    }
    assert result.facts["not_measured"] == [
        {"kind": "partitioned, fresh", "reason": "root", "detail": "1000"},
        {"kind": "partitioned, warm", "reason": "root", "detail": "1000"},
    ]
    said = [d for d in result.details if d.key == "step.validate.offline.no_partition.root"]
    assert len(said) == 2
    english, portuguese = said[1].render("en"), said[1].render("pt-BR")
    assert "needs root" in english
    assert english.startswith("DW off the network (packets dropped), warm connection")
    assert "exige root" in portuguese
    assert portuguese.startswith("DW fora da rede (pacotes descartados), conexão já aberta")


def test_a_partition_nft_refuses_is_a_problem_not_a_crash(
    site: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """nft fails at the moment of the cut (a ruleset locked by another tool, a missing kernel
    module): the case says it could not be measured; the server is left as it was."""
    from wizard.testbed.partition import Partition, PartitionError

    def refuse(self: Partition) -> None:
        raise PartitionError("Error: Could not process rule: Operation not supported")

    monkeypatch.setattr(Partition, "cut", refuse)
    ctx = site["ctx"]
    for session in ("fresh", "warm"):
        out = outage.api_outage(
            lambda: monitor.open_supabase(ctx),
            ctx.supabase_conn(),
            ctx.config.fdw.server_name,
            _app(site),
            kind="partitioned",
            session=session,
            dw=(ctx.config.local.host, ctx.config.local.port),
            cap_s=10,
        )
        assert out.problem is not None and "Operation not supported" in out.problem, out
        assert out.cleaned and out.seconds is None and not out.answered


def test_offline_change_is_never_seen_and_rolled_back(site: dict[str, Any]) -> None:
    ctx = site["ctx"]
    before = _options(ctx)

    def interrupt() -> None:
        with supa(site["bed"]) as other:  # uncommitted: nobody else ever sees it
            row = other.execute(
                "SELECT srvoptions FROM pg_foreign_server WHERE srvname = %s",
                (ctx.config.fdw.server_name,),
            ).fetchone()
            assert sorted(row[0]) == sorted(f"{k}={v}" for k, v in before.items())
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        outage.api_outage(
            lambda: monitor.open_supabase(ctx),
            ctx.supabase_conn(),
            ctx.config.fdw.server_name,
            _app(site),
            kind="hung",
            session="fresh",
            cap_s=10,
            on_ready=interrupt,
        )
    assert _options(ctx) == before


def test_offline_hang_without_any_timeout_is_cut(site: dict[str, Any]) -> None:
    """No pre-request and no statement_timeout (the runbook's postgres-like caller): a warm read
    of a hung DW never ends by itself; the wizard stops waiting at its cap, frees the backend
    (closing the proxy's sockets) and leaves the server as it was."""
    ctx = site["ctx"]
    app = _app(site, pre_request=None, role_settings=(("statement_timeout", "0"),))
    started = time.monotonic()
    out = outage.api_outage(
        lambda: monitor.open_supabase(ctx),
        ctx.supabase_conn(),
        ctx.config.fdw.server_name,
        app,
        kind="hung",
        session="warm",
        dw=(ctx.config.local.host, ctx.config.local.port),
        cap_s=2.5,
    )
    assert out.hung and out.seconds is None
    assert out.cleaned
    assert time.monotonic() - started < 2.5 + 5 + 3  # the wizard's own wait is bounded


@pytest.mark.parametrize("kind", ["hung", "partitioned"])
def test_real_outage_matches_what_validate_measures(site: dict[str, Any], kind: str) -> None:
    """The real things the blackhole, proxy and cut ports stand for: the DW's processes stopped
    (hung: the kernel still ACKs) or every packet to and from the DW's port dropped
    (partitioned: root + nft, else skipped with the reason). A warm and a fresh authenticated
    read through the API stand-in end within the bound with an error the app acts on; the DW
    serves again once it is back."""
    import secrets

    import httpx

    from tests.test_read_bound import OUTAGES
    from wizard.testbed.standin import StandIn

    bound = site["ctx"].config.fdw.api_read_bound_s

    def standin(jwt_secret: str) -> StandIn:
        return StandIn(
            db=site["bed"].supabase.conninfo(),
            storage_dir=site["folder"] / "storage",
            jwt_secret=jwt_secret,
        )

    def read(url: str, headers: dict[str, str]) -> tuple[httpx.Response, float]:
        started = time.monotonic()
        answer = httpx.get(
            f"{url}/rest/v1/v_clientes_360?select=*&limit=5", headers=headers, timeout=60
        )
        return answer, time.monotonic() - started

    with standin(secrets.token_urlsafe(32)) as api:
        key = api.key("authenticated")
        headers = {"apikey": key, "Authorization": f"Bearer {key}"}
        assert read(api.url, headers)[0].status_code == 200  # warm
        with OUTAGES[kind](site["bed"]):
            warm, warm_s = read(api.url, headers)
            with standin(api.jwt_secret) as new_pool:  # its connection attempt goes unanswered
                fresh, fresh_s = read(new_pool.url, headers)
        deadline = time.monotonic() + 20
        while (again := read(api.url, headers)[0]).status_code != 200:
            assert time.monotonic() < deadline, again.text
            time.sleep(0.5)
    assert warm.status_code == 500 and warm.json()["code"] == "57014", warm.text
    assert bound - 0.2 <= warm_s <= bound + 0.7
    assert fresh.status_code in (500, 503), fresh.text
    assert fresh.json()["code"] == "57014" or fresh.json()["code"].startswith("08")
    assert fresh_s <= bound + 0.7
    print(f"\n{kind} through the API: warm {warm_s:.2f} s, fresh {fresh_s:.2f} s")


def test_server_options_end_a_partitioned_read_without_any_statement_timeout(
    site: dict[str, Any],
) -> None:
    """Without the bound and without any statement_timeout (the runbook's postgres-like
    caller), the server options the wizard sets still end a partitioned read: the kernel gives
    up on unacknowledged data (a warm connection) or unanswered SYNs (a fresh one) at
    tcp_user_timeout — connect_timeout first on PostgreSQL 15 — with a connection error the
    app acts on (HTTP 503), instead of the minutes of TCP retransmissions."""
    from tests.test_read_bound import partition_or_skip

    partition_or_skip()
    ctx = site["ctx"]
    options = _options(ctx)
    user_timeout_s = int(options["tcp_user_timeout"]) / 1000
    connect_s = int(options["connect_timeout"])
    assert options["keepalives"] == "1"
    app = _app(site, pre_request=None, role_settings=(("statement_timeout", "0"),))
    version = int(ctx.supabase_conn().execute("SHOW server_version_num").fetchone()[0])
    measured = {}
    for session in ("warm", "fresh"):
        out = outage.api_outage(
            lambda: monitor.open_supabase(ctx),
            ctx.supabase_conn(),
            ctx.config.fdw.server_name,
            app,
            kind="partitioned",
            session=session,
            dw=(ctx.config.local.host, ctx.config.local.port),
            cap_s=user_timeout_s + 10,
        )
        assert out.cleaned and not out.hung and not out.answered, out
        assert out.sqlstate is not None and out.sqlstate.startswith("08"), out
        assert out.http_status == 503
        assert out.statement_timeout_ms == 0
        measured[session] = out.seconds
    expected_fresh = connect_s if version < 160000 else user_timeout_s
    assert user_timeout_s - 0.5 <= measured["warm"] <= user_timeout_s + 2, measured
    assert expected_fresh - 0.5 <= measured["fresh"] <= expected_fresh + 2, measured
    print(f"\npartitioned, no statement_timeout, {version}: {measured}")


def test_partition_cuts_heals_and_removes_stale_tables() -> None:
    """The partition itself, on loopback only: a connection through the cut gets nothing back
    (no RST), the healed one gets what was sent; a table left by a dead process goes."""
    import os
    import socket
    import subprocess

    from tests.test_read_bound import partition_or_skip
    from wizard.testbed.partition import TABLE_PREFIX, Partition

    with pytest.raises(ValueError):
        Partition(5432, "192.0.2.1")
    partition_or_skip()
    server = _echo_server()
    port = server.getsockname()[1]
    stale = f"{TABLE_PREFIX}{port}_{_dead_pid()}"  # as a killed run leaves it
    subprocess.run(["nft", "add", "table", "inet", stale], check=True)
    client = socket.create_connection(("127.0.0.1", port), timeout=2)
    try:
        client.sendall(b"ping")
        assert client.recv(16) == b"ping"
        with Partition(port) as cut:
            cut.cut()
            tables = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True)
            assert f"{TABLE_PREFIX}{port}_{os.getpid()}" in tables.stdout
            assert stale not in tables.stdout  # removed at the start of the cut
            client.sendall(b"lost")
            client.settimeout(1.0)
            with pytest.raises(TimeoutError):
                client.recv(16)  # nothing back, not even a reset
            fresh = socket.socket()
            fresh.settimeout(1.0)
            with pytest.raises(TimeoutError):
                fresh.connect(("127.0.0.1", port))  # the SYN goes unanswered
            fresh.close()
        assert not cut.active
        tables = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True)
        assert f"{TABLE_PREFIX}{port}_{os.getpid()}" not in tables.stdout  # healed: gone
        client.settimeout(10)
        assert client.recv(16) == b"lost"  # retransmitted once the link is back
    finally:
        client.close()
        server.close()
        subprocess.run(["nft", "delete", "table", "inet", stale], capture_output=True)


def _dead_pid() -> int:
    import subprocess

    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


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
    from wizard.measure.latency import HOOK_LIMIT, Measured, Read, Scan, pushdown

    read = Read(("bi", "dim_contratos_locacao"), "table", "limit", "", {"limit": HOOK_LIMIT})
    scan = Scan("bi.dim_contratos_locacao", True, HOOK_LIMIT, 84, "SELECT a FROM t")
    measured = Measured(read, "select", scans=[scan], rows=HOOK_LIMIT)
    assert pushdown(measured, table_rows=10000.0)["limit"] == "not_needed"
    assert pushdown(measured, table_rows=40000.0)["limit"] == "not_pushed"
    assert pushdown(measured)["limit"] == "not_pushed"  # unknown size: say what the plan shows


def test_freezable_proxy_forwards_freezes_and_refuses() -> None:
    """The warm-session stand-in for a hung or stopped DW, on loopback only."""
    import socket

    from wizard.testbed.blackhole import FreezableProxy

    server = _echo_server()
    with pytest.raises(ValueError):
        FreezableProxy("192.0.2.1", 5432)  # never anything but loopback
    with FreezableProxy("127.0.0.1", server.getsockname()[1]) as proxy:
        client = socket.create_connection((proxy.host, proxy.port), timeout=2)
        client.sendall(b"ping")
        assert client.recv(16) == b"ping"
        proxy.freeze()
        client.sendall(b"again")
        client.settimeout(0.5)
        with pytest.raises(TimeoutError):
            client.recv(16)  # the connection stays open, nothing comes back
        held = socket.create_connection((proxy.host, proxy.port), timeout=2)  # still accepted
        proxy.refuse()
        client.settimeout(2)
        assert client.recv(16) == b""  # dropped
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((proxy.host, proxy.port), timeout=2)
        client.close()
        held.close()
    server.close()


def _echo_server() -> Any:
    """A loopback listener that echoes what its first connection sends."""
    import socket
    import threading

    server = socket.create_server(("127.0.0.1", 0))

    def echo() -> None:
        conn, _ = server.accept()
        with conn:
            while data := conn.recv(1024):
                conn.sendall(data)

    threading.Thread(target=echo, daemon=True).start()
    return server
