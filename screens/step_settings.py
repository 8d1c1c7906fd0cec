"""The "Settings" panel of a step's detail screen: the config keys the step depends on, each
editable with the right widget, validated as the operator types with the engine's own config
messages, and saved into fdw-wizard.yaml keeping its comments and layout.

Secrets are never config keys: passwords stay in the OS keyring (the panel says where).
"""

from __future__ import annotations

import ipaddress
import json
import re
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import Input, Select, Static, Switch

from screens.common import say
from wizard.i18n import Message, t

if TYPE_CHECKING:
    from screens.app import WizardApp
    from wizard.config import Config

# Step id -> the config keys (YAML paths) it depends on, in the order the operator reads them.
STEP_KEYS: dict[str, tuple[str, ...]] = {
    "prereq.local-connection": ("local.host", "local.port", "local.database", "local.superuser"),
    "prereq.supabase-connection": (
        "supabase.host",
        "supabase.port",
        "supabase.database",
        "supabase.user",
        "supabase.project_url",
        "supabase.sslmode",
    ),
    "prereq.exposure": (
        "exposure.public_host",
        "exposure.public_port",
        "exposure.online_ip_lookup",
    ),
    "local.listen": ("exposure.listen_addresses", "exposure.listen_port"),
    "local.tls": (
        "exposure.tls.enabled",
        "exposure.tls.mode",
        "exposure.tls.cert_file",
        "exposure.tls.key_file",
    ),
    "local.hba": (
        "exposure.allowed_cidrs",
        "exposure.acknowledge_open_to_internet",
        "exposure.hba_connection_type",
    ),
    "local.reload": ("local.control", "local.service"),
    "local.reader-role": ("reader.name", "reader.tables_owner", "reader.connection_limit"),
    "local.firewall": ("exposure.listen_port", "exposure.allowed_cidrs"),
    "supabase.server": (
        "fdw.server_name",
        "fdw.fetch_size",
        "fdw.connect_timeout_s",
        "fdw.keepalives_idle_s",
        "fdw.tcp_user_timeout_ms",
    ),
    "supabase.user-mappings": ("fdw.map_roles",),
    "supabase.import": ("fdw.target_schema", "fdw.tables", "local.source_schema"),
    "views.clientes-360": (
        "views.clientes_360.enabled",
        "views.clientes_360.schema",
        "views.clientes_360.security_invoker",
        "views.clientes_360.grant_to",
    ),
    "views.frota-360": (
        "views.frota_360.enabled",
        "views.frota_360.schema",
        "views.frota_360.security_invoker",
        "views.frota_360.grant_to",
    ),
    "app.rest-check": ("supabase.project_url",),
    "app.fallback": ("fallback.bucket", "fallback.max_age_hours"),
    "validate.latency": (
        "validation.latency_target_ms",
        "validation.samples",
        "validation.reuse_minutes",
    ),
    "validate.offline": ("validation.offline_probe_host",),
    "validate.monitor": ("validation.monitor_window_hours",),
    "cleanup.backup": ("cleanup.backup_scope", "cleanup.backup_dir"),
    "cleanup.dedupe": ("cleanup.mode",),
}

# Steps whose password the operator may look for here: where it really lives.
STEP_SECRETS: dict[str, str] = {
    "prereq.local-connection": "local-superuser",
    "prereq.supabase-connection": "supabase-db",
    "local.reader-role": "reader",
    "app.rest-check": "supabase-anon-key",
}


def all_keys() -> list[str]:
    return sorted({key for keys in STEP_KEYS.values() for key in keys})


# -- the model: what kind of value each key holds --------------------------------------------


@dataclass(frozen=True)
class FieldSpec:
    key: str  # YAML path, e.g. exposure.tls.enabled (aliases, as in the file)
    kind: str  # bool | choice | int | int_or_auto | list | text
    choices: tuple[str, ...]
    description: str  # the pydantic model's (English) description


def _model_field(model: Any, name: str) -> Any:
    fields = model.model_fields
    if name in fields:
        return fields[name]
    return next(info for info in fields.values() if info.alias == name)


def field_spec(key: str) -> FieldSpec:
    from wizard.config import Config

    model: Any = Config
    info: Any = None
    for part in key.split("."):
        info = _model_field(model, part)
        model = info.annotation
    annotation = info.annotation
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    kind = "text"
    choices: tuple[str, ...] = ()
    if annotation is bool:
        kind = "bool"
    elif origin is typing.Literal:
        kind, choices = "choice", tuple(str(a) for a in args)
    elif annotation is int:
        kind = "int"
    elif origin is list:
        kind = "list"
    elif origin in (typing.Union, types.UnionType) and int in args:
        kind = "int_or_auto"
    return FieldSpec(key, kind, choices, info.description or "")


