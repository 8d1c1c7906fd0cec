"""The cleanup sequence, written once for every driver (``fdw-wizard cleanup`` and the TUI's
cleanup screen): backup -> preflight -> typed word -> authorize -> apply -> report.

A driver creates a :class:`CleanupFlow` on its session and either runs the whole sequence
(:meth:`CleanupFlow.run`, the CLI: it answers the two questions with flags or ``input()``) or
one stage at a time (the TUI: a key per stage, modals for the questions). The decisions (when
to ask, what refuses, which word) and their messages live here; drivers only show them.
``cleanup.dedupe`` checks the backup, the gate and the word again in its own ``apply``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from wizard import exitcodes
from wizard.engine import Plan, Risk, RunReport, Status, Step, StepOutcome
from wizard.i18n import Message, t
from wizard.step_context import StepContext
from wizard.steps import cleanup as steps

BACKUP_ID = steps.BACKUP_ID
DEDUPE_ID = steps.DEDUPE_ID
REPORT_ID = steps.REPORT_ID
# The sequence's own steps: a version without them has no cleanup to drive.
SEQUENCE = (BACKUP_ID, DEDUPE_ID, REPORT_ID)
PHASE = "cleanup"


@dataclass(frozen=True)
class Refusal:
    """Why the deletion does not happen now, and what the operator can do about it."""

    kind: str  # no_backup | gate | word | restore_confirm | a backup error's kind
    message: Message
    fix: Message | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "message": self.message.to_json(),
            "fix": self.fix.to_json() if self.fix is not None else None,
        }


@dataclass
class Readiness:
    """The preflight's answer: refusals (nothing may be deleted) or the deletion's plan, with
    its row count, for the typed-word confirmation."""

    refusals: list[Refusal]
    plan: Plan | None = None


@dataclass
class FlowResult:
    exit_code: int
    refusals: list[Refusal] = field(default_factory=list)


def phase_steps(all_steps: list[Step]) -> list[Step]:
    """The steps a cleanup view lists (the sequence and the as-built document), in order."""
    return [s for s in all_steps if s.phase == PHASE]


def available(step_ids: set[str]) -> bool:
    return all(s in step_ids for s in SEQUENCE)


def remembered_backup(ctx: StepContext) -> tuple[Any, dict[str, Any]]:
    """(path, memory) of the last verified backup (path None: none yet)."""
    return steps.remembered_backup(ctx)


def own_word(step: Step, plan: Plan) -> str | None:
    """The word a step declares (``Step.confirm_word``, in the current language) for a plan
    that deletes, or None when a driver's generic confirmation applies."""
    if step.confirm_word is not None and Risk.DELETE in plan.risks:
        return t(step.confirm_word)
    return None


def accept_word(ctx: StepContext, step: Step, word: str | None) -> bool:
    """A confirmation with a typed word: the deletion checks the word itself, so it is handed
    it (armed for one run); any other step is confirmed by the typing alone."""
    if step.id == DEDUPE_ID:
        return steps.authorize(ctx, word)
    return True


def outcome_code(outcome: StepOutcome) -> int:
    if outcome.status in (Status.DONE, Status.NOT_APPLICABLE):
        return exitcodes.OK
    if outcome.operator_action or outcome.status in (Status.SKIPPED, Status.MANUAL):
        return exitcodes.OPERATOR
    return exitcodes.FAILED


