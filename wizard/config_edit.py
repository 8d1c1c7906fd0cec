"""Change values of fdw-wizard.yaml in place, keeping the operator's comments and layout.

One editor for the CLI (``update_section``: ``section.key: value`` lines of a block section,
the layout the template and `demo` write) and the TUI's settings (``set_value``: any dotted
key, block or flow, lists kept as block lists). Every edit is checked by reading the result
back: a layout it cannot change without disturbing something else is an :class:`UnsafeEdit`
(the operator edits that line by hand). Files are validated as a whole before they are
replaced, atomically.
"""

from __future__ import annotations

import json
import re
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wizard.config import Config, parse_config
from wizard.errors import StepError
from wizard.fileio import atomic_write_bytes
from wizard.i18n import Message


class UnsafeEdit(StepError):
    """The line of ``key`` is one this editor cannot change without disturbing the file (a
    quoted value with '#' in it, an unusual layout): the operator changes it by hand."""

    def __init__(self, key: str) -> None:
        super().__init__(Message("config.err.hand_edit", {"key": key}))
        self.key = key


# -- what kind of value a key holds (from the pydantic models) -------------------------------


@dataclass(frozen=True)
class FieldSpec:
    key: str  # YAML path, e.g. exposure.tls.enabled (aliases, as in the file)
    kind: str  # bool | choice | int | int_or_auto | list | text
    choices: tuple[str, ...]
    description: str  # the pydantic model's (English) description


def _model_field(model: Any, name: str) -> Any:
    fields = model.model_fields
    if name in fields:
        return fields[name]
    return next(info for info in fields.values() if info.alias == name)


def field_spec(key: str) -> FieldSpec:
    model: Any = Config
    info: Any = None
    for part in key.split("."):
        info = _model_field(model, part)
        model = info.annotation
    annotation = info.annotation
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    kind = "text"
    choices: tuple[str, ...] = ()
    if annotation is bool:
        kind = "bool"
    elif origin is typing.Literal:
        kind, choices = "choice", tuple(str(a) for a in args)
    elif annotation is int:
        kind = "int"
    elif origin is list:
        kind = "list"
    elif origin in (typing.Union, types.UnionType) and int in args:
        kind = "int_or_auto"
    return FieldSpec(key, kind, choices, info.description or "")


def get_path(data: Any, key: str) -> Any:
    for part in key.split("."):
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


def _set_path(data: dict[str, Any], parts: list[str], value: Any) -> None:
    for part in parts[:-1]:
        child = data.get(part)
        if not isinstance(child, dict):
            child = data[part] = {}
        data = child
    data[parts[-1]] = value


def value_from_text(kind: str, raw: Any) -> Any:
    """The YAML value a form field's text stands for. Text that is not a number stays text,
    so the engine's own message ("must be a whole number") is what the operator reads."""
    if kind in ("bool", "choice"):
        return raw
    text = str(raw).strip()
    if kind in ("int", "int_or_auto"):
        return int(text) if re.fullmatch(r"-?\d{1,9}", text) else text
    if kind == "list":
        return [part.strip() for part in text.split(",") if part.strip()]
    return text


def text_of_value(value: Any) -> str:
    """How a form field shows a value (lists comma-separated)."""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


# -- writing values -------------------------------------------------------------------------

# A JSON string is a valid YAML double-quoted scalar, once the characters YAML reads as line
# breaks (NEL, U+2028/9: folded into a space) or refuses (DEL, C1, BOM, surrogates) are
# written as \uXXXX escapes, which both read back as the same character.
_YAML_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\ufeff\ud800-\udfff\ufffe\uffff]")
_PLAIN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_./-]*$")
_KEY_LINE = re.compile(
    r"^(?P<indent>[ ]*)(?P<key>[A-Za-z_][\w-]*):(?P<space>[ \t]*)(?P<value>[^#\r\n]*?)"
    r"(?P<comment>[ \t]*#[^\r\n]*)?(?P<eol>\r?\n)?$"
)


