"""The as-built document ("Documentar arquitetura final", the runbook's last Phase 5 item).

Everything in it is read live when it is written — the DW and Supabase catalogs, the files the
server reads, the certificate file, the steps' own checks, the validation measurements and the
health log the wizard recorded — never the config's intentions (the config only says where to
look). :func:`collect` gathers the facts, :func:`render` writes them as Markdown in one
language (headings, tables, a fenced ``mermaid`` block: GitHub renders it, and it stays
readable as plain text), and every character leaves through :func:`wizard.redact.redact`.
No query reads a secret: user mappings are read by option name, the reader's password only
as "is it a SCRAM verifier".
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from wizard.i18n import Message, current_language, normalize_language, t
from wizard.redact import redact
from wizard.sql_text import compose

MARKER = "<!-- fdw-wizard:as-built -->"
DEFAULT_NAME = "arquitetura-fdw.md"
STEP_ID = "cleanup.document"
API_ROLES = ("anon", "authenticated", "service_role")
READER_ROLES = ("postgres", "anon", "authenticated", "service_role")
FIREWALL_RULE = "fdw-wizard-postgresql"  # wizard.platform.firewall.RULE_NAME
VIEW_KEYS = (("clientes_360", "v_clientes_360"), ("frota_360", "v_frota_360"))

# What undoes each part, in the order a rollback would run: (part key, --only ids, state ids).
UNDO_PARTS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("views", "views.clientes-360,views.frota-360", ("views.clientes-360", "views.frota-360")),
    ("read_bound", "supabase.read-bound", ("supabase.read-bound",)),
    ("foreign_tables", "views,supabase.import", ("supabase.import",)),
    ("mappings", "supabase.user-mappings", ("supabase.user-mappings",)),
    (
        "server",
        "views,supabase.read-bound,supabase.import,supabase.user-mappings,supabase.server",
        ("supabase.server",),
    ),
    ("extension", "views,supabase", ("supabase.extension",)),
    ("reader", "local.reader-role", ("local.reader-role",)),
    ("firewall", "local.firewall", ("local.firewall",)),
    ("hba", "local.hba,local.reload", ("local.hba",)),
    ("tls", "local.tls,local.reload", ("local.tls",)),
    ("listen", "local.listen,local.reload", ("local.listen",)),
    ("dw_side", "local", ("local.listen", "local.tls", "local.hba", "local.reader-role")),
    ("everything", "", ()),
    ("document", STEP_ID, (STEP_ID,)),
)


# ---------------------------------------------------------------------------------------------
# Where the document goes, and whether it is current


def document_path(config: Any, config_path: Path) -> Path:
    """``cleanup.document_path`` (default ``arquitetura-fdw.md``), relative to the config's
    folder."""
    section = getattr(config, "cleanup", None)
    raw = str(getattr(section, "document_path", "") or DEFAULT_NAME)
    path = Path(raw).expanduser()
    if not path.is_absolute():
        path = Path(config_path).resolve().parent / path
    return path


def last_change(steps: dict[str, Any]) -> datetime | None:
    """The newest ``changed_at`` the state recorded for any step but this one."""
    newest: datetime | None = None
    for step_id, entry in steps.items():
        if step_id == STEP_ID or not isinstance(entry, dict):
            continue
        try:
            at = datetime.fromisoformat(str(entry.get("changed_at")))
        except ValueError:
            continue
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        if newest is None or at > newest:
            newest = at
    return newest


def written_at(path: Path) -> datetime | None:
    """When the document at ``path`` was written (None: absent, or not ours)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(len(MARKER) + 8)
        stamp = path.stat().st_mtime
    except OSError:
        return None
    if not head.lstrip(b"\xef\xbb\xbf").startswith(MARKER.encode("ascii")):
        return None
    return datetime.fromtimestamp(stamp, UTC)


# ---------------------------------------------------------------------------------------------
# Collecting the facts (live)


def _rows(conn: Any, template: str, **params: Any) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in conn.execute(compose(f"document/{template}.sql", **params))]


def _error_text(exc: BaseException) -> str:
    text = str(getattr(exc, "message", None) or exc).strip()
    message = getattr(exc, "message", None)
    if isinstance(message, Message):
        text = message.render()
    first = text.splitlines()[0] if text else type(exc).__name__
    return redact(f"{type(exc).__name__}: {first}")[:300]


def _guard(fn: Callable[[Any], dict[str, Any]], ctx: Any) -> dict[str, Any]:
    """A section's facts, or {'error': why} — one unreadable part never hides the others."""
    try:
        return fn(ctx)
    except Exception as exc:  # reported in the document, in its section
        return {"error": _error_text(exc)}


def _options(items: Any) -> dict[str, str]:
    return dict(str(item).split("=", 1) for item in (items or []) if "=" in str(item))


def _check(step: Any, ctx: Any) -> dict[str, Any]:
    """A step's own check, as the document shows it (status, message, details)."""
    try:
        result = step.check(ctx)
    except Exception as exc:
        return {"status": "failed", "message": None, "details": [], "error": _error_text(exc)}
    return {
        "status": result.status.value,
        "message": result.message,
        "details": list(result.details),
        "facts": result.facts,
    }


