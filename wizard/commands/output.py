"""Text and JSON output shared by the commands. Statuses carry a word, never colour alone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TextIO

from wizard.engine import (
    CommandAction,
    Event,
    FileEdit,
    GeneratedFile,
    Plan,
    RunReport,
    SqlAction,
    Status,
    StepOutcome,
)
from wizard.i18n import Message, render, set_language, t
from wizard.redact import redact

from . import CliContext

STATUS_WORD = {
    Status.DONE: "OK",
    Status.PENDING: "..",
    Status.FAILED: "XX",
    Status.BLOCKED: "--",
    Status.MANUAL: "!!",
    Status.NOT_APPLICABLE: "na",
    Status.SKIPPED: ">>",
}


def status_label(status: Status) -> str:
    """``[  OK] concluído`` padded to the language's longest status word (columns align)."""
    width = max(len(t("status." + s.value)) for s in Status)
    return f"[{STATUS_WORD[status]:>4}] {t('status.' + status.value):<{width}}"


def emit_json(ctx: CliContext, document: Any) -> None:
    ctx.out.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")


def say(ctx: CliContext, message: Message | str, *, err: bool = False) -> None:
    stream: TextIO = ctx.err if err else ctx.out
    stream.write(redact(render(message)) + "\n")


def plan_text(plan: Plan) -> str:
    lines: list[str] = []
    for action in plan.actions:
        lines.append("  - " + render(action.description))
        if isinstance(action, FileEdit):
            lines.extend("      " + line for line in action.diff().splitlines())
        elif isinstance(action, SqlAction):
            lines.append(f"      [{action.target}] " + action.display().replace("\n", "\n      "))
        elif isinstance(action, CommandAction):
            lines.append("      $ " + " ".join(redact(a) for a in action.argv))
        elif isinstance(action, GeneratedFile):
            lines.append(f"      + {action.path} ({oct(action.mode)})")
    for warning in plan.warnings:
        lines.append("  ! " + render(warning))
    return "\n".join(lines)


def outcome_text(outcome: StepOutcome) -> str:
    lines = [f"{status_label(outcome.status)} {outcome.step_id}: {render(outcome.message)}"]
    for detail in outcome.details:
        lines.append("        " + render(detail))
    if outcome.fix is not None:
        lines.append("        " + t("cli.fix") + " " + render(outcome.fix))
    for backup in outcome.backups:
        lines.append("        " + t("cli.backup", None, path=backup))
    return redact("\n".join(lines))


class LivePrinter:
    """Prints engine events as they happen (text mode only)."""

    def __init__(self, ctx: CliContext, *, show_plans: bool) -> None:
        self.ctx = ctx
        self.show_plans = show_plans

    def __call__(self, event: Event) -> None:
        if event.kind in ("run-interrupted", "lock-stale") and event.message is not None:
            # Loud and first, on stderr (so --json keeps stdout to one document).
            say(self.ctx, "!! " + render(event.message), err=True)
            return
        if self.ctx.json:
            return
        if event.kind == "progress" and event.message is not None:
            say(self.ctx, f"        {event.step_id}: {render(event.message)}")


def print_report(ctx: CliContext, report: RunReport, *, show_plans: bool = False) -> None:
    if ctx.json:
        emit_json(ctx, report.to_json())
        return
    for outcome in report.outcomes:
        say(ctx, outcome_text(outcome))
        if show_plans and outcome.plan is not None and outcome.plan.actions:
            say(ctx, plan_text(outcome.plan))
    counts = report.to_json()["counts"]
    summary = ", ".join(f"{t('status.' + k)}: {v}" for k, v in sorted(counts.items()))
    say(ctx, t("cli.summary", None, summary=summary or "-"))


def load_config_or_report(ctx: CliContext) -> tuple[Any, int]:
    """(config, 0) or (None, exit code) after telling the operator what to fix."""
    from wizard import exitcodes
    from wizard.config import ConfigError, ConfigMissing, load_config, write_template

    try:
        config = load_config(ctx.config_path)
    except ConfigMissing:
        message = _missing_config(ctx.config_path)
        if message is None:
            write_template(ctx.config_path)
            message = Message("config.template_written", {"path": str(ctx.config_path)})
        if ctx.json:
            emit_json(ctx, {"error": "config-missing", "message": message.to_json()})
        say(ctx, message, err=True)
        return None, exitcodes.OPERATOR
    except ConfigError as exc:
        if ctx.json:
            emit_json(
                ctx,
                {"error": "config-invalid", "messages": [m.to_json() for m in exc.messages]},
            )
        say(
            ctx,
            Message("config.see_errors", {"path": str(exc.path), "count": len(exc.messages)}),
            err=True,
        )
        for message in exc.messages:
            say(ctx, "  - " + render(message), err=True)
        return None, exitcodes.USAGE
    if not ctx.lang:
        ctx.lang = set_language(None if config.language == "auto" else config.language)
    return config, 0


def _missing_config(path: Path) -> Message | None:
    """None when a template may be written at ``path`` (the default name, in an existing
    folder); otherwise why not — a typo in ``--config`` must not leave a stray template."""
    import difflib

    from wizard.paths import DEFAULT_CONFIG_NAME

    folder = path.parent if str(path.parent) else Path(".")
    if path.name == DEFAULT_CONFIG_NAME and folder.is_dir():
        return None
    nearby = sorted(p.name for p in folder.glob("*.y*ml")) if folder.is_dir() else []
    close = difflib.get_close_matches(path.name, nearby, n=1)
    if close:
        return Message(
            "config.missing_did_you_mean", {"path": str(path), "name": str(folder / close[0])}
        )
    return Message("config.missing_not_created", {"path": str(path)})
