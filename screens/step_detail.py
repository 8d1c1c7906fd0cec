"""Step detail: what the step is for (the runbook's explanation), where it stands, the plan
preview, and Apply / Verify / Skip / Undo / Confirm / Why."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from screens.common import LiveLog, WizardScreen, say, styled_status
from screens.keys import BACK_CANCEL, LANGUAGE, key, key_table
from screens.plan_view import plan_text
from screens.step_settings import SettingsPanel
from wizard.engine import Event, Plan, Risk, Status
from wizard.i18n import t

# Every key of the screen (the bindings); the key bar shows those that fit the step (KEYS).
_APPLY = key("a", "tui.key.apply", ("a", "apply"))
_VERIFY = key("v", "tui.key.verify", ("v", "verify"))
_SKIP = key("s", "tui.key.skip", ("s", "skip"))
_UNDO = key("u", "tui.key.undo", ("u", "undo"))
_CONFIRM = key("m", "tui.key.confirm_manual", ("m", "confirm_manual"))
_WHY = key("w", "tui.key.why", ("w", "why"))
_PREVIEW = key("p", "tui.key.preview", ("p", "preview"))
_NEXT = key("n", "tui.key.next_step", ("n", "next_step"))
_EDIT = key("e", "tui.key.edit_settings", ("e", "edit_settings"))


class StepDetailScreen(WizardScreen):
    CSS_PATH = "step_detail.tcss"
    BINDINGS = key_table(
        _APPLY,
        _VERIFY,
        _SKIP,
        _UNDO,
        _CONFIRM,
        _WHY,
        _PREVIEW,
        _NEXT,
        _EDIT,
        BACK_CANCEL,
        hidden=[Binding("ctrl+s", "save_settings", show=False, priority=True)],
    )[1]

    def __init__(self, step_id: str, *, apply_now: bool = False) -> None:
        super().__init__()
        self.step_id = step_id
        self.apply_now = apply_now
        self._previewed = False

    @property
    def has_settings(self) -> bool:
        step = self.wapp.step(self.step_id)
        return step is not None and bool(step.settings_keys)

    @property
    def manual(self) -> bool:
        step = self.wapp.step(self.step_id)
        return step is not None and step.manual

    @property
    def KEYS(self) -> list[tuple[str, str]]:  # type: ignore[override]
        entries = [_CONFIRM, _VERIFY] if self.manual else [_APPLY, _VERIFY, _PREVIEW]
        if self.has_settings:
            entries.append(_EDIT)
        entries += [_NEXT, _SKIP, _UNDO, _WHY, BACK_CANCEL, LANGUAGE]
        return [(entry[0], entry[1]) for entry in entries]

    def compose(self) -> ComposeResult:
        yield Static(markup=False, id="title", classes="title")
        with VerticalScroll(id="body"):
            yield Static(markup=False, id="help", classes="panel")
            yield Static(markup=False, id="state", classes="panel")
            step = self.wapp.step(self.step_id)
            if step is not None and step.settings_keys:
                yield SettingsPanel(step, id="settings", classes="panel")
            yield Static(markup=False, id="plan", classes="panel")
        yield LiveLog(id="log")
        yield self.key_bar()

    def on_mount(self) -> None:
        self.refresh_texts()
        self.query_one("#body").focus()
        if self.apply_now:
            self.action_apply()
        else:
            self._auto_preview()

    def _auto_preview(self) -> None:
        """Prepare the plan preview once, as soon as the engine is free (a dry run)."""
        app = self.wapp
        if (
            not self._previewed
            and app.auto_probe
            and not app.busy
            and not self.manual
            and self.step_id not in app.plans
            and app.status_of(self.step_id) not in (Status.DONE.value, Status.NOT_APPLICABLE.value)
        ):
            self._previewed = True
            self.action_preview()

    def refresh_texts(self) -> None:
        super().refresh_texts()
        for panel in self.query(SettingsPanel):
            panel.refresh_texts()
        app = self.wapp
        step = app.step(self.step_id)
        title = Text()
        title.append_text(styled_status(app.status_of(self.step_id)))
        title.append("  " + (say(step.title) if step else self.step_id) + f"  ({self.step_id})")
        self.query_one("#title", Static).update(title)
        help_panel = self.query_one("#help", Static)
        help_panel.border_title = t("tui.detail.why_this_step")
        help_panel.update(say(step.explanation) if step else t("tui.not_available"))
        state = self.query_one("#state", Static)
        state.border_title = t("tui.detail.state")
        state.update(self._state_text())
        plan = self.query_one("#plan", Static)
        plan.border_title = t("tui.detail.plan")
        if self.manual:
            plan.update(t("tui.detail.manual_hint"))
        else:
            plan.update(plan_text(app.plans.get(self.step_id)))

    def _state_text(self) -> Text:
        app = self.wapp
        text = Text()
        text.append_text(styled_status(app.status_of(self.step_id)))
        message = app.messages.get(self.step_id)
        text.append("  " + (say(message) if message else t("tui.detail.not_checked")) + "\n")
        outcome = app.outcomes.get(self.step_id)
        if outcome is not None:
            for detail in outcome.details:
                text.append("  - " + say(detail) + "\n")
            for change in outcome.changes:
                text.append("  + " + say(change) + "\n")
            for backup in outcome.backups:
                text.append("  " + t("tui.detail.backup", path=backup) + "\n")
            if outcome.fix is not None:
                text.append(t("tui.fix") + " " + say(outcome.fix) + "\n", style="bold")
            if outcome.status is Status.FAILED:
                text.append(t("tui.detail.why_hint") + "\n")
        return text

    # -- live ------------------------------------------------------------------------------------

    def engine_events(self, events: list[Event]) -> None:
        super().engine_events(events)
        if any(e.step_id == self.step_id for e in events):
            self.refresh_texts()

    def engine_idle(self) -> None:
        self.refresh_texts()
        if self.app.screen is self:
            self._auto_preview()

    # -- actions ---------------------------------------------------------------------------------

    def action_preview(self) -> None:
        self.wapp.run_apply([self.step_id], dry_run=True)

    def action_apply(self) -> None:
        panel = self.settings
        if panel is not None and panel.edits():  # apply would use the old, saved values
            self.notify(t("tui.settings.unsaved_apply"), severity="warning", timeout=8)
            return
        if self.manual:
            self.action_confirm_manual()
            return
        self.wapp.run_apply([self.step_id])

    def action_verify(self) -> None:
        self.wapp.run_status([self.step_id])

    def next_step_id(self) -> str | None:
        ids = [s.id for s in self.wapp.steps]
        if self.step_id in ids and ids.index(self.step_id) + 1 < len(ids):
            return ids[ids.index(self.step_id) + 1]
        return None

    def action_next_step(self) -> None:
        """Guided flow: on to the next step of the checklist."""
        following = self.next_step_id()
        if following is None or self.wapp.busy:
            return
        self.app.switch_screen(StepDetailScreen(following))

    def action_skip(self) -> None:
        """Leave this step for later: nothing is changed or recorded."""
        from screens.checklist import ChecklistScreen

        self.notify(t("tui.detail.skipped", step=self.step_id))
        self.app.pop_screen()
        screen = self.app.screen
        following = self.next_step_id()
        if isinstance(screen, ChecklistScreen) and following is not None:
            screen.select_step(following)

    def action_undo(self) -> None:
        from screens.confirm import ConfirmScreen

        step = self.wapp.step(self.step_id)
        if step is None or self.wapp.busy:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.wapp.run_undo([self.step_id])

        plan = Plan(self.step_id, risks={Risk.DELETE})
        self.app.push_screen(ConfirmScreen(step, plan, mode="undo"), answered)

    def action_confirm_manual(self) -> None:
        if not self.manual:
            self.notify(t("tui.detail.not_manual"), severity="warning")
            return
        from screens.confirm import ConfirmScreen

        step = self.wapp.step(self.step_id)
        assert step is not None

        def answered(yes: bool | None) -> None:
            if yes:
                self.wapp.run_confirm_manual([self.step_id])

        self.app.push_screen(ConfirmScreen(step, Plan(self.step_id), mode="manual"), answered)

    def action_why(self) -> None:
        from screens.troubleshoot import TroubleshootScreen

        self.app.push_screen(TroubleshootScreen(step_id=self.step_id))

    # -- settings --------------------------------------------------------------------------------

    @property
    def settings(self) -> SettingsPanel | None:
        found = self.query(SettingsPanel)
        return found.first() if found else None

    def action_edit_settings(self) -> None:
        panel = self.settings
        field = panel.first_field() if panel is not None else None
        if panel is None:
            return
        if field is None:  # everything is read-only here: at least show where to edit it
            panel.scroll_visible()
            return
        field.focus()
        field.scroll_visible()

    def action_save_settings(self) -> None:
        panel = self.settings
        if panel is None:
            return
        config = panel.save()
        if config is None:
            return
        app = self.wapp
        # The engine and every plan were built from the old values: start again from the file.
        app.reload_config(config)
        panel.reset()
        self._previewed = False
        self.notify(t("tui.settings.saved", path=str(app.config_path)))
        self.refresh_texts()
        if app.auto_probe:
            # Any status may depend on the saved values: all of them are re-checked (in the
            # background); then engine_idle prepares the new plan preview.
            app.mark_stale()

    def _in_settings(self) -> bool:
        focused = self.focused
        panel = self.settings
        return focused is not None and panel is not None and panel in focused.ancestors

    def go_back(self) -> None:
        if self.wapp.busy:
            self.wapp.cancel_run()
            return
        if self._in_settings():  # Esc leaves the field first, then the screen
            self.query_one("#body").focus()
            return
        panel = self.settings
        if panel is not None and panel.edits():
            self.notify(t("tui.settings.discarded"), severity="warning")
        self.app.pop_screen()

    def busy_changed(self) -> None:
        pass
