"""1d. The wizard itself: cold start, first TUI frame, event-loop stalls, sandbox apply.

    python bench/wizard_speed.py [--repeat 5] [--scale 1]

Every timing is a fresh subprocess (cold imports), median of ``--repeat``:
* cold start: the interpreter alone, ``import wizard.cli``, ``fdw-wizard --help``, and which
  heavy modules (psycopg, cryptography, supabase, textual) each one pulled in;
* first TUI frame: process start until the first screen the user sees has been painted
  (headless, ``App.run_test``; work the app defers past that paint is not counted), the
  wizard's ``WizardApp`` vs a bare Textual app with one Static;
* event-loop stall: a 10 ms heartbeat timer inside the running WizardApp while the welcome
  screen's probes and a full ``status`` run (every check, against the sandbox) run in the
  engine's thread worker; the largest gap between beats, against a bare app's idle gap;
* ``fdw-wizard demo --no-tui`` then ``fdw-wizard apply --yes`` on it end to end, and a second
  run (idempotent: nothing changed).
Parts whose product pieces do not exist yet print "not available yet".
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from common import ROOT, arg_parser, machine_note, markdown_table

from wizard.testbed.bed import traversable_tempdir

PY = sys.executable
HEAVY = ("psycopg", "cryptography", "supabase", "textual", "keyring", "pydantic", "yaml")
SUBPROCESS_TIMEOUT_S = 120

# Both children build the app the same way: a bare Textual app, or what `fdw-wizard` (run_tui)
# builds, the config read after the first frame.
APP_CHILD = textwrap.dedent(
    """
    from pathlib import Path
    kind, config_path = sys.argv[1], sys.argv[2]
    if kind == "bare":
        from textual.app import App
        from textual.widgets import Static

        class Bare(App):
            def compose(self):
                yield Static("hello")

        app = Bare()
    else:
        from screens.app import WizardApp
        app = WizardApp(Path(config_path), lang="en", defer_config=True)
    """
)

FRAME_CHILD = (
    "import asyncio, sys\n"
    + APP_CHILD
    + textwrap.dedent(
        """
    async def main():
        async with app.run_test(size=(120, 40)) as pilot:
            # The first paint of the screen the user sees (the wizard pushes its first
            # screen from on_mount), nothing after it: work deferred past it is not counted.
            while kind != "bare" and len(app.screen_stack) < 2:
                await asyncio.sleep(0.001)
            painted = asyncio.get_running_loop().create_future()
            app.screen.call_after_refresh(lambda: painted.done() or painted.set_result(None))
            await painted
            print("FRAME", flush=True)

    asyncio.run(main())
    """
    )
)

STALL_CHILD = (
    "import asyncio, json, sys, time\n"
    + APP_CHILD
    + textwrap.dedent(
        """
    gaps = []
    last = [0.0]

    def beat():
        now = time.perf_counter()
        if last[0]:
            gaps.append(now - last[0])
        last[0] = now

    async def main():
        async with app.run_test(size=(120, 40)) as pilot:
            app.set_interval(0.01, beat)
            await pilot.pause()
            if kind == "bare":
                await asyncio.sleep(3)
                return
            done = []
            deadline = time.monotonic() + 90
            while app.config is None and time.monotonic() < deadline:  # read after 1st frame
                await asyncio.sleep(0.01)
            # The welcome screen's probes (keyring, elevation) now run; a status run with them.
            app.run_status(on_done=lambda result, error: done.append(error))
            while not done and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            await app.workers.wait_for_complete()
            if not done:
                print("TIMEOUT", flush=True)

    t0 = time.perf_counter()
    asyncio.run(main())
    out = {"max_ms": max(gaps) * 1000 if gaps else None, "beats": len(gaps),
           "p99_ms": sorted(gaps)[int(len(gaps) * 0.99)] * 1000 if gaps else None,
           "seconds": time.perf_counter() - t0}
    print("STALL " + json.dumps(out), flush=True)
    """
    )
)


def env(data_dir: Path | None = None) -> dict[str, str]:
    e = dict(os.environ)
    e["PYTHONPATH"] = str(ROOT) + os.pathsep + e.get("PYTHONPATH", "")
    e["NO_COLOR"] = "1"
    e["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"  # never the user's keyring
    if data_dir is not None:
        e["FDW_WIZARD_DATA_DIR"] = str(data_dir)
    return e


def timed(argv: list[str], environ: dict[str, str], marker: str | None = None) -> tuple[float, str]:
    """Seconds from spawn until exit (or until ``marker`` appears on stdout), and stdout."""
    t0 = time.perf_counter()
    if marker is None:
        done = subprocess.run(
            argv,
            env=environ,
            capture_output=True,
            text=True,
            timeout=SUBPROCESS_TIMEOUT_S,
            check=False,
            cwd=ROOT,
        )
        return time.perf_counter() - t0, done.stdout + done.stderr
    with subprocess.Popen(
        argv, env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT
    ) as proc:
        assert proc.stdout is not None
        seen = ""
        for line in proc.stdout:
            seen += line
            if line.strip().startswith(marker):
                elapsed = time.perf_counter() - t0
                break
        else:
            elapsed = float("nan")
        try:
            rest, err = proc.communicate(timeout=SUBPROCESS_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            rest, err = proc.communicate()
        return elapsed, seen + rest + err


def median_of(
    repeat: int, argv: list[str], environ: dict[str, str], marker: str | None = None
) -> tuple[float, str]:
    runs, out = [], ""
    for _ in range(repeat):
        seconds, out = timed(argv, environ, marker)
        runs.append(seconds)
    return statistics.median(runs), out


def cold_start(repeat: int) -> None:
    e = env()
    probe = f"import sys; print('MODS', [m for m in {HEAVY!r} if m in sys.modules])"
    cases = [
        ("`python -c pass` (interpreter)", [PY, "-c", "pass"]),
        ("`import wizard.cli`", [PY, "-c", "import wizard.cli; " + probe]),
        ("`fdw-wizard --help`", [PY, "-m", "wizard.cli", "--help"]),
        ("`import textual.app`", [PY, "-c", "import textual.app; " + probe]),
    ]
    rows = []
    for label, argv in cases:
        seconds, out = median_of(repeat, argv, e)
        mods = next((ln[5:] for ln in out.splitlines() if ln.startswith("MODS ")), "-")
        rows.append([label, f"{seconds * 1000:,.0f}", mods])
    print("## Cold start (subprocess wall time, median ms)\n")
    print(markdown_table(["what", "ms", "heavy modules loaded"], rows) + "\n", flush=True)


def first_frame(repeat: int, config_path: Path | None) -> None:
    print(
        "## First TUI frame (process start to the first paint of the first screen, headless,"
        " median ms)\n"
    )
    try:
        import screens.app  # noqa: F401
    except Exception as exc:
        print(f"not available yet: screens.app does not import ({type(exc).__name__}: {exc})\n")
        return
    e = env()
    argv = [PY, "-c", FRAME_CHILD]
    bare, _out = median_of(repeat, [*argv, "bare", "-"], e, "FRAME")
    rows = [["bare Textual app (one Static)", f"{bare * 1000:,.0f}", "1.00x"]]
    cases = [("WizardApp, first run (no config)", "/nonexistent/fdw-wizard.yaml")]
    if config_path is not None:
        cases.append(("WizardApp, sandbox config (welcome screen)", str(config_path)))
    verdict = []
    for label, path in cases:
        seconds, out = median_of(repeat, [*argv, "wizard", path], e, "FRAME")
        if seconds != seconds:  # NaN: no frame
            rows.append([label, "no frame", out.strip().splitlines()[-1][:80] if out else ""])
            continue
        r = seconds / bare
        rows.append([label, f"{seconds * 1000:,.0f}", f"{r:.2f}x"])
        verdict.append(
            f"- {label}: {r:.2f}x the bare app (target <= 1.25x: "
            f"{'met' if r <= 1.25 else 'MISSED'})"
        )
    print(markdown_table(["app", "ms", "vs bare"], rows) + "\n")
    print("\n".join(verdict) + "\n", flush=True)


def stalls(config_path: Path | None) -> None:
    print("## Largest event-loop stall (10 ms heartbeat)\n")
    if config_path is None:
        print("not available yet: no sandbox to run the probes against\n")
        return
    try:
        from screens.app import WizardApp
    except Exception as exc:
        print(f"not available yet: screens.app does not import ({type(exc).__name__})\n")
        return
    if not hasattr(WizardApp, "run_status"):
        print("not available yet: WizardApp has no run_status()\n")
        return
    e = env(config_path.parent / "data")
    rows, verdict = [], ""
    for kind, label in (
        ("bare", "bare Textual app, idle 3 s"),
        ("wizard", "WizardApp: welcome probes + full status run"),
    ):
        _s, out = timed([PY, "-c", STALL_CHILD, kind, str(config_path)], e)
        line = next((ln for ln in out.splitlines() if ln.startswith("STALL ")), None)
        if line is None:
            rows.append([label, "failed", out.strip().splitlines()[-1][:80] if out else ""])
            continue
        data = json.loads(line[6:])
        rows.append(
            [
                label,
                f"{data['max_ms']:.0f}",
                f"{data['p99_ms']:.0f}",
                str(data["beats"]),
                f"{data['seconds']:.1f}",
            ]
        )
        if kind == "wizard":
            ok = data["max_ms"] <= 50
            verdict = (
                f"- largest stall {data['max_ms']:.0f} ms (target <= 50 ms: "
                f"{'met' if ok else 'MISSED'})"
                + (" — status run timed out" if "TIMEOUT" in out else "")
            )
    print(markdown_table(["app", "max gap ms", "p99 gap ms", "beats", "s"], rows) + "\n")
    print(verdict + "\n", flush=True)


def main() -> None:
    args = arg_parser(__doc__ or "", repeat=5, cap_s=120.0).parse_args()
    started = time.perf_counter()
    print(f"# 1d. The wizard itself — {machine_note()}\n")
    cold_start(args.repeat)
    base = traversable_tempdir("fdw-wizard-bench-speed-")
    sandbox = base / "sandbox"
    e = env(base / "data")
    config_path: Path | None = None
    try:
        print("## Sandbox: `fdw-wizard apply --yes` end to end, then again\n")
        t_demo, out = timed(
            [
                PY,
                "-m",
                "wizard.cli",
                "demo",
                "--no-tui",
                "--dir",
                str(sandbox),
                "--scale",
                f"{args.scale:g}",
            ],
            e,
        )
        if not (sandbox / "fdw-wizard.yaml").exists():
            print(f"not available yet: the sandbox did not start ({out.strip()[-200:]})\n")
        else:
            config_path = sandbox / "fdw-wizard.yaml"
            rows = [["`fdw-wizard demo --no-tui` (build the sandbox)", f"{t_demo:.1f}", "-", "-"]]
            verdicts = []
            for label, target in (("first `apply --yes`", 15.0), ("second `apply --yes`", 3.0)):
                seconds, out = timed(
                    [
                        PY,
                        "-m",
                        "wizard.cli",
                        "apply",
                        "--yes",
                        "--json",
                        "--config",
                        str(config_path),
                    ],
                    e,
                )
                summary, code = "-", "?"
                try:
                    doc = json.loads(out[out.index("{") : out.rindex("}") + 1])
                    outcomes = doc.get("outcomes") or doc.get("steps") or []
                    counts: dict[str, int] = {}
                    changed = 0
                    for o in outcomes:
                        counts[str(o.get("status"))] = counts.get(str(o.get("status")), 0) + 1
                        changed += 1 if o.get("changed") else 0
                    summary = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
                    summary += f"; changed {changed}"
                    code = str(doc.get("exit_code", "?"))
                except ValueError:
                    summary = out.strip()[-80:]
                rows.append([label, f"{seconds:.1f}", code, summary])
                verdicts.append(
                    f"- {label}: {seconds:.1f} s (target < {target:g} s: "
                    f"{'met' if seconds < target else 'MISSED'})"
                )
            print(markdown_table(["run", "s", "exit", "steps"], rows) + "\n")
            print("\n".join(verdicts) + "\n", flush=True)
        first_frame(args.repeat, config_path)
        stalls(config_path)
    finally:
        if (sandbox / "fdw-wizard.yaml").exists() or sandbox.exists():
            timed([PY, "-m", "wizard.cli", "demo", "--stop", "--dir", str(sandbox)], e)
        shutil.rmtree(base, ignore_errors=True)
    print(f"<!-- total {time.perf_counter() - started:.0f} s -->")


if __name__ == "__main__":
    main()
