"""The dashboard's text charts: the target line, overflow, failed probes, ASCII mode."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from screens.charts import ASCII_LEVELS, Probe, latency_bar, ms_text, timeline
from wizard.i18n import current_language, set_language


@pytest.fixture(autouse=True)
def _restore_language() -> object:
    before = current_language()
    yield
    set_language(before)


def test_latency_bar_marks_the_target_in_the_middle() -> None:
    assert latency_bar(250, 500, 15).plain == "####...|......."
    assert latency_bar(1, 500, 15).plain == "#......|......."  # measured is never empty
    assert latency_bar(750, 500, 15).plain == "#######|!!!...."
    assert latency_bar(5000, 500, 15).plain == "#######|!!!!!!!>"
    assert latency_bar(None, 500, 15).plain == ""


def test_ms_text_follows_the_language() -> None:
    set_language("pt-BR")
    assert ms_text(5.94) == "5,9" and ms_text(182.4) == "182" and ms_text(None) == "-"
    set_language("en")
    assert ms_text(5.94) == "5.9"


def test_timeline_shows_failures_and_slow_slices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FDW_WIZARD_ASCII", "1")
    start = datetime(2026, 11, 28, tzinfo=UTC)
    probes = [
        Probe(start + timedelta(minutes=i), i != 3, None if i == 3 else (900.0 if i == 7 else 50.0))
        for i in range(10)
    ]
    up, latency = timeline(probes, 40, 500)
    assert len(up.plain) == 10  # never more columns than probes: a blank means "no probe"
    assert up.plain == "###x######"
    assert latency.plain[3] == " " and latency.plain[7] == "!"
    assert set(latency.plain) <= set(ASCII_LEVELS) | {"!"}