def _certificate(path: Path) -> dict[str, Any]:
    """Subject, issuer, validity and names read from the certificate file itself."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    cert = x509.load_pem_x509_certificate(path.read_bytes())
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = [str(n.value) for n in san]
    except x509.ExtensionNotFound:
        names = []
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


def _hba_added(facts: Any, conn: Any) -> dict[str, Any]:
    """The rules the wizard added to pg_hba.conf (the ones under its marker line), where they
    are (file, line) and what the server reads there (pg_hba_file_rules)."""
    from wizard.pgfiles.judge import hba_rules
    from wizard.pgfiles.pg_hba import MARKER as HBA_MARKER
    from wizard.pgfiles.pg_hba import HbaFile

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


def _dw(ctx: Any) -> dict[str, Any]:
    from wizard import discovery
    from wizard.steps.local_service import Firewall

    cfg = ctx.config
    conn = ctx.local_conn()
    facts = discovery.discover_local(conn)
    version, database, encoding = _rows(conn, "version")[0]
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
            tls["cert"] = _certificate(facts.resolve(facts.ssl_cert_file))
        except Exception as exc:  # unreadable or not PEM: said in its row
            tls["cert_error"] = _error_text(exc)
    tls["key_setting"] = facts.ssl_key_file  # the path only: the key is never opened
    out["tls"] = tls
    try:
        out["hba"] = _hba_added(facts, conn)
    except Exception as exc:
        out["hba"] = {"error": _error_text(exc), "file": str(facts.hba_file)}
    out["reader"] = _guard(_reader, ctx)
    out["tables"] = [
        {
            "table": r[0],
            "reltuples": float(r[1]),
            "bytes": int(r[2]),
            "analyzed_at": r[3].isoformat() if r[3] is not None else None,
            "owner": r[4],
        }
        for r in _rows(
            conn,
            "dw_tables",
            schema_name=cfg.local.source_schema,
            tables=list(cfg.fdw.tables),
        )
    ]
    out["firewall"] = _check(Firewall(), ctx)
    out["firewall"]["created"] = bool(ctx.recall("local.firewall").get("created"))
    return out


def _reader(ctx: Any) -> dict[str, Any]:
    cfg = ctx.config
    conn = ctx.local_conn()
    name = cfg.reader.name
    rows = _rows(conn, "dw_reader", name=name)
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
    priv = _rows(
        conn,
        "dw_reader_privileges",
        name=name,
        database_name=cfg.local.database,
        schema_name=cfg.local.source_schema,
    )[0]
    defaults = _rows(conn, "dw_default_privileges", name=name, schema_name=cfg.local.source_schema)
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


def _supabase(ctx: Any) -> dict[str, Any]:
    from wizard.steps.cleanup import storage_usage
    from wizard.steps.supabase_checks import lint_findings
    from wizard.steps.supabase_import import exposed_schemas

    cfg = ctx.config
    conn = ctx.supabase_conn()
    server_name = cfg.fdw.server_name
    version, database, _encoding = _rows(conn, "version")[0]
    out: dict[str, Any] = {
        "version": version,
        "database": database,
        "host": cfg.supabase.host,
        "port": cfg.supabase.port,
        "server_name": server_name,
    }
    server = _rows(conn, "server", server_name=server_name)
    out["server"] = (
        {"name": server[0][0], "wrapper": server[0][1], "owner": server[0][2]}
        | {"options": _options(server[0][3])}
        if server
        else None
    )
    out["mappings"] = [
        {"role": r[0], "visible": bool(r[1]), "options": list(r[2]), "remote_user": r[3]}
        for r in _rows(conn, "mappings", server_name=server_name)
    ]
    out["server_usage"] = [
        r[0] for r in _rows(conn, "server_usage", server_name=server_name, roles=list(API_ROLES))
    ]
    tables = [
        {
            "schema": r[0],
            "table": r[1],
            "reltuples": float(r[2]),
            "options": _options(r[3]),
        }
        for r in _rows(conn, "foreign_tables", server_name=server_name)
    ]
    out["foreign_tables"] = tables
    out["exposed_schemas"] = exposed_schemas(conn)
    schemas: dict[str, Any] = {}
    for schema in sorted({tb["schema"] for tb in tables} | {cfg.fdw.target_schema}):
        found = _rows(conn, "schema_usage", schema_name=schema, roles=list(READER_ROLES))
        schemas[schema] = (
            {"exists": True, "owner": found[0][0], "usage": list(found[0][1])}
            if found
            else {"exists": False}
        )
    out["schemas"] = schemas
    out["table_readers"] = {
        str(r[0]): int(r[1])
        for r in _rows(conn, "table_readers", server_name=server_name, roles=list(READER_ROLES))
    }
    wanted: list[tuple[str, str, Any]] = []
    for key, name in VIEW_KEYS:
        vcfg = getattr(cfg.views, key)
        wanted.append((vcfg.schema_name, name, vcfg))
    known = {(schema, name) for schema, name, _ in wanted}
    for schema, name in _rows(conn, "server_views", server_name=server_name):
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
        found = _rows(conn, "view", schema_name=schema, view_name=name)
        entry["exists"] = bool(found)
        if found:
            owner, reloptions, grants = found[0]
            options = {k.lower(): v.lower() for k, v in _options(reloptions).items()}
            entry["owner"] = owner
            entry["invoker"] = options.get("security_invoker") in ("on", "true", "1", "yes")
            entry["grants"] = list(grants)
            roles = sorted(set(API_ROLES) | set(entry["wanted_grants"]))
            entry["readers"] = {
                str(r[0]): bool(r[1])
                for r in _rows(
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


def _checks(ctx: Any) -> dict[str, Any]:
    """The checks of the steps whose state the catalogs alone do not show."""
    from wizard.steps.app import HEALTH_FUNCTION, HealthFunction
    from wizard.steps.supabase_bound import ReadBound

    return {
        "read_bound": _check(ReadBound(), ctx),
        "health": _check(HealthFunction(), ctx) | {"function": HEALTH_FUNCTION},
    }


def _measurements(ctx: Any) -> dict[str, Any]:
    """validate.latency / validate.offline as they were last measured (never measured here)."""
    import json

    from wizard.steps.validate import fingerprint, measurements_path

    try:
        stored = json.loads(measurements_path(ctx.config_path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        stored = {}
    if not isinstance(stored, dict):
        stored = {}
    try:
        current = fingerprint(ctx)
    except Exception:  # no Supabase, no server: every measurement is of another setup
        current = None
    out: dict[str, Any] = {}
    for step_id in ("validate.latency", "validate.offline"):
        entry = stored.get(step_id)
        if isinstance(entry, dict):
            out[step_id] = {
                "measured_at": entry.get("measured_at"),
                "status": entry.get("status"),
                "facts": entry.get("facts") or {},
                "same_setup": current is not None and entry.get("fingerprint") == current,
            }
    return out


def _monitoring(ctx: Any) -> dict[str, Any]:
    from wizard import monitor

    log = monitor.HealthLog.for_config(ctx.config_path)
    summary = monitor.summarize(
        log.records(), ctx.config.validation.monitor_window_hours, log=str(log.path)
    )
    return summary.to_json()


def _metrics(ctx: Any) -> dict[str, Any]:
    from wizard.steps.cleanup import Report

    result = Report().check(ctx)
    return {"status": result.status.value, "metrics": result.facts.get("metrics", [])}


def _records(ctx: Any) -> dict[str, Any]:
    """Backups and the wizard's own records: where they are, whether they are still there."""
    from wizard import monitor, paths
    from wizard.steps.cleanup import BACKUP_ID, settings
    from wizard.steps.validate import measurements_path

    files: list[dict[str, Any]] = []
    for step_id in ("local.listen", "local.tls", "local.hba"):
        for path, entry in (ctx.recall(step_id).get("files") or {}).items():
            backup = entry.get("backup") if isinstance(entry, dict) else None
            if backup:
                files.append(
                    {
                        "step": step_id,
                        "file": path,
                        "backup": backup,
                        "exists": Path(backup).exists(),
                    }
                )
    memory = ctx.recall(BACKUP_ID)
    clientes: dict[str, Any] | None = None
    if memory.get("path"):
        clientes = {
            "path": memory.get("path"),
            "rows": memory.get("rows"),
            "sha256": str(memory.get("sha256") or "")[:16],
            "exists": Path(str(memory["path"])).exists(),
        }
    try:
        backup_dir = str(settings(ctx).backup_dir)
    except Exception:
        backup_dir = None
    state = getattr(ctx, "state", None)
    return {
        "files": files,
        "clientes": clientes,
        "backup_dir": backup_dir,
        "state": str(state.path) if state is not None else str(paths.state_file(ctx.config_path)),
        "audit": str(paths.audit_file()),
        "measurements": str(measurements_path(ctx.config_path)),
        "health_log": str(monitor.log_path(ctx.config_path)),
        "generated": list(ctx.recall("local.tls").get("generated") or []),
    }


