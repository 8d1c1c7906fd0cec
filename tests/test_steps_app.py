"""app.rest-check, app.fallback and app.health-function end to end: a real session (config,
env secrets, runner) against the Supabase-like cluster, its FDW to the DW cluster, and the
local HTTP stand-in of Supabase's APIs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import sandbox_config_for
from tests.test_supabase_standin import (  # app_bed: the shared fixture
    FALLBACK_TABLES,
    AppBed,
    app_bed,  # noqa: F401
    refresh_fallback,
)
from wizard.config import Config
from wizard.engine import RunReport, Status, Step
from wizard.session import open_session
from wizard.steps import app, prereq
from wizard.testbed.standin import StandIn

pytestmark = pytest.mark.clusters


Bed = AppBed


@pytest.fixture(scope="module")
def bed(app_bed: AppBed) -> AppBed:  # noqa: F811 (the imported fixture, requested)
    """The stand-in bed of test_supabase_standin (same fixture, this module's own instance)."""
    return app_bed


@pytest.fixture
def env(bed: Bed, monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.setenv("FDW_WIZARD_SECRET_SUPABASE_DB", bed.bed.passwords["supabase-postgres"])
    monkeypatch.setenv("FDW_WIZARD_SECRET_SUPABASE_ANON_KEY", bed.anon)
    monkeypatch.setenv("FDW_WIZARD_SECRET_SUPABASE_SERVICE_KEY", bed.service)
    return monkeypatch


def make_config(bed: Bed, *, url: str | None = None, **fdw: Any) -> Config:
    config = sandbox_config_for(bed.bed)
    config.supabase.project_url = bed.standin.url if url is None else url
    config.fdw.tables = list(FALLBACK_TABLES)
    for name, value in fdw.items():
        setattr(config.fdw, name, value)
    return config


def steps() -> list[Step]:
    return [prereq.SupabaseConnection(), *app.steps()]


def status(config: Config, tmp_path: Path) -> tuple[RunReport, dict[str, Any]]:
    ctx, runner = open_session(config, tmp_path / "fdw-wizard.yaml", steps=steps())
    try:
        report = runner.status(["app"])
    finally:
        ctx.close()
    return report, {o.step_id: o for o in report.outcomes}


def rendered(outcome: Any, lang: str = "en") -> str:
    return "\n".join(m.render(lang) for m in [outcome.message, *outcome.details])


# ---------------------------------------------------------------------------------- rest-check


def test_secure_default_reads_the_views_and_explains_bi(
    bed: Bed, env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    report, by_id = status(make_config(bed), tmp_path)
    rest = by_id["app.rest-check"]
    assert rest.status is Status.DONE, rendered(rest)
    assert rest.facts["fdw_schema"] == "bi" and rest.facts["fdw_schema_exposed"] is False
    assert rest.facts["exposed_schemas"] == ["public", "graphql_public"]
    reads = {(r["relation"], r["role"]): r for r in rest.facts["reads"]}
    assert set(reads) == {
        ("public.v_clientes_360", "anon"),
        ("public.v_clientes_360", "service_role"),
        ("public.v_frota_360", "anon"),
        ("public.v_frota_360", "service_role"),
    }
    ok = reads[("public.v_clientes_360", "service_role")]
    assert ok["ok"] and ok["http_status"] == 200 and ok["rows"] > 0
    denied = reads[("public.v_clientes_360", "anon")]
    assert (denied["ok"], denied["http_status"], denied["kind"]) == (False, 401, "denied")
    keys = [m.key for m in rest.details]
    assert "app.rest.secure_mode" in keys and "app.rest.anon_denied" in keys
    text = rendered(rest)
    assert ".schema('bi')" in text and "v_clientes_360" in text
    assert "padrão seguro" in rendered(rest, "pt-BR")
    dumped = json.dumps(report.to_json())
    assert bed.anon not in dumped and bed.service not in dumped


def test_status_reads_a_few_rows_and_validate_the_hooks_whole_read(
    bed: Bed, env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A check does not grow with the warehouse: it reads a few rows per view and key (same
    path, grants and DW login); `fdw-wizard validate` (fresh measurements) reads the hook's
    10,000 rows and judges their time."""
    from wizard.supabase.supabase_api import APP_READ_LIMIT

    _, by_id = status(make_config(bed), tmp_path)
    rest = by_id["app.rest-check"]
    assert rest.status is Status.DONE, rendered(rest)
    ok = [r for r in rest.facts["reads"] if r["ok"]]
    assert ok and all(r["limit"] == app.CHECK_READ_LIMIT for r in rest.facts["reads"])
    assert all(0 < r["rows"] <= app.CHECK_READ_LIMIT for r in ok)
    assert "app.rest.sampled" in [m.key for m in rest.details]
    assert "fdw-wizard validate" in rendered(rest)

    ctx, runner = open_session(make_config(bed), tmp_path / "fdw-wizard.yaml", steps=steps())
    ctx.fresh_measurements = True  # what `fdw-wizard validate` sets
    try:
        full = {o.step_id: o for o in runner.status(["app.rest-check"]).outcomes}
    finally:
        ctx.close()
    rest = full["app.rest-check"]
    assert rest.status is Status.DONE, rendered(rest)
    ok = [r for r in rest.facts["reads"] if r["ok"]]
    assert ok and all(r["limit"] == APP_READ_LIMIT for r in rest.facts["reads"])
    assert max(r["rows"] for r in ok) > app.CHECK_READ_LIMIT
    assert "app.rest.sampled" not in [m.key for m in rest.details]


def test_public_mode_reads_the_foreign_tables_and_warns(
    bed: Bed, env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = make_config(bed, target_schema="public", tables=["dim_clientes", "dim_frota"])
    _, by_id = status(config, tmp_path)
    rest = by_id["app.rest-check"]
    assert rest.status is Status.DONE, rendered(rest)
    relations = {r["relation"] for r in rest.facts["reads"] if r["ok"]}
    assert {"public.dim_clientes", "public.dim_frota"} <= relations
    assert "app.rest.public_mode" in [m.key for m in rest.details]
    assert "0017" in rendered(rest)


def test_anon_key_alone_proves_nothing_and_says_why(
    bed: Bed, env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env.delenv("FDW_WIZARD_SECRET_SUPABASE_SERVICE_KEY")
    _, by_id = status(make_config(bed), tmp_path)
    rest = by_id["app.rest-check"]
    assert rest.status is Status.MANUAL
    assert rest.message.key == "app.rest.nothing_readable"
    assert "authenticated" in rendered(rest)


def test_dead_dw_fails_with_the_fallback_message(
    bed: Bed, env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = make_config(bed, target_schema="public", tables=["dead_clientes"])
    _, by_id = status(config, tmp_path)
    rest = by_id["app.rest-check"]
    assert rest.status is Status.FAILED
    assert rest.message.key == "app.err.dw_unreachable"
    assert "Storage JSON fallback" in rest.message.render("en")
    dead = {r["role"]: r for r in rest.facts["reads"] if r["relation"] == "public.dead_clientes"}
    assert dead["service_role"]["http_status"] == 503
    # anon was granted SELECT but has no user mapping: PostgREST's 400 (42704), named as such
    assert (dead["anon"]["http_status"], dead["anon"]["kind"]) == (400, "no_mapping")
    assert "no user mapping" in rendered(rest)


def test_without_url_or_key_the_operator_is_guided(
    bed: Bed, env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _, by_id = status(make_config(bed, url=""), tmp_path)
    assert by_id["app.rest-check"].status is Status.MANUAL
    assert by_id["app.rest-check"].message.key == "app.rest.no_url"
    assert by_id["app.health-function"].status is Status.MANUAL
    assert "Project Settings > API" in rendered(by_id["app.rest-check"])
    env.delenv("FDW_WIZARD_SECRET_SUPABASE_ANON_KEY")
    env.delenv("FDW_WIZARD_SECRET_SUPABASE_SERVICE_KEY")
    _, by_id = status(make_config(bed), tmp_path)
    rest = by_id["app.rest-check"]
    assert rest.status is Status.MANUAL and rest.message.key == "app.rest.no_key"
    assert "fdw-wizard secrets set supabase-anon-key" in rendered(rest)


# ------------------------------------------------------------------------------------ fallback


def test_fallback_fresh_files_are_done(bed: Bed, env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    refresh_fallback(bed.bed, bed.storage_dir)
    _, by_id = status(make_config(bed), tmp_path)
    fallback = by_id["app.fallback"]
    assert fallback.status is Status.DONE, rendered(fallback)
    assert fallback.facts["source"] == "api"
    tables = fallback.facts["tables"]
    assert {t: i["state"] for t, i in tables.items()} == dict.fromkeys(FALLBACK_TABLES, "ok")
    assert tables["dim_clientes"]["rows"] > 0
    assert fallback.facts["bucket_objects"] == 18
    assert fallback.facts["bucket_bytes"] > 0
    assert "app.fallback.size" in [m.key for m in fallback.details]


def test_fallback_missing_stale_unparseable(
    bed: Bed, env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    refresh_fallback(bed.bed, bed.storage_dir)
    with bed.bed.supabase.connect() as conn:
        conn.execute(
            "UPDATE storage.objects SET updated_at = now() - interval '3 days',"
            " metadata = metadata || jsonb_build_object('lastModified',"
            " to_char((now() - interval '3 days') AT TIME ZONE 'UTC',"
            ' \'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"\'))'
            " WHERE bucket_id = 'bi-reports' AND name = 'dim_frota.json'"
        )
    (bed.storage_dir / "bi-reports" / "agg_dre_mensal.json").write_bytes(b'[{"mes": "2026-01"')
    config = make_config(bed)
    config.fdw.tables = [*FALLBACK_TABLES, "dim_inexistente"]
    try:
        _, by_id = status(config, tmp_path)
        fallback = by_id["app.fallback"]
        assert fallback.status is Status.FAILED
        states = {t: i["state"] for t, i in fallback.facts["tables"].items()}
        assert states == {
            "dim_clientes": "ok",
            "dim_frota": "stale",
            "agg_dre_mensal": "unparseable",
            "dim_inexistente": "missing",
        }
        assert fallback.message.params["missing"] == 1
        text = rendered(fallback)
        assert "dim_inexistente.json is missing" in text
        assert "dim_frota.json is 72 h old" in text
        assert "agg_dre_mensal.json cannot be used" in text

        # Without the service key: Storage's metadata over the database connection.
        env.delenv("FDW_WIZARD_SECRET_SUPABASE_SERVICE_KEY")
        _, by_id = status(config, tmp_path)
        fallback = by_id["app.fallback"]
        assert fallback.status is Status.FAILED
        assert fallback.facts["source"] == "database"
        states = {t: i["state"] for t, i in fallback.facts["tables"].items()}
        assert states["dim_frota"] == "stale" and states["dim_inexistente"] == "missing"
        assert states["agg_dre_mensal"] == "ok"  # content cannot be checked this way
        assert "app.fallback.not_parsed" in [m.key for m in fallback.details]
    finally:
        refresh_fallback(bed.bed, bed.storage_dir)


def test_fallback_missing_bucket(bed: Bed, env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = make_config(bed)
    config.fallback.bucket = "sem-bucket"
    _, by_id = status(config, tmp_path)
    assert by_id["app.fallback"].status is Status.FAILED
    assert by_id["app.fallback"].message.key == "app.fallback.no_bucket"
    env.delenv("FDW_WIZARD_SECRET_SUPABASE_SERVICE_KEY")
    _, by_id = status(config, tmp_path)
    assert by_id["app.fallback"].message.key == "app.fallback.no_bucket"


# ------------------------------------------------------------------------------ health function


def test_health_function_healthy_then_not_deployed(
    bed: Bed, env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _, by_id = status(make_config(bed), tmp_path)
    health = by_id["app.health-function"]
    assert health.status is Status.DONE, rendered(health)
    assert health.facts["answer"]["status"] == "healthy"
    assert health.facts["http_status"] == 200

    absent = StandIn(
        db=bed.bed.supabase.conninfo(),
        storage_dir=bed.storage_dir,
        jwt_secret=bed.standin.jwt_secret,
        functions=(),
    ).start()
    try:
        _, by_id = status(make_config(bed, url=absent.url), tmp_path)
    finally:
        absent.stop()
    health = by_id["app.health-function"]
    assert health.status is Status.MANUAL
    assert health.message.key == "app.health.not_deployed"
    text = rendered(health)
    assert "supabase functions deploy fdw-health-check" in text
    assert 'from("v_clientes_360")' in text  # the secure-mode hint (foreign tables in bi)


def test_health_function_answer_is_reused_until_measurements_are_asked_for(
    bed: Bed, env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The runbook's function counts a whole view (it grows with the warehouse): a second
    status reuses its healthy answer and says when it was seen; `validate` calls it again."""
    _, first = status(make_config(bed), tmp_path)
    assert first["app.health-function"].status is Status.DONE
    assert "reused" not in first["app.health-function"].facts
    _, again = status(make_config(bed), tmp_path)
    health = again["app.health-function"]
    assert health.status is Status.DONE and health.facts["reused"] is True
    assert health.message == first["app.health-function"].message
    assert "app.health.reused" in [m.key for m in health.details]
    assert "fdw-wizard validate" in rendered(health)

    ctx, runner = open_session(make_config(bed), tmp_path / "fdw-wizard.yaml", steps=steps())
    ctx.fresh_measurements = True
    try:
        fresh = runner.status(["app.health-function"]).outcomes[-1]
    finally:
        ctx.close()
    assert fresh.status is Status.DONE and "reused" not in fresh.facts


def test_health_function_error_answer(bed: Bed, env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from wizard.testbed.standin import HealthCheck

    broken = StandIn(
        db=bed.bed.supabase.conninfo(),
        storage_dir=bed.storage_dir,
        jwt_secret=bed.standin.jwt_secret,
        health=HealthCheck("public", "dim_clientes_bi_only"),
    ).start()
    try:
        _, by_id = status(make_config(bed, url=broken.url), tmp_path)
    finally:
        broken.stop()
    health = by_id["app.health-function"]
    assert health.status is Status.FAILED
    assert health.message.key == "app.health.error"
    assert health.facts["answer"]["fallback"] == "storage"
    assert "app.health.secure_hint" in [m.key for m in health.details]


# ------------------------------------------------------------------------------------- engine


def test_apply_changes_nothing_and_leaks_no_key(
    bed: Bed, env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    ctx, runner = open_session(make_config(bed), tmp_path / "fdw-wizard.yaml", steps=steps())
    try:
        report = runner.apply(["app"], dry_run=False)
    finally:
        ctx.close()
    assert [o.step_id for o in report.outcomes] == [
        "app.rest-check",
        "app.fallback",
        "app.health-function",
    ]
    assert all(not o.changed for o in report.outcomes)
    assert all(o.status is Status.DONE for o in report.outcomes), [
        (o.step_id, o.message) for o in report.outcomes
    ]
    dumped = json.dumps(report.to_json())
    assert bed.anon not in dumped and bed.service not in dumped
    state_files = [p for p in tmp_path.rglob("*") if p.is_file()]
    for path in state_files:
        text = path.read_text(encoding="utf-8", errors="replace")
        assert bed.anon not in text and bed.service not in text


def test_fallback_files_parsed_once_until_they_change(
    bed: Bed, env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A second check does not download files it already parsed; a re-uploaded file (new size
    and time in Storage's metadata) is downloaded and parsed again."""
    from wizard.engine import Event

    refresh_fallback(bed.bed, bed.storage_dir)

    def downloads() -> tuple[Status, list[str]]:
        events: list[Event] = []
        ctx, runner = open_session(
            make_config(bed), tmp_path / "fdw-wizard.yaml", steps=steps(), sink=events.append
        )
        try:
            outcome = runner.status(["app.fallback"]).outcomes[-1]
        finally:
            ctx.close()
        names = [
            str(e.message.params["file"])
            for e in events
            if e.kind == "progress" and e.message and e.message.key == "app.fallback.downloading"
        ]
        return outcome.status, names

    first_status, first = downloads()
    assert first_status is Status.DONE and len(first) == len(FALLBACK_TABLES)
    second_status, second = downloads()
    assert second_status is Status.DONE and second == []
    refresh_fallback(bed.bed, bed.storage_dir)  # the ETL uploads them again
    _, third = downloads()
    assert sorted(third) == sorted(first)
