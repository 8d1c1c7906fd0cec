"""`fdw-wizard` with no command: the TUI (imported lazily so the CLI never pays for Textual)."""

from __future__ import annotations

import argparse

from wizard import exitcodes
from wizard.i18n import Message

from . import CliContext
from .output import say


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    # The Textual app arrives with the TUI issue; until then say so plainly.
    say(ctx, Message("cli.tui_not_built"), err=True)
    return exitcodes.USAGE
