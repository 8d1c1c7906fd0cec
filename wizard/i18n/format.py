"""Locale-correct numbers, sizes, percentages, durations and plural forms (Babel's CLDR data).

Every number the CLI or the TUI shows goes through here, in the operator's language:
``format_decimal(5.005, "pt-BR") == "5,005"``, ``format_bytes(119_100_000, "pt-BR") ==
"119,1 MB"``. Catalog texts ask for it in their placeholders (see :class:`CatalogFormatter`):

- ``{n:n}`` an integer with the thousands separator (``10.000`` / ``10,000``); a bare ``{n}``
  int is left alone (ports, pids and line numbers are not quantities);
- ``{x}`` a float in the locale's decimal notation (up to 3 decimals, as measured);
  ``{x:.1f}`` with exactly that many decimals;
- ``{b:bytes}`` a size (decimal units: kB, MB, GB, as the runbook counts);
- ``{p:pct}`` a percentage given as 0-100 (``99,5%``);
- ``{s:dur}`` a duration given in seconds (``5,005 s``, ``2 min 5 s``, ``3 h 10 min``);
- ``{k:term:prefix}`` a machine word (``hung``) in the catalog's words (``prefix.hung``);
- ``{n:plural:linha|linhas}`` the word for ``n`` by the language's plural rule (CLDR: ``one``
  takes the first form, every other category the last; a middle form is ``many`` if given).
"""

from __future__ import annotations

import re
import string
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any

from babel import Locale
from babel import numbers as babel_numbers

_LOCALES = {"pt-BR": "pt_BR", "en": "en_US"}
_FIXED = re.compile(r"^,?\.(\d+)f$")
_MAX_DECIMALS = 3


@cache
def _locale(lang: str) -> Locale:
    return Locale.parse(_LOCALES.get(lang, "en_US"))


def _pattern(decimals: int, *, fixed: bool) -> str:
    if decimals <= 0:
        return "#,##0"
    return "#,##0." + ("0" if fixed else "#") * decimals


def format_number(value: int | float, lang: str) -> str:
    """An integer quantity with the locale's grouping (``10.000`` / ``10,000``)."""
    if isinstance(value, float) and not value.is_integer():
        return format_decimal(value, lang)
    return babel_numbers.format_decimal(int(value), format="#,##0", locale=_locale(lang))


def format_decimal(value: int | float | Decimal, lang: str, decimals: int | None = None) -> str:
    """``decimals`` None: as measured, at most 3 decimals and no trailing zeros (``7.0`` is
    ``7``, ``5.005`` is ``5,005``); else exactly ``decimals``."""
    if decimals is not None:
        return babel_numbers.format_decimal(
            value, format=_pattern(decimals, fixed=True), locale=_locale(lang)
        )
    try:
        exact = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except (InvalidOperation, ValueError):
        return str(value)
    if not exact.is_finite():
        return str(value)
    exponent = exact.as_tuple().exponent
    shown = max(0, min(-exponent if isinstance(exponent, int) else 0, _MAX_DECIMALS))
    return babel_numbers.format_decimal(
        exact, format=_pattern(shown, fixed=False), locale=_locale(lang)
    )


def format_percent(value: float, lang: str, decimals: int = 1) -> str:
    """``value`` in 0-100: ``99,5%`` / ``99.5%`` (a whole number shows no decimals)."""
    ratio = Decimal(repr(float(value))) / 100
    digits = 0 if float(value).is_integer() else decimals
    pattern = "#,##0%" if digits == 0 else "#,##0." + "0" * digits + "%"
    return babel_numbers.format_percent(ratio, format=pattern, locale=_locale(lang))


_UNITS = (("GB", 1_000_000_000), ("MB", 1_000_000), ("kB", 1_000))


def format_bytes(size: int | float, lang: str) -> str:
    """Decimal units: ``119,1 MB``, ``512 bytes``."""
    for unit, factor in _UNITS:
        if abs(size) >= factor:
            return f"{format_decimal(size / factor, lang, 1)} {unit}"
    return f"{format_number(int(size), lang)} {plural_word(int(size), lang, 'byte', 'bytes')}"


def format_duration(seconds: float, lang: str) -> str:
    """``5,005 s`` under a minute (as measured, ms precision), then ``2 min 5 s``,
    ``3 h 10 min``, ``2 d 4 h`` (the SI symbols read the same in both languages)."""
    if seconds < 60:
        return f"{format_decimal(round(seconds, 3), lang)} s"
    whole = round(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min {secs} s" if secs else f"{minutes} min"


def plural_category(count: float, lang: str) -> str:
    """CLDR plural category of ``count`` (``one``, ``many``, ``other``)."""
    return str(_locale(lang).plural_form(abs(count)))


def plural_word(count: float, lang: str, *forms: str) -> str:
    """The form for ``count``: ``forms`` are (one, other) or (one, many, other)."""
    if not forms:
        return ""
    category = plural_category(count, lang)
    if category == "one":
        return forms[0]
    if category == "many" and len(forms) >= 3:
        return forms[1]
    return forms[-1]


def _number(value: Any) -> float | int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    return None


class CatalogFormatter(string.Formatter):
    """``str.format`` for catalog texts in one language (see the module docstring)."""

    def __init__(self, lang: str) -> None:
        super().__init__()
        self.lang = lang

    def format_field(self, value: Any, format_spec: str) -> str:
        if format_spec.startswith("term:"):
            return terms(str(value), format_spec[len("term:") :], self.lang)
        number = _number(value)
        if format_spec.startswith("plural:"):
            count = number if number is not None else _as_float(value)
            forms = format_spec[len("plural:") :].split("|")
            return plural_word(count if count is not None else 0, self.lang, *forms)
        if number is None:
            if format_spec in ("n", "bytes", "pct", "dur") or _FIXED.match(format_spec):
                return str(value)  # a preformatted value ("-", "> 7"): shown as it is
            return str(super().format_field(value, format_spec))
        if format_spec == "n":
            return format_number(number, self.lang)
        if format_spec == "bytes":
            return format_bytes(number, self.lang)
        if format_spec == "pct":
            return format_percent(number, self.lang)
        if format_spec == "dur":
            return format_duration(number, self.lang)
        fixed = _FIXED.match(format_spec)
        if fixed:
            return format_decimal(number, self.lang, int(fixed.group(1)))
        if not format_spec and isinstance(number, float):
            return format_decimal(number, self.lang)
        return str(super().format_field(value, format_spec))


def terms(value: str, prefix: str, lang: str) -> str:
    """``{x:term:prefix}``: a machine word (or a comma-separated list: ``"hung, fresh"``) as the
    catalog says each one under ``prefix.<word>``; a word the catalog lacks is shown as it is."""
    from wizard.i18n import catalog

    words = catalog(lang)
    return ", ".join(words.get(f"{prefix}.{w.strip()}", w.strip()) for w in value.split(","))


def _as_float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


@cache
def formatter(lang: str) -> CatalogFormatter:
    return CatalogFormatter(lang)
