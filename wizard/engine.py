"""The step engine: the Step contract (what a checklist item declares and does) and the Runner.
Plans and their actions live in :mod:`wizard.plan`, run outcomes in :mod:`wizard.outcome`; both
are re-exported here.

A Step reads the world in ``check``, says what it would change in ``plan``, does exactly that
in ``apply``, proves it from outside in ``verify`` and, where possible, reverses it in ``undo``.
The Runner orders steps by their prerequisites, blocks a step whose prerequisite did not
succeed, honours dry-run and ``--only``, asks for confirmation of risky plans, streams events
for live feedback and records state and an audit trail. Nothing here formats text for people:
messages are :class:`wizard.i18n.Message` and are rendered by the CLI or the TUI.
"""

from __future__ import annotations

import time
import traceback
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

# Re-exported: steps import their errors from the engine.
from wizard.errors import NotUndoable as NotUndoable
from wizard.errors import OperatorActionNeeded as OperatorActionNeeded
from wizard.errors import StepError as StepError
from wizard.i18n import Message

# Re-exported: `from wizard.engine import Plan` (and the rest) keeps working.
from wizard.outcome import Event as Event
from wizard.outcome import EventSink as EventSink
from wizard.outcome import RunReport as RunReport
from wizard.outcome import StepOutcome as StepOutcome
from wizard.plan import Action as Action
from wizard.plan import ApplyResult as ApplyResult
from wizard.plan import CheckResult as CheckResult
from wizard.plan import CommandAction as CommandAction
from wizard.plan import FileEdit as FileEdit
from wizard.plan import GeneratedFile as GeneratedFile
from wizard.plan import NoteAction as NoteAction
from wizard.plan import Plan as Plan
from wizard.plan import Risk as Risk
from wizard.plan import SettingRisk as SettingRisk
from wizard.plan import SqlAction as SqlAction
from wizard.plan import Status as Status
from wizard.redact import redact
from wizard.step_context import StepContext, stop_background

# ---------------------------------------------------------------------------------------------
# Steps


class Step(ABC):
    """One checklist item, and everything the drivers need to know about it: they read these
    declarations and never name a step id (CONTRIBUTING.md, "Adding a step")."""

    id: ClassVar[str]
    phase: ClassVar[str]  # one of wizard.steps.PHASES: where the checklist lists it
    requires: ClassVar[tuple[str, ...]] = ()
    # Steps whose changes this one puts into effect (local.reload after the file edits): in a
    # dry run, a pending one means this step would have work to do too.
    follows_changes_of: ClassVar[tuple[str, ...]] = ()
    # The fdw-wizard.yaml keys this step reads that the operator may change on its screen, in
    # the order they are read; the few of them a new site must give (first-run form).
    settings_keys: ClassVar[tuple[str, ...]] = ()
    first_run_keys: ClassVar[tuple[str, ...]] = ()
    # The secrets (keyring names) the operator gives for this step: `fdw-wizard secrets set`.
    secret_keys: ClassVar[tuple[str, ...]] = ()
    # Only the operator can do it: it stays `manual` until they confirm it (``confirm``).
    manual: ClassVar[bool] = False
    # The risks its plans may carry (each asks first), and the riskier values of its settings.
    risks: ClassVar[frozenset[Risk]] = frozenset()
    setting_risks: ClassVar[tuple[SettingRisk, ...]] = ()
    # Catalog key of a word the operator must type before a plan that deletes (None: yes/no).
    confirm_word: ClassVar[str | None] = None

    @property
    def title(self) -> Message:
        return Message(f"step.{self.id}.title")

    @property
    def explanation(self) -> Message:
        return Message(f"step.{self.id}.help")

    @abstractmethod
    def check(self, ctx: StepContext) -> CheckResult:
        """Read the world, change nothing."""

    def plan(self, ctx: StepContext) -> Plan:
        """What apply would do. Default: nothing (check-only steps)."""
        return Plan(self.id)

    def apply(self, ctx: StepContext, plan: Plan) -> ApplyResult:
        """Do exactly ``plan``. Check-only steps have nothing to do."""
        if plan.changes_something:
            raise NotImplementedError(f"{self.id} planned changes but has no apply")
        return ApplyResult()

    def verify(self, ctx: StepContext) -> CheckResult:
        """Prove the effect from outside; by default a fresh check."""
        return self.check(ctx)

    def undo(self, ctx: StepContext) -> ApplyResult:
        raise NotUndoable(Message("engine.not_undoable", {"step": self.id}))

    def undo_says(self, ctx: StepContext, memory: dict[str, Any]) -> list[Message]:
        """What this step's undo removes that :mod:`wizard.undo_preview` cannot read from the
        step's memory alone (the one object it created whole, the rows of a backup). Called
        before an undo is confirmed; reads, never changes."""
        return []

    @staticmethod
    def said_if_created(memory: dict[str, Any], key: str, name: str) -> list[Message]:
        """``undo_says`` of a step that created one object whole (memory ``created: true``)."""
        return [Message(key, {"name": name})] if memory.get("created") is True else []

    def confirm(self, ctx: StepContext) -> ApplyResult:
        """A manual step records the operator's word that it is done."""
        raise UnknownStep(Message("engine.not_manual", {"step": self.id}))


