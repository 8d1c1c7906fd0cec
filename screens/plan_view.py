"""Render a plan (``Plan.to_json()``: already redacted by the engine) as text: file diffs,
SQL with secrets masked, OS commands, generated files, notes, warnings and risks."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from screens.common import message_from_json, say
from wizard.i18n import t
from wizard.redact import redact


def plan_text(plan: dict[str, Any] | None) -> Text:
    text = Text()
    if not plan:
        text.append(t("tui.plan.none"))
        return text
    actions = plan.get("actions") or []
    if not actions:
        text.append(t("tui.plan.nothing") + "\n")
    for action in actions:
        kind = action.get("kind")
        text.append("- " + say(message_from_json(action.get("description"))) + "\n", style="bold")
        if kind == "file":
            text.append("  " + t("tui.plan.file", path=str(action.get("path", ""))) + "\n")
            for line in redact(str(action.get("diff", ""))).splitlines():
                style = ""
                if line.startswith("+") and not line.startswith("+++"):
                    style = "green"
                elif line.startswith("-") and not line.startswith("---"):
                    style = "red"
                text.append("    " + line + "\n", style=style)
        elif kind == "sql":
            text.append(f"  [{action.get('target', '')}] SQL:\n")
            for line in redact(str(action.get("sql", ""))).splitlines():
                text.append("    " + line + "\n", style="cyan")
        elif kind == "command":
            argv = [redact(str(a)) for a in action.get("argv", [])]
            text.append("  $ " + " ".join(argv) + "\n", style="cyan")
        elif kind == "generate":
            text.append(
                "  "
                + t(
                    "tui.plan.generate",
                    path=str(action.get("path", "")),
                    mode=action.get("mode", ""),
                )
                + "\n"
            )
    for warning in plan.get("warnings") or []:
        text.append("[!!] " + say(message_from_json(warning)) + "\n", style="yellow")
    risks = plan.get("risks") or []
    if risks:
        text.append(t("tui.plan.risks") + " ", style="bold")
        text.append(", ".join(t("tui.risk." + r + ".short") for r in risks) + "\n")
    return text
