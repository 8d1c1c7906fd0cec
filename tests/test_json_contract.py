"""The --json run report is a versioned contract (docs/json-report.md): these are the keys and
meanings a script that drives the wizard relies on, checked on a real DW and Supabase-like pair."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import sandbox_config_for
from wizard.config import save_config
from wizard.outcome import REPORT_VERSION
from wizard.testbed.bed import TestBed

pytestmark = pytest.mark.clusters

STEP_KEYS = {"step", "status", "message", "changed", "restart_required", "duration_ms"}
STATUSES = {"done", "pending", "failed", "blocked", "manual", "n/a", "skipped"}


def run_json(config: Path, env: dict[str, str], *args: str) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-m", "wizard.cli", *args, "--json", "--config", str(config)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    document = json.loads(proc.stdout)  # stdout is exactly one JSON document
    assert document["exit_code"] == proc.returncode
    return document


def assert_contract(document: dict[str, Any], mode: str) -> None:
    assert document["report_version"] == REPORT_VERSION == 1
    assert document["mode"] == mode
    assert isinstance(document["changed"], bool)
    assert isinstance(document["restart_required"], bool)
    assert sum(document["counts"].values()) == len(document["steps"])
    for step in document["steps"]:
        assert set(step) >= STEP_KEYS, step
        assert step["status"] in STATUSES
        assert set(step["message"]) >= {"key", "params"}  # an i18n key: stable across languages
    assert document["changed"] == any(s["changed"] for s in document["steps"])
    assert document["restart_required"] == any(s["restart_required"] for s in document["steps"])


@pytest.fixture()
def fresh_site(private_testbed: TestBed, tmp_path: Path) -> tuple[Path, dict[str, str]]:
    bed = private_testbed
    config = tmp_path / "fdw-wizard.yaml"
    save_config(sandbox_config_for(bed), config)
    env = dict(os.environ)
    env["FDW_WIZARD_SECRET_LOCAL_SUPERUSER"] = bed.passwords["dw-superuser"]
    env["FDW_WIZARD_SECRET_SUPABASE_DB"] = bed.passwords["supabase-postgres"]
    env["FDW_WIZARD_DATA_DIR"] = str(tmp_path / "data")
    return config, env


def test_a_plan_that_restarts_the_server_says_so_and_what_it_changes(
    fresh_site: tuple[Path, dict[str, str]], private_testbed: TestBed
) -> None:
    config, env = fresh_site
    conf_before = private_testbed.dw.cluster.conf_path.read_bytes()
    dry = run_json(config, env, "apply", "--only", "local.listen,local.reload", "--dry-run")
    assert_contract(dry, "dry-run")
    assert dry["restart_required"] is True  # local.reload would restart the DW
    assert private_testbed.dw.cluster.conf_path.read_bytes() == conf_before  # a dry run
    listen = next(s for s in dry["steps"] if s["step"] == "local.listen")
    edits = [a for a in listen["plan"]["actions"] if a["kind"] == "file"]
    assert edits and "listen_addresses" in edits[0]["diff"]  # the diff a reviewer reads

    applied = run_json(config, env, "apply", "--only", "local.listen,local.reload", "--yes")
    assert_contract(applied, "apply")
    assert applied["changed"] is True and applied["restart_required"] is False
    listen = next(s for s in applied["steps"] if s["step"] == "local.listen")
    assert listen["backups"] and all(Path(b).exists() for b in listen["backups"])

    again = run_json(config, env, "status")
    assert_contract(again, "status")
    assert again["changed"] is False
