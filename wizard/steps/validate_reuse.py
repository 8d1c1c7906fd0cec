"""Reusing a recent measurement of the validate steps.

Measuring costs seconds (every read x samples; the offline test waits connect_timeout), so a
measurement is kept and reused by ``status``/``apply``/the TUI's checklist while it is younger
than ``validation.reuse_minutes`` AND nothing it depends on changed (the fingerprint: the
server's and foreign tables' options and statistics, the views, the app role's settings, the
config it measured under, the state's changed_at of the steps that build the setup). A reused
result says when it was measured. ``ctx.fresh_measurements`` (``fdw-wizard validate``, the
dashboard's "measure now") always measures again. Only a passing measurement is reused.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from wizard.engine import CheckResult, Status
from wizard.i18n import Message
from wizard.step_context import StepContext

APP_ROLE = "authenticated"
# Steps whose changes make an earlier measurement stale (their changed_at is fingerprinted).
SETUP_PREFIXES = ("local.", "supabase.", "views.", "app.health-function")


def reuse_minutes(ctx: StepContext) -> float:
    return float(ctx.config.validation.reuse_minutes)


def wants_fresh(ctx: StepContext) -> bool:
    return ctx.fresh_measurements


def measurements_path(config_path: Path) -> Path:
    """Beside the state file: the last measurement of each validate step (no secrets)."""
    from wizard import paths

    state = paths.state_file(config_path)
    return state.with_name(state.stem + ".measurements.json")


def load_measurements(config_path: Path) -> dict[str, Any]:
    try:
        data = json.loads(measurements_path(config_path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # missing or damaged: the next check measures again
    return data if isinstance(data, dict) else {}


def _store_measurement(ctx: StepContext, step_id: str, entry: dict[str, Any] | None) -> None:
    from wizard.fileio import atomic_write_bytes
    from wizard.redact import redact_obj

    data = load_measurements(ctx.config_path)
    if entry is None:
        data.pop(step_id, None)
    else:
        data[step_id] = entry
    text = json.dumps(redact_obj(data), ensure_ascii=False)
    atomic_write_bytes(
        measurements_path(ctx.config_path), text.encode("utf-8"), backup=False, mode=0o600
    )


def fingerprint(ctx: StepContext, conn: Any | None = None) -> str:
    """What a measurement depends on, hashed: equal fingerprints mean nothing it measured has
    changed since (as far as the wizard can see without measuring)."""
    cfg = ctx.config
    conn = conn if conn is not None else ctx.supabase_conn()
    server = conn.execute(
        "SELECT srvoptions FROM pg_foreign_server WHERE srvname = %s", (cfg.fdw.server_name,)
    ).fetchone()
    tables = conn.execute(
        "SELECT n.nspname, c.relname, ft.ftoptions, c.reltuples FROM pg_foreign_table ft"
        " JOIN pg_class c ON c.oid = ft.ftrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
        " JOIN pg_foreign_server s ON s.oid = ft.ftserver WHERE s.srvname = %s ORDER BY 1, 2",
        (cfg.fdw.server_name,),
    ).fetchall()
    views = conn.execute(
        "SELECT n.nspname, c.relname, md5(pg_get_viewdef(c.oid)), c.reloptions FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'v'"
        " AND c.relname IN ('v_clientes_360', 'v_frota_360') ORDER BY 1, 2"
    ).fetchall()
    role = conn.execute("SELECT rolconfig FROM pg_roles WHERE rolname = %s", (APP_ROLE,)).fetchone()
    changed = {}
    if ctx.state is not None:
        changed = {
            step_id: entry.get("changed_at")
            for step_id, entry in sorted(ctx.state.steps().items())
            if step_id.startswith(SETUP_PREFIXES) and isinstance(entry, dict)
        }
    validation = cfg.validation.model_dump(mode="json")
    validation.pop("reuse_minutes", None)  # how long to trust a result, not what it measured
    document = {
        "config": {
            "fdw": cfg.fdw.model_dump(mode="json"),
            "views": cfg.views.model_dump(mode="json"),
            "validation": validation,
            "exposure": [cfg.exposure.public_host, cfg.exposure.public_port],
            "supabase": [cfg.supabase.host, cfg.supabase.port, cfg.supabase.database],
            "reader": cfg.reader.name,
        },
        "server": sorted(server[0] or []) if server else None,
        "tables": [[r[0], r[1], sorted(r[2] or []), float(r[3])] for r in tables],
        "views": [[r[0], r[1], r[2], sorted(r[3] or [])] for r in views],
        "role": sorted(role[0] or []) if role else None,
        "changed": changed,
    }
    text = json.dumps(document, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


def _entry_for(result: CheckResult, fp: str, measured_at: datetime) -> dict[str, Any]:
    return {
        "fingerprint": fp,
        "measured_at": measured_at.isoformat(),
        "status": result.status.value,
        "message": result.message.to_json(),
        "details": [d.to_json() for d in result.details],
        "facts": result.facts,
    }


def _age_minutes(entry: dict[str, Any], now: datetime) -> float | None:
    try:
        at = datetime.fromisoformat(str(entry["measured_at"]))
    except (KeyError, ValueError):
        return None
    if at.tzinfo is None:
        return None
    age = (now - at).total_seconds() / 60
    return age if age >= 0 else None  # a clock that went back: measure again


def reusable(ctx: StepContext, step_id: str, fp: str) -> dict[str, Any] | None:
    """The stored measurement of ``step_id`` when it may stand in for a new one."""
    if wants_fresh(ctx):
        return None
    entry = load_measurements(ctx.config_path).get(step_id)
    if not isinstance(entry, dict) or entry.get("fingerprint") != fp:
        return None
    if entry.get("status") != Status.DONE.value:
        return None  # a failure is what the operator is working on: look again
    age = _age_minutes(entry, _now())
    if age is None or age >= reuse_minutes(ctx):
        return None
    return entry


def _reused_result(entry: dict[str, Any]) -> CheckResult:
    at = datetime.fromisoformat(str(entry["measured_at"]))
    minutes = int((_now() - at).total_seconds() // 60)
    local = at.astimezone().strftime("%Y-%m-%d %H:%M")
    details = [Message(d["key"], d.get("params") or {}) for d in entry.get("details", [])]
    details.append(Message("step.validate.reused", {"at": local, "minutes": minutes}))
    facts = dict(entry.get("facts") or {})
    facts.update(measured_at=entry["measured_at"], reused=True)
    message = entry["message"]
    return CheckResult(
        Status(entry["status"]),
        Message(message["key"], message.get("params") or {}),
        details,
        facts,
    )


def _fresh(
    ctx: StepContext, step_id: str, fp: str, result: CheckResult, at: datetime
) -> CheckResult:
    """Keep a new measurement (a failed one replaces, and so retires, an older pass)."""
    result.facts.update(measured_at=at.isoformat(), reused=False)
    with contextlib.suppress(OSError):  # a cache that cannot be written only costs time
        _store_measurement(ctx, step_id, _entry_for(result, fp, at))
    return result
