"""Phase 5, "Limpeza" (runbook 6.1 and the checklist's Fase 5): back up the Supabase
``public.clientes`` rows, remove the duplicated ones, then measure the "Métricas de Sucesso".

Deleting production rows is the most dangerous thing the wizard does, so ``cleanup.dedupe``
refuses, in its own ``apply`` (whatever driver calls it, even ``apply --yes``), unless:

1. the operator typed the confirmation word (``cleanup.confirm_word`` in the catalogs; a driver
   passes it with :func:`authorize`, which is consumed by one deletion);
2. the monitoring gate passed (``wizard.measure.monitor.monitor_gate``), or the operator
   overrode it on
   purpose (``authorize(..., skip_monitor_gate=True)``; recorded in the plan and the audit log);
3. a verified backup exists (file checksum and row count against its manifest, and the state's
   own record of the checksum) and, with the table locked, the rows about to be removed are
   exactly the rows it holds (count and content digest) — else the transaction rolls back.

``undo`` of ``cleanup.dedupe`` restores the rows from the backup (rows already there are skipped).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from wizard.engine import (
    ApplyResult,
    CheckResult,
    GeneratedFile,
    NoteAction,
    NotUndoable,
    OperatorActionNeeded,
    Plan,
    SqlAction,
    Status,
    Step,
    StepError,
)
from wizard.i18n import LANGUAGES, Message, t
from wizard.plan import Risk, SettingRisk, is_value
from wizard.sql_text import compose, render
from wizard.step_context import StepContext
from wizard.supabase import backup

DEFAULT_MODE = "delete-bi-rows"
DEFAULT_SCOPE = "removed"
CONFIRM_WORD_KEY = "cleanup.confirm_word"
# Runbook "Métricas de Sucesso".
STORAGE_BEFORE_BYTES = 28 * 1000 * 1000
STORAGE_GOAL_BYTES = 10 * 1000 * 1000
BACKUP_ID = "cleanup.backup"
DEDUPE_ID = "cleanup.dedupe"
REPORT_ID = "cleanup.report"
_AUTH_ATTR = "cleanup_authorization"
_RESTORE_ATTR = "cleanup_restore_path"


# ---------------------------------------------------------------------------------------------
# Settings (read defensively: the `cleanup` config section may not exist yet)


@dataclass(frozen=True)
class CleanupSettings:
    mode: str
    scope: str
    backup_dir: Path


def settings(ctx: StepContext) -> CleanupSettings:
    section = getattr(ctx.config, "cleanup", None)
    mode = str(getattr(section, "mode", DEFAULT_MODE) or DEFAULT_MODE)
    if mode not in backup.MODES:
        raise StepError(
            Message("cleanup.err.mode", {"mode": mode, "modes": ", ".join(backup.MODES)})
        )
    scope = str(getattr(section, "backup_scope", DEFAULT_SCOPE) or DEFAULT_SCOPE)
    if scope not in backup.SCOPES:
        scope = DEFAULT_SCOPE
    if mode == "truncate":
        scope = "all"  # TRUNCATE removes every row, so the backup holds every row
    raw_dir = str(getattr(section, "backup_dir", "auto") or "auto")
    if raw_dir == "auto":
        directory = backup.default_dir()
    else:
        directory = Path(raw_dir).expanduser()
        if not directory.is_absolute():
            directory = Path(ctx.config_path).resolve().parent / directory
    return CleanupSettings(mode, scope, directory)


def source(ctx: StepContext) -> dict[str, Any]:
    """Where the rows come from (never a secret)."""
    supa = ctx.config.supabase
    return {"host": supa.host, "port": supa.port, "database": supa.database}


def _table_name() -> str:
    return f"{backup.SCHEMA}.{backup.TABLE}"


# ---------------------------------------------------------------------------------------------
# The operator's authorization: a typed word, and the deliberate gate override


@dataclass(frozen=True)
class Authorization:
    word: str
    skip_monitor_gate: bool = False


def confirm_word(lang: str | None = None) -> str:
    """The word the operator types to allow the deletion, in ``lang`` (default: current)."""
    return t(CONFIRM_WORD_KEY, lang)


def confirm_words() -> set[str]:
    """Every language's word: automation may pass either, whatever the display language."""
    return {t(CONFIRM_WORD_KEY, lang) for lang in LANGUAGES}


