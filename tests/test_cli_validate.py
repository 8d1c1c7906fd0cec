"""`fdw-wizard validate --json` and `fdw-wizard watch --json` as a user runs them (subprocesses),
on a test bed of its own after a full Phase 1-3 apply."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from wizard import exitcodes

pytestmark = pytest.mark.clusters


@pytest.fixture(scope="module")
def site(applied_site: dict[str, Any]) -> dict[str, Any]:
    # The ETL's fresh fallback JSONs (the seeded metadata dates from the runbook's January).
    from wizard.testbed.standin import write_fallback_files

    bed = applied_site["bed"]
    with bed.dw.connect() as dw, bed.supabase.connect() as supa:
        write_fallback_files(dw, supa, applied_site["folder"] / "storage")
    return applied_site


def run(site: Any, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wizard.cli", "--config", str(site["path"]), *args],
        capture_output=True,
        text=True,
        env=site["env"],
        timeout=180,
        check=False,
    )


def test_validate_json(site: Any) -> None:
    result = run(site, "validate", "--json")
    assert result.returncode == exitcodes.OK, result.stderr
    document = json.loads(result.stdout)  # stdout holds the JSON document and nothing else
    assert document["exit_code"] == exitcodes.OK
    statuses = {s["step"]: s["status"] for s in document["steps"]}
    assert statuses["validate.latency"] == "done"
    assert statuses["validate.offline"] == "done"
    assert statuses["validate.monitor"] == "pending"  # 48 h not covered yet: not a failure
    relations = document["latency"]["relations"]
    from wizard.steps.aggregates import AGGREGATES

    # The runbook's 18 tables, the two views, and the DW-side aggregates' views.
    assert len(relations) == 20 + len(AGGREGATES)
    assert all("pushdown" in r for rel in relations for r in rel["reads"])
    assert document["offline"]["probe"]["seconds"] <= document["offline"]["limit_s"]
    fallback = document["fallback"]["tables"]
    assert len(fallback) == 18 and {t["state"] for t in fallback.values()} == {"ok"}
    assert document["monitor"]["records"] >= 1
    assert "supabase-postgres" not in result.stdout


def test_validate_text_shows_tables(site: Any) -> None:
    result = run(site, "validate", "--lang", "pt-BR")
    assert result.returncode == exitcodes.OK, result.stderr
    # In the operator's words, no machine word of the measurement (issue 14: pt-BR throughout).
    assert "bi.fat_faturamentos / total mensal" in result.stdout
    assert "total no Supabase: as linhas viajam" in result.stdout
    assert "DW fora do ar: travado (aceita a conexão e não responde), conexão nova" in (
        result.stdout
    )
    for machine_word in ("/ aggregate", "not_pushed", "hung, fresh", " rows "):
        assert machine_word not in result.stdout


def test_watch_json_bounded(site: Any) -> None:
    result = run(site, "watch", "--interval", "0.2", "--duration", "1", "--json")
    assert result.returncode == exitcodes.OK, result.stderr
    document = json.loads(result.stdout)
    assert 3 <= len(document["probes"]) <= 6
    assert all(p["ok"] and p["latency_ms"] is not None for p in document["probes"])
    summary = document["summary"]
    assert summary["records"] >= len(document["probes"])
    assert summary["incidents"] == [] and summary["gate_ok"] is False


def test_watch_bad_duration_is_usage(site: Any) -> None:
    result = run(site, "watch", "--duration", "soon", "--json")
    assert result.returncode == exitcodes.USAGE
    assert json.loads(result.stdout)["error"] == "bad-duration"


def test_text_numbers_in_the_readers_language() -> None:
    """pt-BR reads 5,005 s (not five thousand seconds) and 1.234,5 ms; English the other way."""
    from wizard.commands import validate
    from wizard.i18n import current_language, set_language

    probe = {"kind": "blackhole", "address": "127.0.0.1:9", "seconds": 5.005, "error": "timeout"}
    read = {
        "read": "count",
        "p50_ms": 1234.5,
        "p95_ms": 1234.5,
        "max_ms": 2000,
        "rows": 10000,
        "pushdown": {},
        "verdict": "over",
    }
    facts = {"relations": [{"relation": "bi.dim_clientes", "reads": [read]}]}
    before = current_language()
    try:
        set_language("pt-BR")
        assert "5,005 s" in validate.offline_lines({"probe": probe})[0]
        row = validate.latency_lines(facts)[-1]
        assert "1.234,5" in row and "10.000" in row and "2.000" in row
        set_language("en")
        assert "5.005 s" in validate.offline_lines({"probe": probe})[0]
        assert "1,234.5" in validate.latency_lines(facts)[-1]
    finally:
        set_language(before)
