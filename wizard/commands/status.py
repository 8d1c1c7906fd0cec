"""`fdw-wizard status [--json]`: every step's check, live; changes nothing."""

from __future__ import annotations

import argparse
from typing import Any

from . import CliContext
from .common import add_command, add_only, only_ids, with_session
from .output import print_report


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    add_only(add_command(sub, common, "status", run))


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    def body(session: Any, runner: Any) -> int:
        report = runner.status(only_ids(args))
        print_report(ctx, report)
        return int(report.exit_code)

    return with_session(ctx, body)
