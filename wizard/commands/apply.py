"""`fdw-wizard apply [--only IDS] [--dry-run] [--yes] [--json]`."""

from __future__ import annotations

import argparse
from typing import Any

from wizard import exitcodes
from wizard.engine import Plan, Step, StepError
from wizard.i18n import Message, render, t
from wizard.runlock import RunLocked
from wizard.session import open_session

from . import CliContext
from .output import LivePrinter, load_config_or_report, plan_text, print_report, say


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser("apply", parents=[common], help=t("cli.cmd.apply"))
    parser.add_argument("--only", metavar="IDS", help=t("cli.opt.only"))
    parser.add_argument("--dry-run", action="store_true", help=t("cli.opt.dry_run"))
    parser.add_argument("--yes", action="store_true", help=t("cli.opt.yes"))
    parser.add_argument("--json", action="store_true", help=t("cli.opt.json"))
    parser.add_argument("--confirm-manual", metavar="IDS", help=t("cli.opt.confirm_manual"))
    parser.set_defaults(handler=run)


def make_confirm(args: argparse.Namespace, ctx: CliContext) -> Any:
    """--yes confirms everything; a terminal asks per risky plan; otherwise decline (exit 3)."""

    def confirm(step: Step, plan: Plan) -> bool:
        if args.yes:
            return True
        if not ctx.interactive or ctx.json:
            return False
        say(ctx, f"{step.id}: {render(step.title)}")
        say(ctx, plan_text(plan))
        answer = input(t("cli.confirm", None, risks=", ".join(sorted(plan.risks))) + " ")
        return answer.strip().lower() in {"y", "yes", "s", "sim"}

    return confirm


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    config, code = load_config_or_report(ctx)
    if config is None:
        return code
    session, runner = open_session(
        config,
        ctx.config_path,
        interactive=ctx.interactive and not ctx.json,
        sink=LivePrinter(ctx, show_plans=args.dry_run),
    )
    try:
        if args.confirm_manual:
            report = runner.confirm_manual(args.confirm_manual.split(","))
        else:
            from wizard.steps import DEFAULT_APPLY_PHASES

            only = args.only.split(",") if args.only else list(DEFAULT_APPLY_PHASES)
            report = runner.apply(only, dry_run=args.dry_run, confirm=make_confirm(args, ctx))
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
    print_report(ctx, report, show_plans=args.dry_run)
    if report.exit_code == exitcodes.OPERATOR and not ctx.json:
        needed = "cli.operator_needed_yes" if getattr(args, "yes", False) else "cli.operator_needed"
        say(ctx, Message(needed), err=True)
    return report.exit_code
