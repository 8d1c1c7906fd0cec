"""Status symbols and words: ASCII only (legacy conhost), never colour alone (NO_COLOR)."""

from __future__ import annotations

from wizard.engine import Status
from wizard.i18n import t

# Pseudo-statuses the TUI shows before/while the engine reports.
UNKNOWN = "unknown"
RUNNING = "running"
CHECKING = "checking"  # the last action may have changed it: being re-checked

SYMBOL: dict[str, str] = {
    Status.DONE.value: "[OK]",
    Status.PENDING.value: "[..]",
    Status.FAILED.value: "[XX]",
    Status.BLOCKED.value: "[--]",
    Status.MANUAL.value: "[!!]",
    Status.NOT_APPLICABLE.value: "[na]",
    Status.SKIPPED.value: "[>>]",
    UNKNOWN: "[  ]",
    RUNNING: "[**]",
    CHECKING: "[~~]",
}

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
    return f"{SYMBOL.get(status, '[??]')} {status_word(status)}"
