"""pg_hba.conf read the way PostgreSQL's hba.c reads it, and edited without moving other lines.

PostgreSQL picks the FIRST rule that matches a connection, so a rule appended after a ``reject``
or after a broader rule is never reached. :meth:`HbaFile.ensure_rule` therefore inserts a rule in
front of the first rule that would catch all of its connections; everything else stays
byte-for-byte where it was.

Tokenizing follows hba.c ``next_token``: fields are separated by blanks (space, tab, CR), a
field may be a comma list, ``"..."`` quotes (``""`` is a literal quote) and a quoted keyword is
a plain name (``"all"`` is a database called all), ``#`` outside quotes starts a comment even
right after a word (``md5#x``). PostgreSQL 16 adds ``include``/``include_if_exists``/
``include_dir`` lines and lines continued with a trailing backslash; both are understood here
(on PostgreSQL 15 a trailing backslash is just part of the last word).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import NamedTuple

from wizard.dwhost.pgfiles.textfile import TextFile
from wizard.errors import StepError
from wizard.i18n import Message

__all__ = [
    "CONN_TYPES",
    "MARKER",
    "HbaEdit",
    "HbaEntry",
    "HbaFile",
    "HbaPosition",
    "HbaRule",
    "InvalidHbaRule",
    "hba_quote",
    "is_ip",
]

CONN_TYPES = ("local", "host", "hostssl", "hostnossl", "hostgssenc", "hostnogssenc")
INCLUDE_KINDS = ("include", "include_if_exists", "include_dir")
KEYWORDS = ("all", "sameuser", "samerole", "samegroup", "replication")
ADDRESS_KEYWORDS = ("all", "samehost", "samenet")
METHODS = (
    "trust",
    "reject",
    "scram-sha-256",
    "md5",
    "password",
    "gss",
    "sspi",
    "ident",
    "peer",
    "pam",
    "ldap",
    "radius",
    "cert",
    "bsd",
)
MARKER = "# fdw-wizard:"

# Which kinds of connection each type accepts: TCP with TLS, TCP without TLS, GSS-encrypted TCP.
_ACCEPTS: dict[str, frozenset[str]] = {
    "local": frozenset({"local"}),
    "host": frozenset({"ssl", "nossl", "gss"}),
    "hostssl": frozenset({"ssl"}),
    "hostnossl": frozenset({"nossl", "gss"}),
    "hostgssenc": frozenset({"gss"}),
    "hostnogssenc": frozenset({"ssl", "nossl"}),
}

_BLANK = " \t\r"
_NEEDS_QUOTES = re.compile(r'[\s,#"]')

# Three-valued answers: does an existing rule catch these connections?
NO, MAYBE, YES = 0, 1, 2


class InvalidHbaRule(StepError):
    """A rule the wizard refuses to write (it would not parse as intended)."""


# -- tokens --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    value: str  # after removing quotes
    quoted: bool
    raw: str  # as written


def _next_token(text: str, pos: int) -> tuple[_Token | None, int, bool]:
    """hba.c next_token(): (token or None at end of line, new position, ended with a comma)."""
    n = len(text)
    while pos < n and (text[pos] in _BLANK or text[pos] == ","):
        pos += 1
    start = pos
    buf: list[str] = []
    in_quote = was_quote = saw_quote = False
    comma = False
    end = pos
    while pos < n and (text[pos] not in _BLANK or in_quote):
        c = text[pos]
        if c == "#" and not in_quote:
            end = pos
            pos = n  # the rest of the line is a comment
            break
        if c == "," and not in_quote:
            end = pos
            pos += 1
            comma = True
            break
        if c != '"' or was_quote:
            buf.append(c)
        was_quote = (not was_quote) if (in_quote and c == '"') else False
        if c == '"':
            in_quote = not in_quote
            saw_quote = True
        pos += 1
        end = pos
    if not buf and not saw_quote:
        return None, n if pos >= n else pos, False
    return _Token("".join(buf), saw_quote, text[start:end]), pos, comma


def _fields(text: str) -> list[list[_Token]]:
    """The line's fields, each a list of tokens (a comma list has several)."""
    fields: list[list[_Token]] = []
    pos = 0
    while pos < len(text):
        current: list[_Token] = []
        while True:
            token, pos, comma = _next_token(text, pos)
            if token is None:
                break
            current.append(token)
            if not comma:
                break
        if not current:
            break
        fields.append(current)
    return fields


