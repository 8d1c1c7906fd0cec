"""Wires one config into a Context and a Runner: what both the CLI and the TUI start from."""

from __future__ import annotations

from pathlib import Path

from wizard.config import Config
from wizard.context import Context, make_secret_store
from wizard.engine import EventSink, Runner, Step
from wizard.journal import RunJournal
from wizard.runlock import RunLock
from wizard.state import AuditLog, StateStore
from wizard.steps import all_steps


def open_session(
    config: Config,
    config_path: Path,
    *,
    interactive: bool = False,
    sink: EventSink | None = None,
    steps: list[Step] | None = None,
) -> tuple[Context, Runner]:
    secrets = make_secret_store(config, config_path, interactive=interactive)
    ctx = Context(config, config_path, secrets, interactive=interactive)
    ctx.state = StateStore(config_path)
    ctx.journal = RunJournal(config_path)
    runner = Runner(
        ctx,
        steps if steps is not None else all_steps(),
        state=ctx.state,
        audit=AuditLog(config_path),
        sink=sink,
        lock=RunLock.for_config(config, config_path),
        journal=ctx.journal,
    )
    ctx.on_progress = runner.progress
    return ctx, runner
