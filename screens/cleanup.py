"""Cleanup (runbook "Limpeza"): backup first, then the deletion behind a typed word, then the
report with the sizes before and after. Refuses to delete without a verified backup."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Static

from screens.common import LiveLog, WizardScreen, say, styled_status
from wizard.engine import Plan, Risk
from wizard.i18n import t

CLEANUP_STEPS = ("cleanup.backup", "cleanup.dedupe", "cleanup.report", "cleanup.document")


class CleanupScreen(WizardScreen):
    CSS_PATH = "cleanup.tcss"
    KEYS = (
        ("b", "tui.key.backup"),
        ("x", "tui.key.dedupe"),
        ("r", "tui.key.report"),
        ("g", "tui.key.gate"),
        ("o", "document.tui.key"),
        ("Esc", "tui.key.back_cancel"),
        ("F2", "tui.key.language"),
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("b", "backup", show=False),
        Binding("x", "dedupe", show=False),
        Binding("r", "report", show=False),
        Binding("g", "gate", show=False),
        Binding("o", "document", show=False),
        Binding("escape", "back", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.refusal: str | None = None
        self.override_gate = False

    def available(self) -> bool:
        return all(self.wapp.step(s) is not None for s in CLEANUP_STEPS)

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
            self.wapp.run_status(list(CLEANUP_STEPS))

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
            for step_id in CLEANUP_STEPS:
                step = app.step(step_id)
                text.append_text(styled_status(app.status_of(step_id)))
                message = app.messages.get(step_id)
                title = say(step.title) if step else step_id
                text.append(f" {title}\n      {say(message) if message else '-'}\n")
            report = app.outcomes.get("cleanup.report")
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
        if self.available():
            self.refusal = None
            self.wapp.run_apply(["cleanup.backup"])

    def action_dedupe(self) -> None:
        """Ask the engine why a deletion would be refused now (backup, monitoring gate);
        only when nothing refuses does the typed-word confirmation appear."""
        if not self.available():
            return
        override = self.override_gate

        def task(engine: Any, worker: Any) -> Any:
            from wizard.steps import cleanup

            ctx, _ = engine.ensure()
            refusals = cleanup.preflight(ctx, skip_monitor_gate=override)
            plan: Plan | None = None
            step = self.wapp.step("cleanup.dedupe")
            if not refusals and step is not None:
                plan = step.plan(ctx)  # what the deletion would do, with its row count
            return refusals, plan

        def done(result: Any, error: BaseException | None) -> None:
            if error is not None:
                return
            refusals, plan = result
            if refusals:
                lines = ["[XX] " + t("tui.cleanup.refused")]
                for _kind, message, fix in refusals:
                    lines.append("  - " + say(message))
                    if fix is not None:
                        lines.append("    " + t("tui.fix") + " " + say(fix))
                self.refusal = "\n".join(lines)
                self.refresh_texts()
                return
            self.refusal = None
            self._ask_word(plan)

        self.wapp.run_task(t("tui.run.preflight"), task, done)

    def _ask_word(self, plan: Plan | None = None) -> None:
        from screens.confirm import ConfirmScreen

        step = self.wapp.step("cleanup.dedupe")
        assert step is not None
        if plan is None or Risk.DELETE not in plan.risks:
            plan = Plan(step.id, actions=list(plan.actions) if plan else [], risks={Risk.DELETE})
        modal = ConfirmScreen(step, plan)
        override = self.override_gate

        def answered(yes: bool | None) -> None:
            if not yes or modal.word is None:
                return
            word = modal.word

            def task(engine: Any, worker: Any) -> Any:
                from wizard.steps import cleanup

                ctx, runner = engine.ensure()
                cleanup.authorize(ctx, word, skip_monitor_gate=override)
                return runner.apply(["cleanup.dedupe"], confirm=lambda s, p: True)

            self.wapp.run_task(t("tui.run.apply"), task, changes=True)

        self.app.push_screen(modal, answered)

    def action_gate(self) -> None:
        self.override_gate = not self.override_gate
        self.refresh_texts()

    def action_report(self) -> None:
        if self.available():
            self.wapp.run_status(["cleanup.report"])

    def action_document(self) -> None:
        self.wapp.run_document()

    def action_back(self) -> None:
        if self.wapp.busy:
            self.wapp.cancel_run()
            return
        self.app.pop_screen()
