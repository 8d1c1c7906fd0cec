"""Latency measurement of the app's reads through postgres_fdw, and what to do when one is slow.

A read is timed on the Supabase side as the app's role (``SET ROLE`` + the role's own settings,
as PostgREST does) with ``EXPLAIN (ANALYZE, VERBOSE, TIMING OFF, FORMAT JSON)``: the server's
planning + execution time, which is what the API spends (PostgREST runs next to the database),
without the wizard's own network leg to Supabase. The same plan shows what postgres_fdw sent to
the DW (Remote SQL) and how many rows crossed the wire — the evidence behind every remedy.

fetch_size (FIELD-GUIDE §5): every postgres_fdw query costs about five round trips even when
fully pushed down (START TRANSACTION, DECLARE CURSOR, FETCH, CLOSE, COMMIT), and every further
batch of ``fetch_size`` rows is one more round trip. See :func:`recommend_fetch_size`.
"""

from __future__ import annotations

import math
import re
import socket
import statistics
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from wizard.i18n import Message

HOOK_LIMIT = 10000  # runbook 4.1: supabase.from(table).select('*').limit(10000)
POSTGRES_FDW_DEFAULT_FETCH = 100  # postgres_fdw's own default when no fetch_size is set
FLOOR_ROUND_TRIPS = 5  # START TRANSACTION, DECLARE, FETCH, CLOSE, COMMIT
FETCH_BUDGET_BYTES = 8 * 1024 * 1024  # one batch on a small Supabase instance (1 GB RAM)
ROW_OVERHEAD_BYTES = 24  # per-row cost beyond the column widths (tuple header, libpq)
FETCH_MIN, FETCH_MAX = 1000, 50000
LAN_RTT_MS = 2.0  # below this a round trip costs nothing worth a bigger batch

DATE_TYPES = ("date", "timestamp")
AMOUNT_TYPES = ("numeric", "money", "double precision", "real")
AMOUNT_HINTS = ("valor", "amount", "total", "preco", "price")


# -- statistics ---------------------------------------------------------------------------------


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (p95 of 5 samples is the largest: no invented precision)."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def summarize(samples: Sequence[float]) -> dict[str, float | int | None]:
    """{n, p50_ms, p95_ms, max_ms} of millisecond samples (None when there are none)."""
    if not samples:
        return {"n": 0, "p50_ms": None, "p95_ms": None, "max_ms": None}
    return {
        "n": len(samples),
        "p50_ms": round(statistics.median(samples), 2),
        "p95_ms": round(percentile(samples, 95), 2),
        "max_ms": round(max(samples), 2),
    }


# -- the network --------------------------------------------------------------------------------


def tcp_rtt_ms(
    host: str, port: int, *, attempts: int = 5, timeout_s: float = 3.0
) -> tuple[float | None, str | None]:
    """Median TCP connect time to host:port (one SYN/SYN-ACK: one round trip), or the error.

    Connects and closes at once; sends no data (the DW sees a connection that sends no
    startup packet and ends)."""
    times: list[float] = []
    error: str | None = None
    for _ in range(max(1, attempts)):
        started = time.perf_counter()
        try:
            with socket.create_connection((host, port), timeout=timeout_s):
                times.append((time.perf_counter() - started) * 1000)
        except OSError as exc:
            error = f"{type(exc).__name__}: {exc}"
    if not times:
        return None, error
    return round(statistics.median(times), 3), None


# -- fetch_size ---------------------------------------------------------------------------------