def hba_quote(name: str) -> str:
    """A database or role name as a pg_hba token: quoted when it would otherwise be read as a
    keyword, a +group, an @file, a regular expression, or split at a blank/comma/#."""
    if (
        not name
        or name in KEYWORDS
        or name[0] in "+@/"
        or _NEEDS_QUOTES.search(name)
        or not name.isprintable()
    ):
        return '"' + name.replace('"', '""') + '"'
    return name


# What a database/user token means: ("kw", all|sameuser|...), ("group", g), ("file", f),
# ("regex", r) or ("name", n).
_Meaning = tuple[str, str]


def _meaning(token: _Token) -> _Meaning:
    if token.quoted:
        return ("name", token.value)
    if token.value in KEYWORDS:
        return ("kw", token.value)
    if token.value.startswith("+"):
        return ("group", token.value[1:])
    if token.value.startswith("@"):
        return ("file", token.value[1:])
    if token.value.startswith("/"):  # PostgreSQL 16 regular expression
        return ("regex", token.value[1:])
    return ("name", token.value)


def _meanings(raw_tokens: Sequence[str]) -> tuple[_Meaning, ...]:
    found: list[_Meaning] = []
    for raw in raw_tokens:
        for field_tokens in _fields(raw):
            found += [_meaning(t) for t in field_tokens]
    return tuple(found)


# -- rules -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HbaRule:
    """One rule. ``databases``/``users`` hold tokens as written (``all``, ``+group``,
    ``"quoted name"``: use :func:`hba_quote` for arbitrary names); ``address`` is CIDR text
    (``10.0.0.0/8``, ``::1/128``), ``all``/``samehost``/``samenet`` or a host name, None for
    ``local``. A parsed address + netmask pair is given here as CIDR. ``line`` (1-based, first
    physical line) is set on parsed rules and ignored by ``==``."""

    conn_type: str
    databases: tuple[str, ...]
    users: tuple[str, ...]
    address: str | None
    method: str
    options: tuple[str, ...] = ()
    line: int | None = field(default=None, compare=False)

    def to_line(self) -> str:
        """The rule in the column layout of PostgreSQL's sample file."""
        cols = [
            (self.conn_type, 8),
            (",".join(self.databases), 16),
            (",".join(self.users), 16),
            (self.address or "", 24),
        ]
        text = "".join(value.ljust(width - 1) + " " for value, width in cols)
        return " ".join([text + self.method, *self.options]).rstrip()

    def key(self) -> tuple[object, ...]:
        """What PostgreSQL would do with the rule, ignoring spelling (quotes, spacing, order of
        list items, address + netmask vs CIDR)."""
        return (
            self.conn_type,
            tuple(sorted(_meanings(self.databases))),
            tuple(sorted(_meanings(self.users))),
            _address_key(self.address),
            self.method,
            tuple(sorted(self.options)),
        )

    def same_as(self, other: HbaRule) -> bool:
        return self.key() == other.key()


def _address_key(address: str | None) -> str | None:
    if address is None:
        return None
    net = _network(address)
    if net is not None:
        return str(net)
    return address.lower()


