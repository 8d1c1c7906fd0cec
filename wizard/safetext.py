"""Operator-supplied text made safe to show or to write where a line break or an escape
sequence would change its meaning (a terminal, a JSON document, a SQL ``--`` comment).

Control characters (C0, DEL, C1), Unicode line/paragraph separators, other format characters
and lone surrogates (undecodable bytes of ``sys.argv`` under ``surrogateescape``) become visible
escapes such as ``\\x1b``, ``\\n`` or ``\\udcff``; everything else is kept as it is.
"""

from __future__ import annotations

import unicodedata
from typing import Any

_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(char: str) -> str:
    if char in _SHORT:
        return _SHORT[char]
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _unsafe(char: str, keep: str) -> bool:
    if char in keep:
        return False
    # Cc: control, Cf: format (bidi overrides...), Cs: surrogate, Zl/Zp: line/paragraph sep.
    return unicodedata.category(char) in ("Cc", "Cf", "Cs", "Zl", "Zp")


def visible(text: str, *, keep: str = "") -> str:
    """``text`` with every control/format/surrogate character escaped (``keep`` lists the
    ones to leave alone, e.g. ``"\\n\\t"`` for a pasted multi-line error)."""
    if text.isprintable():
        return text
    return "".join(_escape(c) if _unsafe(c, keep) else c for c in text)


def visible_obj(value: Any) -> Any:
    """:func:`visible` applied to every string (keys too) of a JSON-ready structure, so the
    document always encodes as valid UTF-8."""
    if isinstance(value, str):
        return visible(value, keep="\n\t")
    if isinstance(value, dict):
        return {visible_obj(k): visible_obj(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [visible_obj(v) for v in value]
    return value


def sql_comment(text: str) -> str:
    """One ``-- `` comment line that stays one line for psql and PostgreSQL, whatever ``text``
    holds: line breaks (``\\n``, ``\\r``) and every other control character are escaped."""
    return "-- " + visible(text)
