"""The DW's facts: server settings, certificate, the wizard's pg_hba.conf rules, the reader
role and the tables it reads, the firewall rule."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from wizard.step_context import StepContext
from wizard.steps.asbuilt.gather import error_text, guard, rows_of, step_check


def certificate(path: Path) -> dict[str, Any]:
    """Subject, issuer, validity and names read from the certificate file itself."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    from wizard.dwhost.tls import cert_names

    cert = x509.load_pem_x509_certificate(path.read_bytes())
    names = cert_names(cert)
    not_after = cert.not_valid_after_utc
    return {
        "path": str(path),
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "self_signed": cert.issuer == cert.subject,
        "not_before": cert.not_valid_before_utc.isoformat(),
        "not_after": not_after.isoformat(),
        "days_left": (not_after - datetime.now(UTC)).days,
        "names": names,
        "sha256": cert.fingerprint(hashes.SHA256()).hex(":").upper(),
    }


def hba_added(facts: Any, conn: Any) -> dict[str, Any]:
    """The rules the wizard added to pg_hba.conf (the ones under its marker line), where they
    are (file, line) and what the server reads there (pg_hba_file_rules)."""
    from wizard.dwhost.pgfiles.judge import hba_rules
    from wizard.dwhost.pgfiles.pg_hba import MARKER as HBA_MARKER
    from wizard.dwhost.pgfiles.pg_hba import HbaFile

    path = Path(facts.hba_file)
    hba = HbaFile.read(path)
    lines = hba.text.texts
    server = {(r.file_name or str(path), r.line_number): r for r in hba_rules(conn)}
    added: list[dict[str, Any]] = []
    for entry in hba.entries:
        if entry.rule is None or entry.start == 0:
            continue
        above = lines[entry.start - 1].rstrip("\r")
        if not above.startswith(HBA_MARKER):
            continue
        seen = server.get((str(path), entry.line)) or server.get((str(path.resolve()), entry.line))
        if seen is None:
            seen = next((r for (_f, n), r in server.items() if n == entry.line), None)
        added.append(
            {
                "file": str(path),
                "line": entry.line,
                "rule": " ".join(lines[entry.start].split()),
                "label": above[len(HBA_MARKER) :].strip(),
                "server": "missing" if seen is None else ("error" if seen.error else "loaded"),
                "server_error": seen.error if seen is not None else None,
            }
        )
    errors = [f"{r.line_number}: {r.error}" for r in server.values() if r.error]
    return {"file": str(path), "added": added, "errors": errors, "total_rules": len(hba.rules())}


def dw_facts(ctx: StepContext) -> dict[str, Any]:
    from wizard.dwhost import discovery
    from wizard.steps.local_service import Firewall

    cfg = ctx.config
    conn = ctx.local_conn()
    facts = discovery.discover_local(conn)
    version, database, encoding = rows_of(conn, "version")[0]
    out: dict[str, Any] = {
        "version": version,
        "database": database,
        "encoding": encoding,
        "host": cfg.local.host,
        "listen_addresses": facts.listen_addresses,
        "port": facts.port,
        "data_directory": str(facts.data_directory),
        "config_file": str(facts.config_file),
        "hba_file": str(facts.hba_file),
        "password_encryption": facts.password_encryption,
        "pending_restart": facts.pending_restart,
        "ssl": facts.ssl,
    }
    tls: dict[str, Any] = {"ssl": facts.ssl, "cert_setting": facts.ssl_cert_file}
    if facts.ssl_cert_file:
        try:
            tls["cert"] = certificate(facts.resolve(facts.ssl_cert_file))
        except Exception as exc:  # unreadable or not PEM: said in its row
            tls["cert_error"] = error_text(exc)
    tls["key_setting"] = facts.ssl_key_file  # the path only: the key is never opened
    out["tls"] = tls
    try:
        out["hba"] = hba_added(facts, conn)
    except Exception as exc:
        out["hba"] = {"error": error_text(exc), "file": str(facts.hba_file)}
    out["reader"] = guard(reader_facts, ctx)
    out["tables"] = [
        {
            "table": r[0],
            "reltuples": float(r[1]),
            "bytes": int(r[2]),
            "analyzed_at": r[3].isoformat() if r[3] is not None else None,
            "owner": r[4],
        }
        for r in rows_of(
            conn,
            "dw_tables",
            schema_name=cfg.local.source_schema,
            tables=list(cfg.fdw.tables),
        )
    ]
    out["firewall"] = step_check(Firewall(), ctx)
    out["firewall"]["created"] = bool(ctx.recall("local.firewall").get("created"))
    return out


def reader_facts(ctx: StepContext) -> dict[str, Any]:
    cfg = ctx.config
    conn = ctx.local_conn()
    name = cfg.reader.name
    rows = rows_of(conn, "dw_reader", name=name)
    if not rows:
        return {"name": name, "exists": False}
    (
        _n,
        login,
        superuser,
        createrole,
        createdb,
        replication,
        bypassrls,
        connlimit,
        config,
        scram,
        valid_until,
        member_of,
    ) = rows[0]
    priv = rows_of(
        conn,
        "dw_reader_privileges",
        name=name,
        database_name=cfg.local.database,
        schema_name=cfg.local.source_schema,
    )[0]
    defaults = rows_of(
        conn, "dw_default_privileges", name=name, schema_name=cfg.local.source_schema
    )
    return {
        "name": name,
        "exists": True,
        "login": bool(login),
        "superuser": bool(superuser),
        "createrole": bool(createrole),
        "createdb": bool(createdb),
        "replication": bool(replication),
        "bypassrls": bool(bypassrls),
        "connection_limit": int(connlimit),
        "settings": [str(s) for s in config],
        "scram": bool(scram),
        "valid_until": valid_until.isoformat() if valid_until is not None else None,
        "member_of": list(member_of),
        "database": cfg.local.database,
        "schema": cfg.local.source_schema,
        "connect": bool(priv[0]),
        "create_db": bool(priv[1]),
        "usage": bool(priv[2]),
        "create_schema": bool(priv[3]),
        "relations": int(priv[4]),
        "readable": int(priv[5]),
        "writable": list(priv[6]),
        "default_select_for": sorted({r[0] for r in defaults if r[1] == "SELECT"}),
    }
