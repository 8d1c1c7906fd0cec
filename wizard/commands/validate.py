"""`fdw-wizard validate [--json]`: the Phase 4 checks, live (latency and pushdown per table and
view, the offline time-to-error, the health log). Changes nothing on the site.

Exit: 0 when latency and offline pass (the monitoring window may still be running: that is
waiting, not a fault); 1 when a check failed; 3 when the operator must act first (a missing
secret, validation.offline_probe_host on a real site)."""

from __future__ import annotations

import argparse
from typing import Any

from wizard import exitcodes
from wizard.engine import RunReport, Status, StepError
from wizard.i18n import Message, render, t
from wizard.session import open_session

from . import CliContext
from .output import LivePrinter, emit_json, load_config_or_report, outcome_text, say

# DESIGN: "latency, pushdown, fallback, offline behaviour" — plus the monitoring summary.
STEP_IDS = ("app.fallback", "validate.latency", "validate.offline", "validate.monitor")


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser("validate", parents=[common], help=t("cli.cmd.validate"))
    parser.add_argument("--json", action="store_true", help=t("cli.opt.json"))
    parser.set_defaults(handler=run)


def exit_code(report: RunReport) -> int:
    mine = [o for o in report.outcomes if o.step_id in STEP_IDS]
    if any(o.status is Status.FAILED and not o.operator_action for o in mine):
        return exitcodes.FAILED
    if any(o.operator_action for o in mine):
        return exitcodes.OPERATOR
    judged = [o for o in mine if o.step_id != "validate.monitor"]
    if any(o.status is Status.BLOCKED for o in mine):
        return exitcodes.FAILED  # a prerequisite (the FDW setup) is not done
    if any(o.status is Status.PENDING for o in judged):
        return exitcodes.OPERATOR  # e.g. validation.offline_probe_host to set
    return exitcodes.OK


def _ms(value: Any) -> str:
    return "-" if value is None else f"{value:g}"


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
    head = f"  {t('validate.cli.header'):<44} {'p50':>9} {'p95':>9} {'max':>9} {'rows':>7}  "
    lines.append(head + t("validate.cli.pushdown"))
    for rel in facts.get("relations", []):
        for read in rel["reads"]:
            flags = ", ".join(f"{k}={v}" for k, v in read["pushdown"].items() if v)
            verdict = t("validate.cli.verdict." + read["verdict"])
            name = f"{rel['relation']} / {read['read']}"
            lines.append(
                f"  {name:<44} {_ms(read.get('p50_ms')):>9} {_ms(read.get('p95_ms')):>9}"
                f" {_ms(read.get('max_ms')):>9} {read.get('rows', 0):>7}  {flags or '-'}"
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
            result = f"{_ms(probe.get('seconds'))} s — {probe.get('error') or '-'}"
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
    from wizard.monitor import hours_text

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
    config, code = load_config_or_report(ctx)
    if config is None:
        return code
    session, runner = open_session(
        config,
        ctx.config_path,
        interactive=False,
        sink=LivePrinter(ctx, show_plans=False),
    )
    session.fresh_measurements = True  # `validate` always measures; status/apply may reuse
    try:
        report = runner.status(list(STEP_IDS))
    except StepError as exc:
        say(ctx, exc.message, err=True)
        return exitcodes.USAGE
    finally:
        session.close()
    code = exit_code(report)
    facts = {o.step_id: o.facts for o in report.outcomes}
    if ctx.json:
        document = report.to_json()
        document.update(
            mode="validate",
            exit_code=code,
            latency=facts.get("validate.latency") or None,
            offline=facts.get("validate.offline") or None,
            monitor=facts.get("validate.monitor") or None,
            fallback=facts.get("app.fallback") or None,
        )
        emit_json(ctx, document)
        return code
    for outcome in report.outcomes:
        say(ctx, outcome_text(outcome))
        if outcome.step_id == "validate.latency" and outcome.facts.get("relations"):
            say(ctx, "\n".join(latency_lines(outcome.facts)))
        elif outcome.step_id == "validate.offline":
            lines = offline_lines(outcome.facts)
            if lines:
                say(ctx, "\n".join("  " + line for line in lines))
        elif outcome.step_id == "validate.monitor" and outcome.facts:
            say(ctx, "  " + monitor_line(outcome.facts))
    return code
