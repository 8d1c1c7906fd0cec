"""1a. The app's reads: direct to the DW vs through the FDW, (A) runbook vs (B) wizard setup.

    python bench/fdw_reads.py [--scale 1] [--repeat 5] [--rtt 10 30 80] [--cap 30]

At loopback and through the latency proxy at each round trip. Every cell: one warm-up, then
``--repeat`` runs interleaved across direct/A/B (so drift hits all three alike); median ms.
A read is ``COPY (query) TO STDOUT`` with every byte read by the client. "direct" is the same
read by a client connected to the DW as the read-only role, across the same simulated WAN.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from common import (
    RUNBOOK_VIEW,
    Capped,
    Sample,
    Site,
    arg_parser,
    machine_note,
    markdown_table,
    ratio,
    read_all,
    remote_sql,
    site,
)

VIEW_COLUMNS = (
    "codigo_cliente, razao_social, nome_fantasia, cpf_cnpj, email, telefone, cidade, estado,"
    " segmento, situacao, data_criacao, grupo_economico"
)


@dataclass(frozen=True)
class Read:
    label: str
    template: str  # {s}: schema of the tables

    def direct(self) -> str:
        return self.template.format(s="public")

    def runbook(self) -> str:
        return self.template.format(s="public")

    def wizard(self, schema: str) -> str:
        return self.template.format(s=schema)


READS = [
    Read("hook: `select * limit 10000` dim_clientes", "SELECT * FROM {s}.dim_clientes LIMIT 10000"),
    Read("`count(*)` dim_clientes", "SELECT count(*) FROM {s}.dim_clientes"),
    Read(
        "runbook join, limit 10",
        "SELECT c.razao_social, f.placa, f.modelo FROM {s}.dim_clientes c"
        " JOIN {s}.dim_frota f ON c.codigo_cliente = f.cliente_codigo LIMIT 10",
    ),
    Read(
        "dashboard: sum by `date_trunc('month')`",
        "SELECT date_trunc('month', data_emissao) AS mes, sum(valor_liquido)"
        " FROM {s}.fat_faturamentos GROUP BY 1 ORDER BY 1",
    ),
    Read(
        "dashboard by `competencia` (pushed-down form)",
        "SELECT competencia, sum(valor_liquido) FROM {s}.fat_faturamentos GROUP BY 1 ORDER BY 1",
    ),
]


class ViewRead(Read):
    """v_clientes_360: on the DW there is no clientes table, so "direct" reads the view's DW
    columns from dim_clientes (what the FDW side must at least fetch)."""

    def direct(self) -> str:
        return f"SELECT {VIEW_COLUMNS} FROM public.dim_clientes LIMIT 10000"

    def runbook(self) -> str:
        return f"SELECT * FROM public.{RUNBOOK_VIEW} LIMIT 10000"

    def wizard(self, schema: str) -> str:
        return "SELECT * FROM public.v_clientes_360 LIMIT 10000"


READS.append(ViewRead("`select * from v_clientes_360 limit 10000`", ""))

FROTA_JOIN = (
    "SELECT f.*, c.razao_social AS cliente_nome, c.cidade AS cliente_cidade"
    " FROM {s}.dim_frota f LEFT JOIN {s}.dim_clientes c ON f.cliente_codigo = c.codigo_cliente"
    " LIMIT 10000"
)


class FrotaRead(Read):
    """v_frota_360 (runbook 3.2): the runbook's view body over each setup's tables (the runbook
    setup has no v_frota_360 of its own); the wizard's is its view."""

    def wizard(self, schema: str) -> str:
        return "SELECT * FROM public.v_frota_360 LIMIT 10000"


class AggregateRead(Read):
    """The monthly dashboard: direct and A aggregate the invoices; B reads the DW-side
    aggregate that supabase.aggregates creates (one remote query of a few rows)."""

    def wizard(self, schema: str) -> str:
        return "SELECT mes, valor_liquido FROM public.v_faturamento_mensal ORDER BY mes"


READS.append(FrotaRead("`select * from v_frota_360 limit 10000`", FROTA_JOIN))
READS.append(
    AggregateRead(
        "dashboard `date_trunc('month')`, B via supabase.aggregates",
        "SELECT date_trunc('month', data_emissao)::date AS mes, sum(valor_liquido)"
        " FROM {s}.fat_faturamentos GROUP BY 1 ORDER BY 1",
    )
)


