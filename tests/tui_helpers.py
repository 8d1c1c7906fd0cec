"""Helpers for the TUI tests: drive a Pilot until the engine is idle, answering the
confirmation modals the way an operator would; read what the screen shows as plain text."""

from __future__ import annotations

import time
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Static

from screens.app import WizardApp
from screens.confirm import ConfirmScreen


def screen_text(app: WizardApp) -> str:
    """Every Static's content on the current screen (what the operator reads)."""
    parts: list[str] = []
    for widget in app.screen.query("*"):
        if widget.border_title:
            parts.append(str(widget.border_title))
        if isinstance(widget, Static):
            content = widget.render()
            parts.append(str(getattr(content, "plain", content)))
    return "\n".join(parts)


async def idle(
    pilot: Pilot[Any], *, answer: str | None = "y", word: str | None = None, timeout: float = 90
) -> list[str]:
    """Pause until no engine run is going; answer each confirmation modal on the way
    (``answer`` key, or ``word`` typed + Enter). Returns the ids of the confirmed steps."""
    app = pilot.app
    assert isinstance(app, WizardApp)
    confirmed: list[str] = []
    deadline = time.monotonic() + timeout
    await pilot.pause()
    while time.monotonic() < deadline:
        await pilot.pause(0.05)
        screen = app.screen
        if isinstance(screen, ConfirmScreen) and screen.is_active:
            confirmed.append(screen.step.id)
            if screen.word is not None and word is not None:
                await pilot.press(*word, "enter")
            elif answer is not None:
                await pilot.press(answer)
            else:
                return confirmed
            continue
        if not app.busy:
            break
    else:
        raise AssertionError(f"still busy after {timeout} s: {app.busy_label}")
    await app.workers.wait_for_complete()
    await pilot.pause()
    return confirmed
