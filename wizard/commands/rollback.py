"""`fdw-wizard rollback [--only IDS] [--yes]`: undo steps in reverse order, each step's undo
said before it is asked for (which files go back to which backup, which SQL objects are dropped,
which service is reloaded)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from wizard import exitcodes
from wizard.engine import Plan, Risk, Runner, RunReport, Step
from wizard.i18n import Message, render, t

from . import CliContext
from .apply import make_confirm
from .common import add_command, add_only, only_ids, with_session
from .output import print_report, say


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    parser = add_command(sub, common, "rollback", run)
    add_only(parser)
    parser.add_argument("--yes", action="store_true", help=t("cli.opt.yes"))
    parser.add_argument(
        "--interrupted", action="store_true", help=t("cli.opt.rollback_interrupted")
    )


def preview_lines(ctx: Any, step: Step, steps: list[Step]) -> list[str]:
    """What undoing ``step`` will do, as the lines printed before the question."""
    from wizard.undo_preview import preview

    lines = [f"{step.id}: {render(step.title)}", "  " + t("undo.preview.title")]
    lines += ["    - " + render(m) for m in preview(ctx, step, steps).messages()]
    return lines


def confirm_with_preview(
    args: argparse.Namespace, ctx: CliContext, session: Any, runner: Runner
) -> Callable[[Step, Plan], bool]:
    """Print what the step's undo will do, then ask (or take --yes)."""
    ask = make_confirm(args, ctx, show_plan=False)

    def confirm(step: Step, plan: Plan) -> bool:
        if not ctx.json:
            say(ctx, "\n".join(preview_lines(session, step, runner.steps)))
        return bool(ask(step, plan))

    return confirm


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    def body(session: Any, runner: Runner) -> int:
        if args.interrupted:
            report = _restore_interrupted(args, ctx, runner)
            if isinstance(report, int):
                return report
        else:
            confirm = confirm_with_preview(args, ctx, session, runner)
            report = runner.undo(only_ids(args), confirm=confirm)
        print_report(ctx, report)
        return report.exit_code

    return with_session(ctx, body, interactive=ctx.interactive)


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