def measure_network(s: Site, rtt_ms: float, repeat: int, cap_s: float) -> list[list[Sample]]:
    port = s.route(rtt_ms)
    results: list[list[Sample]] = []
    with s.supabase() as supa, s.dw_direct(port) as direct:
        for read in READS:
            runs = [
                (direct, read.direct()),
                (supa, read.runbook()),
                (supa, read.wizard(s.wizard_schema)),
            ]
            samples = [Sample(cap_s=cap_s) for _ in runs]
            for sample, (conn, query) in zip(samples, runs, strict=True):  # warm-up
                try:
                    read_all(conn, query, cap_s)
                except Capped:
                    sample.capped = True
            for _ in range(repeat):
                for sample, (conn, query) in zip(samples, runs, strict=True):
                    if sample.capped:
                        continue
                    t0 = time.perf_counter()
                    try:
                        read_all(conn, query, cap_s)
                    except Capped:
                        sample.capped = True
                        continue
                    sample.runs.append(time.perf_counter() - t0)
            results.append(samples)
    return results


def verdicts(loopback: list[list[Sample]]) -> list[str]:
    lines = []
    for read, (direct, runbook, wizard) in zip(READS, loopback, strict=True):
        d, a, b = direct.median_ms, runbook.median_ms, wizard.median_ms
        if d is None or a is None or b is None:
            lines.append(f"- {read.label}: not measured")
            continue
        within = "met" if b <= 1.5 * d else "MISSED"
        never = "met" if b <= a else ("met within 5% noise" if b <= 1.05 * a else "MISSED")
        lines.append(
            f"- {read.label}: B/direct {b / d:.2f}x (target <= 1.5x: {within}); "
            f"B/A {b / a:.2f}x (never slower than the runbook: {never})"
        )
    return lines


def main() -> None:
    args = arg_parser(__doc__ or "", repeat=5, cap_s=30.0).parse_args()
    started = time.perf_counter()
    print(f"# 1a. FDW reads — {machine_note()}\n")
    with site(args.scale) as s:
        print(
            f"A = runbook (fetch_size 50000, no ANALYZE, tables in public); B = wizard "
            f"(fetch_size `auto`: {s.wizard_fetch_size} at loopback, "
            f"{', '.join(f'{s.auto_fetch_size(r)} at {r:g} ms' for r in args.rtt)}; ANALYZE; "
            f"tables in {s.wizard_schema}). Median of {args.repeat} runs after a warm-up, ms.\n"
        )
        loopback: list[list[Sample]] = []
        for rtt in [0.0, *args.rtt]:
            results = measure_network(s, rtt, args.repeat, args.cap)
            if rtt == 0:
                loopback = results
            title = "loopback (no proxy)" if rtt == 0 else f"{rtt:g} ms round trip (proxy)"
            rows = [
                [
                    read.label,
                    d.text(),
                    a.text(),
                    b.text(),
                    ratio(b, d),
                    ratio(b, a),
                    ratio(a, d),
                ]
                for read, (d, a, b) in zip(READS, results, strict=True)
            ]
            print(f"## {title}\n")
            header = ["read", "direct", "A runbook", "B wizard", "B/direct", "B/A", "A/direct"]
            print(markdown_table(header, rows) + "\n", flush=True)
        print("## Targets at loopback\n")
        print("\n".join(verdicts(loopback)) + "\n")
        s.route(0)
        print("## What postgres_fdw ships to the DW (EXPLAIN VERBOSE, Remote SQL)\n")
        rows = []
        with s.supabase() as supa:
            for read in READS:
                for name, query in (("A", read.runbook()), ("B", read.wizard(s.wizard_schema))):
                    shipped = " ; ".join(remote_sql(supa, query))
                    short = shipped if len(shipped) <= 110 else f"{shipped[:30]} … {shipped[-75:]}"
                    rows.append([read.label, name, f"`{short}`"])
        print(markdown_table(["read", "setup", "Remote SQL"], rows) + "\n")
    print(f"<!-- total {time.perf_counter() - started:.0f} s -->")


if __name__ == "__main__":
    main()
