"""Cleanup (runbook "Limpeza"): backup first, then the deletion behind a typed word, then the
report with the sizes before and after. Refuses to delete without a verified backup."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from screens.common import LiveLog, WizardScreen, say, styled_status
from screens.keys import BACK_CANCEL, DOCUMENT, LANGUAGE, key, key_table
from wizard import cleanup_flow
from wizard.engine import Plan
from wizard.i18n import t


def refusal_text(refusals: list[cleanup_flow.Refusal]) -> str:
    lines = ["[XX] " + t("tui.cleanup.refused")]
    for refusal in refusals:
        lines.append("  - " + say(refusal.message))
        if refusal.fix is not None:
            lines.append("    " + t("tui.fix") + " " + say(refusal.fix))
    return "\n".join(lines)


class CleanupScreen(WizardScreen):
    CSS_PATH = Path(__file__).with_suffix(".tcss")  # the .tcss beside this file
    KEYS, BINDINGS = key_table(
        key("b", "tui.key.backup", ("b", "backup")),
        key("x", "tui.key.dedupe", ("x", "dedupe")),
        key("r", "tui.key.report", ("r", "report")),
        key("g", "tui.key.gate", ("g", "gate")),
        DOCUMENT,
        BACK_CANCEL,
        LANGUAGE,
    )

    def __init__(self) -> None:
        super().__init__()
        self.refusal: str | None = None
        self.override_gate = False

    def available(self) -> bool:
        return cleanup_flow.available({s.id for s in self.wapp.steps})

    def shown_steps(self) -> list[str]:
        """The cleanup phase's steps, in checklist order (the sequence and the document)."""
        return [s.id for s in cleanup_flow.phase_steps(self.wapp.steps)]

    def compose(self) -> ComposeResult:
        yield Static(markup=False, id="title", classes="title")
        # On top: never scrolled out of sight.
        yield Static(markup=False, id="gate", classes="notice")
        with VerticalScroll(id="body"):
            yield Static(markup=False, id="refusal", classes="notice")
            yield Static(markup=False, id="steps", classes="panel")
            yield Static(markup=False, id="intro", classes="panel")
        yield LiveLog(id="log")
        yield self.key_bar()

    def on_mount(self) -> None:
        self.refresh_texts()
        if self.available() and self.wapp.auto_probe and not self.wapp.busy:
            self.wapp.run_status(self.shown_steps())

    def refresh_texts(self) -> None:
        super().refresh_texts()
        app = self.wapp
        self.query_one("#title", Static).update(t("tui.cleanup.title"))
        self.query_one("#intro", Static).update(t("tui.cleanup.intro"))
        text = Text()
        if not self.available():
            text.append(t("tui.not_available") + "\n", style="bold")
            text.append(t("tui.cleanup.not_available_hint"))
        else:
            for step_id in self.shown_steps():
                step = app.step(step_id)
                text.append_text(styled_status(app.status_of(step_id)))
                message = app.messages.get(step_id)
                title = say(step.title) if step else step_id
                text.append(f" {title}\n      {say(message) if message else '-'}\n")
            report = app.outcomes.get(cleanup_flow.REPORT_ID)
            if report is not None:
                text.append(t("tui.cleanup.sizes") + "\n", style="bold")
                for detail in report.details:  # the report's sentences, never raw facts
                    text.append("  - " + say(detail) + "\n")
        self.query_one("#steps", Static).update(text)
        gate = self.query_one("#gate", Static)
        gate.update("[!!] " + t("tui.cleanup.gate_override"))
        gate.display = self.override_gate
        self.query_one("#steps", Static).border_title = t(
            "tui.cleanup.gate_on" if self.override_gate else "tui.cleanup.gate_off"
        )
        refusal = self.query_one("#refusal", Static)
        refusal.display = self.refusal is not None
        refusal.update(self.refusal or "")

    def engine_idle(self) -> None:
        self.refresh_texts()

    def action_backup(self) -> None:
        """The sequence's first stage: the key is the operator's consent to the backup."""
        if not self.available():
            return
        self.refusal = None

        def task(engine: Any, worker: Any) -> Any:
            ctx, runner = engine.ensure()
            flow = cleanup_flow.CleanupFlow(ctx, runner)
            flow.make_backup()
            return flow.reports

        self.wapp.run_task(t("tui.run.apply"), task, changes=True)

    def action_dedupe(self) -> None:
        """Ask the engine's cleanup sequence why a deletion would be refused now (backup,
        monitoring gate); only when nothing refuses does the typed-word confirmation appear."""
        if not self.available():
            return
        override = self.override_gate

        def task(engine: Any, worker: Any) -> Any:
            ctx, runner = engine.ensure()
            return cleanup_flow.CleanupFlow(ctx, runner, skip_monitor_gate=override).preflight()

        def done(readiness: Any, error: BaseException | None) -> None:
            if error is not None:
                return
            if readiness.refusals:
                self.refusal = refusal_text(readiness.refusals)
                self.refresh_texts()
                return
            self.refusal = None
            self._ask_word(readiness.plan)

        self.wapp.run_task(t("tui.run.preflight"), task, done)

    def _ask_word(self, plan: Plan) -> None:
        from screens.confirm import ConfirmScreen

        step = self.wapp.step(cleanup_flow.DEDUPE_ID)
        assert step is not None
        modal = ConfirmScreen(step, plan)
        override = self.override_gate

        def answered(yes: bool | None) -> None:
            if not yes or modal.word is None:
                return
            word = modal.word

            def task(engine: Any, worker: Any) -> Any:
                ctx, runner = engine.ensure()
                flow = cleanup_flow.CleanupFlow(ctx, runner, skip_monitor_gate=override)
                if flow.authorize(word) is None:
                    flow.delete()
                return flow.reports

            self.wapp.run_task(t("tui.run.apply"), task, changes=True)

        self.app.push_screen(modal, answered)

    def action_gate(self) -> None:
        self.override_gate = not self.override_gate
        self.refresh_texts()

    def action_report(self) -> None:
        if self.available():
            self.wapp.run_status([cleanup_flow.REPORT_ID])

    def action_document(self) -> None:
        self.wapp.run_document()
