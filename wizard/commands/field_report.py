"""`fdw-wizard field-report --out DIR`: a read-only capture of what the wizard parses here."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from wizard import exitcodes
from wizard.i18n import Message, t

from . import CliContext
from .common import add_command
from .output import emit_json, say


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    parser = add_command(sub, common, "field-report", run, help_key="field.cmd.help")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help=t("field.opt.out"))
    parser.add_argument("--restart-timing", action="store_true", help=t("field.opt.restart_timing"))


def _restart_factory(ctx: CliContext) -> Any:
    """What restarts the configured server, on the runner the report records through."""
    from wizard.config import load_config
    from wizard.dwhost.platform import service_control_for_local

    config = load_config(ctx.config_path)

    def make(runner: Any) -> Any:
        return service_control_for_local(config.local, runner=runner)

    return make


def _targets(ctx: CliContext) -> tuple[list[Any], str | None, Message | None]:
    """The config's server (when the config names it), the firewall rule name, and a note
    when the config could not be read (the capture goes on with discovery alone)."""
    from wizard.config import ConfigError, ConfigMissing, load_config
    from wizard.dwhost.field_report import Target

    try:
        config = load_config(ctx.config_path)
    except ConfigMissing:
        return [], None, None
    except ConfigError:
        return [], None, Message("field.config_unreadable", {"path": str(ctx.config_path)})
    local = config.local
    if local.data_dir == "auto":
        return [], None, None
    target = Target(
        data_dir=local.data_dir,
        bin_dir=None if local.bin_dir == "auto" else local.bin_dir,
        service=None if local.service == "auto" else local.service,
        os_user=None if local.os_user == "auto" else local.os_user,
    )
    return [target], None, None


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from wizard.dwhost.field_report import collect, write_archive
    from wizard.dwhost.platform.service import current_system

    system = current_system()
    targets, rule_name, note = _targets(ctx)
    if note is not None:
        say(ctx, note, err=True)
    restart = None
    if args.restart_timing:
        from wizard.config import ConfigError, ConfigMissing

        try:
            restart = _restart_factory(ctx)
        except (ConfigMissing, ConfigError):
            needs = Message("field.restart_needs_config", {"path": str(ctx.config_path)})
            say(ctx, needs, err=True)
            return exitcodes.USAGE
        say(ctx, Message("field.restart_warning"), err=True)
    captures = collect(system=system, targets=targets, rule_name=rule_name, restart=restart)
    try:
        path = write_archive(captures, args.out, system=system)
    except OSError as exc:
        failed = Message("field.write_failed", {"path": str(args.out), "error": str(exc)})
        say(ctx, failed, err=True)
        return exitcodes.FAILED
    if ctx.json:
        emit_json(ctx, {"archive": str(path), "captures": len(captures), "system": system})
        return exitcodes.OK
    say(ctx, Message("field.wrote", {"path": str(path), "count": len(captures)}))
    say(ctx, Message("field.next"))
    return exitcodes.OK
