"""The health log (across processes), its summary and the cleanup gate; fetch_size advice; the
loopback blackhole. No clusters: records are written the way the probes write them."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from wizard.config import Config
from wizard.context import Context
from wizard.measure import latency, monitor
from wizard.testbed.blackhole import Blackhole, RefusedPort

T0 = datetime(2026, 1, 20, 8, 0, tzinfo=UTC)


def rec(minutes: float, ok: bool = True, error: str | None = None) -> monitor.Record:
    return monitor.Record(T0 + timedelta(minutes=minutes), ok, 5.0 if ok else None, error, 60.0)


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FDW_WIZARD_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def test_log_survives_a_restart_in_another_process(data_dir: Path, tmp_path: Path) -> None:
    config_path = tmp_path / "fdw-wizard.yaml"
    log = monitor.HealthLog.for_config(config_path)
    log.append(rec(0))
    log.append(rec(1, False, "could not connect to server"))
    code = (
        "import sys; from pathlib import Path; from datetime import datetime, UTC;"
        "from wizard.measure import monitor;"
        "log = monitor.HealthLog.for_config(Path(sys.argv[1]));"
        "log.append(monitor.Record(datetime(2026, 1, 20, 8, 2, tzinfo=UTC), True, 4.0))"
    )
    subprocess.run([sys.executable, "-c", code, str(config_path)], check=True, timeout=60)
    with log.path.open("a", encoding="utf-8") as handle:
        handle.write('{"at": "2026-01-20T08:0')  # a line torn by a crash mid-write
    again = monitor.HealthLog.for_config(config_path)  # a new object: a restarted wizard
    assert again.path == log.path and data_dir in again.path.parents
    records = again.records()
    assert [r.ok for r in records] == [True, False, True]
    summary = monitor.summarize(records, 48, now=T0 + timedelta(minutes=3))
    assert summary.records == 3 and summary.ok == 2
    assert summary.availability_pct == pytest.approx(66.667)
    assert summary.incidents == [
        {
            "start": "2026-01-20T08:01:00.000+00:00",
            "end": "2026-01-20T08:02:00.000+00:00",
            "failures": 1,
            "error": "could not connect to server",
        }
    ]


def test_incident_with_times_and_clean_run_after_it() -> None:
    records = [rec(m) for m in range(0, 30)]
    records += [rec(30, False, "timeout expired"), rec(31, False, "timeout expired")]
    records += [rec(m) for m in range(32, 90)]
    summary = monitor.summarize(records, 1, now=T0 + timedelta(minutes=90))
    data = summary.to_json()
    assert len(data["incidents"]) == 1
    incident = data["incidents"][0]
    assert incident["start"] == "2026-01-20T08:30:00.000+00:00"
    assert incident["end"] == "2026-01-20T08:32:00.000+00:00"
    assert incident["failures"] == 2 and incident["error"] == "timeout expired"
    assert data["clean_since"] == "2026-01-20T08:32:00.000+00:00"
    assert data["clean_hours"] == pytest.approx(57 / 60, abs=1e-3)
    assert not data["gate_ok"]  # 57 minutes clean, 1 h required
    assert data["p95_ms"] == 5.0


def test_ongoing_incident_and_gaps_break_coverage() -> None:
    records = [rec(0), rec(1), rec(2, False, "down")]
    summary = monitor.summarize(records, 0, now=T0 + timedelta(minutes=3))
    assert summary.incidents[0]["end"] is None
    assert not summary.gate_ok
    gap = [rec(0), rec(1), rec(120), rec(121)]  # two unobserved hours
    summary = monitor.summarize(gap, 1, now=T0 + timedelta(minutes=122))
    assert len(summary.gaps) == 1
    assert summary.clean_since == T0 + timedelta(minutes=120)
    stale = monitor.summarize([rec(0), rec(1)], 0, now=T0 + timedelta(hours=5))
    assert stale.stale and not stale.gate_ok


def test_gate_refuses_before_the_window_and_opens_after(data_dir: Path, tmp_path: Path) -> None:
    config_path = tmp_path / "site.yaml"
    ctx = Context(Config(), config_path, secrets=None)  # type: ignore[arg-type]
    now = datetime.now(UTC)
    log = monitor.HealthLog.for_config(config_path)
    ok, summary = monitor.monitor_gate(ctx)
    assert not ok and summary["records"] == 0
    for minutes in range(60, -1, -10):  # the last hour, every 10 minutes
        log.append(monitor.Record(now - timedelta(minutes=minutes), True, 3.0, None, 600.0))
    ok, summary = monitor.monitor_gate(ctx)
    assert not ok
    assert summary["required_hours"] == 48
    assert summary["remaining_hours"] == pytest.approx(47, abs=0.01)
    other = tmp_path / "other.yaml"  # one log per config
    for minutes in range(49 * 60, -1, -10):
        monitor.HealthLog.for_config(other).append(
            monitor.Record(now - timedelta(minutes=minutes), True, 3.0, None, 600.0)
        )
    ok, summary = monitor.monitor_gate(Context(Config(), other, secrets=None))  # type: ignore[arg-type]
    assert ok and summary["gate_ok"] and summary["clean_hours"] >= 48


def test_parse_duration() -> None:
    assert monitor.parse_duration("90") == 90
    assert monitor.parse_duration("15m") == 900
    assert monitor.parse_duration("48h") == 172800
    assert monitor.parse_duration("0.2") == pytest.approx(0.2)
    for bad in ("", "abc", "-5", "0", "5x"):
        with pytest.raises(ValueError):
            monitor.parse_duration(bad)


def test_recommend_fetch_size() -> None:
    # LAN: the app's 10,000-row read in one FETCH, no trailing empty one.
    assert latency.recommend_fetch_size(0.1, 200) == 10001
    # WAN: as many rows as fit the 8 MiB batch budget (~37,000 for 200-byte rows).
    wan = latency.recommend_fetch_size(30, 200)
    assert wan == 8 * 1024 * 1024 // 224
    assert latency.round_trips([10000], wan) == 5
    assert latency.round_trips([10000], 100) == 2 + 2 + 101
    # Wide rows: the budget wins, never below 1000; narrow rows: never above 50000.
    assert latency.recommend_fetch_size(30, 20000) == 1000
    assert latency.recommend_fetch_size(30, 8) == 50000
    assert latency.recommend_fetch_size(0.1, 4000) == 8 * 1024 * 1024 // 4024


def test_blackhole_accepts_and_never_answers() -> None:
    with Blackhole() as hole, socket.create_connection((hole.host, hole.port), 2) as client:
        client.sendall(b"\x00\x00\x00\x08\x04\xd2\x16\x2f")  # a TLS request: no answer
        client.settimeout(0.5)
        with pytest.raises(TimeoutError):
            client.recv(1)
        hole.release()
        client.settimeout(2)
        # Released: the client sees the end at once (a reset: its bytes were never read).
        with contextlib.suppress(ConnectionResetError):
            assert client.recv(1) == b""
    with pytest.raises(ValueError):
        Blackhole("192.0.2.1")  # refused before any socket is bound: loopback only
    with RefusedPort() as refused, pytest.raises(ConnectionRefusedError):
        socket.create_connection((refused.host, refused.port), timeout=2)


def test_record_json_round_trip_and_redaction() -> None:
    from wizard.redact import register

    register("s3cr3t-value")
    record = monitor.Record(T0, False, None, "password s3cr3t-value rejected", 5.0, "watch")
    data = record.to_json()
    assert "s3cr3t-value" not in json.dumps(data)
    back = monitor.Record.from_json(data)
    assert back.at == T0 and back.source == "watch" and back.interval_s == 5.0
