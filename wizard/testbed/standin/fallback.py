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
    from psycopg import sql

    from wizard.fileio import atomic_write_bytes

    folder = Path(storage_dir) / bucket
    folder.mkdir(parents=True, exist_ok=True)
    sizes: dict[str, int] = {}
    for table in tables:
        row = dw.execute(
            sql.SQL("SELECT coalesce(json_agg(t), '[]')::text FROM {} t").format(
                sql.Identifier(source_schema, table)
            )
        ).fetchone()
        data = str(row[0] if row else "[]").encode("utf-8")
        atomic_write_bytes(folder / f"{table}.json", data, backup=False)
        sizes[table] = len(data)
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
                "etag": '"' + hashlib.md5(data, usedforsecurity=False).hexdigest() + '"',
                "size": len(data),
            },
        )
    if not supabase.autocommit:
        supabase.commit()
    return sizes
