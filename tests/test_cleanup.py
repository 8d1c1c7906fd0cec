"""Phase 5 cleanup on a test bed of its own: backup, dedupe, restore and the success report,
against the Supabase-like cluster's real ``public.clientes`` (some rows origem 'dim_clientes_bi').

The monitoring gate reads the real health log (``wizard.measure.monitor``); :func:`gate` writes one
covering the window, with or without an incident.
"""

from __future__ import annotations

import json
import threading
import time
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.conftest import sandbox_config_for
from wizard import exitcodes
from wizard.engine import OperatorActionNeeded, Status
from wizard.session import open_session
from wizard.state import AuditLog
from wizard.steps import cleanup
from wizard.supabase import backup
from wizard.testbed.bed import TestBed

pytestmark = pytest.mark.clusters

BI = "dim_clientes_bi"
ROWS_SQL = "SELECT id::text, c::text FROM public.clientes AS c ORDER BY id"


@pytest.fixture(scope="module")
def bed(private_testbed: TestBed) -> Iterator[TestBed]:
    """The bed, with a pristine copy of clientes each test starts from."""
    with private_testbed.supabase.connect() as admin:
        admin.execute("CREATE SCHEMA cleanup_test_snapshot")
        admin.execute("CREATE TABLE cleanup_test_snapshot.clientes AS TABLE public.clientes")
    yield private_testbed


