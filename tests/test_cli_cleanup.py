"""`fdw-wizard cleanup` as automation runs it: subprocesses against a test bed of their own.

Issue 5's done criterion: without a verified backup, cleanup refuses (exit 3) and deletes nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import sandbox_config_for
from wizard import exitcodes
from wizard.config import save_config
from wizard.testbed.bed import TestBed

pytestmark = pytest.mark.clusters

EXE = [sys.executable, "-m", "wizard.cli"]
BI = "dim_clientes_bi"


@pytest.fixture(scope="module")
def site(
    private_testbed: TestBed, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    bed = private_testbed
    folder = tmp_path_factory.mktemp("cli-cleanup")
    config_path = folder / "fdw-wizard.yaml"
    save_config(sandbox_config_for(bed), config_path)
    env = dict(os.environ)
    env.update(
        FDW_WIZARD_DATA_DIR=str(folder / "data"),
        FDW_WIZARD_SECRET_LOCAL_SUPERUSER=bed.passwords["dw-superuser"],
        FDW_WIZARD_SECRET_SUPABASE_DB=bed.passwords["supabase-postgres"],
    )
    yield {"bed": bed, "config": config_path, "env": env, "data": folder / "data"}


def cli(
    site: dict[str, Any], *args: str, lang: str = "en", command: str = "cleanup"
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*EXE, command, "--config", str(site["config"]), "--lang", lang, *args],
        capture_output=True,
        text=True,
        env=site["env"],
        stdin=subprocess.DEVNULL,
        timeout=180,
        check=False,
    )


def table(site: dict[str, Any]) -> list[tuple[str, str]]:
    with site["bed"].supabase.connect() as conn:
        found = conn.execute("SELECT id::text, c::text FROM public.clientes AS c ORDER BY id")
        return [(r[0], r[1]) for r in found.fetchall()]


def bi_count(site: dict[str, Any]) -> int:
    with site["bed"].supabase.connect() as conn:
        row = conn.execute("SELECT count(*) FROM public.clientes WHERE origem = %s", [BI])
        return int(row.fetchone()[0])  # type: ignore[index]


def test_cleanup_flow_from_refusal_to_restore(site: dict[str, Any]) -> None:
    original = table(site)
    bi = bi_count(site)
    assert bi > 0

    # 1. No verified backup (and no --yes to make one): refused, exit 3, nothing deleted.
    first = cli(site, "--json")
    assert first.returncode == exitcodes.OPERATOR, first.stderr
    document = json.loads(first.stdout)
    assert document["exit_code"] == exitcodes.OPERATOR
    assert [r["kind"] for r in document["refusals"]] == ["no_backup"]
    assert table(site) == original
    backups = site["data"] / "backups"
    assert not backups.exists() or not list(backups.glob("*.copy"))
    text = cli(site, lang="pt-BR")
    assert text.returncode == exitcodes.OPERATOR
    assert "Recusado: não existe backup verificado" in text.stderr
    assert "fdw-wizard cleanup --yes" in text.stderr

    # 2. --yes makes and verifies the backup, but never deletes: the monitoring gate (no
    #    incident-free window recorded on this bed) and then the missing word stop it.
    second = cli(site, "--yes", "--json")
    assert second.returncode == exitcodes.OPERATOR, second.stderr
    document = json.loads(second.stdout)
    backup_step = document["steps"][0]
    assert backup_step["step"] == "cleanup.backup" and backup_step["status"] == "done"
    assert [r["kind"] for r in document["refusals"]] == ["gate"]
    assert table(site) == original
    third = cli(site, "--yes", "--skip-monitor-gate", "--json")
    assert third.returncode == exitcodes.OPERATOR
    assert [r["kind"] for r in json.loads(third.stdout)["refusals"]] == ["word"]
    wrong = cli(site, "--yes", "--skip-monitor-gate", "--confirm-word", "yes", "--json")
    assert wrong.returncode == exitcodes.OPERATOR
    assert table(site) == original
    files = sorted((site["data"] / "backups").glob("*.copy"))
    assert len(files) == 1

    # 3. The word, typed on purpose (the Portuguese one works with English output too).
    done = cli(site, "--skip-monitor-gate", "--confirm-word", "APAGAR", "--json")
    assert done.returncode == exitcodes.OK, done.stdout + done.stderr
    document = json.loads(done.stdout)
    statuses = {s["step"]: s["status"] for s in document["steps"]}
    assert statuses == {
        "cleanup.backup": "done",
        "cleanup.dedupe": "done",
        "cleanup.report": "done",
    }
    report = next(s for s in document["steps"] if s["step"] == "cleanup.report")
    ids = [m["id"] for m in report["facts"]["metrics"]]
    assert ids == ["storage", "database", "duplicated_rows", "latency", "freshness", "fallback"]
    assert bi_count(site) == 0
    assert len(table(site)) == len(original) - bi
    audit = [
        json.loads(line)
        for line in (site["data"] / "audit.jsonl").read_text().splitlines()
        if line.strip()
    ]
    deletion = next(e for e in audit if e["step"] == "cleanup.dedupe")
    assert deletion["changes"][0]["key"] == "cleanup.gate.overridden"

    # The rollback says what its undo would put back before it asks (declined: no terminal).
    rollback = cli(site, "--only", "cleanup.dedupe", command="rollback")
    assert rollback.returncode == exitcodes.OPERATOR, rollback.stdout + rollback.stderr
    assert "Undo will:" in rollback.stdout
    assert f"put the {bi:,} rows of the backup {files[0]} back into public.clientes" in (
        rollback.stdout
    )
    assert bi_count(site) == 0

    # Running it again changes nothing and says so.
    again = cli(site, "--json")
    assert again.returncode == exitcodes.OK, again.stdout
    assert bi_count(site) == 0

    # 4. Restore: needs --yes (or a terminal), refuses a damaged file, then puts the rows back.
    unconfirmed = cli(site, "--restore", str(files[0]), "--json")
    assert unconfirmed.returncode == exitcodes.OPERATOR
    assert bi_count(site) == 0
    restored = cli(site, "--restore", str(files[0]), "--yes", "--json")
    assert restored.returncode == exitcodes.OK, restored.stdout + restored.stderr
    result = json.loads(restored.stdout)["restore"]["result"]
    assert result["params"]["inserted"] == bi and result["params"]["skipped"] == 0
    assert table(site) == original

    damaged = files[0].with_name("damaged.copy")
    damaged.write_bytes(files[0].read_bytes()[:-10])
    files[0].with_name(files[0].name.replace(".copy", ".manifest.json")).replace(
        damaged.with_name("damaged.manifest.json")
    )
    refused = cli(site, "--restore", str(damaged), "--yes", "--json")
    assert refused.returncode == exitcodes.FAILED
    assert json.loads(refused.stdout)["error"]["key"] == "cleanup.err.tampered"
    assert table(site) == original


def test_help_documents_the_word_and_the_restore(site: dict[str, Any]) -> None:
    shown = subprocess.run(
        [*EXE, "cleanup", "--help"],
        capture_output=True,
        text=True,
        env={**site["env"], "FDW_WIZARD_LANG": "en"},
        timeout=60,
        check=False,
    )
    assert shown.returncode == 0
    for flag in ("--confirm-word", "--skip-monitor-gate", "--restore", "--yes", "--json"):
        assert flag in shown.stdout
