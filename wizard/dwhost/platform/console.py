"""The operator's console while the TUI runs (Windows conhost).

QuickEdit mode (on by default on Windows Server 2019/2022) freezes every write to the console
as soon as the operator clicks into it, until Esc: the TUI looks hung, and an operator who closes
the "hung" window kills a restart midway. It is turned off while the TUI runs and the console's
own mode is restored on exit. Nothing here touches the console code page. Elsewhere: a no-op.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any

STD_INPUT_HANDLE = -10
ENABLE_QUICK_EDIT_MODE = 0x0040
ENABLE_EXTENDED_FLAGS = 0x0080  # required for a change of the QuickEdit bit to count
INVALID_HANDLE_VALUE = -1

__all__ = ["ENABLE_EXTENDED_FLAGS", "ENABLE_QUICK_EDIT_MODE", "quickedit_off"]


def _kernel32() -> Any:
    import ctypes

    return getattr(ctypes, "windll").kernel32  # noqa: B009


@contextlib.contextmanager
def quickedit_off(*, system: str | None = None, kernel32: Any = None) -> Iterator[bool]:
    """Turn QuickEdit off for the duration; yields whether the mode was changed. Never raises
    (no console, redirected input, an API failure: the TUI runs anyway)."""
    windows = (system or ("windows" if sys.platform == "win32" else "posix")) == "windows"
    if not windows:
        yield False
        return
    import ctypes

    try:
        k32 = kernel32 if kernel32 is not None else _kernel32()
        handle = k32.GetStdHandle(STD_INPUT_HANDLE)
        mode = ctypes.c_uint32(0)
        readable = handle not in (None, 0, INVALID_HANDLE_VALUE) and k32.GetConsoleMode(
            handle, ctypes.byref(mode)
        )
    except (AttributeError, OSError):
        yield False
        return
    original = int(mode.value)
    changed = False
    if readable and original & ENABLE_QUICK_EDIT_MODE:
        wanted = (original | ENABLE_EXTENDED_FLAGS) & ~ENABLE_QUICK_EDIT_MODE
        with contextlib.suppress(AttributeError, OSError):
            changed = bool(k32.SetConsoleMode(handle, wanted))
    try:
        yield changed
    finally:
        if changed:
            with contextlib.suppress(AttributeError, OSError):
                k32.SetConsoleMode(handle, original)