def is_confirm_word(word: str | None) -> bool:
    return bool(word) and str(word).strip() in confirm_words()


def authorize(ctx: StepContext, word: str | None, *, skip_monitor_gate: bool = False) -> bool:
    """Arm one deletion on ``ctx`` with what the operator typed; False (and nothing armed) when
    the word is wrong."""
    if not is_confirm_word(word):
        setattr(ctx, _AUTH_ATTR, None)
        return False
    setattr(ctx, _AUTH_ATTR, Authorization(str(word).strip(), skip_monitor_gate))
    return True


def authorization(ctx: StepContext) -> Authorization | None:
    auth = getattr(ctx, _AUTH_ATTR, None)
    return auth if isinstance(auth, Authorization) and is_confirm_word(auth.word) else None


def request_restore(ctx: StepContext, path: Path | None) -> None:
    """Make the next ``cleanup.dedupe`` undo restore ``path`` instead of the last backup."""
    setattr(ctx, _RESTORE_ATTR, str(path) if path is not None else None)


# ---------------------------------------------------------------------------------------------
# The monitoring gate (wizard.measure.monitor, owned by the validation phase)


def monitor_gate(ctx: StepContext) -> tuple[bool, Message]:
    """(passed, why). A gate that errors counts as not passed."""
    from wizard.measure.monitor import monitor_gate as gate

    try:
        passed, detail = gate(ctx)
    except Exception as exc:  # a broken gate must not open the way to a deletion
        return False, Message("cleanup.gate.error", {"error": f"{type(exc).__name__}: {exc}"})
    return bool(passed), _gate_message(detail)


def _gate_message(detail: Any) -> Message:
    if isinstance(detail, Message):
        return detail
    if isinstance(detail, dict) and "required_hours" in detail:  # wizard.measure.monitor's summary
        incidents = detail.get("incidents")
        return Message(
            "cleanup.gate.summary",
            {
                "clean": round(float(detail.get("clean_hours") or 0), 1),
                "required": round(float(detail.get("required_hours") or 0), 1),
                "records": detail.get("records", 0),
                "incidents": len(incidents) if isinstance(incidents, list) else 0,
                "log": detail.get("log", "-"),
            },
        )
    return Message("cleanup.gate.detail", {"detail": str(detail)[:300] if detail else "-"})


# ---------------------------------------------------------------------------------------------
# The verified backup cleanup.dedupe relies on


def remembered_backup(ctx: StepContext) -> tuple[Path | None, dict[str, Any]]:
    memory = ctx.recall(BACKUP_ID)
    path = memory.get("path")
    return (Path(path) if path else None), memory


def _require_verified_one(
    verification: backup.Verification, path: Path, memory: dict[str, Any]
) -> None:
    """Raises when the file's checksum is not the one recorded when the backup was verified."""
    if verification.sha256 != memory.get("sha256"):
        raise backup.BackupError(
            "tampered",
            Message(
                "cleanup.err.not_the_verified_one",
                {"path": str(path), "sha256": verification.sha256[:16]},
            ),
            Message("cleanup.fix.new_backup"),
        )


def verified_backup(ctx: StepContext, conn: Any, mode: str) -> backup.Verification:
    """The remembered backup, checked against its manifest, the state's own record of its
    checksum, the mode and the live rows; raises an operator-facing error naming the fix."""
    path, memory = remembered_backup(ctx)
    if path is None:
        raise OperatorActionNeeded(
            Message("cleanup.refuse.no_backup", {"table": _table_name()}),
            Message("cleanup.fix.new_backup"),
        )
    verification = backup.quick_verify(conn, path, mode=mode)
    _require_verified_one(verification, path, memory)
    if verification.manifest.mode != mode:
        raise OperatorActionNeeded(
            Message(
                "cleanup.refuse.other_mode",
                {"path": str(path), "backup_mode": verification.manifest.mode, "mode": mode},
            ),
            Message("cleanup.fix.new_backup"),
        )
    backup.require_current(verification)
    return verification


