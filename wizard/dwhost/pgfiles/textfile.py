"""A text file edited line by line without disturbing the bytes of the lines we do not touch.

PostgreSQL reads postgresql.conf and pg_hba.conf as bytes: on Windows they are often CRLF and
cp1252 ("ANSI"), elsewhere LF and UTF-8. Every line keeps its original bytes until it is edited,
so an unchanged file round-trips byte for byte (whatever its encoding or mix of line endings).
The one exception is a UTF-8 byte order mark: PostgreSQL rejects it (syntax error on line 1 of
postgresql.conf, ``invalid connection type "\\ufeff"`` in pg_hba.conf), so it is never written
back and ``had_bom`` tells the caller to report that change.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from wizard.errors import StepError
from wizard.i18n import Message

__all__ = [
    "UTF8_BOM",
    "Line",
    "TextFile",
    "TextFileError",
    "UnencodableText",
    "unified_diff",
]

UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
# Tried in this order when the caller does not name an encoding. latin-1 decodes any byte, so
# reading never fails; cp1252 leaves 5 bytes undefined (0x81, 0x8d, 0x8f, 0x90, 0x9d).
_GUESSES = ("utf-8", "cp1252", "latin-1")


class TextFileError(StepError):
    """A configuration file that cannot be read or written as text."""


class UnencodableText(TextFileError):
    """A value contains a character the file's encoding cannot store."""


@dataclass(frozen=True)
class Line:
    """One physical line: ``text`` without its ending, ``eol`` ("\\r\\n", "\\n" or "" for a last
    line with no newline), ``raw`` the original bytes (None for a new or edited line)."""

    text: str
    eol: str
    raw: bytes | None = None


def _display(path: Path | None) -> str:
    return str(path) if path is not None else "<memory>"


