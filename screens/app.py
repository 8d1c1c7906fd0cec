"""The App: language, the current config and session, engine runs in thread workers, and the
event flow from the engine to whichever screens are open."""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.message import Message as UiMessage
from textual.timer import Timer
from textual.worker import Worker, get_current_worker

from screens.bridge import Engine, EngineEvents, EventBatcher
from screens.common import (
    BusyChanged,
    ConfigLoaded,
    EngineIdle,
    EngineNews,
    LanguageChanged,
    ScreenNews,
)
from screens.symbols import CHECKING, RUNNING, UNKNOWN
from screens.theme import apply_scrollbars, css_variables
from wizard.engine import Event, Plan, RunReport, Status, Step, StepOutcome
from wizard.i18n import Message, current_language, detect_language, set_language, t

if TYPE_CHECKING:
    from wizard.config import Config

# A task runs in the engine worker: (engine, worker) -> result.
Task = Callable[[Engine, Worker[Any]], Any]
Done = Callable[[Any, BaseException | None], None]


class TaskFinished(UiMessage):
    """An engine task ended. Posted on the same queue as the event batches, after the last of
    them, so the UI never takes a run's late events for news after its report."""

    def __init__(self, result: Any, error: BaseException | None, on_done: Done | None) -> None:
        super().__init__()
        self.result = result
        self.error = error
        self.on_done = on_done


