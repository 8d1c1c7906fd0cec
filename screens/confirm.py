"""Confirmation modals: anything that restarts the server, opens the network, deletes or weakens
a default asks first; deleting data asks for a typed word."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, cast

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from screens.common import KeyBar, LanguageChanged, say
from screens.plan_view import plan_text
from wizard.engine import Plan, Risk, Step
from wizard.i18n import t

if TYPE_CHECKING:
    from screens.app import WizardApp
    from wizard.undo_preview import UndoPreview


def confirm_word(step: Step, plan: Plan, mode: str) -> str | None:
    """The word the operator must type, or None for a yes/no. A step may name its own
    (``confirm_word``); any other deletion of data asks for the catalog's word."""
    if mode != "apply":
        return None
    from wizard.cleanup_flow import own_word

    word = own_word(step, plan)  # the word the step itself checks
    if word is not None:
        return word
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
        # Undo: what it will restore, read by the engine before the question can be answered.
        self.preview: UndoPreview | None = None
        self.preview_pending = mode == "undo"

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
        if self.mode == "undo":
            self._read_preview()

    def _read_preview(self) -> None:
        step = self.step

        def task(engine: Any, worker: Any) -> UndoPreview:
            from wizard.undo_preview import preview

            ctx, runner = engine.ensure()
            return preview(ctx, step, list(runner.steps))

        def done(result: Any, error: BaseException | None) -> None:
            self.preview_pending = False
            self.preview = result if error is None else None
            if self.is_attached:
                self.refresh_texts()

        app = cast("WizardApp", self.app)
        if not app.run_task(t("undo.preview.running"), task, done):
            self.preview_pending = False  # the general note instead
            self.refresh_texts()

    @on(LanguageChanged)
    def refresh_texts(self) -> None:
        title = say(self.step.title)
        key = {"undo": "tui.confirm.undo_title", "manual": "tui.confirm.manual_title"}.get(
            self.mode, "tui.confirm.title"
        )
        self.query_one("#question", Static).update(t(key, step=title))
        risks = Text()
        for risk in sorted(r.value for r in self.plan.risks):
            risks.append("[!!] " + t("tui.risk." + risk) + "\n")
        if self.mode == "undo" and self.preview is None:
            risks.append(t("tui.confirm.undo_note") + "\n")
        if self.mode == "manual":
            risks.append(say(self.step.explanation) + "\n\n" + t("tui.confirm.manual_note") + "\n")
        self.query_one("#risks", Static).update(risks)
        plan = self.query_one("#plan", Static)
        if self.mode == "apply":
            plan.update(plan_text(self.plan.to_json()))
        elif self.mode == "undo" and (self.preview is not None or self.preview_pending):
            plan.update(self._preview_text())
            plan.display = True
        else:
            plan.display = False
        if self.word is not None:
            self.query_one("#word-prompt", Static).update(
                t("tui.confirm.type_word", word=self.word)
            )
        self.query_one(KeyBar).refresh_texts()

    def _preview_text(self) -> Text:
        text = Text(t("undo.preview.title") + "\n", style="bold")
        if self.preview is None:
            text.append("  ...\n")
            return text
        for line in self.preview.messages():
            text.append("  - " + say(line) + "\n")
        return text

    def action_yes(self) -> None:
        if self.preview_pending:
            return  # not before the operator can read what undo will restore
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
