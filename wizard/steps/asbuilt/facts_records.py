"""What the wizard recorded: measurements, the health log, the cleanup metrics, backups and
the files it keeps (never measured again here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wizard.step_context import StepContext


def measurement_facts(ctx: StepContext) -> dict[str, Any]:
    """validate.latency / validate.offline as they were last measured (never measured here)."""
    import json

    from wizard.steps.validate import fingerprint, measurements_path

    try:
        stored = json.loads(measurements_path(ctx.config_path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        stored = {}
    if not isinstance(stored, dict):
        stored = {}
    try:
        current = fingerprint(ctx)
    except Exception:  # no Supabase, no server: every measurement is of another setup
        current = None
    out: dict[str, Any] = {}
    for step_id in ("validate.latency", "validate.offline"):
        entry = stored.get(step_id)
        if isinstance(entry, dict):
            out[step_id] = {
                "measured_at": entry.get("measured_at"),
                "status": entry.get("status"),
                "facts": entry.get("facts") or {},
                "same_setup": current is not None and entry.get("fingerprint") == current,
            }
    return out


def monitoring_facts(ctx: StepContext) -> dict[str, Any]:
    from wizard.measure import monitor

    log = monitor.HealthLog.for_config(ctx.config_path)
    summary = monitor.summarize(
        log.records(), ctx.config.validation.monitor_window_hours, log=str(log.path)
    )
    return summary.to_json()


def metric_facts(ctx: StepContext) -> dict[str, Any]:
    from wizard.steps.cleanup import Report

    result = Report().check(ctx)
    return {"status": result.status.value, "metrics": result.facts.get("metrics", [])}


def record_facts(ctx: StepContext) -> dict[str, Any]:
    """Backups and the wizard's own records: where they are, whether they are still there."""
    from wizard import paths
    from wizard.measure import monitor
    from wizard.steps.cleanup import BACKUP_ID, settings
    from wizard.steps.validate import measurements_path

    files: list[dict[str, Any]] = []
    for step_id in ("local.listen", "local.tls", "local.hba"):
        for path, entry in (ctx.recall(step_id).get("files") or {}).items():
            backup = entry.get("backup") if isinstance(entry, dict) else None
            if backup:
                files.append(
                    {
                        "step": step_id,
                        "file": path,
                        "backup": backup,
                        "exists": Path(backup).exists(),
                    }
                )
    memory = ctx.recall(BACKUP_ID)
    clientes: dict[str, Any] | None = None
    if memory.get("path"):
        clientes = {
            "path": memory.get("path"),
            "rows": memory.get("rows"),
            "sha256": str(memory.get("sha256") or "")[:16],
            "exists": Path(str(memory["path"])).exists(),
        }
    try:
        backup_dir = str(settings(ctx).backup_dir)
    except Exception:
        backup_dir = None
    state = ctx.state
    return {
        "files": files,
        "clientes": clientes,
        "backup_dir": backup_dir,
        "state": str(state.path) if state is not None else str(paths.state_file(ctx.config_path)),
        "audit": str(paths.audit_file()),
        "measurements": str(measurements_path(ctx.config_path)),
        "health_log": str(monitor.log_path(ctx.config_path)),
        "generated": list(ctx.recall("local.tls").get("generated") or []),
    }