def recommend_fetch_size(
    rtt_ms: float, row_width_bytes: int, rows_per_read: int = HOOK_LIMIT
) -> int:
    """Rows per FETCH for a postgres_fdw server, from the round trip and the row width.

    Reasoning (FIELD-GUIDE §5): a read of R rows with fetch_size F costs
    ``5 + floor(R / F)`` round trips (the floor of five, plus one FETCH per further batch,
    the last one coming back short), and each batch is held in memory on Supabase:
    ``F * (width + 24)`` bytes. So:

    - the batch budget caps it: ``budget = 8 MiB // (row_width + 24)`` (a small instance
      serving several API requests at once);
    - on a LAN (rtt < 2 ms) a round trip costs nothing: ``rows_per_read + 1`` rows, so that
      the app's read (10,000 rows) is one FETCH and no trailing empty one;
    - over a WAN every round trip counts (at 30 ms, fetch 100 turned a 10,000-row read into
      3.4 s): take the whole budget, so whole-table reads and un-pushed aggregates need as
      few batches as memory allows;
    - ``F = clamp(wanted, 1000, min(50000, max(1000, budget)))``.

    Measured at 30 ms (dim_clientes, ~200-byte rows): fetch 1000 → 551 ms, 10000 → 270 ms,
    50000 → 230 ms for the 10,000-row read; this picks ~40,000 there.
    """
    width = max(1, int(row_width_bytes)) + ROW_OVERHEAD_BYTES
    budget = FETCH_BUDGET_BYTES // width
    wanted = rows_per_read + 1 if rtt_ms < LAN_RTT_MS else budget
    upper = min(FETCH_MAX, max(FETCH_MIN, budget))
    return int(max(FETCH_MIN, min(upper, wanted)))


FETCH_HYSTERESIS = 0.25  # a new recommendation this close to the server's value keeps it


def settled_fetch_size(
    current: int | None,
    rtt_ms: float,
    row_width_bytes: int,
    rows_per_read: int = HOOK_LIMIT,
    *,
    tolerance: float = FETCH_HYSTERESIS,
) -> int:
    """:func:`recommend_fetch_size` with hysteresis, for ``fetch_size: auto``: a noisy round
    trip or a slightly wider row must not make the server "differ" on every run.

    - The LAN/WAN switch (at LAN_RTT_MS) gets a band: a server on the LAN value moves to the WAN
      one only once the RTT reaches twice the threshold, and back only below half of it (a
      1.9 / 2.1 ms jitter would otherwise flip 10,001 <-> ~40,000 rows on every run).
    - Within a regime the value is kept while the new one is within ``tolerance`` of it.
    ``current`` is the server's value (None: not set yet, the plain recommendation)."""
    fresh = recommend_fetch_size(rtt_ms, row_width_bytes, rows_per_read)
    if current is None or current <= 0:
        return fresh
    lan = recommend_fetch_size(0.0, row_width_bytes, rows_per_read)
    wan = recommend_fetch_size(LAN_RTT_MS * 10, row_width_bytes, rows_per_read)
    on_lan = abs(current - lan) <= abs(current - wan)
    if on_lan and rtt_ms < LAN_RTT_MS * 2:
        fresh = lan
    elif not on_lan and rtt_ms >= LAN_RTT_MS / 2:
        fresh = wan
    if abs(fresh - current) <= tolerance * current:
        return int(current)
    return fresh


