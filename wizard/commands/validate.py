"""`fdw-wizard validate [--json]`: the Phase 4 checks, live (latency and pushdown per table and
view, the offline time-to-error, the health log). Changes nothing on the site.

Exit: 0 when latency and offline pass (the monitoring window may still be running: that is
waiting, not a fault); 1 when a check failed; 3 when the operator must act first (a missing
secret, validation.offline_probe_host on a real site)."""

from __future__ import annotations

import argparse
from typing import Any

from wizard import exitcodes
from wizard import validation_view as view
from wizard.engine import RunReport, Status
from wizard.i18n import Message, current_language, render, t
from wizard.i18n.format import format_decimal, format_duration, format_number

from . import CliContext
from .common import add_command, with_session
from .output import emit_json, outcome_text, say

# DESIGN: "latency, pushdown, fallback, offline behaviour" — plus the monitoring summary.
STEP_IDS = view.COMMAND


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    add_command(sub, common, "validate", run)


def exit_code(report: RunReport) -> int:
    mine = [o for o in report.outcomes if o.step_id in STEP_IDS]
    if any(o.status is Status.FAILED and not o.operator_action for o in mine):
        return exitcodes.FAILED
    if any(o.operator_action for o in mine):
        return exitcodes.OPERATOR
    judged = [o for o in mine if o.step_id not in view.NOT_JUDGED]
    if any(o.status is Status.BLOCKED for o in mine):
        return exitcodes.FAILED  # a prerequisite (the FDW setup) is not done
    if any(o.status is Status.PENDING for o in judged):
        return exitcodes.OPERATOR  # e.g. validation.offline_probe_host to set
    return exitcodes.OK


def _ms(value: Any) -> str:
    """A measurement in the reader's language (``1.234,5`` in pt-BR), "-" when absent."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "-"
    return format_decimal(value, current_language())


def latency_lines(facts: dict[str, Any]) -> list[str]:
    net = facts.get("network", {})
    lines = [
        t(
            "validate.cli.latency",
            None,
            role=facts.get("role", "-"),
            target=facts.get("target_ms", "-"),
            samples=facts.get("samples", "-"),
            rtt=_ms(net.get("dw_rtt_ms")),
            cold=_ms(facts.get("cold_connect_ms")),
            fetch=facts.get("fetch_size", "-"),
            suggested=facts.get("recommended_fetch_size", "-"),
        )
    ]
    head = (
        f"  {t('validate.cli.header'):<44} {'p50':>9} {'p95':>9} {t('validate.cli.max'):>9}"
        f" {t('validate.cli.rows'):>7}  "
    )
    lines.append(head + t("validate.cli.pushdown"))
    for rel in facts.get("relations", []):
        for read in rel["reads"]:
            flags = view.pushdown_words(read["pushdown"])
            verdict = t("validate.cli.verdict." + read["verdict"])
            name = f"{rel['relation']} / {view.read_label(read['read'])}"
            rows = format_number(read.get("rows") or 0, current_language())
            lines.append(
                f"  {name:<44} {_ms(read.get('p50_ms')):>9} {_ms(read.get('p95_ms')):>9}"
                f" {_ms(read.get('max_ms')):>9} {rows:>7}  {flags or '-'}"
                f"  [{verdict}]"
            )
            if read.get("error"):
                lines.append(f"      {read['error']}")
            for remedy in read.get("remedies", []):
                text = render(Message(remedy["key"], remedy["params"]))
                lines.append(f"      {t('validate.cli.remedy')} {text}")
    return lines


def offline_lines(facts: dict[str, Any]) -> list[str]:
    lines = []
    for key in ("probe", "refused"):
        probe = facts.get(key)
        if not probe:
            continue
        if probe.get("hung"):
            result = t("validate.cli.offline.hung")
        else:
            seconds = probe.get("seconds")
            took = format_duration(seconds, current_language()) if _ms(seconds) != "-" else "-"
            result = f"{took} — {probe.get('error') or '-'}"
        lines.append(
            t(
                "validate.cli.offline",
                None,
                kind=probe["kind"],
                address=probe["address"],
                result=result,
            )
        )
    return lines


def monitor_line(summary: dict[str, Any]) -> str:
    from wizard.measure.monitor import hours_text

    return t(
        "validate.cli.monitor",
        None,
        records=summary.get("records", 0),
        window=hours_text(float(summary.get("window_hours") or 0.0)),
        availability=_ms(summary.get("availability_pct")),
        p50=_ms(summary.get("p50_ms")),
        p95=_ms(summary.get("p95_ms")),
        incidents=len(summary.get("incidents", [])),
        clean=hours_text(float(summary.get("clean_hours") or 0.0)),
        required=summary.get("required_hours", "-"),
    )


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    def body(session: Any, runner: Any) -> int:
        return _show(ctx, runner.status(list(STEP_IDS)))

    def measure_again(session: Any) -> None:
        session.fresh_measurements = True  # `validate` always measures; status/apply may reuse

    return with_session(ctx, body, prepare=measure_again)


def _show(ctx: CliContext, report: RunReport) -> int:
    code = exit_code(report)
    facts = {o.step_id: o.facts for o in report.outcomes}
    if ctx.json:
        document = report.to_json()
        document.update(
            mode="validate",
            exit_code=code,
            latency=facts.get(view.LATENCY) or None,
            offline=facts.get(view.OFFLINE) or None,
            monitor=facts.get(view.MONITOR) or None,
            fallback=facts.get(view.FALLBACK) or None,
        )
        emit_json(ctx, document)
        return code
    for outcome in report.outcomes:
        say(ctx, outcome_text(outcome))
        if outcome.step_id == view.LATENCY and outcome.facts.get("relations"):
            say(ctx, "\n".join(latency_lines(outcome.facts)))
        elif outcome.step_id == view.OFFLINE:
            lines = offline_lines(outcome.facts)
            if lines:
                say(ctx, "\n".join("  " + line for line in lines))
        elif outcome.step_id == view.MONITOR and outcome.facts:
            say(ctx, "  " + monitor_line(outcome.facts))
    return code
