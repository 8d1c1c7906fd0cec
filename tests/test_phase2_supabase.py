"""Phase 2 and 3 end to end on a test bed of its own: the FDW objects as Supabase sees them."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.conftest import sandbox_config_for
from wizard import exitcodes
from wizard.engine import Status
from wizard.runbook import RUNBOOK_TABLES
from wizard.session import open_session
from wizard.steps.supabase_checks import lint_findings, read_as
from wizard.testbed.bed import TestBed

pytestmark = pytest.mark.clusters

PHASES_1_TO_3 = "prereq,local,supabase,views"
CATALOG_SNAPSHOT = """
SELECT 'schema ' || nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%'
UNION ALL SELECT 'server ' || srvname || ' ' || array_to_string(srvoptions, ',')
    FROM pg_foreign_server
UNION ALL SELECT 'mapping ' || srvname || ' ' || usename FROM pg_user_mappings
UNION ALL SELECT 'relation ' || n.nspname || '.' || c.relname || ' ' || c.relkind::text || ' '
    || coalesce(c.relacl::text, '') FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
UNION ALL SELECT 'extension ' || extname FROM pg_extension
ORDER BY 1
"""


@pytest.fixture(scope="module")
def site(
    private_testbed: TestBed, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    bed = private_testbed
    with bed.supabase.connect() as admin:
        before = [r[0] for r in admin.execute(CATALOG_SNAPSHOT).fetchall()]
    folder = tmp_path_factory.mktemp("phase2")
    mp = pytest.MonkeyPatch()
    mp.setenv("FDW_WIZARD_SECRET_LOCAL_SUPERUSER", bed.passwords["dw-superuser"])
    mp.setenv("FDW_WIZARD_SECRET_SUPABASE_DB", bed.passwords["supabase-postgres"])
    config = sandbox_config_for(bed)
    ctx, runner = open_session(config, folder / "fdw-wizard.yaml")
    report = runner.apply(PHASES_1_TO_3.split(","), confirm=lambda s, p: True)
    yield {"bed": bed, "ctx": ctx, "runner": runner, "report": report, "before": before}
    ctx.close()
    mp.undo()


def supa_postgres(bed: TestBed) -> psycopg.Connection[Any]:
    return bed.supabase.connect(user="postgres")


def test_every_step_done_and_counts_match_as_authenticated(site: dict[str, Any]) -> None:
    report = site["report"]
    bad = {
        o.step_id: o.message.render("en") for o in report.outcomes if o.status is not Status.DONE
    }
    assert bad == {
        "local.firewall": "the server listens on loopback only: no firewall rule is needed"
    }
    assert report.exit_code == exitcodes.OK
    bed: TestBed = site["bed"]
    with bed.dw.connect() as dw, supa_postgres(bed) as supa:
        for table in RUNBOOK_TABLES:
            local = dw.execute(f'SELECT count(*) FROM public."{table}"').fetchone()[0]
            (remote,) = read_as(supa, "authenticated", f'SELECT count(*) FROM bi."{table}"')[0]
            assert remote == local, table


def test_not_readable_by_anon_and_not_writable(site: dict[str, Any]) -> None:
    bed: TestBed = site["bed"]
    with supa_postgres(bed) as supa:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            read_as(supa, "anon", "SELECT 1 FROM bi.dim_clientes LIMIT 1")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            read_as(supa, "anon", "SELECT 1 FROM public.v_clientes_360 LIMIT 1")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            read_as(supa, "authenticated", "DELETE FROM bi.dim_clientes")
        # Even the owner cannot write through the server: updatable 'false'.
        with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState):
            supa.execute("DELETE FROM bi.dim_clientes WHERE false")
        # The API roles cannot read the mapping's password: no USAGE on the server.
        assert not supa.execute(
            "SELECT has_server_privilege('authenticated', 'bluconecta_dw_server', 'USAGE')"
        ).fetchone()[0]


def test_views_read_as_the_app_and_lints_clean(site: dict[str, Any]) -> None:
    bed: TestBed = site["bed"]
    with supa_postgres(bed) as supa:
        rows = read_as(
            supa, "authenticated", "SELECT codigo_cliente, supabase_id FROM v_clientes_360"
        )
        assert len(rows) > 0
        assert any(r[1] is not None for r in rows)  # joined with the operational clientes
        assert read_as(supa, "authenticated", "SELECT count(*) FROM v_frota_360")[0][0] > 0
        assert lint_findings(supa) == []


def test_pushdown_is_proven(site: dict[str, Any]) -> None:
    outcome = next(o for o in site["report"].outcomes if o.step_id == "supabase.test-queries")
    keys = {d.key for d in outcome.details}
    assert "step.supabase.test-queries.count_pushed" in keys
    assert "step.supabase.test-queries.join_pushed" in keys
    assert "step.supabase.test-queries.anon_denied" in keys


def test_second_apply_changes_nothing(site: dict[str, Any]) -> None:
    report = site["runner"].apply(PHASES_1_TO_3.split(","), confirm=lambda s, p: True)
    changed = [o.step_id for o in report.outcomes if o.changed]
    assert changed == []
    assert all(o.status in (Status.DONE, Status.NOT_APPLICABLE) for o in report.outcomes)


def test_a_broken_mapping_password_is_detected_and_fixed(site: dict[str, Any]) -> None:
    bed: TestBed = site["bed"]
    runner = site["runner"]
    with supa_postgres(bed) as supa:
        supa.execute(
            "ALTER USER MAPPING FOR authenticated SERVER bluconecta_dw_server"
            " OPTIONS (SET password 'not-the-password')"
        )
    checked = runner.status(["supabase.user-mappings"]).outcomes[-1]
    assert checked.status is Status.PENDING
    assert any(d.key == "step.supabase.user-mappings.broken" for d in checked.details)
    assert "not-the-password" not in json.dumps(checked.to_json())
    fixed = runner.apply(["supabase.user-mappings"]).outcomes[-1]
    assert fixed.status is Status.DONE and fixed.changed


def test_drift_new_changed_and_vanished_tables(site: dict[str, Any]) -> None:
    bed: TestBed = site["bed"]
    ctx = site["ctx"]
    runner = site["runner"]
    with bed.dw.connect(user="etl_bluconecta") as etl:
        etl.execute("ALTER TABLE public.dim_frota ADD COLUMN etiqueta_wizard text DEFAULT 'branco'")
    try:
        checked = runner.status(["supabase.import"]).outcomes[-1]
        assert checked.status is Status.PENDING
        drift = [d for d in checked.details if d.key == "step.supabase.import.drift"]
        assert (
            drift
            and drift[0].params["table"] == "dim_frota"
            and "etiqueta_wizard" in drift[0].params["columns"]
        )
        report = runner.apply(["supabase", "views"], confirm=lambda s, p: True)
        assert all(o.status is Status.DONE for o in report.outcomes), [
            (o.step_id, o.message.render("en")) for o in report.outcomes
        ]
        with supa_postgres(bed) as supa:
            assert (
                read_as(supa, "authenticated", "SELECT etiqueta_wizard FROM bi.dim_frota LIMIT 1")[
                    0
                ][0]
                == "branco"
            )
            # The view was recreated with the new column.
            assert read_as(supa, "authenticated", "SELECT etiqueta_wizard FROM v_frota_360 LIMIT 1")
        # A table dropped from the config is reported as vanished, not dropped.
        ctx.config.fdw.tables = [t for t in ctx.config.fdw.tables if t != "fat_churn"]
        vanished = runner.status(["supabase.import"]).outcomes[-1]
        assert any(
            d.key == "step.supabase.import.vanished" and d.params["table"] == "fat_churn"
            for d in vanished.details
        )
        # A table that does not exist in the DW is a clear error naming it.
        ctx.config.fdw.tables = [*ctx.config.fdw.tables, "dim_inexistente"]
        unknown = runner.status(["supabase.import"]).outcomes[-1]
        assert unknown.status is Status.FAILED
        assert "dim_inexistente" in unknown.message.render("en")
    finally:
        ctx.config.fdw.tables = list(RUNBOOK_TABLES)


def test_fetch_size_auto_follows_the_measured_round_trip(site: dict[str, Any]) -> None:
    """fetch_size: auto comes from the last measured round trip and the row width; a measure
    close to the last one keeps the server as it is (done, no "differs" on every run), a clear
    change of network re-plans it."""
    from wizard.measure.latency import recommend_fetch_size
    from wizard.steps.validate import measurements_path

    bed: TestBed = site["bed"]
    ctx, runner = site["ctx"], site["runner"]
    store = measurements_path(ctx.config_path)
    address = f"{ctx.config.exposure.public_host}:{ctx.config.exposure.public_port}"

    def measured(rtt_ms: float) -> None:  # what validate.latency keeps of its last run
        network = {"dw_address": address, "rtt_ms": rtt_ms}
        entry = {"fingerprint": "-", "status": "done", "facts": {"network": network}}
        store.write_text(json.dumps({"validate.latency": entry}), encoding="utf-8")

    def server_fetch() -> int:
        with supa_postgres(bed) as supa:
            options = supa.execute(
                "SELECT srvoptions FROM pg_foreign_server WHERE srvname = 'bluconecta_dw_server'"
            ).fetchone()[0]
        return int(next(o.split("=", 1)[1] for o in options if o.startswith("fetch_size=")))

    def server_step() -> Any:
        return runner.status(["supabase.server"]).outcomes[-1]

    store.unlink(missing_ok=True)
    try:
        # Nothing measured yet: a few TCP connects now; loopback is a LAN.
        first = server_step()
        auto = first.facts["fetch_auto"]
        assert first.status is Status.DONE and auto["source"] == "probe"
        assert auto["rtt_ms"] < 2
        lan = recommend_fetch_size(0.0, auto["width"])
        wan = recommend_fetch_size(30.0, auto["width"])
        assert server_fetch() == lan == 10001 and wan > 2 * lan
        # A noisy measure just above the LAN threshold keeps the server's value, and says why.
        measured(3.0)
        noisy = server_step()
        assert noisy.status is Status.DONE, [d.render("en") for d in noisy.details]
        kept = [d for d in noisy.details if d.key == "step.supabase.server.fetch_kept_validate"]
        assert kept and kept[0].params["fetch"] == lan and kept[0].params["fresh"] == wan
        # A real WAN: the step differs and apply moves fetch_size only.
        measured(30.0)
        moved = server_step()
        assert moved.status is Status.PENDING
        changed = [d.params for d in moved.details if d.key == "step.supabase.server.option"]
        assert changed == [{"option": "fetch_size", "current": str(lan), "wanted": str(wan)}]
        applied = runner.apply(["supabase.server"], confirm=lambda s, p: True).outcomes[-1]
        assert applied.status is Status.DONE and applied.changed
        assert server_fetch() == wan
        assert "step.supabase.server.fetch_wan_validate" in {d.key for d in server_step().details}
        # Back down to 1.5 ms: inside the band, kept; 0.3 ms: clearly a LAN again.
        measured(1.5)
        assert server_step().status is Status.DONE
        measured(0.3)
        assert server_step().status is Status.PENDING
        assert runner.apply(["supabase.server"], confirm=lambda s, p: True).exit_code == 0
        assert server_fetch() == lan
    finally:
        store.unlink(missing_ok=True)
        runner.apply(["supabase.server"], confirm=lambda s, p: True)


def reapply_site(site: dict[str, Any]) -> None:
    """Put the module's site back as its fixture left it (for the tests that undo it)."""
    again = site["runner"].apply(PHASES_1_TO_3.split(","), confirm=lambda s, p: True)
    assert again.exit_code == exitcodes.OK, [
        (o.step_id, o.message.render("en")) for o in again.outcomes
    ]


