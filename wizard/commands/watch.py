"""`fdw-wizard watch [--interval S] [--duration D] [--json]`: health probes through the FDW at a
fixed interval, each appended to the health log (it survives restarts), then the summary.

Bounded: at most duration / interval + 1 probes, and a probe that hangs is abandoned after its
timeout. Ctrl-C stops it cleanly (the summary is still printed). ``--json`` prints one JSON
document at the end (this run's probes and the log's summary) and nothing else on stdout.
Exit: 0 when every probe of this run succeeded, 1 otherwise."""

from __future__ import annotations

import argparse
import math
import time
from typing import Any

from wizard import exitcodes
from wizard.i18n import Message, t
from wizard.measure import monitor

from . import CliContext
from .common import add_command
from .output import emit_json, load_config_or_report, say

DEFAULT_INTERVAL_S = 60.0
MIN_INTERVAL_S = 0.1


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    parser = add_command(sub, common, "watch", run, json=False)
    parser.add_argument("--interval", metavar="S", help=t("validate.opt.interval"))
    parser.add_argument("--duration", metavar="D", help=t("validate.opt.duration"))
    parser.add_argument("--json", action="store_true", help=t("cli.opt.json"))


def _seconds(ctx: CliContext, text: str | None, default: float) -> float | None:
    if text is None:
        return default
    try:
        return monitor.parse_duration(text)
    except ValueError:
        message = Message("validate.err.duration", {"value": text})
        if ctx.json:
            emit_json(ctx, {"error": "bad-duration", "message": message.to_json()})
        say(ctx, message, err=True)
        return None


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from wizard.session import open_session

    config, code = load_config_or_report(ctx)
    if config is None:
        return code
    interval = _seconds(ctx, args.interval, DEFAULT_INTERVAL_S)
    duration = _seconds(ctx, args.duration, config.validation.monitor_window_hours * 3600.0)
    if interval is None or duration is None:
        return exitcodes.USAGE
    interval = max(MIN_INTERVAL_S, interval)
    limit = min(monitor.MAX_WATCH_PROBES, math.floor(duration / interval) + 1)
    session, _runner = open_session(config, ctx.config_path, interactive=False)
    log = monitor.HealthLog.for_config(ctx.config_path)
    prober = monitor.Prober(session, timeout_s=min(monitor.PROBE_TIMEOUT_S, max(interval, 2.0) * 5))
    probes: list[dict[str, Any]] = []
    interrupted = False
    if not ctx.json:
        say(
            ctx,
            Message(
                "validate.watch.start",
                {
                    "interval": f"{interval:g}",
                    "duration": monitor.hours_text(duration / 3600),
                    "log": str(log.path),
                },
            ),
        )
    started = time.monotonic()
    try:
        for index in range(limit):
            due = started + index * interval
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            if time.monotonic() - started > duration:
                break
            record = prober.probe(interval_s=interval, source="watch")
            log.append(record)
            probes.append(record.to_json())
            if not ctx.json:
                at = record.to_json()["at"]
                if record.ok:
                    say(ctx, Message("validate.watch.ok", {"at": at, "ms": record.latency_ms}))
                else:
                    say(ctx, Message("validate.watch.failed", {"at": at, "error": record.error}))
    except KeyboardInterrupt:
        interrupted = True
    finally:
        prober.close()
        session.close()
    summary = monitor.summarize(
        log.records(), config.validation.monitor_window_hours, log=str(log.path)
    )
    failed = sum(1 for p in probes if not p["ok"])
    code = exitcodes.FAILED if failed or not probes else exitcodes.OK
    if ctx.json:
        emit_json(
            ctx,
            {
                "mode": "watch",
                "exit_code": code,
                "interval_s": interval,
                "duration_s": duration,
                "interrupted": interrupted,
                "probes": probes,
                "summary": summary.to_json(),
            },
        )
        return code
    from .validate import monitor_line

    if interrupted:
        say(ctx, Message("validate.watch.interrupted"))
    say(ctx, Message("validate.watch.session", {"probes": len(probes), "failed": failed}))
    say(ctx, monitor_line(summary.to_json()))
    return code
