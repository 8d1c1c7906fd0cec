"""cleanup.document — the runbook's last Phase 5 item, "Documentar arquitetura final".

The as-built document (:mod:`wizard.steps.asbuilt`) is written from live checks of both servers, in
the operator's language, to ``cleanup.document_path`` (default ``arquitetura-fdw.md`` next to
the config). The step is done when that file exists, is the wizard's, and is newer than the
last change the state recorded for any other step: any apply or rollback since makes it
pending again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wizard.engine import (
    ApplyResult,
    CheckResult,
    GeneratedFile,
    NotUndoable,
    Plan,
    Status,
    Step,
    StepError,
)
from wizard.i18n import Message, current_language
from wizard.step_context import StepContext
from wizard.steps import asbuilt


def _when(at: Any) -> str:
    return at.astimezone().strftime("%Y-%m-%d %H:%M:%S") if at is not None else "-"


class Document(Step):
    """Checklist "Documentar arquitetura final"."""

    id = asbuilt.STEP_ID
    phase = "cleanup"
    requires = ("prereq.local-connection", "prereq.supabase-connection")

    def _path(self, ctx: StepContext) -> Path:
        return asbuilt.document_path(ctx.config, ctx.config_path)

    def check(self, ctx: StepContext) -> CheckResult:
        path = self._path(ctx)
        state = ctx.state
        changed = asbuilt.last_change(state.steps() if state is not None else {})
        facts: dict[str, Any] = {
            "path": str(path),
            "last_change": changed.isoformat() if changed is not None else None,
        }
        # `fdw-wizard document --out FILE` counts too: the last document it wrote, if current.
        remembered = ctx.recall(self.id).get("path")
        other = Path(remembered) if remembered and Path(remembered) != path else None
        for candidate in [path] + ([other] if other is not None else []):
            written = asbuilt.written_at(candidate)
            if written is not None and (changed is None or written > changed):
                params = {
                    "path": str(candidate),
                    "written": _when(written),
                    "changed": _when(changed),
                }
                facts.update(path=str(candidate), written_at=written.isoformat())
                return CheckResult(
                    Status.DONE, Message("step.cleanup.document.ok", params), [], facts
                )
        if not path.exists():
            return CheckResult(
                Status.PENDING,
                Message("step.cleanup.document.missing", {"path": str(path)}),
                [],
                facts,
            )
        written = asbuilt.written_at(path)
        if written is None:
            return CheckResult(
                Status.FAILED,
                Message("step.cleanup.document.not_ours", {"path": str(path)}),
                [],
                facts,
            )
        facts["written_at"] = written.isoformat()
        params = {"path": str(path), "written": _when(written), "changed": _when(changed)}
        return CheckResult(
            Status.PENDING, Message("step.cleanup.document.stale", params), [], facts
        )

    def plan(self, ctx: StepContext) -> Plan:
        path = self._path(ctx)
        if path.exists() and asbuilt.written_at(path) is None:
            # An operator's own file of that name is never overwritten by the step.
            raise StepError(Message("step.cleanup.document.not_ours", {"path": str(path)}))
        params = {"path": str(path), "lang": current_language()}
        return Plan(
            self.id,
            actions=[GeneratedFile(path, Message("step.cleanup.document.action", params), 0o644)],
        )

    def apply(self, ctx: StepContext, plan: Plan) -> ApplyResult:
        # The plan's one GeneratedFile is cleanup.document_path: the checklist's copy.
        ctx.progress(self.id, Message("step.cleanup.document.collecting"))
        written, problems = asbuilt.write_checklist_report(ctx)
        notes = [Message("step.cleanup.document.unreadable", {"part": p}) for p in problems]
        return ApplyResult(
            changes=[Message("step.cleanup.document.written", {"path": str(written)})],
            notes=notes,
        )

    def undo(self, ctx: StepContext) -> ApplyResult:
        """Remove the documents the wizard wrote (an operator's file of the same name stays)."""
        remembered = ctx.recall(self.id).get("path")
        candidates = {self._path(ctx)} | ({Path(remembered)} if remembered else set())
        ours = sorted(p for p in candidates if asbuilt.written_at(p) is not None)
        if not ours:
            raise NotUndoable(
                Message("step.cleanup.document.nothing", {"path": str(self._path(ctx))})
            )
        for path in ours:
            path.unlink()
        ctx.remember(self.id, path=None, sha256=None)
        return ApplyResult(
            changes=[Message("step.cleanup.document.removed", {"path": str(path)}) for path in ours]
        )
