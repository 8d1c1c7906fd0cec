"""Troubleshooting: from an error (prefilled from a failed step) or a symptom to the likely
causes, most likely first, with evidence and fixes; "fix it" jumps to the step that fixes it.
Runs ``wizard.diagnose.diagnose`` in the engine worker (its probes touch the network)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from screens.common import WizardScreen, optional_module, say
from screens.keys import BACK, LANGUAGE, key, key_table
from wizard.i18n import Message, t


def symptom_entries(symptoms: Any) -> list[tuple[str, str]]:
    """(id, label) for whatever shape ``SYMPTOMS`` has: a mapping id -> Message/str, or a
    sequence of ids or of objects with ``id`` and ``title``/``message``/``label``."""
    entries: list[tuple[str, str]] = []
    items: Iterable[Any] = symptoms.items() if isinstance(symptoms, dict) else symptoms or ()
    for item in items:
        if isinstance(item, tuple) and len(item) == 2:
            ident, label = item
        elif isinstance(item, str):
            ident, label = item, None
        else:
            ident = getattr(item, "id", None)
            label = next(
                (
                    getattr(item, a)
                    for a in ("title", "message", "label", "description")
                    if getattr(item, a, None) is not None
                ),
                None,
            )
        if not isinstance(ident, str):
            continue
        if isinstance(label, Message):
            text = say(label)
        elif isinstance(label, str):
            text = label
        else:
            text = ident
        entries.append((ident, text))
    return entries


class TroubleshootScreen(WizardScreen):
    CSS_PATH = "troubleshoot.tcss"
    KEYS, BINDINGS = key_table(
        key("Enter", "tui.key.diagnose"),
        key("Tab", "tui.key.next_field"),
        key("f", "tui.key.fix_it", ("f", "fix_it")),
        BACK,
        LANGUAGE,
    )

    def __init__(self, step_id: str | None = None, error: str | None = None) -> None:
        super().__init__()
        self.step_id = step_id
        self.error = error
        self.sqlstate: str | None = None
        self.results: list[Any] | None = None
        self.failure: str | None = None
        self.module = optional_module("wizard.diagnose")

    def compose(self) -> ComposeResult:
        yield Static(markup=False, id="title", classes="title")
        yield Input(id="error")
        yield OptionList(id="symptoms")
        with VerticalScroll(id="body"):
            yield Static(markup=False, id="results", classes="panel")
        yield OptionList(id="fixes")
        yield self.key_bar()

    def on_mount(self) -> None:
        app = self.wapp
        if self.step_id is not None and self.error is None:
            outcome = app.outcomes.get(self.step_id)
            message = app.messages.get(self.step_id)
            if outcome is not None and outcome.error:
                self.error = _without_exception_name(outcome.error)
            elif message is not None:
                self.error = say(message)
            if outcome is not None:
                state = outcome.facts.get("sqlstate")
                self.sqlstate = state if isinstance(state, str) else None
        self.query_one("#error", Input).value = self.error or ""
        self.query_one("#fixes", OptionList).display = False
        self.refresh_texts()
        if self.error and self.module is not None and app.auto_probe:
            self.run_diagnosis(error=self.error)
            self.query_one("#body").focus()
        elif self.error:
            self.query_one("#body").focus()
        else:
            self.query_one("#symptoms", OptionList).focus()

    def refresh_texts(self) -> None:
        super().refresh_texts()
        self.query_one("#title", Static).update(t("tui.trouble.title"))
        error_input = self.query_one("#error", Input)
        error_input.placeholder = t("tui.trouble.error_placeholder")
        error_input.border_title = t("tui.trouble.error_label")
        symptoms = self.query_one("#symptoms", OptionList)
        symptoms.border_title = t("tui.trouble.symptoms")
        highlighted = symptoms.highlighted
        symptoms.clear_options()
        if self.module is not None:
            entries = symptom_entries(getattr(self.module, "SYMPTOMS", ()))
            symptoms.add_options([Option(label, id=ident) for ident, label in entries])
            symptoms.highlighted = highlighted if highlighted is not None else 0
        else:
            symptoms.display = False
        self._render_results()

    # -- diagnosis -------------------------------------------------------------------------------

    def on_input_submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if text:
            self.run_diagnosis(error=text)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option_list.id == "symptoms" and event.option.id:
            self.run_diagnosis(symptom=event.option.id)
        elif event.option_list.id == "fixes" and event.option.id:
            self._fix(event.option.id)

    def run_diagnosis(self, *, error: str | None = None, symptom: str | None = None) -> None:
        module = self.module
        if module is None:
            self._render_results()
            return
        sqlstate = self.sqlstate if error == self.error else None

        step_id = self.step_id

        def task(engine: Any, worker: Any) -> Any:
            ctx, _ = engine.ensure()
            return module.diagnose(
                ctx, error=error, sqlstate=sqlstate, symptom=symptom, step_id=step_id
            )

        def done(result: Any, failure: BaseException | None) -> None:
            if failure is not None:
                self.failure = say(getattr(failure, "message", None) or str(failure))
                self.results = None
            else:
                self.failure = None
                self.results = list(result or [])  # diagnose() orders them, most likely first
            self._render_results()

        self.results = None
        self.failure = None
        if self.wapp.run_task(t("tui.run.diagnose"), task, done):
            self.query_one("#results", Static).update(t("tui.trouble.running"))

    def _render_results(self) -> None:
        app = self.wapp
        text = Text()
        panel = self.query_one("#results", Static)
        panel.border_title = t("tui.trouble.causes")
        if self.step_id is not None:
            outcome = app.outcomes.get(self.step_id)
            message = app.messages.get(self.step_id)
            if message is not None:
                text.append(t("tui.trouble.step_said", step=self.step_id) + "\n", style="bold")
                text.append("  " + say(message) + "\n")
            if outcome is not None and outcome.fix is not None:
                text.append("  " + t("tui.fix") + " " + say(outcome.fix) + "\n")
            if message is not None:
                text.append("\n")
        fixes: list[Option] = []
        if self.module is None:
            text.append(t("tui.not_available") + "\n", style="bold")
            text.append(t("tui.trouble.not_available_hint") + "\n")
        elif self.failure is not None:
            text.append("[XX] " + self.failure + "\n")
        elif self.results is None:
            text.append(t("tui.trouble.hint") + "\n")
        elif not self.results:
            text.append(t("tui.trouble.no_cause") + "\n")
        else:
            for rank, diagnosis in enumerate(self.results, 1):
                confidence = getattr(diagnosis, "confidence", None)
                level = self._confidence(confidence)
                text.append(f"{rank}. {say(diagnosis.cause)}", style="bold")
                text.append(f"  ({level})\n")
                for evidence in getattr(diagnosis, "evidence", []) or []:
                    text.append("   " + t("tui.trouble.evidence") + " " + say(evidence) + "\n")
                for fix in getattr(diagnosis, "fixes", []) or []:
                    step_id = getattr(fix, "step_id", None)
                    mark = " [f]" if step_id else ""
                    text.append("   -> " + say(fix.message) + mark + "\n")
                    if step_id and app.step(step_id) is not None:
                        label = t("tui.trouble.fix_option", step=say(app.step(step_id).title))  # type: ignore[union-attr]
                        fixes.append(Option(label, id=f"{len(fixes)}:{step_id}"))
        panel.update(text)
        fix_list = self.query_one("#fixes", OptionList)
        fix_list.clear_options()
        fix_list.add_options(fixes)
        fix_list.display = bool(fixes)
        if fixes:
            fix_list.border_title = t("tui.trouble.fixes")
            fix_list.highlighted = 0

    @staticmethod
    def _confidence(value: Any) -> str:
        if value in ("confirmed", "likely", "possible"):
            return t("tui.trouble.conf." + str(value))
        if isinstance(value, int | float):
            number = float(value)
            pct = number * 100 if number <= 1 else number
            return t("tui.trouble.confidence", pct=round(pct))
        return str(value) if value is not None else "?"

    # -- actions ---------------------------------------------------------------------------------

    def action_fix_it(self) -> None:
        fixes = self.query_one("#fixes", OptionList)
        if not fixes.display or fixes.option_count == 0:
            self.notify(t("tui.trouble.nothing_to_fix"))
            return
        index = fixes.highlighted or 0
        option_id = fixes.get_option_at_index(index).id
        if option_id:
            self._fix(option_id)

    def _fix(self, option_id: str) -> None:
        """Go to the fixing step's detail and run its Apply (its own confirmations apply)."""
        from screens.step_detail import StepDetailScreen

        step_id = option_id.split(":", 1)[1]
        self.app.pop_screen()
        self.app.push_screen(StepDetailScreen(step_id, apply_now=True))


_EXCEPTION_PREFIX = re.compile(r"^[A-Z][A-Za-z0-9_]*(?:Error|Exception|Warning|Timeout): ")


def _without_exception_name(error: str) -> str:
    """The server's or the library's own words, without the Python class name before them
    ("DbError: ..." is ours, not what the operator saw; the diagnosis reads the text)."""
    return _EXCEPTION_PREFIX.sub("", error, count=1)
