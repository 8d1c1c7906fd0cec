"""Welcome: language, what to do (guided setup, resume, troubleshoot, sandbox rehearsal), and
the health of what the wizard depends on (config, keyring, elevation), each with its fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState

from screens.common import WizardScreen, say
from screens.keys import LANGUAGE, key, key_table
from wizard.i18n import current_language, t

MODES = ("guided", "resume", "troubleshoot", "sandbox")


class WelcomeScreen(WizardScreen):
    CSS_PATH = "welcome.tcss"
    KEYS, BINDINGS = key_table(
        key("Enter", "tui.key.choose"),
        key("1-4", "tui.key.mode", *((str(n), f"mode('{m}')") for n, m in enumerate(MODES, 1))),
        key("n", "tui.key.new_config", ("n", "new_config")),
        LANGUAGE,
        key("Ctrl+Q", "tui.key.quit"),
    )

    def __init__(self) -> None:
        super().__init__()
        self.env: dict[str, Any] | None = None
        self.sandbox_note: str | None = None

    def compose(self) -> ComposeResult:
        yield Static(markup=False, id="title", classes="title")
        yield Static(markup=False, id="language")
        yield Static(markup=False, id="question")
        yield OptionList(id="modes")
        yield Static(markup=False, id="note", classes="muted")
        with VerticalScroll(id="health-box"):
            yield Static(markup=False, id="health")
        yield self.key_bar()

    def on_mount(self) -> None:
        self.refresh_texts()
        self.query_one("#modes", OptionList).focus()
        if self.wapp.environment is not None:
            self.env = dict(self.wapp.environment)
            self._render_health()
        elif self.wapp.auto_probe and not self.wapp.config_loading:
            self._probe_environment()

    def config_loaded(self) -> None:
        """The app read its config after the first frame: show it, then probe with it."""
        self._render_health()
        if self.wapp.environment is None and self.wapp.auto_probe:
            self._probe_environment()

    # -- texts ---------------------------------------------------------------------------------

    def refresh_texts(self) -> None:
        super().refresh_texts()
        self.query_one("#title", Static).update(t("tui.welcome.title"))
        other = "en" if current_language() == "pt-BR" else "pt-BR"
        self.query_one("#language", Static).update(
            t(
                "tui.welcome.language",
                current=t("tui.language." + current_language()),
                other=t("tui.language." + other),
            )
        )
        self.query_one("#question", Static).update(t("tui.welcome.question"))
        modes = self.query_one("#modes", OptionList)
        highlighted = modes.highlighted
        modes.clear_options()
        modes.add_options(
            [
                Option(f"{i + 1}. {t('tui.mode.' + m)}  - {t('tui.mode.' + m + '.hint')}", id=m)
                for i, m in enumerate(MODES)
            ]
        )
        modes.highlighted = highlighted if highlighted is not None else 0
        self._render_health()
        note = self.query_one("#note", Static)
        note.update(self.sandbox_note or "")
        note.display = bool(self.sandbox_note)
        self.query_one("#health-box").border_title = t("tui.welcome.health")

    def _show_note(self) -> None:
        note = self.query_one("#note", Static)
        note.update(self.sandbox_note or "")
        note.display = bool(self.sandbox_note)

    def _render_health(self) -> None:
        app = self.wapp
        text = Text()
        text.append(t("tui.welcome.config") + " ", style="bold")
        text.append(str(app.config_path) + "\n")
        if app.config_loading:
            text.append("  " + t("tui.welcome.checking") + "\n")
        elif app.config_problems:
            text.append("  [XX] " + t("tui.welcome.config_invalid") + "\n", style="bold")
            for problem in app.config_problems[:4]:
                text.append("       " + say(problem) + "\n")
            text.append("       " + t("tui.welcome.config_fix") + "\n")
        elif app.config is None:
            text.append("  [!!] " + t("tui.welcome.config_missing") + "\n")
        else:
            kind = t("tui.welcome.sandbox") if app.config.sandbox else t("tui.welcome.real_site")
            text.append("  [OK] " + t("tui.welcome.config_ok", kind=kind) + "\n")
        self._probed(text, "tui.welcome.elevation", "elevation", self._elevation_line)
        self._probed(text, "tui.welcome.keyring", "keyring", self._keyring_line)
        self.query_one("#health", Static).update(text)

    def _probed(self, text: Text, label_key: str, env_key: str, line: Any) -> None:
        """One probed dependency: checking, unknown, or its verdict line and fix."""
        text.append(t(label_key) + " ", style="bold")
        found = None if self.env is None else self.env.get(env_key)
        if found is None:
            waiting = "tui.welcome.checking" if self.env is None else "tui.welcome.unknown"
            text.append(t(waiting) + "\n")
            return
        verdict, fix = line(found)
        text.append(verdict + "\n")
        if fix is not None:
            text.append("       " + t("tui.fix") + " " + say(fix) + "\n")

    @staticmethod
    def _elevation_line(elevation: Any) -> tuple[str, Any]:
        if elevation.elevated:
            return "[OK] " + say(elevation.message), None
        return "[!!] " + say(elevation.message), elevation.relaunch

    def _keyring_line(self, report: Any) -> tuple[str, Any]:
        if report.usable:
            note = t("tui.welcome.insecure") if report.insecure else ""
            return f"[OK] {report.name}{note}", None
        path = self._sandbox_secrets()
        if path is not None:
            # The rehearsal keeps its throwaway passwords in its own file: nothing to fix.
            return "[OK] " + t("tui.welcome.sandbox_secrets", path=str(path)), None
        return f"[XX] {report.name}: {say(report.problem)}", report.fix

    def _sandbox_secrets(self) -> Path | None:
        """The sandbox's own secrets file, when this config is a sandbox that has one."""
        app = self.wapp
        if app.config is None or not app.config.sandbox:
            return None
        from wizard.secrets import sandbox_secrets_path

        path = sandbox_secrets_path(app.config_path)
        return path if path.exists() else None

    # -- probes --------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="environment", exit_on_error=False)
    def _probe_environment(self) -> dict[str, Any]:
        from wizard.dwhost.platform import check_elevation
        from wizard.secrets import SecretStore

        app = self.wapp
        result: dict[str, Any] = {}
        try:
            if app.config is not None:
                from wizard.context import make_secret_store

                store = make_secret_store(app.config, app.config_path, interactive=False)
            else:
                store = SecretStore()
            result["keyring"] = store.backend_report()
        except Exception:
            result["keyring"] = None
        data_dir = None
        if app.config is not None and app.config.local.data_dir != "auto":
            data_dir = app.config.local.data_dir
        try:
            result["elevation"] = check_elevation(data_dir=data_dir)
        except Exception:
            result["elevation"] = None
        return result

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group == "environment" and event.state is WorkerState.SUCCESS:
            self.env = worker.result
            self._render_health()
        elif worker.group == "sandbox" and event.state in (WorkerState.SUCCESS, WorkerState.ERROR):
            self._sandbox_finished(worker)

    # -- modes ---------------------------------------------------------------------------------

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            self.action_mode(event.option.id)

    def action_mode(self, mode: str) -> None:
        from screens.checklist import ChecklistScreen
        from screens.troubleshoot import TroubleshootScreen

        app = self.wapp
        if app.config_loading and mode != "troubleshoot":
            self.notify(t("tui.config_still_loading"), severity="warning")
            return
        if mode == "troubleshoot":
            self.app.push_screen(TroubleshootScreen())
            return
        if mode == "sandbox":
            if app.config is not None and app.config.sandbox:
                self.app.push_screen(ChecklistScreen(mode="guided"))
            else:
                self._start_sandbox()
            return
        if app.config is None:
            self.notify(t("tui.welcome.need_config"), severity="warning")
            return
        self.app.push_screen(ChecklistScreen(mode=mode))

    def action_new_config(self) -> None:
        from screens.first_run import FirstRunScreen

        self.app.push_screen(FirstRunScreen())

    def _start_sandbox(self) -> None:
        if self.wapp.busy:
            self.notify(t("tui.busy", what=self.wapp.busy_label or ""), severity="warning")
            return
        self.sandbox_note = t("tui.welcome.sandbox_starting")
        self._show_note()
        self._sandbox_worker()

    @work(thread=True, exclusive=True, group="sandbox", exit_on_error=False)
    def _sandbox_worker(self) -> Path:
        from wizard.engine import StepError
        from wizard.testbed import sandbox

        directory = sandbox.default_dir()
        try:
            return sandbox.start(directory).config_path
        except StepError as exc:
            existing = Path(directory) / sandbox.CONFIG_NAME
            if exc.message.key == "sandbox.already_running" and existing.exists():
                return existing  # the rehearsal is already up: use it
            raise

    def _sandbox_finished(self, worker: Worker[Any]) -> None:
        from screens.checklist import ChecklistScreen
        from wizard.config import ConfigError, load_config

        if worker.state is WorkerState.ERROR:
            error = worker.error
            message = getattr(error, "message", None)
            fix = getattr(error, "fix", None)
            self.sandbox_note = " ".join(x for x in (say(message or str(error)), say(fix)) if x)
            self._show_note()
            return
        path = Path(str(worker.result))
        try:
            config = load_config(path)
        except ConfigError as exc:
            self.sandbox_note = "; ".join(say(m) for m in exc.messages)
            self._show_note()
            return
        self.wapp.use_config(config, path)
        self.sandbox_note = t("tui.welcome.sandbox_ready", path=str(path))
        self.refresh_texts()
        self.app.push_screen(ChecklistScreen(mode="guided"))
