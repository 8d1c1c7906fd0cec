"""One module per CLI command. Each exposes ``register(subparsers, common)`` which adds its
parser with ``common`` as a parent and ``set_defaults(handler=run)``, and
``run(args, ctx) -> int`` returning an exit code from :mod:`wizard.exitcodes`."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO


@dataclass
class CliContext:
    """What every command needs from the command line, resolved once."""

    config_path: Path
    lang: str
    json: bool = False
    out: TextIO = field(default_factory=lambda: sys.stdout)
    err: TextIO = field(default_factory=lambda: sys.stderr)
    interactive: bool = field(default_factory=lambda: sys.stdin.isatty())