# ---------------------------------------------------------------------------------------------
# Ordering


class UnknownStep(StepError):
    pass


def order_steps(steps: Sequence[Step]) -> list[Step]:
    """Checklist order, moved only as much as prerequisites demand (stable topological sort)."""
    by_id = {s.id: s for s in steps}
    ordered: list[Step] = []
    placed: set[str] = set()
    visiting: set[str] = set()

    def place(step: Step) -> None:
        if step.id in placed:
            return
        if step.id in visiting:
            raise ValueError(f"dependency cycle at {step.id}")
        visiting.add(step.id)
        for req in step.requires:
            if req in by_id:
                place(by_id[req])
        visiting.discard(step.id)
        placed.add(step.id)
        ordered.append(step)

    for step in steps:
        place(step)
    return ordered


def select_steps(steps: Sequence[Step], only: Iterable[str] | None) -> list[Step]:
    """The steps named by ``--only`` (ids or phase prefixes like ``local``), in order."""
    ordered = order_steps(steps)
    if not only:
        return ordered
    wanted = [w.strip() for w in only if w.strip()]
    known = {s.id for s in ordered}
    phases = {s.phase for s in ordered}
    for name in wanted:
        if name not in known and name not in phases:
            raise UnknownStep(
                Message("engine.unknown_step", {"step": name, "known": ", ".join(sorted(known))})
            )
    return [s for s in ordered if s.id in wanted or s.phase in wanted]


# ---------------------------------------------------------------------------------------------
# The runner


def _undo_outcome(step_id: str, result: ApplyResult) -> StepOutcome:
    """What an undo did, truthfully: undone, nothing to undo, or partly undone (exit 3)."""
    if result.incomplete:
        return StepOutcome(
            step_id,
            Status.FAILED,
            Message("engine.undo_incomplete"),
            changed=bool(result.changes),
            changes=result.changes,
            backups=result.backups,
            details=result.notes,
            operator_action=True,
        )
    return StepOutcome(
        step_id,
        Status.PENDING if result.changes else Status.NOT_APPLICABLE,
        Message("engine.undone" if result.changes else "engine.nothing_to_undo"),
        changed=bool(result.changes),
        changes=result.changes,
        backups=result.backups,
        details=result.notes,
    )


def interrupted_message(record: Any) -> Message:
    """The first line after a run died midway: which run, doing what, and the two ways on."""
    restarting = record.phase == "restart"
    key = "engine.journal.interrupted_restart" if restarting else "engine.journal.interrupted"
    return Message(
        key,
        {
            "command": record.command,
            "pid": record.pid,
            "started": record.started_at,
            "files": len(record.files),
        },
    )


