"""`fdw-wizard cleanup [--yes] [--confirm-word W] [--skip-monitor-gate] [--json]` and
`fdw-wizard cleanup --restore FILE [--yes] [--json]`.

Drives :class:`wizard.cleanup_flow.CleanupFlow` (backup -> dedupe -> report), stopping with
exit 3 and a message naming the fix when the operator has something to do: no verified backup
(``--yes`` makes one), the monitoring gate closed (``--skip-monitor-gate`` overrides it on
purpose, recorded in the audit log), the typed word missing (``--confirm-word APAGAR`` or
``DELETE``: ``--yes`` alone never deletes anything).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from wizard import exitcodes
from wizard.engine import Plan, Status, StepError, StepOutcome
from wizard.i18n import Message, render, t

from . import CliContext
from .common import add_command, with_session
from .output import emit_json, outcome_text, plan_text, say


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    parser = add_command(sub, common, "cleanup", run, description_key="cleanup.cli.description")
    parser.add_argument("--yes", action="store_true", help=t("cleanup.cli.opt.yes"))
    parser.add_argument("--confirm-word", metavar="W", help=t("cleanup.cli.opt.confirm_word"))
    parser.add_argument(
        "--skip-monitor-gate", action="store_true", help=t("cleanup.cli.opt.skip_monitor_gate")
    )
    parser.add_argument("--restore", metavar="FILE", type=Path, help=t("cleanup.cli.opt.restore"))


class _Run:
    """One cleanup invocation: what ran, what was refused, and the JSON document."""

    def __init__(self, args: argparse.Namespace, cli: CliContext) -> None:
        from wizard.cleanup_flow import Refusal

        self.args = args
        self.cli = cli
        self.outcomes: list[StepOutcome] = []
        self.refusals: list[Refusal] = []
        self.error: Message | None = None
        self.restore: dict[str, Any] | None = None

    def show(self, outcome: StepOutcome) -> None:
        self.outcomes.append(outcome)
        if self.cli.json:
            return
        say(self.cli, outcome_text(outcome))
        for change in outcome.changes:
            say(self.cli, "        " + render(change))

    def refuse(self, refusals: list[Any]) -> int:
        self.refusals.extend(refusals)
        if not self.cli.json:
            for refusal in refusals:
                why = render(refusal.message)
                say(self.cli, Message("cleanup.cli.refused", {"why": why}), err=True)
                if refusal.fix is not None:
                    say(self.cli, "  " + t("cli.fix") + " " + render(refusal.fix), err=True)
        return exitcodes.OPERATOR

    def fail(self, exc: StepError) -> int:
        self.error = exc.message
        if not self.cli.json:
            say(self.cli, exc.message, err=True)
            if exc.fix is not None:
                say(self.cli, "  " + t("cli.fix") + " " + render(exc.fix), err=True)
        return exitcodes.OPERATOR if exc.operator_action else exitcodes.FAILED

    def finish(self, code: int) -> int:
        if self.cli.json:
            document: dict[str, Any] = {
                "command": "cleanup",
                "exit_code": code,
                "steps": [o.to_json() for o in self.outcomes],
                "refusals": [r.to_json() for r in self.refusals],
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

    def ask_word(self, plan: Plan, word: str) -> str | None:
        """--confirm-word, else (in a terminal) the plan with its row count and the question."""
        if self.args.confirm_word is not None:
            return str(self.args.confirm_word)
        if not self.cli.interactive or self.cli.json:
            return None
        say(self.cli, plan_text(plan))
        return input(render(Message("cleanup.cli.type_word", {"word": word})))


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    state = _Run(args, ctx)
    opened = False

    def body(session: Any, runner: Any) -> int:
        from wizard.cleanup_flow import CleanupFlow

        nonlocal opened
        opened = True
        flow = CleanupFlow(session, runner, skip_monitor_gate=args.skip_monitor_gate)
        try:
            if args.restore is not None:
                return _restore(state, flow, args.restore)
            result = flow.run(
                consent_backup=lambda question: bool(args.yes) or state.ask(question),
                ask_word=lambda plan: state.ask_word(plan, flow.word()),
                show=state.show,
            )
        except StepError as exc:
            return state.fail(exc)
        if result.refusals:
            return state.refuse(result.refusals)
        return result.exit_code

    code = with_session(ctx, body, interactive=ctx.interactive and not ctx.json)
    # A config that could not be read was reported already (its own JSON document).
    return state.finish(code) if opened else code


def _restore(state: _Run, flow: Any, path: Path) -> int:
    from wizard.cleanup_flow import Refusal, outcome_code
    from wizard.supabase import backup

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
        refusal = Refusal("restore_confirm", Message("cleanup.cli.restore_unconfirmed", params))
        return state.refuse([refusal])
    outcome = flow.restore(verification.data_path)
    if outcome.changes:
        state.restore["result"] = outcome.changes[-1].to_json()
    state.show(outcome)
    return outcome_code(outcome) if outcome.status is Status.FAILED else exitcodes.OK
