"""Phase 5's last step, ``cleanup.report``: the runbook's "Métricas de Sucesso" measured —
before (what cleanup.backup and cleanup.dedupe remembered), the goal, and now. Changes nothing.

Bounded at any size of ``public.clientes``: the duplicated rows are counted (no content digest),
the sizes come from the catalog and Storage's metadata.
"""

from __future__ import annotations

from typing import Any

from wizard.engine import CheckResult, Status, Step
from wizard.i18n import Message, current_language, t
from wizard.i18n.format import format_number
from wizard.sql_text import compose
from wizard.step_context import StepContext
from wizard.steps.cleanup import (
    BACKUP_ID,
    DEDUPE_ID,
    REPORT_ID,
    STORAGE_BEFORE_BYTES,
    STORAGE_GOAL_BYTES,
    _mb,
    _now,
    estimated_note,
    settings,
    storage_usage,
)
from wizard.supabase import backup


class Report(Step):
    """The runbook's "Métricas de Sucesso", measured: before, goal, now. Changes nothing."""

    id = REPORT_ID
    phase = "cleanup"
    requires = ("prereq.supabase-connection",)

    def check(self, ctx: StepContext) -> CheckResult:
        conn = ctx.supabase_conn()
        cfg = settings(ctx)
        backup_memory = ctx.recall(BACKUP_ID)
        dedupe_memory = ctx.recall(DEDUPE_ID)
        before = backup_memory.get("before") or {}
        metrics: list[dict[str, Any]] = []

        # 1. Storage use of the fallback bucket (runbook: ~28 MB before, goal < 10 MB).
        usage = storage_usage(conn, ctx.config.fallback.bucket)
        now_storage = usage[1] if usage is not None else None
        metrics.append(
            {
                "id": "storage",
                "before": before.get("storage_bytes"),
                "runbook_before": STORAGE_BEFORE_BYTES,
                "goal": STORAGE_GOAL_BYTES,
                "now": now_storage,
                "objects": usage[0] if usage is not None else None,
                "bucket": ctx.config.fallback.bucket,
                "state": _state(None if now_storage is None else now_storage < STORAGE_GOAL_BYTES),
            }
        )

        # 2. Database size (runbook 6.1 "Verificar espaço recuperado").
        db_now = backup.database_size(conn)
        db_before = dedupe_memory.get("db_size_before", before.get("db_size_bytes"))
        metrics.append(
            {
                "id": "database",
                "before": db_before,
                "after": dedupe_memory.get("db_size_after"),
                "now": db_now,
                "recovered": (db_before - db_now) if isinstance(db_before, int) else None,
                "state": "info",
            }
        )

        # 3. The duplicated rows themselves.
        removable: int | None = None
        estimated = False
        if backup.table_exists(conn):
            backup.require_origin_column(backup.columns(conn), cfg.mode)
            removable, estimated = backup.removable_count(conn, cfg.mode)
        metrics.append(
            {
                "id": "duplicated_rows",
                "before": backup_memory.get("removable_rows"),
                "removed": dedupe_memory.get("removed_rows"),
                "now": removable,
                "now_estimated": estimated,
                "mode": cfg.mode,
                "state": _state(None if removable is None else removable == 0),
            }
        )

        # 4. BI query latency vs the target (from validate.latency, when it ran).
        metrics.append(_latency_metric(ctx))

        # 5. Freshness: real time through the FDW instead of the ETL's 3x/day.
        row = conn.execute(
            compose("cleanup/foreign_tables.sql", server_name=ctx.config.fdw.server_name)
        ).fetchone()
        foreign = int(row[0]) if row else 0
        metrics.append(
            {
                "id": "freshness",
                "before": "3x/day",
                "goal": "real time",
                "now": "real time" if foreign else "3x/day",
                "foreign_tables": foreign,
                "state": _state(foreign > 0),
            }
        )

        # 6. Fallback available (app.fallback's last result).
        fallback = _step_status(ctx, "app.fallback")
        metrics.append(
            {
                "id": "fallback",
                "before": False,
                "goal": True,
                "now": fallback,
                "state": "not_measured" if fallback is None else _state(fallback == "done"),
            }
        )

        details = [_metric_message(m) for m in metrics] + estimated_note(estimated)
        judged = [m for m in metrics if m["state"] in ("met", "not_met")]
        met = sum(1 for m in judged if m["state"] == "met")
        params = {"met": met, "total": len(judged)}
        facts = {"metrics": metrics, "measured_at": _now()}
        if removable:
            return CheckResult(
                Status.PENDING,
                Message("step.cleanup.report.pending", {**params, "rows": removable}),
                details,
                facts,
            )
        return CheckResult(
            Status.DONE, Message("step.cleanup.report.summary", params), details, facts
        )