def round_trips(scan_rows: Iterable[int], fetch_size: int) -> int:
    """Round trips of one FDW query: START/COMMIT, and per foreign scan DECLARE, one FETCH per
    batch (the last one short: ``rows // fetch + 1``) and CLOSE."""
    fetch = max(1, fetch_size)
    return 2 + sum(2 + rows // fetch + 1 for rows in scan_rows)


# -- the reads ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Read:
    """One read the app does on one relation."""

    relation: tuple[str, str]  # schema, name
    kind: str  # "table" | "view" | "aggregate" (a DW-side aggregate, supabase.aggregates)
    read: str  # "limit" | "count" | "aggregate"
    template: str
    params: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @property
    def name(self) -> str:
        return f"{self.relation[0]}.{self.relation[1]}"

    def sql(self, conn: Any) -> str:
        from wizard import sql_text

        return sql_text.render(conn, self.template, table=self.relation, **self.params).strip()


def aggregate_columns(columns: dict[str, str]) -> tuple[str, str] | None:
    """(date column, amount column) for a monthly-total dashboard read, or None."""
    dates = [c for c, t in columns.items() if t.lower().startswith(DATE_TYPES)]
    amounts = [c for c, t in columns.items() if t.lower().startswith(AMOUNT_TYPES)]
    if not dates or not amounts:
        return None
    hinted = [c for c in amounts if any(h in c.lower() for h in AMOUNT_HINTS)]
    return dates[0], (hinted or amounts)[0]


def reads_for(schema: str, name: str, kind: str, columns: dict[str, str]) -> list[Read]:
    from psycopg import sql

    rel = (schema, name)
    reads = [
        Read(rel, kind, "limit", "validate/read_limit.sql", {"limit": HOOK_LIMIT}),
        Read(rel, kind, "count", "validate/read_count.sql"),
    ]
    pair = aggregate_columns(columns)
    if pair is not None:
        reads.append(
            Read(
                rel,
                kind,
                "aggregate",
                "validate/read_aggregate.sql",
                {"date_column": sql.Identifier(pair[0]), "amount_column": sql.Identifier(pair[1])},
            )
        )
    return reads


# -- one measured read ----------------------------------------------------------------------------


@dataclass
class Scan:
    """A node of the plan that reads a relation: a foreign scan or a local one."""

    relation: str
    foreign: bool
    rows: int
    width: int
    remote_sql: str = ""
    relations: str = ""  # "Aggregate on (...)" / "(a) INNER JOIN (b)" when pushed down


@dataclass
class Measured:
    read: Read
    sql: str
    server_ms: list[float] = field(default_factory=list)
    wall_ms: list[float] = field(default_factory=list)
    rows: int = 0
    scans: list[Scan] = field(default_factory=list)
    error: str | None = None
    sqlstate: str | None = None
    plan: dict[str, Any] | None = None  # the warm-up's top plan node (EXPLAIN JSON "Plan")

    @property
    def foreign_scans(self) -> list[Scan]:
        return [s for s in self.scans if s.foreign]

    @property
    def remote_sql(self) -> list[str]:
        return [s.remote_sql for s in self.foreign_scans if s.remote_sql]


def plan_scans(node: dict[str, Any]) -> list[Scan]:
    """Every scan node of an EXPLAIN (FORMAT JSON) plan, depth first."""
    found: list[Scan] = []
    kind = str(node.get("Node Type", ""))
    if kind == "Foreign Scan":
        found.append(
            Scan(
                relation=f"{node.get('Schema', '')}.{node.get('Relation Name', '')}".strip("."),
                foreign=True,
                rows=int(node.get("Actual Rows", node.get("Plan Rows", 0)) or 0)
                * int(node.get("Actual Loops", 1) or 1),
                width=int(node.get("Plan Width", 0) or 0),
                remote_sql=str(node.get("Remote SQL", "")),
                relations=str(node.get("Relations", "")),
            )
        )
    elif kind.endswith("Scan") and node.get("Relation Name"):
        found.append(
            Scan(
                relation=f"{node.get('Schema', '')}.{node['Relation Name']}".strip("."),
                foreign=False,
                rows=int(node.get("Actual Rows", 0) or 0),
                width=int(node.get("Plan Width", 0) or 0),
            )
        )
    for child in node.get("Plans", []) or []:
        found.extend(plan_scans(child))
    return found


def _explain(conn: Any, query: str) -> tuple[dict[str, Any], float, float]:
    started = time.perf_counter()
    row = conn.execute(
        "EXPLAIN (ANALYZE, VERBOSE, TIMING OFF, SUMMARY ON, FORMAT JSON) " + query
    ).fetchone()
    wall = (time.perf_counter() - started) * 1000
    document = row[0]
    if isinstance(document, str):  # text[] / json depending on the adapter
        import json

        document = json.loads(document)
    top = document[0]
    server = float(top.get("Planning Time", 0.0)) + float(top.get("Execution Time", 0.0))
    return top, server, wall


def become(conn: Any, role: str) -> None:
    """SET LOCAL ROLE plus the role's own settings (statement_timeout...), as PostgREST does;
    inside the caller's transaction."""
    from psycopg import sql

    settings = conn.execute("SELECT rolconfig FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
    conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(role)))
    for entry in settings[0] if settings and settings[0] else []:
        name, _, value = str(entry).partition("=")
        conn.execute("SELECT set_config(%s, %s, true)", (name, value))


