"""`fdw-wizard doctor` as an operator runs it, on a test bed of its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import sandbox_config_for
from wizard import exitcodes
from wizard.config import save_config
from wizard.testbed.bed import TestBed

pytestmark = pytest.mark.clusters

EXE = [sys.executable, "-m", "wizard.cli"]


@pytest.fixture(scope="module")
def site(private_testbed: TestBed, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    folder = tmp_path_factory.mktemp("doctor")
    config_path = folder / "fdw-wizard.yaml"
    save_config(sandbox_config_for(private_testbed), config_path)
    env = dict(os.environ)
    env["FDW_WIZARD_SECRET_LOCAL_SUPERUSER"] = private_testbed.passwords["dw-superuser"]
    env["FDW_WIZARD_SECRET_SUPABASE_DB"] = private_testbed.passwords["supabase-postgres"]
    env["FDW_WIZARD_DATA_DIR"] = str(folder / "data")
    yield {"bed": private_testbed, "config": config_path, "env": env, "folder": folder}


def doctor(site: dict[str, Any], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*EXE, "doctor", "--config", str(site["config"]), "--lang", "en", *args],
        capture_output=True,
        text=True,
        env=site["env"],
        timeout=180,
        check=False,
    )


def test_pasted_error_never_echoes_its_password(site: dict[str, Any]) -> None:
    pasted = (
        "connection failed: host=127.0.0.1 user=postgres password=secret123 FATAL:  password"
        ' authentication failed for user "postgres"'
    )
    for extra in ((), ("--json",)):
        result = doctor(site, "--error", pasted, *extra)
        assert "secret123" not in result.stdout + result.stderr
        assert result.returncode in (exitcodes.OK, exitcodes.FAILED)
    document = json.loads(doctor(site, "--error", pasted, "--json").stdout)
    assert isinstance(document["diagnoses"], list)


def test_symptom_is_validated_and_listed(site: dict[str, Any]) -> None:
    bad = doctor(site, "--symptom", "no-such-symptom")
    assert bad.returncode == exitcodes.USAGE
    assert "cannot-connect" in bad.stderr  # argparse lists the valid choices
    healthy = doctor(site, "--symptom", "cgnat", "--json")
    document = json.loads(healthy.stdout)
    assert healthy.returncode == exitcodes.OK
    assert document["diagnoses"][0]["id"] == "nothing-found"


def test_transaction_pooler_in_the_config(site: dict[str, Any]) -> None:
    text = site["config"].read_text(encoding="utf-8")
    pooled = Path(site["folder"]) / "pooled.yaml"
    supabase_port = str(site["bed"].supabase.port)
    pooled.write_text(text.replace(f"port: {supabase_port}", "port: 6543"), encoding="utf-8")
    result = subprocess.run(
        [*EXE, "doctor", "--config", str(pooled), "--json"],
        capture_output=True,
        text=True,
        env=site["env"],
        timeout=120,
        check=False,
    )
    assert result.returncode == exitcodes.USAGE
    document = json.loads(result.stdout)
    first = document["diagnoses"][0]
    assert first["id"] == "transaction-pooler" and first["confidence"] == "confirmed"


def test_doctor_json_on_a_stopped_dw_says_server_down(site: dict[str, Any]) -> None:
    bed: TestBed = site["bed"]
    bed.dw.cluster.stop()
    try:
        result = doctor(site, "--json")
        document = json.loads(result.stdout)  # one JSON document, nothing else on stdout
        assert result.returncode == exitcodes.FAILED
        first = document["diagnoses"][0]
        assert first["id"] == "server-down" and first["confidence"] == "confirmed"
        assert "firewall-or-blackhole" not in [d["id"] for d in document["diagnoses"]]
        assert document["checked"]["prereq.local-connection"] == "failed"
        text = doctor(site)
        assert text.returncode == exitcodes.FAILED
        assert "] server-down:" in text.stdout.splitlines()[1]
        assert "firewall-or-blackhole" not in text.stdout
    finally:
        bed.dw.cluster.start()


def test_pasted_control_bytes_are_shown_escaped_and_json_is_utf8(site: dict[str, Any]) -> None:
    """A pasted error with terminal escapes (clear screen, set title, bell) and bytes that are not
    UTF-8: the text output shows them escaped, the JSON is valid UTF-8 and still says what was
    pasted."""
    pasted = b"boom \x1b[2J\x1b]0;owned\x07 \xff\xfe zzz-unknown-error"
    base = [os.fsencode(a) for a in [*EXE, "doctor", "--config", str(site["config"])]]
    for extra in ([], [b"--json"]):
        result = subprocess.run(
            [*base, b"--lang", b"en", b"--error", pasted, *extra],
            capture_output=True, env=site["env"], timeout=180, check=False,
        )  # fmt: skip
        assert result.returncode == exitcodes.FAILED, result.stderr
        output = result.stdout + result.stderr
        assert b"\x1b" not in output and b"\x07" not in output
        text = output.decode("utf-8")  # valid UTF-8, or this raises
        if not extra:
            assert "boom \\x1b[2J\\x1b]0;owned\\x07" in text
    document = json.loads(result.stdout.decode("utf-8"))
    evidence = [e["params"].get("text", "") for d in document["diagnoses"] for e in d["evidence"]]
    assert any("\\x1b[2J" in e and "\\udcff" in e for e in evidence), evidence


def test_a_pasted_error_about_another_host_is_named_first(site: dict[str, Any]) -> None:
    """The admin pastes an error from another machine's setup: doctor says so before it
    diagnoses the configured servers (it never probes the pasted host)."""
    pasted = 'connection to server at "127.0.0.9", port 5432 failed: Connection refused'
    text = doctor(site, "--error", pasted)
    assert text.stdout.splitlines()[0].startswith("!! The pasted error names 127.0.0.9")
    document = json.loads(doctor(site, "--error", pasted, "--json").stdout)
    assert document["note"]["params"]["hosts"] == "127.0.0.9"
    same = json.loads(
        doctor(site, "--error", pasted.replace("127.0.0.9", "127.0.0.1"), "--json").stdout
    )
    assert "note" not in same