def _state(ok: bool | None) -> str:
    if ok is None:
        return "not_measured"
    return "met" if ok else "not_met"


def _step_status(ctx: StepContext, step_id: str) -> str | None:
    state = ctx.state
    if state is None:
        return None
    entry = state.steps().get(step_id)
    return str(entry["status"]) if isinstance(entry, dict) and entry.get("status") else None


# Keys validate.latency may remember its worst p95 under (first found wins).
_LATENCY_KEYS = ("p95_ms", "worst_p95_ms", "max_p95_ms", "slowest_p95_ms")


def _latency_metric(ctx: StepContext) -> dict[str, Any]:
    target = ctx.config.validation.latency_target_ms
    memory = ctx.recall("validate.latency")
    value = next((memory[k] for k in _LATENCY_KEYS if isinstance(memory.get(k), int | float)), None)
    status = _step_status(ctx, "validate.latency")
    metric: dict[str, Any] = {
        "id": "latency",
        "before": None,
        "goal": target,
        "now": value,
        "step_status": status,
    }
    if value is not None:
        metric["state"] = _state(value < target)
    elif status in ("done", "failed"):
        metric["state"] = _state(status == "done")
    else:
        metric["state"] = "not_measured"
    return metric


def _metric_message(metric: dict[str, Any]) -> Message:
    state = t("cleanup.metric.state." + metric["state"])
    kind = metric["id"]
    if kind == "storage":
        params = {
            "bucket": metric["bucket"],
            "before": _mb(metric["before"]),
            "runbook": _mb(metric["runbook_before"]),
            "goal": _mb(metric["goal"]),
            "now": _mb(metric["now"]),
            "state": state,
        }
        return Message("cleanup.metric.storage", params)
    if kind == "database":
        return Message(
            "cleanup.metric.database",
            {
                "before": _mb(metric["before"]),
                "after": _mb(metric["after"]),
                "now": _mb(metric["now"]),
                "state": state,
            },
        )
    if kind == "duplicated_rows":
        return Message(
            "cleanup.metric.rows",
            {
                "before": _dash(metric["before"]),
                "now": _dash(metric["now"]),
                "mode": metric["mode"],
                "state": state,
            },
        )
    if kind == "latency":
        now = metric["now"]
        if metric["state"] == "not_measured":
            return Message("cleanup.metric.latency_unmeasured", {"goal": metric["goal"]})
        shown = (
            f"{format_number(round(now), current_language())} ms"
            if isinstance(now, int | float)
            else t("status.done")
        )
        return Message(
            "cleanup.metric.latency", {"now": shown, "goal": metric["goal"], "state": state}
        )
    if kind == "freshness":
        return Message(
            "cleanup.metric.freshness",
            {"tables": metric["foreign_tables"], "state": state},
        )
    if metric["now"] is None:
        return Message("cleanup.metric.fallback_unchecked")
    return Message(
        "cleanup.metric.fallback", {"now": t("status." + str(metric["now"])), "state": state}
    )


def _dash(value: Any) -> Any:
    """A count as it is (the catalog groups it: ``{now:n}``), "-" when not known."""
    return "-" if value is None else value