class CleanupFlow:
    """One cleanup on one session (``ctx`` + ``runner``). ``skip_monitor_gate``: the operator
    overrode the monitoring gate on purpose (recorded by the deletion's plan and audit)."""

    def __init__(self, ctx: StepContext, runner: Any, *, skip_monitor_gate: bool = False) -> None:
        self.ctx = ctx
        self.runner = runner
        self.skip_monitor_gate = skip_monitor_gate
        self.reports: list[RunReport] = []  # every run this flow made (the TUI shows them)

    def _last(self, report: RunReport) -> StepOutcome:
        self.reports.append(report)
        return report.outcomes[-1]

    # -- 1. the backup ---------------------------------------------------------------------------

    def check_backup(self) -> StepOutcome:
        return self._last(self.runner.status([BACKUP_ID]))

    @staticmethod
    def backup_missing(outcome: StepOutcome) -> bool:
        """A backup can be made now (none yet, or not the current one; not a hard error)."""
        return outcome.status in (Status.PENDING, Status.FAILED) and not outcome.error

    def backup_question(self) -> Message:
        return Message("cleanup.cli.ask_backup", {"dir": str(steps.settings(self.ctx).backup_dir)})

    @staticmethod
    def no_backup() -> Refusal:
        return Refusal(
            "no_backup",
            Message("cleanup.refuse.no_backup", {"table": "public.clientes"}),
            Message("cleanup.cli.fix.backup"),
        )

    def make_backup(self) -> StepOutcome:
        return self._last(self.runner.apply([BACKUP_ID]))

    # -- 2. the deletion -------------------------------------------------------------------------

    def check_deletion(self) -> StepOutcome:
        return self._last(self.runner.status([DEDUPE_ID]))

    def preflight(self, *, with_plan: bool = True) -> Readiness:
        """Why a deletion would be refused right now (backup, monitoring gate); when nothing
        refuses, the deletion's plan (what the typed word will allow, with its row count)."""
        found = steps.preflight(self.ctx, skip_monitor_gate=self.skip_monitor_gate)
        refusals = [Refusal(kind, message, fix) for kind, message, fix in found]
        if refusals or not with_plan:
            return Readiness(refusals)
        plan = steps.Dedupe().plan(self.ctx)
        plan.risks.add(Risk.DELETE)
        return Readiness([], plan)

    @staticmethod
    def word() -> str:
        return steps.confirm_word()

    def authorize(self, typed: str | None) -> Refusal | None:
        """Arm the deletion with what the operator typed; a refusal when it is missing or wrong."""
        if steps.authorize(self.ctx, typed, skip_monitor_gate=self.skip_monitor_gate):
            return None
        word = self.word()
        key = "cleanup.cli.word_missing" if typed is None else "cleanup.cli.word_wrong"
        return Refusal(
            "word", Message(key, {"word": word}), Message("cleanup.fix.word", {"word": word})
        )

    def delete(self) -> StepOutcome:
        """The deletion itself (armed by :meth:`authorize`; it checks everything again)."""
        return self._last(self.runner.apply([DEDUPE_ID], confirm=lambda step, plan: True))

    # -- 3. the report ---------------------------------------------------------------------------

    def report(self) -> StepOutcome:
        return self._last(self.runner.status([REPORT_ID]))

    # -- the whole sequence ------------------------------------------------------------------------

    def run(
        self,
        *,
        consent_backup: Callable[[Message], bool],
        ask_word: Callable[[Plan], str | None],
        show: Callable[[StepOutcome], None],
    ) -> FlowResult:
        """backup -> preflight -> word -> authorize -> delete -> report. ``consent_backup``
        answers "make the backup?"; ``ask_word`` returns what the operator typed (None: not
        asked); ``show`` receives each outcome as it comes."""
        backup = self.check_backup()
        if self.backup_missing(backup):
            if not consent_backup(self.backup_question()):
                show(backup)
                return FlowResult(exitcodes.OPERATOR, [self.no_backup()])
            backup = self.make_backup()
        show(backup)
        if backup.status not in (Status.DONE, Status.NOT_APPLICABLE):
            return FlowResult(outcome_code(backup))

        dedupe = self.check_deletion()
        if dedupe.status is Status.PENDING:
            readiness = self.preflight()
            if readiness.refusals:
                show(dedupe)
                return FlowResult(exitcodes.OPERATOR, readiness.refusals)
            assert readiness.plan is not None
            refusal = self.authorize(ask_word(readiness.plan))
            if refusal is not None:
                show(dedupe)
                return FlowResult(exitcodes.OPERATOR, [refusal])
            dedupe = self.delete()
        show(dedupe)
        if dedupe.status not in (Status.DONE, Status.NOT_APPLICABLE):
            return FlowResult(outcome_code(dedupe))

        report = self.report()
        show(report)
        failed = report.status in (Status.FAILED, Status.BLOCKED)
        return FlowResult(exitcodes.FAILED if failed else exitcodes.OK)

    # -- restoring a backup ------------------------------------------------------------------------

    def restore(self, data_path: Any) -> StepOutcome:
        """Put the rows of a verified backup file back (the deletion's undo on that file)."""
        steps.request_restore(self.ctx, data_path)
        return self._last(self.runner.undo([DEDUPE_ID]))