def measure(conn: Any, role: str, read: Read, samples: int) -> Measured:
    """One warm-up run (its plan is the evidence) and ``samples`` timed runs, as ``role``."""
    import psycopg

    result = Measured(read, read.sql(conn))
    try:
        with conn.transaction(force_rollback=True):
            become(conn, role)
            plan, _server, _wall = _explain(conn, result.sql)
            result.rows = int(plan["Plan"].get("Actual Rows", 0) or 0)
            result.scans = plan_scans(plan["Plan"])
            result.plan = plan["Plan"]
            for _ in range(max(1, samples)):
                _plan, server, wall = _explain(conn, result.sql)
                result.server_ms.append(round(server, 3))
                result.wall_ms.append(round(wall, 3))
    except psycopg.Error as exc:
        result.error = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        result.sqlstate = getattr(exc, "sqlstate", None)
    return result


def cold_connect_ms(conn: Any, role: str, relation: tuple[str, str]) -> float | None:
    """Time of a first FDW query after dropping the cached DW connections: the login to the DW
    (TCP, TLS, SCRAM) that each new API connection pays once."""
    import psycopg

    from wizard import sql_text

    query = sql_text.render(conn, "validate/health_probe.sql", table=relation)
    try:
        with conn.transaction(force_rollback=True):
            conn.execute("SELECT postgres_fdw_disconnect_all()")
            become(conn, role)
            started = time.perf_counter()
            conn.execute(query).fetchall()
            return round((time.perf_counter() - started) * 1000, 3)
    except psycopg.Error:
        return None


# -- pushdown and remedies ------------------------------------------------------------------------

_WHERE = re.compile(r"\bWHERE\b", re.IGNORECASE)
_LIMIT = re.compile(r"\bLIMIT\b", re.IGNORECASE)


def pushdown(
    m: Measured, table_rows: float | None = None, *, local_foreign_join: bool | None = None
) -> dict[str, str | None]:
    """Flags read from the plan: what the DW computed and what crossed the wire to Supabase.

    limit: pushed | not_needed (fewer rows than the limit exist) | not_pushed
    aggregate: pushed | not_pushed (count and aggregate reads)
    join: for reads over several relations: pushed | local (joined on Supabase although
    postgres_fdw could ship it: foreign tables of one server, ``local_foreign_join``) |
    local_table (joins a Supabase table or another server's: it cannot be shipped). Without
    ``local_foreign_join`` (None) every local join is "local".
    """
    flags: dict[str, str | None] = {"limit": None, "aggregate": None, "join": None}
    foreign = m.foreign_scans
    if m.read.read == "limit":
        if any(_LIMIT.search(s.remote_sql) for s in foreign):
            flags["limit"] = "pushed"
        elif max((s.rows for s in foreign), default=0) < int(
            m.read.params.get("limit", HOOK_LIMIT)
        ) or (
            table_rows is not None
            and 0 <= table_rows <= int(m.read.params.get("limit", HOOK_LIMIT))
        ):
            # The Limit node stops pulling at the limit: fewer rows means the table ran out; a
            # table (per its statistics) no bigger than the limit crosses whole either way.
            flags["limit"] = "not_needed"
        else:
            flags["limit"] = "not_pushed"
    if m.read.read in ("count", "aggregate"):
        pushed = any(s.relations.startswith("Aggregate on") for s in foreign)
        flags["aggregate"] = "pushed" if pushed else "not_pushed"
    if len(m.scans) > 1:
        flags["join"] = "local" if local_foreign_join in (None, True) else "local_table"
    elif foreign and " JOIN " in foreign[0].relations.upper():
        flags["join"] = "pushed"
    return flags


