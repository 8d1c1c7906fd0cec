"""Confirmation modals: anything that restarts the server, opens the network, deletes or weakens
a default asks first; deleting data asks for a typed word."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from screens.common import KeyBar, say
from screens.plan_view import plan_text
from wizard.engine import Plan, Risk, Step
from wizard.i18n import t


def confirm_word(step: Step, plan: Plan, mode: str) -> str | None:
    """The word the operator must type, or None for a yes/no. A step may name its own
    (``confirm_word``); any other deletion of data asks for the catalog's word."""
    if mode != "apply":
        return None
    if step.id.startswith("cleanup."):
        from screens.common import optional_module

        cleanup = optional_module("wizard.steps.cleanup")
        if cleanup is not None and Risk.DELETE in plan.risks:
            return str(cleanup.confirm_word())  # the word the step itself checks
    if Risk.DELETE in plan.risks:
        return t("tui.confirm.word")
    return None


class ConfirmScreen(ModalScreen[bool]):
    CSS_PATH = "confirm.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "yes", show=False),
        Binding("s", "yes", show=False),  # "sim"
        Binding("n", "no", show=False),
        Binding("escape", "no", show=False),
    ]

    def __init__(self, step: Step, plan: Plan, mode: str = "apply") -> None:
        super().__init__()
        self.step = step
        self.plan = plan
        self.mode = mode
        self.word = confirm_word(step, plan, mode)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(markup=False, id="question", classes="title")
            yield Static(markup=False, id="risks")
            yield Static(markup=False, id="plan")
            if self.word is not None:
                yield Static(markup=False, id="word-prompt")
                yield Input(id="word")
                yield Static(markup=False, id="word-error", classes="error")
            yield KeyBar(self._keys(), id="keys")

    def _keys(self) -> list[tuple[str, str]]:
        if self.word is not None:
            return [("Enter", "tui.key.confirm_typed"), ("Esc", "tui.key.cancel")]
        return [("y/s", "tui.key.yes"), ("n/Esc", "tui.key.no")]

    def on_mount(self) -> None:
        self.refresh_texts()
        if self.word is not None:
            self.query_one("#word", Input).focus()

    def refresh_texts(self) -> None:
        title = say(self.step.title)
        key = {"undo": "tui.confirm.undo_title", "manual": "tui.confirm.manual_title"}.get(
            self.mode, "tui.confirm.title"
        )
        self.query_one("#question", Static).update(t(key, step=title))
        risks = Text()
        for risk in sorted(r.value for r in self.plan.risks):
            risks.append("[!!] " + t("tui.risk." + risk) + "\n")
        if self.mode == "undo":
            risks.append(t("tui.confirm.undo_note") + "\n")
        if self.mode == "manual":
            risks.append(say(self.step.explanation) + "\n\n" + t("tui.confirm.manual_note") + "\n")
        self.query_one("#risks", Static).update(risks)
        if self.mode == "apply":
            self.query_one("#plan", Static).update(plan_text(self.plan.to_json()))
        else:
            self.query_one("#plan", Static).display = False
        if self.word is not None:
            self.query_one("#word-prompt", Static).update(
                t("tui.confirm.type_word", word=self.word)
            )
        self.query_one(KeyBar).refresh_texts()

    def action_yes(self) -> None:
        if self.word is None:
            self.dismiss(True)

    def action_no(self) -> None:
        self.dismiss(False)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if self.word is not None and event.value.strip() == self.word:
            self.dismiss(True)
        else:
            self.query_one("#word-error", Static).update(
                t("tui.confirm.wrong_word", word=self.word)
            )