def _network(address: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    if "/" not in address:
        return None
    try:
        # PostgreSQL masks the host bits (10.1.2.3/8 matches like 10.0.0.0/8).
        return ipaddress.ip_network(address, strict=False)
    except ValueError:
        return None


# -- the lines of the file -----------------------------------------------------------------------


@dataclass(frozen=True)
class HbaEntry:
    """One logical line: physical lines ``start`` .. ``end`` - 1 (more than one when continued
    with a backslash)."""

    start: int
    end: int
    kind: str  # "blank" | "comment" | "rule" | "include" | "error"
    rule: HbaRule | None = None
    include: tuple[str, str] | None = None  # (include kind, path)
    error: str | None = None

    @property
    def line(self) -> int:
        return self.start + 1


def _parse_logical(text: str, start: int, end: int) -> HbaEntry:
    fields = _fields(text)
    if not fields:
        return HbaEntry(start, end, "comment" if text.strip(_BLANK) else "blank")

    def error(detail: str) -> HbaEntry:
        return HbaEntry(start, end, "error", error=detail)

    first = fields[0]
    if len(first) == 1 and first[0].value in INCLUDE_KINDS:
        if len(fields) != 2 or len(fields[1]) != 1:
            return error(f'invalid syntax for "{first[0].value}"')
        return HbaEntry(start, end, "include", include=(first[0].value, fields[1][0].value))
    if len(first) > 1:
        return error("multiple values specified for connection type")
    conn_type = first[0].value
    if conn_type not in CONN_TYPES:
        return error(f'invalid connection type "{conn_type}"')
    if len(fields) < 2:
        return error("end-of-line before database specification")
    if len(fields) < 3:
        return error("end-of-line before role specification")
    databases = tuple(t.raw for t in fields[1])
    users = tuple(t.raw for t in fields[2])
    index = 3
    address: str | None = None
    if conn_type != "local":
        if len(fields) <= index:
            return error("end-of-line before IP address specification")
        if len(fields[index]) > 1:
            return error("multiple values specified for host address")
        token = fields[index][0]
        index += 1
        value = token.value
        if value in ADDRESS_KEYWORDS or ("/" not in value and not is_ip(value)):
            address = value  # keyword or host name (".example.com" matches a suffix)
        elif "/" in value:
            if _network(value) is None:
                return error(f'invalid IP address "{value}"')
            address = value
        else:
            if len(fields) <= index:
                return error("end-of-line before netmask specification")
            mask = fields[index][0].value
            index += 1
            try:
                net = ipaddress.ip_network(f"{value}/{mask}", strict=False)
            except ValueError:
                return error(f'invalid IP mask "{mask}"')
            address = f"{value}/{net.prefixlen}"
    if len(fields) <= index:
        return error("end-of-line before authentication method")
    if len(fields[index]) > 1:
        return error("multiple values specified for authentication type")
    method = fields[index][0].value
    if method not in METHODS:
        return error(f'invalid authentication method "{method}"')
    options: list[str] = []
    for option_field in fields[index + 1 :]:
        for token in option_field:
            if "=" not in token.value:
                return error(f'authentication option not in name=value format: "{token.value}"')
        options.append(",".join(t.raw for t in option_field))
    rule = HbaRule(conn_type, databases, users, address, method, tuple(options), line=start + 1)
    return HbaEntry(start, end, "rule", rule=rule)


def is_ip(value: str) -> bool:
    """An IP address literal (v4 or v6), not a host name nor a network."""
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


# -- matching ------------------------------------------------------------------------------------


def _covers_names(theirs: Sequence[_Meaning], ours: Sequence[_Meaning], *, databases: bool) -> int:
    """Does the existing list catch every one of our names? (YES / MAYBE / NO)"""
    answer = YES
    for mine in ours:
        best = NO
        for kind, value in theirs:
            if kind == "kw" and value == "all":
                got = NO if mine == ("kw", "replication") else YES
            elif kind == "kw" and value == "replication":
                got = YES if mine == ("kw", "replication") else NO
            elif kind == "kw":  # sameuser / samerole / samegroup: depends on the role
                got = NO if mine == ("kw", "replication") else MAYBE
            elif kind == "group" and not databases:
                # A role is a member of itself; membership of others is unknown here.
                got = YES if mine == ("name", value) else (MAYBE if mine[0] == "name" else NO)
            elif kind in ("file", "regex", "group"):
                got = MAYBE
            else:
                got = YES if mine == (kind, value) else NO
            best = max(best, got)
        answer = min(answer, best)
    return answer


def _covers_address(theirs: str | None, ours: str | None) -> int:
    if theirs is None or ours is None:
        return YES if theirs == ours else NO
    if theirs == "all":
        return YES
    if theirs in ("samehost", "samenet"):
        return MAYBE  # depends on this server's own addresses: assume it may catch ours
    their_net, our_net = _network(theirs), _network(ours)
    if their_net is None:  # a host name: resolved per connection
        return YES if theirs.lower() == ours.lower() else MAYBE
    if our_net is None:
        return NO if ours == "all" else MAYBE
    if their_net.version != our_net.version:
        return NO
    return YES if our_net.subnet_of(their_net) else NO  # type: ignore[arg-type]


def _overlaps_address(theirs: str | None, ours: str | None) -> bool:
    their_net = _network(theirs) if theirs else None
    our_net = _network(ours) if ours else None
    if their_net is not None and our_net is not None:
        return their_net.version == our_net.version and their_net.overlaps(our_net)  # type: ignore[arg-type]
    return (theirs is None) == (ours is None)


def _overlaps_names(theirs: Sequence[_Meaning], ours: Sequence[_Meaning]) -> bool:
    for mine in ours:
        for kind, value in theirs:
            if (kind, value) == mine or mine[0] != "name" or kind != "name":
                return True
    return False


def _catches(existing: HbaRule, kinds: frozenset[str], ours: HbaRule) -> int:
    """YES/MAYBE when ``existing`` catches every connection ``ours`` is meant for."""
    if not kinds <= _ACCEPTS[existing.conn_type]:
        return NO
    return min(
        _covers_names(_meanings(existing.databases), _meanings(ours.databases), databases=True),
        _covers_names(_meanings(existing.users), _meanings(ours.users), databases=False),
        _covers_address(existing.address, ours.address),
    )


def _overlaps(existing: HbaRule, ours: HbaRule) -> bool:
    return (
        bool(_ACCEPTS[existing.conn_type] & _ACCEPTS[ours.conn_type])
        and _overlaps_names(_meanings(existing.databases), _meanings(ours.databases))
        and _overlaps_names(_meanings(existing.users), _meanings(ours.users))
        and _overlaps_address(existing.address, ours.address)
    )


# -- the file --------------------------------------------------------------------------------------


class HbaPosition(NamedTuple):
    line: int | None  # 1-based line of the rule in the new file (None after a removal)
    reason: str  # "present" | "before" (inserted in front of a shadowing line) | "end"
    before: HbaEntry | None  # the line (old numbering) we inserted in front of
    overlaps: tuple[HbaRule, ...]  # earlier rules that catch SOME of our connections


class HbaEdit(NamedTuple):
    file: HbaFile
    changed: bool
    position: HbaPosition


class HbaFile:
    def __init__(self, text: TextFile) -> None:
        self.text = text
        self.path = text.path
        self.entries: tuple[HbaEntry, ...] = tuple(self._parse())

    def _parse(self) -> list[HbaEntry]:
        entries: list[HbaEntry] = []
        lines = self.text.texts
        i = 0
        while i < len(lines):
            start = i
            pieces: list[str] = []
            while True:
                piece = lines[i].rstrip("\r")
                i += 1
                # PostgreSQL 16: a backslash at the very end continues the line.
                if piece.endswith("\\") and i < len(lines):
                    pieces.append(piece[:-1])
                    continue
                pieces.append(piece)
                break
            entries.append(_parse_logical("".join(pieces), start, i))
        return entries

    @classmethod
    def from_bytes(
        cls, data: bytes, path: Path | str | None = None, *, encoding: str | None = None
    ) -> HbaFile:
        return cls(TextFile.from_bytes(data, Path(path) if path is not None else None, encoding))

    @classmethod
    def read(cls, path: Path | str, *, encoding: str | None = None) -> HbaFile:
        return cls(TextFile.read(Path(path), encoding))

    def to_bytes(self) -> bytes:
        return self.text.to_bytes()

    def rules(self) -> list[HbaRule]:
        return [e.rule for e in self.entries if e.rule is not None]

    @property
    def errors(self) -> list[HbaEntry]:
        return [e for e in self.entries if e.kind == "error"]

    # -- queries -------------------------------------------------------------------------------

    def first_match(
        self,
        conn_type: str,
        database: str,
        user: str,
        address: str,
        *,
        replication: bool = False,
    ) -> HbaRule | None:
        """The rule PostgreSQL would pick for a TCP connection (``conn_type`` "ssl" or
        "nossl"). Things this file alone cannot decide (+group membership, @file, samehost,
        samenet, host names, regular expressions) count as a match: the answer is the first
        rule that may catch the connection. PG16 include lines are not followed."""
        if conn_type not in ("ssl", "nossl"):
            raise ValueError("conn_type must be 'ssl' or 'nossl'")
        ip = ipaddress.ip_address(address)
        probe = HbaRule(
            "host",
            ("replication",) if replication else (hba_quote(database),),
            (hba_quote(user),),
            f"{ip}/{ip.max_prefixlen}",
            "trust",
        )
        for rule in self.rules():
            if _catches(rule, frozenset({conn_type}), probe) != NO:
                return rule
        return None

    # -- edits ---------------------------------------------------------------------------------

    def _marked(self, entry: HbaEntry) -> bool:
        return entry.start > 0 and self.text.lines[entry.start - 1].text.startswith(MARKER)

    def ensure_rule(
        self,
        rule: HbaRule,
        *,
        label: str = "rule",
        today: date | None = None,
        ahead_of_overlapping_accepts: bool = False,
    ) -> HbaEdit:
        """Make sure connections meant for ``rule`` reach it.

        An equal rule that no earlier rule shadows -> unchanged. Otherwise the rule (with a
        ``# fdw-wizard: <label> (added <date>)`` line above it) goes in front of the first rule
        that would catch all of its connections (a reject or a broader/equal rule; unknowns
        such as +group or samenet count as catching; a PG16 include line too), moving above the
        comment lines directly attached to that rule; else it is appended at the end.

        ``ahead_of_overlapping_accepts``: also go in front of a rule that accepts only SOME of
        our connections (e.g. ``host all all 127.0.0.1/32``), so that a stricter rule for one
        role (TLS only) governs all of that role's connections. An operator's partial
        ``reject`` is still respected (we stay behind it).
        """
        _validate(rule)
        kinds = _ACCEPTS[rule.conn_type]
        overlaps: list[HbaRule] = []
        target: HbaEntry | None = None
        for entry in self.entries:
            if entry.kind == "include":
                target = entry
                break
            if entry.rule is None:
                continue
            if entry.rule.same_as(rule):
                return HbaEdit(
                    self, False, HbaPosition(entry.line, "present", None, tuple(overlaps))
                )
            if _catches(entry.rule, kinds, rule) != NO:
                target = entry
                break
            if _overlaps(entry.rule, rule):
                if ahead_of_overlapping_accepts and entry.rule.method != "reject":
                    target = entry
                    break
                overlaps.append(entry.rule)
        stamp = (today or date.today()).isoformat()
        comment = f"{MARKER} {_ascii(label)} (added {stamp})"
        if target is None:
            at = len(self.text)
            reason = "end"
        else:
            at = target.start
            # Keep a rule's own comment lines with it: go above them.
            while at > 0 and self._is_comment_line(at - 1):
                at -= 1
            reason = "before"
        new_text = self.text.insert(at, [comment, rule.to_line()])
        new = HbaFile(new_text)
        return HbaEdit(new, True, HbaPosition(at + 2, reason, target, tuple(overlaps)))

    def _is_comment_line(self, index: int) -> bool:
        for entry in self.entries:
            if entry.start <= index < entry.end:
                return entry.kind == "comment" and entry.end - entry.start == 1
        return False

    def remove_rule(self, rule: HbaRule, *, only_marked: bool = False) -> tuple[HbaFile, bool]:
        """Undo of :meth:`ensure_rule`: remove the rule and the marker line above it. When
        copies carry our marker only those go; otherwise (unless ``only_marked``) every equal
        rule goes. Nothing else changes."""
        equal = [e for e in self.entries if e.rule is not None and e.rule.same_as(rule)]
        marked = [e for e in equal if self._marked(e)]
        chosen = marked or ([] if only_marked else equal)
        if not chosen:
            return self, False
        drop: list[int] = []
        for entry in chosen:
            drop += range(entry.start, entry.end)
            if self._marked(entry):
                drop.append(entry.start - 1)
        return HbaFile(self.text.delete(drop)), True


def _ascii(text: str) -> str:
    cleaned = text.encode("ascii", "replace").decode("ascii").replace("\\", "/")
    return " ".join(cleaned.split())


def _validate(rule: HbaRule) -> None:
    """Refuse a rule that would not read back as the same rule."""

    def fail(detail: str) -> InvalidHbaRule:
        return InvalidHbaRule(
            Message("pgfiles.err.bad_rule", {"rule": rule.to_line(), "detail": detail})
        )

    if rule.conn_type not in CONN_TYPES:
        raise fail(f"connection type {rule.conn_type!r}")
    if (rule.conn_type == "local") != (rule.address is None):
        raise fail("address")
    address = rule.address
    if (
        address is not None
        and address not in ADDRESS_KEYWORDS
        and _network(address) is None
        and ("/" in address or is_ip(address))
    ):
        raise fail(f"address {rule.address!r} (use CIDR, e.g. 203.0.113.5/32)")
    if not rule.databases or not rule.users:
        raise fail("empty database or user list")
    if "\n" in rule.to_line():
        raise fail("newline")
    parsed = _parse_logical(rule.to_line(), 0, 1)
    if parsed.rule is None:
        raise fail(parsed.error or "syntax")
    if not parsed.rule.same_as(rule) or len(parsed.rule.databases) != len(rule.databases):
        raise fail("it would read back differently")
