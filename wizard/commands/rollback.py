"""`fdw-wizard rollback [--only IDS] [--yes]`: undo steps in reverse order."""

from __future__ import annotations

import argparse
from typing import Any

from wizard import exitcodes
from wizard.engine import Plan, Risk, Runner, RunReport, StepError
from wizard.i18n import Message, t
from wizard.runlock import RunLocked
from wizard.session import open_session

from . import CliContext
from .apply import make_confirm
from .output import LivePrinter, load_config_or_report, print_report, say


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser("rollback", parents=[common], help=t("cli.cmd.rollback"))
    parser.add_argument("--only", metavar="IDS", help=t("cli.opt.only"))
    parser.add_argument("--yes", action="store_true", help=t("cli.opt.yes"))
    parser.add_argument("--json", action="store_true", help=t("cli.opt.json"))
    parser.add_argument(
        "--interrupted", action="store_true", help=t("cli.opt.rollback_interrupted")
    )
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
        if args.interrupted:
            report = _restore_interrupted(args, ctx, runner)
            if isinstance(report, int):
                return report
        else:
            only = args.only.split(",") if args.only else None
            report = runner.undo(only, confirm=make_confirm(args, ctx))
    except RunLocked as exc:
        say(ctx, exc.message, err=True)
        if exc.fix is not None:
            say(ctx, exc.fix, err=True)
        return exitcodes.OPERATOR
    except StepError as exc:
        say(ctx, exc.message, err=True)
        return exitcodes.USAGE
    finally:
        session.close()
    print_report(ctx, report)
    return report.exit_code


def _restore_interrupted(
    args: argparse.Namespace, ctx: CliContext, runner: Runner
) -> RunReport | int:
    """Put every file an interrupted run changed back as it was before it; start the server."""
    interrupted = runner.interrupted_run()
    if interrupted is None:
        say(ctx, Message("engine.journal.nothing"), err=ctx.json)
        return exitcodes.OK
    reload_step = next(s for s in runner.steps if callable(getattr(s, "settle", None)))
    plan = Plan(reload_step.id, risks={Risk.RESTART})
    if not make_confirm(args, ctx)(reload_step, plan):
        say(ctx, Message("engine.declined", {"risks": "restart"}), err=True)
        return exitcodes.OPERATOR
    return runner.recover(restore=True)
