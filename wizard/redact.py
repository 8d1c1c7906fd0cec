"""One place that knows every secret value this process has seen, so that nothing that leaves
the process (events, audit records, state files, error text, JSON output) can carry one."""

from __future__ import annotations

import re
import threading
from typing import Any

MASK = "********"
_lock = threading.Lock()
_known: set[str] = set()

# Secrets we never saw as values but can recognize by shape (an error or a DSN pasted by a user).
_PATTERNS = (
    # libpq's keyword form (password=...); not "reader_password=" (a psql variable name).
    re.compile(r"(?i)((?<![\w])password\s*=\s*)('(?:[^'\\]|\\.|'')*'|\S+)"),
    re.compile(r"(?i)(PASSWORD\s+)('(?:[^']|'')*')"),
    re.compile(r"(?i)(postgres(?:ql)?://[^:/@\s]+:)([^@\s]+)(@)"),
    re.compile(r"(eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.)([A-Za-z0-9_-]+)"),
    re.compile(r"(SCRAM-SHA-256\$)(\S+?)('|\s|$)"),
)


def register(value: str | None) -> None:
    """Remember a secret value; short values are ignored (they would mask ordinary words)."""
    if value and len(value) >= 4:
        with _lock:
            _known.add(value)


def redact(text: str) -> str:
    """Replace every known secret and every secret-shaped substring with a mask."""
    with _lock:
        known = sorted(_known, key=len, reverse=True)
    for value in known:
        if value in text:
            text = text.replace(value, MASK)
    for pattern in _PATTERNS:
        groups = pattern.groups
        if groups == 3:
            text = pattern.sub(lambda m: m.group(1) + MASK + m.group(3), text)
        else:
            text = pattern.sub(lambda m: m.group(1) + MASK, text)
    return text


def redact_obj(obj: Any) -> Any:
    """Redact every string inside a JSON-like structure."""
    if isinstance(obj, str):
        return redact(obj)
    if isinstance(obj, dict):
        return {k: redact_obj(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [redact_obj(v) for v in obj]
    return obj
