"""`fdw-wizard export-app --out DIR`: the app's hook, sync flag and health function
(TypeScript), generated from the config (wizard.supabase.app_export)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from wizard import exitcodes
from wizard.i18n import Message, t

from . import CliContext
from .common import add_command
from .output import emit_json, load_config_or_report, say


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    parser = add_command(sub, common, "export-app", run)
    parser.add_argument(
        "--out", type=Path, required=True, metavar="DIR", help=t("cli.export-app.opt.out")
    )


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from wizard.supabase.app_export import export_app

    config, code = load_config_or_report(ctx)
    if config is None:
        return code
    try:
        result = export_app(config, args.out)
    except OSError as exc:
        say(ctx, Message("cli.export-app.failed", {"error": str(exc)}), err=True)
        return exitcodes.FAILED
    if ctx.json:
        emit_json(ctx, {"files": [str(f) for f in result.files], "settings": result.settings})
        return exitcodes.OK
    for path in result.files:
        say(ctx, Message("cli.export-app.wrote", {"path": str(path)}))
    say(
        ctx,
        Message(
            "cli.export-app.next",
            {"timeout_ms": result.settings["TIMEOUT_MS"], "bound": result.settings["BOUND_S"]},
        ),
    )
    return exitcodes.OK
