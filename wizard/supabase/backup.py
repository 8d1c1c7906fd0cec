"""Backup, verification and restore of the Supabase ``public.clientes`` rows that cleanup removes.

A backup is two files side by side in the backup directory (mode 0600: they hold customer data):

* ``clientes-<mode>-<UTC stamp>.copy`` — the rows in PostgreSQL's COPY text format, one line per
  row, which round-trips every column type exactly;
* ``<same>.manifest.json`` — table, columns and types, primary key, row counts, the file's
  sha256, an order-independent digest of the rows' content computed by the server, the mode,
  when, and where from (host, port, database: never a secret).

A backup is *verified* when the file's sha256 and line count match the manifest and, read back
into a temporary table on the server (in a transaction that is rolled back), it yields the same
rows as the manifest's digest says. It is *current* when the rows cleanup would remove now are
exactly the rows it holds (count and content digest).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from wizard import paths
from wizard.errors import OperatorActionNeeded, StepError
from wizard.fileio import atomic_write_bytes
from wizard.i18n import Message
from wizard.sql_text import compose, identifier

FORMAT = "fdw-wizard-table-backup/1"
SCHEMA = "public"
TABLE = "clientes"
BI_ORIGIN = "dim_clientes_bi"  # runbook 6.1, option 2
MODES = ("delete-bi-rows", "truncate")
SCOPES = ("removed", "all")
DATA_SUFFIX = ".copy"
MANIFEST_SUFFIX = ".manifest.json"
TEMP_TABLE = "fdw_wizard_restore"
LOCK_TIMEOUT = "15s"


class BackupError(StepError):
    """A backup that cannot be trusted or used; ``kind`` says why."""

    operator_action = True

    def __init__(self, kind: str, message: Message, fix: Message | None = None) -> None:
        self.kind = kind
        super().__init__(message, fix)


@dataclass
class Column:
    name: str
    type: str
    in_primary_key: bool = False


@dataclass
class Manifest:
    table: str
    columns: list[Column]
    primary_key: list[str]
    mode: str
    scope: str
    rows: int  # rows in the file
    rows_digest: str  # content digest of the rows in the file
    removable_rows: int  # of those, the rows the mode removes (all of them unless scope "all")
    removable_digest: str
    sha256: str
    bytes: int
    created_at: str
    source: dict[str, Any] = field(default_factory=dict)
    format: str = FORMAT

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Manifest:
        values = dict(data)
        values["columns"] = [Column(**c) for c in values.get("columns", [])]
        return cls(**values)


@dataclass
class Verification:
    """What reading a backup back proved."""

    manifest: Manifest
    data_path: Path
    manifest_path: Path
    file_rows: int
    sha256: str
    readback: bool = False  # read back into a temporary table and matched the digest
    live_removable: int | None = None
    live_matches: bool | None = None  # what the mode would remove now == what the file holds
    live_mark: tuple[int, int] | None = None  # live_mark() when live_matches was decided

    def to_json(self) -> dict[str, Any]:
        return {
            "path": str(self.data_path),
            "manifest": str(self.manifest_path),
            "rows": self.file_rows,
            "sha256": self.sha256,
            "mode": self.manifest.mode,
            "scope": self.manifest.scope,
            "removable_rows": self.manifest.removable_rows,
            "read_back": self.readback,
            "live_removable": self.live_removable,
            "live_matches": self.live_matches,
            "created_at": self.manifest.created_at,
        }


@dataclass
class RestoreResult:
    rows: int
    inserted: int
    skipped: int
    path: str


# ---------------------------------------------------------------------------------------------
# SQL helpers


def table_ident() -> tuple[str, str]:
    return (SCHEMA, TABLE)


def table_text() -> str:
    return identifier(SCHEMA, TABLE)


def removal_filter(mode: str) -> Any:
    """The WHERE condition of the rows ``mode`` removes."""
    from psycopg import sql

    if mode == "truncate":
        return sql.SQL("true")
    return sql.SQL("origem = {}").format(sql.Literal(BI_ORIGIN))


def removal_statement(mode: str) -> Any:
    if mode == "truncate":
        return compose("cleanup/truncate.sql", table=table_ident())
    return compose("cleanup/delete_bi.sql", table=table_ident(), origin=BI_ORIGIN)


def _columns_sql(names: list[str]) -> Any:
    from psycopg import sql

    return sql.SQL(", ").join(sql.Identifier(n) for n in names)


@contextmanager
def stable_text(conn: Any, *, rollback: bool = False, snapshot: bool = False) -> Iterator[Any]:
    """A transaction whose text output of every type is the same on every run (time zone, date
    and interval styles, float digits), so digests and COPY files compare byte for byte.
    ``snapshot``: one read-only snapshot for every statement (REPEATABLE READ)."""
    with conn.transaction(force_rollback=rollback) as tx:
        if snapshot:
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        for setting, value in (
            ("TimeZone", "UTC"),
            ("DateStyle", "ISO, YMD"),
            ("IntervalStyle", "postgres"),
            ("extra_float_digits", "3"),
            ("bytea_output", "hex"),
        ):
            conn.execute("SELECT set_config(%s, %s, true)", [setting, value])
        yield tx


def table_exists(conn: Any) -> bool:
    row = conn.execute(compose("cleanup/table_exists.sql", table_text=table_text())).fetchone()
    return bool(row and row[0])


def columns(conn: Any) -> list[Column]:
    rows = conn.execute(compose("cleanup/columns.sql", table_text=table_text())).fetchall()
    return [Column(str(name), str(kind), bool(pk)) for name, kind, pk in rows]


def require_origin_column(cols: list[Column], mode: str) -> None:
    if mode != "truncate" and "origem" not in {c.name for c in cols}:
        raise StepError(
            Message("cleanup.err.no_origin_column", {"table": f"{SCHEMA}.{TABLE}"}),
            Message("cleanup.err.no_origin_column.fix"),
        )


def digest(conn: Any, names: list[str], mode: str, source: Any = None) -> tuple[int, str]:
    """(rows, content digest) of the rows ``mode`` removes in ``source`` (default: the table).
    Call inside :func:`stable_text`."""
    from psycopg import sql

    src = source if source is not None else sql.Identifier(*table_ident())
    row = conn.execute(
        compose(
            "cleanup/digest.sql",
            columns=_columns_sql(names),
            source=src,
            filter=removal_filter(mode),
        )
    ).fetchone()
    assert row is not None
    return int(row[0]), str(row[1])


def live_removable(conn: Any, mode: str) -> tuple[int, str]:
    """(rows, digest) of what ``mode`` would remove now."""
    names = [c.name for c in columns(conn)]
    with stable_text(conn):
        return digest(conn, names, mode)


def live_mark(conn: Any, mode: str) -> tuple[int, int]:
    """(rows, newest xmin) of what ``mode`` would remove now: a cheap change detector (no
    content hashing, no sort). Any INSERT or UPDATE gives its row a newer xmin and any DELETE
    changes the count, so an equal mark means the rows a digest covered are still those rows;
    a different one (also after VACUUM FREEZE) only means "compute the digest again"."""
    from psycopg import sql

    row = conn.execute(
        sql.SQL("SELECT count(*), coalesce(max(xmin::text::bigint), 0) FROM {} WHERE {}").format(
            sql.Identifier(*table_ident()), removal_filter(mode)
        )
    ).fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


EXACT_COUNT_MAX = 50_000  # above this many rows (by the statistics) a check estimates


def removable_count(conn: Any, mode: str) -> tuple[int, bool]:
    """(rows, estimated) that ``mode`` would remove: the planner's estimate from the table's
    statistics when it is above EXACT_COUNT_MAX (a check stays quick at any size), else an
    exact count. The backup and the deletion always count exactly."""
    from psycopg import sql

    plan = conn.execute(
        sql.SQL("EXPLAIN (FORMAT JSON) SELECT 1 FROM {} WHERE {}").format(
            sql.Identifier(*table_ident()), removal_filter(mode)
        )
    ).fetchone()[0]
    document = json.loads(plan) if isinstance(plan, str) else plan
    estimate = int(document[0]["Plan"].get("Plan Rows", 0) or 0)
    if estimate > EXACT_COUNT_MAX:
        return estimate, True
    return live_mark(conn, mode)[0], False


def count_all(conn: Any) -> int:
    from psycopg import sql

    row = conn.execute(
        sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(*table_ident()))
    ).fetchone()
    return int(row[0]) if row else 0


def database_size(conn: Any) -> int:
    row = conn.execute(compose("cleanup/db_size.sql")).fetchone()
    return int(row[0]) if row else 0


# ---------------------------------------------------------------------------------------------
# Files


def default_dir() -> Path:
    return paths.data_dir() / "backups"


def new_backup_path(directory: Path, mode: str, now: datetime | None = None) -> Path:
    """A fresh, timestamped data-file name that does not exist yet."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    base = f"{TABLE}-{mode}-{stamp}"
    candidate = directory / f"{base}{DATA_SUFFIX}"
    counter = 2
    while candidate.exists() or manifest_path_for(candidate).exists():
        candidate = directory / f"{base}-{counter}{DATA_SUFFIX}"
        counter += 1
    return candidate


