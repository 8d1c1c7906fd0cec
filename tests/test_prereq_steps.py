"""The prerequisite steps against the real test bed clusters."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from wizard import exitcodes
from wizard.config import Config
from wizard.engine import Status
from wizard.session import open_session
from wizard.testbed.sandbox import sandbox_config

pytestmark = pytest.mark.clusters


@pytest.fixture
def config(testbed: Any) -> Config:
    return sandbox_config(
        testbed.dw.port,
        testbed.supabase.port,
        testbed.dw.cluster.data_dir,
        testbed.dw.cluster.bins.bin_dir,
        testbed.dw.cluster.owner,
    )


@pytest.fixture
def with_secrets(testbed: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv("FDW_WIZARD_SECRET_LOCAL_SUPERUSER", testbed.passwords["dw-superuser"])
    monkeypatch.setenv("FDW_WIZARD_SECRET_SUPABASE_DB", testbed.passwords["supabase-postgres"])
    return dict(testbed.passwords)


def run_status(config: Config, tmp_path: Path) -> Any:
    ctx, runner = open_session(config, tmp_path / "fdw-wizard.yaml")
    try:
        return runner.status(["prereq"])
    finally:
        ctx.close()


def test_both_connections_done(
    config: Config, with_secrets: dict[str, str], tmp_path: Path
) -> None:
    report = run_status(config, tmp_path)
    by_id = {o.step_id: o for o in report.outcomes}
    local = by_id["prereq.local-connection"]
    supa = by_id["prereq.supabase-connection"]
    assert local.status is Status.DONE, local.message
    assert local.facts["superuser"] is True
    assert local.facts["password_encryption"] == "scram-sha-256"
    assert supa.status is Status.DONE, supa.message
    assert supa.facts["superuser"] is False  # Supabase's postgres is not a superuser
    assert supa.facts["postgres_fdw_available"]
    assert report.exit_code == exitcodes.OK
    assert "PostgreSQL" in local.message.render("en")


def test_wrong_password_is_named(
    config: Config, with_secrets: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FDW_WIZARD_SECRET_LOCAL_SUPERUSER", "definitely-wrong-password")
    report = run_status(config, tmp_path)
    local = report.outcomes[0]
    assert local.status is Status.FAILED
    assert local.message.key == "db.err.auth_failed"
    assert local.fix is not None and "secrets set" in local.fix.render("en")
    assert "definitely-wrong-password" not in json.dumps(report.to_json())
    assert report.exit_code == exitcodes.FAILED


def test_missing_secret_needs_the_operator(config: Config, tmp_path: Path) -> None:
    report = run_status(config, tmp_path)  # no env var, fail keyring backend, no sandbox file
    local = report.outcomes[0]
    assert local.status is Status.FAILED and local.operator_action
    assert "fdw-wizard secrets set local-superuser" in local.message.render("en") + (
        local.fix.render("en") if local.fix else ""
    )
    assert report.exit_code == exitcodes.OPERATOR


def test_nothing_listening_is_connection_refused(
    config: Config, with_secrets: dict[str, str], tmp_path: Path
) -> None:
    from wizard.testbed.pgcluster import free_loopback_port

    config.local.port = free_loopback_port()
    report = run_status(config, tmp_path)
    assert report.outcomes[0].status is Status.FAILED
    assert report.outcomes[0].message.key == "db.err.refused"


def test_empty_supabase_host_asks_the_operator(
    config: Config, with_secrets: dict[str, str], tmp_path: Path
) -> None:
    config.supabase.host = ""
    report = run_status(config, tmp_path)
    supa = next(o for o in report.outcomes if o.step_id == "prereq.supabase-connection")
    assert supa.status is Status.FAILED and supa.operator_action
    assert supa.message.key == "step.prereq.supabase-connection.no_host"


def test_a_connection_the_server_dropped_is_replaced(
    config: Config, with_secrets: dict[str, str], tmp_path: Path, testbed: Any
) -> None:
    """The TUI keeps one session open for hours: a restart of the server must not leave it
    reporting 'terminating connection due to administrator command' forever."""
    ctx, runner = open_session(config, tmp_path / "fdw-wizard.yaml")
    try:
        assert runner.status(["prereq.local-connection"]).outcomes[0].status is Status.DONE
        pid = ctx.local_conn().info.backend_pid
        with testbed.dw.connect() as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        again = runner.status(["prereq.local-connection"]).outcomes[0]
        assert again.status is Status.DONE, again.message.render("en")
        assert ctx.local_conn().info.backend_pid != pid
    finally:
        ctx.close()


def test_elevation_names_an_immutable_conf_file_not_running_as_root(
    config: Config, with_secrets: dict[str, str], testbed: Any, tmp_path: Path
) -> None:
    """Root, but postgresql.conf is `chattr +i`: the step says the file is immutable and how to
    lift it, not "cannot change the server's files: Running as root"."""
    import os
    import shutil
    import subprocess

    conf = testbed.dw.cluster.data_dir / "postgresql.conf"
    if os.geteuid() != 0 or not shutil.which("chattr"):
        pytest.skip("needs root and chattr")
    if subprocess.run(["chattr", "+i", str(conf)], check=False).returncode != 0:
        pytest.skip("this file system has no immutable attribute")
    try:
        report = run_status(config, tmp_path)
    finally:
        subprocess.run(["chattr", "-i", str(conf)], check=True)
    outcome = {o.step_id: o for o in report.outcomes}["prereq.elevation"]
    assert outcome.status is Status.FAILED
    text = outcome.message.render("en")
    assert f"chattr -i {conf}" in text and "immutable" in text, text
    assert "Running as root" not in text
    assert "imutável" in outcome.message.render("pt-BR")
    # Lifted: the same check passes again.
    again = {o.step_id: o for o in run_status(config, tmp_path).outcomes}["prereq.elevation"]
    assert again.status is Status.DONE, again.message.render("en")
