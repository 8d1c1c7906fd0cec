"""Phase 4 (runbook "Validação"): latency under the target, the fallback in time when the DW is
offline, and the monitoring window before cleanup. All three only measure (nothing to apply).

- validate.latency: every imported foreign table and every enabled view, read the way the app
  reads them (the hook's LIMIT 10000, a COUNT, a monthly dashboard total) as ``authenticated``
  (its role settings, 8 s statement_timeout), ``validation.samples`` times; p50/p95/max against
  ``validation.latency_target_ms`` next to the network round trip; pushdown from the plan; a
  remedy naming the step or config key for each read over the target.
- validate.offline (:mod:`wizard.steps.validate_offline`): the app's read of a BI view through
  each outage (refused, partitioned, hung; fresh and warm session) against
  ``fdw.api_read_bound_s``.
- validate.monitor: one health probe appended to the log, and the log's summary: DONE once it
  covers ``validation.monitor_window_hours`` without an incident (the cleanup gate).

A measurement is kept and reused while nothing it depends on changed
(:mod:`wizard.steps.validate_reuse`).
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any

from wizard.engine import CheckResult, Status, Step
from wizard.i18n import Message
from wizard.measure import latency, monitor
from wizard.step_context import StepContext
from wizard.steps.validate_offline import VIEW_REQUIRES, Offline
from wizard.steps.validate_reuse import (
    APP_ROLE,
    _age_minutes,
    _fresh,
    _now,
    _reused_result,
    _store_measurement,
    fingerprint,
    load_measurements,
    measurements_path,
    reusable,
    wants_fresh,
)

__all__ = [
    "Latency",
    "Monitor",
    "Offline",
    "fingerprint",
    "load_measurements",
    "measurements_path",
    "network",
]


def _relations(ctx: StepContext) -> list[tuple[str, str, str, dict[str, str]]]:
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


def _fetch_sizes(ctx: StepContext) -> tuple[int, dict[str, int]]:
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


def network(ctx: StepContext) -> dict[str, Any]:
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

    def check(self, ctx: StepContext) -> CheckResult:
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

    def _kept(self, ctx: StepContext, fp: str) -> CheckResult | None:
        """The last measurement of this very setup (same fingerprint), whatever its age or
        verdict, unless measurements are asked for (`fdw-wizard validate`): reading every
        table and view again costs time that grows with the warehouse, and `status` / a second
        `apply` only check. A change to the setup changes the fingerprint and measures again."""
        if wants_fresh(ctx):
            return None
        stored = load_measurements(ctx.config_path).get(self.id)
        if not isinstance(stored, dict) or stored.get("fingerprint") != fp:
            return None
        if _age_minutes(stored, _now()) is None:
            return None
        result = _reused_result(stored)
        result.details.append(Message("step.pushdown.latency_kept"))
        return result

    def _measure(self, ctx: StepContext) -> CheckResult:
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
        self, ctx: StepContext, m: latency.Measured, target: float, rtt: float | None, fetch: int
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


class Monitor(Step):
    """Runbook Fase 4: "Monitorar por 48h antes de limpeza" (the cleanup gate).

    Its check runs one health probe and appends it to the log (an observation of the wizard's
    own, not a change to the site), then judges the log."""

    id = "validate.monitor"
    phase = "validate"
    requires = ("validate.latency",)
    settings_keys = ("validation.monitor_window_hours",)

    def check(self, ctx: StepContext) -> CheckResult:
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
