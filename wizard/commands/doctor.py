"""`fdw-wizard doctor [--symptom S] [--error TEXT] [--json]`: find the cause, not a list of guesses.

Without options: run every step's check (changes nothing), diagnose each failed one, and print
causes most likely first, with what the probes saw and the fix (naming the `apply --only` step
when the wizard owns the fix). With ``--symptom`` / ``--error``: diagnose that directly. A pasted
error is masked (wizard.redact) before it is used or shown.

Exit codes: 0 nothing wrong found, 1 problems diagnosed, 2 usage or config, 3 operator action
needed (a missing secret, a manual decision).
"""

from __future__ import annotations

import argparse
import re
from typing import Any

from wizard import exitcodes
from wizard.diagnose import SYMPTOM_IDS, Diagnosis, Fix, diagnose, diagnose_config
from wizard.engine import Status, StepError, StepOutcome
from wizard.i18n import Message, render, t
from wizard.redact import redact, redact_obj
from wizard.safetext import visible, visible_obj

from . import CliContext
from .common import add_command
from .output import emit_json, load_config_or_report, say


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    parser = add_command(sub, common, "doctor", run)
    parser.add_argument(
        "--symptom",
        metavar="S",
        choices=SYMPTOM_IDS,
        help=t("diagnose.opt.symptom", None, choices=", ".join(SYMPTOM_IDS)),
    )
    parser.add_argument("--error", metavar="TEXT", help=t("diagnose.opt.error"))


def _outcome_text(outcome: StepOutcome) -> str:
    """What a failed check said, in English (the classifier reads English server text)."""
    parts = [outcome.error or "", outcome.message.render("en")]
    parts += [d.render("en") for d in outcome.details]
    return redact("\n".join(p for p in parts if p))


def _symptom_for(outcome: StepOutcome) -> str | None:
    facts = outcome.facts or {}
    # The public-address check (its facts name the host and what kind of address it is): a
    # CGNAT, private, link-local or unresolved address is the runbook's CGNAT case.
    if "public_host" in facts and (facts.get("kind") == "cgnat" or outcome.status is Status.FAILED):
        return "cgnat"
    return None


def _operator_diagnosis(outcome: StepOutcome) -> Diagnosis:
    fixes = [Fix(outcome.fix)] if outcome.fix is not None else []
    return Diagnosis(
        "operator-action",
        Message("diagnose.cause.operator", {"message": render(outcome.message)}),
        [],
        fixes,
        "confirmed",
    )


def _step_failure(outcome: StepOutcome) -> Diagnosis:
    return Diagnosis(
        "step-failed",
        Message("diagnose.cause.step_failed", {"message": render(outcome.message)}),
        list(outcome.details),
        [Fix(outcome.fix, outcome.step_id)] if outcome.fix is not None else [],
        "confirmed",
    )


def _merge(found: list[tuple[str | None, Diagnosis]]) -> list[tuple[str | None, Diagnosis]]:
    """One entry per diagnosis id (the first, i.e. the earliest step, wins)."""
    seen: set[str] = set()
    merged: list[tuple[str | None, Diagnosis]] = []
    for step, diagnosis in found:
        if diagnosis.id in seen:
            continue
        seen.add(diagnosis.id)
        merged.append((step, diagnosis))
    return merged


def _print(ctx: CliContext, found: list[tuple[str | None, Diagnosis]]) -> None:
    say(ctx, t("diagnose.cli.heading"))
    for step, diagnosis in found:
        say(
            ctx,
            t(
                "diagnose.cli.cause",
                None,
                confidence=t("diagnose.confidence." + diagnosis.confidence),
                id=diagnosis.id,
                cause=render(diagnosis.cause),
            ),
        )
        if step:
            say(ctx, "    " + t("diagnose.cli.from_step", None, step=step))
        for evidence in diagnosis.evidence:
            say(ctx, "    " + t("diagnose.cli.seen", None, evidence=render(evidence)))
        for fix in diagnosis.fixes:
            if fix.step_id:
                line = t("diagnose.cli.fix_step", None, fix=render(fix.message), step=fix.step_id)
            else:
                line = t("diagnose.cli.fix", None, fix=render(fix.message))
            say(ctx, "    " + line)


def _exit_code(found: list[tuple[str | None, Diagnosis]]) -> int:
    problems = [d for _, d in found if d.problem]
    if any(d.id != "operator-action" for d in problems):
        return exitcodes.FAILED
    if problems:
        return exitcodes.OPERATOR
    return exitcodes.OK


def _config_failure(ctx: CliContext) -> int | None:
    """A config that does not load may itself be the diagnosis (port 6543)."""
    from wizard.config import ConfigError, ConfigMissing, load_config

    try:
        load_config(ctx.config_path)
    except ConfigMissing:
        return None
    except ConfigError as exc:
        found = diagnose_config(exc.messages)
        if not found:
            return None
        pairs: list[tuple[str | None, Diagnosis]] = [(None, d) for d in found]
        if ctx.json:
            emit_json(ctx, _document(pairs, exitcodes.USAGE, {}))
        else:
            _print(ctx, pairs)
        return exitcodes.USAGE
    return None