def collect(ctx: Any) -> dict[str, Any]:
    """Every fact the document states, read now. Sections that cannot be read say why."""
    from wizard import __version__

    state = getattr(ctx, "state", None)
    steps = state.steps() if state is not None else {}
    return {
        "meta": {
            "generated_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
            "version": __version__,
            "config": str(Path(ctx.config_path).resolve()),
            "sandbox": bool(ctx.config.sandbox),
            "config_obj": ctx.config,
        },
        "dw": _guard(_dw, ctx),
        "supabase": _guard(_supabase, ctx),
        "checks": _guard(_checks, ctx),
        "measurements": _guard(_measurements, ctx),
        "monitor": _guard(_monitoring, ctx),
        "metrics": _guard(_metrics, ctx),
        "records": _guard(_records, ctx),
        "steps": {k: str(v.get("status")) for k, v in steps.items() if isinstance(v, dict)},
    }


# ---------------------------------------------------------------------------------------------
# Rendering (Markdown, one language)


def _cell(value: Any) -> str:
    text = "-" if value is None or value == "" else str(value)
    return text.replace("\r", " ").replace("\n", " ").replace("|", "\\|")


def _code(value: Any) -> str:
    if value is None or value == "":
        return "-"
    return "`" + str(value).replace("`", "'").replace("\n", " ").replace("|", "\\|") + "`"


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(_cell(h) for h in headers) + " |"]
    out.append("|" + "|".join("---" for _ in headers) + "|")
    for row in rows:
        out.append("| " + " | ".join(row) + " |")
    return [*out, ""]


def _mermaid_text(value: Any) -> str:
    return (
        str(value)
        .replace('"', "'")
        .replace("|", "/")
        .replace("\n", " ")
        .replace("<", "(")
        .replace(">", ")")
    )


def _at(value: Any) -> str:
    """An ISO timestamp as 'YYYY-MM-DD HH:MM:SS' (UTC as stored); '-' when absent."""
    if not value:
        return "-"
    try:
        at = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if at.tzinfo is not None:
        at = at.astimezone(UTC)
    return at.strftime("%Y-%m-%d %H:%M:%S")


