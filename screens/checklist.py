"""Checklist: every phase and step with a status symbol and word, the runbook's "Progresso da
Execução" per phase (live), and the actions that drive the engine."""

from __future__ import annotations

import time

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import DataTable, Static

from screens.common import LiveLog, WizardScreen, say, styled_status
from screens.keys import BACK_CANCEL, LANGUAGE, key_table
from screens.keys import key as key_entry
from screens.symbols import CHECKING, NA_MARK, RUNNING, SYMBOL, UNKNOWN, status_label, symbol
from wizard.engine import Event, Status
from wizard.i18n import t

# What "apply all" and "apply phase" leave alone: nothing to do, or only the operator can.
SETTLED = {Status.DONE.value, Status.NOT_APPLICABLE.value}
NOT_AUTOMATIC = {Status.MANUAL.value}
WIDE = 110  # from this width the runbook's progress panel sits beside the checklist


def phase_label(phase: str) -> str:
    return t("tui.phase." + phase)


def phase_status(statuses: list[str]) -> str:
    """One status for a phase, from its steps' statuses."""
    if not statuses:
        return UNKNOWN
    if RUNNING in statuses:
        return RUNNING
    if CHECKING in statuses:
        return CHECKING
    if Status.FAILED.value in statuses:
        return Status.FAILED.value
    if all(s in SETTLED for s in statuses):
        return Status.DONE.value
    if all(s in SETTLED | NOT_AUTOMATIC for s in statuses):
        return Status.MANUAL.value
    if all(s == UNKNOWN for s in statuses):
        return UNKNOWN
    return Status.PENDING.value


