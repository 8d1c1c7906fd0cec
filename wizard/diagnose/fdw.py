"""What postgres_fdw itself trips on: names the remote session cannot resolve, tables that were
not imported, collations Supabase does not have, and a library that does not match the server."""

from __future__ import annotations

import re

from wizard.diagnose.core import CONFIRMED, LIKELY, POSSIBLE, Diagnosis, fix, msg
from wizard.diagnose.dispatch import handles
from wizard.diagnose.investigation import DW_LOCAL, Investigation

_RELATION = re.compile(r'relation "([^"]+)" does not exist')
_COLLATION = re.compile(r'collation "([^"]+)" for encoding "([^"]+)" does not exist')
_REMOTE_FROM = re.compile(r"remote SQL command: .*?\bFROM\s+([\w.\"]+)", re.S)


@handles("unqualified-names")
def unqualified_names(inv: Investigation) -> list[Diagnosis]:
    """postgres_fdw runs with search_path = pg_catalog: a view or function on the DW that names
    a table without its schema fails remotely although it works locally."""
    text = inv.inp.text
    found = _RELATION.search(text)
    evidence = inv.pasted()
    remote = _REMOTE_FROM.search(text)
    remote_object = remote.group(1) if remote else "?"
    qualify = [fix("diagnose.fix.qualify")]
    if found is None:
        cause = msg("diagnose.cause.unqualified", name="?", schema="?", remote=remote_object)
        return [Diagnosis("unqualified-remote-names", cause, evidence, qualify, POSSIBLE)]
    name = found.group(1)
    bare = name.split(".")[-1]
    reimport = [fix("diagnose.fix.import")]
    if "remote sql command" not in inv.inp.lowered:
        cause = msg("diagnose.cause.not_imported", name=name)
        return [Diagnosis("not-imported", cause, evidence, reimport, POSSIBLE)]
    conn = inv.local()
    schemas: list[str] = []
    if conn is not None:
        rows = conn.execute(
            "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE c.relname = %s AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
            " ORDER BY 1",
            (bare,),
        ).fetchall()
        schemas = [str(r[0]) for r in rows]
    if "." not in name and schemas:
        evidence.append(msg("diagnose.evidence.exists_in", name=bare, schemas=", ".join(schemas)))
        cause = msg(
            "diagnose.cause.unqualified", name=bare, schema=schemas[0], remote=remote_object
        )
        return [Diagnosis("unqualified-remote-names", cause, evidence, qualify, CONFIRMED)]
    if conn is not None and not schemas:
        cause = msg("diagnose.cause.remote_missing", name=name)
        return [Diagnosis("remote-table-missing", cause, evidence, reimport, CONFIRMED)]
    cause = msg("diagnose.cause.unqualified", name=bare, schema="?", remote=remote_object)
    return [Diagnosis("unqualified-remote-names", cause, evidence, qualify, LIKELY)]


@handles("collation")
def collation(inv: Investigation) -> list[Diagnosis]:
    """IMPORT FOREIGN SCHEMA copies the DW's collations; Supabase may not have them."""
    text = inv.inp.text
    found = _COLLATION.search(text)
    evidence = inv.pasted()
    name = found.group(1) if found else "?"
    missing_here: bool | None = None
    conn = inv.supabase()
    if conn is not None:
        try:
            if found:
                bare = name.split(".")[-1]
                missing_here = not conn.execute(
                    "SELECT EXISTS (SELECT 1 FROM pg_collation WHERE collname = %s)", (bare,)
                ).fetchone()[0]
                if missing_here:
                    evidence.append(msg("diagnose.evidence.collation_absent", name=bare))
            query = "SELECT datcollate FROM pg_database WHERE datname = current_database()"
            remote = conn.execute(query).fetchone()[0]
            local_conn = inv.local()
            local = local_conn.execute(query).fetchone()[0] if local_conn is not None else "?"
            evidence.append(msg("diagnose.evidence.collations", local=local, remote=remote))
        except Exception as exc:
            inv.probe_failed("collations", exc)
    cause = msg("diagnose.cause.collation", name=name)
    fixes = [fix("diagnose.fix.import_collate")]
    confidence = CONFIRMED if found and missing_here is not False else LIKELY
    return [Diagnosis("collation-mismatch", cause, evidence, fixes, confidence)]


@handles("fdw-library")
def fdw_library(inv: Investigation) -> list[Diagnosis]:
    """postgres_fdw's library does not match the running server (upgraded under it)."""
    lowered = inv.inp.lowered
    if inv.side() == DW_LOCAL:
        fixes = [fix("diagnose.fix.restart")]
    else:
        fixes = [fix("diagnose.fix.restart_supabase")]
    proved = "undefined symbol" in lowered and "could not load library" in lowered
    cause = msg("diagnose.cause.library")
    confidence = CONFIRMED if proved else LIKELY
    return [Diagnosis("fdw-library-mismatch", cause, inv.pasted(), fixes, confidence)]