def test_undo_leaves_supabase_as_it_was(site: dict[str, Any]) -> None:
    bed: TestBed = site["bed"]
    try:
        report = site["runner"].undo(["supabase", "views"], confirm=lambda s, p: True)
        assert all(o.status is not Status.FAILED for o in report.outcomes), [
            (o.step_id, o.message.render("en")) for o in report.outcomes
        ]
        with bed.supabase.connect() as admin:
            after = [r[0] for r in admin.execute(CATALOG_SNAPSHOT).fetchall()]
        assert after == site["before"]
    finally:
        reapply_site(site)


def test_runbook_mode_is_available_and_flagged(
    site: dict[str, Any], bed_secrets: Callable[[TestBed], None], tmp_path: Path
) -> None:
    """The runbook's literal choices (public schema, anon mapping) work, warned and linted.
    It shares the module's bed: the site's config is applied again afterwards (its reader
    password, server and imports), so the other tests find the site as they left it."""
    bed: TestBed = site["bed"]
    bed_secrets(bed)
    config = sandbox_config_for(bed)
    config.fdw.target_schema = "public"
    config.fdw.map_roles = ["postgres", "authenticated", "anon"]
    ctx, runner = open_session(config, tmp_path / "fdw-wizard.yaml")
    try:

        def risks(step_id: str) -> list[str]:
            dry = runner.apply([step_id], dry_run=True).outcomes[-1]
            assert dry.plan is not None, dry.message.render("en")
            return list(dry.plan.to_json()["risks"])

        # A new config folder: its own reader secret (the role's password is rotated).
        assert runner.apply(["local"], confirm=lambda s, p: True).exit_code == 0
        waiting = runner.apply(["supabase"], dry_run=True)
        assert {o.status for o in waiting.outcomes} <= {Status.DONE, Status.PENDING}, [
            (o.step_id, o.message.render("en")) for o in waiting.outcomes
        ]
        assert runner.apply(["supabase.server"]).outcomes[-1].status is Status.DONE
        assert "security" in risks("supabase.user-mappings")  # anon mapped
        declined = runner.apply(["supabase.user-mappings"], confirm=lambda s, p: False)
        assert declined.outcomes[-1].status is Status.SKIPPED
        assert runner.apply(["supabase.user-mappings"], confirm=lambda s, p: True).exit_code == 0
        assert "security" in risks("supabase.import")  # public is exposed by the API
        report = runner.apply(["supabase"], confirm=lambda s, p: True)
        tq = next(o for o in report.outcomes if o.step_id == "supabase.test-queries")
        assert any(d.key == "step.supabase.test-queries.lint_0017" for d in tq.details)
        undo = runner.undo(["supabase"], confirm=lambda s, p: True)
        assert all(o.status is not Status.FAILED for o in undo.outcomes)
    finally:
        ctx.close()
        reapply_site(site)
