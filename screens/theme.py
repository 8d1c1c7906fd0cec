"""Terminal capabilities: ASCII borders for legacy conhost, monochrome under NO_COLOR."""

from __future__ import annotations

import os
import sys


def legacy_console() -> bool:
    """True where box-drawing glyphs are unreliable: the classic Windows console host
    (no Windows Terminal session), or when the operator asks with FDW_WIZARD_ASCII=1."""
    forced = os.environ.get("FDW_WIZARD_ASCII", "").strip().lower()
    if forced in ("1", "true", "yes"):
        return True
    if forced in ("0", "false", "no"):
        return False
    return sys.platform == "win32" and not os.environ.get("WT_SESSION")


def css_variables() -> dict[str, str]:
    """Variables every .tcss uses for borders: ``solid`` (box drawing) or ``ascii``."""
    return {"fdw-border": "ascii" if legacy_console() else "solid"}


def apply_scrollbars() -> None:
    """Scrollbars without block glyphs on a legacy console: the thumb is reverse video (seen
    without colour too), its ends are not drawn with the partial-block characters."""
    from textual.scrollbar import ScrollBar, ScrollBarRender

    class AsciiScrollBarRender(ScrollBarRender):
        VERTICAL_BARS = [" "] * 8
        HORIZONTAL_BARS = [" "] * 8

    ScrollBar.renderer = AsciiScrollBarRender if legacy_console() else ScrollBarRender
