"""Permission denied: a grant missing on the DW (the reader) or on Supabase (the API roles),
or a foreign server that points at another database."""

from __future__ import annotations

import re

from wizard.diagnose.core import CONFIRMED, POSSIBLE, Diagnosis, Fix, fix, msg
from wizard.diagnose.dispatch import handles
from wizard.diagnose.investigation import Investigation

_PERMISSION = re.compile(r"permission denied for (foreign table|table|view|schema|relation) (\S+)")
# The views the wizard creates, and the step that grants them (other tables: supabase.grants).
_VIEW_STEPS = {"v_clientes_360": "views.clientes-360", "v_frota_360": "views.frota-360"}


@handles("permission-denied")
def permission_denied(inv: Investigation) -> list[Diagnosis]:
    cfg = inv.cfg
    text = inv.inp.text
    found = _PERMISSION.search(text)
    kind, name = (found.group(1), found.group(2).strip('"')) if found else ("", "")
    table = name.split(".")[-1].strip('"') if name else ""
    remote = "remote sql command" in inv.inp.lowered
    tables = [table] if table and kind != "schema" else list(cfg.fdw.tables)
    dw_gaps = _dw_gaps(inv, tables)
    supa_gaps = _supabase_gaps(inv, tables, kind == "schema")
    dw_diag = supa_diag = None
    if dw_gaps:
        cause = msg("diagnose.cause.grant_dw", role=cfg.reader.name, tables=", ".join(dw_gaps))
        fixes = [fix("diagnose.fix.grant_dw")]
        dw_diag = Diagnosis("missing-grant-dw", cause, inv.pasted(), fixes, CONFIRMED)
    if supa_gaps:
        cause = msg("diagnose.cause.grant_supabase", items=", ".join(supa_gaps))
        step = _VIEW_STEPS.get(table, "supabase.grants")
        fixes = [Fix(msg("diagnose.fix.grant_supabase"), step)]
        supa_diag = Diagnosis("missing-grant-supabase", cause, inv.pasted(), fixes, CONFIRMED)
    ordered = [dw_diag, supa_diag] if remote or kind != "foreign table" else [supa_diag, dw_diag]
    found_list = [d for d in ordered if d is not None]
    dbname = inv.server_option("dbname")
    if dbname is not None and dbname != cfg.local.database:
        cause = msg("diagnose.cause.wrong_database", dbname=dbname, wanted=cfg.local.database)
        fixes = [fix("diagnose.fix.server_options")]
        found_list.append(Diagnosis("wrong-database", cause, [], fixes, CONFIRMED))
    if found_list:
        return found_list
    side_hint = "dw" if remote else "supabase"
    cause = msg("diagnose.cause.permission_unexplained", side=side_hint, name=name or "?")
    fixes = [fix("diagnose.fix.status")]
    return [Diagnosis("permission-unexplained", cause, inv.pasted(), fixes, POSSIBLE)]


def _dw_gaps(inv: Investigation, tables: list[str]) -> list[str]:
    conn = inv.local()
    if conn is None:
        return []
    cfg = inv.cfg
    try:
        rows = conn.execute(
            "SELECT t FROM unnest(%s::text[]) AS t WHERE to_regclass(quote_ident(%s) || '.'"
            " || quote_ident(t)) IS NOT NULL AND NOT has_table_privilege(%s,"
            " to_regclass(quote_ident(%s) || '.' || quote_ident(t)), 'SELECT')",
            (tables, cfg.local.source_schema, cfg.reader.name, cfg.local.source_schema),
        ).fetchall()
    except Exception as exc:  # e.g. the reader role does not exist
        inv.probe_failed("dw-grants", exc)
        return []
    return [str(r[0]) for r in rows]


def _supabase_gaps(inv: Investigation, tables: list[str], schema_only: bool) -> list[str]:
    conn = inv.supabase()
    if conn is None:
        return []
    cfg = inv.cfg
    gaps: list[str] = []
    schema = cfg.fdw.target_schema
    roles = [r for r in cfg.fdw.map_roles if r != "postgres"]
    views = {"v_clientes_360": cfg.views.clientes_360, "v_frota_360": cfg.views.frota_360}
    try:
        for role in roles:
            usage = conn.execute(
                "SELECT has_schema_privilege(%s, %s, 'USAGE')", (role, schema)
            ).fetchone()[0]
            if not usage:
                gaps.append(f"USAGE ON SCHEMA {schema} -> {role}")
                continue
            if schema_only:
                continue
            for table in tables:
                where = views[table].schema_name if table in views else schema
                row = conn.execute(
                    "SELECT to_regclass(quote_ident(%s) || '.' || quote_ident(%s))",
                    (where, table),
                ).fetchone()
                if row is None or row[0] is None:
                    continue
                if not conn.execute(
                    "SELECT has_table_privilege(%s, %s::regclass, 'SELECT')", (role, row[0])
                ).fetchone()[0]:
                    gaps.append(f"SELECT ON {where}.{table} -> {role}")
    except Exception as exc:
        inv.probe_failed("supabase-grants", exc)
    return gaps
