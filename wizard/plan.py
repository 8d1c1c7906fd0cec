"""What a step says: its status (``CheckResult``), the changes it would make (``Plan`` and its
actions), what it did (``ApplyResult``), and the risks that make a plan ask first.

Plain data, no I/O: the engine, the CLI, the TUI and the export all read these. Secrets that an
action may hold (a SCRAM verifier, a user-mapping password) only leave through
:func:`wizard.redact.redact`. ``wizard.engine`` re-exports every name here.
"""

from __future__ import annotations

import difflib
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from wizard.i18n import Message
from wizard.redact import redact


class Status(StrEnum):
    DONE = "done"  # the target state holds
    PENDING = "pending"  # not done yet; apply would change something
    FAILED = "failed"  # a check, apply or verify failed
    BLOCKED = "blocked"  # a prerequisite is not done, so this step was not run
    MANUAL = "manual"  # only the operator can do it (guidance given)
    NOT_APPLICABLE = "n/a"  # does not apply to this site
    SKIPPED = "skipped"  # the operator declined or the run stopped before it


class Risk(StrEnum):
    """What makes a plan need an explicit confirmation."""

    RESTART = "restart"  # restarts or reloads the server
    NETWORK = "network"  # opens the server to other machines
    DELETE = "delete"  # deletes data or objects
    SECURITY = "security"  # weakens a default on purpose (e.g. anon mapping, public schema)
    DW = "dw"  # creates objects in the operator's DW that its ETL then maintains


# ---------------------------------------------------------------------------------------------
# Check results and plans


@dataclass
class CheckResult:
    status: Status
    message: Message
    details: list[Message] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass
class FileEdit:
    """Replace a file's bytes. ``before`` None means the file is created."""

    path: Path
    before: bytes | None
    after: bytes
    description: Message
    encoding: str = "utf-8"

    def diff(self) -> str:
        old = (self.before or b"").decode(self.encoding, errors="replace").splitlines(True)
        new = self.after.decode(self.encoding, errors="replace").splitlines(True)
        name = str(self.path)
        text = "".join(difflib.unified_diff(old, new, name, name + " (new)"))
        return redact(text)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": "file",
            "path": str(self.path),
            "description": self.description.to_json(),
            "diff": self.diff(),
        }


@dataclass
class SqlAction:
    """One SQL statement, run where ``target`` says ('local' or 'supabase').

    ``sql`` may embed a secret (a SCRAM verifier, a user-mapping password); it is only ever
    shown or stored through :func:`wizard.redact.redact`.
    """

    target: str
    sql: str
    description: Message

    def display(self) -> str:
        return redact(self.sql)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": "sql",
            "target": self.target,
            "sql": self.display(),
            "description": self.description.to_json(),
        }


@dataclass
class CommandAction:
    """An OS command. Secrets never go on a command line, so argv is shown as is."""

    argv: list[str]
    description: Message

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": "command",
            "argv": [redact(a) for a in self.argv],
            "description": self.description.to_json(),
        }


@dataclass
class GeneratedFile:
    """A file whose content apply generates (a private key: never shown, never stored)."""

    path: Path
    description: Message
    mode: int = 0o600

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": "generate",
            "path": str(self.path),
            "mode": oct(self.mode),
            "description": self.description.to_json(),
        }


@dataclass
class NoteAction:
    """Something the plan wants the operator to know or do (no effect by itself)."""

    description: Message

    def to_json(self) -> dict[str, Any]:
        return {"kind": "note", "description": self.description.to_json()}


Action = FileEdit | SqlAction | CommandAction | GeneratedFile | NoteAction


@dataclass
class Plan:
    step_id: str
    actions: list[Action] = field(default_factory=list)
    risks: set[Risk] = field(default_factory=set)
    warnings: list[Message] = field(default_factory=list)

    @property
    def changes_something(self) -> bool:
        return any(not isinstance(a, NoteAction) for a in self.actions)

    def to_json(self) -> dict[str, Any]:
        return {
            "step": self.step_id,
            "actions": [a.to_json() for a in self.actions],
            "risks": sorted(r.value for r in self.risks),
            "warnings": [w.to_json() for w in self.warnings],
        }


@dataclass
class ApplyResult:
    changes: list[Message] = field(default_factory=list)
    backups: list[str] = field(default_factory=list)
    # What did not change, and why (e.g. "kept: changed since the wizard wrote it").
    notes: list[Message] = field(default_factory=list)
    # An undo that left part of its change in place on purpose: the operator must look.
    incomplete: bool = False


# ---------------------------------------------------------------------------------------------
# Riskier values of a step's settings (declared by the step, shown where the value is chosen)


@dataclass(frozen=True)
class SettingRisk:
    """A value of one of the step's settings that is riskier than the default (often the
    runbook's literal choice): the kind of risk it brings and the note the operator reads
    while choosing it (the catalogs' ``tui.settings.warn.<note>``)."""

    key: str  # config key, as in fdw-wizard.yaml (e.g. fdw.target_schema)
    risk: Risk
    note: str
    when: Callable[[Any], bool]

    def applies(self, value: Any) -> bool:
        return bool(self.when(value))


def is_value(wanted: Any) -> Callable[[Any], bool]:
    """The setting is exactly ``wanted`` (``False`` is not ``0``)."""
    return lambda value: type(value) is type(wanted) and value == wanted


def has_item(item: str) -> Callable[[Any], bool]:
    """The list setting holds ``item``."""
    return lambda value: isinstance(value, list) and item in value


def _whole_internet(value: Any) -> bool:
    try:
        return ipaddress.ip_network(str(value), strict=False).prefixlen == 0
    except ValueError:
        return False


def any_open_network(value: Any) -> bool:
    """The list of networks holds one that is the whole Internet (0.0.0.0/0, ::/0)."""
    return isinstance(value, list) and any(_whole_internet(v) for v in value)
