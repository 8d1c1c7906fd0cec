"""Reading one part of the facts: the template queries, and an error in place of a section."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from wizard.i18n import Message
from wizard.redact import redact
from wizard.sql_text import compose
from wizard.step_context import StepContext


def rows_of(conn: Any, template: str, **params: Any) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in conn.execute(compose(f"document/{template}.sql", **params))]


def error_text(exc: BaseException) -> str:
    text = str(getattr(exc, "message", None) or exc).strip()
    message = getattr(exc, "message", None)
    if isinstance(message, Message):
        text = message.render()
    first = text.splitlines()[0] if text else type(exc).__name__
    return redact(f"{type(exc).__name__}: {first}")[:300]


def guard(fn: Callable[[Any], dict[str, Any]], ctx: StepContext) -> dict[str, Any]:
    """A section's facts, or {'error': why} — one unreadable part never hides the others."""
    try:
        return fn(ctx)
    except Exception as exc:  # reported in the document, in its section
        return {"error": error_text(exc)}


def parse_options(items: Any) -> dict[str, str]:
    return dict(str(item).split("=", 1) for item in (items or []) if "=" in str(item))


def step_check(step: Any, ctx: StepContext) -> dict[str, Any]:
    """A step's own check, as the document shows it (status, message, details)."""
    try:
        result = step.check(ctx)
    except Exception as exc:
        return {"status": "failed", "message": None, "details": [], "error": error_text(exc)}
    return {
        "status": result.status.value,
        "message": result.message,
        "details": list(result.details),
    }
