"""No secret in any server log, in pg_stat_statements, in the state/audit files or in the output.

A test bed of its own, made as talkative as a server gets: ``log_statement = 'all'`` on both
clusters, and on the Supabase-like one pg_stat_statements preloaded with ``track = 'all'``
(nested statements too, utility statements with their text as written) and Supabase's grants
to its non-superuser ``postgres`` (pg_monitor, EXECUTE on the extension's functions). Then every
command that handles a secret runs as an operator runs it, and the raw bytes of every place a
secret could land are scanned for every secret value. The controls at the start prove the scan
sees what it should (a statement text in the log, a nested utility statement in
pg_stat_statements), so a leak cannot hide behind a setting that did not take.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import sandbox_config_for
from wizard import exitcodes
from wizard.config import save_config
from wizard.session import open_session
from wizard.testbed.bed import TestBed

pytestmark = pytest.mark.clusters

EXE = [sys.executable, "-m", "wizard.cli"]
PHASES_1_TO_3 = "prereq,local,supabase,views"
PGSS = "extensions.pg_stat_statements"
# The steps that send a secret to a server; every other step of Phases 1-3 runs too.
SECRET_STEPS = ("local.reader-role", "supabase.server", "supabase.user-mappings", "supabase.import")


def _value(conn: Any, query: str) -> Any:
    row = conn.execute(query).fetchone()
    assert row is not None
    return row[0]


def _make_talkative(bed: TestBed) -> None:
    """log_statement = all on both clusters; pg_stat_statements (track = all) on Supabase."""
    supa = bed.supabase
    with supa.connect(dbname="postgres") as admin:
        admin.execute("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'")
    supa.cluster.restart()
    with supa.connect(dbname="postgres") as admin:
        # Only loaded now, so only now a known parameter.
        admin.execute("ALTER SYSTEM SET pg_stat_statements.track = 'all'")
        admin.execute("ALTER SYSTEM SET pg_stat_statements.track_utility = 'on'")
        admin.execute("CREATE EXTENSION pg_stat_statements WITH SCHEMA extensions")
        # As on Supabase: migration 20230306081037 grants pg_monitor to postgres, and
        # demote-postgres grants ALL ON ALL ROUTINES IN SCHEMA extensions to postgres.
        admin.execute("GRANT pg_monitor TO postgres")
        admin.execute("GRANT ALL ON ALL ROUTINES IN SCHEMA extensions TO postgres")
    for endpoint in (bed.dw, supa):
        with endpoint.connect(dbname="postgres") as admin:
            admin.execute("ALTER SYSTEM SET log_statement = 'all'")
            admin.execute("SELECT pg_reload_conf()")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with bed.dw.connect() as dw, supa.connect(user="postgres") as sp:
            settings = (
                _value(dw, "SHOW log_statement"),
                _value(sp, "SHOW log_statement"),
                _value(sp, "SHOW pg_stat_statements.track"),
            )
        if settings == ("all", "all", "all"):
            return
        time.sleep(0.2)
    raise AssertionError(f"settings did not take: {settings}")


def _server_logs(bed: TestBed) -> dict[str, bytes]:
    """Every byte each server wrote to its logs (the collector's files and pg_ctl's)."""
    logs: dict[str, bytes] = {}
    for endpoint in (bed.dw, bed.supabase):
        cluster = endpoint.cluster
        files = [*sorted((cluster.data_dir / "log").glob("*")), cluster.startup_log]
        logs[endpoint.name] = b"".join(p.read_bytes() for p in files if p.is_file())
    return logs


def _flushed_logs(bed: TestBed, marker: str) -> dict[str, bytes]:
    """The logs once both servers have written a statement holding ``marker`` (the logging
    collector writes asynchronously): everything before it is on disk."""
    for endpoint in (bed.dw, bed.supabase):
        with endpoint.connect() as conn:
            conn.execute(f"SELECT '{marker}' AS marker")
    deadline = time.monotonic() + 15
    while True:
        logs = _server_logs(bed)
        if all(marker.encode() in data for data in logs.values()):
            return logs
        if time.monotonic() > deadline:
            raise AssertionError(f"{marker} never reached both logs (log_statement = all?)")
        time.sleep(0.2)


def _pgss_texts(bed: TestBed) -> bytes:
    """pg_stat_statements as Supabase's postgres reads it (pg_read_all_stats: every role's)."""
    with bed.supabase.connect(user="postgres") as sp:
        rows = sp.execute(f"SELECT query FROM {PGSS}").fetchall()
    return "\n".join(str(r[0]) for r in rows).encode("utf-8")


@pytest.fixture(scope="module")
def site(private_testbed: TestBed, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    bed = private_testbed
    _make_talkative(bed)
    folder = tmp_path_factory.mktemp("secret-logs")
    config_path = folder / "fdw-wizard.yaml"
    save_config(sandbox_config_for(bed), config_path)
    env = dict(os.environ)
    env["FDW_WIZARD_SECRET_LOCAL_SUPERUSER"] = bed.passwords["dw-superuser"]
    env["FDW_WIZARD_SECRET_SUPABASE_DB"] = bed.passwords["supabase-postgres"]
    env["FDW_WIZARD_DATA_DIR"] = str(folder / "data")
    env.pop("FDW_WIZARD_SECRET_READER", None)
    yield {"bed": bed, "config": config_path, "env": env, "folder": folder, "outputs": []}


def run(site: dict[str, Any], *args: str) -> subprocess.CompletedProcess[bytes]:
    """One CLI command; its raw stdout/stderr are kept for the scan."""
    result = subprocess.run(
        [*EXE, *args, "--config", str(site["config"])],
        capture_output=True,
        env=site["env"],
        timeout=300,
        check=False,
    )
    site["outputs"].append((" ".join(args), result.stdout + result.stderr))
    return result


def reader_password(site: dict[str, Any]) -> str:
    """The reader's password where the wizard keeps it (keyring or the sandbox's 0600 file)."""
    mp = pytest.MonkeyPatch()
    for key in ("FDW_WIZARD_SECRET_LOCAL_SUPERUSER", "FDW_WIZARD_SECRET_SUPABASE_DB"):
        mp.setenv(key, site["env"][key])
    try:
        from wizard.config import load_config

        ctx, _runner = open_session(load_config(site["config"]), site["config"])
        try:
            value: str = ctx.secret("reader")
        finally:
            ctx.close()
    finally:
        mp.undo()
    assert len(value) >= 32
    return value


def apply_phases(site: dict[str, Any], only: str) -> None:
    """Phases applied by the CLI, as an operator would; each test sets the state it needs."""
    result = run(site, "apply", "--only", only, "--yes", "--json")
    assert result.returncode == exitcodes.OK, result.stdout.decode()[-3000:]


def test_controls_the_scan_sees_statements_and_nested_utility_text(site: dict[str, Any]) -> None:
    """Without these, a clean scan could only mean the settings did not take."""
    bed: TestBed = site["bed"]
    with bed.supabase.connect(user="postgres") as sp:
        sp.execute("SELECT 'control-top-level-text' AS marker")
        sp.execute("DO $$BEGIN EXECUTE 'CREATE TEMP TABLE control_nested (c int)'; END$$")
    logs = _flushed_logs(bed, "control-both-logs")
    assert b"control-top-level-text" in logs["supabase"]
    # The nested statement has an entry of its own, its text verbatim (the DO has another).
    assert b"\nCREATE TEMP TABLE control_nested (c int)\n" in b"\n" + _pgss_texts(bed) + b"\n"
    assert b"control_nested" in logs["supabase"]  # in the DO block's own text, at top level


def test_every_command_that_handles_a_secret_leaves_none_behind(site: dict[str, Any]) -> None:
    bed: TestBed = site["bed"]
    # Phases 1-3: the reader role (its SCRAM verifier) and the user mappings (its password).
    applied = run(site, "apply", "--only", PHASES_1_TO_3, "--yes", "--json")
    done = {s["step"]: s["status"] for s in json.loads(applied.stdout)["steps"]}
    for step in SECRET_STEPS:
        assert done.get(step) == "done", (step, applied.stdout.decode()[-3000:])
    secrets = {"reader": reader_password(site)}

    # The plan says how the password travels and that the stats entries are removed.
    planned = run(site, "apply", "--only", "supabase.user-mappings", "--dry-run", "--json")
    assert planned.returncode == exitcodes.OK, planned.stderr.decode()

    # The repair path (diagnosis -> supabase.user-mappings): a mapping with a stale password.
    with bed.supabase.connect(user="postgres") as sp:
        sp.execute(
            "ALTER USER MAPPING FOR authenticated SERVER bluconecta_dw_server"
            " OPTIONS (SET password 'stale-not-a-secret')"
        )
    doctor = run(site, "doctor", "--json")
    assert doctor.returncode in (exitcodes.OK, exitcodes.FAILED, exitcodes.OPERATOR)
    status = run(site, "status", "--json")
    steps = {s["step"]: s for s in json.loads(status.stdout)["steps"]}
    assert steps["supabase.user-mappings"]["status"] == "pending"
    repaired = run(site, "apply", "--only", "supabase.user-mappings", "--yes", "--json")
    assert repaired.returncode == exitcodes.OK, repaired.stdout.decode()
    after = json.loads(run(site, "status", "--json").stdout)["steps"]
    assert {s["step"]: s["status"] for s in after}["supabase.user-mappings"] == "done"

    # Validation (its offline probe creates throwaway objects of its own) and a rollback.
    run(site, "validate", "--json")
    rolled = run(site, "rollback", "--only", "supabase,views", "--yes", "--json")
    assert rolled.returncode in (exitcodes.OK, exitcodes.OPERATOR), rolled.stdout.decode()

    secrets.update(bed.passwords)
    logs = _flushed_logs(bed, "scan-after-every-command")
    places: dict[str, bytes] = {f"{k} server log": v for k, v in logs.items()}
    places["pg_stat_statements (as postgres)"] = _pgss_texts(bed)
    data_dir = Path(site["env"]["FDW_WIZARD_DATA_DIR"])
    for path in sorted(data_dir.rglob("*")):
        if path.is_file():
            places[str(path)] = path.read_bytes()
    places["fdw-wizard.yaml"] = site["config"].read_bytes()
    for command, output in site["outputs"]:
        places[f"output of {command}"] = output
    leaks = [
        f"{name} in {place}"
        for name, value in secrets.items()
        for place, data in places.items()
        if value.encode("utf-8") in data
    ]
    assert leaks == []
    # The mapping statements did run (nested), and their stats entries were removed.
    assert b"DO $fdw_wizard$" in places["supabase server log"]
    assert b"COPY pg_temp.fdw_wizard_secret" in places["supabase server log"]
    # The DW saw the reader's password only as a client-side SCRAM verifier.
    assert b"SCRAM-SHA-256$4096:" in places["dw server log"]


def test_stats_exposure_is_reported_and_removed_once_postgres_may_reset(
    site: dict[str, Any],
) -> None:
    """A project where pg_stat_statements keeps nested text and postgres may not remove it:
    the plan warns (a security risk to confirm) and names the remedy, apply counts what stayed,
    the check keeps saying so; once postgres may reset, the step removes those entries."""
    bed: TestBed = site["bed"]
    # Phase 1 in place and Phase 2 rolled back: the mappings are created again here.
    apply_phases(site, "prereq,local")
    password = reader_password(site).encode("utf-8")
    rolled = run(site, "rollback", "--only", "supabase,views", "--yes", "--json")
    assert rolled.returncode in (exitcodes.OK, exitcodes.OPERATOR), rolled.stdout.decode()
    with bed.supabase.connect(dbname="postgres") as admin:
        admin.execute("REVOKE ALL ON ALL ROUTINES IN SCHEMA extensions FROM postgres")
    try:
        applied = run(site, "apply", "--only", "supabase", "--yes", "--json", "--lang", "en")
        steps = {s["step"]: s for s in json.loads(applied.stdout)["steps"]}
        mapping = steps["supabase.user-mappings"]
        assert mapping["status"] == "done", mapping
        warnings = {w["key"] for w in mapping["plan"]["warnings"]}
        assert {
            "step.supabase.user-mappings.stats_exposed",
            "step.supabase.user-mappings.stats_fix",
        } <= warnings
        assert "security" in mapping["plan"]["risks"]
        assert "step.supabase.user-mappings.stats_left" in {c["key"] for c in mapping["changes"]}
        assert password in _pgss_texts(bed)  # the exposure the warning is about, measured
        assert password not in applied.stdout + applied.stderr

        status = json.loads(run(site, "status", "--json").stdout)
        checked = next(s for s in status["steps"] if s["step"] == "supabase.user-mappings")
        assert checked["status"] == "done"  # nothing this role can do about it
        keys = {d["key"] for d in checked.get("details", [])}
        assert {
            "step.supabase.user-mappings.stats_leftover",
            "step.supabase.user-mappings.stats_exposed",
            "step.supabase.user-mappings.stats_fix",
        } <= keys
    finally:
        with bed.supabase.connect(dbname="postgres") as admin:
            admin.execute("GRANT ALL ON ALL ROUTINES IN SCHEMA extensions TO postgres")
    # The remedy: with the grant, the step is pending and its apply removes the entries.
    status = json.loads(run(site, "status", "--json").stdout)
    checked = next(s for s in status["steps"] if s["step"] == "supabase.user-mappings")
    assert checked["status"] == "pending"
    fixed = run(site, "apply", "--only", "supabase.user-mappings", "--yes", "--json")
    assert fixed.returncode == exitcodes.OK, fixed.stdout.decode()
    assert password not in _pgss_texts(bed)
    status = json.loads(run(site, "status", "--json").stdout)
    checked = next(s for s in status["steps"] if s["step"] == "supabase.user-mappings")
    assert checked["status"] == "done"
    assert "details" not in checked or not any(
        d["key"].startswith("step.supabase.user-mappings.stats") for d in checked["details"]
    )


def test_pgaudit_before_16_is_paused_for_the_mapping_or_nothing_is_created(
    site: dict[str, Any],
) -> None:
    """pgaudit 1.7 (the PostgreSQL 15 line; Supabase's platform default is pgaudit.log = 'ddl')
    logs a nested CREATE USER MAPPING in the DDL class with its password: the step pauses it
    for those statements when the role may SET pgaudit.log (Supabase allows postgres through
    supautils; GRANT SET ON PARAMETER stands in for that here) and refuses otherwise."""
    bed: TestBed = site["bed"]
    with bed.supabase.connect(dbname="postgres") as admin:
        found = admin.execute(
            "SELECT 1 FROM pg_available_extensions WHERE name = 'pgaudit'"
        ).fetchone()
        version = _value(admin, "SHOW server_version_num")
    if found is None or int(version) >= 160000:
        pytest.skip("pgaudit 1.x is not installed for this PostgreSQL (e.g. postgresql-15-pgaudit)")
    # The mapping to drop is there: Phases 1-3 applied (before pgaudit is loaded).
    apply_phases(site, PHASES_1_TO_3)
    with bed.supabase.connect(dbname="postgres") as admin:
        admin.execute("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements', 'pgaudit'")
    bed.supabase.cluster.restart()
    try:
        with bed.supabase.connect(dbname="postgres") as admin:
            admin.execute("ALTER SYSTEM SET pgaudit.log = 'ddl'")
            admin.execute("SELECT pg_reload_conf()")
        password = reader_password(site).encode("utf-8")
        with bed.supabase.connect(user="postgres") as sp:
            sp.execute("DROP USER MAPPING FOR authenticated SERVER bluconecta_dw_server")

        refused = run(site, "apply", "--only", "supabase.user-mappings", "--yes", "--json")
        assert refused.returncode == exitcodes.FAILED, refused.stdout.decode()
        step = json.loads(refused.stdout)["steps"][-1]
        assert step["message"]["key"] == "step.supabase.user-mappings.pgaudit_refused", step

        with bed.supabase.connect(dbname="postgres") as admin:
            admin.execute("GRANT SET ON PARAMETER pgaudit.log TO postgres")
        planned = run(site, "apply", "--only", "supabase.user-mappings", "--dry-run", "--json")
        plan = json.loads(planned.stdout)["steps"][-1]["plan"]
        notes = {a["description"]["key"] for a in plan["actions"] if a["kind"] == "note"}
        assert "step.supabase.user-mappings.pgaudit_paused" in notes
        mapped = run(site, "apply", "--only", "supabase.user-mappings", "--yes", "--json")
        assert mapped.returncode == exitcodes.OK, mapped.stdout.decode()

        logs = _flushed_logs(bed, "scan-after-pgaudit")
        assert b"AUDIT: SESSION" in logs["supabase"] and b"DROP USER MAPPING" in logs["supabase"]
        assert password not in logs["supabase"]
        for _command, output in site["outputs"]:
            assert password not in output
    finally:
        # The module's other tests run without pgaudit (and postgres without its grant).
        with bed.supabase.connect(dbname="postgres") as admin:
            admin.execute("REVOKE SET ON PARAMETER pgaudit.log FROM postgres")
            admin.execute("ALTER SYSTEM RESET pgaudit.log")
            admin.execute("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'")
        bed.supabase.cluster.restart()
