"""Shared scaffolding of the benchmarks: a private test bed with both setups side by side.

* (A) the runbook's literal setup, built by hand as the runbook's SQL does it: a server
  ``runbook_dw_server`` with ``fetch_size '50000'`` and no ``connect_timeout``, user mappings for
  postgres/authenticated/anon, the 18 tables imported INTO public, never ANALYZEd, and the
  runbook's ``v_clientes_360`` (named ``v_clientes_360_runbook`` so both can coexist).
* (B) the wizard's setup: Phases 1-3 applied by the engine (``open_session`` + ``Runner.apply``),
  foreign tables in ``bi``, ANALYZEd, the server options the wizard chose.

Both servers reach the same DW (the wizard's read-only role); a :class:`LatencyProxy` between
Supabase and the DW simulates the WAN round trip. Everything listens on and talks to loopback.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import sys
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/x.py` from a checkout
    sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from psycopg import sql  # noqa: E402

from wizard.runbook import RUNBOOK_FETCH_SIZE, RUNBOOK_READER_ROLE, RUNBOOK_TABLES  # noqa: E402
from wizard.testbed.bed import TestBed, impersonate, start_testbed, traversable_tempdir  # noqa: E402
from wizard.testbed.latency_proxy import LatencyProxy  # noqa: E402

RUNBOOK_SERVER = "runbook_dw_server"
RUNBOOK_VIEW = "v_clientes_360_runbook"
WIZARD_PHASES = ["prereq", "local", "supabase", "views"]
DEFAULT_SCALE = 1.0  # 40k dim_clientes, 100k fat_faturamentos: the field guide's figures
DEFAULT_RTTS = (10.0, 30.0, 80.0)

Conn = psycopg.Connection[Any]


# -- command line ---------------------------------------------------------------------------


def arg_parser(description: str, *, repeat: int, cap_s: float) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--scale", type=float, default=DEFAULT_SCALE, help="test bed scale")
    parser.add_argument("--repeat", type=int, default=repeat, help="measured runs per cell")
    parser.add_argument(
        "--rtt",
        type=float,
        nargs="*",
        default=list(DEFAULT_RTTS),
        help="simulated round trips in ms (loopback is always measured too)",
    )
    parser.add_argument(
        "--cap", type=float, default=cap_s, help="seconds after which one run is cut off"
    )
    return parser


# -- measuring ------------------------------------------------------------------------------


@dataclass
class Sample:
    """Median of the runs of one cell, or a cut-off (``capped``) after ``cap_s``."""

    runs: list[float] = field(default_factory=list)  # seconds
    capped: bool = False
    cap_s: float = 0.0
    error: str = ""

    @property
    def median_ms(self) -> float | None:
        if self.capped or self.error or not self.runs:
            return None
        return statistics.median(self.runs) * 1000

    def text(self) -> str:
        if self.error:
            return f"error: {self.error[:40]}"
        if self.capped:
            return f"> {self.cap_s:g} s"
        ms = self.median_ms
        assert ms is not None
        return f"{ms:,.0f}" if ms >= 10 else f"{ms:.1f}"


class Capped(Exception):
    """A run hit the cap."""


def measure(
    run: Callable[[], object],
    repeat: int,
    *,
    cap_s: float,
    warmup: int = 1,
    budget_s: float | None = None,
) -> Sample:
    """Warm-up runs, then up to ``repeat`` timed runs (fewer once ``budget_s`` is spent; at
    least one). ``run`` raises :class:`Capped` when the cap cut it off."""
    sample = Sample(cap_s=cap_s)
    started = time.perf_counter()
    try:
        for _ in range(warmup):
            run()
        for _ in range(repeat):
            t0 = time.perf_counter()
            run()
            sample.runs.append(time.perf_counter() - t0)
            if budget_s is not None and time.perf_counter() - started > budget_s:
                break
    except Capped:
        sample.capped = True
    except psycopg.Error as exc:
        sample.error = str(exc).strip().splitlines()[0]
    return sample


def ratio(num: Sample, den: Sample) -> str:
    a, b = num.median_ms, den.median_ms
    if num.capped and b is not None:
        return f"> {num.cap_s * 1000 / b:.1f}x"
    if a is None or b is None or b == 0:
        return "-"
    return f"{a / b:.2f}x"


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


# connection -> statement_timeout already set there
_CAPPED: weakref.WeakKeyDictionary[Conn, float] = weakref.WeakKeyDictionary()


def read_all(conn: Conn, query: str, cap_s: float) -> int:
    """Run ``query`` as ``COPY (query) TO STDOUT`` and read every byte (so client-side row
    parsing does not dilute the comparison); :class:`Capped` after ``cap_s``. The cap is set
    once per connection: a SET per read would add a round trip to the direct reads."""
    if _CAPPED.get(conn) != cap_s:
        conn.execute(sql.SQL("SET statement_timeout = {}").format(sql.Literal(int(cap_s * 1000))))
        _CAPPED[conn] = cap_s
    total = 0
    try:
        with conn.cursor() as cur:
            copy_sql = sql.SQL("COPY ({}) TO STDOUT").format(sql.SQL(query))
            with cur.copy(copy_sql) as copy:
                for chunk in copy:
                    total += len(chunk)
    except psycopg.errors.QueryCanceled as exc:
        raise Capped from exc
    return total


def machine_note() -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"machine: {os.cpu_count()} cores, load average {load:.2f} at start; "
        f"python {sys.version.split()[0]}"
    )


# -- the test bed ---------------------------------------------------------------------------


@dataclass
class Site:
    """A private test bed with (B) the wizard's setup and (A) the runbook's, side by side."""

    bed: TestBed
    folder: Path
    config: Any  # wizard.config.Config
    wizard_options: dict[str, str]
    report: Any  # the RunReport of the wizard's Phase 1-3 apply
    proxy: LatencyProxy | None = None
    has_runbook: bool = False

    @property
    def wizard_server(self) -> str:
        return str(self.config.fdw.server_name)

    @property
    def wizard_schema(self) -> str:
        return str(self.config.fdw.target_schema)

    @property
    def wizard_fetch_size(self) -> int:
        return int(self.wizard_options["fetch_size"])

    def supabase(self, role: str | None = None) -> Conn:
        """Supabase as its non-superuser ``postgres`` (the SQL Editor's user), optionally
        impersonating an API role the way PostgREST does."""
        conn = self.bed.supabase.connect(user="postgres", application_name="fdw-bench")
        if role is not None:
            impersonate(conn, role)
        return conn

    def dw_direct(self, port: int | None = None) -> Conn:
        """The DW as the read-only role, directly (or through the proxy's ``port``)."""
        user, password = reader_credentials(self)
        info = self.bed.dw.cluster.conninfo(user, password, self.bed.dw.dbname)
        info["port"] = port or self.bed.dw.port
        info["application_name"] = "fdw-bench-direct"
        return psycopg.connect(autocommit=True, **info)

    def point_servers(self, port: int, servers: Sequence[str] | None = None) -> None:
        """Make the FDW servers connect to ``port`` (the DW, the proxy, a blackhole...)."""
        with self.supabase() as conn:
            default = [RUNBOOK_SERVER] if self.has_runbook else []
            for name in servers or [*default, self.wizard_server]:
                conn.execute(
                    sql.SQL("ALTER SERVER {} OPTIONS (SET port {})").format(
                        sql.Identifier(name), sql.Literal(str(port))
                    )
                )

    @property
    def wizard_table_fetch_sizes(self) -> dict[str, int | None]:
        """Per-table fetch_size the wizard's views step sets (tables joined with local ones)."""
        from wizard.steps.views import LOCAL_JOIN_FETCH_SIZE, Clientes360

        return dict.fromkeys(Clientes360.locally_joined, LOCAL_JOIN_FETCH_SIZE)

    def set_table_fetch_sizes(self, sizes: dict[str, int | None]) -> None:
        """Set (or, with None, drop) the fetch_size option of the wizard's foreign tables."""
        with self.supabase() as conn:
            for table, value in sizes.items():
                options = conn.execute(
                    "SELECT ft.ftoptions FROM pg_foreign_table ft JOIN pg_class c"
                    " ON c.oid = ft.ftrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
                    " WHERE n.nspname = %s AND c.relname = %s",
                    (self.wizard_schema, table),
                ).fetchone()
                has = (
                    any(o.startswith("fetch_size=") for o in (options[0] or []))
                    if options
                    else False
                )
                target = sql.SQL("{}.{}").format(
                    sql.Identifier(self.wizard_schema), sql.Identifier(table)
                )
                if value is None and has:
                    conn.execute(
                        sql.SQL("ALTER FOREIGN TABLE {} OPTIONS (DROP fetch_size)").format(target)
                    )
                elif value is not None:
                    verb = sql.SQL("SET" if has else "ADD")
                    conn.execute(
                        sql.SQL("ALTER FOREIGN TABLE {} OPTIONS ({} fetch_size {})").format(
                            target, verb, sql.Literal(str(value))
                        )
                    )

    def set_fetch_size(self, server: str, fetch_size: int) -> None:
        with self.supabase() as conn:
            conn.execute(
                sql.SQL("ALTER SERVER {} OPTIONS (SET fetch_size {})").format(
                    sql.Identifier(server), sql.Literal(str(fetch_size))
                )
            )

    def auto_fetch_size(self, rtt_ms: float) -> int:
        """The server fetch_size ``fetch_size: auto`` settles on once the wizard has measured
        ``rtt_ms`` (its setup ran at loopback; a site on a WAN measures its own round trip):
        ``wizard.measure.latency.settled_fetch_size`` from the setup's value and the DW's
        widest row."""
        from wizard.measure.latency import settled_fetch_size

        with self.bed.dw.connect() as dw:
            row = dw.execute(
                "SELECT max(w) FROM (SELECT sum(avg_width) AS w FROM pg_stats"
                " WHERE schemaname = 'public' AND tablename = ANY(%s) GROUP BY tablename) t",
                (list(self.config.fdw.tables),),
            ).fetchone()
        width = int(row[0] or 0) if row else 0
        return settled_fetch_size(self.wizard_fetch_size, rtt_ms, width or 200)

    def route(self, rtt_ms: float) -> int:
        """Route every FDW server and direct connection at ``rtt_ms`` (0: straight to the DW),
        with the wizard's server at the fetch_size its ``auto`` picks for that round trip.
        Returns the port a direct client should use."""
        self.set_fetch_size(self.wizard_server, self.auto_fetch_size(rtt_ms))
        if rtt_ms <= 0:
            self.point_servers(self.bed.dw.port)
            return self.bed.dw.port
        if self.proxy is None:
            self.proxy = LatencyProxy("127.0.0.1", self.bed.dw.port, rtt_ms)
            self.proxy.start()
        self.proxy.rtt_ms = rtt_ms
        assert self.proxy.port is not None
        self.point_servers(self.proxy.port)
        return self.proxy.port

    def close(self) -> None:
        if self.proxy is not None:
            self.proxy.stop()
            self.proxy = None


def reader_credentials(site: Site) -> tuple[str, str]:
    """The read-only role's login, as the wizard stored it in its user mapping."""
    with site.bed.supabase.connect() as admin:  # supabase_admin sees umoptions
        row = admin.execute(
            "SELECT umoptions FROM pg_user_mappings WHERE srvname = %s AND usename = 'postgres'",
            (site.wizard_server,),
        ).fetchone()
    options = dict(item.split("=", 1) for item in (row[0] if row else []) or [])
    return options.get("user", RUNBOOK_READER_ROLE), options["password"]


def _apply_wizard(bed: TestBed, folder: Path) -> tuple[Any, Any]:
    from wizard.session import open_session
    from wizard.testbed.sandbox import sandbox_config

    cluster = bed.dw.cluster
    config = sandbox_config(
        bed.dw.port, bed.supabase.port, cluster.data_dir, cluster.bins.bin_dir, cluster.owner
    )
    ctx, runner = open_session(config, folder / "fdw-wizard.yaml")
    try:
        report = runner.apply(WIZARD_PHASES, confirm=lambda step, plan: True)
    finally:
        ctx.close()
    return config, report


def _apply_runbook(site: Site) -> None:
    """The runbook's Phase 2 and 3.1 SQL, literally (server name and view name aside)."""
    user, password = reader_credentials(site)
    server = sql.Identifier(RUNBOOK_SERVER)
    with site.supabase() as conn:
        conn.execute(
            sql.SQL(
                "CREATE SERVER {} FOREIGN DATA WRAPPER postgres_fdw OPTIONS "
                "(host '127.0.0.1', port {}, dbname {}, fetch_size {})"
            ).format(
                server,
                sql.Literal(str(site.bed.dw.port)),
                sql.Literal(site.bed.dw.dbname),
                sql.Literal(str(RUNBOOK_FETCH_SIZE)),
            )
        )
        for role in ("postgres", "authenticated", "anon"):
            conn.execute(
                sql.SQL(
                    "CREATE USER MAPPING FOR {} SERVER {} OPTIONS (user {}, password {})"
                ).format(sql.Identifier(role), server, sql.Literal(user), sql.Literal(password))
            )
        conn.execute(
            sql.SQL("IMPORT FOREIGN SCHEMA public LIMIT TO ({}) FROM SERVER {} INTO public").format(
                sql.SQL(", ").join(sql.Identifier(t) for t in RUNBOOK_TABLES), server
            )
        )
        conn.execute(
            sql.SQL(
                "CREATE VIEW public.{} AS SELECT c.id AS supabase_id, c.stage_id,"
                " c.ultimo_atendente_id, c.ultimo_atendimento_at, c.status_triagem,"
                " c.descartado_em, c.descartado_motivo, bi.codigo_cliente, bi.razao_social,"
                " bi.nome_fantasia, bi.cpf_cnpj, bi.email, bi.telefone, bi.cidade, bi.estado,"
                " bi.segmento, bi.situacao, bi.data_criacao, bi.grupo_economico"
                " FROM public.dim_clientes bi"
                " LEFT JOIN public.clientes c ON c.codigo_cliente = bi.codigo_cliente::text"
            ).format(sql.Identifier(RUNBOOK_VIEW))
        )
        for role in ("authenticated", "anon"):
            conn.execute(
                sql.SQL("GRANT SELECT ON public.{} TO {}").format(
                    sql.Identifier(RUNBOOK_VIEW), sql.Identifier(role)
                )
            )


@contextlib.contextmanager
def site(scale: float, *, runbook: bool = True) -> Iterator[Site]:
    """Start a private test bed, apply the wizard's Phases 1-3 and the runbook's literal
    setup; tear everything down afterwards (also on Ctrl-C)."""
    base = traversable_tempdir("fdw-wizard-bench-")
    saved = {k: os.environ.get(k) for k in _ENV_KEYS}
    bed: TestBed | None = None
    built: Site | None = None
    try:
        t0 = time.perf_counter()
        bed = start_testbed(base / "bed", scale=scale)
        os.environ["FDW_WIZARD_DATA_DIR"] = str(base / "data")
        os.environ["FDW_WIZARD_SECRET_LOCAL_SUPERUSER"] = bed.passwords["dw-superuser"]
        os.environ["FDW_WIZARD_SECRET_SUPABASE_DB"] = bed.passwords["supabase-postgres"]
        t1 = time.perf_counter()
        config, report = _apply_wizard(bed, base)
        if report.exit_code != 0:
            failed = [
                (o.step_id, o.message.render("en"))
                for o in report.outcomes
                if o.status.value not in ("done", "n/a")
            ]
            raise RuntimeError(f"the wizard's Phase 1-3 apply did not finish: {failed}")
        t2 = time.perf_counter()
        with bed.supabase.connect() as admin:
            opts = admin.execute(
                "SELECT srvoptions FROM pg_foreign_server WHERE srvname = %s",
                (config.fdw.server_name,),
            ).fetchone()
        wizard_options = dict(item.split("=", 1) for item in (opts[0] if opts else []))
        built = Site(bed, base, config, wizard_options, report)
        if runbook:
            _apply_runbook(built)
            built.has_runbook = True
        print(
            f"<!-- test bed scale {scale:g}: built in {t1 - t0:.1f} s; wizard Phases 1-3 "
            f"applied in {t2 - t1:.1f} s; runbook setup {time.perf_counter() - t2:.1f} s -->",
            flush=True,
        )
        yield built
    finally:
        if built is not None:
            built.close()
        if bed is not None:
            with contextlib.suppress(Exception):
                bed.stop(remove=True)
        shutil.rmtree(base, ignore_errors=True)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


_ENV_KEYS = (
    "FDW_WIZARD_DATA_DIR",
    "FDW_WIZARD_SECRET_LOCAL_SUPERUSER",
    "FDW_WIZARD_SECRET_SUPABASE_DB",
)


def remote_sql(conn: Conn, query: str) -> list[str]:
    """The ``Remote SQL`` lines of EXPLAIN VERBOSE: what postgres_fdw ships to the DW."""
    rows = conn.execute(sql.SQL("EXPLAIN VERBOSE {}").format(sql.SQL(query))).fetchall()
    return [str(r[0]).split("Remote SQL:", 1)[1].strip() for r in rows if "Remote SQL:" in r[0]]
