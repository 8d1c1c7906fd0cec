"""Issue 10's small failures, each against a real DW cluster of this module's own.

1. local.reader-role: a run that dies after CREATE ROLE still lets rollback drop the role it
   created; a role that existed before is never dropped.
2. local.hba: the reader's hostssl rules present while ssl is off -> "waits for local.tls"
   (pending), not "failed".
3. After local.reload moved the server to exposure.listen_port, status finds it there and
   reports the port it answered on.
4. rollback --json is truthful: an undo that changed nothing says so (changed false).

The port move (3) runs last: it leaves the cluster on another port until it moves it back.
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

import psycopg
import pytest

from tests.conftest import sandbox_config_for
from wizard import exitcodes
from wizard.config import Config, save_config
from wizard.engine import FileEdit, Status
from wizard.fileio import atomic_write_bytes
from wizard.i18n import Message
from wizard.session import open_session
from wizard.state import StateStore
from wizard.steps.local_hba import Hba
from wizard.steps.local_role import CREATED_PENDING, ReaderRole
from wizard.steps.prereq import LocalConnection
from wizard.testbed.bed import TestBed
from wizard.testbed.pgcluster import free_loopback_port

pytestmark = pytest.mark.clusters

READER = "supabase_fdw_reader"
ROLE_STEP = "local.reader-role"


@pytest.fixture
def site(private_testbed: TestBed, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A config of its own (fresh state) for the module's test bed; secrets in ``env``."""
    bed = private_testbed
    config = sandbox_config_for(bed)
    path = tmp_path / "fdw-wizard.yaml"
    save_config(config, path)
    env = dict(os.environ)
    env["FDW_WIZARD_SECRET_LOCAL_SUPERUSER"] = bed.passwords["dw-superuser"]
    env["FDW_WIZARD_SECRET_SUPABASE_DB"] = bed.passwords["supabase-postgres"]
    mp = pytest.MonkeyPatch()
    mp.setenv("FDW_WIZARD_SECRET_LOCAL_SUPERUSER", bed.passwords["dw-superuser"])
    mp.setenv("FDW_WIZARD_SECRET_SUPABASE_DB", bed.passwords["supabase-postgres"])
    try:
        yield {"bed": bed, "config": config, "path": path, "env": env}
    finally:
        mp.undo()
        if role_exists(bed):
            with bed.dw.connect() as admin:
                admin.execute(f"DROP OWNED BY {READER}")
                admin.execute(f"DROP ROLE {READER}")


def cli(site: dict[str, Any], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wizard.cli", *args, "--config", str(site["path"])],
        capture_output=True,
        text=True,
        env=site["env"],
        timeout=300,
        check=False,
    )


