"""The FDW health log: periodic probes appended as JSONL, and the summary the cleanup gate reads.

One log per config (``<data dir>/monitor/<config key>.jsonl``), append-only, one fsync'd line
per probe (:func:`wizard.fileio.append_line`), so it survives restarts, crashes and concurrent
writers. A record: ``{"at": ISO-8601 UTC, "ok": bool, "latency_ms": float|null,
"error": str|null, "interval_s": float|null, "source": "watch"|"check"}``.

Coverage is only what was observed: a gap between probes longer than
``max(GAP_MIN_S, 3 x the probing interval)`` is unobserved time and breaks the incident-free
run, as does any failed probe (an incident: a run of failures, from the first failure to the
next success). The runbook's gate ("Monitorar por 48h antes de limpeza") is met when the
current clean run is at least ``validation.monitor_window_hours`` long and still going.
"""

from __future__ import annotations

import contextlib
import json
import statistics
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from wizard import paths
from wizard.fileio import append_line
from wizard.redact import redact
from wizard.step_context import StepContext

GAP_MIN_S = 15 * 60  # an unobserved stretch longer than this is not "healthy"
PROBE_TIMEOUT_S = 10.0  # the client gives up on a probe after this (a hung connect on PG15)
MAX_WATCH_PROBES = 1_000_000


def log_path(config_path: Path) -> Path:
    return paths.data_dir() / "monitor" / f"{paths.config_key(config_path)}.jsonl"


def now_utc() -> datetime:
    return datetime.now(UTC)


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds")


