"""The one way Phase 1 steps change postgresql.conf / pg_hba.conf.

Write atomically with a timestamped backup, let the server judge the new file (pg_file_settings
or pg_hba_file_rules read the files before any reload), and put the old bytes back on any new
error, showing the server's own message. Every step that edits a file remembers what it wrote,
so its undo can restore the exact original and local.reload knows a reload is due.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from wizard import faults
from wizard.engine import FileEdit, StepError
from wizard.fileio import atomic_write_bytes
from wizard.i18n import Message
from wizard.step_context import StepContext
from wizard.write_errors import describe_write_error

RELOAD_STEP = "local.reload"

Judge = Callable[[Any], list[str]]


def conf_judge(conn: Any) -> list[str]:
    """Errors PostgreSQL sees in postgresql.conf and its includes (restart-only is fine)."""
    from wizard.dwhost.pgfiles.judge import conf_errors

    return sorted(
        f"{e.sourcefile}:{e.sourceline}: {e.name or ''} {e.error}"
        for e in conf_errors(conn, include_pending_restart=False)
    )


def hba_judge(conn: Any) -> list[str]:
    """Errors PostgreSQL sees in pg_hba.conf. A hostssl line while ssl is still off in the
    running server is not an error when the file already turns ssl on (local.reload will)."""
    from wizard.dwhost.pgfiles.judge import file_settings, hba_errors

    ssl_pending = any(
        (s.name or "").lower() == "ssl" and (s.setting or "").lower() in ("on", "true", "1")
        for s in file_settings(conn)
    )
    errors = []
    for rule in hba_errors(conn):
        if ssl_pending and rule.error and "SSL is disabled" in rule.error:
            continue
        errors.append(f"line {rule.line_number}: {rule.error}")
    return sorted(errors)


_Read = TypeVar("_Read")


def read_dw_file(read: Callable[[Path], _Read], path: Path) -> _Read:
    """An editor's read of a file on the DW host; an unreadable file stops the step, named."""
    try:
        return read(path)
    except OSError as exc:
        raise StepError(
            Message("step.local.files.unreadable", {"path": str(path), "detail": str(exc)}),
            Message("step.local.files.unreadable.fix"),
        ) from None


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def journal_change(ctx: StepContext, path: Path) -> None:
    """Keep ``path``'s pre-run bytes in the run journal before it changes (crash recovery)."""
    journal = getattr(ctx, "journal", None)
    if journal is not None:
        journal.before_change(Path(path))


def write_judged(ctx: StepContext, step_id: str, edits: list[FileEdit], judge: Judge) -> list[str]:
    """Write ``edits``; if the server sees a new error, restore every file and raise."""
    conn = ctx.local_conn()
    baseline = set(judge(conn))
    written: list[tuple[FileEdit, Path | None]] = []
    try:
        for edit in edits:
            ctx.progress(step_id, Message("step.local.files.writing", {"path": str(edit.path)}))
            journal_change(ctx, edit.path)
            faults.point("files.before-write")
            try:
                backup = atomic_write_bytes(edit.path, edit.after)
            except OSError as exc:  # immutable, read-only, disk full...: say which and how
                raise StepError(describe_write_error(edit.path, exc)) from None
            written.append((edit, backup))
            faults.point("files.after-write")
        new_errors = [e for e in judge(conn) if e not in baseline]
    except BaseException:
        _restore(written)
        raise
    if new_errors:
        _restore(written)
        raise StepError(
            Message("step.local.files.rejected", {"errors": "; ".join(new_errors)}),
            Message("step.local.files.rejected.fix"),
        )
    memory = ctx.recall(step_id).get("files", {})
    for edit, backup in written:
        entry = memory.get(str(edit.path), {})
        # The first backup of a file holds the operator's original: keep it across re-runs.
        entry.setdefault("backup", str(backup) if backup else None)
        entry.setdefault("original_sha256", digest(edit.before or b""))
        entry["written_sha256"] = digest(edit.after)
        memory[str(edit.path)] = entry
    ctx.remember(step_id, files=memory)
    request_reload(ctx, step_id)
    return [str(b) for _, b in written if b is not None]


def _restore(written: list[tuple[FileEdit, Path | None]]) -> None:
    for edit, _backup in reversed(written):
        if edit.before is None:
            edit.path.unlink(missing_ok=True)
        else:
            atomic_write_bytes(edit.path, edit.before, backup=False)


def request_reload(ctx: StepContext, step_id: str) -> None:
    """Tell local.reload that ``step_id`` changed a file the server reads on reload."""
    requested = set(ctx.recall(RELOAD_STEP).get("requested_by", []))
    requested.add(step_id)
    ctx.remember(RELOAD_STEP, requested_by=sorted(requested))