class _Writer:
    def __init__(self, facts: dict[str, Any], lang: str) -> None:
        self.facts = facts
        self.lang = lang
        self.lines: list[str] = []

    def tr(self, key: str, **params: Any) -> str:
        return t(f"document.{key}", self.lang, **params)

    def say(self, message: Any) -> str:
        if isinstance(message, Message):
            return message.render(self.lang)
        return "-" if message is None else str(message)

    def count(self, value: Any) -> str:
        """A row or file count with the language's grouping (1,000 / 1.000)."""
        from wizard.i18n.format import format_number

        return format_number(round(value), self.lang) if isinstance(value, int | float) else "-"

    def size(self, value: Any) -> str:
        from wizard.i18n.format import format_bytes

        return format_bytes(value, self.lang) if isinstance(value, int | float) else "-"

    def dec(self, value: Any) -> str:
        """A measured number (ms, seconds) in the language's decimal notation."""
        from wizard.i18n.format import format_decimal

        return format_decimal(value, self.lang) if isinstance(value, int | float) else "-"

    def percent(self, value: Any) -> str:
        from wizard.i18n.format import format_percent

        return format_percent(value, self.lang) if isinstance(value, int | float) else "-"

    def known(self, prefix: str, name: Any) -> str:
        """``document.<prefix>.<name>`` when the catalog has it, else the name itself."""
        from wizard.i18n import catalog

        key = f"document.{prefix}.{name}"
        return self.tr(f"{prefix}.{name}") if key in catalog(self.lang) else str(name)

    def yes(self, value: Any) -> str:
        return self.tr("yes") if value else self.tr("no")

    def add(self, *lines: str) -> None:
        self.lines.extend(lines)

    def heading(self, level: int, key: str, **params: Any) -> None:
        self.add("#" * level + " " + self.tr(key, **params), "")

    def paragraph(self, key: str, **params: Any) -> None:
        self.add(self.tr(key, **params), "")

    def error(self, section: dict[str, Any]) -> bool:
        if "error" in section:
            self.add("> " + self.tr("unreadable", error=_cell(section["error"])), "")
            return True
        return False

    def status(self, status: Any) -> str:
        return t("status." + str(status), self.lang) if status else self.tr("never_checked")

    def check_lines(self, check: dict[str, Any]) -> None:
        self.add(
            "- "
            + self.tr("check_status", status=self.status(check.get("status")))
            + (": " + self.say(check["message"]) if check.get("message") is not None else "")
        )
        if check.get("error"):
            self.add("- " + _cell(check["error"]))
        for detail in check.get("details", []):
            self.add("- " + self.say(detail))
        self.add("")

    # -- sections ------------------------------------------------------------------------------

    def render(self) -> str:
        meta = self.facts["meta"]
        self.add(MARKER, "")
        self.heading(1, "title")
        self.add(
            self.tr(
                "generated",
                at=_at(meta["generated_at"]),
                version=meta["version"],
                config=_code(meta["config"]),
            ),
            "",
        )
        if meta["sandbox"]:
            self.add("> " + self.tr("sandbox"), "")
        self.paragraph("intro")
        self.architecture()
        self.dw()
        self.supabase()
        self.security()
        self.performance()
        self.monitoring()
        self.metrics()
        self.backups()
        self.undo()
        while self.lines and self.lines[-1] == "":
            self.lines.pop()
        return "\n".join(self.lines) + "\n"

    def architecture(self) -> None:
        dw = self.facts["dw"]
        supa = self.facts["supabase"]
        checks = self.facts["checks"]
        self.heading(2, "arch.title")
        views = [v for v in supa.get("views", []) if v.get("enabled")]
        view_names = ", ".join(
            f"{v['schema']}.{v['name']}"
            + ("" if v.get("exists") else " " + self.tr("arch.missing"))
            for v in views
        )
        tables = supa.get("foreign_tables", [])
        schemas = ", ".join(sorted({tb["schema"] for tb in tables})) or "-"
        server = supa.get("server") or {}
        options = server.get("options", {})
        endpoint = f"{options.get('host', '?')}:{options.get('port', '?')}"
        storage = supa.get("storage", {})
        health = checks.get("health", {})
        label = {
            "app": self.tr("arch.app"),
            "api": self.tr("arch.api"),
            "views": self.tr("arch.views", views=view_names or "-"),
            "ft": self.tr("arch.foreign", schema=schemas, count=len(tables)),
            "dw": self.tr(
                "arch.dw", database=dw.get("database", "?"), version=dw.get("version", "?")
            ),
            "storage": self.tr(
                "arch.storage",
                bucket=storage.get("bucket", "?"),
                objects=self.count(storage.get("objects")),
            ),
            "health": self.tr(
                "arch.health",
                function=health.get("function", "?"),
                status=self.status(health.get("status")),
            ),
            "fdw": self.tr(
                "arch.fdw",
                server=server.get("name", "-"),
                endpoint=endpoint,
                sslmode=options.get("sslmode", "-"),
            ),
            "fallback": self.tr("arch.fallback"),
        }
        m = {key: _mermaid_text(value) for key, value in label.items()}
        self.add(
            "```mermaid",
            "flowchart LR",
            f'    app["{m["app"]}"]',
            f'    api["{m["api"]}"]',
            f'    views["{m["views"]}"]',
            f'    ft["{m["ft"]}"]',
            f'    dw[("{m["dw"]}")]',
            f'    storage[("{m["storage"]}")]',
            f'    health["{m["health"]}"]',
            "    app -->|HTTPS| api",
            "    api --> views",
            "    views --> ft",
            f'    ft -->|"{m["fdw"]}"| dw',
            f'    app -.->|"{m["fallback"]}"| storage',
            "    app --> health",
            "    health --> api",
            "```",
            "",
        )
        self.add(
            "- " + self.tr("arch.path_app", views=_code(view_names or "-")),
            "- "
            + self.tr("arch.path_fdw", server=_code(server.get("name")), endpoint=_code(endpoint)),
            "- "
            + self.tr(
                "arch.path_fallback",
                bucket=_code(storage.get("bucket")),
                objects=self.count(storage.get("objects")),
                size=self.size(storage.get("bytes")),
            ),
            "- "
            + self.tr(
                "arch.path_health",
                function=_code(health.get("function")),
                status=self.status(health.get("status")),
                message=self.say(health.get("message")),
            ),
            "",
        )

    def dw(self) -> None:
        dw = self.facts["dw"]
        self.heading(2, "dw.title")
        if self.error(dw):
            return
        self.paragraph("dw.intro")
        pending = ", ".join(dw.get("pending_restart") or []) or self.tr("none")
        self.add(
            *_table(
                [self.tr("col.setting"), self.tr("col.value")],
                [
                    [self.tr("dw.version"), _cell(dw["version"])],
                    [self.tr("dw.database"), _code(dw["database"])],
                    [self.tr("dw.listen"), _code(dw["listen_addresses"])],
                    [self.tr("dw.port"), _code(dw["port"])],
                    [self.tr("dw.password_encryption"), _code(dw["password_encryption"])],
                    [self.tr("dw.pending_restart"), _cell(pending)],
                    [self.tr("dw.data_directory"), _code(dw["data_directory"])],
                    [self.tr("dw.config_file"), _code(dw["config_file"])],
                    [self.tr("dw.hba_file"), _code(dw["hba_file"])],
                ],
            )
        )
        self.tls(dw["tls"])
        self.hba(dw["hba"])
        self.reader(dw["reader"], dw.get("tables", []))
        self.heading(3, "dw.firewall")
        self.add(
            "- "
            + self.tr(
                "dw.firewall_rule",
                rule=_code(FIREWALL_RULE),
                created=self.yes(dw["firewall"].get("created")),
            )
        )
        self.check_lines(dw["firewall"])

    def tls(self, tls: dict[str, Any]) -> None:
        self.heading(3, "tls.title")
        cert = tls.get("cert")
        rows = [[self.tr("tls.ssl"), _code(tls.get("ssl"))]]
        rows.append([self.tr("tls.cert_file"), _code(tls.get("cert_setting"))])
        rows.append([self.tr("tls.key_file"), _code(tls.get("key_setting"))])
        if cert:
            rows += [
                [self.tr("tls.subject"), _code(cert["subject"])],
                [self.tr("tls.issuer"), _code(cert["issuer"])],
                [self.tr("tls.self_signed"), self.yes(cert["self_signed"])],
                [self.tr("tls.valid_from"), _cell(_at(cert["not_before"]))],
                [
                    self.tr("tls.expires"),
                    _cell(
                        self.tr(
                            "tls.expires_value", at=_at(cert["not_after"]), days=cert["days_left"]
                        )
                    ),
                ],
                [self.tr("tls.names"), _cell(", ".join(cert["names"]) or "-")],
                [self.tr("tls.fingerprint"), _code(cert["sha256"])],
            ]
        elif tls.get("cert_error"):
            rows.append([self.tr("tls.cert_unreadable"), _cell(tls["cert_error"])])
        self.add(*_table([self.tr("col.item"), self.tr("col.value")], rows))
        if str(tls.get("ssl")).lower() != "on":
            self.paragraph("tls.off")

    def hba(self, hba: dict[str, Any]) -> None:
        self.heading(3, "hba.title")
        if self.error(hba):
            return
        added = hba.get("added", [])
        if not added:
            self.paragraph("hba.none", file=_code(hba.get("file")))
        else:
            self.paragraph("hba.intro", file=_code(hba.get("file")))
            self.add(
                *_table(
                    [
                        self.tr("col.where"),
                        self.tr("col.rule"),
                        self.tr("col.added"),
                        self.tr("col.server"),
                    ],
                    [
                        [
                            _code(f"{a['file']}:{a['line']}"),
                            _code(a["rule"]),
                            _cell(a["label"]),
                            _cell(
                                self.tr("hba.server_" + a["server"])
                                + (f" ({a['server_error']})" if a.get("server_error") else "")
                            ),
                        ]
                        for a in added
                    ],
                )
            )
        for error in hba.get("errors", []):
            self.add("- " + self.tr("hba.server_error_line", error=_cell(error)))
        if hba.get("errors"):
            self.add("")

    def reader(self, reader: dict[str, Any], tables: list[dict[str, Any]]) -> None:
        self.heading(3, "reader.title", name=reader.get("name", "?"))
        if self.error(reader):
            return
        if not reader.get("exists"):
            self.paragraph("reader.missing", name=_code(reader.get("name")))
            return
        attrs = [
            name
            for name in ("superuser", "createrole", "createdb", "replication", "bypassrls")
            if reader.get(name)
        ]
        rows = [
            [self.tr("reader.login"), self.yes(reader["login"])],
            [
                self.tr("reader.password"),
                self.tr("reader.scram" if reader["scram"] else "reader.not_scram"),
            ],
            [self.tr("reader.attributes"), _cell(", ".join(attrs) or self.tr("none"))],
            [self.tr("reader.limit"), _cell(reader["connection_limit"])],
            [
                self.tr("reader.settings"),
                _cell(", ".join(_code(s) for s in reader["settings"]) or self.tr("none")),
            ],
            [self.tr("reader.member_of"), _cell(", ".join(reader["member_of"]) or self.tr("none"))],
            [self.tr("reader.connect", database=reader["database"]), self.yes(reader["connect"])],
            [self.tr("reader.usage", schema=reader["schema"]), self.yes(reader["usage"])],
            [
                self.tr("reader.select", schema=reader["schema"]),
                _cell(
                    self.tr("reader.count", readable=reader["readable"], total=reader["relations"])
                ),
            ],
            [
                self.tr("reader.writes"),
                _cell(", ".join(reader["writable"]) if reader["writable"] else self.tr("none")),
            ],
            [
                self.tr("reader.create"),
                self.yes(reader["create_db"] or reader["create_schema"]),
            ],
            [
                self.tr("reader.defaults"),
                _cell(", ".join(reader["default_select_for"]) or self.tr("none")),
            ],
        ]
        self.add(*_table([self.tr("col.item"), self.tr("col.value")], rows))
        if tables:
            self.paragraph("dw.tables")
            self.add(
                *_table(
                    [
                        self.tr("col.table"),
                        self.tr("col.rows_estimate"),
                        self.tr("col.size"),
                        self.tr("col.analyzed"),
                        self.tr("col.owner"),
                    ],
                    [
                        [
                            _code(tb["table"]),
                            self._estimate(tb["reltuples"]),
                            self.size(tb["bytes"]),
                            _cell(
                                _at(tb["analyzed_at"]) if tb["analyzed_at"] else self.tr("never")
                            ),
                            _code(tb["owner"]),
                        ]
                        for tb in tables
                    ],
                )
            )

    def _estimate(self, reltuples: float) -> str:
        return self.tr("not_analyzed") if reltuples < 0 else self.count(reltuples)

    def supabase(self) -> None:
        supa = self.facts["supabase"]
        self.heading(2, "supa.title")
        if self.error(supa):
            return
        self.paragraph(
            "supa.intro",
            version=supa["version"],
            database=_code(supa["database"]),
            endpoint=_code(f"{supa['host']}:{supa['port']}"),
        )
        self.heading(3, "supa.server")
        server = supa.get("server")
        if server is None:
            self.paragraph("supa.no_server", name=_code(supa["server_name"]))
        else:
            self.paragraph(
                "supa.server_line",
                name=_code(server["name"]),
                wrapper=_code(server["wrapper"]),
                owner=_code(server["owner"]),
            )
            self.add(
                *_table(
                    [self.tr("col.option"), self.tr("col.value")],
                    [[_code(k), _code(v)] for k, v in sorted(server["options"].items())],
                )
            )
        usage = supa.get("server_usage", [])
        self.paragraph(
            "supa.server_usage_some" if usage else "supa.server_usage_none",
            roles=", ".join(_code(r) for r in usage),
        )
        self.heading(3, "supa.mappings")
        mappings = supa.get("mappings", [])
        if not mappings:
            self.paragraph("supa.no_mappings")
        else:
            self.paragraph("supa.mappings_intro")
            self.add(
                *_table(
                    [
                        self.tr("col.role"),
                        self.tr("col.remote_user"),
                        self.tr("col.password"),
                        self.tr("col.options"),
                    ],
                    [
                        [
                            _code(m["role"]),
                            _code(m["remote_user"]) if m["visible"] else self.tr("not_visible"),
                            self.tr("supa.password_set")
                            if "password" in m["options"]
                            else (
                                self.tr("supa.password_none")
                                if m["visible"]
                                else self.tr("not_visible")
                            ),
                            _cell(
                                ", ".join(o for o in m["options"] if o not in ("user", "password"))
                                or "-"
                            ),
                        ]
                        for m in mappings
                    ],
                )
            )
        self.foreign_tables(supa)
        self.views(supa)
        self.heading(3, "supa.lints")
        lints = supa.get("lints", [])
        if not lints:
            self.paragraph("supa.no_lints")
        else:
            self.add(*["- " + self.say(m) for m in lints], "")
        checks = self.facts["checks"]
        self.heading(3, "supa.read_bound")
        if not self.error(checks):
            self.check_lines(checks["read_bound"])

    def foreign_tables(self, supa: dict[str, Any]) -> None:
        self.heading(3, "supa.tables")
        tables = supa.get("foreign_tables", [])
        exposed = supa.get("exposed_schemas", [])
        for schema, info in supa.get("schemas", {}).items():
            if not info.get("exists"):
                self.add("- " + self.tr("supa.schema_missing", schema=_code(schema)))
                continue
            self.add(
                "- "
                + self.tr(
                    "supa.schema_exposed" if schema in exposed else "supa.schema_private",
                    schema=_code(schema),
                    owner=_code(info["owner"]),
                    usage=", ".join(_code(r) for r in info["usage"]) or self.tr("none"),
                )
            )
        readers = supa.get("table_readers", {})
        self.add(
            "- "
            + self.tr(
                "supa.table_readers",
                readers=", ".join(
                    f"{_code(role)} {count}/{len(tables)}"
                    for role, count in sorted(readers.items())
                )
                or "-",
            ),
            "",
        )
        if not tables:
            self.paragraph("supa.no_tables")
            return
        dw_rows = {tb["table"]: tb for tb in self.facts["dw"].get("tables", [])}
        self.paragraph("supa.tables_intro", count=len(tables))
        self.add(
            *_table(
                [
                    self.tr("col.foreign_table"),
                    self.tr("col.rows_supabase"),
                    self.tr("col.rows_dw"),
                    self.tr("col.options"),
                ],
                [
                    [
                        _code(f"{tb['schema']}.{tb['table']}"),
                        self._estimate(tb["reltuples"]),
                        self._estimate(dw_rows[tb["table"]]["reltuples"])
                        if tb["table"] in dw_rows
                        else "-",
                        _cell(
                            ", ".join(
                                f"{k}={v}"
                                for k, v in sorted(tb["options"].items())
                                if k not in ("schema_name", "table_name")
                            )
                            or "-"
                        ),
                    ]
                    for tb in tables
                ],
            )
        )

    def views(self, supa: dict[str, Any]) -> None:
        self.heading(3, "supa.views")
        rows = []
        notes: list[str] = []
        for view in supa.get("views", []):
            name = f"{view['schema']}.{view['name']}"
            if not view["enabled"]:
                rows.append([_code(name), self.tr("supa.view_disabled"), "-", "-", "-"])
                continue
            if not view["exists"]:
                rows.append([_code(name), self.tr("supa.view_missing"), "-", "-", "-"])
                notes.append(self.tr("supa.view_missing_note", view=_code(name)))
                continue
            readers = view.get("readers", {})
            can = [r for r, ok in sorted(readers.items()) if ok]
            rows.append(
                [
                    _code(name),
                    _code(view["owner"]),
                    self.yes(view["invoker"]),
                    _cell(", ".join(view["grants"]) or self.tr("none")),
                    _cell(", ".join(can) or self.tr("none")),
                ]
            )
            if view["wanted_invoker"] is not None and view["invoker"] != view["wanted_invoker"]:
                notes.append(
                    self.tr(
                        "supa.view_invoker_differs",
                        view=_code(name),
                        wanted=self.yes(view["wanted_invoker"]),
                    )
                )
            for role in view["wanted_grants"]:
                if not readers.get(role):
                    notes.append(
                        self.tr("supa.view_grant_missing", view=_code(name), role=_code(role))
                    )
            for role in can if view["configured"] else []:
                if role in API_ROLES and role not in view["wanted_grants"]:
                    notes.append(
                        self.tr("supa.view_grant_extra", view=_code(name), role=_code(role))
                    )
        self.add(
            *_table(
                [
                    self.tr("col.view"),
                    self.tr("col.owner"),
                    self.tr("col.invoker"),
                    self.tr("col.grants"),
                    self.tr("col.readers"),
                ],
                rows,
            )
        )
        if notes:
            self.add(*["- **" + self.tr("attention") + "** " + n for n in notes], "")
        else:
            self.paragraph("supa.views_as_configured")

    # -- security --------------------------------------------------------------------------------

    def security(self) -> None:
        self.heading(2, "sec.title")
        self.paragraph("sec.intro")
        dw = self.facts["dw"]
        supa = self.facts["supabase"]
        cfg = self.facts["meta"]["config_obj"]
        rows: list[list[str]] = []
        hba = dw.get("hba", {}) if "error" not in dw else {}
        added = hba.get("added", []) if isinstance(hba, dict) else []
        rules = "; ".join(_code(a["rule"]) for a in added) or self.tr("sec.no_rules")
        rows.append([self.tr("sec.hba"), rules, self.tr("sec.hba_runbook")])
        tls = dw.get("tls", {}) if "error" not in dw else {}
        server = (supa.get("server") or {}) if "error" not in supa else {}
        options = server.get("options", {})
        rows.append(
            [
                self.tr("sec.tls"),
                self.tr(
                    "sec.tls_value",
                    ssl=_code(tls.get("ssl", "?")),
                    sslmode=_code(options.get("sslmode", "-")),
                ),
                self.tr("sec.tls_runbook"),
            ]
        )
        tables = supa.get("foreign_tables", []) if "error" not in supa else []
        schemas = sorted({tb["schema"] for tb in tables})
        exposed = supa.get("exposed_schemas", []) if "error" not in supa else []
        rows.append(
            [
                self.tr("sec.schema"),
                self.tr(
                    "sec.schema_value",
                    schemas=", ".join(_code(s) for s in schemas) or "-",
                    exposed=self.yes(any(s in exposed for s in schemas)),
                ),
                self.tr("sec.schema_runbook"),
            ]
        )
        mapped = [m["role"] for m in supa.get("mappings", [])] if "error" not in supa else []
        rows.append(
            [
                self.tr("sec.mappings"),
                ", ".join(_code(r) for r in mapped) or self.tr("none"),
                self.tr("sec.mappings_runbook"),
            ]
        )
        usage = supa.get("server_usage", []) if "error" not in supa else []
        rows.append(
            [
                self.tr("sec.usage"),
                ", ".join(_code(r) for r in usage) or self.tr("none"),
                self.tr("sec.usage_runbook"),
            ]
        )
        views = supa.get("views", []) if "error" not in supa else []
        rows.append(
            [
                self.tr("sec.views"),
                _cell(
                    "; ".join(
                        f"{_code(v['name'])}: security_invoker={self.yes(v.get('invoker'))}, "
                        + (
                            ", ".join(r for r, ok in sorted(v.get("readers", {}).items()) if ok)
                            or "-"
                        )
                        for v in views
                        if v.get("exists")
                    )
                    or "-"
                ),
                self.tr("sec.views_runbook"),
            ]
        )
        picked = ("connect_timeout", "keepalives", "tcp_user_timeout", "fetch_size", "updatable")
        rows.append(
            [
                self.tr("sec.server"),
                ", ".join(_code(f"{k}={options[k]}") for k in picked if k in options) or "-",
                self.tr("sec.server_runbook"),
            ]
        )
        reader = dw.get("reader", {}) if "error" not in dw else {}
        if reader.get("exists"):
            read_only = any(
                s.lower().replace(" ", "") == "default_transaction_read_only=on"
                for s in reader.get("settings", [])
            )
            value = self.tr(
                "sec.reader_value",
                scram=self.yes(reader.get("scram")),
                read_only=self.yes(read_only),
                writes=self.yes(bool(reader.get("writable"))),
                defaults=", ".join(reader.get("default_select_for", [])) or self.tr("none"),
            )
        else:
            value = self.tr("sec.reader_missing")
        rows.append([self.tr("sec.reader"), value, self.tr("sec.reader_runbook")])
        bound = (
            self.facts["checks"].get("read_bound", {})
            if "error" not in self.facts["checks"]
            else {}
        )
        rows.append(
            [
                self.tr("sec.bound"),
                _cell(self.status(bound.get("status"))),
                self.tr("sec.bound_runbook"),
            ]
        )
        rows.append(
            [
                self.tr("sec.cleanup"),
                _code(getattr(getattr(cfg, "cleanup", None), "mode", "-")),
                self.tr("sec.cleanup_runbook"),
            ]
        )
        self.add(
            *_table([self.tr("col.choice"), self.tr("col.in_place"), self.tr("col.runbook")], rows)
        )

    # -- measurements ----------------------------------------------------------------------------

    def performance(self) -> None:
        self.heading(2, "perf.title")
        measured = self.facts["measurements"]
        if self.error(measured):
            return
        latency = measured.get("validate.latency")
        self.heading(3, "perf.latency")
        if latency is None:
            self.paragraph("perf.not_measured", command=_code("fdw-wizard validate"))
        else:
            facts = latency["facts"]
            self.paragraph(
                "perf.latency_intro",
                at=_at(latency.get("measured_at")),
                status=self.status(latency.get("status")),
                target=facts.get("target_ms", "-"),
                samples=facts.get("samples", "-"),
                role=_code(facts.get("role", "-")),
            )
            if not latency["same_setup"]:
                self.add("> " + self.tr("perf.stale", command=_code("fdw-wizard validate")), "")
            rows = []
            for relation in facts.get("relations", []):
                for read in relation.get("reads", []):
                    rows.append(
                        [
                            _code(relation.get("relation")),
                            _cell(self.known("perf.read", read.get("read"))),
                            self.dec(read.get("p50_ms")),
                            self.dec(read.get("p95_ms")),
                            self.dec(read.get("max_ms")),
                            _cell(self.tr("verdict." + str(read.get("verdict")))),
                        ]
                    )
            if rows:
                self.add(
                    *_table(
                        [
                            self.tr("col.relation"),
                            self.tr("col.read"),
                            "p50 ms",
                            "p95 ms",
                            "max ms",
                            self.tr("col.verdict"),
                        ],
                        rows,
                    )
                )
        offline = measured.get("validate.offline")
        self.heading(3, "perf.offline")
        if offline is None:
            self.paragraph("perf.not_measured", command=_code("fdw-wizard validate"))
            return
        facts = offline["facts"]
        self.paragraph(
            "perf.offline_intro",
            at=_at(offline.get("measured_at")),
            status=self.status(offline.get("status")),
            bound=facts.get("bound_s", "-"),
            relation=_code(facts.get("relation", "-")),
        )
        if not offline["same_setup"]:
            self.add("> " + self.tr("perf.stale", command=_code("fdw-wizard validate")), "")
        cases = facts.get("cases", [])
        if cases:
            self.add(
                *_table(
                    [self.tr("col.outage"), self.tr("col.seconds"), "HTTP", "SQLSTATE"],
                    [
                        [
                            _cell(
                                self.known("perf.outage", c.get("outage"))
                                + ", "
                                + self.known("perf.session", c.get("session"))
                            ),
                            _cell(
                                self.tr("perf.hung")
                                if c.get("hung")
                                else self.dec(c.get("seconds"))
                            ),
                            _cell(c.get("http_status")),
                            _code(c.get("sqlstate")),
                        ]
                        for c in cases
                    ],
                )
            )

    def monitoring(self) -> None:
        from wizard.monitor import hours_text

        self.heading(2, "mon.title")
        mon = self.facts["monitor"]
        if self.error(mon):
            return
        if not mon.get("records"):
            self.paragraph("mon.none", command=_code("fdw-wizard watch"))
            return
        rows = [
            [
                self.tr("mon.records"),
                _cell(self.tr("mon.records_value", records=mon["records"], failed=mon["failed"])),
            ],
            [self.tr("mon.window"), _cell(f"{_at(mon['first_at'])} - {_at(mon['last_at'])}")],
            [self.tr("mon.availability"), _cell(self.percent(mon["availability_pct"]))],
            [
                self.tr("mon.latency"),
                _cell(f"p50 {self.dec(mon['p50_ms'])} ms, p95 {self.dec(mon['p95_ms'])} ms"),
            ],
            [self.tr("mon.incidents"), _cell(len(mon.get("incidents", [])))],
            [
                self.tr("mon.clean"),
                _cell(
                    self.tr(
                        "mon.clean_value",
                        clean=hours_text(float(mon["clean_hours"] or 0)),
                        required=self.dec(mon["required_hours"]),
                    )
                ),
            ],
            [self.tr("mon.gate"), self.yes(mon.get("gate_ok"))],
            [self.tr("mon.log"), _code(mon.get("log"))],
        ]
        self.add(*_table([self.tr("col.item"), self.tr("col.value")], rows))

    def worst_p95(self) -> float | None:
        """The slowest p95 of validate.latency's recorded reads (None: not measured)."""
        measured = self.facts["measurements"]
        latency = measured.get("validate.latency") if "error" not in measured else None
        values = [
            float(read["p95_ms"])
            for relation in ((latency or {}).get("facts") or {}).get("relations", [])
            for read in relation.get("reads", [])
            if isinstance(read.get("p95_ms"), int | float)
        ]
        return max(values) if values else None

    def metrics(self) -> None:
        self.heading(2, "metrics.title")
        metrics = self.facts["metrics"]
        if self.error(metrics):
            return
        rows = []
        for m in metrics.get("metrics", []):
            kind = m.get("id")
            before, goal, now = "-", "-", "-"
            if kind == "storage":
                before = self.size(
                    m.get("before") if m.get("before") is not None else m.get("runbook_before")
                )
                goal, now = "< " + self.size(m.get("goal")), self.size(m.get("now"))
            elif kind == "database":
                before, now = self.size(m.get("before")), self.size(m.get("now"))
            elif kind == "duplicated_rows":
                before, goal, now = self.count(m.get("before")), "0", self.count(m.get("now"))
            elif kind == "latency":
                goal = f"< {m.get('goal')} ms"
                worst = m.get("now")
                if not isinstance(worst, int | float):
                    worst = self.worst_p95()
                now = f"{self.dec(round(worst, 1))} ms" if worst is not None else "-"
            elif kind == "freshness":
                before, goal = self.tr("metrics.three_a_day"), self.tr("metrics.real_time")
                now = self.tr(
                    "metrics.real_time" if m.get("foreign_tables") else "metrics.three_a_day"
                )
            elif kind == "fallback":
                before, goal = self.tr("no"), self.tr("yes")
                now = self.status(m.get("now")) if m.get("now") else "-"
            rows.append(
                [
                    self.tr("metrics." + str(kind)),
                    _cell(before),
                    _cell(goal),
                    _cell(now),
                    _cell(t("cleanup.metric.state." + str(m.get("state")), self.lang)),
                ]
            )
        self.add(
            *_table(
                [
                    self.tr("col.metric"),
                    self.tr("col.before"),
                    self.tr("col.goal"),
                    self.tr("col.now"),
                    self.tr("col.state"),
                ],
                rows,
            )
        )

    def backups(self) -> None:
        self.heading(2, "backups.title")
        records = self.facts["records"]
        if self.error(records):
            return
        files = records.get("files", [])
        if files:
            self.paragraph("backups.files")
            self.add(
                *_table(
                    [
                        self.tr("col.step"),
                        self.tr("col.file"),
                        self.tr("col.backup"),
                        self.tr("col.present"),
                    ],
                    [
                        [
                            _code(f["step"]),
                            _code(f["file"]),
                            _code(f["backup"]),
                            self.yes(f["exists"]),
                        ]
                        for f in files
                    ],
                )
            )
        else:
            self.paragraph("backups.no_files")
        clientes = records.get("clientes")
        if clientes:
            self.paragraph(
                "backups.clientes",
                path=_code(clientes["path"]),
                rows=self.count(clientes.get("rows")),
                sha=_code(clientes.get("sha256")),
                present=self.yes(clientes["exists"]),
            )
        else:
            self.paragraph("backups.no_clientes", folder=_code(records.get("backup_dir")))
        generated = records.get("generated", [])
        if generated:
            self.paragraph("backups.generated", files=", ".join(_code(g) for g in generated))
        self.add(
            "- " + self.tr("backups.state", path=_code(records["state"])),
            "- " + self.tr("backups.audit", path=_code(records["audit"])),
            "- " + self.tr("backups.measurements", path=_code(records["measurements"])),
            "- " + self.tr("backups.health", path=_code(records["health_log"])),
            "",
        )

    def undo(self) -> None:
        self.heading(2, "undo.title")
        self.paragraph("undo.intro")
        config = self.facts["meta"]["config"]
        quoted = f'"{config}"' if " " in config else config
        steps = self.facts.get("steps", {})
        rows = []
        for key, only, ids in UNDO_PARTS:
            command = "fdw-wizard rollback" + (f" --only {only}" if only else "")
            command += f" --config {quoted}"
            states = [steps.get(i) for i in ids]
            present = [s for s in states if s]
            state = ", ".join(sorted({self.status(s) for s in present})) if present else "-"
            rows.append([self.tr("undo.part." + key), _code(command), _cell(state)])
        records = self.facts["records"]
        clientes = records.get("clientes") if "error" not in records else None
        restore = "fdw-wizard cleanup --restore " + (
            str(clientes["path"]) if clientes else "<" + self.tr("undo.backup_file") + ">"
        )
        rows.append(
            [
                self.tr("undo.part.cleanup"),
                _code(restore + f" --config {quoted}"),
                _cell(self.status(steps.get("cleanup.dedupe"))),
            ]
        )
        self.add(
            *_table([self.tr("col.part"), self.tr("col.command"), self.tr("col.state_now")], rows)
        )
        self.paragraph("undo.notes")


