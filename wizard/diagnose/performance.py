"""Slow reads and their limits: latency through the FDW, statistics, fetch_size, aggregates that
are not pushed down, statement timeouts, and running out of connections."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from wizard.diagnose.core import (
    CONFIRMED,
    LIKELY,
    POSSIBLE,
    RANK,
    Diagnosis,
    fix,
    msg,
    nothing,
    seen,
)
from wizard.diagnose.dispatch import handles
from wizard.diagnose.investigation import SUPABASE, Investigation
from wizard.i18n import Message
from wizard.measure import probes


def _foreign_tables(conn: Any, server: str) -> list[tuple[str, str, float]]:
    rows = conn.execute(
        "SELECT n.nspname, c.relname, c.reltuples FROM pg_foreign_table ft"
        " JOIN pg_class c ON c.oid = ft.ftrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
        " JOIN pg_foreign_server s ON s.oid = ft.ftserver WHERE s.srvname = %s ORDER BY 2",
        (server,),
    ).fetchall()
    return [(str(r[0]), str(r[1]), float(r[2])) for r in rows]


@handles("high-latency")
def latency(inv: Investigation, *, from_timeout: bool = False) -> list[Diagnosis]:
    """Measure a trivial FDW read and the TCP connect time; point at fetch_size, ANALYZE and
    aggregates that are not pushed down (with the Remote SQL as evidence)."""
    from wizard import sql_text
    from wizard.steps.supabase_checks import remote_sql

    cfg = inv.cfg
    target = cfg.validation.latency_target_ms
    evidence: list[Message] = []
    found: list[Diagnosis] = []
    rtt_ms: float | None = None
    if cfg.exposure.public_host:
        rtt = probes.tcp_round_trip_ms(cfg.exposure.public_host, cfg.exposure.public_port)
        inv.skip(rtt)
        evidence += seen(rtt)
        rtt_ms = rtt.elapsed_ms if rtt.outcome == "ok" else None
    conn = inv.supabase()
    fdw_ms: float | None = None
    if conn is not None:
        try:
            tables = _foreign_tables(conn, cfg.fdw.server_name)
        except Exception as exc:
            inv.probe_failed("foreign-tables", exc)
            tables = []
        if tables:
            schema, table, _ = tables[0]
            query = f"SELECT 1 FROM {sql_text.identifier(schema, table)} LIMIT 1"
            timed = probes.timed_query(conn, query, label=f"{schema}.{table}")
            evidence.append(timed.message)
            fdw_ms = timed.elapsed_ms if timed.outcome == "ok" else None
        unanalyzed = [f"{s}.{t}" for s, t, n in tables if n < 0]
        if unanalyzed:
            names = ", ".join(unanalyzed[:5])
            cause = msg("diagnose.cause.no_statistics", count=len(unanalyzed), tables=names)
            shown = [msg("diagnose.evidence.reltuples", tables=names)]
            fixes = [fix("diagnose.fix.analyze")]
            found.append(Diagnosis("fdw-no-statistics", cause, shown, fixes, CONFIRMED))
        fetch = inv.server_option("fetch_size")
        if tables or fetch is not None:
            size = int(fetch) if fetch and fetch.isdigit() else 100  # postgres_fdw's default
            if size < 1000:
                cause = msg("diagnose.cause.fetch_size", size=size)
                shown = [msg("diagnose.evidence.fetch_size", size=size)]
                fixes = [fix("diagnose.fix.fetch_size")]
                found.append(Diagnosis("fetch-size-small", cause, shown, fixes, CONFIRMED))
        pushdown = _date_trunc_pushdown(inv, conn, tables, remote_sql)
        if pushdown is not None:
            found.append(pushdown)
    slow_net = rtt_ms is not None and rtt_ms * 5 > target
    slow_fdw = fdw_ms is not None and fdw_ms > target
    if slow_net or slow_fdw:
        rtt_shown = round(rtt_ms or 0, 1)
        floor = round((rtt_ms or 0) * 5)
        cause = msg("diagnose.cause.slow_network", rtt=rtt_shown, floor=floor, target=target)
        fixes = [fix("diagnose.fix.network"), fix("diagnose.fix.materialize")]
        confidence = LIKELY if slow_net else POSSIBLE
        found.append(Diagnosis("slow-network", cause, list(evidence), fixes, confidence))
    for item in found:
        if item.id != "slow-network":
            item.evidence = evidence + item.evidence
    if found:
        found.sort(key=lambda d: RANK[d.confidence])
        return found
    if from_timeout:
        return []
    return [nothing(evidence)]


def _date_trunc_pushdown(
    inv: Investigation, conn: Any, tables: list[tuple[str, str, float]],
    remote_sql: Callable[[Any, str], list[str]],
) -> Diagnosis | None:  # fmt: skip
    """EXPLAIN a date_trunc('month', ...) aggregate on a foreign table with a date column:
    postgres_fdw never ships it, so the whole table crosses the network."""
    from wizard import sql_text

    if not tables:
        return None
    names = [t for _, t, _ in tables]
    schema = tables[0][0]
    try:
        row = conn.execute(
            "SELECT c.relname, a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid"
            " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s"
            " AND c.relname = ANY(%s) AND a.attnum > 0 AND NOT a.attisdropped"
            " AND a.atttypid IN ('date'::regtype, 'timestamp'::regtype, 'timestamptz'::regtype)"
            " ORDER BY c.relname LIKE 'fat%%' DESC, c.relname, a.attnum LIMIT 1",
            (schema, names),
        ).fetchone()
        if row is None:
            return None
        table, column = str(row[0]), str(row[1])
        query = (
            f"SELECT date_trunc('month', {sql_text.identifier(column)}), count(*)"
            f" FROM {sql_text.identifier(schema, table)} GROUP BY 1"
        )
        sent = remote_sql(conn, query)
    except Exception as exc:
        inv.probe_failed("pushdown", exc)
        return None
    if any("GROUP BY" in s.upper() for s in sent):
        return None
    cause = msg("diagnose.cause.not_pushed", table=f"{schema}.{table}")
    shown = [msg("diagnose.evidence.remote_sql", query=query, sql="; ".join(sent) or "-")]
    fixes = [fix("diagnose.fix.aggregate_on_dw")]
    return Diagnosis("aggregate-not-pushed-down", cause, shown, fixes, POSSIBLE)


@handles("statement-timeout")
def statement_timeout(inv: Investigation) -> list[Diagnosis]:
    """The timeouts Supabase's API roles carry, then whatever makes the read slow."""
    conn = inv.supabase()
    evidence = inv.pasted()
    if conn is not None:
        try:
            rows = conn.execute(
                "SELECT r.rolname, cfg FROM pg_roles r, unnest(r.rolconfig) cfg"
                " WHERE r.rolname IN ('anon', 'authenticated', 'service_role', current_user)"
                " AND cfg LIKE 'statement_timeout=%%' ORDER BY 1"
            ).fetchall()
            for role, setting in rows:
                value = str(setting).split("=", 1)[1]
                evidence.append(msg("diagnose.evidence.role_timeout", role=role, value=value))
        except Exception as exc:
            inv.probe_failed("role-timeouts", exc)
    proved = inv.inp.sqlstate == "57014" or "statement timeout" in inv.inp.lowered
    cause = msg("diagnose.cause.statement_timeout")
    fixes = [
        fix("diagnose.fix.analyze"),
        fix("diagnose.fix.fetch_size"),
        fix("diagnose.fix.aggregate_on_dw"),
    ]
    main = Diagnosis("statement-timeout", cause, evidence, fixes, CONFIRMED if proved else LIKELY)
    return [main, *latency(inv, from_timeout=True)]


