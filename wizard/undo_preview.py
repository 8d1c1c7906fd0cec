"""What an undo will do, said before it runs: which files go back to which backup, which SQL
objects are dropped, which service is reloaded. Read from what each step remembered of its
own changes (the state file) and from the files on disk; nothing is changed.

``rollback`` prints it before it asks; the TUI's undo confirmation shows it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wizard.engine import Step
from wizard.i18n import Message
from wizard.step_context import StepContext


@dataclass
class UndoPreview:
    """One step's undo, said in advance (``lines`` in the order the undo does them)."""

    step_id: str
    lines: list[Message] = field(default_factory=list)

    @property
    def nothing(self) -> bool:
        return not self.lines

    def messages(self) -> list[Message]:
        return self.lines or [Message("undo.preview.nothing")]

    def to_json(self) -> dict[str, Any]:
        return {"step": self.step_id, "will": [m.to_json() for m in self.messages()]}


def preview(ctx: StepContext, step: Step, steps: list[Step] | None = None) -> UndoPreview:
    """What ``step.undo`` would do now (``steps``: the checklist, to name the step that puts
    restored files into effect). A preview that cannot be read says so: it never stands in
    the way of the undo itself."""
    try:
        return _preview(ctx, step, steps)
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        return UndoPreview(step.id, [Message("undo.preview.unreadable", {"error": error})])


def _preview(ctx: StepContext, step: Step, steps: list[Step] | None) -> UndoPreview:
    found = UndoPreview(step.id)
    if type(step).undo is Step.undo:
        found.lines.append(Message("undo.preview.not_undoable"))
        return found
    memory = _recall(ctx, step.id)
    restored = _files(memory, found)
    if restored and steps:
        follower = next((s for s in steps if step.id in s.follows_changes_of), None)
        if follower is not None:
            found.lines.append(Message("undo.preview.then_reload", {"step": follower.id}))
    if step.follows_changes_of:
        found.lines.append(Message("undo.preview.service", {"target": _service(ctx, memory)}))
    found.lines.extend(_objects(ctx, step, memory))
    if not found.lines and not memory and not step.follows_changes_of:
        found.lines.append(Message("undo.preview.live"))  # it reads the live state to decide
    return found


def _recall(ctx: StepContext, step_id: str) -> dict[str, Any]:
    try:
        memory = ctx.recall(step_id)
    except Exception:  # a state file it cannot read: the undo will say so itself
        return {}
    return dict(memory) if isinstance(memory, dict) else {}


def _digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _files(memory: dict[str, Any], found: UndoPreview) -> bool:
    """The files the step wrote: back to their backups, or left as they are (and why)."""
    restored = False
    files = memory.get("files")
    for path_text, entry in files.items() if isinstance(files, dict) else []:
        backup = entry.get("backup") if isinstance(entry, dict) else None
        params = {"path": path_text, "backup": str(backup or "-")}
        if not backup or not Path(backup).exists():
            found.lines.append(Message("undo.preview.file_no_backup", params))
        elif _digest(Path(path_text)) != entry.get("written_sha256"):
            found.lines.append(Message("undo.preview.file_kept", params))
        else:
            found.lines.append(Message("undo.preview.file_restored", params))
            restored = True
    return restored


def _service(ctx: StepContext, memory: dict[str, Any]) -> str:
    local = ctx.config.local
    service = local.service
    if service and service != "auto":
        return str(service)
    return str(memory.get("data_directory") or local.data_dir or "-")


def _objects(ctx: StepContext, step: Step, memory: dict[str, Any]) -> list[Message]:
    """The SQL objects, options, records and files the step created, from its memory."""
    cfg = ctx.config
    out: list[Message] = []
    created = memory.get("created")
    if isinstance(created, list):  # the user mappings, one per role
        for role in created:
            out.append(
                Message("undo.preview.drop.mapping", {"name": role, "server": cfg.fdw.server_name})
            )
    out.extend(step.undo_says(ctx, memory))
    if memory.get("role"):
        out.append(Message("undo.preview.role", {"name": memory["role"]}))
    names = _names(memory.get("imported")) or _names(memory.get("foreign"))
    if names:
        schema = cfg.fdw.target_schema if memory.get("imported") else _agg_schema()
        out.append(
            Message(
                "undo.preview.drop.foreign_tables",
                {"count": len(names), "schema": schema, "names": ", ".join(names)},
            )
        )
    for view in _names(memory.get("views")):
        out.append(Message("undo.preview.drop.view", {"name": view}))
    if memory.get("created_schema"):
        out.append(Message("undo.preview.drop.schema", {"name": cfg.fdw.target_schema}))
    if memory.get("schema") is True:
        out.append(Message("undo.preview.drop.schema", {"name": _agg_schema()}))
    dw_views = _names(memory.get("dw_views"))
    if dw_views:
        out.append(Message("undo.preview.drop.dw_views", {"names": ", ".join(dw_views)}))
    options = _names(memory.get("estimated")) + _names(memory.get("costs_before"))
    if options:
        out.append(Message("undo.preview.options", {"names": ", ".join(options)}))
    generated = _names(memory.get("generated")) + _names(memory.get("delete_when_unused"))
    if generated:
        out.append(Message("undo.preview.generated", {"names": ", ".join(generated)}))
    if memory.get("confirmed_at"):
        out.append(Message("undo.preview.unconfirm", {"at": memory["confirmed_at"]}))
    if isinstance(memory.get("path"), str) and not memory.get("files"):
        out.append(Message("undo.preview.remove_file", {"path": memory["path"]}))
    return out


def _names(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [str(k) for k in value]
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return []


def _agg_schema() -> str:
    from wizard.steps.aggregates import AGG_SCHEMA

    return AGG_SCHEMA