def manifest_path_for(data_path: Path) -> Path:
    name = data_path.name
    stem = name[: -len(DATA_SUFFIX)] if name.endswith(DATA_SUFFIX) else name
    return data_path.with_name(stem + MANIFEST_SUFFIX)


def data_path_for(path: Path) -> Path:
    """Accept either file of a backup (data or manifest) and return the data file."""
    name = path.name
    if name.endswith(MANIFEST_SUFFIX):
        return path.with_name(name[: -len(MANIFEST_SUFFIX)] + DATA_SUFFIX)
    return path


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _line_count(data: bytes) -> int:
    # COPY text format escapes newlines inside values, so every row is exactly one line.
    return data.count(b"\n")


# ---------------------------------------------------------------------------------------------
# Export


def export(
    conn: Any,
    data_path: Path,
    *,
    mode: str,
    scope: str,
    source: dict[str, Any],
) -> Manifest:
    """Write the rows (``scope`` 'removed': what ``mode`` removes; 'all': every row) and the
    manifest, from one consistent snapshot. Returns the manifest (not yet read back)."""
    from psycopg import sql

    if mode not in MODES:
        raise ValueError(f"unknown cleanup mode {mode!r}")
    if scope not in SCOPES:
        raise ValueError(f"unknown backup scope {scope!r}")
    cols = columns(conn)
    require_origin_column(cols, mode)
    names = [c.name for c in cols]
    pk = [c.name for c in cols if c.in_primary_key]
    scope_mode = "truncate" if scope == "all" else mode  # 'truncate' selects every row
    order = _columns_sql(pk) if pk else sql.SQL("1")
    chunks: list[bytes] = []
    # The file, its count and both digests come from the same snapshot.
    with stable_text(conn, snapshot=True):
        rows, rows_digest = digest(conn, names, scope_mode)
        removable_rows, removable_digest = digest(conn, names, mode)
        query = compose(
            "cleanup/copy_out.sql",
            columns=_columns_sql(names),
            table=table_ident(),
            filter=removal_filter(scope_mode),
            order=order,
        )
        with conn.cursor().copy(query) as copy:
            for chunk in copy:
                chunks.append(bytes(chunk))
    data = b"".join(chunks)
    if _line_count(data) != rows:
        raise BackupError(
            "export_mismatch",
            Message("cleanup.err.export_mismatch", {"file": _line_count(data), "rows": rows}),
        )
    manifest = Manifest(
        table=f"{SCHEMA}.{TABLE}",
        columns=cols,
        primary_key=pk,
        mode=mode,
        scope=scope,
        rows=rows,
        rows_digest=rows_digest,
        removable_rows=removable_rows,
        removable_digest=removable_digest,
        sha256=_sha256(data),
        bytes=len(data),
        created_at=datetime.now(UTC).isoformat(),
        source=source,
    )
    atomic_write_bytes(data_path, data, backup=False, mode=0o600)
    text = json.dumps(manifest.to_json(), indent=2, ensure_ascii=False) + "\n"
    atomic_write_bytes(manifest_path_for(data_path), text.encode("utf-8"), backup=False, mode=0o600)
    return manifest