class TextFile:
    """Immutable: every edit returns a new TextFile."""

    def __init__(
        self,
        lines: Sequence[Line],
        *,
        path: Path | None,
        encoding: str,
        newline: str,
        had_bom: bool,
    ) -> None:
        self.lines: tuple[Line, ...] = tuple(lines)
        self.path = path
        self.encoding = encoding
        self.newline = newline
        self.had_bom = had_bom

    # -- reading ---------------------------------------------------------------------------

    @classmethod
    def from_bytes(
        cls, data: bytes, path: Path | None = None, encoding: str | None = None
    ) -> TextFile:
        had_bom = data.startswith(UTF8_BOM)
        if had_bom:
            data = data[len(UTF8_BOM) :]
        elif data.startswith(_UTF16_BOMS):
            raise TextFileError(
                Message("pgfiles.err.utf16", {"path": _display(path)}),
                Message("pgfiles.err.utf16.fix", {"path": _display(path)}),
            )
        if encoding is None:
            encoding = _guess_encoding(data)
            if had_bom:
                encoding = "utf-8"  # the BOM says so, even if the rest does not decode
        # Split the BYTES on LF: both encodings are ASCII-compatible, and a lone CR is not a
        # line break for PostgreSQL (its lexers treat \r as white space).
        pieces = data.split(b"\n")
        last = pieces.pop()
        lines: list[Line] = []
        counts = {"\r\n": 0, "\n": 0}
        for piece in pieces:
            eol = "\r\n" if piece.endswith(b"\r") else "\n"
            counts[eol] += 1
            body = piece[:-1] if eol == "\r\n" else piece
            lines.append(Line(_decode(body, encoding, path), eol, piece + b"\n"))
        if last:
            lines.append(Line(_decode(last, encoding, path), "", last))
        if counts["\r\n"] == counts["\n"] == 0:
            newline = "\r\n" if os.name == "nt" else "\n"
        elif counts["\r\n"] == counts["\n"]:
            newline = lines[0].eol  # a tie: follow the first line
        else:
            newline = "\r\n" if counts["\r\n"] > counts["\n"] else "\n"
        return cls(lines, path=path, encoding=encoding, newline=newline, had_bom=had_bom)

    @classmethod
    def read(cls, path: Path, encoding: str | None = None) -> TextFile:
        path = Path(path)
        return cls.from_bytes(path.read_bytes(), path, encoding)

    # -- views -----------------------------------------------------------------------------

    @property
    def texts(self) -> list[str]:
        return [line.text for line in self.lines]

    @property
    def final_newline(self) -> bool:
        return not self.lines or self.lines[-1].eol != ""

    def bom_warning(self) -> Message | None:
        """What to tell the operator when the BOM is dropped on the next write."""
        if not self.had_bom:
            return None
        return Message("pgfiles.warn.bom", {"path": _display(self.path)})

    def __len__(self) -> int:
        return len(self.lines)

    def to_bytes(self) -> bytes:
        """The file's bytes: original bytes for untouched lines, never a BOM."""
        out: list[bytes] = []
        for line in self.lines:
            if line.raw is not None:
                out.append(line.raw)
            else:
                out.append(self._encode(line.text) + line.eol.encode("ascii"))
        return b"".join(out)

    # -- edits -----------------------------------------------------------------------------

    def _encode(self, text: str) -> bytes:
        try:
            return text.encode(self.encoding)
        except UnicodeEncodeError as exc:
            bad = exc.object[exc.start : exc.end]
            raise UnencodableText(
                Message(
                    "pgfiles.err.unencodable",
                    {"path": _display(self.path), "encoding": self.encoding, "value": bad},
                ),
                Message("pgfiles.err.unencodable.fix", {"path": _display(self.path)}),
            ) from None

    def _new_line(self, text: str, eol: str | None = None) -> Line:
        if "\n" in text:
            raise ValueError("a line cannot contain a newline")
        self._encode(text)  # fail now, naming the value, not later in to_bytes()
        return Line(text, self.newline if eol is None else eol)

    def _with(self, lines: Sequence[Line]) -> TextFile:
        return TextFile(
            lines,
            path=self.path,
            encoding=self.encoding,
            newline=self.newline,
            had_bom=self.had_bom,
        )

    def replace_text(self, index: int, text: str) -> TextFile:
        """Change the text of one line, keeping its own line ending."""
        old = self.lines[index]
        if old.text == text:
            return self
        lines = list(self.lines)
        lines[index] = self._new_line(text, old.eol)
        return self._with(lines)

    def insert(self, index: int, texts: Sequence[str]) -> TextFile:
        """Insert new lines before ``index`` (``len(self)`` appends). New lines use the file's
        dominant newline; appending to a file without a final newline gives its last line one
        (otherwise the new text would glue onto it)."""
        if not texts:
            return self
        new = [self._new_line(text) for text in texts]
        lines = list(self.lines)
        if index == len(lines) and lines and lines[-1].eol == "":
            lines[-1] = Line(lines[-1].text, self.newline)
        lines[index:index] = new
        return self._with(lines)

    def delete(self, indexes: Sequence[int]) -> TextFile:
        drop = set(indexes)
        if not drop:
            return self
        return self._with([line for i, line in enumerate(self.lines) if i not in drop])


def _guess_encoding(data: bytes) -> str:
    for name in _GUESSES:
        try:
            data.decode(name)
        except UnicodeDecodeError:
            continue
        return name
    return "latin-1"  # unreachable: latin-1 decodes everything


def _decode(data: bytes, encoding: str, path: Path | None) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise TextFileError(
            Message(
                "pgfiles.err.decode",
                {"path": _display(path), "encoding": encoding, "detail": str(exc)},
            ),
            Message("pgfiles.err.decode.fix", {"path": _display(path)}),
        ) from None


def unified_diff(old: bytes, new: bytes, path: Path | str, encoding: str | None = None) -> str:
    """A unified diff for people (dry-run). Line endings are not shown (CRLF reads as LF); a
    removed BOM shows as a changed first line."""
    name = str(path)
    old_file = TextFile.from_bytes(old, None, encoding)
    new_file = TextFile.from_bytes(new, None, encoding or old_file.encoding)
    old_lines = [_show(line) for line in old_file.lines]
    new_lines = [_show(line) for line in new_file.lines]
    if old_file.had_bom and not new_file.had_bom and old_lines:
        old_lines[0] = "\ufeff" + old_lines[0]
    return "".join(difflib.unified_diff(old_lines, new_lines, name, name + " (new)"))


def _show(line: Line) -> str:
    marker = "" if line.eol else "  [no newline at end of file]"
    return line.text + marker + "\n"
