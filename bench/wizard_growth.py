"""1e. The wizard's own commands as the warehouse grows: time and peak memory.

    python bench/wizard_growth.py [--scale 1 5] [--slowest 5]

For each scale: ``fdw-wizard demo --no-tui --scale X`` builds a sandbox, a first
``apply --yes`` sets it up, then ``status`` and a second ``apply --yes`` are timed. Each
command is a fresh subprocess; its wall time and its peak resident memory (``ru_maxrss`` of
that process, from ``wait4``) are printed, with the steps that took longest (the report's
``duration_ms``). ``status`` only checks and a second ``apply`` has nothing to change, so
neither should grow with the warehouse (targets: <= 5 s, peak memory <= 300 MB).

Scale 20 builds ~2.4 GB of fallback files and 800k clients (5 GB of disk; ~13 min for
``--scale 1 5 20`` on 2 cores); on a shared machine say what else ran (the load average is
printed). Every command is cut off after ``--cap`` seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from common import ROOT, machine_note, markdown_table

from wizard.testbed.bed import traversable_tempdir

PY = sys.executable
STATUS_TARGET_S = 5.0
APPLY_TARGET_S = 5.0
RSS_TARGET_MB = 300.0


def env(data_dir: Path) -> dict[str, str]:
    e = dict(os.environ)
    e["PYTHONPATH"] = str(ROOT) + os.pathsep + e.get("PYTHONPATH", "")
    e["NO_COLOR"] = "1"
    e["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"  # never the user's keyring
    e["FDW_WIZARD_DATA_DIR"] = str(data_dir)
    return e


def run(argv: list[str], environ: dict[str, str], cap_s: float) -> tuple[float, float, str]:
    """(seconds, peak RSS in MB of that process, stdout) of one command."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        argv,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    chunks: list[bytes] = []
    deadline = started + cap_s
    os.set_blocking(proc.stdout.fileno(), False)
    while True:
        try:
            chunk = proc.stdout.read()
        except BlockingIOError:
            chunk = None
        if chunk:
            chunks.append(chunk)
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            proc.kill()
            pid, status, usage = os.wait4(proc.pid, 0)
            break
        time.sleep(0.02)
    proc.returncode = os.waitstatus_to_exitcode(status)
    rest = proc.stdout.read() or b""
    chunks.append(rest)
    seconds = time.perf_counter() - started
    return seconds, usage.ru_maxrss / 1024, b"".join(chunks).decode("utf-8", "replace")


def report(out: str) -> dict[str, Any] | None:
    try:
        doc = json.loads(out[out.index("{") : out.rindex("}") + 1])
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None


def slowest(doc: dict[str, Any] | None, count: int) -> str:
    if doc is None:
        return "-"
    outcomes = doc.get("outcomes") or doc.get("steps") or []
    ranked = sorted(outcomes, key=lambda o: -int(o.get("duration_ms") or 0))[:count]
    return ", ".join(f"{o.get('step')} {int(o.get('duration_ms') or 0) / 1000:.1f}" for o in ranked)


def failed(doc: dict[str, Any] | None) -> str:
    if doc is None:
        return "-"
    outcomes = doc.get("outcomes") or doc.get("steps") or []
    return ", ".join(str(o.get("step")) for o in outcomes if o.get("status") == "failed") or "-"


def one_scale(scale: float, cap_s: float, count: int) -> list[list[str]]:
    base = traversable_tempdir("fdw-wizard-bench-growth-")
    sandbox = base / "sandbox"
    e = env(base / "data")
    rows: list[list[str]] = []
    config = sandbox / "fdw-wizard.yaml"
    cli = [PY, "-m", "wizard.cli"]
    try:
        seconds, rss, _out = run(
            [*cli, "demo", "--no-tui", "--dir", str(sandbox), "--scale", f"{scale:g}"], e, cap_s
        )
        rows.append(
            [f"{scale:g}", "`demo --no-tui` (build)", f"{seconds:.1f}", f"{rss:.0f}", "-", "-"]
        )
        if not config.exists():
            rows.append([f"{scale:g}", "sandbox did not start", "-", "-", "-", "-"])
            return rows
        for label, argv in (
            ("first `apply --yes`", [*cli, "apply", "--yes", "--json", "--config", str(config)]),
            ("`status`", [*cli, "status", "--json", "--config", str(config)]),
            ("second `apply --yes`", [*cli, "apply", "--yes", "--json", "--config", str(config)]),
            ("`status` again", [*cli, "status", "--json", "--config", str(config)]),
        ):
            seconds, rss, out = run(argv, e, cap_s)
            doc = report(out)
            code = str(doc.get("exit_code", "?")) if doc else "?"
            rows.append(
                [
                    f"{scale:g}",
                    f"{label} (exit {code})",
                    f"{seconds:.1f}",
                    f"{rss:.0f}",
                    slowest(doc, count),
                    failed(doc),
                ]
            )
            print(" | ".join(rows[-1]), file=sys.stderr, flush=True)
    finally:
        run([*cli, "demo", "--stop", "--dir", str(sandbox)], e, 120)
        shutil.rmtree(base, ignore_errors=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, nargs="*", default=[1.0, 5.0])
    parser.add_argument("--slowest", type=int, default=4, help="steps listed per command")
    parser.add_argument("--cap", type=float, default=600.0, help="seconds per command")
    args = parser.parse_args()
    started = time.perf_counter()
    print(f"### 1e. The wizard's commands as the warehouse grows — {machine_note()}\n")
    rows: list[list[str]] = []
    for scale in args.scale:
        rows += one_scale(scale, args.cap, args.slowest)
    print(
        markdown_table(
            ["scale", "command", "s", "peak RSS MB", "slowest steps (s)", "failed"],
            rows,
        )
        + "\n"
    )
    print(
        f"Targets: `status` <= {STATUS_TARGET_S:g} s and a second `apply --yes` <= "
        f"{APPLY_TARGET_S:g} s at every scale; peak memory of any command <= {RSS_TARGET_MB:g} MB."
    )
    print(f"\n<!-- total {time.perf_counter() - started:.0f} s -->")


if __name__ == "__main__":
    main()
