"""postgresql.conf read the way PostgreSQL's guc-file.l reads it, and edited one line at a time.

Rules mirrored from the lexer/parser (PostgreSQL 15/16):
- one setting per line: ``name [=] value`` then end of line or a ``#`` comment;
- names are case-insensitive identifiers (``a.b`` allowed for extension settings);
- values are an identifier, a number (with unit letters), an unquoted string of letters, digits
  and ``-._:/``, or a single-quoted string with ``''`` and backslash escapes (``'C:\\new'``
  holds a newline: Windows paths must be written with ``/``);
- ``#`` starts a comment except inside quotes; ``\\r`` is white space, so CRLF is fine;
- ``include``, ``include_if_exists`` and ``include_dir`` are processed where they appear,
  relative to the including file's directory; include_dir reads ``*.conf`` (not starting with
  ``.``) in byte (C locale) order;
- the LAST occurrence of a name wins, and postgresql.auto.conf (ALTER SYSTEM) is read after
  postgresql.conf, so it overrides it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from wizard.dwhost.pgfiles.textfile import TextFile, unified_diff
from wizard.errors import StepError
from wizard.i18n import Message

__all__ = [
    "ConfFile",
    "ConfIssue",
    "ConfLine",
    "InvalidSetting",
    "Setting",
    "SettingInIncludedFile",
    "auto_conf_path",
    "auto_conf_shadows",
    "diff",
    "format_value",
    "pg_path",
    "quote_value",
]

INCLUDE_NAMES = ("include", "include_if_exists", "include_dir")
MAX_INCLUDE_DEPTH = 10  # CONF_FILE_MAX_DEPTH in guc.h

# Token patterns of guc-file.l. LETTER includes every byte >= 0x80, here every char >= U+0080.
_L = r"A-Za-z_\u0080-\U0010ffff"
_ID = rf"[{_L}][{_L}0-9]*"
_TOKENS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("ID", re.compile(_ID)),
    ("QUALIFIED_ID", re.compile(rf"{_ID}\.{_ID}")),
    ("STRING", re.compile(r"'(?:[^'\\\n]|\\.|'')*'")),
    ("UNQUOTED_STRING", re.compile(rf"[{_L}][{_L}0-9\-._:/]*")),
    ("INTEGER", re.compile(r"[-+]?(?:0x[0-9a-fA-F]+|[0-9]+)[a-zA-Z]*")),
    (
        "REAL",
        re.compile(r"[-+]?(?:[0-9]+\.[0-9]*|[0-9]*\.[0-9]+|[0-9]+)(?:[Ee][-+]?[0-9]+)?[a-zA-Z]*"),
    ),
    ("EQUALS", re.compile(r"=")),
)
_WHITESPACE = re.compile(r"[ \t\r]+")
_VALUE_KINDS = ("ID", "STRING", "INTEGER", "REAL", "UNQUOTED_STRING")
_NAME_RE = re.compile(rf"^(?:{_ID}|{_ID}\.{_ID})$")
_COMMENTED = re.compile(r"^[ \t\r]*#+[ \t]*")


class InvalidSetting(StepError):
    """A name or value the wizard refuses to write."""


class SettingInIncludedFile(StepError):
    """The effective occurrence of a setting lives in another file: the caller must decide."""

    def __init__(self, name: str, setting: Setting, path: Path | None) -> None:
        self.setting = setting
        params = {
            "name": name,
            "file": str(setting.file),
            "line": setting.line,
            "path": str(path) if path else "postgresql.conf",
        }
        super().__init__(
            Message("pgfiles.err.in_include", params),
            Message("pgfiles.err.in_include.fix", params),
        )


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    start: int
    end: int


@dataclass(frozen=True)
class ConfLine:
    """What PostgreSQL sees on one physical line."""

    kind: str  # "blank" | "comment" | "setting" | "include" | "error"
    name: str | None = None  # lower-cased
    value: str | None = None  # de-escaped, as PostgreSQL stores it
    value_span: tuple[int, int] | None = None  # where the value token sits in the line text
    commented_name: str | None = None  # "#port = 5432": a commented default of "port"
    error: str | None = None


@dataclass(frozen=True)
class Setting:
    """One occurrence of a setting. ``depth`` 0 means the file itself, >0 an included file."""

    name: str
    value: str
    file: Path | None
    line: int  # 1-based
    depth: int = 0


@dataclass(frozen=True)
class ConfIssue:
    """Something PostgreSQL would complain about while reading the files."""

    file: Path | None
    line: int
    detail: str

    def message(self) -> Message:
        return Message(
            "pgfiles.err.conf_syntax",
            {"file": str(self.file or "postgresql.conf"), "line": self.line, "detail": self.detail},
        )


# -- lexing --------------------------------------------------------------------------------------


def _lex(text: str) -> tuple[list[_Token], bool]:
    """Tokens of one line (no newline) and whether a comment was seen."""
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        ws = _WHITESPACE.match(text, pos)
        if ws:
            pos = ws.end()
            continue
        if text[pos] == "#":
            return tokens, True
        best: _Token | None = None
        for kind, pattern in _TOKENS:  # flex: longest match, the earlier rule on a tie
            found = pattern.match(text, pos)
            if found and (best is None or found.end() > best.end):
                best = _Token(kind, found.group(0), pos, found.end())
        if best is None:
            best = _Token("JUNK", text[pos], pos, pos + 1)
        tokens.append(best)
        pos = best.end
    return tokens, False


def _deescape(quoted: str) -> str:
    """DeescapeQuotedString() of guc-file.l."""
    s = quoted[1:-1]
    out: list[str] = []
    i = 0
    simple = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            i += 1
            c = s[i]
            if c in simple:
                out.append(simple[c])
            elif c in "01234567":
                digits = c
                while len(digits) < 3 and i + 1 < len(s) and s[i + 1] in "01234567":
                    i += 1
                    digits += s[i]
                out.append(chr(int(digits, 8)))
            else:
                out.append(c)
        elif c == "'" and i + 1 < len(s) and s[i + 1] == "'":
            out.append("'")
            i += 1
        else:
            out.append(c)
        i += 1
    return "".join(out)


def _parse_setting(text: str) -> ConfLine:
    tokens, has_comment = _lex(text)
    if not tokens:
        return ConfLine("comment" if has_comment else "blank")
    name = tokens[0]
    if name.kind not in ("ID", "QUALIFIED_ID"):
        return ConfLine("error", error=f'syntax error near "{name.text}"')
    rest = tokens[1:]
    if rest and rest[0].kind == "EQUALS":
        rest = rest[1:]
    if not rest or rest[0].kind not in _VALUE_KINDS:
        near = rest[0].text if rest else "end of line"
        return ConfLine("error", name=name.text.lower(), error=f'syntax error near "{near}"')
    value = rest[0]
    if len(rest) > 1:
        return ConfLine(
            "error", name=name.text.lower(), error=f'syntax error near "{rest[1].text}"'
        )
    plain = _deescape(value.text) if value.kind == "STRING" else value.text
    lower = name.text.lower()
    return ConfLine(
        "include" if lower in INCLUDE_NAMES else "setting",
        name=lower,
        value=plain,
        value_span=(value.start, value.end),
    )


def parse_line(text: str) -> ConfLine:
    """Parse one physical line; comments that hold a ``name = value`` remember that name."""
    parsed = _parse_setting(text)
    if parsed.kind == "comment":
        head = _COMMENTED.match(text)
        if head:
            inner = _parse_setting(text[head.end() :])
            # Only "name = value" counts: prose such as "# port is..." is not a default.
            if inner.kind in ("setting", "include") and "=" in text[head.end() :]:
                return ConfLine("comment", commented_name=inner.name)
    return parsed


# -- values ------------------------------------------------------------------------------------


def quote_value(value: str) -> str:
    """``'...'`` with ``''`` for a quote and backslash escapes PostgreSQL undoes on reading."""
    escaped = (
        value.replace("\\", "\\\\").replace("'", "''").replace("\n", "\\n").replace("\r", "\\r")
    )
    return f"'{escaped}'"


def pg_path(path: str | Path) -> str:
    """A path as postgresql.conf should hold it: forward slashes (``C:/Program Files/...``), so
    no backslash can turn into an escape (``\\n`` in ``C:\\new`` is a newline)."""
    return str(path).replace("\\", "/")


_BOOLEAN_WORDS = frozenset({"on", "off", "true", "false", "yes", "no"})


def format_value(value: str | int | float | bool) -> str:
    """The text to write for a value: numbers (with a unit, ``64MB``) and boolean words
    unquoted; every other text quoted and escaped (:func:`quote_value`), as PostgreSQL's sample
    file writes strings (``listen_addresses = 'localhost'``, never ``= localhost``)."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, int | float):
        return str(value)
    if value.lower() in _BOOLEAN_WORDS:
        return value
    tokens, has_comment = _lex(value)
    if (
        not has_comment
        and value.isascii()
        and len(tokens) == 1
        and tokens[0].text == value
        and tokens[0].kind in ("INTEGER", "REAL")
    ):
        return value
    return quote_value(value)


