"""`fdw-wizard document [--out FILE] [--lang pt-BR|en]`: the as-built document, from live checks.

Without ``--out`` it writes where the checklist item ``cleanup.document`` expects it
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
from wizard.session import open_session

from . import CliContext
from .output import emit_json, load_config_or_report, say


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser("document", parents=[common], help=t("document.cli.help"))
    parser.add_argument(
        "--out", type=Path, metavar="FILE", default=None, help=t("document.cli.opt.out")
    )
    parser.add_argument("--json", action="store_true", help=t("cli.opt.json"))
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from wizard import asbuilt
    from wizard.redact import redact

    config, code = load_config_or_report(ctx)
    if config is None:
        return code
    session, _runner = open_session(config, ctx.config_path, interactive=ctx.interactive)
    try:
        default = asbuilt.document_path(config, ctx.config_path)
        if args.out is None or args.out.resolve() == default:
            # The checklist's copy: remembered as cleanup.document's own write.
            path, problems = asbuilt.write_checklist_report(session, ctx.lang or None)
        else:
            path, problems = asbuilt.write_document_report(session, args.out, ctx.lang or None)
            # cleanup.document counts it while it is current (the issue's --out use).
            session.remember(asbuilt.STEP_ID, path=str(path), sha256=asbuilt.digest(path))
    except StepError as exc:
        say(ctx, exc.message, err=True)
        return exitcodes.OPERATOR if exc.operator_action else exitcodes.FAILED
    except OSError as exc:
        say(ctx, redact(f"{type(exc).__name__}: {exc}"), err=True)
        return exitcodes.FAILED
    finally:
        session.close()
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
