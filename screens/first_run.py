"""First run: the few settings a new site needs, validated inline with the engine's own config
messages, written with ``wizard.config``; passwords go to the keyring (never shown, never in
the YAML)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Checkbox, Input, Static
from textual.worker import Worker, WorkerState

from screens.common import LanguageChanged, WizardScreen, place_config_errors, say
from screens.keys import BACK, LANGUAGE, key_table
from screens.keys import key as key_entry
from screens.symbols import ERROR_MARK
from wizard.i18n import Message, t

if TYPE_CHECKING:
    from wizard.engine import Step

# The form's widget for each kind of config value (wizard.config_edit.field_spec).
FORM_KIND = {"bool": "bool", "int": "int", "int_or_auto": "int", "list": "list"}


def form_fields(steps: list[Step]) -> list[tuple[str, str]]:
    """(config key or "secret:<name>", kind): what the steps say a new site must give, in
    checklist order, each step's secrets after its keys."""
    from wizard.config_edit import field_spec

    fields: list[tuple[str, str]] = []
    for step in steps:
        if not step.first_run_keys:
            continue
        for key in step.first_run_keys:
            if all(key != known for known, _ in fields):
                fields.append((key, FORM_KIND.get(field_spec(key).kind, "text")))
        fields += [("secret:" + name, "password") for name in step.secret_keys]
    return fields


def required_keys(fields: list[tuple[str, str]]) -> list[str]:
    """The text fields without a default: nothing works until the operator fills them."""
    from wizard.config import Config
    from wizard.config_edit import get_path

    defaults = Config().model_dump(mode="json", by_alias=True)
    return [key for key, kind in fields if kind == "text" and get_path(defaults, key) == ""]


def field_id(key: str) -> str:
    return "f-" + key.replace(".", "-").replace(":", "-")


def _get(config: Any, key: str) -> Any:
    value = config
    for part in key.split("."):
        value = getattr(value, part)
    return value


class MarkedCheckbox(Checkbox):
    """A checkbox whose mark is a character: ``[X]`` on, ``[ ]`` off (Textual's own differs
    only by colour, invisible under NO_COLOR and on a monochrome console)."""

    BUTTON_LEFT = "["
    BUTTON_RIGHT = "]"

    @property
    def _button(self) -> Content:
        style = self.get_visual_style("toggle--button")
        return Content.assemble("[", ("X" if self.value else " ", style), "]")


