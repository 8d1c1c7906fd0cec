"""Commands of the contract that this version does not have yet: they say so and exit 2.

No fake success: automation that calls them learns at once that nothing was done.
"""

from __future__ import annotations

import argparse
from typing import Any

from wizard import exitcodes
from wizard.i18n import Message, t

from . import CliContext
from .output import emit_json, say

NOT_BUILT = ("validate", "doctor", "watch", "cleanup", "export-sql")


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    for name in NOT_BUILT:
        if name in sub.choices:
            continue  # built in this version
        parser = sub.add_parser(name, parents=[common], help=t("cli.cmd." + name))
        parser.add_argument("--json", action="store_true", help=t("cli.opt.json"))
        if name == "doctor":
            parser.add_argument("--symptom", metavar="S")
        if name == "watch":
            parser.add_argument("--interval", type=float, metavar="S")
            parser.add_argument("--duration", type=float, metavar="D")
        if name == "cleanup":
            parser.add_argument("--yes", action="store_true", help=t("cli.opt.yes"))
        if name == "export-sql":
            parser.add_argument("--out", metavar="DIR")
        parser.set_defaults(handler=run, command_name=name)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    message = Message("cli.not_built", {"command": args.command_name})
    if ctx.json:
        emit_json(ctx, {"error": "not-built", "message": message.to_json()})
    say(ctx, message, err=True)
    return exitcodes.USAGE