@dataclass
class Record:
    at: datetime
    ok: bool
    latency_ms: float | None = None
    error: str | None = None
    interval_s: float | None = None
    source: str = "check"

    def to_json(self) -> dict[str, Any]:
        return {
            "at": _iso(self.at),
            "ok": self.ok,
            "latency_ms": self.latency_ms,
            "error": redact(self.error) if self.error else None,
            "interval_s": self.interval_s,
            "source": self.source,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Record:
        at = datetime.fromisoformat(str(data["at"]))
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        latency = data.get("latency_ms")
        interval = data.get("interval_s")
        return cls(
            at=at,
            ok=bool(data["ok"]),
            latency_ms=float(latency) if latency is not None else None,
            error=str(data["error"]) if data.get("error") else None,
            interval_s=float(interval) if interval is not None else None,
            source=str(data.get("source", "check")),
        )


class HealthLog:
    """The JSONL file of one config. Any number of objects/processes may append to it."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @classmethod
    def for_config(cls, config_path: Path) -> HealthLog:
        return cls(log_path(config_path))

    def append(self, record: Record) -> None:
        append_line(self.path, json.dumps(record.to_json(), ensure_ascii=False))

    def records(self) -> list[Record]:
        """Every readable record in time order; a torn or foreign line is skipped."""
        return sorted(self._read(), key=lambda r: r.at)

    def _read(self) -> Iterator[Record]:
        if not self.path.exists():
            return
        with self.path.open(encoding="utf-8", errors="replace") as handle:
            for line in handle:
                line = line.strip()
                if not line:
                    continue
                try:
                    yield Record.from_json(json.loads(line))
                except (ValueError, KeyError, TypeError):
                    continue  # a line cut by a crash mid-write: the rest still counts


# -- summary ----------------------------------------------------------------------------------


def _gap_limit(record: Record) -> float:
    return max(GAP_MIN_S, 3 * (record.interval_s or 0.0))


@dataclass
class Summary:
    records: int = 0
    ok: int = 0
    first_at: datetime | None = None
    last_at: datetime | None = None
    availability_pct: float | None = None
    p50_ms: float | None = None
    p95_ms: float | None = None
    incidents: list[dict[str, Any]] = field(default_factory=list)
    gaps: list[dict[str, Any]] = field(default_factory=list)
    clean_since: datetime | None = None
    clean_hours: float = 0.0
    required_hours: float = 0.0
    stale: bool = False  # the last probe is older than the gap limit: monitoring stopped
    log: str = ""

    @property
    def remaining_hours(self) -> float:
        return max(0.0, self.required_hours - self.clean_hours)

    @property
    def gate_ok(self) -> bool:
        return (
            self.records > 0
            and not self.stale
            and self.clean_since is not None
            and self.clean_hours >= self.required_hours
        )

    @property
    def window_hours(self) -> float:
        if self.first_at is None or self.last_at is None:
            return 0.0
        return (self.last_at - self.first_at).total_seconds() / 3600

    def to_json(self) -> dict[str, Any]:
        def iso(at: datetime | None) -> str | None:
            return _iso(at) if at is not None else None

        return {
            "log": self.log,
            "records": self.records,
            "ok": self.ok,
            "failed": self.records - self.ok,
            "first_at": iso(self.first_at),
            "last_at": iso(self.last_at),
            "window_hours": round(self.window_hours, 3),
            "availability_pct": self.availability_pct,
            "p50_ms": self.p50_ms,
            "p95_ms": self.p95_ms,
            "incidents": self.incidents,
            "gaps": self.gaps,
            "clean_since": iso(self.clean_since),
            "clean_hours": round(self.clean_hours, 3),
            "required_hours": self.required_hours,
            "remaining_hours": round(self.remaining_hours, 3),
            "stale": self.stale,
            "gate_ok": self.gate_ok,
        }


def summarize(
    records: list[Record], required_hours: float, *, now: datetime | None = None, log: str = ""
) -> Summary:
    from wizard.measure.latency import percentile

    now = now or now_utc()
    out = Summary(records=len(records), required_hours=float(required_hours), log=log)
    if not records:
        return out
    out.ok = sum(1 for r in records if r.ok)
    out.first_at, out.last_at = records[0].at, records[-1].at
    out.availability_pct = round(100.0 * out.ok / len(records), 3)
    latencies = [r.latency_ms for r in records if r.ok and r.latency_ms is not None]
    if latencies:
        out.p50_ms = round(statistics.median(latencies), 2)
        out.p95_ms = round(percentile(latencies, 95), 2)
    incident: dict[str, Any] | None = None
    clean_since: datetime | None = None
    previous: Record | None = None
    for record in records:
        if previous is not None and (record.at - previous.at).total_seconds() > _gap_limit(record):
            out.gaps.append({"start": _iso(previous.at), "end": _iso(record.at)})
            clean_since = None
        if record.ok:
            if incident is not None:
                incident["end"] = _iso(record.at)
                out.incidents.append(incident)
                incident = None
            if clean_since is None:
                clean_since = record.at
        else:
            clean_since = None
            if incident is None:
                incident = {
                    "start": _iso(record.at),
                    "end": None,
                    "failures": 0,
                    "error": record.error,
                }
            incident["failures"] += 1
        previous = record
    if incident is not None:
        out.incidents.append(incident)  # still going: end is None
    last = records[-1]
    out.stale = (now - last.at).total_seconds() > _gap_limit(last)
    if clean_since is not None and not out.stale:
        out.clean_since = clean_since
        out.clean_hours = (last.at - clean_since).total_seconds() / 3600
    return out


# -- the probe ----------------------------------------------------------------------------------


def probe_table(ctx: StepContext) -> tuple[str, str]:
    tables = list(ctx.config.fdw.tables)
    name = "dim_clientes" if "dim_clientes" in tables else (tables[0] if tables else "dim_clientes")
    return ctx.config.fdw.target_schema, name


def open_supabase(ctx: StepContext) -> Any:
    """A connection of the probe's own (not the context's cached one: a hung probe is
    abandoned with its connection)."""
    return ctx.open_supabase()


class Prober:
    """Runs health probes as ``authenticated`` on a connection of its own, each bounded by
    ``timeout_s`` on the client side: on PG15 a hung connect to the DW ignores
    statement_timeout and cancel, so a probe that overruns is abandoned (its worker thread
    and connection are left to die) and no new one starts while it hangs."""

    def __init__(
        self, ctx: StepContext, *, timeout_s: float = PROBE_TIMEOUT_S, role: str = "authenticated"
    ):
        self.ctx = ctx
        self.timeout_s = timeout_s
        self.role = role
        self._conn: Any = None
        self._hung: threading.Thread | None = None

    def _query(self, conn: Any) -> str:
        from wizard import sql_text

        return sql_text.render(conn, "validate/health_probe.sql", table=probe_table(self.ctx))

    def _run(self, box: dict[str, Any]) -> None:
        import psycopg

        from wizard.db import DbError
        from wizard.measure.latency import become

        try:
            if self._conn is None or self._conn.closed:
                self._conn = open_supabase(self.ctx)
            conn = self._conn
            query = self._query(conn)
            with conn.transaction(force_rollback=True):
                become(conn, self.role)
                started = time.perf_counter()
                conn.execute(query).fetchall()
                box["latency_ms"] = round((time.perf_counter() - started) * 1000, 3)
        except DbError as exc:
            box["error"] = exc.detail or exc.kind
        except psycopg.Error as exc:
            box["error"] = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            if self._conn is not None and self._conn.broken:
                self._conn = None

    def probe(self, *, interval_s: float | None = None, source: str = "check") -> Record:
        at = now_utc()
        if self._hung is not None and self._hung.is_alive():
            return Record(at, False, None, "previous probe still hanging", interval_s, source)
        box: dict[str, Any] = {}
        worker = threading.Thread(target=self._run, args=(box,), name="fdw-probe", daemon=True)
        worker.start()
        worker.join(self.timeout_s)
        if worker.is_alive():
            self._hung = worker
            conn, self._conn = self._conn, None
            if conn is not None:
                with contextlib.suppress(Exception):  # best effort: the connection is abandoned
                    conn.cancel()
            return Record(
                at, False, None, f"no answer within {self.timeout_s:g} s", interval_s, source
            )
        if "error" in box:
            return Record(at, False, None, str(box["error"]), interval_s, source)
        return Record(at, True, box.get("latency_ms"), None, interval_s, source)

    def close(self) -> None:
        if self._conn is not None and not self._conn.closed and self._hung is None:
            self._conn.close()
        self._conn = None


def monitor_gate(ctx: StepContext) -> tuple[bool, dict[str, Any]]:
    """The cleanup gate: (ok, summary) — ok when the health log shows an incident-free,
    still-running stretch of at least ``validation.monitor_window_hours``."""
    summary = summarize(
        HealthLog.for_config(ctx.config_path).records(),
        ctx.config.validation.monitor_window_hours,
        log=str(log_path(ctx.config_path)),
    )
    return summary.gate_ok, summary.to_json()


def parse_duration(text: str) -> float:
    """Seconds from '90', '90s', '15m', '48h', '2d' (for --interval / --duration)."""
    value = text.strip().lower()
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    factor = 1.0
    if value and value[-1] in units:
        factor = units[value[-1]]
        value = value[:-1]
    seconds = float(value) * factor
    if not seconds > 0 or seconds != seconds:
        raise ValueError(text)
    return seconds


def hours_text(hours: float) -> str:
    """'47 h 05 min': the same in both languages (timedelta would say '2 days, 0:00:00')."""
    minutes = max(0, round(hours * 60))
    return f"{minutes // 60} h {minutes % 60:02d} min"
