"""Every fact the document states, read live, and which parts could not be read."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from wizard.step_context import StepContext
from wizard.steps.asbuilt.facts_dw import dw_facts
from wizard.steps.asbuilt.facts_records import (
    measurement_facts,
    metric_facts,
    monitoring_facts,
    record_facts,
)
from wizard.steps.asbuilt.facts_supabase import check_facts, supabase_facts
from wizard.steps.asbuilt.gather import guard


def collect(ctx: StepContext) -> dict[str, Any]:
    """Every fact the document states, read now. Sections that cannot be read say why."""
    from wizard import __version__

    state = ctx.state
    steps = state.steps() if state is not None else {}
    return {
        "meta": {
            "generated_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
            "version": __version__,
            "config": str(Path(ctx.config_path).resolve()),
            "sandbox": bool(ctx.config.sandbox),
            "config_obj": ctx.config,
        },
        "dw": guard(dw_facts, ctx),
        "supabase": guard(supabase_facts, ctx),
        "checks": guard(check_facts, ctx),
        "measurements": guard(measurement_facts, ctx),
        "monitor": guard(monitoring_facts, ctx),
        "metrics": guard(metric_facts, ctx),
        "records": guard(record_facts, ctx),
        "steps": {k: str(v.get("status")) for k, v in steps.items() if isinstance(v, dict)},
    }


# Sections whose facts may carry {"error": ...} (the document says so in place).
SECTIONS = ("dw", "supabase", "checks", "measurements", "monitor", "metrics", "records")


def unreadable(facts: dict[str, Any]) -> list[str]:
    """The sections (and DW parts) that could not be read, with why."""
    found = [f"{name}: {facts[name]['error']}" for name in SECTIONS if "error" in facts[name]]
    dw = facts.get("dw", {})
    for part in ("hba", "reader"):
        if isinstance(dw.get(part), dict) and "error" in dw[part]:
            found.append(f"dw.{part}: {dw[part]['error']}")
    return found