def preflight(
    ctx: StepContext, *, skip_monitor_gate: bool = False
) -> list[tuple[str, Message, Message | None]]:
    """Why a deletion would be refused right now: [(kind, message, fix)]; empty = it may go.
    A driver calls it before asking for the word; the same checks run again inside apply."""
    refusals: list[tuple[str, Message, Message | None]] = []
    conn = ctx.supabase_conn()
    cfg = settings(ctx)
    try:
        verified_backup(ctx, conn, cfg.mode)
    except StepError as exc:
        kind = getattr(exc, "kind", "no_backup")
        refusals.append((str(kind), exc.message, exc.fix))
    passed, why = monitor_gate(ctx)
    if not passed and not skip_monitor_gate:
        refusals.append(
            ("gate", Message("cleanup.refuse.gate", {"why": why.render()}), _gate_fix())
        )
    return refusals


def _gate_fix() -> Message:
    return Message("cleanup.fix.gate")


# ---------------------------------------------------------------------------------------------
# Measurements for the report


def storage_usage(conn: Any, bucket: str) -> tuple[int, int] | None:
    """(objects, bytes) of the fallback bucket, or None where there is no Storage schema."""
    import psycopg

    try:
        row = conn.execute(compose("cleanup/storage_size.sql", bucket=bucket)).fetchone()
    except (psycopg.errors.UndefinedTable, psycopg.errors.InsufficientPrivilege):
        return None
    return (int(row[0]), int(row[1])) if row else (0, 0)


def estimated_note(estimated: bool) -> list[Message]:
    """Says that a row count shown by a check comes from the table's statistics."""
    if not estimated:
        return []
    return [Message("step.cleanup.estimated", {"max": backup.EXACT_COUNT_MAX})]


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _mb(size: int | None) -> int | str:
    """A size for a catalog's ``{x:bytes}`` (formatted in the reader's language), or '-'."""
    return "-" if size is None else int(size)


# ---------------------------------------------------------------------------------------------
# Steps