def _document(
    found: list[tuple[str | None, Diagnosis]], code: int, checked: dict[str, str]
) -> dict[str, Any]:
    diagnoses = []
    for step, diagnosis in found:
        item = diagnosis.to_json()
        if step:
            item["step"] = step
        diagnoses.append(item)
    # visible_obj: no control bytes and no lone surrogates (undecodable argv bytes), so the
    # document is valid UTF-8 whatever the operator pasted.
    return visible_obj(  # type: ignore[no-any-return]
        redact_obj({"exit_code": code, "diagnoses": diagnoses, "checked": checked})
    )


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from wizard.session import open_session

    handled = _config_failure(ctx)
    if handled is not None:
        return handled
    config, code = load_config_or_report(ctx)
    if config is None:
        return code
    # Operator input is shown back: escape terminal control sequences (ESC...), other control
    # characters and undecodable bytes (surrogateescape'd argv) before anything uses it.
    pasted = visible(redact(args.error), keep="\n\t") if args.error else None
    session, runner = open_session(config, ctx.config_path, interactive=False)
    interrupted = runner.interrupted_run()
    if interrupted is not None:
        # Before any diagnosis: a run died midway, and the way out is its own command.
        from wizard.engine import interrupted_message

        say(ctx, "!! " + render(interrupted_message(interrupted)), err=True)
    found: list[tuple[str | None, Diagnosis]] = []
    checked: dict[str, str] = {}
    blocked = 0
    try:
        if pasted is not None or args.symptom:
            found = [(None, d) for d in diagnose(session, error=pasted, symptom=args.symptom)]
        else:
            try:
                report = runner.status()
            except StepError as exc:
                say(ctx, exc.message, err=True)
                return exitcodes.USAGE
            for outcome in report.outcomes:
                checked[outcome.step_id] = outcome.status.value
                if outcome.status is Status.BLOCKED:
                    blocked += 1
                    continue
                if outcome.operator_action:
                    found.append((outcome.step_id, _operator_diagnosis(outcome)))
                    continue
                # A step that found Supabase lints (the test queries run the linter): their
                # diagnosis says which objects the API exposes.
                if outcome.facts and outcome.facts.get("lints"):
                    items = diagnose(session, symptom="api-exposure")
                    found += [(outcome.step_id, d) for d in items if d.problem]
                if outcome.status is not Status.FAILED:
                    continue
                symptom = _symptom_for(outcome)
                items = diagnose(
                    session,
                    error=None if symptom else _outcome_text(outcome),
                    symptom=symptom,
                    step_id=outcome.step_id,
                )
                if all(d.id == "unrecognized" for d in items):
                    items = [_step_failure(outcome)]  # not an error we know: the step's own words
                found += [(outcome.step_id, d) for d in items]
            found = _merge(found)
    finally:
        session.close()
    code = _exit_code(found)
    elsewhere = _foreign_host(pasted, config) if pasted else None
    if ctx.json:
        document = _document(found, code, checked)
        if elsewhere is not None:
            document["note"] = elsewhere.to_json()
        emit_json(ctx, document)
        return code
    if elsewhere is not None:
        say(ctx, "!! " + render(elsewhere))
    problems = [(s, d) for s, d in found if d.problem]
    if problems:
        _print(ctx, problems)
        if blocked:
            say(ctx, t("diagnose.cli.blocked", None, count=blocked))
    elif found:
        _print(ctx, found)  # the measurements behind "nothing found"
        say(ctx, t("diagnose.cli.nothing"))
    else:
        say(ctx, t("diagnose.cli.healthy"))
    return code


_HOST_IN_ERROR = re.compile(
    r'(?:server at|host name|host|address)\s+"([^"]+)"|\bhost=([^\s,;]+)', re.IGNORECASE
)


def _foreign_host(pasted: str, config: Any) -> Message | None:
    """The pasted error names a host the config does not: the probes below are of the
    configured servers, so say so first (it may be another setup, or an outdated config)."""
    named = {a or b for a, b in _HOST_IN_ERROR.findall(pasted)}
    named = {h.strip("[]").lower() for h in named if h}
    known = {
        str(h).strip("[]").lower()
        for h in (config.local.host, config.supabase.host, config.exposure.public_host)
        if h
    }
    if "localhost" in known or "localhost" in named:
        known |= {"localhost", "127.0.0.1", "::1"}
    foreign = sorted(named - known)
    if not foreign:
        return None
    return Message(
        "diagnose.cli.foreign_host",
        {"hosts": ", ".join(foreign), "configured": ", ".join(sorted(known)) or "-"},
    )
