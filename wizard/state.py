"""Per-config state (last status of every step) and the append-only JSONL audit log.

Neither ever holds a secret: everything passes through :func:`wizard.redact.redact_obj`.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from wizard import paths
from wizard.fileio import append_line, atomic_write_bytes
from wizard.outcome import StepOutcome
from wizard.redact import redact, redact_obj


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _who() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers) or no login name
        return str(os.getuid()) if hasattr(os, "getuid") else "unknown"


class StateStore:
    """``{step_id: {status, checked_at, applied_at, changed_at, last_error, message}}``."""

    def __init__(self, config_path: Path, path: Path | None = None) -> None:
        self.config_path = Path(config_path)
        self.path = path or paths.state_file(self.config_path)

    def load(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"config": str(self.config_path.resolve()), "steps": {}}
        except (OSError, ValueError):
            # A damaged state file only loses history; the checks rebuild the truth.
            return {"config": str(self.config_path.resolve()), "steps": {}}
        data.setdefault("steps", {})
        return data  # type: ignore[no-any-return]

    def steps(self) -> dict[str, Any]:
        return self.load()["steps"]  # type: ignore[no-any-return]

    def recall(self, step_id: str) -> dict[str, Any]:
        """What a step remembered about its last apply (original values, backups, ...)."""
        return dict(self.steps().get(step_id, {}).get("memory", {}))

    def remember(self, step_id: str, values: dict[str, Any]) -> None:
        """Merge ``values`` into the step's memory (None deletes a key). Never a secret."""
        data = self.load()
        memory = data["steps"].setdefault(step_id, {}).setdefault("memory", {})
        for key, value in values.items():
            if value is None:
                memory.pop(key, None)
            else:
                memory[key] = value
        self._write(data)

    def _write(self, data: dict[str, Any]) -> None:
        text = json.dumps(redact_obj(data), indent=2, ensure_ascii=False)
        atomic_write_bytes(self.path, text.encode("utf-8"), backup=False, mode=0o600)

    def record(self, outcome: StepOutcome, action: str) -> None:
        data = self.load()
        entry = data["steps"].setdefault(outcome.step_id, {})
        now = _now()
        entry["status"] = outcome.status.value
        entry["message"] = outcome.message.to_json()
        entry["checked_at"] = now
        if action == "apply":
            entry["applied_at"] = now
        if outcome.changed:
            entry["changed_at"] = now
        if outcome.error or outcome.status.value == "failed":
            entry["last_error"] = redact(outcome.error or outcome.message.key)
            entry["failed_at"] = now
        data["updated_at"] = now
        self._write(data)


class AuditLog:
    """One JSON line per change: when, who, where, step, what changed, backups, outcome."""

    def __init__(self, config_path: Path, path: Path | None = None) -> None:
        self.config_path = Path(config_path)
        self.path = path or paths.audit_file()

    def record(self, outcome: StepOutcome, action: str) -> None:
        entry: dict[str, Any] = {
            "at": _now(),
            "user": _who(),
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "config": str(self.config_path.resolve()),
            "step": outcome.step_id,
            "action": action,
            "status": outcome.status.value,
            "changed": outcome.changed,
            "changes": [c.to_json() for c in outcome.changes],
            "backups": outcome.backups,
        }
        if outcome.plan is not None:
            entry["plan"] = outcome.plan.to_json()
        if outcome.error:
            entry["error"] = outcome.error
        append_line(self.path, json.dumps(redact_obj(entry), ensure_ascii=False))

    def entries(self) -> list[dict[str, Any]]:
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        return [json.loads(line) for line in lines if line.strip()]