class Backup(Step):
    """Checklist "Backup dos dados do Supabase": the rows cleanup would remove, to a local file."""

    id = BACKUP_ID
    phase = "cleanup"
    requires = ("prereq.supabase-connection",)
    settings_keys = ("cleanup.backup_scope", "cleanup.backup_dir")

    def check(self, ctx: StepContext) -> CheckResult:
        conn = ctx.supabase_conn()
        cfg = settings(ctx)
        table = _table_name()
        facts: dict[str, Any] = {
            "mode": cfg.mode,
            "scope": cfg.scope,
            "backup_dir": str(cfg.backup_dir),
        }
        if not backup.table_exists(conn):
            return CheckResult(
                Status.NOT_APPLICABLE, Message("cleanup.no_table", {"table": table}), facts=facts
            )
        backup.require_origin_column(backup.columns(conn), cfg.mode)
        path, memory = remembered_backup(ctx)
        if path is None:
            removable, estimated = backup.removable_count(conn, cfg.mode)
            facts.update(removable_rows=removable, removable_estimated=estimated)
            if removable == 0:
                return CheckResult(
                    Status.DONE,
                    Message("step.cleanup.backup.nothing", {"table": table, "mode": cfg.mode}),
                    facts=facts,
                )
            return CheckResult(
                Status.PENDING,
                Message("step.cleanup.backup.none", {"rows": removable, "table": table}),
                estimated_note(estimated),
                facts,
            )
        try:
            # What was recorded when the backup was verified in full: an unchanged file and
            # unchanged rows are not hashed again (status stays quick at any table size).
            verification = backup.quick_verify(
                conn,
                path,
                mode=cfg.mode,
                stamp=memory.get("file_stamp"),
                sha256=memory.get("sha256"),
                mark=memory.get("live_mark") if memory.get("mode") == cfg.mode else None,
            )
            _require_verified_one(verification, path, memory)
        except backup.BackupError as exc:
            details = [exc.fix] if exc.fix is not None else []
            return CheckResult(Status.FAILED, exc.message, details, facts)
        removable = verification.live_removable or 0
        facts["removable_rows"] = removable
        facts["backup"] = verification.to_json()
        params = {
            "path": str(path),
            "rows": verification.manifest.rows,
            "removable": verification.manifest.removable_rows,
            "live": removable,
            "table": table,
        }
        if verification.live_matches:
            return CheckResult(Status.DONE, Message("step.cleanup.backup.ok", params), facts=facts)
        if removable == 0:
            return CheckResult(
                Status.DONE, Message("step.cleanup.backup.kept", params), facts=facts
            )
        return CheckResult(
            Status.PENDING, Message("step.cleanup.backup.stale", params), facts=facts
        )

    def plan(self, ctx: StepContext) -> Plan:
        from psycopg import sql

        conn = ctx.supabase_conn()
        cfg = settings(ctx)
        cols = backup.columns(conn)
        backup.require_origin_column(cols, cfg.mode)
        removable = backup.live_mark(conn, cfg.mode)[0]
        total = backup.count_all(conn)
        rows = total if cfg.scope == "all" else removable
        path = backup.new_backup_path(cfg.backup_dir, cfg.mode)
        pk = [c.name for c in cols if c.in_primary_key]
        query = compose(
            "cleanup/copy_out.sql",
            columns=sql.SQL(", ").join(sql.Identifier(c.name) for c in cols),
            table=backup.table_ident(),
            filter=backup.removal_filter("truncate" if cfg.scope == "all" else cfg.mode),
            order=sql.SQL(", ").join(sql.Identifier(n) for n in pk) if pk else sql.SQL("1"),
        )
        params = {"rows": rows, "table": _table_name(), "path": str(path)}
        return Plan(
            self.id,
            actions=[
                SqlAction(
                    "supabase",
                    query.as_string(conn),
                    Message("step.cleanup.backup.action.read", params),
                ),
                GeneratedFile(path, Message("step.cleanup.backup.action.file", params), 0o600),
                GeneratedFile(
                    backup.manifest_path_for(path),
                    Message("step.cleanup.backup.action.manifest", params),
                    0o600,
                ),
            ],
            warnings=[Message("step.cleanup.backup.personal_data", {"dir": str(cfg.backup_dir)})],
        )

    def apply(self, ctx: StepContext, plan: Plan) -> ApplyResult:
        conn = ctx.supabase_conn()
        cfg = settings(ctx)
        files = [a for a in plan.actions if isinstance(a, GeneratedFile)]
        path = files[0].path
        before = {
            "db_size_bytes": backup.database_size(conn),
            "storage_bytes": _storage_bytes(ctx, conn),
            "table_rows": backup.count_all(conn),
        }
        ctx.progress(self.id, Message("step.cleanup.backup.exporting", {"path": str(path)}))
        manifest = backup.export(conn, path, mode=cfg.mode, scope=cfg.scope, source=source(ctx))
        ctx.progress(self.id, Message("step.cleanup.backup.verifying", {"rows": manifest.rows}))
        verification = backup.verify(conn, path, mode=cfg.mode)
        backup.require_current(verification)  # rows changed between export and read-back
        ctx.remember(
            self.id,
            path=str(path),
            manifest=str(verification.manifest_path),
            sha256=manifest.sha256,
            rows=manifest.rows,
            removable_rows=manifest.removable_rows,
            mode=manifest.mode,
            scope=manifest.scope,
            created_at=manifest.created_at,
            verified_at=_now(),
            before=before,
            file_stamp=backup.file_stamp(path),
            live_mark=list(verification.live_mark) if verification.live_mark else None,
        )
        return ApplyResult(
            changes=[
                Message(
                    "step.cleanup.backup.written",
                    {
                        "path": str(path),
                        "rows": manifest.rows,
                        "sha256": manifest.sha256[:16],
                    },
                )
            ],
            backups=[str(path)],
        )


def _storage_bytes(ctx: StepContext, conn: Any) -> int | None:
    usage = storage_usage(conn, ctx.config.fallback.bucket)
    return usage[1] if usage is not None else None


