"""What the performance work changes for a user: a recent validation is reused (and says when it
was measured), `validate`-style runs measure again, a change to the setup retires the old
measurement, and the TUI paints before it reads the config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from wizard.engine import Status
from wizard.session import open_session
from wizard.testbed.bed import TestBed

pytestmark = pytest.mark.clusters

IDS = ["validate.latency", "validate.offline", "validate.monitor"]


@pytest.fixture(scope="module")
def site(applied_site: dict[str, Any]) -> dict[str, Any]:
    return applied_site


def by_id(report: Any) -> dict[str, Any]:
    return {o.step_id: o for o in report.outcomes}


def test_recent_measurement_is_reused_and_says_when(site: dict[str, Any]) -> None:
    from wizard.steps.validate import measurements_path

    # No measurement yet, whatever ran before: the first status measures.
    measurements_path(site["path"]).unlink(missing_ok=True)
    first = by_id(site["runner"].status(IDS))
    assert first["validate.latency"].status is Status.DONE
    assert first["validate.offline"].status is Status.DONE
    assert first["validate.latency"].facts["reused"] is False
    # The offline test ran in the background during the reads and still timed a real wait.
    assert first["validate.offline"].facts["probe"]["seconds"] >= 1

    ctx, runner = open_session(site["config"], site["path"])  # a new run
    try:
        second = by_id(runner.status(IDS))
    finally:
        ctx.close()
    for step_id in ("validate.latency", "validate.offline"):
        outcome = second[step_id]
        assert outcome.status is Status.DONE
        assert outcome.facts["reused"] is True
        assert outcome.facts["measured_at"] == first[step_id].facts["measured_at"]
        assert "step.validate.reused" in {d.key for d in outcome.details}
        assert outcome.message == first[step_id].message
    assert second["validate.monitor"].facts["reused"] is True


def test_fresh_request_measures_again(site: dict[str, Any]) -> None:
    site["runner"].status(IDS)
    ctx, runner = open_session(site["config"], site["path"])
    ctx.fresh_measurements = True  # what `fdw-wizard validate` and "measure now" set
    try:
        report = by_id(runner.status(["validate.latency"]))
    finally:
        ctx.close()
    assert report["validate.latency"].facts["reused"] is False


def _prefetch_threads() -> list[Any]:
    import threading

    return [t for t in threading.enumerate() if t.name == "fdw-offline-prefetch" and t.is_alive()]


def test_a_latency_run_alone_leaves_no_offline_measurement_behind(site: dict[str, Any]) -> None:
    """`--only validate.latency` reads without the offline test: a measurement nobody
    collects would run on after the command (and slow the next one's timings)."""
    ctx, runner = open_session(site["config"], site["path"])
    ctx.fresh_measurements = True
    try:
        report = by_id(runner.status(["validate.latency"]))
        assert report["validate.latency"].facts["reused"] is False  # it did measure
        assert _prefetch_threads() == [] and ctx.background == {}
    finally:
        ctx.close()


def test_the_end_of_a_run_stops_an_uncollected_offline_measurement(
    site: dict[str, Any],
) -> None:
    """Started for validate.offline, which then never ran (blocked, cancelled): the run's
    end stops it (no case after the one under way) instead of leaving it running."""
    import time

    from wizard.steps.validate_offline import Offline
    from wizard.steps.validate_reuse import fingerprint

    ctx, runner = open_session(site["config"], site["path"])
    ctx.fresh_measurements = True
    try:
        with runner.sequence(IDS):  # a run that will never reach validate.offline
            Offline.prefetch(ctx, fingerprint(ctx))
            work = ctx.background["validate.offline"]
            assert _prefetch_threads() != []
            time.sleep(0.5)  # inside its first case
            started = time.monotonic()
        stopped_in = time.monotonic() - started
        assert _prefetch_threads() == [] and ctx.background == {}
        assert getattr(work, "result", None) is None or len(work.result.facts["cases"]) < 6
        # One case at most (the bound, + the API's own work), not the six cases' ~20 s.
        assert stopped_in < site["config"].fdw.api_read_bound_s + 6, stopped_in
    finally:
        ctx.close()


def test_a_measurement_of_another_setup_is_stopped_not_left_running(
    site: dict[str, Any],
) -> None:
    """validate.offline takes the background measurement out of the run's care; when it
    cannot use it (started for another setup) it stops it and measures itself."""
    from wizard.steps.validate_offline import Offline
    from wizard.steps.validate_reuse import fingerprint

    ctx, runner = open_session(site["config"], site["path"])
    ctx.fresh_measurements = True
    try:
        with runner.sequence(IDS):
            Offline.prefetch(ctx, fingerprint(ctx))
            work = ctx.background["validate.offline"]
            work.fingerprint = "a setup changed since"  # type: ignore[attr-defined]
            offline = by_id(runner.status(["validate.offline"]))["validate.offline"]
            assert _prefetch_threads() == []  # stopped by the step, before the run's end
        # Stopped, not left to finish: it ended after the case under way, short of all cases.
        stale = work.result  # type: ignore[attr-defined]
        assert stale is None or len(stale.facts["cases"]) < len(offline.facts["cases"])
        assert offline.facts["reused"] is False and offline.facts["cases"]
        # Measured by the step itself, after the stale one was stopped, not collected from it
        # (its verdict, which depends on the machine's load, is test_validate's business).
        assert offline.facts["measured_at"] > work.started_at.isoformat()  # type: ignore[attr-defined]
    finally:
        ctx.close()


def test_runs_of_one_sequence_share_the_offline_measurement(site: dict[str, Any]) -> None:
    """The TUI applies a phase one step per run, inside one sequence: the measurement
    validate.latency starts is the one validate.offline collects, and the sequence's end
    leaves nothing running."""
    ctx, runner = open_session(site["config"], site["path"])
    ctx.fresh_measurements = True
    try:
        with runner.sequence(IDS):
            latency = by_id(runner.status(["validate.latency"]))["validate.latency"]
            assert latency.facts["reused"] is False
            work = ctx.background["validate.offline"]  # started, survived the run's end
            offline = by_id(runner.status(["validate.offline"]))["validate.offline"]
            assert ctx.background == {}  # collected
        # Its result is the background one (stamped with the time it started, before the
        # latency reads), not a second measurement; its verdict is test_validate's business.
        started = work.started_at.isoformat()  # type: ignore[attr-defined]
        assert offline.facts["reused"] is False and offline.facts["measured_at"] == started
        assert started <= latency.facts["measured_at"]
        assert offline.facts["cases"]
        assert _prefetch_threads() == []
    finally:
        ctx.close()


def test_a_change_to_the_setup_retires_the_measurement(site: dict[str, Any]) -> None:
    site["runner"].status(IDS)
    bed: TestBed = site["bed"]
    schema = site["config"].fdw.target_schema
    with bed.supabase.connect(user="postgres") as conn:
        conn.execute(f"ALTER FOREIGN TABLE {schema}.dim_frota OPTIONS (ADD fetch_size '777')")
    try:
        ctx, runner = open_session(site["config"], site["path"])
        try:
            report = by_id(runner.status(["validate.latency"]))
        finally:
            ctx.close()
        assert report["validate.latency"].facts["reused"] is False
    finally:
        with bed.supabase.connect(user="postgres") as conn:
            conn.execute(f"ALTER FOREIGN TABLE {schema}.dim_frota OPTIONS (DROP fetch_size)")


def test_other_target_is_not_served_from_the_cache(site: dict[str, Any]) -> None:
    site["runner"].status(IDS)
    config = site["config"].model_copy(deep=True)
    config.validation.latency_target_ms = 1
    config.validation.samples = 1
    ctx, runner = open_session(config, site["path"])
    try:
        report = by_id(runner.status(["validate.latency"]))
    finally:
        ctx.close()
    assert report["validate.latency"].status is Status.FAILED
    assert report["validate.latency"].facts["reused"] is False


def test_tui_paints_before_reading_the_config(tmp_path: Path) -> None:
    import asyncio

    from screens.app import WizardApp
    from screens.welcome import WelcomeScreen

    path = tmp_path / "fdw-wizard.yaml"
    path.write_text("language: en\n", encoding="utf-8")
    env = {"keyring": None, "elevation": None}

    async def scenario() -> None:
        app = WizardApp(path, lang="en", defer_config=True, environment=env)
        assert app.config is None and app.config_loading
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            assert isinstance(app.screen, WelcomeScreen)
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert not app.config_loading
            assert app.config is not None or app.config_problems

    asyncio.run(scenario())


# -- the wizard's own commands do not grow with the warehouse ---------------------------------


def test_a_failed_measurement_is_kept_until_asked_or_changed(site: dict[str, Any]) -> None:
    """`status` does not measure the same setup again, even after a failure: it says when it
    measured and how to measure now; `validate` (fresh) measures."""
    config = site["config"].model_copy(deep=True)
    config.validation.latency_target_ms = 2
    config.validation.samples = 1
    ctx, runner = open_session(config, site["path"])
    try:
        first = by_id(runner.status(["validate.latency"]))["validate.latency"]
    finally:
        ctx.close()
    assert first.status is Status.FAILED and first.facts["reused"] is False
    ctx, runner = open_session(config, site["path"])
    try:
        kept = by_id(runner.status(["validate.latency"]))["validate.latency"]
        ctx.fresh_measurements = True
        fresh = by_id(runner.status(["validate.latency"]))["validate.latency"]
    finally:
        ctx.close()
    assert kept.status is Status.FAILED and kept.facts["reused"] is True
    assert kept.facts["measured_at"] == first.facts["measured_at"]
    assert "step.pushdown.latency_kept" in {d.key for d in kept.details}
    assert (
        fresh.facts["reused"] is False and fresh.facts["measured_at"] != first.facts["measured_at"]
    )


def test_test_queries_compare_statistics_of_big_tables(
    site: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A table above COUNT_EXACT_MAX_ROWS (by the DW's statistics) is not counted in `status`
    (a count reads the whole table): its statistics are compared; `validate` counts it."""
    from wizard.steps import supabase_checks

    events: list[Any] = []
    monkeypatch.setattr(supabase_checks, "COUNT_EXACT_MAX_ROWS", 0)
    ctx, runner = open_session(site["config"], site["path"], sink=events.append)
    try:
        outcome = by_id(runner.status(["supabase.test-queries"]))["supabase.test-queries"]
        counted = [e for e in events if e.message and e.message.key.endswith(".counting")]
        assert outcome.status is Status.DONE
        assert counted == []  # no count(*) at all
        bed: TestBed = site["bed"]
        with bed.dw.connect() as dw:
            estimates = dict(
                dw.execute(
                    "SELECT relname, reltuples::bigint FROM pg_class"
                    " WHERE relname = ANY(%s) AND relkind = 'r'",
                    (list(site["config"].fdw.tables),),
                ).fetchall()
            )
        assert outcome.facts["counts"] == estimates  # the DW's and Supabase's statistics agree
        events.clear()
        ctx.fresh_measurements = True  # `fdw-wizard validate`: every table counted
        runner.status(["supabase.test-queries"])
        counted = [e for e in events if e.message and e.message.key.endswith(".counting")]
        assert len(counted) == len(site["config"].fdw.tables)
    finally:
        ctx.close()


def _rows_json(rows: int) -> bytes:
    import json

    return json.dumps(
        [{"codigo": i, "nome": f"cliente {i}", "valor": i * 1.5} for i in range(rows)]
    ).encode("utf-8")


def test_fallback_file_is_judged_from_a_bounded_sample() -> None:
    from wizard.steps.app import SAMPLE_BYTES, TAIL_BYTES, judge_sample

    big = _rows_json(40_000)
    assert len(big) > 4 * SAMPLE_BYTES
    info: dict[str, Any] = {}
    assert judge_sample(big[:SAMPLE_BYTES], big[-TAIL_BYTES:], len(big), info) is None
    assert info["rows_estimated"] is True
    assert abs(info["rows"] - 40_000) < 40_000 * 0.1  # estimated from the sampled rows
    # Cut short (an interrupted upload): the array is never closed.
    cut = big[: len(big) // 2]
    problem = judge_sample(cut[:SAMPLE_BYTES], cut[-TAIL_BYTES:], len(cut), {})
    assert problem is not None and "]" in problem["error"]
    # Not rows at all.
    text = b'{"rows": ' + big + b"}"
    assert judge_sample(text[:SAMPLE_BYTES], text[-TAIL_BYTES:], len(text), {}) is not None
    # A file the sample holds whole: parsed whole, exact count.
    small = _rows_json(10)
    info = {}
    assert judge_sample(small, small[-TAIL_BYTES:], len(small), info) is None
    assert info == {"rows": 10, "rows_estimated": False}
    broken = b'[{"mes": "2026-01"'
    assert judge_sample(broken, broken, len(broken), {}) is not None


def test_fetch_size_auto_has_hysteresis() -> None:
    """A noisy round trip around the LAN threshold or a slightly wider row keeps the server's
    fetch_size; a clear change of network or row width moves it."""
    from wizard.measure.latency import LAN_RTT_MS, recommend_fetch_size, settled_fetch_size

    width = 200
    lan = recommend_fetch_size(0.5, width)
    wan = recommend_fetch_size(30.0, width)
    assert lan != wan
    assert settled_fetch_size(None, 30.0, width) == wan  # first run: the plain recommendation
    for jitter in (LAN_RTT_MS * 0.9, LAN_RTT_MS * 1.1, LAN_RTT_MS * 1.9):
        assert settled_fetch_size(lan, jitter, width) == lan
    for jitter in (LAN_RTT_MS * 1.1, LAN_RTT_MS * 0.9, LAN_RTT_MS * 0.6):
        assert settled_fetch_size(wan, jitter, width) == wan
    assert settled_fetch_size(lan, 30.0, width) == wan  # clearly a WAN now
    assert settled_fetch_size(wan, 0.3, width) == lan  # clearly a LAN now
    assert settled_fetch_size(wan, 30.0, int(width * 1.1)) == wan  # 10% wider rows: kept
    assert settled_fetch_size(wan, 30.0, width * 2) == recommend_fetch_size(30.0, width * 2)