def get_path(data: Any, key: str) -> Any:
    for part in key.split("."):
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


def _set_path(data: dict[str, Any], parts: list[str], value: Any) -> None:
    for part in parts[:-1]:
        child = data.get(part)
        if not isinstance(child, dict):
            child = data[part] = {}
        data = child
    data[parts[-1]] = value


def widget_value(spec: FieldSpec, raw: Any) -> Any:
    """The YAML value a widget's content stands for. Text that is not a number stays text, so
    the engine's own message ("must be a whole number") is what the operator reads."""
    if spec.kind in ("bool", "choice"):
        return raw
    text = str(raw).strip()
    if spec.kind in ("int", "int_or_auto"):
        return int(text) if re.fullmatch(r"-?\d{1,9}", text) else text
    if spec.kind == "list":
        return [part.strip() for part in text.split(",") if part.strip()]
    return text


def display_value(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


# -- editing the file's text ----------------------------------------------------------------

_KEY_LINE = re.compile(
    r"^(?P<indent>[ ]*)(?P<key>[A-Za-z_][\w-]*):(?P<space>[ \t]*)(?P<value>[^#\r\n]*?)"
    r"(?P<comment>[ \t]*#[^\r\n]*)?(?P<eol>\r?\n)?$"
)
_PLAIN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_./-]*$")


