"""The runbook's items only a person can do (app code, ETL, dashboards): operator-confirmed.

Each shows what to do and how to know it is done; it stays `manual` until the operator
confirms it (`fdw-wizard apply --confirm-manual ID`, or the TUI's Confirm), which is recorded
in the state and the audit log.
"""

from __future__ import annotations

import getpass
from datetime import UTC, datetime

from wizard.engine import ApplyResult, CheckResult, NotUndoable, Status, Step
from wizard.i18n import Message
from wizard.step_context import StepContext


class ManualStep(Step):
    phase = "app"
    manual = True

    def check(self, ctx: StepContext) -> CheckResult:
        confirmed = ctx.recall(self.id).get("confirmed_at")
        if confirmed:
            return CheckResult(
                Status.DONE,
                Message(
                    "step.manual.confirmed",
                    {"at": confirmed, "by": ctx.recall(self.id).get("confirmed_by", "?")},
                ),
            )
        return CheckResult(
            Status.MANUAL,
            Message(f"step.{self.id}.todo"),
            details=[Message("step.manual.how_to_confirm", {"step": self.id})],
        )

    def confirm(self, ctx: StepContext) -> ApplyResult:
        """The operator says it is done."""
        try:
            who = getpass.getuser()
        except (KeyError, OSError):
            who = "?"
        ctx.remember(
            self.id, confirmed_at=datetime.now(UTC).isoformat(timespec="seconds"), confirmed_by=who
        )
        return ApplyResult([Message("step.manual.recorded", {"step": self.id})])

    def undo(self, ctx: StepContext) -> ApplyResult:
        if not ctx.recall(self.id).get("confirmed_at"):
            # Never confirmed: nothing was recorded, so the rollback changes nothing here.
            raise NotUndoable(Message("step.manual.nothing_to_undo", {"step": self.id}))
        ctx.remember(self.id, confirmed_at=None, confirmed_by=None)
        return ApplyResult([Message("step.manual.unconfirmed", {"step": self.id})])


class Hooks(ManualStep):
    """Runbook 4.1: useBIData tries the FDW first, falls back to the Storage JSON."""

    id = "app.hooks"
    requires = ("views.clientes-360",)


class SyncFlag(ManualStep):
    """Runbook 4.2: FDW_ENABLED = true disables the clientes sync."""

    id = "app.sync-flag"
    requires = ("app.hooks",)


class Etl(ManualStep):
    """Runbook 6.2: the ETL keeps filling the DW and keeps the JSONs only as fallback."""

    id = "app.etl"
    requires = ("supabase.test-queries",)


class Dashboards(ManualStep):
    """Runbook Fase 4: "Testar todos os 21 dashboards"."""

    id = "app.dashboards"
    requires = ("app.hooks",)
