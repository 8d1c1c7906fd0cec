"""From the family of a problem to its handler, and the entry points that run one.

A domain module registers a handler with ``@handles("family")``; the package's ``__init__``
imports every domain module, so the table is full before anyone can call :func:`diagnose`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from wizard.diagnose.classify import SYMPTOM_IDS, Input, family, text_of
from wizard.diagnose.core import RANK, Diagnosis, unexplained
from wizard.diagnose.investigation import Investigation
from wizard.step_context import StepContext

Handler = Callable[[Investigation], list[Diagnosis]]
H = TypeVar("H", bound=Handler)

# family id -> the function that tells its causes apart (tests check it covers every symptom).
HANDLERS: dict[str, Handler] = {}


def handles(*families: str) -> Callable[[H], H]:
    """Register the decorated function as the handler of ``families`` (symptom ids)."""

    def register(handler: H) -> H:
        for name in families:
            if name in HANDLERS:
                raise ValueError(f"two handlers for the family {name!r}")
            HANDLERS[name] = handler
        return handler

    return register


def run(ctx: StepContext, inp: Input) -> list[Diagnosis]:
    """Diagnose ``inp`` on ``ctx`` (also called again by a handler that found, on a real login,
    an error of another family)."""
    inv = Investigation(ctx, inp)
    name = family(inp)
    try:
        result = [unexplained(inp.text, [])] if name is None else HANDLERS[name](inv)
    finally:
        inv.close()
    for diagnosis in result:
        for skip in inv.skips:
            if skip not in diagnosis.evidence:
                diagnosis.evidence.append(skip)
    # Most likely first: confirmed before likely before possible, problems before "nothing".
    result.sort(key=lambda d: (not d.problem, RANK.get(d.confidence, 3)))
    return result


def diagnose(
    ctx: StepContext,
    *,
    error: str | BaseException | None = None,
    sqlstate: str | None = None,
    symptom: str | None = None,
    step_id: str | None = None,
) -> list[Diagnosis]:
    """Likely causes of ``error`` (text or exception) / ``sqlstate`` / ``symptom`` (one of
    :data:`SYMPTOM_IDS`), most likely first; ``step_id`` (the checklist step that failed) helps
    tell which connection the error is about. Never raises for missing secrets, connections
    or config: those probes are reported as skipped in the evidence."""
    if symptom is not None and symptom not in SYMPTOM_IDS:
        raise ValueError(f"unknown symptom {symptom!r}; known: {', '.join(SYMPTOM_IDS)}")
    text, found_state = text_of(error)
    return run(ctx, Input(text, sqlstate or found_state, symptom, step_id))
