"""`fdw-wizard demo [--dir D] [--no-tui] [--stop] [--scale X]`: the rehearsal sandbox."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from wizard import exitcodes
from wizard.engine import StepError
from wizard.i18n import Message, t
from wizard.testbed import sandbox

from . import CliContext
from .common import add_command
from .output import emit_json, say

# The growth scales the benchmarks use (scale 20: 800k clients, 2M invoices, ~2.4 GB of
# fallback files; it takes minutes and a few GB of disk to build).
MAX_SCALE = 20


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    parser = add_command(sub, common, "demo", run, json=False)
    parser.add_argument("--dir", type=Path, metavar="D", help=t("cli.opt.demo_dir"))
    parser.add_argument("--no-tui", action="store_true", help=t("cli.opt.no_tui"))
    parser.add_argument("--stop", action="store_true", help=t("cli.opt.stop"))
    parser.add_argument("--scale", type=float, default=1.0, help=t("cli.opt.scale"))
    parser.add_argument("--json", action="store_true", help=t("cli.opt.json"))


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    directory = args.dir or sandbox.default_dir()
    if not 0 < args.scale <= MAX_SCALE:
        say(ctx, Message("sandbox.bad_scale", {"value": args.scale, "max": MAX_SCALE}), err=True)
        return exitcodes.USAGE
    try:
        if args.stop:
            removed = sandbox.stop(directory)
            if ctx.json:
                emit_json(ctx, {"stopped": str(directory), "removed": removed})
            else:
                say(ctx, Message("sandbox.stopped", {"dir": str(directory)}))
            return exitcodes.OK
        say(
            ctx, Message("sandbox.starting", {"dir": str(directory), "scale": args.scale}), err=True
        )
        info = sandbox.start(directory, scale=args.scale)
    except StepError as exc:
        say(ctx, exc.message, err=True)
        if exc.fix is not None:
            say(ctx, exc.fix, err=True)
        return exitcodes.FAILED
    if ctx.json:
        emit_json(
            ctx,
            {
                "dir": str(info.directory),
                "config": str(info.config_path),
                "dw": {"host": "127.0.0.1", "port": info.dw_port},
                "supabase": {"host": "127.0.0.1", "port": info.supabase_port},
                "api": info.api_url,
                "secrets": info.secrets_where,
            },
        )
    else:
        say(
            ctx,
            Message(
                "sandbox.started",
                {"dw_port": info.dw_port, "supabase_port": info.supabase_port, "api": info.api_url},
            ),
        )
        say(ctx, Message("sandbox.config", {"path": str(info.config_path)}))
        if info.secrets_where == "keyring":
            say(ctx, Message("sandbox.secrets_keyring"))
        else:
            say(ctx, Message("sandbox.secrets_file", {"path": info.secrets_where}))
            if info.keyring_problem is not None:
                say(ctx, info.keyring_problem)
        say(
            ctx,
            Message("sandbox.next", {"config": str(info.config_path), "dir": str(info.directory)}),
        )
    if not args.no_tui:
        from .tui import open_tui

        return open_tui(info.config_path, ctx)
    return exitcodes.OK