class ChecklistScreen(WizardScreen):
    CSS_PATH = "checklist.tcss"
    KEYS, BINDINGS = key_table(
        key_entry("Enter", "tui.key.open"),
        key_entry("a", "tui.key.apply", ("a", "apply_step")),
        key_entry("p", "tui.key.apply_phase", ("p", "apply_phase")),
        key_entry("r", "tui.key.recheck", ("r", "recheck")),
        key_entry("w", "tui.key.why", ("w", "why")),
        key_entry("t", "tui.key.troubleshoot", ("t", "troubleshoot")),
        key_entry("d", "tui.key.dashboard", ("d", "dashboard")),
        key_entry("c", "tui.key.cleanup", ("c", "cleanup")),
        key_entry("l", "tui.key.log", ("l", "toggle_log")),
        BACK_CANCEL,
        LANGUAGE,
        hidden=[("A", "apply_all")],
    )

    def __init__(self, mode: str = "guided") -> None:
        super().__init__()
        self.mode = mode
        self.row_keys: list[str] = []
        self._place_cursor = True  # once, after the first check: where the operator left off

    def compose(self) -> ComposeResult:
        yield Static(markup=False, id="title", classes="title")
        with Horizontal(id="body"):
            yield DataTable(id="steps", cursor_type="row", zebra_stripes=False, show_header=False)
            yield Static(markup=False, id="progress", classes="panel")
        yield Static(markup=False, id="runline")
        yield LiveLog(id="log")
        yield self.key_bar()

    def on_mount(self) -> None:
        table = self.query_one("#steps", DataTable)
        self._layout_width = 0
        self._fill_rows()
        self.refresh_texts()
        table.focus()
        self._cursor_to_next()
        self.set_interval(1.0, self._tick)
        if self.wapp.auto_probe and not self.wapp.busy:
            self.wapp.run_status()

    def on_resize(self) -> None:
        self._relayout()

    def _relayout(self) -> None:
        """The progress panel only where there is room; every step name whole (a long one
        takes two lines): rows are rebuilt for the table's width."""
        wide = self.size.width >= WIDE
        self.query_one("#progress", Static).display = wide
        self.call_after_refresh(self._refit)

    def _refit(self) -> None:
        table = self.query_one("#steps", DataTable)
        if table.size.width and table.size.width != self._layout_width:
            self._fill_rows()
            for key in self.row_keys:
                self._render_row(key)

    # -- rows ------------------------------------------------------------------------------------

    def _phases(self) -> list[str]:
        from wizard.steps import PHASES

        return list(PHASES)

    def _widths(self) -> tuple[int, int]:
        """(status column, step column) for the table's current width."""
        table = self.query_one("#steps", DataTable)
        status_width = max(len(status_label(s)) for s in SYMBOL)
        # border 2, scrollbar 1, one cell of padding on each side of both columns
        room = (table.size.width or self.app.size.width) - 2 - 1 - 4 - status_width
        return status_width, max(16, room)

    def _title(self, key: str) -> Text:
        if key.startswith("phase:"):
            phase = key.split(":", 1)[1]
            return Text("== " + phase_label(phase) + " ==", style="bold")
        if key.startswith("missing:"):
            return Text(t("tui.not_available_short"), style="italic")
        step = self.wapp.step(key)
        return Text(say(step.title) if step else key)

    def _fill_rows(self) -> None:
        table = self.query_one("#steps", DataTable)
        current = self.current_key() if self.row_keys else None
        status_width, step_width = self._widths()
        self._layout_width = table.size.width
        table.clear(columns=True)
        table.add_column("status", key="status", width=status_width)
        table.add_column("step", key="step", width=step_width)
        self.row_keys = []
        steps = self.wapp.steps
        console = self.app.console
        keys: list[str] = []
        for phase in self._phases():
            keys.append("phase:" + phase)
            members = [s for s in steps if s.phase == phase]
            if not members:
                keys.append("missing:" + phase)
            keys.extend(s.id for s in members)
        for key in keys:
            lines = len(self._title(key).wrap(console, step_width))
            table.add_row("", "", key=key, height=max(1, lines))
            self.row_keys.append(key)
        if current in self.row_keys:
            table.move_cursor(row=self.row_keys.index(current), animate=False)

    def _render_row(self, key: str) -> None:
        table = self.query_one("#steps", DataTable)
        if key.startswith("phase:"):
            phase = key.split(":", 1)[1]
            members = [s.id for s in self.wapp.steps if s.phase == phase]
            statuses = [self.wapp.status_of(s) for s in members]
            done = sum(1 for s in statuses if s in SETTLED)
            mark = symbol(phase_status(statuses))
            table.update_cell(key, "status", Text(f"{mark} {done}/{len(members)}", style="bold"))
            table.update_cell(key, "step", self._title(key))
        elif key.startswith("missing:"):
            table.update_cell(key, "status", "")
            table.update_cell(key, "step", self._title(key))
        else:
            table.update_cell(key, "status", styled_status(self.wapp.status_of(key)))
            table.update_cell(key, "step", self._title(key))

    def _render_progress(self) -> None:
        text = Text(t("tui.progress.title") + "\n", style="bold")
        steps = self.wapp.steps
        for phase in self._phases():
            members = [s.id for s in steps if s.phase == phase]
            statuses = [self.wapp.status_of(s) for s in members]
            done = sum(1 for s in statuses if s in SETTLED)
            label = phase_label(phase)[:16]
            if members:
                line = f"{label:<16} {done:>2}/{len(members):<2} {symbol(phase_status(statuses))}"
            else:
                line = f"{label:<16}  -/-  {NA_MARK}"
            text.append(line + "\n")
        self.query_one("#progress", Static).update(text)

    def refresh_texts(self) -> None:
        super().refresh_texts()
        config = self.wapp.config
        where = str(self.wapp.config_path)
        kind = t("tui.welcome.sandbox") if config and config.sandbox else ""
        self.query_one("#title", Static).update(t("tui.checklist.title", path=where, kind=kind))
        self._fill_rows()  # the titles' lengths (and so the rows' heights) follow the language
        for key in self.row_keys:
            self._render_row(key)
        self._render_progress()
        self._tick()

    # -- live ------------------------------------------------------------------------------------

    def engine_events(self, events: list[Event]) -> None:
        super().engine_events(events)
        touched = {e.step_id for e in events if e.step_id}
        phases = {step.phase for key in touched if (step := self.wapp.step(key)) is not None}
        for key in touched | {"phase:" + phase for phase in phases}:
            if key in self.row_keys:
                self._render_row(key)
        if touched:
            self._render_progress()

    def engine_idle(self) -> None:
        if self._place_cursor:
            self._place_cursor = False
            self._cursor_to_next()
        for key in self.row_keys:
            self._render_row(key)
        self._render_progress()

    def busy_changed(self) -> None:
        self._tick()

    def _tick(self) -> None:
        app = self.wapp
        line = self.query_one("#runline", Static)
        if app.busy:
            elapsed = int(time.monotonic() - app.busy_since)
            line.update(
                t("tui.running", what=app.busy_label or "", seconds=elapsed)
                + "  "
                + t("tui.esc_cancels")
            )
        else:
            line.update(t("tui.idle"))

    # -- navigation ------------------------------------------------------------------------------

    def current_key(self) -> str | None:
        table = self.query_one("#steps", DataTable)
        if not self.row_keys or table.cursor_row < 0:
            return None
        return self.row_keys[min(table.cursor_row, len(self.row_keys) - 1)]

    def current_step_id(self) -> str | None:
        key = self.current_key()
        if key is None or ":" in key:
            return None
        return key

    def current_phase(self) -> str | None:
        key = self.current_key()
        if key is None:
            return None
        if ":" in key:
            return key.split(":", 1)[1]
        step = self.wapp.step(key)
        return step.phase if step else None

    def _cursor_to_next(self) -> None:
        """To the first step that is not settled (where the operator left off)."""
        for index, key in enumerate(self.row_keys):
            if ":" not in key and self.wapp.status_of(key) not in SETTLED:
                self.query_one("#steps", DataTable).move_cursor(row=index)
                return

    def select_step(self, step_id: str) -> None:
        if step_id in self.row_keys:
            self.query_one("#steps", DataTable).move_cursor(row=self.row_keys.index(step_id))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.open_step(str(event.row_key.value))

    def open_step(self, step_id: str, *, apply: bool = False) -> None:
        from screens.step_detail import StepDetailScreen

        if step_id.startswith("phase:"):
            # A phase's row opens the phase's first step left to do (else its first step).
            phase = step_id.split(":", 1)[1]
            members = [s.id for s in self.wapp.steps if s.phase == phase]
            left = [s for s in members if self.wapp.status_of(s) not in SETTLED]
            if not members:
                return
            step_id = (left or members)[0]
            self.select_step(step_id)
        elif ":" in step_id:
            return
        self.app.push_screen(StepDetailScreen(step_id, apply_now=apply))

    # -- actions ---------------------------------------------------------------------------------

    def action_apply_step(self) -> None:
        step_id = self.current_step_id()
        if step_id is None:
            self.action_apply_phase()
            return
        step = self.wapp.step(step_id)
        if step is not None and step.manual:
            self.open_step(step_id)  # a manual step: the detail shows what to do and Confirm
            return
        self.wapp.run_apply([step_id])

    def _automatic(self, step_ids: list[str]) -> list[str]:
        """The steps the wizard can do itself. Cached statuses are not trusted here: an
        earlier step may have made a later one pending again (the restart step after the file
        edits), and applying a step that is done changes nothing."""
        steps = [self.wapp.step(s) for s in step_ids]
        return [s.id for s in steps if s is not None and not s.manual]

    def action_apply_phase(self) -> None:
        phase = self.current_phase()
        if phase is None:
            return
        ids = self._automatic([s.id for s in self.wapp.steps if s.phase == phase])
        if not ids:
            self.notify(t("tui.checklist.nothing_to_do"))
            return
        self.wapp.run_apply(ids)

    def action_apply_all(self) -> None:
        from wizard.steps import DEFAULT_APPLY_PHASES

        ids = self._automatic([s.id for s in self.wapp.steps if s.phase in DEFAULT_APPLY_PHASES])
        if ids:
            self.wapp.run_apply(ids)

    def action_recheck(self) -> None:
        self.wapp.run_status()

    def action_why(self) -> None:
        from screens.troubleshoot import TroubleshootScreen

        step_id = self.current_step_id()
        outcome = self.wapp.outcomes.get(step_id) if step_id else None
        if outcome is None or outcome.status.value not in ("failed", "blocked"):
            step_id = None  # nothing went wrong here: offer the symptom list, not a "why"
        self.app.push_screen(TroubleshootScreen(step_id=step_id))

    def action_troubleshoot(self) -> None:
        from screens.troubleshoot import TroubleshootScreen

        self.app.push_screen(TroubleshootScreen())

    def action_dashboard(self) -> None:
        from screens.dashboard import DashboardScreen

        self.app.push_screen(DashboardScreen())

    def action_cleanup(self) -> None:
        from screens.cleanup import CleanupScreen

        self.app.push_screen(CleanupScreen())

    def action_toggle_log(self) -> None:
        """Hide or show the live log (more checklist rows on a small console)."""
        log = self.query_one("#log", LiveLog)
        log.display = not log.display