def restore_originals(ctx: StepContext, step_id: str) -> tuple[list[str], list[str]]:
    """Undo: put back each file's original bytes when nobody changed it since the wizard did.
    Returns (restored paths, paths left alone because they changed since)."""
    memory = ctx.recall(step_id).get("files", {})
    restored: list[str] = []
    kept: list[str] = []
    for path_text, entry in memory.items():
        path = Path(path_text)
        backup = entry.get("backup")
        current = path.read_bytes() if path.exists() else b""
        if backup and digest(current) == entry.get("written_sha256") and Path(backup).exists():
            journal_change(ctx, path)
            atomic_write_bytes(path, Path(backup).read_bytes())
            restored.append(path_text)
        else:
            kept.append(path_text)
    ctx.remember(step_id, files=None)
    if restored:
        request_reload(ctx, step_id)
    return restored, kept


def originals(ctx: StepContext, step_ids: tuple[str, ...]) -> dict[Path, bytes]:
    """Every file the given steps wrote -> its bytes before the wizard's first edit.

    Each step keeps the backup of its own first write, so postgresql.conf edited by local.listen
    and then local.tls has two; the original is the one no other step wrote (the start of the
    chain), not simply the first or the last one found."""
    entries: dict[Path, list[dict[str, Any]]] = {}
    for step_id in step_ids:
        for path_text, entry in ctx.recall(step_id).get("files", {}).items():
            if entry.get("backup"):
                entries.setdefault(Path(path_text), []).append(entry)
    found: dict[Path, bytes] = {}
    for path, chain in entries.items():
        written = {e.get("written_sha256") for e in chain}
        starts = [e for e in chain if e.get("original_sha256") not in written] or chain
        backup = Path(starts[0]["backup"])
        if backup.exists():
            found[path] = backup.read_bytes()
    return found


# ---------------------------------------------------------------------------------------------
# Files the server may still use (a generated certificate and key), deleted only when it no
# longer does.

TRUE_WORDS = frozenset({"on", "true", "yes", "1"})  # how postgresql.conf spells a true bool


def still_used(ctx: StepContext, paths: list[Path]) -> Message | None:
    """Why ``paths`` must stay (None: nothing the server reads uses them), judged on the files
    as they are now, read by the server itself (pg_file_settings)."""
    from wizard.dwhost import discovery
    from wizard.dwhost.pgfiles.judge import file_settings

    conn = ctx.local_conn()
    errors = conf_judge(conn)
    if errors:
        # PostgreSQL cannot read the files as they are: what it will use is unknown.
        return Message("step.local.tls.kept_conf_errors", {"errors": "; ".join(errors)})
    values: dict[str, str] = {}
    for row in file_settings(conn):  # ordered: the last occurrence wins
        if row.name and row.setting is not None:
            values[row.name.lower()] = row.setting
    if values.get("ssl", "off").strip().lower() not in TRUE_WORDS:
        return None
    data_dir = discovery.discover_local(conn).data_directory
    wanted = {p.resolve() for p in paths}
    for name in ("ssl_cert_file", "ssl_key_file"):
        configured = Path(values.get(name, "server.crt" if "cert" in name else "server.key"))
        if not configured.is_absolute():
            configured = data_dir / configured
        if configured.resolve() in wanted:
            return Message("step.local.tls.kept_in_use", {"name": name, "path": str(configured)})
    return None


def undoing_reload_too(ctx: StepContext) -> bool:
    """Is local.reload undone later in this same run (it always goes last)?"""
    journal = getattr(ctx, "journal", None)
    record = journal.current if journal is not None else None
    return record is not None and record.command == "undo" and RELOAD_STEP in record.steps


def defer_delete(ctx: StepContext, paths: list[str]) -> None:
    """Leave ``paths`` for local.reload to delete once the server runs without them."""
    pending = set(ctx.recall(RELOAD_STEP).get("delete_when_unused", []))
    ctx.remember(RELOAD_STEP, delete_when_unused=sorted(pending | set(paths)))


def delete_unused(ctx: StepContext) -> tuple[list[Message], list[Message]]:
    """(changes, notes): delete the deferred files the server no longer uses; keep the others
    with the reason. Call only after a reload/restart the server accepted."""
    pending = ctx.recall(RELOAD_STEP).get("delete_when_unused", [])
    if not pending:
        return [], []
    reason = still_used(ctx, [Path(p) for p in pending])
    if reason is not None:
        notes = [reason] + [Message("step.local.tls.kept_file", {"path": p}) for p in pending]
        return [], notes
    changes = []
    for path in pending:
        journal_change(ctx, Path(path))
        Path(path).unlink(missing_ok=True)
        changes.append(Message("step.local.tls.removed", {"path": path}))
    ctx.remember(RELOAD_STEP, delete_when_unused=None)
    return changes, []