class UnsafeEdit(Exception):
    """The file's layout is one this form cannot change without disturbing it."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _flow(value: Any) -> str:
    """A YAML flow value (fits on the key's line)."""
    import yaml

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if value is None:
        return "null"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_flow(str(k))}: {_flow(v)}" for k, v in value.items()) + "}"
    text = str(value)
    if _PLAIN.match(text) and yaml.safe_load(text) == text:
        return text
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a valid YAML scalar


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _is_content(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def _value_end(lines: list[str], index: int, indent: int) -> int:
    """First line after the key at ``index`` that is not part of its value (a block list
    may sit at the key's own indentation: ``key:\\n- a``). Trailing comments and blank lines
    belong to what follows."""
    end = index + 1
    while end < len(lines):
        if _is_content(lines[end]):
            ind = _indent(lines[end])
            if ind < indent or (ind == indent and not lines[end].lstrip(" ").startswith("-")):
                break
        end += 1
    while end - 1 > index and not _is_content(lines[end - 1]):
        end -= 1
    return end


def _edit_lines(text: str, key: str, value: Any, expected: dict[str, Any]) -> str:
    lines = text.splitlines(keepends=True)
    newline = "\r\n" if text.count("\r\n") > text.count("\n") / 2 else "\n"
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += newline
    parts = key.split(".")
    start, end, parent_indent = 0, len(lines), -1
    for depth, name in enumerate(parts):
        child_indent: int | None = None
        found: re.Match[str] | None = None
        index = start
        for index in range(start, end):
            if not _is_content(lines[index]):
                continue
            ind = _indent(lines[index])
            if child_indent is None:
                child_indent = ind
            if ind != child_indent:
                continue
            match = _KEY_LINE.match(lines[index])
            if match and match["key"] == name:
                found = match
                break
        if child_indent is not None and child_indent <= parent_indent:
            raise UnsafeEdit(key)
        if found is None:
            # Missing here: one line holding the rest of the path as a flow value.
            rest = get_path(expected, ".".join(parts[: depth + 1]))
            indent = " " * (child_indent if child_indent is not None else parent_indent + 2)
            line = f"{indent}{name}: {_flow(rest)}{newline}"
            lines.insert(start if depth else len(lines), line)
            return "".join(lines)
        indent, comment, eol = found["indent"], found["comment"] or "", found["eol"] or ""
        inline = found["value"].strip()
        if inline[:1] in ("'", '"') and (len(inline) < 2 or inline[-1] != inline[0]):
            raise UnsafeEdit(key)  # a '#' inside quotes: the comment split would be wrong
        if depth == len(parts) - 1:
            stop = _value_end(lines, index, len(indent))
            kept = [line for line in lines[index + 1 : stop] if not _is_content(line)]
            space = found["space"] or " "
            items = [line for line in lines[index + 1 : stop] if _is_content(line)]
            if isinstance(value, list) and value and items and not found["value"].strip():
                # A block list stays a block list, one item a line, at its indentation.
                dash = " " * _indent(items[0]) + "- "
                block = [f"{dash}{_flow(item)}{newline}" for item in value]
                lines[index:stop] = [f"{indent}{name}:{comment}{eol}", *block, *kept]
                return "".join(lines)
            lines[index:stop] = [f"{indent}{name}:{space}{_flow(value)}{comment}{eol}", *kept]
            return "".join(lines)
        if inline:
            # The parent is written inline ({a: 1, b: 2}): rewrite it whole, on its line.
            whole = get_path(expected, ".".join(parts[: depth + 1]))
            lines[index] = f"{indent}{name}: {_flow(whole)}{comment}{eol}"
            return "".join(lines)
        start, end = index + 1, _value_end(lines, index, len(indent))
        parent_indent = len(indent)
    raise UnsafeEdit(key)


def apply_edit(text: str, key: str, value: Any) -> str:
    """``text`` with ``key`` set to ``value``, everything else (comments included) as it was.
    Checked by reading both back: anything else that changed makes it an UnsafeEdit."""
    import yaml

    from wizard.config_edit import update_section

    try:
        before = yaml.safe_load(text)
    except yaml.YAMLError:
        raise UnsafeEdit(key) from None
    if not isinstance(before, dict):
        raise UnsafeEdit(key)
    expected = json.loads(json.dumps(before, default=str))
    parts = key.split(".")
    _set_path(expected, parts, value)
    own = _edit_lines(text, key, value, expected)  # also refuses layouts it cannot read
    candidates = [own]
    if len(parts) == 2 and not isinstance(value, (list, dict)):
        candidates.insert(0, update_section(text, parts[0], {parts[1]: value}))  # the engine's
    for candidate in candidates:
        try:
            if yaml.safe_load(candidate) == expected:
                return candidate
        except yaml.YAMLError:
            continue
    raise UnsafeEdit(key)


def apply_edits(text: str, edits: dict[str, Any]) -> str:
    for key, value in edits.items():
        text = apply_edit(text, key, value)
    return text


def _probe_value(spec: FieldSpec, value: Any) -> Any:
    """A different value of the same shape: can this key be edited in this file?"""
    if spec.kind == "bool":
        return not value
    if spec.kind == "list":
        return [*(value or []), "probe_value"]
    if isinstance(value, int) and not isinstance(value, bool):
        return value + 1
    return str(value) + "probe"


# -- the runbook-compatible but riskier choices -------------------------------------------------


def _open_network(value: str) -> bool:
    try:
        return ipaddress.ip_network(value, strict=False).prefixlen == 0
    except ValueError:
        return False


def warning_for(key: str, value: Any) -> Message | None:
    """The honest note for a riskier choice (secure default vs the runbook's literal one)."""
    name = key.rsplit(".", 1)[-1]
    if key == "fdw.target_schema" and value == "public":
        return Message("tui.settings.warn.public_schema")
    if key == "fdw.map_roles" and isinstance(value, list) and "anon" in value:
        return Message("tui.settings.warn.anon_mapping")
    if (
        key.startswith("views.")
        and name == "grant_to"
        and isinstance(value, list)
        and ("anon" in value)
    ):
        return Message("tui.settings.warn.anon_grant")
    if key.startswith("views.") and name == "security_invoker" and value is False:
        return Message("tui.settings.warn.security_definer")
    if key == "exposure.hba_connection_type" and value == "host":
        return Message("tui.settings.warn.hba_host")
    if (
        key == "exposure.allowed_cidrs"
        and isinstance(value, list)
        and (any(_open_network(str(v)) for v in value))
    ):
        return Message("tui.settings.warn.open_cidr")
    if key == "exposure.tls.enabled" and value is False:
        return Message("tui.settings.warn.tls_off")
    if key == "cleanup.mode" and value == "truncate":
        return Message("tui.settings.warn.truncate")
    return None


# -- the panel --------------------------------------------------------------------------------


def label_key(key: str) -> str:
    """Catalog key of a field's description (both views share theirs)."""
    return "tui.settings.field." + re.sub(r"^views\.[a-z0-9_]+\.", "views.view.", key)


def widget_id(key: str) -> str:
    return "set-" + key.replace(".", "-")


class SettingsPanel(Vertical):
    """The settings of one step. The screen owns it; Ctrl+S on the screen calls ``save``."""

    def __init__(self, step_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.step_id = step_id
        self.specs = [field_spec(key) for key in STEP_KEYS.get(step_id, ())]
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
            if text is None:
                self.read_only.add(spec.key)
                continue
            try:
                apply_edit(text, spec.key, _probe_value(spec, self.original[spec.key]))
            except UnsafeEdit:
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
                        display_value(bool(value)),
                        id=wid + "-word",
                        classes="set-word",
                        markup=False,
                    )
            elif spec.kind == "choice":
                options = [(choice, choice) for choice in spec.choices]
                yield Select(options, value=str(value), allow_blank=False, id=wid)
            else:
                yield Input(value=display_value(value), id=wid)
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
                found[spec.key] = widget_value(spec, widget.value)
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
            new = apply_edits(text, self.edits())
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
            for message in exc.messages:
                where = str(message.params.get("key", "")).split("[", 1)[0]
                if where in keys:
                    self.errors.setdefault(where, []).append(message)
                else:
                    self.general.append(message)
        self.render_messages()
        return result

    def render_messages(self) -> None:
        values = self.values()
        for spec in self.specs:
            wid = widget_id(spec.key)
            lines = Text()
            for message in self.errors.get(spec.key, []):
                lines.append(("\n" if lines else "") + "[XX] " + say(message), style="bold red")
            warning = warning_for(spec.key, values.get(spec.key, self.original.get(spec.key)))
            if warning is not None:
                lines.append(("\n" if lines else "") + "[!!] " + say(warning), style="yellow")
            if spec.key in values and values[spec.key] != self.original.get(spec.key):
                lines.append(("\n" if lines else "") + t("tui.settings.unsaved"), style="italic")
            box = self.query_one("#" + wid + "-msg", Static)
            box.update(lines)
            box.display = bool(lines)
            if spec.key not in self.read_only:
                self.query_one("#" + wid).set_class(bool(self.errors.get(spec.key)), "-invalid")
        general = self.query_one("#set-general", Static)
        general.update("\n".join("[XX] " + say(m) for m in self.general))
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
                value = display_value(self.original.get(spec.key)) or '""'
                self.query_one("#" + wid + "-ro", Static).update(
                    t("tui.settings.read_only_value", value=value, path=str(self.path))
                )
        secret = STEP_SECRETS.get(self.step_id)
        note = self.query_one("#set-secret", Static)
        note.update(t("tui.settings.secret_note", secret=secret) if secret else "")
        note.display = secret is not None
        self.render_messages()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.validate()

    def on_switch_changed(self, event: Switch.Changed) -> None:
        event.stop()
        word = self.query_one("#" + (event.switch.id or "") + "-word", Static)
        word.update(display_value(bool(event.value)))
        self.validate()

    def on_select_changed(self, event: Select.Changed) -> None:
        event.stop()
        self.validate()

    # -- saving ----------------------------------------------------------------------------------

    def save(self) -> Config | None:
        """Write the edits (atomic, validated as a whole, comments kept); the new Config, or
        None with the reason shown (the file is then untouched)."""
        from wizard.config import ConfigError
        from wizard.config_edit import update_config_file, update_section
        from wizard.fileio import atomic_write_bytes

        app = self.wapp
        if app.busy:
            self.notify(t("tui.settings.busy"), severity="warning")
            return None
        edits = self.edits()
        if not edits:
            self.notify(t("tui.settings.unchanged"))
            return None
        checked = self.validate()
        if checked is None:
            self.notify(t("tui.settings.fix_errors"), severity="error", timeout=8)
            return None
        new, config = checked
        sections = {key.split(".", 1)[0] for key in edits}
        simple = all(len(k.split(".")) == 2 and not isinstance(v, list) for k, v in edits.items())
        try:
            text = self.path.read_text(encoding="utf-8-sig")
            section = next(iter(sections))
            values = {k.split(".", 1)[1]: v for k, v in edits.items()}
            if simple and len(sections) == 1 and update_section(text, section, values) == new:
                config = update_config_file(self.path, section, values)  # the engine's own path
            elif new != text:
                # Lists and nested keys: the same checks, written the same atomic way.
                atomic_write_bytes(self.path, new.encode("utf-8"))
        except (OSError, ConfigError) as exc:
            error = "; ".join(say(m) for m in exc.messages) if isinstance(exc, ConfigError) else exc
            self.general = [
                Message("tui.settings.save_failed", {"path": str(self.path), "error": str(error)})
            ]
            self.render_messages()
            return None
        return typing.cast("Config", config)

    def reset(self) -> None:
        """After a save: the saved values become the originals."""
        self._load()
        self.errors, self.general = {}, []
        self.refresh_texts()