# ---------------------------------------------------------------------------------------------
# Verification


def read_manifest(data_path: Path) -> Manifest:
    path = manifest_path_for(data_path)
    params = {"path": str(path)}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        manifest = Manifest.from_json(data)
    except FileNotFoundError:
        raise BackupError(
            "missing", Message("cleanup.err.manifest_missing", params), _fix_new_backup()
        ) from None
    except (OSError, ValueError, TypeError):
        raise BackupError(
            "damaged", Message("cleanup.err.manifest_damaged", params), _fix_new_backup()
        ) from None
    if manifest.format != FORMAT or manifest.table != f"{SCHEMA}.{TABLE}":
        raise BackupError(
            "damaged", Message("cleanup.err.manifest_damaged", params), _fix_new_backup()
        )
    return manifest


def _fix_new_backup() -> Message:
    return Message("cleanup.fix.new_backup")


def verify_file(data_path: Path) -> tuple[Verification, bytes]:
    """Checksum and row count of the file against its manifest (no database needed)."""
    data_path = data_path_for(Path(data_path))
    manifest = read_manifest(data_path)
    try:
        data = data_path.read_bytes()
    except FileNotFoundError:
        raise BackupError(
            "missing",
            Message("cleanup.err.data_missing", {"path": str(data_path)}),
            _fix_new_backup(),
        ) from None
    checksum = _sha256(data)
    rows = _line_count(data)
    if checksum != manifest.sha256 or rows != manifest.rows or len(data) != manifest.bytes:
        raise BackupError(
            "tampered",
            Message(
                "cleanup.err.tampered",
                {
                    "path": str(data_path),
                    "rows": rows,
                    "expected_rows": manifest.rows,
                    "sha256": checksum[:16],
                    "expected_sha256": manifest.sha256[:16],
                },
            ),
            _fix_new_backup(),
        )
    verification = Verification(manifest, data_path, manifest_path_for(data_path), rows, checksum)
    return verification, data


