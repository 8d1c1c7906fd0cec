"""Status symbols and words: ASCII only (legacy conhost), never colour alone (NO_COLOR)."""

from __future__ import annotations

from wizard.engine import Status
from wizard.i18n import t

# Pseudo-statuses the TUI shows before/while the engine reports.
UNKNOWN = "unknown"
RUNNING = "running"
CHECKING = "checking"  # the last action may have changed it: being re-checked

# The markers every screen puts before a line. Every screen takes them from here.
OK_MARK = "[OK]"  # done, or a check that passed
PENDING_MARK = "[..]"  # still to do / waiting
ERROR_MARK = "[XX]"  # failed, or an error under a field
WARN_MARK = "[!!]"  # a risk, a warning, a manual task
NA_MARK = "[na]"  # does not apply
UNKNOWN_MARK = "[??]"  # a status this table does not know

SYMBOL: dict[str, str] = {
    Status.DONE.value: OK_MARK,
    Status.PENDING.value: PENDING_MARK,
    Status.FAILED.value: ERROR_MARK,
    Status.BLOCKED.value: "[--]",
    Status.MANUAL.value: WARN_MARK,
    Status.NOT_APPLICABLE.value: NA_MARK,
    Status.SKIPPED.value: "[>>]",
    UNKNOWN: "[  ]",
    RUNNING: "[**]",
    CHECKING: "[~~]",
}


def symbol(status: str) -> str:
    """The marker of a status (a phase's, a step's, a pseudo-status)."""
    return SYMBOL.get(status, UNKNOWN_MARK)


# Rich style per status (an extra hint only: the symbol and the word carry the meaning).
STYLE: dict[str, str] = {
    Status.DONE.value: "green",
    Status.PENDING.value: "yellow",
    Status.FAILED.value: "bold red",
    Status.BLOCKED.value: "dim",
    Status.MANUAL.value: "magenta",
    Status.NOT_APPLICABLE.value: "dim",
    Status.SKIPPED.value: "dim",
    UNKNOWN: "",
    RUNNING: "bold cyan",
    CHECKING: "italic",
}


def status_word(status: str) -> str:
    if status == UNKNOWN:
        return t("tui.status.unknown")
    if status == RUNNING:
        return t("tui.status.running")
    if status == CHECKING:
        return t("tui.status.checking")
    return t("status." + status)


def status_label(status: str) -> str:
    """``[OK] done`` — the symbol and the word, in the current language."""
    return f"{symbol(status)} {status_word(status)}"
