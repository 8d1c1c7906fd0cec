"""Phase 4 (runbook "Validação"): latency under the target, the fallback in time when the DW is
offline, and the monitoring window before cleanup. All three only measure (nothing to apply).

- validate.latency: every imported foreign table and every enabled view, read the way the app
  reads them (the hook's LIMIT 10000, a COUNT, a monthly dashboard total) as ``authenticated``
  (its role settings, 8 s statement_timeout), ``validation.samples`` times; p50/p95/max against
  ``validation.latency_target_ms`` next to the network round trip; pushdown from the plan; a
  remedy naming the step or config key for each read over the target.
- validate.offline: the app's read of a BI view as PostgREST runs it (authenticated, its role
  settings, request.path, the pre-request function of supabase.read-bound) while the foreign
  server points — inside a transaction that is always rolled back — at an outage: refused (a
  port nobody listens on) and hung (a listener that never answers), each for a fresh connection
  and for a warm one (made through a proxy to the DW that then freezes or drops it). Every read
  must end, with an error the app acts on, within ``fdw.api_read_bound_s``, or the app's
  Storage fallback comes too late. Warm reads and refused ports need Supabase to share this
  machine's loopback (the sandbox); elsewhere ``validation.offline_probe_host`` gives the hung
  address and the rest is reported as not measurable from here.
- validate.monitor: one health probe appended to the log, and the log's summary: DONE once it
  covers ``validation.monitor_window_hours`` without an incident (the cleanup gate).

Measuring costs seconds (every read x samples; the offline test waits connect_timeout), so a
measurement is kept and reused by ``status``/``apply``/the TUI's checklist while it is younger
than ``validation.reuse_minutes`` AND nothing it depends on changed (the fingerprint: the
server's and foreign tables' options and statistics, the views, the app role's settings, the
config it measured under, the state's changed_at of the steps that build the setup). A reused
result says when it was measured. ``ctx.fresh_measurements`` (``fdw-wizard validate``, the
dashboard's "measure now") always measures again. Only a passing measurement is reused.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from wizard import latency, monitor
from wizard.engine import CheckResult, Status, Step
from wizard.i18n import Message

APP_ROLE = "authenticated"
OFFLINE_MARGIN_S = 0.5  # over fdw.api_read_bound_s: the API's own work (HTTP, pool, JSON)
OFFLINE_CAP_EXTRA_S = 6.0  # how much longer than the bound (8 s role timeout + 1) to wait
OFFLINE_CASES = (("refused", "fresh"), ("hung", "fresh"), ("refused", "warm"), ("hung", "warm"))
VIEW_REQUIRES = ("views.clientes-360", "views.frota-360")
REUSE_MINUTES_DEFAULT = 30.0  # validation.reuse_minutes until the config model has the field
# Steps whose changes make an earlier measurement stale (their changed_at is fingerprinted).
SETUP_PREFIXES = ("local.", "supabase.", "views.", "app.health-function")
PREFETCH_ATTR = "_validate_offline_prefetch"


# -- reusing a recent measurement -------------------------------------------------------------


def reuse_minutes(ctx: Any) -> float:
    return float(getattr(ctx.config.validation, "reuse_minutes", REUSE_MINUTES_DEFAULT))


def wants_fresh(ctx: Any) -> bool:
    return bool(getattr(ctx, "fresh_measurements", False))


def measurements_path(config_path: Path) -> Path:
    """Beside the state file: the last measurement of each validate step (no secrets)."""
    from wizard import paths

    state = paths.state_file(config_path)
    return state.with_name(state.stem + ".measurements.json")


def _load_measurements(config_path: Path) -> dict[str, Any]:
    try:
        data = json.loads(measurements_path(config_path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # missing or damaged: the next check measures again
    return data if isinstance(data, dict) else {}


def _store_measurement(ctx: Any, step_id: str, entry: dict[str, Any] | None) -> None:
    from wizard.fileio import atomic_write_bytes
    from wizard.redact import redact_obj

    data = _load_measurements(ctx.config_path)
    if entry is None:
        data.pop(step_id, None)
    else:
        data[step_id] = entry
    text = json.dumps(redact_obj(data), ensure_ascii=False)
    atomic_write_bytes(
        measurements_path(ctx.config_path), text.encode("utf-8"), backup=False, mode=0o600
    )


def fingerprint(ctx: Any, conn: Any | None = None) -> str:
    """What a measurement depends on, hashed: equal fingerprints mean nothing it measured has
    changed since (as far as the wizard can see without measuring)."""
    cfg = ctx.config
    conn = conn if conn is not None else ctx.supabase_conn()
    server = conn.execute(
        "SELECT srvoptions FROM pg_foreign_server WHERE srvname = %s", (cfg.fdw.server_name,)
    ).fetchone()
    tables = conn.execute(
        "SELECT n.nspname, c.relname, ft.ftoptions, c.reltuples FROM pg_foreign_table ft"
        " JOIN pg_class c ON c.oid = ft.ftrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
        " JOIN pg_foreign_server s ON s.oid = ft.ftserver WHERE s.srvname = %s ORDER BY 1, 2",
        (cfg.fdw.server_name,),
    ).fetchall()
    views = conn.execute(
        "SELECT n.nspname, c.relname, md5(pg_get_viewdef(c.oid)), c.reloptions FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'v'"
        " AND c.relname IN ('v_clientes_360', 'v_frota_360') ORDER BY 1, 2"
    ).fetchall()
    role = conn.execute("SELECT rolconfig FROM pg_roles WHERE rolname = %s", (APP_ROLE,)).fetchone()
    changed = {}
    if getattr(ctx, "state", None) is not None:
        changed = {
            step_id: entry.get("changed_at")
            for step_id, entry in sorted(ctx.state.steps().items())
            if step_id.startswith(SETUP_PREFIXES) and isinstance(entry, dict)
        }
    validation = cfg.validation.model_dump(mode="json")
    validation.pop("reuse_minutes", None)  # how long to trust a result, not what it measured
    document = {
        "config": {
            "fdw": cfg.fdw.model_dump(mode="json"),
            "views": cfg.views.model_dump(mode="json"),
            "validation": validation,
            "exposure": [cfg.exposure.public_host, cfg.exposure.public_port],
            "supabase": [cfg.supabase.host, cfg.supabase.port, cfg.supabase.database],
            "reader": cfg.reader.name,
        },
        "server": sorted(server[0] or []) if server else None,
        "tables": [[r[0], r[1], sorted(r[2] or []), float(r[3])] for r in tables],
        "views": [[r[0], r[1], r[2], sorted(r[3] or [])] for r in views],
        "role": sorted(role[0] or []) if role else None,
        "changed": changed,
    }
    text = json.dumps(document, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


def _entry_for(result: CheckResult, fp: str, measured_at: datetime) -> dict[str, Any]:
    return {
        "fingerprint": fp,
        "measured_at": measured_at.isoformat(),
        "status": result.status.value,
        "message": result.message.to_json(),
        "details": [d.to_json() for d in result.details],
        "facts": result.facts,
    }


def _age_minutes(entry: dict[str, Any], now: datetime) -> float | None:
    try:
        at = datetime.fromisoformat(str(entry["measured_at"]))
    except (KeyError, ValueError):
        return None
    if at.tzinfo is None:
        return None
    age = (now - at).total_seconds() / 60
    return age if age >= 0 else None  # a clock that went back: measure again


def reusable(ctx: Any, step_id: str, fp: str) -> dict[str, Any] | None:
    """The stored measurement of ``step_id`` when it may stand in for a new one."""
    if wants_fresh(ctx):
        return None
    entry = _load_measurements(ctx.config_path).get(step_id)
    if not isinstance(entry, dict) or entry.get("fingerprint") != fp:
        return None
    if entry.get("status") != Status.DONE.value:
        return None  # a failure is what the operator is working on: look again
    age = _age_minutes(entry, _now())
    if age is None or age >= reuse_minutes(ctx):
        return None
    return entry


def _reused_result(entry: dict[str, Any]) -> CheckResult:
    at = datetime.fromisoformat(str(entry["measured_at"]))
    minutes = int((_now() - at).total_seconds() // 60)
    local = at.astimezone().strftime("%Y-%m-%d %H:%M")
    details = [Message(d["key"], d.get("params") or {}) for d in entry.get("details", [])]
    details.append(Message("step.validate.reused", {"at": local, "minutes": minutes}))
    facts = dict(entry.get("facts") or {})
    facts.update(measured_at=entry["measured_at"], reused=True)
    message = entry["message"]
    return CheckResult(
        Status(entry["status"]),
        Message(message["key"], message.get("params") or {}),
        details,
        facts,
    )


def _fresh(ctx: Any, step_id: str, fp: str, result: CheckResult, at: datetime) -> CheckResult:
    """Keep a new measurement (a failed one replaces, and so retires, an older pass)."""
    result.facts.update(measured_at=at.isoformat(), reused=False)
    with contextlib.suppress(OSError):  # a cache that cannot be written only costs time
        _store_measurement(ctx, step_id, _entry_for(result, fp, at))
    return result


def _relations(ctx: Any) -> list[tuple[str, str, str, dict[str, str]]]:
    """(schema, name, kind, columns) of every imported foreign table and enabled view."""
    from wizard.steps.supabase_import import foreign_tables
    from wizard.steps.views import Clientes360, Frota360

    cfg = ctx.config
    out = [
        (cfg.fdw.target_schema, name, "table", columns)
        for name, columns in sorted(foreign_tables(ctx).items())
    ]
    from wizard.steps.aggregates import AGGREGATES

    conn = ctx.supabase_conn()
    views = [
        (getattr(cfg.views, step.config_key).schema_name, step.view_name, "view")
        for step in (Clientes360, Frota360)
        if getattr(cfg.views, step.config_key).enabled
    ]
    # The dashboards' DW-side aggregates (supabase.aggregates), where they exist.
    views += [(cfg.views.frota_360.schema_name, a.view, "aggregate") for a in AGGREGATES]
    for schema, name, kind in views:
        rows = conn.execute(
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a"
            " JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = %s AND c.relname = %s AND a.attnum > 0 AND NOT a.attisdropped"
            " ORDER BY a.attnum",
            (schema, name),
        ).fetchall()
        if rows:
            out.append((schema, name, kind, {r[0]: r[1] for r in rows}))
    return out


def _fetch_sizes(ctx: Any) -> tuple[int, dict[str, int]]:
    """The server's fetch_size and per-table overrides (postgres_fdw's default is 100)."""
    from wizard.steps.supabase_fdw import current_server

    conn = ctx.supabase_conn()
    server = current_server(conn, ctx.config.fdw.server_name)
    default = int(
        (server[1] if server else {}).get("fetch_size", latency.POSTGRES_FDW_DEFAULT_FETCH)
    )
    per_table: dict[str, int] = {}
    rows = conn.execute(
        "SELECT n.nspname || '.' || c.relname, ft.ftoptions FROM pg_foreign_table ft"
        " JOIN pg_class c ON c.oid = ft.ftrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
    ).fetchall()
    for name, options in rows:
        for item in options or []:
            key, _, value = str(item).partition("=")
            if key == "fetch_size":
                per_table[name] = int(value)
    return default, per_table


def network(ctx: Any) -> dict[str, Any]:
    """Round trips: to the DW's public address (the brief's measure of the FDW path) and to
    Supabase (from the DW's site this approximates the Supabase -> DW path)."""
    cfg = ctx.config
    dw_ms, dw_error = latency.tcp_rtt_ms(cfg.exposure.public_host, cfg.exposure.public_port)
    supa_ms, supa_error = latency.tcp_rtt_ms(cfg.supabase.host, cfg.supabase.port)
    known = [v for v in (dw_ms, supa_ms) if v is not None]
    return {
        "dw_address": f"{cfg.exposure.public_host}:{cfg.exposure.public_port}",
        "dw_rtt_ms": dw_ms,
        "dw_error": dw_error,
        "supabase_rtt_ms": supa_ms,
        "supabase_error": supa_error,
        "rtt_ms": max(known) if known else None,
    }


class Latency(Step):
    """Runbook Fase 4: "Verificar latência aceitável (<500ms)"."""

    id = "validate.latency"
    phase = "validate"
    requires = ("supabase.test-queries", *VIEW_REQUIRES)
    settings_keys = (
        "validation.latency_target_ms",
        "validation.samples",
        "validation.reuse_minutes",
    )

    def check(self, ctx: Any) -> CheckResult:
        fp = fingerprint(ctx)
        entry = reusable(ctx, self.id, fp)
        if entry is not None:
            return _reused_result(entry)
        kept = self._kept(ctx, fp)
        if kept is not None:
            return kept
        # The offline test only waits (connect_timeout against a silent address): start it now
        # so that its wait overlaps these reads instead of following them.
        Offline.prefetch(ctx, fp)
        at = _now()
        return _fresh(ctx, self.id, fp, self._measure(ctx), at)

    def _kept(self, ctx: Any, fp: str) -> CheckResult | None:
        """The last measurement of this very setup (same fingerprint), whatever its age or
        verdict, unless measurements are asked for (`fdw-wizard validate`): reading every
        table and view again costs time that grows with the warehouse, and `status` / a second
        `apply` only check. A change to the setup changes the fingerprint and measures again."""
        if wants_fresh(ctx):
            return None
        stored = _load_measurements(ctx.config_path).get(self.id)
        if not isinstance(stored, dict) or stored.get("fingerprint") != fp:
            return None
        if _age_minutes(stored, _now()) is None:
            return None
        result = _reused_result(stored)
        result.details.append(Message("step.pushdown.latency_kept"))
        return result

    def _measure(self, ctx: Any) -> CheckResult:
        cfg = ctx.config
        target = float(cfg.validation.latency_target_ms)
        conn = ctx.supabase_conn()
        net = network(ctx)
        rtt = net["rtt_ms"]
        ctx.progress(
            self.id,
            Message(
                "step.validate.latency.network",
                {
                    "address": net["dw_address"],
                    "rtt": net["dw_rtt_ms"] if net["dw_rtt_ms"] is not None else "-",
                },
            ),
        )
        fetch_default, fetch_tables = _fetch_sizes(ctx)
        relations = _relations(ctx)
        cold = None
        if relations:
            first = next((r for r in relations if r[2] == "table"), relations[0])
            cold = latency.cold_connect_ms(conn, APP_ROLE, (first[0], first[1]))
        table: list[dict[str, Any]] = []
        details: list[Message] = []
        over = errors = 0
        widest = 0
        date_trunc_local = 0
        for index, (schema, name, kind, columns) in enumerate(relations, 1):
            relation = f"{schema}.{name}"
            ctx.progress(
                self.id,
                Message(
                    "step.validate.latency.measuring",
                    {"relation": relation, "done": index, "total": len(relations)},
                ),
            )
            fetch = fetch_tables.get(relation, fetch_default)
            row: dict[str, Any] = {"relation": relation, "kind": kind, "reads": []}
            worst = 0.0
            for read in latency.reads_for(schema, name, kind, columns):
                if kind == "aggregate" and read.read == "aggregate":
                    continue  # already the dashboard's total: read whole (a few rows)
                m = latency.measure(conn, APP_ROLE, read, cfg.validation.samples)
                entry = self._entry(ctx, m, target, rtt, fetch)
                row["reads"].append(entry)
                widest = max([widest, *(s.width for s in m.foreign_scans)])
                if entry["pushdown"]["aggregate"] == "not_pushed" and "date_trunc" in m.sql:
                    date_trunc_local += 1
                details += [Message(f["key"], f["params"]) for f in entry["local_joins"]]
                if entry["verdict"] == "error":
                    errors += 1
                    details.append(
                        Message(
                            "step.validate.latency.read_error",
                            {"relation": relation, "read": read.read, "error": m.error or "-"},
                        )
                    )
                elif entry["verdict"] == "over":
                    over += 1
                    details.append(
                        Message(
                            "step.validate.latency.read_over",
                            {
                                "relation": relation,
                                "read": read.read,
                                "p50": entry["p50_ms"],
                                "p95": entry["p95_ms"],
                                "target": int(target),
                            },
                        )
                    )
                    details += [Message(r["key"], r["params"]) for r in entry["remedies"]]
                worst = max(worst, entry["p95_ms"] or 0.0)
            table.append(row)
            ctx.progress(
                self.id,
                Message("step.validate.latency.measured", {"relation": relation, "p95": worst}),
            )
        if date_trunc_local:
            details.append(Message("step.validate.latency.date_trunc", {"count": date_trunc_local}))
        reads = sum(len(r["reads"]) for r in table)
        facts: dict[str, Any] = {
            "target_ms": int(target),
            "samples": cfg.validation.samples,
            "role": APP_ROLE,
            "network": net,
            "cold_connect_ms": cold,
            "fetch_size": fetch_default,
            "recommended_fetch_size": latency.recommend_fetch_size(rtt or 0.0, widest or 200),
            "relations": table,
            "reads": reads,
            "over": over,
            "errors": errors,
        }
        params = {"reads": reads, "relations": len(table), "target": int(target)}
        if not table:
            return CheckResult(Status.FAILED, Message("step.validate.latency.none"), details, facts)
        if over or errors:
            return CheckResult(
                Status.FAILED,
                Message("step.validate.latency.failed", {**params, "over": over, "errors": errors}),
                details,
                facts,
            )
        return CheckResult(Status.DONE, Message("step.validate.latency.ok", params), details, facts)

    def _entry(
        self, ctx: Any, m: latency.Measured, target: float, rtt: float | None, fetch: int
    ) -> dict[str, Any]:
        stats = latency.summarize(m.server_ms)
        wall = latency.summarize(m.wall_ms)
        row = (
            ctx.supabase_conn()
            .execute(
                "SELECT c.reltuples FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = %s AND c.relname = %s AND c.relkind = 'f'",
                m.read.relation,
            )
            .fetchone()
        )
        from wizard.steps.views import foreign_catalog, join_messages, plan_joins

        joins = plan_joins(m.plan, foreign_catalog(ctx.supabase_conn()), m.sql) if m.plan else None
        flags = latency.pushdown(
            m,
            float(row[0]) if row else None,
            local_foreign_join=bool(joins.local) if joins is not None else None,
        )
        entry: dict[str, Any] = {
            "read": m.read.read,
            "sql": m.sql,
            **stats,
            "wall_p50_ms": wall["p50_ms"],
            "rows": m.rows,
            "rows_fetched": sum(s.rows for s in m.foreign_scans),
            "round_trips": latency.round_trips((s.rows for s in m.foreign_scans), fetch),
            "remote_sql": m.remote_sql,
            "pushdown": flags,
            "findings": [f.to_json() for f in latency.findings(m, flags)],
            "remedies": [],
            "error": m.error,
            "sqlstate": m.sqlstate,
            # A join of foreign tables of one server left on Supabase, with its remedy: flagged
            # whatever the time (it grows with the warehouse).
            "local_joins": (
                [f.to_json() for f in join_messages(joins, m.read.name)]
                if joins is not None and joins.local
                else []
            ),
        }
        entry["network_floor_ms"] = (
            round(entry["round_trips"] * rtt, 2) if rtt is not None else None
        )
        if m.error is not None:
            entry["verdict"] = "error"
            if m.sqlstate == "57014":
                entry["remedies"] = [Message("validate.remedy.timeout").to_json()]
            return entry
        p95 = float(stats["p95_ms"] or 0.0)
        entry["verdict"] = "ok" if p95 <= target else "over"
        if entry["verdict"] == "over":
            scans: list[str] = []
            for sent in m.remote_sql:
                with contextlib.suppress(Exception):  # the index advice is optional
                    scans += latency.dw_seq_scans(ctx.local_conn(), sent)
            entry["remedies"] = [
                r.to_json()
                for r in latency.remedies(
                    m, flags, target_ms=target, rtt_ms=rtt, fetch_size=fetch, seq_scans=scans
                )
            ]
            if m.read.read == "aggregate" and flags["aggregate"] == "not_pushed":
                from wizard.steps.aggregates import AGGREGATES

                covered = [a for a in AGGREGATES if a.source == m.read.relation[1]]
                entry["remedies"][:0] = [
                    Message(
                        "step.pushdown.remedy_aggregate_step",
                        {
                            "relation": m.read.name,
                            "view": f"{ctx.config.views.frota_360.schema_name}.{a.view}",
                        },
                    ).to_json()
                    for a in covered
                ]
        return entry


class Offline(Step):
    """Runbook Fase 4: "Testar fallback quando FDW offline"."""

    id = "validate.offline"
    phase = "validate"
    requires = ("supabase.test-queries", *VIEW_REQUIRES)

    def check(self, ctx: Any) -> CheckResult:
        fp = fingerprint(ctx)
        entry = reusable(ctx, self.id, fp)
        pending: _Prefetch | None = getattr(ctx, PREFETCH_ATTR, None)
        setattr(ctx, PREFETCH_ATTR, None)
        if entry is not None:
            return _reused_result(entry)
        if pending is not None and pending.fingerprint == fp:
            ctx.progress(self.id, Message("step.validate.offline.collecting"))
            result = pending.wait()
            if result is not None:
                return _fresh(ctx, self.id, fp, result, pending.started_at)
        at = _now()
        return _fresh(ctx, self.id, fp, self._measure(ctx, ctx.supabase_conn(), ctx.progress), at)

    @classmethod
    def prefetch(cls, ctx: Any, fp: str) -> None:
        """Start this step's measurement in the background (on connections of its own) when
        its check would measure: validate.latency calls it before its reads."""
        cfg = ctx.config
        if getattr(ctx, PREFETCH_ATTR, None) is not None or reusable(ctx, cls.id, fp):
            return
        from wizard.blackhole import is_loopback

        if not cfg.validation.offline_probe_host.strip() and not is_loopback(cfg.supabase.host):
            return  # nothing to measure until validation.offline_probe_host is set
        pending = _Prefetch(ctx, fp)
        setattr(ctx, PREFETCH_ATTR, pending)
        pending.start()

    def _measure(self, ctx: Any, conn: Any, progress: Any) -> CheckResult:
        from wizard.blackhole import is_loopback
        from wizard.steps.supabase_bound import (
            VIEW_NAMES,
            bound_seconds,
            role_settings,
        )
        from wizard.steps.supabase_fdw import current_server

        cfg = ctx.config
        server = current_server(conn, cfg.fdw.server_name)
        if server is None:
            return CheckResult(
                Status.FAILED,
                Message("step.validate.offline.no_server", {"server": cfg.fdw.server_name}),
            )
        bound = bound_seconds(cfg)
        views = [
            (getattr(cfg.views, key).schema_name, name)
            for key, name in VIEW_NAMES
            if getattr(cfg.views, key).enabled
        ]
        if not views:
            return CheckResult(Status.NOT_APPLICABLE, Message("step.validate.offline.no_view"))
        pre_request = role_settings(conn, "authenticator").get("pgrst.db_pre_request")
        app = latency.AppRequest(
            APP_ROLE,
            tuple(role_settings(conn, APP_ROLE).items()),
            pre_request,
            views[0][0],
            views[0][1],
        )
        version = int(conn.execute("SHOW server_version_num").fetchone()[0])
        cap = max(bound, self._role_timeout_s(conn)) + OFFLINE_CAP_EXTRA_S
        facts: dict[str, Any] = {
            "bound_s": bound,
            "limit_s": bound + OFFLINE_MARGIN_S,  # what a read is judged by (the API's own work)
            "relation": f"{app.schema}.{app.relation}",
            "pre_request": pre_request,
            "server_version_num": version,
            "server_connect_timeout": server[1].get("connect_timeout"),
        }
        details: list[Message] = []
        if not pre_request:
            details.append(Message("step.validate.offline.no_bound"))
        addresses = latency.resolved_addresses(cfg.exposure.public_host, cfg.exposure.public_port)
        facts["dw_addresses"] = addresses
        if addresses > 1 and version < 160000:
            details.append(
                Message(
                    "step.validate.offline.addresses",
                    {
                        "host": cfg.exposure.public_host,
                        "count": addresses,
                        "worst": addresses * cfg.fdw.connect_timeout_s,
                    },
                )
            )
        probe = cfg.validation.offline_probe_host.strip()
        shares_loopback = is_loopback(cfg.supabase.host)
        if not probe and not shares_loopback:
            return CheckResult(
                Status.PENDING,
                Message("step.validate.offline.need_probe_host"),
                [*details, Message("step.validate.offline.need_probe_host.how")],
                facts,
            )
        cases: list[latency.Outage] = []
        for kind, session in OFFLINE_CASES:
            if not shares_loopback and not (kind == "hung" and session == "fresh"):
                details.append(
                    Message("step.validate.offline.not_here", {"kind": f"{kind}, {session}"})
                )
                continue
            progress(
                self.id,
                Message("step.validate.offline.measuring", {"kind": f"{kind}, {session}"}),
            )
            cases.append(
                latency.api_outage(
                    lambda: monitor.open_supabase(ctx),
                    conn,
                    cfg.fdw.server_name,
                    app,
                    kind=kind,
                    session=session,
                    dw=(cfg.local.host, cfg.local.port) if shares_loopback else None,
                    probe=latency.parse_host_port(probe, cfg.exposure.public_port)
                    if probe and not shares_loopback
                    else None,
                    cap_s=cap,
                )
            )
        facts["cases"] = [c.to_json() for c in cases]
        by_label = {c.label: c for c in cases}
        main = by_label.get("hung, fresh")
        facts["probe"] = main.to_json() if main else None  # the CLI's and dashboard's line
        refused = by_label.get("refused, fresh")
        facts["refused"] = refused.to_json() if refused else None
        for case in cases:
            details.append(self._case_line(case, bound))
        if any(not c.cleaned for c in cases):
            return CheckResult(
                Status.FAILED,
                Message("step.validate.offline.left_behind", {"server": cfg.fdw.server_name}),
                details,
                facts,
            )
        broken = next((c for c in cases if c.problem), None)
        if broken is not None:
            return CheckResult(
                Status.FAILED,
                Message("step.validate.offline.problem", {"error": broken.problem}),
                details,
                facts,
            )
        answered = next((c for c in cases if c.answered), None)
        if answered is not None:
            return CheckResult(
                Status.FAILED,
                Message("step.validate.offline.answered", {"address": answered.address}),
                details,
                facts,
            )
        slow = [c for c in cases if not c.within(bound, OFFLINE_MARGIN_S)]
        if slow:
            worst = max(slow, key=lambda c: c.seconds if c.seconds is not None else 1e9)
            fixes = [Message("step.validate.offline.slow.fix_bound")] if not pre_request else []
            if version < 160000 and any(c.session == "fresh" for c in slow):
                fixes.append(Message("step.validate.offline.slow.fix_pg15", {"bound": bound}))
            return CheckResult(
                Status.FAILED,
                Message(
                    "step.validate.offline.slow",
                    {
                        "count": len(slow),
                        "total": len(cases),
                        "kind": worst.label,
                        "seconds": "> " + f"{cap:g}" if worst.hung else worst.seconds,
                        "bound": bound,
                    },
                ),
                [*details, *fixes],
                facts,
            )
        slowest = max(cases, key=lambda c: c.seconds or 0.0)
        return CheckResult(
            Status.DONE,
            Message(
                "step.validate.offline.ok",
                {"count": len(cases), "seconds": slowest.seconds, "bound": bound},
            ),
            details,
            facts,
        )

    @staticmethod
    def _case_line(case: latency.Outage, bound: float) -> Message:
        if case.hung:
            return Message("step.validate.offline.case_hung", {"kind": case.label})
        if case.problem or case.answered:
            error = case.problem or "answered"
            return Message(
                "step.validate.offline.case_problem", {"kind": case.label, "error": error}
            )
        within = case.within(bound, OFFLINE_MARGIN_S)
        return Message(
            "step.validate.offline.case" if within else "step.validate.offline.case_over",
            {
                "kind": case.label,
                "seconds": case.seconds,
                "status": case.http_status or "-",
                "sqlstate": case.sqlstate or "-",
                "bound": bound,
            },
        )

    @staticmethod
    def _role_timeout_s(conn: Any) -> float:
        from wizard.steps.supabase_bound import role_settings, timeout_ms

        value = role_settings(conn, APP_ROLE).get("statement_timeout")
        return (timeout_ms(conn, value) or 0) / 1000


class _Prefetch:
    """validate.offline's measurement running in a thread while validate.latency reads.

    It uses connections of its own (the context's is busy with the reads) and reports no
    progress (the events belong to the step that runs); validate.offline collects it. Left
    uncollected (``--only validate.latency``), it ends by itself: its objects live only in a
    transaction that is rolled back."""

    def __init__(self, ctx: Any, fp: str) -> None:
        self.ctx = ctx
        self.fingerprint = fp
        self.started_at = _now()
        self.result: CheckResult | None = None
        self.error: BaseException | None = None
        # Four cases, each capped at the role's timeout + OFFLINE_CAP_EXTRA_S (+5 s to free it).
        self.cap_s = len(OFFLINE_CASES) * (8.0 + OFFLINE_CAP_EXTRA_S + 5.0) + 10.0
        self.thread = threading.Thread(target=self._run, name="fdw-offline-prefetch", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _run(self) -> None:
        conn = None
        try:
            conn = monitor.open_supabase(self.ctx)
            self.result = Offline()._measure(self.ctx, conn, lambda step_id, message: None)
        except Exception as exc:  # the step measures again in its own check
            self.error = exc
        finally:
            if conn is not None:
                with contextlib.suppress(Exception):
                    conn.close()

    def wait(self) -> CheckResult | None:
        self.thread.join(self.cap_s)
        return None if self.thread.is_alive() else self.result


class Monitor(Step):
    """Runbook Fase 4: "Monitorar por 48h antes de limpeza" (the cleanup gate).

    Its check runs one health probe and appends it to the log (an observation of the wizard's
    own, not a change to the site), then judges the log."""

    id = "validate.monitor"
    phase = "validate"
    requires = ("validate.latency",)
    settings_keys = ("validation.monitor_window_hours",)

    def check(self, ctx: Any) -> CheckResult:
        log = monitor.HealthLog.for_config(ctx.config_path)
        fp = fingerprint(ctx)
        last = reusable(ctx, self.id, fp)
        records = log.records()
        reused: Message | None = None
        if last is not None and records and records[-1].ok:
            # A passing probe of this setup is recent: the log needs no new one yet.
            at = datetime.fromisoformat(str(last["measured_at"]))
            reused = Message(
                "step.validate.reused",
                {
                    "at": at.astimezone().strftime("%Y-%m-%d %H:%M"),
                    "minutes": int((_now() - at).total_seconds() // 60),
                },
            )
            measured_at = str(last["measured_at"])
        else:
            prober = monitor.Prober(ctx)
            try:
                record = prober.probe(source="check")
            finally:
                prober.close()
            log.append(record)
            records = log.records()
            ctx.progress(
                self.id,
                Message(
                    "step.validate.monitor.probe_ok"
                    if record.ok
                    else "step.validate.monitor.probe_failed",
                    {
                        "ms": record.latency_ms if record.latency_ms is not None else "-",
                        "error": record.error or "-",
                    },
                ),
            )
            measured_at = record.at.isoformat()
            status = Status.DONE if record.ok else Status.FAILED
            entry = {"fingerprint": fp, "measured_at": measured_at, "status": status.value}
            with contextlib.suppress(OSError):
                _store_measurement(ctx, self.id, entry)
        summary = monitor.summarize(
            records, ctx.config.validation.monitor_window_hours, log=str(log.path)
        )
        facts = summary.to_json()
        facts.update(measured_at=measured_at, reused=reused is not None)
        details = [] if reused is None else [reused]
        details += [
            Message(
                "step.validate.monitor.incident",
                {
                    "start": i["start"],
                    "end": i["end"] or "-",
                    "failures": i["failures"],
                    "error": i["error"] or "-",
                },
            )
            for i in summary.incidents[-5:]
        ]
        details.append(
            Message(
                "step.validate.monitor.summary",
                {
                    "records": summary.records,
                    "availability": summary.availability_pct
                    if summary.availability_pct is not None
                    else "-",
                    "p95": summary.p95_ms if summary.p95_ms is not None else "-",
                    "log": str(log.path),
                },
            )
        )
        if summary.gate_ok:
            return CheckResult(
                Status.DONE,
                Message(
                    "step.validate.monitor.ok",
                    {
                        "hours": monitor.hours_text(summary.clean_hours),
                        "required": ctx.config.validation.monitor_window_hours,
                    },
                ),
                details,
                facts,
            )
        details.append(Message("step.validate.monitor.how"))
        return CheckResult(
            Status.PENDING,
            Message(
                "step.validate.monitor.pending",
                {
                    "covered": monitor.hours_text(summary.clean_hours),
                    "required": ctx.config.validation.monitor_window_hours,
                    "left": monitor.hours_text(summary.remaining_hours),
                },
            ),
            details,
            facts,
        )