@pytest.fixture
def site(bed: TestBed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    with bed.supabase.connect() as admin:
        admin.execute("DELETE FROM public.clientes")
        admin.execute("INSERT INTO public.clientes TABLE cleanup_test_snapshot.clientes")
    monkeypatch.setenv("FDW_WIZARD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FDW_WIZARD_SECRET_LOCAL_SUPERUSER", bed.passwords["dw-superuser"])
    monkeypatch.setenv("FDW_WIZARD_SECRET_SUPABASE_DB", bed.passwords["supabase-postgres"])
    config = sandbox_config_for(bed)
    ctx, runner = open_session(config, tmp_path / "fdw-wizard.yaml")
    yield {"bed": bed, "ctx": ctx, "runner": runner, "tmp": tmp_path}
    ctx.close()


def gate(site: dict[str, Any], passed: bool) -> None:
    """Give the monitoring gate real input: a health log (the file `fdw-wizard watch` writes)
    covering the whole window every 10 minutes, with or without an incident an hour ago."""
    from datetime import UTC, datetime, timedelta

    from wizard.measure.monitor import HealthLog, Record

    ctx = site["ctx"]
    log = HealthLog.for_config(ctx.config_path)
    now = datetime.now(UTC)
    samples = int((ctx.config.validation.monitor_window_hours + 1) * 6)
    for i in reversed(range(samples)):
        ok = passed or i != 6
        log.append(
            Record(
                now - timedelta(minutes=10 * i),
                ok,
                12.0 if ok else None,
                None if ok else "could not connect to server: timeout expired",
                600.0,
                "watch",
            )
        )


def admin(site: dict[str, Any]) -> psycopg.Connection[Any]:
    return site["bed"].supabase.connect()


def counts(site: dict[str, Any]) -> tuple[int, int]:
    """(BI rows, other rows) of public.clientes."""
    with admin(site) as conn:
        row = conn.execute(
            "SELECT count(*) FILTER (WHERE origem = %s), count(*) FILTER (WHERE origem <> %s)"
            " FROM public.clientes",
            [BI, BI],
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def rows(site: dict[str, Any], where: str = "true") -> list[tuple[str, str]]:
    with admin(site) as conn:
        query = f"SELECT id::text, c::text FROM public.clientes AS c WHERE {where} ORDER BY id"
        return [(r[0], r[1]) for r in conn.execute(query).fetchall()]


def make_backup(site: dict[str, Any]) -> Path:
    report = site["runner"].apply(["cleanup.backup"])
    outcome = report.outcomes[-1]
    assert outcome.status is Status.DONE, outcome.message.render("en")
    return Path(site["ctx"].recall("cleanup.backup")["path"])


def dedupe(site: dict[str, Any]) -> Any:
    return site["runner"].apply(["cleanup.dedupe"], confirm=lambda s, p: True).outcomes[-1]


# ---------------------------------------------------------------------------------------------


def test_refuses_without_a_backup_and_deletes_nothing(
    site: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    gate(site, True)
    before = rows(site)
    assert counts(site)[0] > 0
    ctx = site["ctx"]
    assert cleanup.authorize(ctx, "APAGAR")
    # Through the runner (what `apply --yes` does): blocked behind the missing backup.
    outcome = dedupe(site)
    assert outcome.status is Status.BLOCKED
    # Straight into the step, past the runner: its own apply refuses.
    step = cleanup.Dedupe()
    with pytest.raises(OperatorActionNeeded) as refused:
        step.apply(ctx, step.plan(ctx))
    assert refused.value.message.key == "cleanup.refuse.no_backup"
    assert cleanup.preflight(ctx)[0][0] == "no_backup"
    assert rows(site) == before


def test_backup_round_trips_and_detects_tampering(site: dict[str, Any]) -> None:
    ctx = site["ctx"]
    bi_before, _ = counts(site)
    status = site["runner"].status(["cleanup.backup"]).outcomes[-1]
    assert status.status is Status.PENDING
    plan = cleanup.Backup().plan(ctx)
    assert "COPY" in plan.actions[0].to_json()["sql"]
    assert f"origem = '{BI}'" in plan.actions[0].to_json()["sql"]

    path = make_backup(site)
    manifest_path = backup.manifest_path_for(path)
    manifest = json.loads(manifest_path.read_text())
    assert path.parent == Path(site["tmp"] / "data" / "backups")
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert manifest["rows"] == manifest["removable_rows"] == bi_before
    assert manifest["mode"] == "delete-bi-rows" and manifest["scope"] == "removed"
    assert manifest["source"]["database"] == "postgres"
    assert site["bed"].passwords["supabase-postgres"] not in manifest_path.read_text()
    assert path.read_bytes().count(b"\n") == bi_before
    conn = ctx.supabase_conn()
    verification = backup.verify(conn, path)
    assert verification.readback and verification.live_matches
    assert verification.file_rows == bi_before
    assert site["runner"].status(["cleanup.backup"]).outcomes[-1].status is Status.DONE

    # One changed character in the file: the checksum no longer matches.
    data = path.read_bytes()
    index = data.index(b"Cliente ")
    path.write_bytes(data[:index] + b"Xliente " + data[index + 8 :])
    with pytest.raises(backup.BackupError) as tampered:
        backup.verify_file(path)
    assert tampered.value.kind == "tampered"
    checked = site["runner"].status(["cleanup.backup"]).outcomes[-1]
    assert checked.status is Status.FAILED
    assert checked.message.key == "cleanup.err.tampered"
    # A matching manifest rewritten by hand does not fool the state's own record either.
    manifest["sha256"] = backup._sha256(path.read_bytes())
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(backup.BackupError) as replaced:
        cleanup.verified_backup(ctx, conn, "delete-bi-rows")
    assert replaced.value.message.key == "cleanup.err.not_the_verified_one"
    # ... and the server reading it back sees different values than the digest promised.
    with pytest.raises(backup.BackupError) as readback:
        backup.verify(conn, path)
    assert readback.value.kind == "readback"
    assert counts(site)[0] == bi_before


def test_dedupe_removes_exactly_the_bi_rows_and_restore_puts_them_back(
    site: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    gate(site, True)
    ctx = site["ctx"]
    everything = rows(site)
    others = rows(site, f"origem <> '{BI}'")
    bi_before, other_count = counts(site)
    path = make_backup(site)

    plan = cleanup.Dedupe().plan(ctx)
    shown = plan.to_json()
    assert shown["risks"] == ["delete"]
    sql_text = next(a["sql"] for a in shown["actions"] if a["kind"] == "sql")
    assert (
        "LOCK TABLE" in sql_text
        and f'DELETE FROM "public"."clientes" WHERE origem = \'{BI}\'' in sql_text
    )
    assert any(a["description"]["params"].get("rows") == bi_before for a in shown["actions"])

    assert cleanup.authorize(ctx, "DELETE")
    outcome = dedupe(site)
    assert outcome.status is Status.DONE, outcome.message.render("en")
    assert counts(site) == (0, other_count)
    assert rows(site) == others  # every other row untouched, value for value
    memory = ctx.recall("cleanup.dedupe")
    assert memory["removed_rows"] == bi_before and memory["backup"] == str(path)
    assert isinstance(memory["db_size_before"], int) and isinstance(memory["db_size_after"], int)
    # The word was used up; a second apply has nothing to do anyway.
    assert cleanup.authorization(ctx) is None
    again = dedupe(site)
    assert again.status is Status.DONE and not again.changed
    # The backup stays verified ("kept") after its rows are gone.
    assert site["runner"].status(["cleanup.backup"]).outcomes[-1].status is Status.DONE

    undo = site["runner"].undo(["cleanup.dedupe"]).outcomes[-1]
    assert undo.changes[0].params["inserted"] == bi_before, undo.message.render("en")
    assert rows(site) == everything  # ids and values as before
    # Idempotent: a second restore skips every row already there.
    cleanup.request_restore(ctx, path)
    second = site["runner"].undo(["cleanup.dedupe"]).outcomes[-1]
    assert second.changes[0].params == {**second.changes[0].params, "inserted": 0}
    assert second.changes[0].params["skipped"] == bi_before
    assert rows(site) == everything

    entries = [e for e in AuditLog(ctx.config_path).entries() if e["step"] == "cleanup.dedupe"]
    assert [e["action"] for e in entries] == ["apply", "undo", "undo"]
    assert entries[0]["plan"]["risks"] == ["delete"]


def test_truncate_mode_backs_up_and_restores_every_row(
    site: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    gate(site, True)
    ctx = site["ctx"]
    ctx.config = ctx.config.model_copy(
        update={"cleanup": types.SimpleNamespace(mode="truncate", backup_scope="removed")}
    )
    everything = rows(site)
    path = make_backup(site)
    manifest = backup.read_manifest(path)
    assert manifest.scope == "all" and manifest.rows == len(everything)
    assert manifest.removable_rows == len(everything)
    plan = cleanup.Dedupe().plan(ctx)
    assert any("TRUNCATE TABLE" in a.to_json().get("sql", "") for a in plan.actions)
    assert any(w.key == "step.cleanup.dedupe.truncate_warning" for w in plan.warnings)
    assert cleanup.authorize(ctx, "APAGAR")
    outcome = dedupe(site)
    assert outcome.status is Status.DONE, outcome.message.render("en")
    assert counts(site) == (0, 0)
    site["runner"].undo(["cleanup.dedupe"])
    assert rows(site) == everything


def test_a_row_added_after_the_backup_makes_dedupe_refuse(
    site: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    gate(site, True)
    ctx = site["ctx"]
    make_backup(site)
    with admin(site) as conn:
        conn.execute("INSERT INTO public.clientes (razao_social, origem) VALUES ('late', %s)", [BI])
    before = rows(site)
    assert cleanup.authorize(ctx, "APAGAR")
    outcome = dedupe(site)  # the backup step sees it first: the dedupe is blocked
    assert outcome.status is Status.BLOCKED
    assert site["runner"].status(["cleanup.backup"]).outcomes[-1].message.key == (
        "step.cleanup.backup.stale"
    )
    assert rows(site) == before


def test_status_reuses_the_verified_backup_until_a_row_or_the_file_changes(
    site: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A check stays bounded at any table size: with nothing changed since the backup was
    verified it neither hashes the file nor digests the rows again; an edited row (same count)
    or a touched file is seen at once."""
    make_backup(site)
    calls: list[str] = []
    real_file, real_live = backup.verify_file, backup.live_removable

    def spy_file(path: Path) -> Any:
        calls.append("file")
        return real_file(path)

    def spy_live(conn: Any, mode: str) -> Any:
        calls.append("digest")
        return real_live(conn, mode)

    monkeypatch.setattr(backup, "verify_file", spy_file)
    monkeypatch.setattr(backup, "live_removable", spy_live)
    checked = site["runner"].status(["cleanup.backup", "cleanup.report"]).outcomes
    assert [o.status for o in checked] == [Status.DONE, Status.PENDING]
    assert checked[0].message.key == "step.cleanup.backup.ok" and calls == []

    with admin(site) as conn:  # same number of rows, different content
        conn.execute(
            "UPDATE public.clientes SET razao_social = razao_social || ' (editado)'"
            " WHERE id = (SELECT id FROM public.clientes WHERE origem = %s ORDER BY id LIMIT 1)",
            [BI],
        )
    stale = site["runner"].status(["cleanup.backup"]).outcomes[-1]
    assert stale.message.key == "step.cleanup.backup.stale" and calls == ["digest"]


def test_checks_estimate_big_tables_and_say_so(
    site: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above backup.EXACT_COUNT_MAX rows (by the statistics) a check shows the planner's
    estimate, flagged as one; the backup itself still holds every row."""
    with admin(site) as conn:
        conn.execute("ANALYZE public.clientes")
    monkeypatch.setattr(backup, "EXACT_COUNT_MAX", 1)
    checked = site["runner"].status(["cleanup.backup", "cleanup.report"])
    by_step = {o.step_id: o for o in checked.outcomes}
    pending = by_step["cleanup.backup"]  # no backup yet (dedupe waits for it)
    assert pending.facts["removable_estimated"] is True and pending.facts["removable_rows"] > 0
    assert "step.cleanup.estimated" in [d.key for d in pending.details]
    report = by_step["cleanup.report"]
    metrics = {m["id"]: m for m in report.facts["metrics"]}
    assert metrics["duplicated_rows"]["now_estimated"] is True
    assert "step.cleanup.estimated" in [d.key for d in report.details]
    path = make_backup(site)
    assert path.read_bytes().count(b"\n") == counts(site)[0]


def test_a_row_committed_while_waiting_for_the_lock_rolls_back(
    site: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race the lock exists for: a writer holds the table when the deletion starts. The
    deletion waits for the lock, then recounts, sees the new row and rolls back."""
    gate(site, True)
    ctx = site["ctx"]
    make_backup(site)
    step = cleanup.Dedupe()
    plan = step.plan(ctx)
    assert cleanup.authorize(ctx, "APAGAR")
    writer = admin(site)
    writer.autocommit = False
    writer.execute("INSERT INTO public.clientes (razao_social, origem) VALUES ('race', %s)", [BI])
    watcher = admin(site)
    errors: list[BaseException] = []

    def commit_when_blocked() -> None:
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                row = watcher.execute(
                    "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)"
                    " WHERE NOT l.granted AND a.application_name = 'fdw-wizard'"
                ).fetchone()
                if row and row[0]:
                    break
                time.sleep(0.05)
            writer.commit()
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    thread = threading.Thread(target=commit_when_blocked)
    thread.start()
    try:
        with pytest.raises(OperatorActionNeeded) as refused:
            step.apply(ctx, plan)
    finally:
        thread.join()
        writer.close()
        watcher.close()
    assert not errors
    assert refused.value.message.key == "cleanup.refuse.changed"
    assert refused.value.message.params["live"] == refused.value.message.params["backup"] + 1
    bi, _ = counts(site)
    assert bi == backup.read_manifest(Path(ctx.recall("cleanup.backup")["path"])).rows + 1


def test_the_typed_word_is_required_even_when_everything_is_confirmed(
    site: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    gate(site, True)
    ctx = site["ctx"]
    make_backup(site)
    before = rows(site)
    outcome = dedupe(site)  # confirm=True for every risk: what `apply --yes` does
    assert outcome.status is Status.FAILED and outcome.operator_action
    assert outcome.message.key == "cleanup.refuse.word"
    assert not cleanup.authorize(ctx, "yes")
    assert not cleanup.authorize(ctx, "apagar")  # deliberate: exactly the word
    assert cleanup.authorization(ctx) is None
    outcome = dedupe(site)
    assert outcome.status is Status.FAILED and outcome.operator_action
    assert rows(site) == before
    assert cleanup.confirm_words() == {"APAGAR", "DELETE"}


def test_monitor_gate_refuses_unless_overridden_on_purpose(
    site: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = site["ctx"]
    make_backup(site)
    before = rows(site)
    passed, _why = cleanup.monitor_gate(ctx)  # no health log yet: not passed
    assert not passed
    gate(site, False)
    passed, why = cleanup.monitor_gate(ctx)
    assert not passed and why.params["incidents"] == 1
    assert [kind for kind, _, _ in cleanup.preflight(ctx)] == ["gate"]
    assert cleanup.preflight(ctx, skip_monitor_gate=True) == []
    assert cleanup.authorize(ctx, "APAGAR")
    outcome = dedupe(site)
    assert outcome.status is Status.FAILED and outcome.operator_action
    assert outcome.message.key == "cleanup.refuse.gate"
    assert rows(site) == before

    assert cleanup.authorize(ctx, "APAGAR", skip_monitor_gate=True)
    outcome = dedupe(site)
    assert outcome.status is Status.DONE, outcome.message.render("en")
    assert counts(site)[0] == 0
    applied = [
        e
        for e in AuditLog(ctx.config_path).entries()
        if e["step"] == "cleanup.dedupe" and e["status"] == "done"
    ]
    assert len(applied) == 1
    assert applied[0]["changes"][0]["key"] == "cleanup.gate.overridden"
    assert "1 incidents" in applied[0]["changes"][0]["params"]["why"]
    assert "cleanup.gate.overridden" in [w["key"] for w in applied[0]["plan"]["warnings"]]
    assert ctx.recall("cleanup.dedupe")["gate_overridden"] is True


def test_report_shows_sizes_before_and_after(
    site: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    gate(site, True)
    ctx = site["ctx"]
    first = site["runner"].status(["cleanup.report"]).outcomes[-1]
    assert first.status is Status.PENDING
    metrics = {m["id"]: m for m in first.facts["metrics"]}
    assert metrics["storage"]["now"] > 0 and metrics["storage"]["runbook_before"] == 28_000_000
    assert metrics["storage"]["state"] == "met"  # the test bed's bucket is small
    assert metrics["duplicated_rows"]["now"] == counts(site)[0]
    assert metrics["latency"]["state"] == "not_measured"
    assert metrics["freshness"]["state"] == "not_met"  # no FDW server on this bed

    bi_before, _ = counts(site)
    make_backup(site)
    assert cleanup.authorize(ctx, "APAGAR")
    assert dedupe(site).status is Status.DONE
    ctx.remember("validate.latency", p95_ms=120.0)
    after = site["runner"].status(["cleanup.report"]).outcomes[-1]
    assert after.status is Status.DONE
    metrics = {m["id"]: m for m in after.facts["metrics"]}
    database = metrics["database"]
    assert isinstance(database["before"], int) and isinstance(database["after"], int)
    assert database["before"] > 0 and database["now"] > 0
    assert metrics["duplicated_rows"]["before"] == bi_before
    assert metrics["duplicated_rows"]["now"] == 0 and metrics["duplicated_rows"]["state"] == "met"
    assert metrics["latency"]["now"] == 120.0 and metrics["latency"]["state"] == "met"
    text = [d.render("pt-BR") for d in after.details]
    assert any(line.startswith("Tamanho do banco: antes da limpeza") for line in text)
    assert after.message.render("en").endswith("goals met")


def test_restore_refuses_a_tampered_file_and_another_database(site: dict[str, Any]) -> None:
    ctx = site["ctx"]
    path = make_backup(site)
    conn = ctx.supabase_conn()
    other = {**cleanup.source(ctx), "port": 1}
    with pytest.raises(backup.BackupError) as refused:
        backup.restore(conn, path, source=other)
    assert refused.value.kind == "other_source"
    path.write_bytes(path.read_bytes() + b"extra\n")
    with pytest.raises(backup.BackupError) as tampered:
        backup.restore(conn, path, source=cleanup.source(ctx))
    assert tampered.value.kind == "tampered"


def test_exit_code_of_a_refusal_is_operator_action(
    site: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    gate(site, True)
    make_backup(site)
    report = site["runner"].apply(["cleanup.dedupe"], confirm=lambda s, p: True)
    assert report.exit_code == exitcodes.OPERATOR