def render(facts: dict[str, Any], lang: str | None = None) -> str:
    """The document in ``lang`` (default: the current language), already redacted."""
    chosen = normalize_language(lang) or current_language()
    return redact(_Writer(facts, chosen).render())


# Sections whose facts may carry {"error": ...} (the document says so in place).
SECTIONS = ("dw", "supabase", "checks", "measurements", "monitor", "metrics", "records")


def unreadable(facts: dict[str, Any]) -> list[str]:
    """The sections (and DW parts) that could not be read, with why."""
    found = [f"{name}: {facts[name]['error']}" for name in SECTIONS if "error" in facts[name]]
    dw = facts.get("dw", {})
    for part in ("hba", "reader"):
        if isinstance(dw.get(part), dict) and "error" in dw[part]:
            found.append(f"dw.{part}: {dw[part]['error']}")
    return found


def write_document_report(
    ctx: Any, path: Path | None = None, lang: str | None = None
) -> tuple[Path, list[str]]:
    """Collect, render and write the document (atomically): (its path, unreadable parts)."""
    from wizard.fileio import atomic_write_bytes

    target = (
        Path(path).expanduser().absolute()
        if path is not None
        else document_path(ctx.config, ctx.config_path)
    )
    facts = collect(ctx)
    atomic_write_bytes(target, render(facts, lang).encode("utf-8"), backup=False, mode=0o644)
    return target, [redact(p) for p in unreadable(facts)]


def write_document(ctx: Any, path: Path | None = None, lang: str | None = None) -> Path:
    """Collect, render and write the document (atomically); returns its path."""
    return write_document_report(ctx, path, lang)[0]


def write_checklist_copy(ctx: Any, lang: str | None = None) -> Path:
    """Write the document where ``cleanup.document`` expects it, and remember it as the step's
    own write (the step's apply, the CLI without --out, the TUI's key)."""
    return write_checklist_report(ctx, lang)[0]


def write_checklist_report(ctx: Any, lang: str | None = None) -> tuple[Path, list[str]]:
    path, problems = write_document_report(ctx, None, lang)
    ctx.remember(STEP_ID, path=str(path), sha256=digest(path))
    return path, problems


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