@handles("too-many-connections")
def too_many_connections(inv: Investigation) -> list[Diagnosis]:
    """Supabase's limit, the reader's own connection limit, or the DW's max_connections."""
    side = inv.side()
    evidence = inv.pasted()
    if side == SUPABASE:
        cause = msg("diagnose.cause.too_many_supabase")
        fixes = [fix("diagnose.fix.supabase_connections")]
        return [Diagnosis("too-many-connections", cause, evidence, fixes, LIKELY)]
    reader = inv.cfg.reader.name
    if "for role" in inv.inp.lowered:
        return [_role_limit(reader, inv.cfg.reader.connection_limit, evidence)]
    conn = inv.local()
    confidence = LIKELY
    if conn is not None:
        try:
            row = conn.execute(
                "SELECT current_setting('max_connections')::int,"
                " current_setting('superuser_reserved_connections')::int,"
                " (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'),"
                " (SELECT count(*) FROM pg_stat_activity WHERE usename = %s),"
                " (SELECT rolconnlimit FROM pg_roles WHERE rolname = %s)",
                (reader, reader),
            ).fetchone()
            max_c, reserved, used, by_reader, limit = row
            evidence.append(
                msg(
                    "diagnose.evidence.connections",
                    used=used,
                    max=max_c,
                    reserved=reserved,
                    reader=by_reader,
                    limit=limit if limit is not None else "-",
                )
            )
            if used >= max_c - reserved:
                confidence = CONFIRMED
            elif not inv.inp.text:
                return [nothing(evidence)]
            if limit is not None and limit >= 0 and by_reader >= limit:
                return [_role_limit(reader, limit, evidence)]
        except Exception as exc:
            inv.probe_failed("connections", exc)
    cause = msg("diagnose.cause.too_many")
    fixes = [fix("diagnose.fix.too_many")]
    return [Diagnosis("too-many-connections", cause, evidence, fixes, confidence)]


def _role_limit(reader: str, limit: int, evidence: list[Message]) -> Diagnosis:
    cause = msg("diagnose.cause.role_limit", role=reader, limit=limit)
    fixes = [fix("diagnose.fix.connection_limit")]
    return Diagnosis("reader-connection-limit", cause, evidence, fixes, CONFIRMED)