Confirm = Callable[[Step, Plan], bool]


def _innermost_frames(exc: BaseException, depth: int = 4) -> str:
    """``file:line function`` of the last frames of ``exc``'s traceback, innermost first."""
    frames = traceback.extract_tb(exc.__traceback__)[-depth:]
    return " <- ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(frames))


def _now_ms() -> float:
    return time.monotonic() * 1000


class Runner:
    """Runs steps over one context, recording state and audit records."""

    def __init__(
        self,
        ctx: StepContext,
        steps: Sequence[Step],
        *,
        state: Any | None = None,
        audit: Any | None = None,
        sink: EventSink | None = None,
        lock: Any | None = None,
        journal: Any | None = None,
    ) -> None:
        self.ctx = ctx
        self.steps = order_steps(steps)
        self.by_id = {s.id: s for s in self.steps}
        self.state = state
        self.audit = audit
        self.sink = sink
        self.lock = lock  # wizard.runlock.RunLock: one changing run per config and server
        self.journal = journal  # wizard.journal.RunJournal: what a run changes, before it does
        self._in_sequence = False  # inside sequence(): its runs share the background work

    # -- one changing run at a time, journaled ----------------------------------------------------

    @contextmanager
    def changing_run(self, mode: str, step_ids: list[str]) -> Iterator[Any]:
        """Hold the run lock and keep the journal for a run that changes things. Yields the
        record of an earlier run that died midway (None when there is none). The new run
        adopts it, so "restore to before the run" still reaches the oldest bytes; the record
        is closed only when this run ends normally and did not ask to keep it open."""
        if self.lock is not None:
            self.lock.acquire(mode)
        try:
            interrupted = self.journal.interrupted() if self.journal is not None else None
            if interrupted is not None:  # first: it says what to do
                self.emit(Event("run-interrupted", message=interrupted_message(interrupted)))
            for holder in getattr(self.lock, "stale", []):
                if interrupted is not None and holder.pid == interrupted.pid:
                    continue  # the same dead run, already named
                # Its lock died with it (the OS released it); say who, so nobody wonders.
                params = {
                    "pid": holder.pid,
                    "command": holder.command,
                    "started": holder.started_at,
                }
                self.emit(Event("lock-stale", message=Message("engine.lock.stale", params)))
            if self.journal is not None:
                self.journal.begin(mode, step_ids, adopt=interrupted)
            yield interrupted
            if self.journal is not None:
                self.journal.finish()
        finally:
            if self.lock is not None:
                self.lock.release()

    def interrupted_run(self) -> Any | None:
        """An earlier run that died midway (read-only: for status and doctor). None while
        another run holds the lock: that one is alive, not interrupted."""
        if self.journal is None:
            return None
        if self.lock is None:
            return self.journal.interrupted()
        if self.lock.held:
            return None  # this process is the one running
        from wizard.runlock import RunLocked

        try:
            self.lock.acquire("status")
        except RunLocked:
            return None
        try:
            return self.journal.interrupted()
        finally:
            self.lock.release()

    def settle(self, interrupted: Any, *, restore: bool) -> RunReport:
        """After a run died midway: ``restore`` puts every file it changed back as it was
        before that run; then each step that keeps the server in step with its files
        (local.reload) makes the server run them — started if it is down, judged either way."""
        report = RunReport("recover")
        files: dict[Path, bytes | None] = {}
        if self.journal is not None and interrupted is not None:
            files = self.journal.pre_run(interrupted)
        for step in self.steps:
            settle = getattr(step, "settle", None)
            if not callable(settle):
                continue
            started = _now_ms()
            self.emit(Event("step-started", step.id))
            try:
                result = settle(self.ctx, files, restore=restore)
            except Exception as exc:
                outcome = self._failure(step, exc, started)
            else:
                outcome = StepOutcome(
                    step.id,
                    Status.DONE,
                    Message("engine.journal.settled"),
                    changed=bool(result.changes),
                    changes=result.changes,
                    duration_ms=int(_now_ms() - started),
                )
            report.outcomes.append(outcome)
            self._record(outcome, "undo" if restore else "apply")
            self._finish(step, outcome)
        if self.journal is not None and any(o.status is not Status.DONE for o in report.outcomes):
            self.journal.keep_for_recovery()  # still to be recovered: offer it again next time
        return report

    def recover(self, *, restore: bool) -> RunReport:
        """``rollback --interrupted`` (restore) or the start of an ``apply`` (finish)."""
        with self.changing_run("recover", []) as interrupted:
            if interrupted is None:
                return RunReport("recover")
            return self.settle(interrupted, restore=restore)

    # -- events -------------------------------------------------------------------------------

    def emit(self, event: Event) -> None:
        if self.sink is not None:
            self.sink(event)

    def progress(self, step_id: str, message: Message, **data: Any) -> None:
        """Live feedback from inside a step (``ctx.progress`` forwards here)."""
        self.emit(Event("progress", step_id, message=message, data=data))

    # -- helpers --------------------------------------------------------------------------------

    def _failure(self, step: Step, exc: BaseException, started: float) -> StepOutcome:
        message = getattr(exc, "message", None)
        fix = getattr(exc, "fix", None)
        if not isinstance(message, Message) and type(exc).__module__.startswith("psycopg"):
            # A query failed mid-step (server stopped, connection dropped...): say what, in
            # the same words as a failed login, so doctor and the TUI can diagnose it.
            from wizard.db import DbError, classify

            classified = DbError(classify(str(exc)), "server", str(exc))
            message, fix = classified.message, classified.fix
        error = f"{type(exc).__name__}: {exc}"
        if not isinstance(message, Message):
            message = Message("engine.unexpected_error", {"error": redact(str(exc))})
            # A bug, not a condition we name: keep where it happened for the report.
            error += f" (at {_innermost_frames(exc)})"
        return StepOutcome(
            step.id,
            Status.FAILED,
            message,
            fix=fix if isinstance(fix, Message) else None,
            error=redact(error),
            operator_action=bool(getattr(exc, "operator_action", False)),
            duration_ms=int(_now_ms() - started),
        )

    def _blocked_by(self, step: Step, results: dict[str, StepOutcome], ok: set[Status]) -> str:
        for req in step.requires:
            outcome = results.get(req)
            if outcome is not None and outcome.status not in ok:
                return req
        return ""

    def _prerequisite_outcomes(self, selected: list[Step], results: dict[str, StepOutcome]) -> None:
        """Check (read-only) prerequisites that are not part of the selection."""
        chosen = {s.id for s in selected}
        needed: list[str] = []
        for step in selected:
            for req in step.requires:
                if req not in chosen and req in self.by_id and req not in needed:
                    needed.append(req)
        for step in order_steps([self.by_id[r] for r in needed]):
            if step.id in results:
                continue
            blocker = self._blocked_by(step, results, {Status.DONE, Status.NOT_APPLICABLE})
            if blocker:
                results[step.id] = StepOutcome(
                    step.id, Status.BLOCKED, Message("engine.blocked", {"step": blocker})
                )
                continue
            results[step.id] = self._check_one(step, announce=False)

    def _pending_upstream(self, step: Step, results: dict[str, StepOutcome]) -> list[str]:
        """Prerequisites (direct or not) that a dry run found would change."""
        found: list[str] = []
        todo = list(step.requires)
        seen: set[str] = set()
        while todo:
            req = todo.pop(0)
            if req in seen:
                continue
            seen.add(req)
            outcome = results.get(req)
            if outcome is not None and outcome.status is Status.PENDING:
                found.append(req)
            elif req in self.by_id:
                todo.extend(self.by_id[req].requires)
        return found

    def _check_one(self, step: Step, *, announce: bool = True) -> StepOutcome:
        started = _now_ms()
        if announce:
            self.emit(Event("step-started", step.id))
        try:
            result = step.check(self.ctx)
        except Exception as exc:  # a check that raises is a failed check, not a crash
            outcome = self._failure(step, exc, started)
        else:
            outcome = StepOutcome(
                step.id,
                result.status,
                result.message,
                details=result.details,
                facts=result.facts,
                duration_ms=int(_now_ms() - started),
            )
        if announce:
            self.emit(Event("step-checked", step.id, outcome.status, outcome.message))
        return outcome

    def _record(self, outcome: StepOutcome, action: str) -> None:
        step = self.by_id.get(outcome.step_id)
        outcome.restarts_server = step is not None and Risk.RESTART in step.risks
        if self.state is not None:
            self.state.record(outcome, action)
        if (
            self.audit is not None
            and action in ("apply", "undo")
            and (outcome.changed or outcome.status is Status.FAILED)
        ):
            self.audit.record(outcome, action)

    # -- public operations ----------------------------------------------------------------------

    def _begin(self) -> None:
        """Let the context drop connections the server closed since the last run."""
        begin = getattr(self.ctx, "begin_run", None)
        if callable(begin):
            begin()

    @contextmanager
    def sequence(self, step_ids: Iterable[str]) -> Iterator[None]:
        """The steps a run (or runs that belong together: the TUI applies a phase one step per
        run) will reach, told to the context: a step may start work in the background for a
        later one of them. Whatever of that work was not collected is stopped when the
        outermost sequence ends, however it ends; an inner one (each run inside) adds nothing."""
        if self._in_sequence:
            yield
            return
        self._in_sequence = True
        self.ctx.run_step_ids = frozenset(step_ids)
        try:
            yield
        finally:
            self._in_sequence = False
            stop_background(self.ctx.background)
            self.ctx.run_step_ids = frozenset()

    def status(self, only: Iterable[str] | None = None) -> RunReport:
        """Every selected step's check; a step whose prerequisite is not done is 'blocked'."""
        self._begin()
        selected = select_steps(self.steps, only)
        with self.sequence(s.id for s in selected):
            return self._status_selected(selected)

    def _status_selected(self, selected: list[Step]) -> RunReport:
        report = RunReport("status")
        interrupted = self.interrupted_run()
        if interrupted is not None:
            self.emit(Event("run-interrupted", message=interrupted_message(interrupted)))
        results: dict[str, StepOutcome] = {}
        self._prerequisite_outcomes(selected, results)
        self.emit(Event("run-started", data={"mode": "status", "steps": [s.id for s in selected]}))
        for step in selected:
            blocker = self._blocked_by(step, results, {Status.DONE, Status.NOT_APPLICABLE})
            if blocker:
                outcome = StepOutcome(
                    step.id, Status.BLOCKED, Message("engine.blocked", {"step": blocker})
                )
                self.emit(Event("step-checked", step.id, outcome.status, outcome.message))
            else:
                outcome = self._check_one(step)
            results[step.id] = outcome
            report.outcomes.append(outcome)
            self._record(outcome, "check")
        self.emit(Event("run-finished", data={"exit_code": report.exit_code}))
        return report

    def apply(
        self,
        only: Iterable[str] | None = None,
        *,
        dry_run: bool = False,
        confirm: Confirm | None = None,
    ) -> RunReport:
        """check -> plan -> (confirm) -> apply -> verify for each selected step. A real run
        holds the run lock and is journaled; it first finishes a run that died midway (the
        server is started again if that run left it down)."""
        self._begin()
        selected = select_steps(self.steps, only)
        if dry_run:
            return self._apply_selected(selected, dry_run=True, confirm=confirm)
        with self.changing_run("apply", [s.id for s in selected]) as interrupted:
            settled = self.settle(interrupted, restore=False) if interrupted else None
            if settled is not None and any(o.status is Status.FAILED for o in settled.outcomes):
                report = RunReport("apply", list(settled.outcomes))
                self.emit(Event("run-finished", data={"exit_code": report.exit_code}))
                return report
            if settled is not None:
                self._begin()  # the server may have been started again: reconnect
            report = self._apply_selected(selected, dry_run=False, confirm=confirm)
            if settled is not None:
                report.outcomes[:0] = [o for o in settled.outcomes if o.changed]
            return report

    def _apply_selected(
        self, selected: list[Step], *, dry_run: bool, confirm: Confirm | None
    ) -> RunReport:
        with self.sequence(s.id for s in selected):
            return self._apply_steps(selected, dry_run=dry_run, confirm=confirm)

    def _apply_steps(
        self, selected: list[Step], *, dry_run: bool, confirm: Confirm | None
    ) -> RunReport:
        report = RunReport("dry-run" if dry_run else "apply")
        results: dict[str, StepOutcome] = {}
        self._prerequisite_outcomes(selected, results)
        self.emit(
            Event("run-started", data={"mode": report.mode, "steps": [s.id for s in selected]})
        )
        ok = {Status.DONE, Status.NOT_APPLICABLE}
        if dry_run:
            ok = ok | {Status.PENDING}  # a prerequisite that would be applied first
        for step in selected:
            blocker = self._blocked_by(step, results, ok)
            pending_sources = [
                s
                for s in step.follows_changes_of
                if dry_run and s in results and results[s].status is Status.PENDING
            ]
            if blocker:
                outcome = StepOutcome(
                    step.id, Status.BLOCKED, Message("engine.blocked", {"step": blocker})
                )
                self._finish(step, outcome)
            else:
                outcome = self._apply_one(step, dry_run=dry_run, confirm=confirm)
                waits_for = self._pending_upstream(step, results) if dry_run else []
                if waits_for and outcome.status in (Status.FAILED, Status.DONE):
                    # Its check needs what an earlier step would create: not a failure yet.
                    outcome = StepOutcome(
                        step.id,
                        Status.PENDING,
                        Message("engine.waits_for", {"steps": ", ".join(waits_for)}),
                    )
                if pending_sources and outcome.status is Status.DONE:
                    outcome.status = Status.PENDING
                    outcome.details.insert(0, outcome.message)
                    outcome.message = Message(
                        "engine.would_follow", {"steps": ", ".join(pending_sources)}
                    )
            results[step.id] = outcome
            report.outcomes.append(outcome)
            self._record(outcome, "dry-run" if dry_run else "apply")
        self.emit(Event("run-finished", data={"exit_code": report.exit_code}))
        return report

    def _finish(self, step: Step, outcome: StepOutcome) -> StepOutcome:
        """Say that ``step`` finished (its status and message), and give its outcome back."""
        self.emit(Event("step-finished", step.id, outcome.status, outcome.message))
        return outcome

    def _apply_one(self, step: Step, *, dry_run: bool, confirm: Confirm | None) -> StepOutcome:
        started = _now_ms()
        checked = self._check_one(step)
        if checked.status in (Status.DONE, Status.NOT_APPLICABLE, Status.MANUAL):
            # Idempotent by construction: nothing to do for a step already in its target state.
            return self._finish(step, checked)
        if checked.status is Status.FAILED and checked.error:
            return self._finish(step, checked)
        try:
            plan = step.plan(self.ctx)
        except Exception as exc:
            outcome = self._failure(step, exc, started)
            return self._finish(step, outcome)
        self.emit(Event("plan-ready", step.id, data={"plan": plan.to_json()}))
        if not plan.changes_something:
            # Nothing the wizard can change: the check's verdict stands (e.g. a failed login).
            checked.plan = plan
            return self._finish(step, checked)
        if dry_run:
            outcome = StepOutcome(
                step.id,
                Status.PENDING,
                Message("engine.would_change"),
                plan=plan,
                details=[checked.message],
                duration_ms=int(_now_ms() - started),
            )
            return self._finish(step, outcome)
        if plan.risks and (confirm is None or not confirm(step, plan)):
            outcome = StepOutcome(
                step.id,
                Status.SKIPPED,
                Message("engine.declined", {"risks": ", ".join(sorted(plan.risks))}),
                plan=plan,
                operator_action=True,
                duration_ms=int(_now_ms() - started),
            )
            return self._finish(step, outcome)
        try:
            result = step.apply(self.ctx, plan)
        except Exception as exc:
            outcome = self._failure(step, exc, started)
            outcome.plan = plan
            outcome.backups = list(getattr(exc, "backups", []))
            return self._finish(step, outcome)
        try:
            verified = step.verify(self.ctx)
        except Exception as exc:
            outcome = self._failure(step, exc, started)
            outcome.changed = True
        else:
            status = Status.DONE if verified.status is Status.DONE else Status.FAILED
            message = verified.message if status is Status.FAILED else Message("engine.applied")
            outcome = StepOutcome(
                step.id,
                status,
                message,
                changed=True,
                details=verified.details,
                facts=verified.facts,
            )
        outcome.plan = plan
        outcome.changes = result.changes
        outcome.backups = result.backups
        outcome.duration_ms = int(_now_ms() - started)
        return self._finish(step, outcome)

    def confirm_manual(self, ids: Iterable[str]) -> RunReport:
        """Record the operator's word that manual steps are done (state + audit)."""
        selected = select_steps(self.steps, ids)
        with self.changing_run("confirm", [s.id for s in selected]):
            return self._confirm_selected(selected)

    def _confirm_selected(self, selected: list[Step]) -> RunReport:
        report = RunReport("confirm")
        for step in selected:
            if not step.manual:
                raise UnknownStep(Message("engine.not_manual", {"step": step.id}))
            result = step.confirm(self.ctx)
            outcome = StepOutcome(
                step.id,
                Status.DONE,
                Message("engine.confirmed"),
                changed=True,
                changes=result.changes,
            )
            report.outcomes.append(outcome)
            self._record(outcome, "apply")
            self._finish(step, outcome)
        return report

    def undo(
        self, only: Iterable[str] | None = None, *, confirm: Confirm | None = None
    ) -> RunReport:
        """Undo selected steps in reverse order; a step that puts other steps' changes into
        effect (local.reload) goes last, so the server ends up running the restored files."""
        selected = list(reversed(select_steps(self.steps, only)))
        selected.sort(key=lambda s: bool(s.follows_changes_of))  # stable: others keep order
        with self.changing_run("undo", [s.id for s in selected]):
            return self._undo_selected(selected, confirm)

    def _undo_selected(self, selected: list[Step], confirm: Confirm | None) -> RunReport:
        report = RunReport("undo")
        self.emit(Event("run-started", data={"mode": "undo", "steps": [s.id for s in selected]}))
        for step in selected:
            started = _now_ms()
            self.emit(Event("step-started", step.id))
            if confirm is not None and not confirm(step, Plan(step.id, risks={Risk.DELETE})):
                outcome = StepOutcome(
                    step.id,
                    Status.SKIPPED,
                    Message("engine.declined", {"risks": "delete"}),
                    operator_action=True,
                )
            else:
                try:
                    result = step.undo(self.ctx)
                except NotUndoable as exc:
                    outcome = StepOutcome(step.id, Status.NOT_APPLICABLE, exc.message)
                except Exception as exc:
                    outcome = self._failure(step, exc, started)
                else:
                    outcome = _undo_outcome(step.id, result)
            outcome.duration_ms = int(_now_ms() - started)
            report.outcomes.append(outcome)
            self._record(outcome, "undo")
            self._finish(step, outcome)
        self.emit(Event("run-finished", data={"exit_code": report.exit_code}))
        return report
