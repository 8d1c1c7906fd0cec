"""Shared pieces: rendering through the catalogs (always redacted), the key bar, the live log,
and the base class every screen derives from."""

from __future__ import annotations

import importlib
import importlib.util
import time
from collections.abc import Iterable, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on
from textual.binding import Binding, BindingType
from textual.message import Message as UiMessage
from textual.screen import Screen
from textual.widgets import RichLog, Static

from screens.symbols import STYLE, status_label
from wizard.engine import Event
from wizard.i18n import Message, t
from wizard.redact import redact

if TYPE_CHECKING:
    from screens.app import WizardApp


def say(message: Message | str | None) -> str:
    """Render a Message (or pass text) in the current language; secrets masked."""
    if message is None:
        return ""
    text = message if isinstance(message, str) else message.render()
    return redact(text)


def message_from_json(data: Any) -> Message | None:
    """A Message back from its ``to_json()`` form (plans and facts carry them as dicts)."""
    if isinstance(data, dict) and isinstance(data.get("key"), str):
        return Message(data["key"], dict(data.get("params") or {}))
    return None


def place_config_errors(
    messages: Iterable[Message],
    keys: set[str],
    errors: dict[str, list[Message]],
    general: list[Message],
) -> None:
    """A form's config errors: each under the field whose key it names (an item's [index] cut
    off) when the form has that field, else with the general ones."""
    for message in messages:
        where = str(message.params.get("key", "")).split("[", 1)[0]
        if where in keys:
            errors.setdefault(where, []).append(message)
        else:
            general.append(message)


def styled_status(status: str) -> Text:
    return Text(status_label(status), style=STYLE.get(status, ""))


def optional_module(name: str) -> ModuleType | None:
    """A module that may not exist in this version (built by another issue): None if absent."""
    try:
        if importlib.util.find_spec(name) is None:
            return None
        return importlib.import_module(name)
    except ImportError:
        return None


