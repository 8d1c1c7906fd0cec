"""Supabase's facts: the FDW server, user mappings, foreign tables, schemas, views, lints,
the fallback bucket, and the checks of the steps the catalogs alone do not show."""

from __future__ import annotations

from typing import Any

from wizard.step_context import StepContext
from wizard.steps.asbuilt.common import API_ROLES, READER_ROLES, VIEW_KEYS
from wizard.steps.asbuilt.gather import parse_options, rows_of, step_check


def supabase_facts(ctx: StepContext) -> dict[str, Any]:
    from wizard.steps.cleanup import storage_usage
    from wizard.steps.supabase_checks import lint_findings
    from wizard.steps.supabase_import import exposed_schemas

    cfg = ctx.config
    conn = ctx.supabase_conn()
    server_name = cfg.fdw.server_name
    version, database, _encoding = rows_of(conn, "version")[0]
    out: dict[str, Any] = {
        "version": version,
        "database": database,
        "host": cfg.supabase.host,
        "port": cfg.supabase.port,
        "server_name": server_name,
    }
    server = rows_of(conn, "server", server_name=server_name)
    out["server"] = (
        {"name": server[0][0], "wrapper": server[0][1], "owner": server[0][2]}
        | {"options": parse_options(server[0][3])}
        if server
        else None
    )
    out["mappings"] = [
        {"role": r[0], "visible": bool(r[1]), "options": list(r[2]), "remote_user": r[3]}
        for r in rows_of(conn, "mappings", server_name=server_name)
    ]
    out["server_usage"] = [
        r[0] for r in rows_of(conn, "server_usage", server_name=server_name, roles=list(API_ROLES))
    ]
    tables = [
        {
            "schema": r[0],
            "table": r[1],
            "reltuples": float(r[2]),
            "options": parse_options(r[3]),
        }
        for r in rows_of(conn, "foreign_tables", server_name=server_name)
    ]
    out["foreign_tables"] = tables
    out["exposed_schemas"] = exposed_schemas(conn)
    schemas: dict[str, Any] = {}
    for schema in sorted({tb["schema"] for tb in tables} | {cfg.fdw.target_schema}):
        found = rows_of(conn, "schema_usage", schema_name=schema, roles=list(READER_ROLES))
        schemas[schema] = (
            {"exists": True, "owner": found[0][0], "usage": list(found[0][1])}
            if found
            else {"exists": False}
        )
    out["schemas"] = schemas
    out["table_readers"] = {
        str(r[0]): int(r[1])
        for r in rows_of(conn, "table_readers", server_name=server_name, roles=list(READER_ROLES))
    }
    wanted: list[tuple[str, str, Any]] = []
    for key, name in VIEW_KEYS:
        vcfg = getattr(cfg.views, key)
        wanted.append((vcfg.schema_name, name, vcfg))
    known = {(schema, name) for schema, name, _ in wanted}
    for schema, name in rows_of(conn, "server_views", server_name=server_name):
        if (schema, name) not in known:
            wanted.append((str(schema), str(name), None))  # a view the config does not name
    views: list[dict[str, Any]] = []
    for schema, name, vcfg in wanted:
        entry: dict[str, Any] = {
            "schema": schema,
            "name": name,
            "configured": vcfg is not None,
            "enabled": bool(vcfg.enabled) if vcfg is not None else True,
            "wanted_invoker": bool(vcfg.security_invoker) if vcfg is not None else None,
            "wanted_grants": list(vcfg.grant_to) if vcfg is not None else [],
        }
        found = rows_of(conn, "view", schema_name=schema, view_name=name)
        entry["exists"] = bool(found)
        if found:
            owner, reloptions, grants = found[0]
            options = {k.lower(): v.lower() for k, v in parse_options(reloptions).items()}
            entry["owner"] = owner
            entry["invoker"] = options.get("security_invoker") in ("on", "true", "1", "yes")
            entry["grants"] = list(grants)
            roles = sorted(set(API_ROLES) | set(entry["wanted_grants"]))
            entry["readers"] = {
                str(r[0]): bool(r[1])
                for r in rows_of(
                    conn, "view_readers", schema_name=schema, view_name=name, roles=roles
                )
            }
        views.append(entry)
    out["views"] = views
    out["lints"] = lint_findings(conn)
    usage = storage_usage(conn, cfg.fallback.bucket)
    out["storage"] = {
        "bucket": cfg.fallback.bucket,
        "objects": usage[0] if usage else None,
        "bytes": usage[1] if usage else None,
    }
    return out


def check_facts(ctx: StepContext) -> dict[str, Any]:
    """The checks of the steps whose state the catalogs alone do not show."""
    from wizard.steps.app import HEALTH_FUNCTION, HealthFunction
    from wizard.steps.supabase_bound import ReadBound

    return {
        "read_bound": step_check(ReadBound(), ctx),
        "health": step_check(HealthFunction(), ctx) | {"function": HEALTH_FUNCTION},
    }
