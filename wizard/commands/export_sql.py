"""`fdw-wizard export-sql --out DIR [--with-secrets]`: the scripts for a manual run, written
without connecting to either server (wizard.export)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from wizard import exitcodes
from wizard.engine import StepError
from wizard.i18n import Message, t
from wizard.session import open_session

from . import CliContext
from .output import emit_json, load_config_or_report, say


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser("export-sql", parents=[common], help=t("cli.cmd.export-sql"))
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help=t("export.opt.out"))
    parser.add_argument("--with-secrets", action="store_true", help=t("export.opt.with_secrets"))
    parser.add_argument("--json", action="store_true", help=t("cli.opt.json"))
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from wizard.export import export_scripts
    from wizard.export.facts import FETCH_VARIABLE, PASSWORD_VARIABLE

    config, code = load_config_or_report(ctx)
    if config is None:
        return code
    session, _runner = open_session(config, ctx.config_path, interactive=ctx.interactive)
    try:
        # The scripts' comments in the operator's language, like the rest of the output.
        result = export_scripts(
            session, args.out, with_secrets=args.with_secrets, lang=ctx.lang or None
        )
    except StepError as exc:
        say(ctx, exc.message, err=True)
        return exitcodes.OPERATOR if exc.operator_action else exitcodes.FAILED
    finally:
        session.close()
    if ctx.json:
        emit_json(
            ctx,
            {
                "files": [str(f) for f in result.files],
                "notes": [n.to_json() for n in result.notes],
                "password_variable": None if args.with_secrets else PASSWORD_VARIABLE,
                "fetch_size_variable": FETCH_VARIABLE if config.fdw.fetch_size == "auto" else None,
            },
        )
        return exitcodes.OK
    for path in result.files:
        say(ctx, Message("export.wrote", {"path": str(path)}))
    for note in result.notes:
        say(ctx, note, err=True)
    if not args.with_secrets:
        say(ctx, Message("export.placeholder", {"variable": PASSWORD_VARIABLE}))
    return exitcodes.OK
