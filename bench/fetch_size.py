"""1b. fetch_size sweep at each simulated round trip, and where the wizard's choice lands.

    python bench/fetch_size.py [--scale 1] [--repeat 3] [--rtt 10 30 80] [--cap 10]

The wizard's setup (B: ANALYZEd foreign tables in bi) with its server's fetch_size set to each
candidate in turn, plus the value the wizard chose itself. Reads whose cost depends on the batch
size: the hook's LIMIT 10000 (LIMIT pushed down: 10,000 rows cross), the dashboard aggregate
(date_trunc is not pushed down: the whole fat_faturamentos crosses) and v_clientes_360 LIMIT
10000 (the LIMIT sits above a local join: rows cross batch by batch until 10,000 came out).
A cell stops repeating once ``--cap`` seconds were spent on it; a run cut off at ``--cap`` shows
"> cap".
"""

from __future__ import annotations

import time

from common import (
    Sample,
    Site,
    arg_parser,
    machine_note,
    markdown_table,
    measure,
    read_all,
    site,
)

CANDIDATES = (100, 1000, 5000, 10000, 20000, 50000)
READS = (
    ("hook `limit 10000`", "SELECT * FROM {s}.dim_clientes LIMIT 10000"),
    (
        "dashboard `date_trunc`",
        "SELECT date_trunc('month', data_emissao) AS mes, sum(valor_liquido)"
        " FROM {s}.fat_faturamentos GROUP BY 1 ORDER BY 1",
    ),
    ("`v_clientes_360 limit 10000`", "SELECT * FROM public.v_clientes_360 LIMIT 10000"),
)
WARM = "SELECT count(*) FROM {s}.dim_regras_contrato"  # re-opens the FDW connection cheaply


WIZARD = -1  # the wizard's whole setup: its server value plus its per-table value


def sweep(
    s: Site, rtt_ms: float, sizes: list[int], repeat: int, cap_s: float
) -> list[list[Sample]]:
    s.route(rtt_ms)
    table: list[list[Sample]] = []
    for size in sizes:
        if size == WIZARD:
            s.set_fetch_size(s.wizard_server, s.auto_fetch_size(rtt_ms))
            s.set_table_fetch_sizes(s.wizard_table_fetch_sizes)
        else:
            # One value for every table: drop the per-table values the wizard set.
            s.set_fetch_size(s.wizard_server, size)
            s.set_table_fetch_sizes(dict.fromkeys(s.wizard_table_fetch_sizes))
        row = []
        with s.supabase() as supa:
            supa.execute(WARM.format(s=s.wizard_schema)).fetchall()
            for _label, template in READS:
                query = template.format(s=s.wizard_schema)

                def run(q: str = query) -> None:
                    read_all(supa, q, cap_s)

                row.append(measure(run, repeat, cap_s=cap_s, warmup=0, budget_s=cap_s))
        table.append(row)
    return table


def best_of(table: list[list[Sample]], column: int) -> Sample | None:
    measured = [row[column] for row in table if row[column].median_ms is not None]
    return min(measured, key=lambda smp: smp.median_ms or 0.0, default=None)


def main() -> None:
    args = arg_parser(__doc__ or "", repeat=3, cap_s=10.0).parse_args()
    started = time.perf_counter()
    print(f"# 1b. fetch_size sweep — {machine_note()}\n")
    with site(args.scale, runbook=False) as s:
        chosen = WIZARD
        sizes = [*sorted({*CANDIDATES, s.wizard_fetch_size}), WIZARD]
        per_table = ", ".join(f"{t} {v}" for t, v in s.wizard_table_fetch_sizes.items())
        print(
            f"The wizard's setup: server fetch_size `auto` (from the round trip and the widest "
            f"row: {s.wizard_fetch_size} at loopback, "
            f"{', '.join(f'{s.auto_fetch_size(r)} at {r:g} ms' for r in args.rtt)}) and per "
            f"table: {per_table or 'none'}. The other rows use one value "
            f"for every table. Median ms of up to {args.repeat} runs per cell.\n"
        )
        verdict_30: list[str] = []
        try:
            for rtt in [0.0, *args.rtt]:
                table = sweep(s, rtt, sizes, args.repeat, args.cap)
                title = "loopback" if rtt == 0 else f"{rtt:g} ms round trip"
                rows = []
                for size, samples in zip(sizes, table, strict=True):
                    name = "**wizard's setup**" if size == WIZARD else str(size)
                    rows.append([name, *(smp.text() for smp in samples)])
                best_row, ratio_row = ["best"], ["wizard / best"]
                for col, (label, _t) in enumerate(READS):
                    best = best_of(table, col)
                    wiz = table[sizes.index(chosen)][col]
                    if best is None or best.median_ms is None or wiz.median_ms is None:
                        best_row.append("-")
                        ratio_row.append("-")
                        continue
                    best_size = sizes[[row[col] for row in table].index(best)]
                    where = "wizard" if best_size == WIZARD else best_size
                    best_row.append(f"{best.median_ms:,.0f} @ {where}")
                    r = wiz.median_ms / best.median_ms
                    ratio_row.append(f"{r:.2f}x")
                    if rtt == 30:
                        ok = "met" if r <= 1.2 else "MISSED"
                        verdict_30.append(f"- {label}: wizard/best {r:.2f}x (<= 1.2x: {ok})")
                rows += [best_row, ratio_row]
                print(f"## {title}\n")
                header = ["fetch_size", *(label for label, _t in READS)]
                print(markdown_table(header, rows) + "\n", flush=True)
        finally:
            s.set_fetch_size(s.wizard_server, s.wizard_fetch_size)
            s.set_table_fetch_sizes(s.wizard_table_fetch_sizes)
        if verdict_30:
            print("## Target at 30 ms: within 1.2x of the best fetch_size\n")
            print("\n".join(verdict_30) + "\n")
    print(f"<!-- total {time.perf_counter() - started:.0f} s -->")


if __name__ == "__main__":
    main()
