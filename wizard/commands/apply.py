"""`fdw-wizard apply [--only IDS] [--dry-run] [--yes] [--json]`."""

from __future__ import annotations

import argparse
from typing import Any

from wizard.engine import Plan, Step
from wizard.i18n import Message, render, t

from . import CliContext
from .common import add_command, add_only, only_ids, with_session
from .output import plan_text, print_report, say


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    parser = add_command(sub, common, "apply", run)
    add_only(parser)
    parser.add_argument("--dry-run", action="store_true", help=t("cli.opt.dry_run"))
    parser.add_argument("--yes", action="store_true", help=t("cli.opt.yes"))
    parser.add_argument("--confirm-manual", metavar="IDS", help=t("cli.opt.confirm_manual"))


def make_confirm(args: argparse.Namespace, ctx: CliContext, *, show_plan: bool = True) -> Any:
    """--yes confirms everything; a terminal asks per risky plan; otherwise decline (exit 3)."""

    def confirm(step: Step, plan: Plan) -> bool:
        if args.yes:
            return True
        if not ctx.interactive or ctx.json:
            return False
        if show_plan:
            say(ctx, f"{step.id}: {render(step.title)}")
            say(ctx, plan_text(plan))
        answer = input(t("cli.confirm", None, risks=", ".join(sorted(plan.risks))) + " ")
        return answer.strip().lower() in {"y", "yes", "s", "sim"}

    return confirm


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from wizard import exitcodes

    def body(session: Any, runner: Any) -> int:
        if args.confirm_manual:
            report = runner.confirm_manual(args.confirm_manual.split(","))
        else:
            from wizard.steps import DEFAULT_APPLY_PHASES

            only = only_ids(args) or list(DEFAULT_APPLY_PHASES)
            report = runner.apply(only, dry_run=args.dry_run, confirm=make_confirm(args, ctx))
        print_report(ctx, report, show_plans=args.dry_run)
        if report.exit_code == exitcodes.OPERATOR and not ctx.json:
            needed = "cli.operator_needed_yes" if args.yes else "cli.operator_needed"
            say(ctx, Message(needed), err=True)
        return int(report.exit_code)

    return with_session(
        ctx, body, interactive=ctx.interactive and not ctx.json, show_plans=args.dry_run
    )