class KeyBar(Static):
    """The keys of the current screen, in the operator's language (instead of Textual's Footer,
    whose descriptions are fixed at import time and would not follow a language switch).

    Always one line: the keys that fit, in the screen's order, then ``F1 mais`` for the rest
    (F1 lists every key of the screen)."""

    DEFAULT_CSS = """
    KeyBar { dock: bottom; height: 1; background: $panel; color: $text; padding: 0 1; }
    """

    def __init__(self, keys: Sequence[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(markup=False, **kwargs)
        self.keys = list(keys)

    def on_mount(self) -> None:
        self.refresh_texts()

    def on_resize(self) -> None:
        self.refresh_texts()

    def set_keys(self, keys: Sequence[tuple[str, str]]) -> None:
        self.keys = list(keys)
        self.refresh_texts()

    @staticmethod
    def _entry(key: str, label: str) -> Text:
        text = Text()
        text.append(key, style="bold reverse")  # reverse video reads without colour too
        text.append(" " + label)
        return text

    def refresh_texts(self) -> None:
        width = self.content_region.width or max(0, self.app.size.width - 2)
        entries = [self._entry(key, t(label_key)) for key, label_key in self.keys]
        more = self._entry("F1", t("tui.key.more"))
        gap = 2
        total = sum(e.cell_len for e in entries) + gap * max(0, len(entries) - 1)
        shown = entries
        if width and total > width:
            shown, used = [], more.cell_len
            for entry in entries:
                if used + gap + entry.cell_len > width:
                    break
                shown.append(entry)
                used += gap + entry.cell_len
            shown.append(more)
        text = Text()
        for index, entry in enumerate(shown):
            if index:
                text.append(" " * gap)
            text.append_text(entry)
        self.update(text)

    def all_keys_text(self) -> str:
        return "\n".join(f"[{key}] {t(label_key)}" for key, label_key in self.keys)


def event_line(app: WizardApp, event: Event) -> str | None:
    """One log line for an engine event, or None for events not worth a line."""
    step = event.step_id or ""
    kind = event.kind
    if kind == "run-started":
        steps = event.data.get("steps") or []
        mode = str(event.data.get("mode", ""))
        return t("tui.log.run_started", mode=t("tui.mode." + mode), count=len(steps))
    if kind == "step-started":
        return t("tui.log.step_started", step=step)
    if kind in ("step-checked", "step-finished"):
        status = event.status.value if event.status else "unknown"
        return f"{status_label(status)} {step}: {say(event.message)}"
    if kind == "plan-ready":
        plan = event.data.get("plan") or {}
        risks = ", ".join(t("tui.risk." + r + ".short") for r in plan.get("risks", []))
        return t(
            "tui.log.plan_ready",
            step=step,
            count=len(plan.get("actions", [])),
            risks=risks or "-",
        )
    if kind == "progress":
        return f"    {step}: {say(event.message)}"
    if kind == "run-finished":
        return t("tui.log.run_finished", code=event.data.get("exit_code", "?"))
    return None


class LiveLog(RichLog):
    """The live log pane: every engine event of this session, wrapped to the pane's width
    (nothing cut at 80 columns) and re-rendered on a language switch or a resize (the app
    keeps the events, not the text)."""

    DEFAULT_CSS = """
    LiveLog { height: 7; border: $fdw-border $secondary; scrollbar-size-vertical: 1; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_lines=2000, wrap=True, min_width=20, **kwargs)
        self.texts: list[str] = []  # the lines as written (before wrapping)
        self._width = 0

    @property
    def wapp(self) -> WizardApp:
        return self.app  # type: ignore[return-value]

    def on_mount(self) -> None:
        self.border_title = t("tui.log.title")
        self.replay()

    def on_resize(self) -> None:
        width = self.scrollable_content_region.width
        if width and width != self._width:
            self._width = width
            self.replay()

    def replay(self) -> None:
        self.clear()
        self.texts = []
        self.add(self.wapp.event_history)

    def add(self, events: Iterable[Event]) -> None:
        lines = [line for e in events if (line := event_line(self.wapp, e)) is not None]
        self.texts.extend(lines)
        del self.texts[:-2000]
        for line in lines:
            self.write(Text(line))

    def refresh_texts(self) -> None:
        self.border_title = t("tui.log.title")
        self.replay()


# -- what the app tells its screens (typed messages; each screen's queue keeps their order) ----


class ScreenNews(UiMessage, bubble=False):
    """Base of the app's messages to its screens (never bubbles back to the app)."""


class LanguageChanged(ScreenNews):
    """The language changed: re-render every text from the catalogs."""


class ConfigLoaded(ScreenNews):
    """The config read after the first frame is there (or its problems are)."""


class EngineNews(ScreenNews):
    """A batch of engine events, already taken into the app's statuses."""

    def __init__(self, events: list[Event]) -> None:
        super().__init__()
        self.events = events


class EngineIdle(ScreenNews):
    """A run just ended (its report is in the app's outcomes)."""


class BusyChanged(ScreenNews):
    """A run started or ended."""


KEYS_SECONDS = 12  # how long the F1 key list stays up


class WizardScreen(Screen[Any]):
    """Base of every full screen: the F1 key list, ``back``, and the app's messages turned
    into the hooks a screen overrides (``refresh_texts``, ``engine_events``, ...)."""

    KEYS: Sequence[tuple[str, str]] = ()
    BINDINGS: ClassVar[list[BindingType]] = [Binding("f1", "show_keys", show=False)]
    AUTO_FOCUS = None  # each screen focuses what the operator needs first, in on_mount
    _keys_until = 0.0  # the F1 key list is up until then (time.monotonic)

    @on(ScreenNews)
    def _news(self, news: ScreenNews) -> None:
        """The app's message, turned into the hook a screen overrides."""
        match news:
            case LanguageChanged():
                self.refresh_texts()
            case ConfigLoaded():
                self.config_loaded()
            case EngineNews():
                self.engine_events(news.events)
            case EngineIdle():
                self.engine_idle()
            case BusyChanged():
                self.busy_changed()

    def config_loaded(self) -> None:
        """The app read its config after the first frame."""

    def busy_changed(self) -> None:
        """A run started or ended."""

    def action_show_keys(self) -> None:
        self.show_keys()

    def action_back(self) -> None:
        """Esc: close the F1 key list if it is up, else :meth:`go_back`."""
        if not self.dismiss_keys():
            self.go_back()

    def go_back(self) -> None:
        """Cancel the running engine task, else leave the screen (a screen overrides this,
        never ``action_back``, so that Esc always closes the key list first)."""
        if self.wapp.busy:
            self.wapp.cancel_run()
            return
        self.app.pop_screen()

    @property
    def wapp(self) -> WizardApp:
        return self.app  # type: ignore[return-value]

    def key_bar(self) -> KeyBar:
        return KeyBar(self.KEYS, id="keys")

    def show_keys(self) -> None:
        """F1: every key of this screen (the key bar shows those that fit on one line)."""
        for bar in self.query(KeyBar):
            self.notify(bar.all_keys_text(), title=t("tui.keys_title"), timeout=KEYS_SECONDS)
            self._keys_until = time.monotonic() + KEYS_SECONDS
            return

    def dismiss_keys(self) -> bool:
        """Esc while the F1 key list is up closes it (and the other notices), nothing else:
        the operator who opened the list to read "Esc" must not be sent back a screen."""
        if time.monotonic() >= self._keys_until:
            return False
        self._keys_until = 0.0
        self.app.clear_notifications()
        return True

    def refresh_texts(self) -> None:
        """Re-render every text from the catalogs (called after a language switch)."""
        for bar in self.query(KeyBar):
            bar.refresh_texts()
        for log in self.query(LiveLog):
            log.refresh_texts()

    def engine_events(self, events: list[Event]) -> None:
        """A batch of engine events arrived (on the UI thread)."""
        for log in self.query(LiveLog):
            log.add(events)

    def engine_idle(self) -> None:
        """A run just ended: refresh what depends on outcomes."""
