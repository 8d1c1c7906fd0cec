"""What the commands share: their parser (the common options, ``--json``, the handler) and a
session opened on the config, its errors said the same way, and closed whatever happens."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from wizard import exitcodes
from wizard.engine import StepError
from wizard.i18n import t

from . import CliContext
from .output import LivePrinter, load_config_or_report, say

# body(session, runner) -> exit code
Body = Callable[[Any, Any], int]


def add_command(
    sub: Any,
    common: argparse.ArgumentParser,
    name: str,
    handler: Callable[[argparse.Namespace, CliContext], int],
    *,
    help_key: str | None = None,
    description_key: str | None = None,
    json: bool = True,
) -> argparse.ArgumentParser:
    """The command's parser with --config/--lang (``common``), ``--json`` and its handler."""
    extra: dict[str, Any] = {}
    if description_key is not None:
        extra["description"] = t(description_key)
    parser: argparse.ArgumentParser = sub.add_parser(
        name, parents=[common], help=t(help_key or "cli.cmd." + name), **extra
    )
    if json:
        parser.add_argument("--json", action="store_true", help=t("cli.opt.json"))
    parser.set_defaults(handler=handler)
    return parser


def add_only(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--only", metavar="IDS", help=t("cli.opt.only"))


def only_ids(args: argparse.Namespace) -> list[str] | None:
    return args.only.split(",") if getattr(args, "only", None) else None


def with_session(
    ctx: CliContext,
    body: Body,
    *,
    interactive: bool = False,
    show_plans: bool = False,
    live: bool = True,
    failed: Callable[[StepError], int] | None = None,
    prepare: Callable[[Any], None] | None = None,
) -> int:
    """Load the config (or say what is wrong with it), open a session, run ``body`` and close
    the session. A StepError out of ``body`` is said on stderr with its fix; its exit code is
    ``failed(error)`` (default: 3 when another run holds the lock, else 2)."""
    from wizard.runlock import RunLocked
    from wizard.session import open_session

    config, code = load_config_or_report(ctx)
    if config is None:
        return int(code)
    sink = LivePrinter(ctx, show_plans=show_plans) if live else None
    session, runner = open_session(config, ctx.config_path, interactive=interactive, sink=sink)
    if prepare is not None:
        prepare(session)
    try:
        return body(session, runner)
    except StepError as exc:
        say(ctx, exc.message, err=True)
        if exc.fix is not None:
            say(ctx, exc.fix, err=True)
        if failed is not None:
            return failed(exc)
        return exitcodes.OPERATOR if isinstance(exc, RunLocked) else exitcodes.USAGE
    finally:
        session.close()
