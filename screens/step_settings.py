"""The "Settings" panel of a step's detail screen: the config keys the step depends on, each
editable with the right widget, validated as the operator types with the engine's own config
messages, and saved into fdw-wizard.yaml keeping its comments and layout.

Secrets are never config keys: passwords stay in the OS keyring (the panel says where).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import Input, Select, Static, Switch

from screens.common import place_config_errors, say
from screens.symbols import ERROR_MARK, WARN_MARK
from wizard.config_edit import (
    FieldSpec,
    UnsafeEdit,
    can_edit,
    field_spec,
    get_path,
    set_values,
    text_of_value,
    value_from_text,
)
from wizard.i18n import Message, t

if TYPE_CHECKING:
    from screens.app import WizardApp
    from wizard.config import Config
    from wizard.engine import Step


def warning_for(step: Step, key: str, value: Any) -> Message | None:
    """The honest note for a riskier choice (secure default vs the runbook's literal one), as
    the step declares it."""
    for risk in step.setting_risks:
        if risk.key == key and risk.applies(value):
            return Message("tui.settings.warn." + risk.note)
    return None


# -- the panel --------------------------------------------------------------------------------


def label_key(key: str) -> str:
    """Catalog key of a field's description (both views share theirs)."""
    return "tui.settings.field." + re.sub(r"^views\.[a-z0-9_]+\.", "views.view.", key)


def widget_id(key: str) -> str:
    return "set-" + key.replace(".", "-")


class SettingsPanel(Vertical):
    """The settings of one step. The screen owns it; Ctrl+S on the screen calls ``save``."""

    def __init__(self, step: Step, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.step = step
        self.specs = [field_spec(key) for key in step.settings_keys]
        self.original: dict[str, Any] = {}
        self.read_only: set[str] = set()
        self.no_file = False
        self.errors: dict[str, list[Message]] = {}
        self.general: list[Message] = []
        self._load()

    @property
    def wapp(self) -> WizardApp:
        return self.app  # type: ignore[return-value]

    @property
    def path(self) -> Path:
        return self.wapp.config_path

    @property
    def editable(self) -> list[FieldSpec]:
        return [s for s in self.specs if s.key not in self.read_only]

    def _load(self) -> None:
        """Current values (the app's config) and which keys this file lets us edit."""
        from screens.app import WizardApp

        app = self.app if isinstance(self.app, WizardApp) else None
        config: Config | None = app.config if app is not None else None
        if config is None:
            from wizard.config import Config as ConfigModel

            config = ConfigModel()
        dump = config.model_dump(mode="json", by_alias=True)
        self.original = {s.key: get_path(dump, s.key) for s in self.specs}
        self.read_only = set()
        try:
            text = self.path.read_text(encoding="utf-8-sig") if app is not None else ""
        except OSError:
            text = None
        self.no_file = text is None
        for spec in self.specs:
            if text is None or not can_edit(text, spec.key, self.original[spec.key]):
                self.read_only.add(spec.key)

    def compose(self) -> ComposeResult:
        yield Static(markup=False, id="set-intro", classes="set-intro")
        for spec in self.specs:
            wid = widget_id(spec.key)
            value = self.original.get(spec.key)
            yield Static(markup=False, id=wid + "-label", classes="set-label")
            if spec.key in self.read_only:
                yield Static(markup=False, id=wid + "-ro", classes="set-ro")
            elif spec.kind == "bool":
                with Horizontal(classes="set-switch"):
                    yield Switch(value=bool(value), id=wid)
                    yield Static(
                        text_of_value(bool(value)),
                        id=wid + "-word",
                        classes="set-word",
                        markup=False,
                    )
            elif spec.kind == "choice":
                options = [(choice, choice) for choice in spec.choices]
                yield Select(options, value=str(value), allow_blank=False, id=wid)
            else:
                yield Input(value=text_of_value(value), id=wid)
            yield Static(markup=False, id=wid + "-msg", classes="set-msg")
        yield Static(markup=False, id="set-general", classes="error")
        yield Static(markup=False, id="set-secret", classes="muted")

    def on_mount(self) -> None:
        self.refresh_texts()

    def first_field(self) -> Widget | None:
        for spec in self.editable:
            return self.query_one("#" + widget_id(spec.key))
        return None

    # -- values and validation -------------------------------------------------------------------

    def values(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for spec in self.editable:
            widget = self.query_one("#" + widget_id(spec.key))
            if isinstance(widget, Switch):
                found[spec.key] = bool(widget.value)
            elif isinstance(widget, Select):
                found[spec.key] = (
                    self.original[spec.key] if widget.is_blank() else str(widget.value)
                )
            elif isinstance(widget, Input):
                found[spec.key] = value_from_text(spec.kind, widget.value)
        return found

    def edits(self) -> dict[str, Any]:
        return {k: v for k, v in self.values().items() if v != self.original.get(k)}

    def validate(self) -> tuple[str, Any] | None:
        """(new file text, Config) for the edits, or None after showing the engine's messages
        under their fields. Never writes."""
        from wizard.config import ConfigError, parse_config

        self.errors, self.general = {}, []
        result: tuple[str, Any] | None = None
        try:
            text = self.path.read_text(encoding="utf-8-sig")
            new = set_values(text, self.edits())
            result = (new, parse_config(new, self.path))
        except OSError as exc:
            self.general.append(
                Message("tui.settings.save_failed", {"path": str(self.path), "error": str(exc)})
            )
        except UnsafeEdit as exc:
            self.general.append(
                Message("tui.settings.read_only", {"key": exc.key, "path": str(self.path)})
            )
        except ConfigError as exc:
            keys = {s.key for s in self.specs}
            place_config_errors(exc.messages, keys, self.errors, self.general)
        self.render_messages()
        return result

    def render_messages(self) -> None:
        values = self.values()
        for spec in self.specs:
            wid = widget_id(spec.key)
            lines = Text()
            for message in self.errors.get(spec.key, []):
                lines.append(
                    ("\n" if lines else "") + ERROR_MARK + " " + say(message), style="bold red"
                )
            value = values.get(spec.key, self.original.get(spec.key))
            warning = warning_for(self.step, spec.key, value)
            if warning is not None:
                lines.append(
                    ("\n" if lines else "") + WARN_MARK + " " + say(warning), style="yellow"
                )
            if spec.key in values and values[spec.key] != self.original.get(spec.key):
                lines.append(("\n" if lines else "") + t("tui.settings.unsaved"), style="italic")
            box = self.query_one("#" + wid + "-msg", Static)
            box.update(lines)
            box.display = bool(lines)
            if spec.key not in self.read_only:
                self.query_one("#" + wid).set_class(bool(self.errors.get(spec.key)), "-invalid")
        general = self.query_one("#set-general", Static)
        general.update("\n".join(ERROR_MARK + " " + say(m) for m in self.general))
        general.display = bool(self.general)

    def refresh_texts(self) -> None:
        self.border_title = t("tui.settings.title")
        intro = "tui.settings.no_file" if self.no_file else "tui.settings.intro"
        self.query_one("#set-intro", Static).update(t(intro, path=str(self.path)))
        for spec in self.specs:
            wid = widget_id(spec.key)
            label = Text(spec.key, style="bold")
            label.append("  " + t(label_key(spec.key)))
            if spec.kind == "list" and spec.key not in self.read_only:
                label.append("  (" + t("tui.settings.list_hint") + ")", style="italic")
            self.query_one("#" + wid + "-label", Static).update(label)
            if spec.key in self.read_only:
                value = text_of_value(self.original.get(spec.key)) or '""'
                self.query_one("#" + wid + "-ro", Static).update(
                    t("tui.settings.read_only_value", value=value, path=str(self.path))
                )
        secrets = self.step.secret_keys
        note = self.query_one("#set-secret", Static)
        note.update("\n".join(t("tui.settings.secret_note", secret=name) for name in secrets))
        note.display = bool(secrets)
        self.render_messages()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.validate()

    def on_switch_changed(self, event: Switch.Changed) -> None:
        event.stop()
        word = self.query_one("#" + (event.switch.id or "") + "-word", Static)
        word.update(text_of_value(bool(event.value)))
        self.validate()

    def on_select_changed(self, event: Select.Changed) -> None:
        event.stop()
        self.validate()

    # -- saving ----------------------------------------------------------------------------------

    def save(self) -> Config | None:
        """Write the edits (atomic, validated as a whole, comments kept); the new Config, or
        None with the reason shown (the file is then untouched)."""
        from wizard.config import ConfigError
        from wizard.config_edit import edit_config_file

        app = self.wapp
        if app.busy:
            self.notify(t("tui.settings.busy"), severity="warning")
            return None
        edits = self.edits()
        if not edits:
            self.notify(t("tui.settings.unchanged"))
            return None
        if self.validate() is None:
            self.notify(t("tui.settings.fix_errors"), severity="error", timeout=8)
            return None
        try:
            return edit_config_file(self.path, edits)
        except (OSError, ConfigError, UnsafeEdit) as exc:
            if isinstance(exc, ConfigError):
                error = "; ".join(say(m) for m in exc.messages)
            else:
                error = say(exc.message) if isinstance(exc, UnsafeEdit) else str(exc)
            self.general = [
                Message("tui.settings.save_failed", {"path": str(self.path), "error": error})
            ]
            self.render_messages()
            return None

    def reset(self) -> None:
        """After a save: the saved values become the originals."""
        self._load()
        self.errors, self.general = {}, []
        self.refresh_texts()
