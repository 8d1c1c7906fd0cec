"""Reading the validation / cleanup steps' facts without assuming more than their shape:
numbers and words the steps measured, shown as they are (never invented)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from screens.common import message_from_json, say
from wizard.validation_view import pushdown_words, read_label

NAME_KEYS = ("relation", "name", "table", "view")


def _pick(row: dict[str, Any], *names: str) -> Any:
    for name in names:
        if name in row and row[name] is not None:
            return row[name]
    return None


def _relation_dicts(facts: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(facts, list):
        for row in facts:
            if isinstance(row, dict):
                name = _pick(row, *NAME_KEYS)
                if name is not None and _pick(row, "p50_ms", "p50") is not None:
                    yield str(name), row
                else:
                    yield from _relation_dicts(row)
    elif isinstance(facts, dict):
        if _pick(facts, "p50_ms", "p50") is not None and _pick(facts, *NAME_KEYS) is not None:
            yield str(_pick(facts, *NAME_KEYS)), facts
            return
        for key, value in facts.items():
            if isinstance(value, dict) and _pick(value, "p50_ms", "p50") is not None:
                yield str(_pick(value, *NAME_KEYS) or key), value
            elif isinstance(value, list | dict):
                yield from _relation_dicts(value)


def latency_rows(facts: dict[str, Any]) -> list[dict[str, Any]]:
    """One dict per measured read: name, p50, p95, max, rows, pushdown (None if absent).
    The latency measurement's shape: relations[] -> {relation, reads[] -> {read, p50_ms, ...}}."""
    rows: list[dict[str, Any]] = []
    for relation in facts.get("relations") or []:
        if not isinstance(relation, dict) or not isinstance(relation.get("reads"), list):
            continue
        for read in relation["reads"]:
            if isinstance(read, dict):
                rows.append(
                    {
                        "name": f"{relation.get('relation', '?')} {read_label(read.get('read'))}",
                        "relation": str(relation.get("relation", "?")),
                        "read": read_label(read.get("read")),
                        "p50": read.get("p50_ms"),
                        "p95": read.get("p95_ms"),
                        "max": read.get("max_ms"),
                        "rows": read.get("rows"),
                        "pushdown": pushdown_words(read.get("pushdown")),
                        "verdict": read.get("verdict"),
                    }
                )
    if rows:
        return rows
    seen: set[str] = set()
    for name, row in _relation_dicts(facts):
        if name in seen:
            continue
        seen.add(name)
        rows.append(
            {
                "name": name,
                "p50": _pick(row, "p50_ms", "p50"),
                "p95": _pick(row, "p95_ms", "p95"),
                "max": _pick(row, "max_ms", "max"),
                "rows": _pick(row, "rows", "row_count"),
                "pushdown": pushdown_words(_pick(row, "pushdown", "pushed_down")),
                "verdict": _pick(row, "verdict"),
            }
        )
    return rows


def scalar_lines(facts: dict[str, Any], skip: tuple[str, ...] = ()) -> list[str]:
    """``key: value`` for the plain values of a facts dict (messages rendered)."""
    lines: list[str] = []
    for key, value in facts.items():
        if key in skip:
            continue
        message = message_from_json(value)
        if message is not None:
            lines.append(f"{key}: {say(message)}")
        elif isinstance(value, str | int | float | bool) or value is None:
            lines.append(f"{key}: {say(str(value))}")
        elif isinstance(value, dict):
            inner = ", ".join(
                f"{k}={v}" for k, v in value.items() if isinstance(v, str | int | float | bool)
            )
            if inner:
                lines.append(f"{key}: {say(inner)}")
    return lines


def bar(value: float | None, target: float, width: int = 12) -> str:
    """An ASCII bar of ``value`` against ``target``: '#' up to the target, '!' beyond it."""
    if value is None or target <= 0:
        return ""
    filled = min(width, round(value / (2 * target) * width))
    half = width // 2
    return "".join(
        "#" if i < min(filled, half) else "!" if i < filled else "." for i in range(width)
    )