def _yaml_value(value: Any, *, plain: bool) -> str:
    """A YAML flow value (fits on the key's line). Text is quoted unless ``plain`` and it
    reads back as the same text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if value is None:
        return "null"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_yaml_value(v, plain=plain) for v in value) + "]"
    if isinstance(value, dict):
        items = (
            f"{_yaml_value(str(k), plain=plain)}: {_yaml_value(v, plain=plain)}"
            for k, v in value.items()
        )
        return "{" + ", ".join(items) + "}"
    text = str(value)
    if plain and _PLAIN.match(text):
        import yaml

        if yaml.safe_load(text) == text:
            return text
    quoted = json.dumps(text, ensure_ascii=False)
    return _YAML_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", quoted)


def _hash_inside_quotes(rest: str) -> bool:
    """True when ``rest`` (a line after its key's ':') holds a quoted value with '#' in it, or
    one not closed on this line: a line whose comment cannot be told apart from its value."""
    value = rest.lstrip(" \t")
    quote = value[:1]
    if quote not in ("'", '"'):
        return False
    index = 1
    while index < len(value):
        char = value[index]
        if quote == '"' and char == "\\":
            index += 2  # an escape: \" is not the closing quote
            continue
        if char == quote and value[index + 1 : index + 2] == quote == "'":
            index += 2  # '' inside '...' is one quote
            continue
        if char == quote:
            return False
        if char == "#":
            return True
        index += 1
    return True


def _newline(text: str) -> str:
    return "\r\n" if text.count("\r\n") > text.count("\n") / 2 else "\n"


def _key_line(match: re.Match[str], value: str) -> str:
    """The key's line with a new value; its indentation, spacing and comment as they were."""
    tail = (match["comment"] or "") + (match["eol"] or "")
    return f"{match['indent']}{match['key']}:{match['space'] or ' '}{value}{tail}"


def update_section(text: str, section: str, values: dict[str, Any]) -> str:
    """``values`` written into the block ``section:`` (created at the end when missing); a key
    missing from it is added right under its header. Text values are always quoted."""
    lines = text.splitlines(keepends=True)
    header = re.compile(rf"^{re.escape(section)}:\s*(#.*)?$")
    start = next((i for i, line in enumerate(lines) if header.match(line.rstrip("\r\n"))), None)
    newline = _newline(text)
    if start is None:
        block = [f"{section}:{newline}"]
        block += [f"  {k}: {_yaml_value(v, plain=False)}{newline}" for k, v in values.items()]
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += newline
        return "".join(lines + block)
    end = start + 1
    while end < len(lines) and (lines[end].startswith((" ", "\t")) or not lines[end].strip()):
        end += 1
    pending = dict(values)
    for index in range(start + 1, end):
        match = _KEY_LINE.match(lines[index])
        if match and match["indent"] and match["key"] in pending:
            if _hash_inside_quotes(lines[index].split(":", 1)[1]):
                raise UnsafeEdit(f"{section}.{match['key']}")
            lines[index] = _key_line(match, _yaml_value(pending.pop(match["key"]), plain=False))
    insert_at = start + 1
    for key, value in pending.items():
        lines.insert(insert_at, f"  {key}: {_yaml_value(value, plain=False)}{newline}")
        insert_at += 1
    return "".join(lines)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _is_content(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def _value_end(lines: list[str], index: int, indent: int) -> int:
    """First line after the key at ``index`` that is not part of its value (a block list
    may sit at the key's own indentation: ``key:\\n- a``). Trailing comments and blank lines
    belong to what follows."""
    end = index + 1
    while end < len(lines):
        if _is_content(lines[end]):
            ind = _indent(lines[end])
            if ind < indent or (ind == indent and not lines[end].lstrip(" ").startswith("-")):
                break
        end += 1
    while end - 1 > index and not _is_content(lines[end - 1]):
        end -= 1
    return end


def _find_key(lines: list[str], start: int, end: int, name: str) -> tuple[int | None, int, Any]:
    """(indentation of the mapping's keys, index of ``name``'s line, its match) in
    ``lines[start:end]``; (None, start, None) for an empty range."""
    child_indent: int | None = None
    for index in range(start, end):
        if not _is_content(lines[index]):
            continue
        ind = _indent(lines[index])
        if child_indent is None:
            child_indent = ind
        if ind != child_indent:
            continue
        match = _KEY_LINE.match(lines[index])
        if match and match["key"] == name:
            return child_indent, index, match
    return child_indent, start, None


def _edit_lines(text: str, key: str, value: Any, expected: dict[str, Any]) -> str:
    lines = text.splitlines(keepends=True)
    newline = _newline(text)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += newline
    parts = key.split(".")
    start, end, parent_indent = 0, len(lines), -1
    for depth, name in enumerate(parts):
        child_indent, index, found = _find_key(lines, start, end, name)
        if child_indent is not None and child_indent <= parent_indent:
            raise UnsafeEdit(key)
        if found is None:
            # Missing here: one line holding the rest of the path as a flow value.
            rest = get_path(expected, ".".join(parts[: depth + 1]))
            indent = " " * (child_indent if child_indent is not None else parent_indent + 2)
            line = f"{indent}{name}: {_yaml_value(rest, plain=True)}{newline}"
            lines.insert(start if depth else len(lines), line)
            return "".join(lines)
        if _hash_inside_quotes(lines[index].split(":", 1)[1]):
            raise UnsafeEdit(key)  # the comment split would be wrong
        indent, comment, eol = found["indent"], found["comment"] or "", found["eol"] or ""
        if depth == len(parts) - 1:
            stop = _value_end(lines, index, len(indent))
            kept = [line for line in lines[index + 1 : stop] if not _is_content(line)]
            items = [line for line in lines[index + 1 : stop] if _is_content(line)]
            if isinstance(value, list) and value and items and not found["value"].strip():
                # A block list stays a block list, one item a line, at its indentation.
                dash = " " * _indent(items[0]) + "- "
                block = [f"{dash}{_yaml_value(item, plain=True)}{newline}" for item in value]
                lines[index:stop] = [f"{indent}{name}:{comment}{eol}", *block, *kept]
                return "".join(lines)
            lines[index:stop] = [_key_line(found, _yaml_value(value, plain=True)), *kept]
            return "".join(lines)
        if found["value"].strip():
            # The parent is written inline ({a: 1, b: 2}): rewrite it whole, on its line.
            whole = get_path(expected, ".".join(parts[: depth + 1]))
            lines[index] = f"{indent}{name}: {_yaml_value(whole, plain=True)}{comment}{eol}"
            return "".join(lines)
        start, end = index + 1, _value_end(lines, index, len(indent))
        parent_indent = len(indent)
    raise UnsafeEdit(key)


def set_value(text: str, key: str, value: Any) -> str:
    """``text`` with the dotted ``key`` set to ``value``, everything else (comments included)
    as it was. A two-part key with a scalar value is written the way ``update_section``
    writes it (one style for the CLI and the TUI); the result is read back, and anything else
    that changed makes it an UnsafeEdit."""
    import yaml

    try:
        before = yaml.safe_load(text)
    except yaml.YAMLError:
        raise UnsafeEdit(key) from None
    if not isinstance(before, dict):
        raise UnsafeEdit(key)
    expected = json.loads(json.dumps(before, default=str))
    parts = key.split(".")
    _set_path(expected, parts, value)
    own = _edit_lines(text, key, value, expected)  # also refuses layouts it cannot read
    candidates = [own]
    if len(parts) == 2 and not isinstance(value, list | dict):
        candidates.insert(0, update_section(text, parts[0], {parts[1]: value}))
    for candidate in candidates:
        try:
            if yaml.safe_load(candidate) == expected:
                return candidate
        except yaml.YAMLError:
            continue
    raise UnsafeEdit(key)


def set_values(text: str, edits: dict[str, Any]) -> str:
    for key, value in edits.items():
        text = set_value(text, key, value)
    return text


def can_edit(text: str, key: str, current: Any) -> bool:
    """Whether this file lets ``key`` change (tried with another value of the same shape)."""
    if isinstance(current, bool):
        probe: Any = not current
    elif isinstance(current, list):
        probe = [*current, "probe_value"]
    elif isinstance(current, int):
        probe = current + 1
    else:
        probe = ("" if current is None else str(current)) + "probe"
    try:
        set_value(text, key, probe)
    except UnsafeEdit:
        return False
    return True


# -- files ------------------------------------------------------------------------------------


def _write_checked(path: Path, text: str, new: str) -> Config:
    config = parse_config(new, path)  # raises ConfigError: the file stays as it was
    if new != text:
        atomic_write_bytes(path, new.encode("utf-8"))
    return config


def update_config_file(path: Path, section: str, values: dict[str, Any]) -> Config:
    """Apply ``values`` to ``section`` of the file; raises ConfigError (file untouched)."""
    text = path.read_text(encoding="utf-8-sig")
    return _write_checked(path, text, update_section(text, section, values))


def edit_config_file(path: Path, edits: dict[str, Any]) -> Config:
    """Set dotted keys of the file (``{"exposure.tls.enabled": False}``); raises UnsafeEdit,
    ConfigError or OSError, and then the file is untouched."""
    text = path.read_text(encoding="utf-8-sig")
    return _write_checked(path, text, set_values(text, edits))
