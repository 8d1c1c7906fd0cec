"""Message catalogs (pt-BR and en) and the Message type the engine returns.

The engine never formats operator-facing text itself: it returns ``Message(key, params)``
and the driver (CLI or TUI) renders it in the operator's language with :func:`render`.
Catalogs live in ``wizard/i18n/<lang>/<area>[-<part>].json``; every key starts with
``<area>.`` (``step-validate.json`` holds ``step.validate.*`` keys, so each module's messages
can live in a file of its own).
"""

from __future__ import annotations

import json
import locale
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

LANGUAGES: tuple[str, ...] = ("pt-BR", "en")
DEFAULT_LANGUAGE = "en"

_current: str | None = None


@dataclass(frozen=True)
class Message:
    """A translatable message: a catalog key plus the values it interpolates."""

    key: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def render(self, lang: str | None = None) -> str:
        return t(self.key, lang, **self.params)

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "params": {k: _jsonable(v) for k, v in self.params.items()}}


def _jsonable(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return str(value)


def normalize_language(lang: str | None) -> str | None:
    """Map 'pt', 'pt_BR.UTF-8', 'PT-br', 'en_US' ... to a supported language or None."""
    if not lang:
        return None
    code = lang.replace("_", "-").split(".")[0].lower()
    if code.startswith("pt"):
        return "pt-BR"
    if code.startswith("en"):
        return "en"
    return None


def detect_language() -> str:
    """pt-BR when the environment or system locale is Portuguese, else English."""
    for var in ("FDW_WIZARD_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        found = normalize_language(os.environ.get(var))
        if found:
            return found
    try:
        sys_locale = locale.getlocale()[0]
    except ValueError:
        sys_locale = None
    return normalize_language(sys_locale) or DEFAULT_LANGUAGE


def set_language(lang: str | None) -> str:
    """Set the process-wide language; returns the language actually chosen."""
    global _current
    _current = normalize_language(lang) or detect_language()
    return _current


def current_language() -> str:
    return _current or set_language(None)


@cache
def catalog(lang: str) -> dict[str, str]:
    """All keys of one language, merged from its area files."""
    merged: dict[str, str] = {}
    folder = resources.files("wizard.i18n").joinpath(lang)
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".json"):
            continue
        data = json.loads(entry.read_text(encoding="utf-8"))
        area = entry.name[: -len(".json")].split("-", 1)[0]
        for key, text in data.items():
            if not key.startswith(area + "."):
                raise ValueError(f"i18n key {key!r} in {lang}/{entry.name} must start with {area}.")
            merged[key] = text
    return merged


def t(key: str, lang: str | None = None, /, **params: Any) -> str:
    """Render a key. A missing key falls back to English, then to the key itself."""
    lang = normalize_language(lang) or current_language()
    text = catalog(lang).get(key) or catalog(DEFAULT_LANGUAGE).get(key) or key
    if not params:
        return text
    from wizard.i18n.format import formatter  # Babel: locale numbers and plural rules

    try:
        return formatter(lang).format(text, **params)
    except (KeyError, IndexError, ValueError, TypeError):
        return text + " " + repr(dict(params))


def render(message: Message | str, lang: str | None = None) -> str:
    return message if isinstance(message, str) else message.render(lang)