def dw_seq_scans(local_conn: Any, remote_sql: str) -> list[str]:
    """Tables the DW reads whole (Seq Scan with a Filter) to answer ``remote_sql``."""
    if "$" in remote_sql or not _WHERE.search(remote_sql):
        return []  # parameterized (a nested loop) or nothing to filter
    rows = local_conn.execute("EXPLAIN (FORMAT JSON) " + remote_sql).fetchone()[0]
    found: list[str] = []

    def walk(node: dict[str, Any]) -> None:
        if node.get("Node Type") == "Seq Scan" and node.get("Filter"):
            found.append(f"{node.get('Relation Name')} ({node.get('Filter')})")
        for child in node.get("Plans", []) or []:
            walk(child)

    walk(rows[0]["Plan"])
    return found


def findings(m: Measured, flags: dict[str, str | None]) -> list[Message]:
    """What the plan shows, slow or not (explanations, with the Remote SQL as evidence)."""
    out: list[Message] = []
    sent = "; ".join(m.remote_sql) or "-"
    if m.read.read == "aggregate" and flags["aggregate"] == "not_pushed":
        if "date_trunc" in m.sql and flags["join"] is None:
            out.append(Message("validate.finding.date_trunc", {"sql": sent}))
        else:
            out.append(Message("validate.finding.aggregate_local", {"sql": sent}))
    if flags["limit"] == "not_pushed":
        key = "validate.finding.limit_join" if flags["join"] else "validate.finding.limit_local"
        out.append(Message(key, {"rows": sum(s.rows for s in m.foreign_scans), "sql": sent}))
    if flags["join"] in ("local", "local_table") and m.read.kind == "view":
        local = [s.relation for s in m.scans if not s.foreign]
        out.append(
            Message(
                "validate.finding.join_local",
                {"local": ", ".join(local) or "-", "foreign": len(m.foreign_scans)},
            )
        )
    return out


def remedies(
    m: Measured,
    flags: dict[str, str | None],
    *,
    target_ms: float,
    rtt_ms: float | None,
    fetch_size: int,
    seq_scans: Sequence[str] = (),
) -> list[Message]:
    """What would bring a slow read under the target; each names the step or config key."""
    out: list[Message] = []
    rtt = rtt_ms or 0.0
    trips = round_trips((s.rows for s in m.foreign_scans), fetch_size)
    if rtt * FLOOR_ROUND_TRIPS >= target_ms:
        out.append(
            Message(
                "validate.remedy.network",
                {
                    "rtt": round(rtt, 1),
                    "floor": round(rtt * FLOOR_ROUND_TRIPS),
                    "target": target_ms,
                },
            )
        )
    if flags["limit"] == "not_pushed" and not flags["join"]:
        out.append(Message("validate.remedy.analyze", {"relation": m.read.name}))
    if flags["aggregate"] == "not_pushed" and not flags["join"]:
        out.append(Message("validate.remedy.dw_aggregate", {"relation": m.read.name}))
    if flags["join"] in ("local", "local_table"):
        out.append(Message("validate.remedy.materialize", {"relation": m.read.name}))
    extra = trips - (2 + 3 * len(m.foreign_scans))
    if extra > 0:
        width = max((s.width for s in m.foreign_scans), default=200)
        out.append(
            Message(
                "validate.remedy.fetch_size",
                {
                    "trips": trips,
                    "fetch": fetch_size,
                    "recommended": recommend_fetch_size(rtt, width),
                },
            )
        )
    for scan in seq_scans:
        out.append(Message("validate.remedy.index", {"scan": scan}))
    if not out:
        out.append(Message("validate.remedy.cache", {"relation": m.read.name}))
    return out
