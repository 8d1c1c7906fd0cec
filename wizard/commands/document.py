"""`fdw-wizard document [--out FILE] [--lang pt-BR|en]`: the as-built document, from live checks.

Without ``--out`` it writes where the checklist's as-built item expects it
(``cleanup.document_path``). Prints the path (``--json``: ``{"path": ...}``). Changes nothing on
either server: it only reads.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from wizard import exitcodes
from wizard.engine import StepError
from wizard.i18n import Message, t

from . import CliContext
from .common import add_command, with_session
from .output import emit_json, say


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    parser = add_command(sub, common, "document", run, help_key="document.cli.help")
    parser.add_argument(
        "--out", type=Path, metavar="FILE", default=None, help=t("document.cli.opt.out")
    )


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    def body(session: Any, runner: Any) -> int:
        from wizard.redact import redact
        from wizard.steps import asbuilt

        default = asbuilt.document_path(session.config, ctx.config_path)
        try:
            if args.out is None or args.out.resolve() == default:
                # The checklist's copy: remembered as the as-built step's own write.
                path, problems = asbuilt.write_checklist_report(session, ctx.lang or None)
            else:
                path, problems = asbuilt.write_document_report(session, args.out, ctx.lang or None)
                # The as-built step counts it while it is current (the issue's --out use).
                session.remember(asbuilt.STEP_ID, path=str(path), sha256=asbuilt.digest(path))
        except OSError as exc:
            say(ctx, redact(f"{type(exc).__name__}: {exc}"), err=True)
            return exitcodes.FAILED
        return _said(ctx, path, problems)

    def failed(exc: StepError) -> int:
        return exitcodes.OPERATOR if exc.operator_action else exitcodes.FAILED

    return with_session(ctx, body, interactive=ctx.interactive, live=False, failed=failed)


def _said(ctx: CliContext, path: Path, problems: list[str]) -> int:
    if ctx.json:
        emit_json(ctx, {"path": str(path), "unreadable": problems})
    else:
        say(ctx, Message("document.cli.wrote", {"path": str(path)}))
    if problems:
        # Written, and honest about it: the parts that could not be read say why, in place.
        say(ctx, Message("document.cli.partial", {"count": len(problems)}), err=True)
        for problem in problems:
            say(ctx, "  - " + problem, err=True)
        return exitcodes.FAILED
    return exitcodes.OK
