"""The fallback JSON files: what the ETL exports to the bi-reports bucket, with their
``storage.objects`` rows."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wizard.runbook import RUNBOOK_BUCKET, RUNBOOK_TABLES

if TYPE_CHECKING:
    import psycopg


def write_fallback_files(
    dw: psycopg.Connection[Any],
    supabase: psycopg.Connection[Any],
    storage_dir: Path,
    *,
    bucket: str = RUNBOOK_BUCKET,
    tables: Iterable[str] = RUNBOOK_TABLES,
    source_schema: str = "public",
) -> dict[str, int]:
    """Export every table of ``tables`` from the DW as ``<storage_dir>/<bucket>/<table>.json``
    (a JSON array of rows, as the ETL writes it) and upsert its ``storage.objects`` row with the
    real size, a fresh lastModified and the eTag. ``supabase`` must be allowed to write
    storage.objects (supabase_admin or postgres). Returns bytes written per table."""
    folder = Path(storage_dir) / bucket
    folder.mkdir(parents=True, exist_ok=True)
    sizes: dict[str, int] = {}
    for table in tables:
        size, etag = _export_table(dw, source_schema, table, folder / f"{table}.json")
        sizes[table] = size
        supabase.execute(
            "INSERT INTO storage.objects (bucket_id, name, created_at, updated_at,"
            " last_accessed_at, metadata)"
            " VALUES (%(bucket)s, %(name)s, now(), now(), now(), jsonb_build_object("
            " 'eTag', %(etag)s::text, 'size', %(size)s::bigint, 'mimetype', 'application/json',"
            " 'cacheControl', 'max-age=3600',"
            " 'lastModified',"
            " to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"
            " 'contentLength', %(size)s::bigint, 'httpStatusCode', 200))"
            " ON CONFLICT (bucket_id, name) DO UPDATE SET updated_at = now(),"
            " metadata = EXCLUDED.metadata",
            {
                "bucket": bucket,
                "name": f"{table}.json",
                "etag": '"' + etag + '"',
                "size": size,
            },
        )
    if not supabase.autocommit:
        supabase.commit()
    return sizes


def _export_table(
    dw: psycopg.Connection[Any], schema: str, table: str, target: Path
) -> tuple[int, str]:
    """Write one table as a JSON array, row by row through a server-side cursor (a scale-20
    table is hundreds of MB: never held whole), into a temp file that replaces ``target`` once
    complete. Returns (bytes, md5 hex) of what was written."""
    import os
    import tempfile

    from psycopg import sql

    from wizard.fileio import replace_with_retry

    digest = hashlib.md5(usedforsecurity=False)
    size = 0
    query = sql.SQL("SELECT row_to_json(t)::text FROM {} t").format(sql.Identifier(schema, table))
    fd, temp = tempfile.mkstemp(prefix=f".{table}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out, dw.transaction():
            with dw.cursor(name=f"fallback_{table}") as cursor:
                cursor.itersize = 2000
                cursor.execute(query)
                separator = b"["
                for (line,) in cursor:
                    chunk = separator + str(line).encode("utf-8")
                    out.write(chunk)
                    digest.update(chunk)
                    size += len(chunk)
                    separator = b",\n"
            tail = b"]" if size else b"[]"
            out.write(tail)
            digest.update(tail)
            size += len(tail)
            out.flush()
            os.fsync(out.fileno())
        replace_with_retry(Path(temp), target)  # Windows: the stand-in may be reading it
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return size, digest.hexdigest()
