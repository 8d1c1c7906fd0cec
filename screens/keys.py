"""A screen's keys, declared once: what the key bar shows (its KEYS) and the bindings behind
them (its BINDINGS) come from one list (``key_table``)."""

from __future__ import annotations

from collections.abc import Sequence

from textual.binding import Binding, BindingType

# (what the key bar shows, its label's catalog key, the bindings behind it)
KeyEntry = tuple[str, str, tuple[Binding, ...]]


def key(shown: str, label: str, *bindings: Binding | tuple[str, str]) -> KeyEntry:
    """One key of a screen: ``key("x", "tui.key.dedupe", ("x", "dedupe"))``; a binding given
    as (key, action) is hidden from Textual's footer (the KeyBar shows the keys)."""
    return (shown, label, tuple(_binding(b) for b in bindings))


def _binding(given: Binding | tuple[str, str]) -> Binding:
    return given if isinstance(given, Binding) else Binding(given[0], given[1], show=False)


BACK_CANCEL = key("Esc", "tui.key.back_cancel", ("escape", "back"))
BACK = key("Esc", "tui.key.back", ("escape", "back"))
LANGUAGE = key("F2", "tui.key.language")  # bound by the app (every screen)
DOCUMENT = key("o", "document.tui.key", ("o", "document"))


def key_table(
    *entries: KeyEntry, hidden: Sequence[Binding | tuple[str, str]] = ()
) -> tuple[tuple[tuple[str, str], ...], list[BindingType]]:
    """(KEYS for the key bar, BINDINGS for Textual) from one list; ``hidden``: bindings the
    key bar does not list."""
    shown = tuple((entry[0], entry[1]) for entry in entries)
    bindings: list[BindingType] = [b for entry in entries for b in entry[2]]
    bindings += [_binding(b) for b in hidden]
    return shown, bindings
