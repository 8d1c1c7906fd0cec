"""`fdw-wizard` with no command: the TUI (imported lazily so the CLI never pays for Textual)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from wizard import exitcodes
from wizard.i18n import Message

from . import CliContext
from .output import say


def open_tui(config_path: Path, ctx: CliContext) -> int:
    """Run the Textual app on ``config_path`` (the first-run form when there is none)."""
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        # A TUI needs a terminal; scripts use the commands (status, apply, ...).
        say(ctx, Message("tui.needs_terminal"), err=True)
        return exitcodes.USAGE
    from screens.app import run_tui
    from wizard.dwhost.platform.console import quickedit_off

    # Windows: a click into the console would freeze the TUI until Esc (QuickEdit).
    with quickedit_off():
        return run_tui(config_path, ctx.lang or None)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    return open_tui(ctx.config_path, ctx)
