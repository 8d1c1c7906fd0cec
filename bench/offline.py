"""1c. Offline DW: time until the app's FDW read fails, runbook setup vs the wizard's.

    python bench/offline.py [--scale 0.05] [--repeat 3] [--cap 20]

Both FDW servers are pointed at (1) a loopback listener that accepts TCP and never answers
(wizard.testbed.blackhole.Blackhole: a hung server or a half-open NAT), (2) a loopback port that
refuses connections and (3) a partitioned port: a bound port whose packets nftables drops (no
RST, no SYN-ACK: the link is gone; wizard.testbed.partition, needs root and nft, else left out).
Each
read runs in a fresh Supabase session as ``postgres`` and as ``authenticated`` (with
Supabase's statement_timeout of 8 s for that role, the way PostgREST runs it). A read still
hanging after ``--cap`` seconds is reported as "> cap" and unstuck by closing the listener's
connections (or lifting the partition). A run that hits the cap is not repeated.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from common import RUNBOOK_VIEW, Site, arg_parser, machine_note, markdown_table, site

from wizard.testbed import partition
from wizard.testbed.blackhole import Blackhole, RefusedPort


@dataclass
class Outcome:
    seconds: float | None  # None: still hanging at the cap
    error: str


def attempt(
    s: Site, role: str | None, query: str, cap_s: float, release: Callable[[], None] | None
) -> Outcome:
    """One read in a fresh Supabase session (no cached FDW connection)."""
    result: list[Outcome] = []
    conn = s.supabase(role)

    def run() -> None:
        t0 = time.perf_counter()
        try:
            conn.execute(query).fetchall()
            result.append(Outcome(time.perf_counter() - t0, "no error (!)"))
        except Exception as exc:  # the error is the measurement
            lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()]
            text = " / ".join(lines[-2:]) if lines else type(exc).__name__  # the cause is last
            result.append(Outcome(time.perf_counter() - t0, text))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(cap_s)
    if thread.is_alive():
        if release is not None:
            release()  # the backend's connection attempt gets EOF (or an RST) and gives up
        thread.join(30)
        conn.close()
        released = f"after the cap released it: {result[0].error}" if result else "still hanging"
        return Outcome(None, released)
    conn.close()
    if release is not None:
        release()
    return result[0]


def cell(outcomes: list[Outcome], cap_s: float) -> tuple[str, float | None]:
    if any(o.seconds is None for o in outcomes):
        return f"> {cap_s:g} s (still waiting)", None
    median = statistics.median(o.seconds for o in outcomes if o.seconds is not None)
    return f"{median:.2f} s", median


def main() -> None:
    parser = arg_parser(__doc__ or "", repeat=3, cap_s=20.0)
    parser.set_defaults(scale=0.05)
    args = parser.parse_args()
    started = time.perf_counter()
    print(f"# 1c. Offline DW — {machine_note()}\n")
    with site(args.scale) as s:
        timeout_s = int(s.wizard_options["connect_timeout"])
        variants = [
            ("A runbook", "postgres", "SELECT count(*) FROM public.dim_clientes"),
            ("A runbook", "authenticated", f"SELECT count(*) FROM public.{RUNBOOK_VIEW}"),
            ("B wizard", "postgres", f"SELECT count(*) FROM {s.wizard_schema}.dim_clientes"),
            ("B wizard", "authenticated", "SELECT count(*) FROM public.v_clientes_360"),
        ]
        print(
            f"A = runbook server options (no connect_timeout); B = wizard "
            f"(connect_timeout {timeout_s}, keepalives, tcp_user_timeout "
            f"{s.wizard_options.get('tcp_user_timeout', '-')} ms). Cap {args.cap:g} s.\n"
        )
        rows, verdicts = [], []
        scenarios = ["accepts TCP, never answers", "connection refused", "partitioned"]
        missing = partition.unavailable()
        if missing is not None:
            scenarios.remove("partitioned")
            print(f"(partitioned left out: {missing[0]} {missing[1]}; needs Linux, root, nft)\n")
        for scenario in scenarios:
            hole: Blackhole | None = None
            refused: RefusedPort | None = None
            cut: partition.Partition | None = None
            release: Callable[[], None] | None = None
            if scenario.startswith("accepts"):
                hole = Blackhole()
                port, release = hole.port, hole.release
            else:
                refused = RefusedPort()
                port = refused.port
            if scenario == "partitioned":
                cut = partition.Partition(port)
                cut.cut()
                release = cut.heal  # later SYNs reach the bound port: refused
            try:
                s.point_servers(port)
                for setup, role, query in variants:
                    outcomes: list[Outcome] = []
                    for _ in range(args.repeat):
                        outcome = attempt(s, role, query, args.cap, release)
                        if cut is not None and not cut.active:
                            cut.cut()
                        outcomes.append(outcome)
                        if outcome.seconds is None:
                            break
                    text, median = cell(outcomes, args.cap)
                    error = outcomes[-1].error
                    error = error if len(error) <= 110 else "..." + error[-107:]
                    rows.append([scenario, setup, role, text, f"`{error}`"])
                    if setup.startswith("B"):
                        ok = median is not None and median <= timeout_s + 1
                        verdicts.append(
                            f"- {scenario}, {role}: {text} "
                            f"(target <= connect_timeout + 1 s = {timeout_s + 1} s: "
                            f"{'met' if ok else 'MISSED'})"
                        )
            finally:
                if cut is not None:
                    cut.heal()
                if hole is not None:
                    hole.stop()
                if refused is not None:
                    refused.close()
        s.route(0)
        header = ["DW", "setup", "read as", "time to error", "error"]
        print(markdown_table(header, rows) + "\n")
        print("## Target: the wizard's setup fails within connect_timeout + 1 s\n")
        print("\n".join(verdicts) + "\n")
    print(f"<!-- total {time.perf_counter() - started:.0f} s -->")


if __name__ == "__main__":
    main()
