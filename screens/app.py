"""The App: language, the current config and session, engine runs in thread workers, and the
event flow from the engine to whichever screens are open."""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.timer import Timer
from textual.worker import Worker, get_current_worker

from screens.bridge import Engine, EngineEvents, EventBatcher
from screens.symbols import RUNNING, UNKNOWN
from screens.theme import css_variables
from wizard.engine import Event, Plan, RunReport, Status, Step, StepOutcome
from wizard.i18n import Message, current_language, detect_language, set_language, t

if TYPE_CHECKING:
    from wizard.config import Config

# A task runs in the engine worker: (engine, worker) -> result.
Task = Callable[[Engine, Worker[Any]], Any]
Done = Callable[[Any, BaseException | None], None]


class WizardApp(App[int]):
    CSS_PATH = "app.tcss"
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
    ) -> None:
        """``auto_probe`` False: screens do not start probes by themselves (snapshots);
        ``environment`` pins what the welcome screen would probe (keyring, elevation)."""
        super().__init__()
        self.config_path = Path(config_path)
        self.config = config
        self.config_problems = list(config_problems or [])
        self.auto_probe = auto_probe
        self.environment = environment
        chosen = lang or (config.language if config and config.language != "auto" else None)
        set_language(chosen or detect_language())
        self.engine: Engine | None = None
        self.batcher = EventBatcher(self)
        self.event_history: deque[Event] = deque(maxlen=2000)
        self.statuses: dict[str, str] = {}
        self.messages: dict[str, Message] = {}
        self.outcomes: dict[str, StepOutcome] = {}
        self.plans: dict[str, dict[str, Any]] = {}
        self.busy_label: str | None = None
        self.busy_since = 0.0
        self._worker: Worker[Any] | None = None
        self._drain: Timer | None = None
        self._steps: list[Step] | None = None
        self.exit_code = 0

    # -- setup -------------------------------------------------------------------------------

    def get_css_variables(self) -> dict[str, str]:
        return {**super().get_css_variables(), **css_variables()}

    def on_mount(self) -> None:
        from screens.first_run import FirstRunScreen
        from screens.welcome import WelcomeScreen

        self._drain = self.set_interval(0.05, self.batcher.flush, pause=True)
        if self.config is None and not self.config_problems:
            self.push_screen(FirstRunScreen())
        else:
            self.push_screen(WelcomeScreen())
        self.load_state_statuses()

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
        from wizard.state import StateStore

        for step_id, entry in StateStore(self.config_path).steps().items():
            status = entry.get("status")
            if isinstance(status, str) and step_id not in self.statuses:
                self.statuses[step_id] = status
                message = entry.get("message")
                if isinstance(message, dict) and isinstance(message.get("key"), str):
                    self.messages[step_id] = Message(message["key"], message.get("params") or {})

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

    def status_of(self, step_id: str) -> str:
        return self.statuses.get(step_id, UNKNOWN)

    # -- language ------------------------------------------------------------------------------

    def action_switch_language(self) -> None:
        set_language("en" if current_language() == "pt-BR" else "pt-BR")
        for screen in self.screen_stack:
            refresh = getattr(screen, "refresh_texts", None)
            if refresh is not None:
                refresh()

    # -- engine runs -----------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return self.busy_label is not None

    def run_task(self, label: str, task: Task, on_done: Done | None = None) -> bool:
        """Run ``task`` in the engine worker; False (and a notice) when one is already going:
        the session's connections serve one run at a time."""
        if self.busy:
            self.notify(t("tui.busy", what=self.busy_label or ""), severity="warning")
            return False
        if self.config is None:
            self.notify(t("tui.no_config"), severity="error")
            return False
        if self.engine is None:
            self.engine = Engine(self.config, self.config_path, self.batcher)
        self.busy_label = label
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
        with contextlib.suppress(RuntimeError):  # the app is closing
            self.call_from_thread(self._task_done, result, error, on_done)

    def _task_done(self, result: Any, error: BaseException | None, on_done: Done | None) -> None:
        self.busy_label = None
        self._worker = None
        if self._drain is not None:
            self._drain.pause()
        self.batcher.flush()
        if isinstance(result, RunReport):
            self.take_report(result)
        elif isinstance(result, list) and all(isinstance(r, RunReport) for r in result):
            for report in result:
                self.take_report(report)
        if error is not None:
            from wizard.redact import redact

            message = getattr(error, "message", None)
            text = message.render() if isinstance(message, Message) else str(error)
            self.notify(redact(text), severity="error", timeout=10)
        if on_done is not None:
            on_done(result, error)
        for screen in self.screen_stack:
            idle = getattr(screen, "engine_idle", None)
            if idle is not None:
                idle()
        self._notify_busy()

    def _notify_busy(self) -> None:
        for screen in self.screen_stack:
            changed = getattr(screen, "busy_changed", None)
            if changed is not None:
                changed()

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
            if event.step_id is None:
                continue
            if event.kind == "step-started":
                self.statuses[event.step_id] = RUNNING
            elif event.kind in ("step-checked", "step-finished") and event.status is not None:
                self.statuses[event.step_id] = event.status.value
                if event.message is not None:
                    self.messages[event.step_id] = event.message
            elif event.kind == "plan-ready":
                self.plans[event.step_id] = dict(event.data.get("plan") or {})
        for screen in self.screen_stack:
            handler = getattr(screen, "engine_events", None)
            if handler is not None:
                handler(message.events)

    # -- the engine operations the screens use ----------------------------------------------------

    def run_status(self, only: list[str] | None = None, on_done: Done | None = None) -> bool:
        def task(engine: Engine, worker: Worker[Any]) -> RunReport:
            _, runner = engine.ensure()
            return runner.status(only)

        return self.run_task(t("tui.run.status"), task, on_done)

    def run_apply(
        self, ids: list[str], *, dry_run: bool = False, on_done: Done | None = None
    ) -> bool:
        """Apply (or dry-run) steps one at a time: Esc cancels between steps, and a failure
        stops the run so the operator can look at it."""

        def task(engine: Engine, worker: Worker[Any]) -> list[RunReport]:
            _, runner = engine.ensure()
            reports: list[RunReport] = []
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
        return self.run_task(label, task, on_done)

    def run_undo(self, ids: list[str], on_done: Done | None = None) -> bool:
        def task(engine: Engine, worker: Worker[Any]) -> RunReport:
            _, runner = engine.ensure()
            return runner.undo(ids)  # the screen asked the operator before starting

        return self.run_task(t("tui.run.undo"), task, on_done)

    def run_confirm_manual(self, ids: list[str], on_done: Done | None = None) -> bool:
        def task(engine: Engine, worker: Worker[Any]) -> RunReport:
            _, runner = engine.ensure()
            return runner.confirm_manual(ids)

        return self.run_task(t("tui.run.confirm"), task, on_done)

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
        if box[0] and modal.word is not None and step.id == "cleanup.dedupe":
            # The deletion checks the typed word itself (whatever the driver): hand it over.
            from wizard.steps import cleanup

            return cleanup.authorize(self.engine.ctx if self.engine else None, modal.word)
        return box[0]


def run_tui(
    config_path: Path,
    lang: str | None = None,
) -> int:
    """Open the TUI on ``config_path`` (the first-run form when there is no config)."""
    from wizard.config import ConfigError, ConfigMissing, load_config

    config: Config | None = None
    problems: list[Message] = []
    try:
        config = load_config(config_path)
    except ConfigMissing:
        pass
    except ConfigError as exc:
        problems = exc.messages
    app = WizardApp(config_path, lang=lang, config=config, config_problems=problems)
    try:
        app.run()
    finally:
        if app.engine is not None:
            app.engine.close()
    return app.exit_code
