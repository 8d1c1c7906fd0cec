"""1f. The app's reads as the warehouse grows: direct / runbook (A) / wizard (B), per scale.

    python bench/read_growth.py [--scales 1 5 20] [--repeat 3] [--rtt 30] [--cap 30]

For each scale, a private test bed of that size with both setups (``common.site``), then the
reads of ``fdw_reads.py`` measured the same way (one warm-up, ``--repeat`` interleaved runs,
median ms) at loopback and at each ``--rtt``. Prints one table per round trip with a row per
read and scale, so growth reads down a column. Target at scale 20 and 30 ms: every app read of
the wizard's setup <= 500 ms (TARGET_MS).

Scale 20 builds 800k clients, 400k vehicles and 2M invoices (~6 min on 2 cores); scale 100
(4M clients, 10M invoices, tens of GB with the sandbox's fallback files) is the documented next
step: `--scales 100`, hours and ~20 GB of disk, too slow for CI or a shared machine.
"""

from __future__ import annotations

import argparse
import time

from common import DEFAULT_RTTS, Sample, machine_note, markdown_table, site
from fdw_reads import READS, measure_network

TARGET_MS = 500.0
# The reads the app of the test bed does with the wizard's setup (secure mode: the views and
# the dashboards' DW-side aggregate); the others are kept for comparison.
APP_READS = (
    "`select * from v_clientes_360 limit 10000`",
    "`select * from v_frota_360 limit 10000`",
    "dashboard `date_trunc('month')`, B via supabase.aggregates",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scales", type=float, nargs="*", default=[1.0, 5.0, 20.0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rtt", type=float, nargs="*", default=[DEFAULT_RTTS[1]])
    parser.add_argument("--cap", type=float, default=30.0)
    args = parser.parse_args()
    started = time.perf_counter()
    print(f"# 1f. The app's reads as the warehouse grows — {machine_note()}\n")
    rtts = [0.0, *args.rtt]
    # rtt -> rows of [read, scale, direct, A, B]
    tables: dict[float, list[list[str]]] = {rtt: [] for rtt in rtts}
    verdicts: list[str] = []
    for scale in args.scales:
        with site(scale) as s:
            for rtt in rtts:
                results = measure_network(s, rtt, args.repeat, args.cap)
                for read, (d, a, b) in zip(READS, results, strict=True):
                    tables[rtt].append([read.label, f"{scale:g}", d.text(), a.text(), b.text()])
                    if read.label in APP_READS and rtt == 30 and scale >= 20:
                        verdicts.append(verdict(read.label, scale, b))
        print(f"<!-- scale {scale:g} done at {time.perf_counter() - started:.0f} s -->", flush=True)
    for rtt in rtts:
        title = "loopback" if rtt == 0 else f"{rtt:g} ms round trip"
        rows = sorted(tables[rtt], key=lambda r: ([x.label for x in READS].index(r[0]),))
        print(f"## {title}\n")
        print(markdown_table(["read", "scale", "direct", "A runbook", "B wizard"], rows) + "\n")
    if verdicts:
        print(f"## Target: every app read of the wizard's setup <= {TARGET_MS:g} ms\n")
        print("\n".join(verdicts) + "\n")
    print(f"<!-- total {time.perf_counter() - started:.0f} s -->")


def verdict(label: str, scale: float, b: Sample) -> str:
    ms = b.median_ms
    if ms is None:
        return f"- {label} at scale {scale:g}: not measured"
    ok = "met" if ms <= TARGET_MS else "MISSED"
    return f"- {label} at scale {scale:g}: {ms:,.0f} ms ({ok})"


if __name__ == "__main__":
    main()