class Dedupe(Step):
    """Checklist "Remover dados duplicados": runbook 6.1 option 2 (DELETE the BI rows, default)
    or option 1 (TRUNCATE), in one transaction, only with a verified backup and a typed word."""

    id = DEDUPE_ID
    phase = "cleanup"
    requires = (BACKUP_ID,)
    settings_keys = ("cleanup.mode",)
    risks = frozenset({Risk.DELETE})
    setting_risks = (SettingRisk("cleanup.mode", Risk.DELETE, "truncate", is_value("truncate")),)
    confirm_word = CONFIRM_WORD_KEY

    def check(self, ctx: StepContext) -> CheckResult:
        conn = ctx.supabase_conn()
        cfg = settings(ctx)
        table = _table_name()
        if not backup.table_exists(conn):
            return CheckResult(Status.NOT_APPLICABLE, Message("cleanup.no_table", {"table": table}))
        backup.require_origin_column(backup.columns(conn), cfg.mode)
        removable, estimated = backup.removable_count(conn, cfg.mode)
        memory = ctx.recall(self.id)
        facts: dict[str, Any] = {
            "mode": cfg.mode,
            "removable_rows": removable,
            "removable_estimated": estimated,
        }
        if memory.get("removed_at"):
            facts["last_removal"] = {
                k: memory.get(k) for k in ("removed_rows", "removed_at", "mode", "backup")
            }
        params = {"rows": removable, "table": table, "mode": cfg.mode}
        if removable == 0:
            return CheckResult(
                Status.DONE, Message("step.cleanup.dedupe.nothing_left", params), facts=facts
            )
        return CheckResult(
            Status.PENDING,
            Message("step.cleanup.dedupe.pending", params),
            estimated_note(estimated),
            facts,
        )

    def plan(self, ctx: StepContext) -> Plan:
        conn = ctx.supabase_conn()
        cfg = settings(ctx)
        removable = backup.live_mark(conn, cfg.mode)[0]
        lock = render(conn, "cleanup/lock.sql", table=backup.table_ident())
        statement = backup.removal_statement(cfg.mode).as_string(conn)
        vacuum = render(conn, "cleanup/vacuum.sql", table=backup.table_ident())
        params = {"rows": removable, "table": _table_name(), "mode": cfg.mode}
        actions: list[Any] = []
        warnings: list[Message] = []
        path, memory = remembered_backup(ctx)
        if path is not None:
            actions.append(
                NoteAction(
                    Message(
                        "step.cleanup.dedupe.action.backup",
                        {"path": str(path), "rows": memory.get("removable_rows", "?")},
                    )
                )
            )
        else:
            warnings.append(Message("cleanup.refuse.no_backup", {"table": _table_name()}))
        actions.append(
            SqlAction(
                "supabase",
                f"BEGIN;\n{lock}\n{statement}\nCOMMIT;",
                Message("step.cleanup.dedupe.action", params),
            )
        )
        actions.append(
            SqlAction("supabase", vacuum, Message("step.cleanup.dedupe.action.vacuum", params))
        )
        if cfg.mode == "truncate":
            warnings.append(Message("step.cleanup.dedupe.truncate_warning", params))
        passed, why = monitor_gate(ctx)
        if not passed:
            auth = getattr(ctx, _AUTH_ATTR, None)
            if isinstance(auth, Authorization) and auth.skip_monitor_gate:
                warnings.append(Message("cleanup.gate.overridden", {"why": why.render()}))
            else:
                warnings.append(Message("cleanup.refuse.gate", {"why": why.render()}))
        warnings.append(Message("step.cleanup.dedupe.word", {"word": confirm_word()}))
        return Plan(self.id, actions=actions, risks={Risk.DELETE}, warnings=warnings)

    @staticmethod
    def _planned_rows(plan: Plan) -> int:
        for action in plan.actions:
            if isinstance(action, SqlAction) and action.description.key == (
                "step.cleanup.dedupe.action"
            ):
                return int(action.description.params["rows"])
        raise StepError(Message("engine.unexpected_error", {"error": "plan without a count"}))

    def apply(self, ctx: StepContext, plan: Plan) -> ApplyResult:
        auth = authorization(ctx)
        if auth is None:
            raise OperatorActionNeeded(
                Message("cleanup.refuse.word", {"word": confirm_word()}),
                Message("cleanup.fix.word", {"word": confirm_word()}),
            )
        changes: list[Message] = []
        passed, why = monitor_gate(ctx)
        if not passed:
            if not auth.skip_monitor_gate:
                raise OperatorActionNeeded(
                    Message("cleanup.refuse.gate", {"why": why.render()}), _gate_fix()
                )
            # The override is part of what changed: it lands in the audit log with the deletion.
            changes.append(Message("cleanup.gate.overridden", {"why": why.render()}))
        conn = ctx.supabase_conn()
        cfg = settings(ctx)
        verification = verified_backup(ctx, conn, cfg.mode)
        manifest = verification.manifest
        expected = self._planned_rows(plan)
        names = [c.name for c in manifest.columns]
        live = {c.name: c.type for c in backup.columns(conn)}
        if any(live.get(c.name) != c.type for c in manifest.columns) or set(live) != set(names):
            raise OperatorActionNeeded(
                Message("cleanup.refuse.columns", {"table": _table_name()}),
                Message("cleanup.fix.new_backup"),
            )
        db_before = backup.database_size(conn)
        ctx.progress(self.id, Message("step.cleanup.dedupe.locking", {"table": _table_name()}))
        with backup.stable_text(conn):
            conn.execute("SELECT set_config('lock_timeout', %s, true)", [backup.LOCK_TIMEOUT])
            conn.execute(compose("cleanup/lock.sql", table=backup.table_ident()))
            rows, content = backup.digest(conn, names, cfg.mode)
            if (rows, content) != (manifest.removable_rows, manifest.removable_digest) or (
                rows != expected
            ):
                # Raising inside the transaction rolls it back: nothing is removed.
                raise OperatorActionNeeded(
                    Message(
                        "cleanup.refuse.changed",
                        {
                            "live": rows,
                            "backup": manifest.removable_rows,
                            "planned": expected,
                            "path": str(verification.data_path),
                        },
                    ),
                    Message("cleanup.fix.new_backup"),
                )
            ctx.progress(self.id, Message("step.cleanup.dedupe.removing", {"rows": rows}))
            cursor = conn.execute(backup.removal_statement(cfg.mode))
            if cfg.mode == "truncate":
                left = backup.count_all(conn)
                removed = rows if left == 0 else rows - left
            else:
                removed = cursor.rowcount
            if removed != rows:
                raise StepError(
                    Message("cleanup.err.removed_count", {"removed": removed, "expected": rows})
                )
        setattr(ctx, _AUTH_ATTR, None)  # one word, one deletion
        try:
            conn.execute(compose("cleanup/vacuum.sql", table=backup.table_ident()))
        except Exception as exc:  # the rows are gone and backed up; only the space waits
            changes.append(Message("step.cleanup.dedupe.vacuum_failed", {"error": str(exc)}))
        db_after = backup.database_size(conn)
        ctx.remember(
            self.id,
            removed_rows=removed,
            removed_at=_now(),
            mode=cfg.mode,
            backup=str(verification.data_path),
            db_size_before=db_before,
            db_size_after=db_after,
            gate_overridden=not passed,
        )
        changes.append(
            Message(
                "step.cleanup.dedupe.removed",
                {
                    "rows": removed,
                    "table": _table_name(),
                    "path": str(verification.data_path),
                    "before": _mb(db_before),
                    "after": _mb(db_after),
                },
            )
        )
        return ApplyResult(changes=changes, backups=[str(verification.data_path)])

    def undo_says(self, ctx: StepContext, memory: dict[str, Any]) -> list[Message]:
        """The rows of the verified backup go back into the table."""
        path, backup_memory = remembered_backup(ctx)
        if path is None:
            return []
        rows = backup_memory.get("removable_rows", "?")
        return [Message("undo.preview.rows", {"path": str(path), "rows": rows})]

    def undo(self, ctx: StepContext) -> ApplyResult:
        chosen = getattr(ctx, _RESTORE_ATTR, None)
        path = Path(chosen) if chosen else remembered_backup(ctx)[0]
        if path is None:
            raise NotUndoable(Message("cleanup.restore.no_backup"))
        conn = ctx.supabase_conn()
        ctx.progress(self.id, Message("cleanup.restore.running", {"path": str(path)}))
        result = backup.restore(conn, path, source=source(ctx))
        setattr(ctx, _RESTORE_ATTR, None)
        ctx.remember(
            self.id,
            restored_at=_now(),
            restored_rows=result.inserted,
            restored_from=result.path,
        )
        return ApplyResult(
            changes=[
                Message(
                    "cleanup.restore.done",
                    {
                        "inserted": result.inserted,
                        "skipped": result.skipped,
                        "rows": result.rows,
                        "path": result.path,
                        "table": _table_name(),
                    },
                )
            ],
            backups=[result.path],
        )


def steps() -> list[Step]:
    """This phase's steps in checklist order (for tests; the checklist is all_steps())."""
    return [Backup(), Dedupe(), __getattr__("Report")()]


def __getattr__(name: str) -> Any:
    """``cleanup.Report`` lives in :mod:`wizard.steps.cleanup_report` (it imports this module)."""
    if name == "Report":
        from wizard.steps.cleanup_report import Report

        return Report
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
