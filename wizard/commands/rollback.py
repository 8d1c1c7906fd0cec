"""`fdw-wizard rollback [--only IDS] [--yes]`: undo steps in reverse order."""

from __future__ import annotations

import argparse
from typing import Any

from wizard import exitcodes
from wizard.engine import StepError
from wizard.i18n import t
from wizard.session import open_session

from . import CliContext
from .apply import make_confirm
from .output import LivePrinter, load_config_or_report, print_report, say


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser("rollback", parents=[common], help=t("cli.cmd.rollback"))
    parser.add_argument("--only", metavar="IDS", help=t("cli.opt.only"))
    parser.add_argument("--yes", action="store_true", help=t("cli.opt.yes"))
    parser.add_argument("--json", action="store_true", help=t("cli.opt.json"))
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    config, code = load_config_or_report(ctx)
    if config is None:
        return code
    session, runner = open_session(
        config,
        ctx.config_path,
        interactive=ctx.interactive,
        sink=LivePrinter(ctx, show_plans=False),
    )
    try:
        only = args.only.split(",") if args.only else None
        report = runner.undo(only, confirm=make_confirm(args, ctx))
    except StepError as exc:
        say(ctx, exc.message, err=True)
        return exitcodes.USAGE
    finally:
        session.close()
    print_report(ctx, report)
    return report.exit_code
