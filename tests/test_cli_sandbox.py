"""The installed command as a user runs it: demo -> status --json -> demo --stop.

Runs `fdw-wizard` in subprocesses (the console script of this venv), like the README says.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from wizard import exitcodes

pytestmark = pytest.mark.clusters

EXE = [sys.executable, "-m", "wizard.cli"]


def run(
    *args: str, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*EXE, *args],
        capture_output=True,
        text=True,
        env=env or dict(os.environ),
        input=stdin,
        timeout=180,
        check=False,
    )


def postgres_processes_under(directory: Path) -> list[str]:
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmdline = (
                Path(f"/proc/{pid}/cmdline")
                .read_bytes()
                .replace(b"\0", b" ")
                .decode(errors="replace")
            )  # other processes may not be UTF-8
        except OSError:
            continue
        if str(directory) in cmdline and "postgres" in cmdline:
            found.append(cmdline)
    return found


@pytest.fixture
def demo_dir() -> Path:
    base = Path(tempfile.mkdtemp(prefix="fdw-wizard-demo-"))
    base.chmod(0o755)  # as root, the clusters run as `postgres`, which must reach them
    yield base / "sandbox"
    shutil.rmtree(base, ignore_errors=True)


@pytest.mark.skipif(sys.platform == "win32", reason="/proc scan")
def test_demo_status_stop_round_trip(demo_dir: Path) -> None:
    started = run("demo", "--no-tui", "--dir", str(demo_dir), "--scale", "0.01", "--json")
    assert started.returncode == 0, started.stderr
    info = json.loads(started.stdout)
    config_path = Path(info["config"])
    assert config_path.exists()
    assert info["dw"]["host"] == "127.0.0.1" and info["supabase"]["host"] == "127.0.0.1"
    try:
        # --config works after the command name ...
        after = run("status", "--config", str(config_path), "--json")
        # ... and before it.
        before = run("--config", str(config_path), "status", "--json")
        for result in (after, before):
            assert result.returncode == exitcodes.OK, result.stderr
            document = json.loads(result.stdout)  # stdout is exactly one JSON document
            statuses = {s["step"]: s["status"] for s in document["steps"]}
            from wizard.steps import all_steps

            assert list(statuses) == [s.id for s in all_steps()]  # every step present
            assert statuses["prereq.local-connection"] == "done"
            assert statuses["prereq.supabase-connection"] == "done"
            # A fresh DW: Phase 1 still to do.
            assert statuses["local.hba"] == "pending"
            assert statuses["local.reader-role"] == "pending"
        # The text mode prints each step with a status word, not colour alone.
        text = run("status", "--config", str(config_path), "--lang", "pt-BR")
        assert "concluído" in text.stdout and "prereq.local-connection" in text.stdout

        # No secret lands in the YAML, the state, the audit log or the output.
        secrets_file = demo_dir / "fdw-wizard-sandbox-secrets.json"
        assert secrets_file.exists()  # the test env has no usable keyring
        assert oct(secrets_file.stat().st_mode & 0o777) == "0o600"
        values = list(json.loads(secrets_file.read_text()).values())
        assert len(values) == 4 and all(len(v) >= 32 for v in values)  # 2 passwords, 2 API keys
        data_dir = Path(os.environ["FDW_WIZARD_DATA_DIR"])
        haystack = config_path.read_text() + started.stdout + started.stderr + after.stdout
        haystack += "".join(p.read_text() for p in data_dir.rglob("*") if p.is_file())
        for value in values:
            assert value not in haystack
        assert "sandbox: true" in config_path.read_text()
        # Issue 4's done criterion: `apply --yes` takes every automatable step of the
        # prerequisites and Phases 1-3 to done; manual items wait for the operator (exit 3);
        # cleanup is left to its own command.
        applied = run("apply", "--yes", "--json", "--config", str(config_path))
        assert applied.returncode == exitcodes.OPERATOR, applied.stderr
        by_step = {s["step"]: s["status"] for s in json.loads(applied.stdout)["steps"]}
        manual = {"app.hooks", "app.etl"}
        waiting = {"app.sync-flag", "app.dashboards"}  # behind app.hooks
        for step, status in by_step.items():
            if step in manual:
                assert status == "manual", step
            elif step in waiting:
                assert status == "blocked", step
            elif step == "local.firewall":
                assert status == "n/a"
            elif step == "validate.monitor":
                assert status == "pending"  # 48 h of monitoring to go
            else:
                assert status == "done", (step, status)
        assert not any(step.startswith("cleanup.") for step in by_step)
        api_pid = json.loads((demo_dir / "sandbox.json").read_text())["sandbox"]["api_pid"]
        assert info["api"].startswith("http://127.0.0.1:")
    finally:
        stopped = run("demo", "--stop", "--dir", str(demo_dir))
    assert stopped.returncode == 0, stopped.stderr
    assert postgres_processes_under(demo_dir) == []
    assert (
        not Path(f"/proc/{api_pid}").exists()
        or "zombie" in Path(f"/proc/{api_pid}/status").read_text().lower()
    )
    assert not demo_dir.exists()
    # Nothing of the sandbox stays in the user's data dir either (state, monitor log, journal).
    from wizard import paths

    key = paths.config_key(config_path)
    data_dir = Path(os.environ["FDW_WIZARD_DATA_DIR"])
    assert not (data_dir / "state" / f"{key}.json").exists()
    assert not (data_dir / "monitor" / f"{key}.jsonl").exists()
    assert not (data_dir / "journal" / key).exists()


def test_second_demo_in_same_dir_is_refused_and_stop_of_nothing_is_clear(tmp_path: Path) -> None:
    result = run("demo", "--stop", "--dir", str(tmp_path / "none"))
    assert result.returncode == exitcodes.FAILED
    assert "No sandbox in" in result.stderr


def test_first_run_writes_template_and_exits_3(tmp_path: Path) -> None:
    config_path = tmp_path / "fdw-wizard.yaml"
    result = run("status", "--config", str(config_path), "--json")
    assert result.returncode == exitcodes.OPERATOR
    assert json.loads(result.stdout)["error"] == "config-missing"
    assert config_path.exists()


def test_bad_config_exits_2_naming_the_key(tmp_path: Path) -> None:
    config_path = tmp_path / "fdw-wizard.yaml"
    config_path.write_text("local:\n  port: 70000\n")
    result = run("--config", str(config_path), "status")
    assert result.returncode == exitcodes.USAGE
    assert "local.port: must be 1-65535, got 70000" in result.stderr


def test_help_lists_every_command_of_the_contract() -> None:
    result = run("--help")
    assert result.returncode == 0
    for command in (
        "demo",
        "status",
        "apply",
        "validate",
        "doctor",
        "rollback",
        "watch",
        "cleanup",
        "export-sql",
        "secrets",
    ):
        assert command in result.stdout


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX ownership")
def test_sandbox_refuses_a_planted_symlink(tmp_path: Path) -> None:
    real = tmp_path / "elsewhere"
    real.mkdir()
    planted = tmp_path / "sandbox"
    planted.symlink_to(real)
    result = run("demo", "--no-tui", "--dir", str(planted), "--scale", "0.01")
    assert result.returncode == exitcodes.FAILED
    assert "symbolic link or belongs to another user" in result.stderr
    assert list(real.iterdir()) == []
