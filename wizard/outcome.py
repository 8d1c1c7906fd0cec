"""What a run reports: live ``Event``s while it runs, one ``StepOutcome`` per step and the
``RunReport`` with its exit code (the ``--json`` shape). ``wizard.engine`` re-exports these."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from wizard import exitcodes
from wizard.i18n import Message
from wizard.plan import Plan, Risk, Status
from wizard.redact import redact_obj

# The --json run report's contract version (docs/json-report.md). Adding a key keeps it;
# renaming, removing or changing the meaning of one raises it.
REPORT_VERSION = 1


@dataclass
class Event:
    kind: str  # run-started | step-started | step-checked | plan-ready | progress |
    # step-finished | run-finished
    step_id: str | None = None
    status: Status | None = None
    message: Message | None = None
    data: dict[str, Any] = field(default_factory=dict)
    at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "at": self.at}
        if self.step_id:
            out["step"] = self.step_id
        if self.status:
            out["status"] = self.status.value
        if self.message:
            out["message"] = self.message.to_json()
        if self.data:
            out["data"] = self.data
        return redact_obj(out)  # type: ignore[no-any-return]


EventSink = Callable[[Event], None]


# ---------------------------------------------------------------------------------------------
# Outcomes


@dataclass
class StepOutcome:
    step_id: str
    status: Status
    message: Message
    changed: bool = False
    plan: Plan | None = None
    changes: list[Message] = field(default_factory=list)
    backups: list[str] = field(default_factory=list)
    details: list[Message] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    fix: Message | None = None
    error: str | None = None
    operator_action: bool = False
    duration_ms: int = 0
    # The step is the one that restarts or reloads the server (set by the Runner from what the
    # step declares); with its plan's restart risk it tells whether a restart is still owed.
    restarts_server: bool = False

    @property
    def restart_required(self) -> bool:
        """A server restart or reload is owed and has not happened yet: the restarting step is
        not done, or a plan carries the restart risk and did not run (Ansible's "restart
        required")."""
        if self.status not in (Status.PENDING, Status.FAILED):
            return False
        return self.restarts_server or (self.plan is not None and Risk.RESTART in self.plan.risks)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "step": self.step_id,
            "status": self.status.value,
            "message": self.message.to_json(),
            "changed": self.changed,
            "restart_required": self.restart_required,
            "duration_ms": self.duration_ms,
        }
        if self.plan is not None:
            out["plan"] = self.plan.to_json()
        if self.changes:
            out["changes"] = [c.to_json() for c in self.changes]
        if self.backups:
            out["backups"] = self.backups
        if self.details:
            out["details"] = [d.to_json() for d in self.details]
        if self.facts:
            out["facts"] = self.facts
        if self.fix:
            out["fix"] = self.fix.to_json()
        if self.error:
            out["error"] = self.error
        return redact_obj(out)  # type: ignore[no-any-return]


@dataclass
class RunReport:
    mode: str
    outcomes: list[StepOutcome] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        statuses = {o.status for o in self.outcomes}
        if any(o.status is Status.FAILED and not o.operator_action for o in self.outcomes):
            return exitcodes.FAILED
        waiting = {Status.MANUAL, Status.SKIPPED, Status.BLOCKED}
        if any(o.operator_action for o in self.outcomes) or (
            self.mode == "apply" and statuses & waiting
        ):
            # Nothing failed, but the operator has something to do (confirm, a manual task).
            return exitcodes.OPERATOR
        return exitcodes.OK

    def to_json(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for outcome in self.outcomes:
            counts[outcome.status.value] = counts.get(outcome.status.value, 0) + 1
        return {
            "report_version": REPORT_VERSION,
            "mode": self.mode,
            "exit_code": self.exit_code,
            "changed": any(o.changed for o in self.outcomes),
            "restart_required": any(o.restart_required for o in self.outcomes),
            "counts": counts,
            "steps": [o.to_json() for o in self.outcomes],
        }