def _value_of(text: str) -> str:
    tokens, _ = _lex(text)
    token = tokens[0]
    return _deescape(token.text) if token.kind == "STRING" else token.text


# -- the file ----------------------------------------------------------------------------------


class ConfFile:
    """One postgresql.conf-style file and (when it has a path) the files it includes."""

    def __init__(self, text: TextFile, *, follow_includes: bool = True, _depth: int = 0) -> None:
        self.text = text
        self.path = text.path
        self.lines: tuple[ConfLine, ...] = tuple(parse_line(t) for t in text.texts)
        self._depth = _depth
        self._follow = follow_includes
        self.issues: list[ConfIssue] = []
        self._includes: dict[int, list[ConfFile]] = {}
        for index, line in enumerate(self.lines):
            if line.kind == "error":
                self.issues.append(ConfIssue(self.path, index + 1, line.error or "syntax error"))
            elif line.kind == "include" and follow_includes and self.path is not None:
                self._includes[index] = self._load_include(index, line)

    @classmethod
    def from_bytes(
        cls,
        data: bytes,
        path: Path | str | None = None,
        *,
        encoding: str | None = None,
        follow_includes: bool = True,
    ) -> ConfFile:
        """Parse bytes; includes are followed (from disk) only when ``path`` is given."""
        return cls(
            TextFile.from_bytes(data, Path(path) if path is not None else None, encoding),
            follow_includes=follow_includes,
        )

    @classmethod
    def read(
        cls, path: Path | str, *, encoding: str | None = None, follow_includes: bool = True
    ) -> ConfFile:
        return cls(TextFile.read(Path(path), encoding), follow_includes=follow_includes)

    # -- includes ------------------------------------------------------------------------------

    def _load_include(self, index: int, line: ConfLine) -> list[ConfFile]:
        assert self.path is not None and line.value is not None
        if self._depth >= MAX_INCLUDE_DEPTH:
            self.issues.append(ConfIssue(self.path, index + 1, "includes nested too deeply"))
            return []
        target = Path(line.value)
        if not target.is_absolute():
            target = self.path.parent / target
        if line.name == "include_dir":
            if not target.is_dir():
                self.issues.append(
                    ConfIssue(self.path, index + 1, f'could not open directory "{target}"')
                )
                return []
            names = sorted(
                (
                    p.name
                    for p in target.iterdir()
                    if p.name.endswith(".conf") and not p.name.startswith(".") and p.is_file()
                ),
                key=lambda n: n.encode("utf-8", "surrogateescape"),  # strcmp order
            )
            return [self._child(target / name) for name in names]
        if not target.is_file():
            if line.name == "include":  # include_if_exists just skips a missing file
                self.issues.append(
                    ConfIssue(self.path, index + 1, f'could not open configuration file "{target}"')
                )
            return []
        return [self._child(target)]

    def _child(self, path: Path) -> ConfFile:
        child = ConfFile(TextFile.read(path), _depth=self._depth + 1)
        self.issues.extend(child.issues)
        return child

    def included_files(self) -> list[Path]:
        """Every file read through an include, in reading order."""
        found: list[Path] = []
        for files in self._includes.values():
            for child in files:
                if child.path is not None:
                    found.append(child.path)
                found += child.included_files()
        return found

    # -- reading settings ----------------------------------------------------------------------

    def occurrences(self) -> Iterator[Setting]:
        """Every active setting in reading order, descending into includes where they appear."""
        for index, line in enumerate(self.lines):
            if line.kind == "setting" and line.name is not None and line.value is not None:
                yield Setting(line.name, line.value, self.path, index + 1, self._depth)
            for child in self._includes.get(index, []):
                yield from child.occurrences()

    def settings(self) -> dict[str, Setting]:
        """Effective setting per lower-cased name: the last occurrence wins."""
        found: dict[str, Setting] = {}
        for setting in self.occurrences():
            found.pop(setting.name, None)  # keep the dict in the order of the winning lines
            found[setting.name] = setting
        return found

    def where(self, name: str) -> Setting | None:
        return self.settings().get(name.lower())

    def get(self, name: str) -> str | None:
        found = self.where(name)
        return found.value if found else None

    # -- editing -------------------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        return self.text.to_bytes()

    def _edited(self, text: TextFile) -> ConfFile:
        if text is self.text:
            return self
        return ConfFile(text, follow_includes=self._follow, _depth=self._depth)

    def set(self, name: str, value: str | int | float | bool, *, raw: bool = False) -> ConfFile:
        """A copy with ``name`` set to ``value`` (formatted with :func:`format_value`, or
        written as-is when ``raw``).

        Changes the LAST active line of this file for that name (indentation, spelling of the
        name and trailing comment kept); raises :class:`SettingInIncludedFile` when the
        effective occurrence is in an included file; else inserts after the last commented
        default (``#name = ...``), else appends. Returns ``self`` when the value already holds.
        """
        if not isinstance(name, str) or not _NAME_RE.match(name):
            raise InvalidSetting(Message("pgfiles.err.bad_name", {"name": str(name)}))
        key = name.lower()
        if key in INCLUDE_NAMES:
            raise InvalidSetting(Message("pgfiles.err.bad_name", {"name": name}))
        if isinstance(value, str) and "\x00" in value:  # PostgreSQL's C strings end there
            raise InvalidSetting(
                Message("pgfiles.err.bad_value", {"name": name, "value": repr(value)})
            )
        text_value = str(value) if raw else format_value(value)
        tokens, has_comment = _lex(text_value)
        if has_comment or len(tokens) != 1 or tokens[0].kind not in _VALUE_KINDS:
            raise InvalidSetting(
                Message("pgfiles.err.bad_value", {"name": name, "value": text_value})
            )
        wanted = _value_of(text_value)
        current = self.settings().get(key)
        if current is not None and current.value == wanted:
            return self
        if current is not None and current.depth > 0:
            raise SettingInIncludedFile(name, current, self.path)
        if current is not None:
            index = current.line - 1
            line = self.lines[index]
            assert line.value_span is not None
            start, end = line.value_span
            old = self.text.lines[index].text
            if not raw and old[start:end].startswith("'") and not text_value.startswith("'"):
                text_value = quote_value(_value_of(text_value))  # the line was quoted: keep it
            return self._edited(self.text.replace_text(index, old[:start] + text_value + old[end:]))
        commented = [i for i, line in enumerate(self.lines) if line.commented_name == key]
        at = commented[-1] + 1 if commented else len(self.text)
        return self._edited(self.text.insert(at, [f"{name} = {text_value}"]))

    def set_many(self, values: Iterable[tuple[str, str | int | float | bool]]) -> ConfFile:
        conf = self
        for name, value in values:
            conf = conf.set(name, value)
        return conf


# -- postgresql.auto.conf ------------------------------------------------------------------------


def auto_conf_path(where: Path | str) -> Path:
    """postgresql.auto.conf for a data directory, a postgresql.conf path (its data_directory
    setting when it has one, as on Debian) or the auto file itself."""
    where = Path(where)
    if where.is_dir():
        return where / "postgresql.auto.conf"
    if where.name == "postgresql.auto.conf":
        return where
    if where.is_file():
        data_dir = ConfFile.read(where).get("data_directory")
        if data_dir:
            return Path(data_dir) / "postgresql.auto.conf"
    return where.parent / "postgresql.auto.conf"


def auto_conf_shadows(where: Path | str, names: Iterable[str]) -> dict[str, Setting]:
    """Which of ``names`` postgresql.auto.conf sets (ALTER SYSTEM): those values override
    anything written in postgresql.conf."""
    path = auto_conf_path(where)
    if not path.is_file():
        return {}
    found = ConfFile.read(path).settings()
    return {name: found[name.lower()] for name in names if name.lower() in found}


def diff(old: bytes, new: bytes, path: Path | str, encoding: str | None = None) -> str:
    """Unified diff of two versions of a file (for dry-run output)."""
    return unified_diff(old, new, path, encoding)