def _check_columns(conn: Any, manifest: Manifest) -> list[str]:
    """The backup's columns, refused unless the live table still has each with the same type."""
    live = {c.name: c.type for c in columns(conn)}
    changed = [f"{c.name} {c.type}" for c in manifest.columns if live.get(c.name) != c.type]
    if changed:
        raise BackupError(
            "columns",
            Message(
                "cleanup.err.columns_changed",
                {"table": manifest.table, "columns": ", ".join(changed)},
            ),
        )
    return [c.name for c in manifest.columns]


def _load_temp(conn: Any, names: list[str], data: bytes) -> None:
    """Inside a transaction: the backup's rows in a temporary table dropped at its end."""
    from psycopg import sql

    temp = sql.Identifier(TEMP_TABLE)
    conn.execute(
        compose(
            "cleanup/restore_temp.sql", temp=temp, columns=_columns_sql(names), table=table_ident()
        )
    )
    with conn.cursor().copy(
        compose("cleanup/copy_in.sql", temp=temp, columns=_columns_sql(names))
    ) as copy:
        copy.write(data)


def verify(conn: Any, data_path: Path, *, mode: str | None = None) -> Verification:
    """Full verification: file checksum and count, the rows read back by the server and
    compared with the manifest's digest (rolled back: nothing stays), then the live rows."""
    from psycopg import sql

    verification, data = verify_file(data_path)
    manifest = verification.manifest
    names = _check_columns(conn, manifest)
    temp = sql.Identifier(TEMP_TABLE)
    with stable_text(conn, rollback=True):
        _load_temp(conn, names, data)
        rows, rows_digest = digest(conn, names, "truncate", temp)  # every row of the file
        removable = digest(conn, names, manifest.mode, temp)
    if (rows, rows_digest) != (manifest.rows, manifest.rows_digest) or removable != (
        manifest.removable_rows,
        manifest.removable_digest,
    ):
        raise BackupError(
            "readback",
            Message(
                "cleanup.err.readback",
                {"path": str(verification.data_path), "rows": rows, "expected": manifest.rows},
            ),
            _fix_new_backup(),
        )
    verification.readback = True
    current_mode = mode or manifest.mode
    names = [c.name for c in columns(conn)]
    with stable_text(conn, snapshot=True):  # the digest and its change mark of one snapshot
        live_rows, live_digest = digest(conn, names, current_mode)
        verification.live_mark = live_mark(conn, current_mode)
    verification.live_removable = live_rows
    verification.live_matches = current_mode == manifest.mode and (live_rows, live_digest) == (
        manifest.removable_rows,
        manifest.removable_digest,
    )
    return verification


def file_stamp(path: Path) -> list[int] | None:
    """[size, mtime_ns, inode] of a data file: what a check compares instead of hashing it."""
    try:
        st = data_path_for(Path(path)).stat()
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns, st.st_ino]


