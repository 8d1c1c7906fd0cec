"""`fdw-wizard cleanup [--yes] [--confirm-word W] [--skip-monitor-gate] [--json]` and
`fdw-wizard cleanup --restore FILE [--yes] [--json]`.

backup -> dedupe -> report, stopping with exit 3 and a message naming the fix when the operator
has something to do: no verified backup (``--yes`` makes one), the monitoring gate closed
(``--skip-monitor-gate`` overrides it on purpose, recorded in the audit log), the typed word
missing (``--confirm-word APAGAR`` or ``DELETE``: ``--yes`` alone never deletes anything).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from wizard import exitcodes
from wizard.engine import Status, StepError, StepOutcome
from wizard.i18n import Message, render, t
from wizard.session import open_session

from . import CliContext
from .output import (
    LivePrinter,
    emit_json,
    load_config_or_report,
    outcome_text,
    plan_text,
    say,
)

Refusal = tuple[str, Message, Message | None]


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser(
        "cleanup",
        parents=[common],
        help=t("cli.cmd.cleanup"),
        description=t("cleanup.cli.description"),
    )
    parser.add_argument("--yes", action="store_true", help=t("cleanup.cli.opt.yes"))
    parser.add_argument("--confirm-word", metavar="W", help=t("cleanup.cli.opt.confirm_word"))
    parser.add_argument(
        "--skip-monitor-gate", action="store_true", help=t("cleanup.cli.opt.skip_monitor_gate")
    )
    parser.add_argument("--restore", metavar="FILE", type=Path, help=t("cleanup.cli.opt.restore"))
    parser.add_argument("--json", action="store_true", help=t("cli.opt.json"))
    parser.set_defaults(handler=run)


class _Run:
    """One cleanup invocation: what ran, what was refused, and the exit code."""

    def __init__(self, args: argparse.Namespace, cli: CliContext) -> None:
        self.args = args
        self.cli = cli
        self.outcomes: list[StepOutcome] = []
        self.refusals: list[Refusal] = []
        self.error: Message | None = None
        self.restore: dict[str, Any] | None = None

    # -- output ----------------------------------------------------------------------------------

    def show(self, outcome: StepOutcome) -> None:
        self.outcomes.append(outcome)
        if self.cli.json:
            return
        say(self.cli, outcome_text(outcome))
        for change in outcome.changes:
            say(self.cli, "        " + render(change))

    def refuse(self, refusals: list[Refusal]) -> int:
        self.refusals.extend(refusals)
        if not self.cli.json:
            for _kind, message, fix in refusals:
                say(self.cli, Message("cleanup.cli.refused", {"why": render(message)}), err=True)
                if fix is not None:
                    say(self.cli, "  " + t("cli.fix") + " " + render(fix), err=True)
        return exitcodes.OPERATOR

    def finish(self, code: int) -> int:
        if self.cli.json:
            document: dict[str, Any] = {
                "command": "cleanup",
                "exit_code": code,
                "steps": [o.to_json() for o in self.outcomes],
                "refusals": [
                    {
                        "kind": kind,
                        "message": message.to_json(),
                        "fix": fix.to_json() if fix is not None else None,
                    }
                    for kind, message, fix in self.refusals
                ],
            }
            if self.restore is not None:
                document["restore"] = self.restore
            if self.error is not None:
                document["error"] = self.error.to_json()
            emit_json(self.cli, document)
        return code

    def ask(self, question: Message) -> bool:
        if not self.cli.interactive or self.cli.json:
            return False
        answer = input(render(question) + " ")
        return answer.strip().lower() in {"y", "yes", "s", "sim"}


def _outcome_code(outcome: StepOutcome) -> int:
    if outcome.status in (Status.DONE, Status.NOT_APPLICABLE):
        return exitcodes.OK
    if outcome.operator_action or outcome.status in (Status.SKIPPED, Status.MANUAL):
        return exitcodes.OPERATOR
    return exitcodes.FAILED


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    config, code = load_config_or_report(ctx)
    if config is None:
        return code
    session, runner = open_session(
        config,
        ctx.config_path,
        interactive=ctx.interactive and not ctx.json,
        sink=LivePrinter(ctx, show_plans=False),
    )
    state = _Run(args, ctx)
    try:
        if args.restore is not None:
            code = _restore(state, session, runner, args.restore)
        else:
            code = _cleanup(state, session, runner)
    except StepError as exc:
        state.error = exc.message
        if not ctx.json:
            say(ctx, exc.message, err=True)
            if exc.fix is not None:
                say(ctx, "  " + t("cli.fix") + " " + render(exc.fix), err=True)
        code = exitcodes.OPERATOR if exc.operator_action else exitcodes.FAILED
    finally:
        session.close()
    return state.finish(code)


def _cleanup(state: _Run, session: Any, runner: Any) -> int:
    from wizard.steps import cleanup as steps

    args = state.args

    # 1. A verified backup of what would be removed.
    backup = runner.status([steps.BACKUP_ID]).outcomes[-1]
    if backup.status in (Status.PENDING, Status.FAILED) and not backup.error:
        directory = steps.settings(session).backup_dir
        if not (args.yes or state.ask(Message("cleanup.cli.ask_backup", {"dir": str(directory)}))):
            state.show(backup)
            return state.refuse(
                [
                    (
                        "no_backup",
                        Message("cleanup.refuse.no_backup", {"table": "public.clientes"}),
                        Message("cleanup.cli.fix.backup"),
                    )
                ]
            )
        backup = runner.apply([steps.BACKUP_ID]).outcomes[-1]
    state.show(backup)
    if backup.status not in (Status.DONE, Status.NOT_APPLICABLE):
        return _outcome_code(backup)

    # 2. The deletion: only with the backup current, the gate passed (or overridden) and the word.
    dedupe = runner.status([steps.DEDUPE_ID]).outcomes[-1]
    if dedupe.status is Status.PENDING:
        refusals = steps.preflight(session, skip_monitor_gate=args.skip_monitor_gate)
        if refusals:
            state.show(dedupe)
            return state.refuse(refusals)
        word = args.confirm_word
        if word is None and state.cli.interactive and not state.cli.json:
            plan = steps.Dedupe().plan(session)
            say(state.cli, plan_text(plan))
            word = input(render(Message("cleanup.cli.type_word", {"word": steps.confirm_word()})))
        if not steps.authorize(session, word, skip_monitor_gate=args.skip_monitor_gate):
            state.show(dedupe)
            key = "cleanup.cli.word_missing" if word is None else "cleanup.cli.word_wrong"
            return state.refuse(
                [
                    (
                        "word",
                        Message(key, {"word": steps.confirm_word()}),
                        Message("cleanup.fix.word", {"word": steps.confirm_word()}),
                    )
                ]
            )
        dedupe = runner.apply([steps.DEDUPE_ID], confirm=lambda step, plan: True).outcomes[-1]
    state.show(dedupe)
    if dedupe.status not in (Status.DONE, Status.NOT_APPLICABLE):
        return _outcome_code(dedupe)

    # 3. The runbook's success metrics, before and after.
    report = runner.status([steps.REPORT_ID]).outcomes[-1]
    state.show(report)
    return exitcodes.FAILED if report.status in (Status.FAILED, Status.BLOCKED) else exitcodes.OK


def _restore(state: _Run, session: Any, runner: Any, path: Path) -> int:
    from wizard import backup
    from wizard.steps import cleanup as steps

    try:
        verification, _ = backup.verify_file(path)
    except backup.BackupError as exc:
        state.error = exc.message
        if not state.cli.json:
            say(state.cli, exc.message, err=True)
        return exitcodes.FAILED if exc.kind in ("tampered", "damaged") else exitcodes.OPERATOR
    manifest = verification.manifest
    params = {"rows": manifest.rows, "path": str(verification.data_path), "table": manifest.table}
    state.restore = {"path": str(verification.data_path), "rows": manifest.rows}
    if not (state.args.yes or state.ask(Message("cleanup.cli.ask_restore", params))):
        return state.refuse(
            [("restore_confirm", Message("cleanup.cli.restore_unconfirmed", params), None)]
        )
    steps.request_restore(session, verification.data_path)
    outcome = runner.undo([steps.DEDUPE_ID]).outcomes[-1]
    if outcome.changes:
        state.restore["result"] = outcome.changes[-1].to_json()
    state.show(outcome)
    if outcome.status is Status.FAILED:
        return _outcome_code(outcome)
    return exitcodes.OK
