"""Phase 1 end to end on a fresh DW of its own: the issue's "done when", through the CLI.

One scenario, in the order an operator lives it (apply, run again, status, rollback): each part
starts from what the one before left, so they are one test, not four that depend on their order.
"""

from __future__ import annotations

import difflib
import json
import os
import subprocess
import sys
from typing import Any

import psycopg
import pytest

from tests.conftest import sandbox_config_for
from wizard.config import save_config
from wizard.secrets import sandbox_secrets_path
from wizard.testbed.bed import TestBed

pytestmark = pytest.mark.clusters

PHASE1 = "local.listen,local.tls,local.hba,local.reload,local.reader-role"


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wizard.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


@pytest.fixture()
def site(private_testbed: TestBed, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    bed = private_testbed
    folder = tmp_path_factory.mktemp("phase1")
    config_path = folder / "fdw-wizard.yaml"
    save_config(sandbox_config_for(bed), config_path)
    env = dict(os.environ)
    env["FDW_WIZARD_SECRET_LOCAL_SUPERUSER"] = bed.passwords["dw-superuser"]
    env["FDW_WIZARD_SECRET_SUPABASE_DB"] = bed.passwords["supabase-postgres"]
    cluster = bed.dw.cluster
    originals = {"conf": cluster.conf_path.read_bytes(), "hba": cluster.hba_path.read_bytes()}
    return {"bed": bed, "config": config_path, "env": env, "originals": originals}


def reader_connect(bed: TestBed, password: str, sslmode: str) -> psycopg.Connection[Any]:
    info = bed.dw.cluster.conninfo("supabase_fdw_reader", password, "bluconecta_dw")
    info["sslmode"] = sslmode
    return psycopg.connect(**info)


def changed_lines(old: bytes, new: bytes) -> list[str]:
    diff = difflib.ndiff(old.decode().splitlines(), new.decode().splitlines())
    return [line for line in diff if line[:2] in ("- ", "+ ")]


def apply_leaves_a_tls_only_read_only_reader(site: dict[str, Any]) -> None:
    bed: TestBed = site["bed"]
    dry = cli(
        "apply",
        "--only",
        PHASE1,
        "--dry-run",
        "--json",
        "--config",
        str(site["config"]),
        env=site["env"],
    )
    assert dry.returncode == 0, dry.stderr
    assert bed.dw.cluster.conf_path.read_bytes() == site["originals"]["conf"]

    result = cli(
        "apply",
        "--only",
        PHASE1,
        "--yes",
        "--json",
        "--config",
        str(site["config"]),
        env=site["env"],
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert {s["step"]: s["status"] for s in report["steps"]} == {
        "local.listen": "done",
        "local.tls": "done",
        "local.hba": "done",
        "local.reload": "done",
        "local.reader-role": "done",
    }
    reload_step = next(s for s in report["steps"] if s["step"] == "local.reload")
    assert any(d["key"] == "step.local.reload.tls_proven" for d in reload_step["details"])

    password = json.loads(sandbox_secrets_path(site["config"]).read_text())["reader"]
    with reader_connect(bed, password, "require") as conn:
        assert conn.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetchone()[
            0
        ]
        assert conn.execute("SELECT count(*) FROM dim_frota").fetchone()[0] > 0
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("UPDATE dim_frota SET modelo = modelo")
    with pytest.raises(psycopg.OperationalError, match=r"pg_hba\.conf rejects connection"):
        reader_connect(bed, password, "disable")
    with pytest.raises(psycopg.OperationalError, match=r"password authentication failed"):
        reader_connect(bed, "wrong-password-but-long-enough", "require")

    # The files differ from the originals only in the intended lines.
    conf_changes = changed_lines(site["originals"]["conf"], bed.dw.cluster.conf_path.read_bytes())
    assert sorted(line[2:].split("=")[0].strip() for line in conf_changes if line[0] == "+") == [
        "listen_addresses",
        "ssl",
        "ssl_cert_file",
        "ssl_key_file",
    ]
    removed = [line for line in conf_changes if line[0] == "-"]
    assert len(removed) == 1 and removed[0].startswith("- listen_addresses = 'localhost'")
    # The edited line keeps its trailing comment: only the value changed.
    added_listen = next(
        line for line in conf_changes if "listen_addresses" in line[2:] and line[0] == "+"
    )
    assert added_listen[2:] == removed[0][2:].replace("'localhost'", "'127.0.0.1'")
    hba_changes = changed_lines(site["originals"]["hba"], bed.dw.cluster.hba_path.read_bytes())
    assert all(line[0] == "+" for line in hba_changes)
    added = [line[2:] for line in hba_changes]
    assert added[0].startswith("# fdw-wizard: Supabase FDW reader")
    assert added[1].split() == [
        "hostssl",
        "bluconecta_dw",
        "supabase_fdw_reader",
        "127.0.0.1/32",
        "scram-sha-256",
    ]
    assert added[3].split() == [
        "hostnossl",
        "bluconecta_dw",
        "supabase_fdw_reader",
        "all",
        "reject",
    ]
    # ...and the backups hold the originals byte for byte.
    backups = sorted(bed.dw.cluster.data_dir.glob("pg_hba.conf.fdw-wizard-*.bak"))
    assert backups and backups[0].read_bytes() == site["originals"]["hba"]


def second_run_changes_nothing(site: dict[str, Any]) -> None:
    before = {
        p: p.read_bytes()
        for p in (site["bed"].dw.cluster.conf_path, site["bed"].dw.cluster.hba_path)
    }
    result = cli(
        "apply",
        "--only",
        PHASE1,
        "--yes",
        "--json",
        "--config",
        str(site["config"]),
        env=site["env"],
    )
    assert result.returncode == 0, result.stdout + result.stderr
    steps = json.loads(result.stdout)["steps"]
    assert all(s["status"] == "done" and not s["changed"] for s in steps), steps
    assert {p: p.read_bytes() for p in before} == before


def status_shows_every_phase1_step(site: dict[str, Any]) -> None:
    result = cli("status", "--json", "--config", str(site["config"]), env=site["env"])
    statuses = {s["step"]: s["status"] for s in json.loads(result.stdout)["steps"]}
    assert statuses["local.firewall"] == "n/a"  # loopback only
    assert statuses["prereq.exposure"] == "done"
    assert statuses["prereq.elevation"] == "done"


def rollback_restores_the_original_files(site: dict[str, Any]) -> None:
    bed: TestBed = site["bed"]
    result = cli(
        "rollback",
        "--only",
        PHASE1,
        "--yes",
        "--json",
        "--config",
        str(site["config"]),
        env=site["env"],
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert bed.dw.cluster.hba_path.read_bytes() == site["originals"]["hba"]
    assert bed.dw.cluster.conf_path.read_bytes() == site["originals"]["conf"]
    with bed.dw.connect() as admin:
        assert (
            admin.execute(
                "SELECT count(*) FROM pg_roles WHERE rolname = 'supabase_fdw_reader'"
            ).fetchone()[0]
            == 0
        )
    assert not list(bed.dw.cluster.data_dir.glob("fdw-wizard-server.*"))


def test_phase1_apply_rerun_status_and_rollback(site: dict[str, Any]) -> None:
    apply_leaves_a_tls_only_read_only_reader(site)
    second_run_changes_nothing(site)
    status_shows_every_phase1_step(site)
    rollback_restores_the_original_files(site)