class FirstRunScreen(WizardScreen):
    CSS_PATH = "first_run.tcss"
    KEYS, BINDINGS = key_table(
        key_entry("Tab", "tui.key.next_field"),
        key_entry("Ctrl+S", "tui.key.save", Binding("ctrl+s", "save", show=False, priority=True)),
        BACK,
        LANGUAGE,
    )

    def __init__(self) -> None:
        super().__init__()
        self.errors: dict[str, list[Message]] = {}
        self.general: list[Message] = []
        self.secret_problems: dict[str, str] = {}
        self.fields: list[tuple[str, str]] = []
        self.required: list[str] = []

    def compose(self) -> ComposeResult:
        from wizard.config import Config

        base = self.wapp.config or Config()
        self.fields = form_fields(self.wapp.steps)
        self.required = required_keys(self.fields)
        yield Static(markup=False, id="title", classes="title")
        with VerticalScroll(id="form"):
            yield Static(markup=False, id="intro")
            for key, kind in self.fields:
                fid = field_id(key)
                yield Static(markup=False, id=fid + "-label", classes="label")
                if kind == "bool":
                    yield MarkedCheckbox(id=fid, value=bool(_get(base, key)))
                elif kind == "password":
                    yield Input(id=fid, password=True)
                else:
                    value = _get(base, key)
                    text = ", ".join(value) if isinstance(value, list) else str(value)
                    yield Input(value=text, id=fid)
                yield Static(markup=False, id=fid + "-error", classes="error")
            yield Static(markup=False, id="general", classes="error")
        yield self.key_bar()

    def on_mount(self) -> None:
        self.refresh_texts()
        self.query_one("#" + field_id(self.fields[0][0]), Input).focus()

    def refresh_texts(self) -> None:
        super().refresh_texts()
        self.query_one("#title", Static).update(
            t("tui.form.title", path=str(self.wapp.config_path))
        )
        self.query_one("#intro", Static).update(t("tui.form.intro"))
        for key, _kind in self.fields:
            fid = field_id(key)
            label_key = "tui.form." + key.replace("secret:", "secret.")
            self.query_one("#" + fid + "-label", Static).update(
                Text(t(label_key), style="bold") + Text("  " + t(label_key + ".help"))
            )
            if key == "exposure.acknowledge_open_to_internet":
                self.query_one("#" + fid, Checkbox).label = t("tui.form.acknowledge_box")
        self._render_errors()

    # -- validation -----------------------------------------------------------------------------

    def form_data(self) -> dict[str, Any]:
        """The nested YAML mapping the form describes (passwords excluded)."""
        from wizard.config import Config
        from wizard.config_edit import value_from_text

        data: dict[str, Any] = (self.wapp.config or Config()).model_dump(mode="json", by_alias=True)
        for key, kind in self.fields:
            if kind == "password":
                continue
            widget = self.query_one("#" + field_id(key))
            raw = widget.value  # type: ignore[attr-defined]
            value = value_from_text(kind, bool(raw) if kind == "bool" else raw)
            section, name = key.split(".", 1)
            data.setdefault(section, {})[name] = value
        return data

    def validate_form(self) -> Any:
        """The Config, or None after showing each engine message under its field."""
        from wizard.config import ConfigError, parse_config
        from wizard.config_edit import get_path

        self.errors = {}
        self.general = []
        data = self.form_data()
        config = None
        try:
            import yaml  # only when saving: never on the path to the first frame

            config = parse_config(yaml.safe_dump(data, sort_keys=False), self.wapp.config_path)
        except ConfigError as exc:
            keys = {k for k, _ in self.fields}
            place_config_errors(exc.messages, keys, self.errors, self.general)
        for key in self.required:
            if not str(get_path(data, key) or "").strip():
                self.errors.setdefault(key, []).append(Message("tui.form.required", {"key": key}))
        self._render_errors()
        return config if not self.errors and not self.general else None

    def _render_errors(self) -> None:
        for key, _kind in self.fields:
            fid = field_id(key)
            messages = [say(m) for m in self.errors.get(key, [])]
            if key in self.secret_problems:
                messages.append(self.secret_problems[key])
            box = self.query_one("#" + fid + "-error", Static)
            box.update("\n".join(f"{ERROR_MARK} {m}" for m in messages))
            box.display = bool(messages)
            widget = self.query_one("#" + fid)
            widget.set_class(bool(self.errors.get(key)), "-invalid")
        general = self.query_one("#general", Static)
        general.update("\n".join(f"{ERROR_MARK} {say(m)}" for m in self.general))
        general.display = bool(self.general)

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.password:
            return
        self.validate_form()

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        self.validate_form()

    # -- saving ---------------------------------------------------------------------------------

    def action_save(self) -> None:
        config = self.validate_form()
        if config is None:
            self.notify(t("tui.form.fix_errors"), severity="error")
            return
        secrets: dict[str, str] = {}
        for key, kind in self.fields:
            if kind == "password":
                widget = self.query_one("#" + field_id(key), Input)
                if widget.value:
                    secrets[key] = widget.value
                widget.value = ""  # do not keep the password around in the widget
        self._save(config, self.wapp.config_path, secrets)

    @work(thread=True, exclusive=True, group="save", exit_on_error=False)
    def _save(self, config: Any, path: Path, secrets: dict[str, str]) -> tuple[Any, dict[str, str]]:
        from wizard.config import save_config
        from wizard.context import make_secret_store
        from wizard.secrets import SecretsError

        save_config(config, path, header="# Written by the fdw-wizard first-run form.")
        problems: dict[str, str] = {}
        if secrets:
            store = make_secret_store(config, path, interactive=False)
            for key, value in secrets.items():
                name = key.split(":", 1)[1]
                try:
                    store.set(name, value)
                except SecretsError as exc:
                    text = say(exc.message)
                    if exc.fix is not None:
                        text += " " + t("tui.fix") + " " + say(exc.fix)
                    problems[key] = text
        return config, problems

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "save":
            return
        if event.state is WorkerState.ERROR:
            self.general = [Message("tui.form.save_failed", {"error": str(event.worker.error)})]
            self._render_errors()
        elif event.state is WorkerState.SUCCESS:
            assert event.worker.result is not None
            config, problems = event.worker.result
            self.secret_problems = problems
            self.wapp.use_config(config, self.wapp.config_path)
            if problems:
                self._render_errors()
                self.notify(t("tui.form.saved_secret_problem"), severity="warning", timeout=10)
                return
            self.notify(t("tui.form.saved"))
            self._to_welcome()

    def _to_welcome(self) -> None:
        from screens.welcome import WelcomeScreen

        if len(self.app.screen_stack) > 2:
            self.app.pop_screen()
            self.wapp.tell_screens(LanguageChanged)  # the screen below re-renders its texts
        else:
            self.app.switch_screen(WelcomeScreen())

    def go_back(self) -> None:
        if self.wapp.config is not None or len(self.app.screen_stack) > 2:
            self._to_welcome()
        else:
            self.wapp.exit_code = 3  # operator action needed: there is no config yet
            self.app.exit()
