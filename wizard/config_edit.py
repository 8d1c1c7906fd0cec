"""Change a few values of fdw-wizard.yaml in place, keeping the operator's comments and layout.

Only ``section.key: value`` lines of a block-style section are touched (the layout the
template and `demo` write); the result is validated as a whole before it replaces the file.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from wizard.config import Config, parse_config
from wizard.engine import StepError
from wizard.fileio import atomic_write_bytes
from wizard.i18n import Message


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_scalar(v) for v in value) + "]"  # a YAML flow list
    # A JSON string is a valid YAML double-quoted scalar, once the characters YAML reads as
    # line breaks (NEL, U+2028/9: folded into a space) or refuses (DEL, C1, BOM, surrogates)
    # are written as \uXXXX escapes, which both read back as the same character.
    text = json.dumps(str(value), ensure_ascii=False)
    return _YAML_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


_YAML_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\ufeff\ud800-\udfff\ufffe\uffff]")


def _hash_inside_quotes(rest: str) -> bool:
    """True when the first '#' of ``rest`` is inside a '...' or "..." value."""
    quote: str | None = None
    for char in rest:
        if quote is None and char in "'\"":
            quote = char
        elif quote is not None and char == quote:
            quote = None
        elif char == "#":
            return quote is not None
    return False


def update_section(text: str, section: str, values: dict[str, Any]) -> str:
    lines = text.splitlines(keepends=True)
    header = re.compile(rf"^{re.escape(section)}:\s*(#.*)?$")
    start = next((i for i, line in enumerate(lines) if header.match(line.rstrip("\r\n"))), None)
    newline = "\r\n" if text.count("\r\n") > text.count("\n") / 2 else "\n"
    if start is None:
        block = [f"{section}:{newline}"]
        block += [f"  {key}: {_scalar(value)}{newline}" for key, value in values.items()]
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += newline
        return "".join(lines + block)
    end = start + 1
    while end < len(lines) and (lines[end].startswith((" ", "\t")) or not lines[end].strip()):
        end += 1
    pending = dict(values)
    for index in range(start + 1, end):
        match = re.match(
            r"^(\s+)([A-Za-z_][\w-]*):(\s*)([^#\r\n]*?)(\s*#.*)?(\r?\n)?$", lines[index]
        )
        if match and match.group(2) in pending:
            indent, key, space, _old, comment, eol = match.groups()
            if _hash_inside_quotes(lines[index].split(":", 1)[1]):
                # The first '#' sits inside a quoted value, not before a comment: a line this
                # editor would cut in two. Let the operator change it by hand.
                raise StepError(Message("config.err.hand_edit", {"key": f"{section}.{key}"}))
            value = _scalar(pending.pop(key))
            lines[index] = f"{indent}{key}:{space or ' '}{value}{comment or ''}{eol or ''}"
    insert_at = start + 1
    for key, value in pending.items():
        lines.insert(insert_at, f"  {key}: {_scalar(value)}{newline}")
        insert_at += 1
    return "".join(lines)


def update_config_file(path: Path, section: str, values: dict[str, Any]) -> Config:
    """Apply ``values`` to ``section`` of the file; raises ConfigError (file untouched)."""
    text = path.read_text(encoding="utf-8-sig")
    new = update_section(text, section, values)
    config = parse_config(new, path)
    if new != text:
        atomic_write_bytes(path, new.encode("utf-8"))
    return config
