"""`fdw-wizard` command line: parses arguments and drives the engine (or the TUI, lazily).

``--config`` and ``--lang`` work before or after the command name.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from wizard import exitcodes
from wizard.commands import CliContext
from wizard.i18n import LANGUAGES, Message, set_language, t
from wizard.paths import DEFAULT_CONFIG_NAME
from wizard.safetext import visible

# In the order --help lists them (DESIGN.md "Commands").
COMMAND_MODULES = (
    "wizard.commands.demo",
    "wizard.commands.status",
    "wizard.commands.apply",
    "wizard.commands.validate",
    "wizard.commands.doctor",
    "wizard.commands.rollback",
    "wizard.commands.watch",
    "wizard.commands.cleanup",
    "wizard.commands.export_sql",
    "wizard.commands.document",
    "wizard.commands.export_app",
    "wizard.commands.field_report",
    "wizard.commands.secrets_cmd",
)


def _common(suppress: bool) -> argparse.ArgumentParser:
    """--config/--lang: defaults only on the main parser, so a later position never resets."""
    parser = argparse.ArgumentParser(add_help=False)
    default_config = argparse.SUPPRESS if suppress else None
    parser.add_argument(
        "--config",
        type=Path,
        default=default_config,
        metavar="F",
        help=t("cli.opt.config", None, default=DEFAULT_CONFIG_NAME),
    )
    parser.add_argument(
        "--lang",
        choices=LANGUAGES,
        default=argparse.SUPPRESS if suppress else None,
        help=t("cli.opt.lang"),
    )
    return parser


def build_parser() -> argparse.ArgumentParser:
    import importlib
    import importlib.util

    parser = argparse.ArgumentParser(
        prog="fdw-wizard",
        description=t("cli.description"),
        parents=[_common(suppress=False)],
    )
    sub = parser.add_subparsers(
        dest="command", metavar=t("cli.argparse.metavar_command"), title=t("cli.commands")
    )
    common = _common(suppress=True)
    for name in COMMAND_MODULES:
        if importlib.util.find_spec(name) is None:
            continue
        importlib.import_module(name).register(sub, common)
    return parser


# argparse's own texts (usage, --help, its errors) by their English msgid: argparse asks its
# module-level gettext functions for them at call time, so they follow the chosen language.
_ARGPARSE_TEXTS = {
    "usage: ": "usage",
    "positional arguments": "positionals",
    "options": "options",
    "show this help message and exit": "help",
    "%(prog)s: error: %(message)s\n": "error",
    "argument %(argument_name)s: %(message)s": "argument",
    "the following arguments are required: %s": "required",
    "unrecognized arguments: %s": "unrecognized",
    "invalid choice: %(value)r (choose from %(choices)s)": "invalid_choice",
    "invalid %(type)s value: %(value)r": "invalid_value",
    "expected one argument": "expected_one",
    "expected at most one argument": "expected_at_most_one",
    "expected at least one argument": "expected_at_least_one",
    "ambiguous option: %(option)s could match %(matches)s": "ambiguous",
    "not allowed with argument %s": "not_allowed",
    "one of the arguments %s is required": "one_required",
    "ignored explicit argument %r": "ignored_explicit",
    "unknown parser %(parser_name)r (choices: %(choices)s)": "unknown_parser",
    "can't open '%(filename)s': %(error)s": "cannot_open",
}


def _argparse_gettext(message: str) -> str:
    key = _ARGPARSE_TEXTS.get(message)
    return t("cli.argparse." + key) if key else message


def _argparse_ngettext(singular: str, plural: str, n: int) -> str:
    if singular == "expected %s argument":
        from wizard.i18n import current_language
        from wizard.i18n.format import plural_category

        form = "one" if plural_category(n, current_language()) == "one" else "other"
        return t("cli.argparse.expected_n." + form)
    return singular if n == 1 else plural


def translate_argparse() -> None:
    """Route argparse's own strings through the catalogs (its gettext hooks)."""
    argparse._ = _argparse_gettext  # type: ignore[attr-defined]
    argparse.ngettext = _argparse_ngettext  # type: ignore[attr-defined]


def _early_language(argv: Sequence[str]) -> None:
    """Pick the language before building help texts: --lang, else env/system locale."""
    for index, arg in enumerate(argv):
        if arg == "--lang" and index + 1 < len(argv):
            set_language(argv[index + 1])
            return
        if arg.startswith("--lang="):
            set_language(arg.split("=", 1)[1])
            return
    set_language(None)


def _only_common_options(argv: Sequence[str]) -> bool:
    """True when argv has no command (the TUI): --config/--lang and their values only."""
    expect_value = False
    for arg in argv:
        if expect_value:
            expect_value = False
        elif arg in ("--config", "--lang"):
            expect_value = True
        elif not arg.startswith(("--config=", "--lang=")):
            return False
    return not expect_value


def only_problem(value: str) -> Message | None:
    """What is wrong with an ``--only`` value (None when every name is a step id or a phase).

    An empty value or one with no name (``--only ""``, ``--only ,``) is a usage error, never
    "everything" or "nothing"; an unknown name gets the nearest known one suggested."""
    import difflib

    from wizard.steps import all_steps

    names = [part.strip() for part in value.split(",")]
    if not any(names):
        return Message("input.cli.only_empty", {"flag": "--only", "value": visible(repr(value))})
    steps = all_steps()
    known = sorted({s.id for s in steps} | {s.phase for s in steps})
    for name in names:
        if not name or name in known:
            continue
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        params = {"flag": "--only", "step": visible(name)}
        if close:
            return Message("input.cli.only_suggest", {**params, "suggestion": close[0]})
        ids = sorted(s.id for s in steps)
        return Message("input.cli.only_unknown", {**params, "known": ", ".join(ids)})
    return None


def _usage_error(ctx: CliContext, message: Message) -> int:
    from wizard.commands.output import emit_json, say

    if ctx.json:
        emit_json(ctx, {"error": "usage", "message": message.to_json()})
    say(ctx, message, err=True)
    return exitcodes.USAGE


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    _early_language(args_list)
    translate_argparse()
    if _only_common_options(args_list):
        # The TUI: skip importing every command module, so the first frame comes sooner.
        parser = argparse.ArgumentParser(prog="fdw-wizard", parents=[_common(suppress=False)])
    else:
        parser = build_parser()
    try:
        args = parser.parse_args(args_list)
    except SystemExit as exc:  # argparse exits 2 on bad usage, 0 on --help
        return int(exc.code or 0)
    config_path = args.config or Path(DEFAULT_CONFIG_NAME)
    lang = set_language(args.lang) if args.lang else None
    ctx = CliContext(
        config_path=config_path,
        lang=lang or "",
        json=bool(getattr(args, "json", False)),
    )
    handler = getattr(args, "handler", None)
    only = getattr(args, "only", None)
    if handler is not None and only is not None:
        problem = only_problem(only)
        if problem is not None:
            return _usage_error(ctx, problem)
    if handler is None:
        from wizard.commands import tui

        return tui.run(args, ctx)
    try:
        return int(handler(args, ctx))
    except KeyboardInterrupt:
        print(t("cli.interrupted"), file=sys.stderr)
        return exitcodes.OPERATOR


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry()