def json_of(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    try:
        return json.loads(result.stdout)  # type: ignore[no-any-return]
    except ValueError:
        raise AssertionError(f"no JSON (exit {result.returncode}): {result.stderr}") from None


def by_step(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["step"]: s for s in document["steps"]}


def role_exists(bed: TestBed) -> bool:
    with bed.dw.connect() as admin:
        row = admin.execute("SELECT count(*) FROM pg_roles WHERE rolname = %s", (READER,))
        return bool(row.fetchone()[0])


# -- 1. local.reader-role: the "created" flag survives a run that dies -----------------------


def kill_apply_while_granting(site: dict[str, Any]) -> None:
    """Run `apply --only local.reader-role` in a subprocess and SIGKILL it while it waits on
    its GRANT CONNECT (which comes after CREATE ROLE / ALTER ROLE ... PASSWORD): the test holds
    the database's catalog row in an open transaction, so the wizard waits right there."""
    bed: TestBed = site["bed"]
    holder = bed.dw.connect(autocommit=False)
    watcher = bed.dw.connect()
    proc: subprocess.Popen[str] | None = None
    try:
        holder.execute("GRANT CONNECT ON DATABASE bluconecta_dw TO PUBLIC")  # row locked
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "wizard.cli",
                "apply",
                "--only",
                ROLE_STEP,
                "--yes",
                "--json",
                "--config",
                str(site["path"]),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=site["env"],
            text=True,
        )
        deadline = time.monotonic() + 120
        waiting: int | None = None
        while waiting is None:
            assert proc.poll() is None, "the apply ended before it reached GRANT CONNECT"
            assert time.monotonic() < deadline, "the apply never reached GRANT CONNECT"
            row = watcher.execute(
                "SELECT pid FROM pg_stat_activity WHERE query ILIKE 'GRANT CONNECT%%'"
                " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            ).fetchone()
            waiting = row[0] if row else None
            time.sleep(0.05)
        proc.kill()  # the run dies in the middle of local.reader-role
        proc.wait(timeout=30)
        # Its server session must not finish the GRANT once the row is free again.
        watcher.execute("SELECT pg_terminate_backend(%s)", (waiting,))
        for _ in range(100):
            gone = watcher.execute(
                "SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = %s", (waiting,)
            ).fetchone()[0]
            if gone:
                break
            time.sleep(0.05)
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
        holder.rollback()
        holder.close()
        watcher.close()


def test_run_killed_after_create_role_then_rollback_drops_the_role(
    site: dict[str, Any],
) -> None:
    bed: TestBed = site["bed"]
    assert not role_exists(bed)
    kill_apply_while_granting(site)
    assert role_exists(bed)  # CREATE ROLE ran and committed before the run died
    memory = StateStore(site["path"]).recall(ROLE_STEP)
    assert memory.get("created") is True and memory.get("role") == READER

    result = cli(site, "rollback", "--only", ROLE_STEP, "--yes", "--json")
    assert result.returncode == exitcodes.OK, result.stdout + result.stderr
    outcome = by_step(json_of(result))[ROLE_STEP]
    assert outcome["changed"] is True
    assert "step.local.reader-role.dropped" in [c["key"] for c in outcome["changes"]]
    assert not role_exists(bed)
    assert StateStore(site["path"]).recall(ROLE_STEP).get("created") is None

    # A second rollback has nothing left to do, and says so.
    again = cli(site, "rollback", "--only", ROLE_STEP, "--yes", "--json")
    assert again.returncode == exitcodes.OK, again.stderr
    outcome = by_step(json_of(again))[ROLE_STEP]
    assert outcome["changed"] is False
    assert outcome["message"]["key"] == "step.local.reader-role.nothing_to_undo"


def test_pending_create_is_proven_by_the_password(site: dict[str, Any]) -> None:
    """Died between CREATE ROLE and the record that it ran: memory says `pending`. The role
    is the wizard's only if it carries the password the wizard generated and kept."""
    bed: TestBed = site["bed"]
    ctx, runner = open_session(
        site["config"], site["path"], steps=[LocalConnection(), ReaderRole()]
    )
    real_remember = ctx.remember

    def dies_after_create(step_id: str, **values: Any) -> None:
        if step_id == ROLE_STEP and values.get("created") is True:
            raise RuntimeError("the run died right after CREATE ROLE")
        real_remember(step_id, **values)

    try:
        ctx.remember = dies_after_create
        failed = runner.apply([ROLE_STEP]).outcomes[-1]
        assert failed.status is Status.FAILED and "died" in (failed.error or "")
        ctx.remember = real_remember
        assert role_exists(bed)
        assert ctx.recall(ROLE_STEP).get("created") == CREATED_PENDING
        undo = runner.undo([ROLE_STEP]).outcomes[-1]
        assert undo.changed and "step.local.reader-role.dropped" in [c.key for c in undo.changes]
        assert not role_exists(bed)
    finally:
        ctx.close()


def test_pending_record_never_drops_a_role_someone_else_made(site: dict[str, Any]) -> None:
    """Died after recording `pending` but before CREATE ROLE ran; then someone created the
    role themselves: rollback keeps it (its password is not the wizard's)."""
    bed: TestBed = site["bed"]
    StateStore(site["path"]).remember(ROLE_STEP, {"created": CREATED_PENDING, "role": READER})
    with bed.dw.connect() as admin:
        admin.execute(f"CREATE ROLE {READER} LOGIN PASSWORD 'their-own-password-1234567890'")
    result = cli(site, "rollback", "--only", ROLE_STEP, "--yes", "--json")
    assert result.returncode == exitcodes.OK, result.stdout + result.stderr
    outcome = by_step(json_of(result))[ROLE_STEP]
    assert "step.local.reader-role.kept" in [c["key"] for c in outcome["changes"]]
    assert role_exists(bed)


def test_run_killed_on_a_role_that_existed_before_never_drops_it(site: dict[str, Any]) -> None:
    bed: TestBed = site["bed"]
    with bed.dw.connect() as admin:
        admin.execute(f"CREATE ROLE {READER} NOLOGIN")
    kill_apply_while_granting(site)
    memory = StateStore(site["path"]).recall(ROLE_STEP)
    assert memory.get("preexisted") is True and memory.get("created") is None

    result = cli(site, "rollback", "--only", ROLE_STEP, "--yes", "--json")
    assert result.returncode == exitcodes.OK, result.stdout + result.stderr
    outcome = by_step(json_of(result))[ROLE_STEP]
    keys = [c["key"] for c in outcome["changes"]]
    assert "step.local.reader-role.kept" in keys and "step.local.reader-role.dropped" not in keys
    assert role_exists(bed)


# -- 2. local.hba: hostssl rules in place, ssl still off --------------------------------------


def test_hostssl_rules_with_ssl_off_wait_for_local_tls(site: dict[str, Any]) -> None:
    bed: TestBed = site["bed"]
    hba_path = bed.dw.cluster.hba_path
    original = hba_path.read_bytes()
    ctx, _runner = open_session(site["config"], site["path"], steps=[LocalConnection(), Hba()])
    try:
        assert ctx.local_conn().execute("SHOW ssl").fetchone()[0] == "off"
        # The rules exactly as local.hba writes them, put there before local.tls ran.
        plan = Hba().plan(ctx)
        (edit,) = [a for a in plan.actions if isinstance(a, FileEdit)]
        atomic_write_bytes(hba_path, edit.after, backup=False)
        ctx.local_conn().execute("SELECT pg_reload_conf()")

        # (Phase 1 and its prerequisites: a test bed's seeded fallback JSONs are stale.)
        status = cli(site, "status", "--json", "--only", "prereq,local")
        assert status.returncode != exitcodes.FAILED, status.stdout + status.stderr
        hba = by_step(json_of(status))["local.hba"]
        assert hba["status"] == "pending", hba
        assert hba["message"]["key"] == "step.local.hba.waits_tls"
        text = Message(hba["message"]["key"], hba["message"]["params"]).render("en")
        assert "local.tls" in text and "local.reload" in text

        dry = cli(site, "apply", "--only", "local.hba", "--dry-run", "--json")
        assert dry.returncode == exitcodes.OK, dry.stdout + dry.stderr
        assert by_step(json_of(dry))["local.hba"]["status"] == "pending"

        # With TLS turned off in the config the hostssl rules could never match: a failure.
        site["config"].exposure.tls.enabled = False
        save_config(site["config"], site["path"])
        off = by_step(json_of(cli(site, "status", "--json", "--only", "local.hba")))
        assert off["local.hba"]["status"] == "failed"
        assert off["local.hba"]["message"]["key"] == "step.local.hba.tls_disabled"
    finally:
        ctx.close()
        atomic_write_bytes(hba_path, original, backup=False)
        with bed.dw.connect() as admin:
            admin.execute("SELECT pg_reload_conf()")


# -- 4. rollback --json tells the truth --------------------------------------------------------


def test_rollback_of_never_done_steps_changes_nothing_and_says_so(site: dict[str, Any]) -> None:
    ids = "app.hooks,app.sync-flag,app.dashboards,supabase.extension"
    result = cli(site, "rollback", "--only", ids, "--yes", "--json")
    assert result.returncode == exitcodes.OK, result.stdout + result.stderr
    steps = by_step(json_of(result))
    for step in ("app.hooks", "app.sync-flag", "app.dashboards"):
        assert steps[step]["changed"] is False, steps[step]
        assert "changes" not in steps[step]
        assert steps[step]["message"]["key"] == "step.manual.nothing_to_undo"
    extension = steps["supabase.extension"]
    assert extension["changed"] is False and "changes" not in extension
    assert extension["message"]["key"] == "step.supabase.kept"

    # A confirmation that was recorded is withdrawn: that one is a change.
    confirmed = cli(site, "apply", "--confirm-manual", "app.hooks", "--json")
    assert confirmed.returncode in (exitcodes.OK, exitcodes.OPERATOR), confirmed.stderr
    undone = by_step(json_of(cli(site, "rollback", "--only", "app.hooks", "--yes", "--json")))
    assert undone["app.hooks"]["changed"] is True
    assert [c["key"] for c in undone["app.hooks"]["changes"]] == ["step.manual.unconfirmed"]


# -- 3. (last) the server moved to exposure.listen_port ---------------------------------------


def test_status_finds_the_server_on_its_new_port(site: dict[str, Any]) -> None:
    bed: TestBed = site["bed"]
    config: Config = site["config"]
    old_port = bed.dw.port
    new_port = free_loopback_port()
    config.exposure.listen_port = new_port
    save_config(config, site["path"])

    applied = cli(site, "apply", "--only", "local.listen,local.reload", "--yes", "--json")
    assert applied.returncode == exitcodes.OK, applied.stdout + applied.stderr
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(**{**bed.dw.conninfo(), "connect_timeout": 3}).close()

    try:
        status = cli(site, "status", "--json", "--only", "prereq.local-connection,local")
        assert status.returncode != exitcodes.FAILED, status.stdout + status.stderr
        steps = by_step(json_of(status))
        prereq = steps["prereq.local-connection"]
        assert prereq["status"] == "done"
        assert prereq["message"]["params"]["port"] == new_port
        assert prereq["facts"]["port"] == new_port
        moved = [d for d in prereq.get("details", []) if d["key"].endswith(".moved")]
        assert moved and moved[0]["params"] == {"port": new_port, "configured": old_port}
        assert steps["local.listen"]["status"] == "done"
        assert steps["local.reload"]["status"] == "done"
        assert steps["local.reload"]["message"]["params"]["port"] == new_port
    finally:
        # Back to the old port: rollback finds the server on the new one to move it.
        back = cli(site, "rollback", "--only", "local.listen,local.reload", "--yes", "--json")
    assert back.returncode == exitcodes.OK, back.stdout + back.stderr
    with psycopg.connect(**bed.dw.conninfo()) as conn:
        assert conn.execute("SHOW port").fetchone()[0] == str(old_port)
