"""Text charts that draw the same in Windows Terminal, the classic console (ASCII only) and
under NO_COLOR: latency bars against the target line, and the monitor log over time.

Every mark is a character (``#`` within the target, ``!`` beyond it, ``x`` a failed probe),
colour is only an extra hint."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from rich.text import Text

from screens.theme import legacy_console
from wizard.i18n import current_language
from wizard.i18n.format import format_decimal

# Levels of a latency column, low to high.
UNICODE_LEVELS = " ▁▂▃▄▅▆▇█"
ASCII_LEVELS = " .:-=+*#@"


def ms_text(value: float | None) -> str:
    """A latency in the operator's notation: ``13``, ``5,9`` (one decimal under 10 ms)."""
    if value is None:
        return "-"
    lang = current_language()
    return format_decimal(round(value, 1) if value < 10 else round(value), lang)


def latency_bar(value: float | None, target: float, width: int) -> Text:
    """``value`` on a scale of 0..2x ``target``; the target is the ``|`` in the middle:
    ``#####.|......`` within it, ``######|!!!...`` beyond (``>`` past the scale)."""
    text = Text()
    if value is None or target <= 0 or width < 5:
        return text
    half = (width - 1) // 2
    scale = 2 * target
    filled = min(width - 1, round(value / scale * (width - 1)))
    if value > 0:
        filled = max(1, filled)  # something measured is never an empty bar
    for index in range(width - 1):
        if index == half:
            text.append("|", style="bold")
        if index < filled:
            text.append("#" if index < half else "!", style="green" if index < half else "red")
        else:
            text.append(".", style="dim")
    if value > scale:
        text.append(">", style="bold red")
    return text


@dataclass(frozen=True)
class Probe:
    at: datetime
    ok: bool
    latency_ms: float | None


def _bucket(probes: Sequence[Probe], width: int) -> list[list[Probe]]:
    start, end = probes[0].at, probes[-1].at
    span = (end - start).total_seconds() or 1.0
    buckets: list[list[Probe]] = [[] for _ in range(width)]
    for probe in probes:
        index = min(width - 1, int((probe.at - start).total_seconds() / span * width))
        buckets[index].append(probe)
    return buckets


def timeline(probes: Sequence[Probe], width: int, target: float) -> tuple[Text, Text]:
    """Two rows over the log's time span, one column per time slice: availability (``#`` all
    probes answered, ``x`` one failed, blank no probe) and p95-like latency (the slice's worst
    answered probe, on a scale up to ``target``; ``!`` above it)."""
    levels = ASCII_LEVELS if legacy_console() else UNICODE_LEVELS
    up, lat = Text(), Text()
    if not probes or width < 2:
        return up, lat
    width = min(width, len(probes))  # a blank slice must mean "no probe then", not "narrow log"
    for bucket in _bucket(probes, width):
        if not bucket:
            up.append(" ")
            lat.append(" ")
            continue
        failed = any(not p.ok for p in bucket)
        up.append("x" if failed else "#", style="bold red" if failed else "green")
        answered = [p.latency_ms for p in bucket if p.ok and p.latency_ms is not None]
        if not answered:
            lat.append(" ")
            continue
        worst = max(answered)
        if worst > target:
            lat.append("!", style="bold red")
            continue
        step = round(worst / target * (len(levels) - 1))
        lat.append(levels[max(1, step)], style="cyan")
    return up, lat