def quick_verify(
    conn: Any,
    data_path: Path,
    *,
    mode: str,
    stamp: list[int] | None = None,
    sha256: str | None = None,
    mark: list[int] | tuple[int, int] | None = None,
) -> Verification:
    """Checksum, count and the live comparison, without reading the rows back (for check).

    Bounded at any table size when nothing changed since the full verification: a file whose
    ``stamp`` (size, mtime, inode) is the one recorded is not hashed again (its recorded
    ``sha256`` stands), and live rows whose :func:`live_mark` equals the recorded ``mark``
    are not digested again. Anything different is checked in full."""
    path = data_path_for(Path(data_path))
    if stamp is not None and sha256 and file_stamp(path) == list(stamp):
        manifest = read_manifest(path)
        verification = Verification(
            manifest, path, manifest_path_for(path), manifest.rows, manifest.sha256
        )
    else:
        verification, _ = verify_file(path)
    manifest = verification.manifest
    now = live_mark(conn, mode)
    verification.live_mark = now
    if mark is not None and list(now) == list(mark):
        live_rows, same = now[0], True
    else:
        live_rows, live_digest = live_removable(conn, mode)
        same = (live_rows, live_digest) == (manifest.removable_rows, manifest.removable_digest)
    verification.live_removable = live_rows
    verification.live_matches = mode == manifest.mode and same
    return verification


# ---------------------------------------------------------------------------------------------
# Restore


def same_source(manifest: Manifest, source: dict[str, Any]) -> bool:
    keys = ("host", "port", "database")
    return all(str(manifest.source.get(k)) == str(source.get(k)) for k in keys)


def restore(conn: Any, data_path: Path, *, source: dict[str, Any]) -> RestoreResult:
    """Put the backup's rows back: those whose primary key is already there are skipped.
    Refused when the file does not match its manifest, the backup came from another database,
    the table has no primary key or its columns changed type."""
    from psycopg import sql

    verification, data = verify_file(data_path)
    manifest = verification.manifest
    if not same_source(manifest, source):
        raise BackupError(
            "other_source",
            Message(
                "cleanup.err.other_source",
                {
                    "backup": _where(manifest.source),
                    "target": _where(source),
                },
            ),
            Message("cleanup.err.other_source.fix"),
        )
    if not manifest.primary_key:
        raise BackupError(
            "no_primary_key",
            Message("cleanup.err.no_primary_key", {"table": manifest.table}),
        )
    names = _check_columns(conn, manifest)
    temp = sql.Identifier(TEMP_TABLE)
    pk_match = sql.SQL(" AND ").join(
        sql.SQL("c.{col} = t.{col}").format(col=sql.Identifier(k)) for k in manifest.primary_key
    )
    with stable_text(conn):
        conn.execute("SELECT set_config('lock_timeout', %s, true)", [LOCK_TIMEOUT])
        _load_temp(conn, names, data)
        row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(temp)).fetchone()
        loaded = int(row[0]) if row else 0
        if loaded != manifest.rows:
            raise BackupError(
                "readback",
                Message(
                    "cleanup.err.readback",
                    {
                        "path": str(verification.data_path),
                        "rows": loaded,
                        "expected": manifest.rows,
                    },
                ),
            )
        cursor = conn.execute(
            compose(
                "cleanup/restore_insert.sql",
                table=table_ident(),
                columns=_columns_sql(names),
                temp=temp,
                pk_match=pk_match,
            )
        )
        inserted = max(cursor.rowcount, 0)
    return RestoreResult(
        rows=manifest.rows,
        inserted=inserted,
        skipped=manifest.rows - inserted,
        path=str(verification.data_path),
    )


def _where(source: dict[str, Any]) -> str:
    return f"{source.get('host')}:{source.get('port')}/{source.get('database')}"


def require_current(verification: Verification) -> None:
    """Refuse a backup that no longer holds exactly what cleanup would remove now."""
    if verification.live_matches:
        return
    raise OperatorActionNeeded(
        Message(
            "cleanup.err.stale",
            {
                "path": str(verification.data_path),
                "backup_rows": verification.manifest.removable_rows,
                "live_rows": verification.live_removable
                if verification.live_removable is not None
                else "?",
            },
        ),
        _fix_new_backup(),
    )
