"""What the performance work changes for a user: a recent validation is reused (and says when it
was measured), `validate`-style runs measure again, a change to the setup retires the old
measurement, and the TUI paints before it reads the config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from wizard.engine import Status
from wizard.session import open_session
from wizard.testbed import TestBed

pytestmark = pytest.mark.clusters

IDS = ["validate.latency", "validate.offline", "validate.monitor"]


@pytest.fixture(scope="module")
def site(applied_site: dict[str, Any]) -> dict[str, Any]:
    return applied_site


def by_id(report: Any) -> dict[str, Any]:
    return {o.step_id: o for o in report.outcomes}


def test_recent_measurement_is_reused_and_says_when(site: dict[str, Any]) -> None:
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