class WizardApp(App[int]):
    CSS_PATH = Path(__file__).with_suffix(".tcss")  # the .tcss beside this file
    TITLE = "fdw-wizard"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f2", "switch_language", show=False, priority=True),
        Binding("ctrl+q", "quit", show=False, priority=True),
    ]

    def __init__(
        self,
        config_path: Path,
        *,
        lang: str | None = None,
        config: Config | None = None,
        config_problems: list[Message] | None = None,
        auto_probe: bool = True,
        environment: dict[str, Any] | None = None,
        defer_config: bool = False,
    ) -> None:
        """``auto_probe`` False: screens do not start probes by themselves (snapshots);
        ``environment`` pins what the welcome screen would probe (keyring, elevation);
        ``defer_config``: read and validate ``config_path`` in a worker after the first frame
        (pydantic and YAML cost more than Textual itself to import), which is what
        :func:`run_tui` does."""
        super().__init__()
        apply_scrollbars()
        self.config_path = Path(config_path)
        self.config = config
        self.config_problems = list(config_problems or [])
        self.auto_probe = auto_probe
        self.environment = environment
        self.lang_pinned = lang is not None
        # True until the deferred config is read: screens show "checking" meanwhile.
        self.config_loading = defer_config and config is None and self.config_path.exists()
        configured: str | None = config.language if config is not None else None
        if configured is None and self.config_loading:
            configured = _language_hint(self.config_path)
        chosen = lang or (configured if configured and configured != "auto" else None)
        set_language(chosen or detect_language())
        self.engine: Engine | None = None
        self.batcher = EventBatcher(self)
        self.event_history: deque[Event] = deque(maxlen=2000)
        self.statuses: dict[str, str] = {}
        self.messages: dict[str, Message] = {}
        self.outcomes: dict[str, StepOutcome] = {}
        self.plans: dict[str, dict[str, Any]] = {}
        self.busy_label: str | None = None
        # Steps whose last known status predates the last action: shown as "checking" (never
        # as their old status) until the background re-check reports them.
        self.stale: set[str] = set()
        self.refreshing = False  # the running task is that background re-check
        self._changes = False  # the running task may change the world (apply, undo, ...)
        self._queued: list[tuple[str, Task, Done | None, bool]] = []
        self._recovery_offered = False  # the interrupted-run modal is up (ask once)
        self.busy_since = 0.0
        self._worker: Worker[Any] | None = None
        self._drain: Timer | None = None
        self._steps: list[Step] | None = None
        self.exit_code = 0

    # -- setup -------------------------------------------------------------------------------

    def get_css_variables(self) -> dict[str, str]:
        return {**super().get_css_variables(), **css_variables()}

    def on_mount(self) -> None:
        self._drain = self.set_interval(0.05, self.batcher.flush, pause=True)
        if self.config is None and not self.config_problems and not self.config_loading:
            from screens.first_run import FirstRunScreen

            self.push_screen(FirstRunScreen())
        else:
            from screens.welcome import WelcomeScreen

            self.push_screen(WelcomeScreen())
        if self.config_loading:
            self.call_after_refresh(self._load_config)  # after the first frame is painted
        else:
            self.load_state_statuses()

    @work(thread=True, exclusive=True, group="config", exit_on_error=False)
    def _load_config(self) -> None:
        """Read the config (pydantic, YAML) and the state file off the UI thread."""
        from wizard.config import ConfigError, load_config

        config: Config | None = None
        problems: list[Message] = []
        try:
            config = load_config(self.config_path)
        except ConfigError as exc:
            problems = list(exc.messages)
        except Exception as exc:  # shown on the welcome screen like any config problem
            problems = [Message("tui.config_load_failed", {"error": str(exc)})]
        statuses = self._read_state_statuses() if config is not None else {}
        with contextlib.suppress(RuntimeError):  # the app is closing
            self.call_from_thread(self._config_loaded, config, problems, statuses)

    def _config_loaded(
        self,
        config: Config | None,
        problems: list[Message],
        statuses: dict[str, tuple[str, Message | None]],
    ) -> None:
        self.config_loading = False
        self.config, self.config_problems = config, problems
        self._take_state_statuses(statuses)
        wanted = config.language if config is not None else "auto"
        if not self.lang_pinned and wanted in ("en", "pt-BR") and wanted != current_language():
            set_language(wanted)
            self.tell_screens(LanguageChanged)
        self.tell_screens(ConfigLoaded)

    @property
    def steps(self) -> list[Step]:
        """The checklist (imported on first use, never on the path to the first frame)."""
        if self._steps is None:
            from wizard.engine import order_steps
            from wizard.steps import all_steps

            self._steps = order_steps(all_steps())
        return self._steps

    def step(self, step_id: str) -> Step | None:
        return next((s for s in self.steps if s.id == step_id), None)

    def load_state_statuses(self) -> None:
        """Last known statuses from the state file (cheap JSON): what "resume" starts from."""
        if self.config is None:
            return
        self._take_state_statuses(self._read_state_statuses())

    def _read_state_statuses(self) -> dict[str, tuple[str, Message | None]]:
        from wizard.state import StateStore

        found: dict[str, tuple[str, Message | None]] = {}
        for step_id, entry in StateStore(self.config_path).steps().items():
            status = entry.get("status")
            if not isinstance(status, str):
                continue
            message = entry.get("message")
            text = None
            if isinstance(message, dict) and isinstance(message.get("key"), str):
                text = Message(message["key"], message.get("params") or {})
            found[step_id] = (status, text)
        return found

    def _take_state_statuses(self, found: dict[str, tuple[str, Message | None]]) -> None:
        for step_id, (status, message) in found.items():
            if step_id not in self.statuses:
                self.statuses[step_id] = status
                if message is not None:
                    self.messages[step_id] = message

    def use_config(self, config: Config, config_path: Path) -> None:
        """Switch to another config (first-run form saved, sandbox started)."""
        if self.engine is not None:
            self.engine.close()
        self.engine = None
        self.config, self.config_path = config, Path(config_path)
        self.config_problems = []
        self.statuses.clear()
        self.messages.clear()
        self.outcomes.clear()
        self.plans.clear()
        self.event_history.clear()
        self.load_state_statuses()

    def reload_config(self, config: Config) -> None:
        """Same file, edited in place (the step settings panel): the engine and the plans were
        built from the old values; statuses, outcomes and the live log stay."""
        if self.engine is not None:
            self.engine.close()
        self.engine = None
        self.config = config
        self.config_problems = []
        self.plans.clear()

    def status_of(self, step_id: str) -> str:
        if step_id in self.stale:
            return CHECKING
        return self.statuses.get(step_id, UNKNOWN)

    def mark_stale(self, step_ids: set[str] | None = None) -> None:
        """Everything (or ``step_ids``) may have changed: never show the old statuses again;
        re-check them in the background (input stays free; actions asked for meanwhile wait
        for the re-check and then run)."""
        if self.config is None:
            return
        ids = {s.id for s in self.steps} if step_ids is None else set(step_ids)
        self.stale |= ids
        for step_id in ids:
            self.messages.pop(step_id, None)
        self.refresh_stale()

    def refresh_stale(self) -> None:
        if not self.stale or self.config is None:
            return
        if self.busy:
            return  # _task_done starts it when the engine is free
        self._start_refresh()

    def _start_refresh(self) -> None:
        only = [s.id for s in self.steps if s.id in self.stale]  # in checklist order

        def task(engine: Engine, worker: Worker[Any]) -> RunReport:
            _, runner = engine.ensure()
            return runner.status(only)  # prerequisites outside it are checked silently

        self.refreshing = True
        if not self.run_task(t("tui.run.recheck"), task):
            self.refreshing = False

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: Any = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Never as markup: our texts carry "[XX]", "[OK]" and paths with brackets, which
        Rich markup would swallow (the catalogs use no markup)."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=False)

    # -- language ------------------------------------------------------------------------------

    def action_switch_language(self) -> None:
        set_language("en" if current_language() == "pt-BR" else "pt-BR")
        self.tell_screens(LanguageChanged)

    def tell_screens(self, news: type[ScreenNews]) -> None:
        """Post ``news`` to every open screen (a screen that does not handle it ignores it)."""
        for screen in self.screen_stack:
            screen.post_message(news())

    # -- engine runs -----------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return self.busy_label is not None

    def run_task(
        self, label: str, task: Task, on_done: Done | None = None, *, changes: bool = False
    ) -> bool:
        """Run ``task`` in the engine worker (``changes``: it may change the world, so every
        status is re-checked after it). While the background re-check runs, the task waits
        for it (queued, True); while another task runs, False and a notice: the session's
        connections serve one run at a time."""
        if self.busy:
            if self.refreshing:
                self._queued.append((label, task, on_done, changes))
                self.notify(t("tui.queued", what=label))
                return True
            self.notify(t("tui.busy", what=self.busy_label or ""), severity="warning")
            return False
        if self.config is None:
            self.notify(t("tui.no_config"), severity="error")
            return False
        if self.engine is None:
            self.engine = Engine(self.config, self.config_path, self.batcher)
        self.busy_label = label
        self._changes = changes
        self.busy_since = time.monotonic()
        if self._drain is not None:
            self._drain.resume()
        self._notify_busy()
        self._worker = self._engine_worker(label, task, on_done)
        return True

    @work(thread=True, exclusive=True, group="engine", exit_on_error=False)
    def _engine_worker(self, label: str, task: Task, on_done: Done | None) -> None:
        worker = get_current_worker()
        result: Any = None
        error: BaseException | None = None
        try:
            assert self.engine is not None
            result = task(self.engine, worker)
        except Exception as exc:  # shown to the operator; the app keeps running
            error = exc
        finally:
            self.batcher.flush()
        # Same queue as the event batches, behind them (call_from_thread could overtake them).
        self.post_message(TaskFinished(result, error, on_done))

    def on_task_finished(self, message: TaskFinished) -> None:
        self._task_done(message.result, message.error, message.on_done)

    def _task_done(self, result: Any, error: BaseException | None, on_done: Done | None) -> None:
        changes, was_refresh = self._changes, self.refreshing
        self.busy_label = None
        self._worker = None
        self._changes = False
        self.refreshing = False
        if self._drain is not None:
            self._drain.pause()
        self.batcher.flush()
        reports: list[RunReport] = []
        if isinstance(result, RunReport):
            reports = [result]
        elif isinstance(result, list) and all(isinstance(r, RunReport) for r in result):
            reports = list(result)
        for report in reports:
            self.take_report(report)
        # A step left "running" (cancelled, failed before its report) is not known any more.
        left_running = {s for s, status in self.statuses.items() if status == RUNNING}
        if changes:
            # What this action reported is current; everything else may have moved (a file
            # edit makes the restart step pending, a confirmation unblocks the next steps).
            fresh = {o.step_id for r in reports for o in r.outcomes if o.status.value != RUNNING}
            self.stale |= {s.id for s in self.steps} - fresh
        self.stale |= left_running
        if was_refresh:
            for step_id in self.stale:  # the re-check could not say: unknown, not old
                self.statuses[step_id] = UNKNOWN
                self.messages.pop(step_id, None)
            self.stale.clear()
        if error is not None:
            from wizard.redact import redact

            message = getattr(error, "message", None)
            text = message.render() if isinstance(message, Message) else str(error)
            self.notify(redact(text), severity="error", timeout=10)
        if on_done is not None:
            on_done(result, error)
        if self._queued:
            label, task, queued_done, queued_changes = self._queued.pop(0)
            self.run_task(label, task, queued_done, changes=queued_changes)
        elif self.stale:
            self._start_refresh()
        self.tell_screens(EngineIdle)
        self._notify_busy()

    def _notify_busy(self) -> None:
        self.tell_screens(BusyChanged)

    def cancel_run(self) -> bool:
        """Cooperative cancel: the run stops before its next step (never in the middle of one)."""
        if self._worker is None or not self.busy:
            return False
        self._worker.cancel()
        self.notify(t("tui.cancelling"), severity="warning")
        return True

    def take_report(self, report: RunReport) -> None:
        for outcome in report.outcomes:
            self.outcomes[outcome.step_id] = outcome
            self.statuses[outcome.step_id] = outcome.status.value
            self.messages[outcome.step_id] = outcome.message
            if outcome.plan is not None:
                self.plans[outcome.step_id] = outcome.plan.to_json()

    def on_engine_events(self, message: EngineEvents) -> None:
        for event in message.events:
            self.event_history.append(event)
            if event.kind == "run-interrupted" and event.message is not None:
                self.offer_recovery(event.message)
            if event.step_id is None:
                continue
            if event.kind == "step-started":
                self.statuses[event.step_id] = RUNNING
                self.stale.discard(event.step_id)
            elif event.kind in ("step-checked", "step-finished") and event.status is not None:
                self.stale.discard(event.step_id)
                self.statuses[event.step_id] = event.status.value
                if event.message is not None:
                    self.messages[event.step_id] = event.message
            elif event.kind == "plan-ready":
                self.plans[event.step_id] = dict(event.data.get("plan") or {})
                if self._changes and not self.refreshing:
                    # This step is about to change the world: from now on no other step may
                    # show its old status (the restart step's "done" after a listen edit).
                    others = {s.id for s in self.steps} - {event.step_id}
                    self.stale |= {i for i in others if self.statuses.get(i) != RUNNING}
        for screen in self.screen_stack:
            screen.post_message(EngineNews(message.events))

    # -- the engine operations the screens use ----------------------------------------------------

    def run_status(
        self, only: list[str] | None = None, on_done: Done | None = None, *, fresh: bool = False
    ) -> bool:
        """``fresh``: the validate steps measure again instead of reusing a recent result."""

        def task(engine: Engine, worker: Worker[Any]) -> RunReport:
            ctx, runner = engine.ensure()
            ctx.fresh_measurements = fresh
            try:
                return runner.status(only)
            finally:
                ctx.fresh_measurements = False

        return self.run_task(t("tui.run.status"), task, on_done)

    def run_apply(
        self, ids: list[str], *, dry_run: bool = False, on_done: Done | None = None
    ) -> bool:
        """Apply (or dry-run) steps one at a time: Esc cancels between steps, and a failure
        stops the run so the operator can look at it."""

        def task(engine: Engine, worker: Worker[Any]) -> list[RunReport]:
            _, runner = engine.ensure()
            reports: list[RunReport] = []
            with runner.sequence(ids):  # one step's background work serves a later one
                for step_id in ids:
                    if worker.is_cancelled:
                        break
                    report = runner.apply([step_id], dry_run=dry_run, confirm=self.confirm_in_ui)
                    reports.append(report)
                    statuses = {o.status for o in report.outcomes if o.step_id == step_id}
                    if not dry_run and statuses & {Status.FAILED, Status.SKIPPED}:
                        break
            return reports

        label = t("tui.run.dry_run") if dry_run else t("tui.run.apply")
        return self.run_task(label, task, on_done, changes=not dry_run)

    def run_undo(self, ids: list[str], on_done: Done | None = None) -> bool:
        def task(engine: Engine, worker: Worker[Any]) -> RunReport:
            _, runner = engine.ensure()
            return runner.undo(ids)  # the screen asked the operator before starting

        return self.run_task(t("tui.run.undo"), task, on_done, changes=True)

    def offer_recovery(self, message: Message) -> None:
        """A run died midway: ask once whether to finish it or restore the files before it."""
        from screens.interrupted import RESTORE, InterruptedRunScreen

        if self._recovery_offered:
            return
        self._recovery_offered = True

        def chosen(choice: str | None) -> None:
            if choice is None:
                self._recovery_offered = False  # asked again at the next check
                return

            def task(engine: Engine, worker: Worker[Any]) -> RunReport:
                _, runner = engine.ensure()
                return runner.recover(restore=choice == RESTORE)

            label = t("tui.run.recover")
            if self.busy:
                # The check that found the dead run may still be going: run right after it.
                self._queued.append((label, task, None, True))
                self.notify(t("tui.queued", what=label))
            else:
                self.run_task(label, task, changes=True)

        self.push_screen(InterruptedRunScreen(message), chosen)

    def run_document(self) -> bool:
        """Write the as-built document (the checklist's last item) from live checks; say where."""

        def task(engine: Engine, worker: Worker[Any]) -> Any:
            from wizard.steps import asbuilt

            ctx, runner = engine.ensure()
            path = asbuilt.write_checklist_copy(ctx)
            runner.status([asbuilt.STEP_ID])  # the checklist shows it done
            return path

        def done(path: Any, error: BaseException | None) -> None:
            if error is None and path is not None:
                self.notify(t("document.tui.written", path=str(path)), timeout=10)

        return self.run_task(t("document.tui.running"), task, done)

    def run_confirm_manual(self, ids: list[str], on_done: Done | None = None) -> bool:
        def task(engine: Engine, worker: Worker[Any]) -> RunReport:
            _, runner = engine.ensure()
            return runner.confirm_manual(ids)

        return self.run_task(t("tui.run.confirm"), task, on_done, changes=True)

    def confirm_in_ui(self, step: Step, plan: Plan) -> bool:
        """The Runner's confirm callback, called in the worker thread: shows the modal on the
        UI thread and waits for the answer (a cancelled run answers no)."""
        from screens.confirm import ConfirmScreen

        answered = threading.Event()
        box = [False]
        modal = ConfirmScreen(step, plan)

        def done(result: bool | None) -> None:
            box[0] = bool(result)
            answered.set()

        worker = get_current_worker()
        self.call_from_thread(self.push_screen, modal, done)
        while not answered.wait(0.1):
            if worker.is_cancelled:
                return False
        if box[0] and modal.word is not None:
            # A step that checks the typed word itself (the deletion) is handed it.
            from wizard.cleanup_flow import accept_word

            return accept_word(self.engine.ctx if self.engine else None, step, modal.word)
        return box[0]


_LANGUAGE_LINE = re.compile(r"^language:\s*[\"']?([A-Za-z-]+)", re.MULTILINE)


def _language_hint(config_path: Path) -> str | None:
    """The config's top-level ``language:`` read without YAML (for the first frame only; the
    loaded config has the last word)."""
    try:
        text = config_path.read_text(encoding="utf-8-sig", errors="replace")[:20000]
    except OSError:
        return None
    found = _LANGUAGE_LINE.search(text)
    return found.group(1) if found and found.group(1) in ("auto", "en", "pt-BR") else None


def run_tui(
    config_path: Path,
    lang: str | None = None,
) -> int:
    """Open the TUI on ``config_path`` (the first-run form when there is no config). The
    config is read after the first frame (see ``defer_config``)."""
    app = WizardApp(config_path, lang=lang, defer_config=True)
    try:
        app.run()
    finally:
        if app.engine is not None:
            app.engine.close()
    return app.exit_code
