"""What a diagnosis is: a cause, the evidence for it, the fixes, and how sure it is.

Every domain module builds its results from these pieces; ``fix()`` looks up the wizard step
that applies a fix in :data:`FIX_STEPS`, so a fix names the same step wherever it is offered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from wizard.i18n import Message
from wizard.measure.probes import ProbeResult
from wizard.redact import redact, redact_obj

CONFIRMED, LIKELY, POSSIBLE = "confirmed", "likely", "possible"
NOTHING_FOUND = "nothing-found"
RANK = {CONFIRMED: 0, LIKELY: 1, POSSIBLE: 2}

# The checklist step that applies a fix, for the fixes the wizard owns; a fix not listed here is
# for the operator to do (tests/test_diagnose.py checks that every step named here exists).
FIX_STEPS: dict[str, str] = {
    "diagnose.fix.analyze": "supabase.analyze",
    "diagnose.fix.cgnat": "prereq.exposure",
    "diagnose.fix.connection_limit": "local.reader-role",
    "diagnose.fix.fetch_size": "supabase.server",
    "diagnose.fix.firewall": "local.firewall",
    "diagnose.fix.grant_dw": "local.reader-role",
    "diagnose.fix.hba": "local.hba",
    "diagnose.fix.hba_scram": "local.hba",
    "diagnose.fix.import": "supabase.import",
    "diagnose.fix.import_collate": "supabase.import",
    "diagnose.fix.listen": "local.listen",
    "diagnose.fix.mappings": "supabase.user-mappings",
    "diagnose.fix.private_schema": "supabase.import",
    "diagnose.fix.public_address": "prereq.exposure",
    "diagnose.fix.public_port": "supabase.server",
    "diagnose.fix.reader_password": "local.reader-role",
    "diagnose.fix.reader_role": "local.reader-role",
    "diagnose.fix.rehash": "local.reader-role",
    "diagnose.fix.reload": "local.reload",
    "diagnose.fix.restart": "local.reload",
    "diagnose.fix.server_options": "supabase.server",
    "diagnose.fix.server_sslmode": "supabase.server",
    "diagnose.fix.tls": "local.tls",
}


@dataclass(frozen=True)
class Fix:
    message: Message
    step_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"message": self.message.to_json(), "step": self.step_id}
        if self.step_id:
            out["command"] = f"fdw-wizard apply --only {self.step_id}"
        return out


@dataclass
class Diagnosis:
    id: str
    cause: Message
    evidence: list[Message] = field(default_factory=list)
    fixes: list[Fix] = field(default_factory=list)
    confidence: str = POSSIBLE

    @property
    def problem(self) -> bool:
        """False for the "nothing found" report (measurements only)."""
        return self.id != NOTHING_FOUND

    def to_json(self) -> dict[str, Any]:
        return redact_obj(  # type: ignore[no-any-return]
            {
                "id": self.id,
                "confidence": self.confidence,
                "cause": self.cause.to_json(),
                "evidence": [e.to_json() for e in self.evidence],
                "fixes": [f.to_json() for f in self.fixes],
            }
        )


def msg(msg_key: str, /, **params: Any) -> Message:
    return Message(msg_key, params)


def fix(msg_key: str, /, **params: Any) -> Fix:
    """The fix ``msg_key`` (a ``diagnose.fix.*`` message) with the step that applies it, if the
    wizard owns it (:data:`FIX_STEPS`)."""
    return Fix(Message(msg_key, params), FIX_STEPS.get(msg_key))


def seen(*results: ProbeResult) -> list[Message]:
    """What the probes that ran saw (a skipped probe is reported once, by the dispatcher)."""
    return [r.message for r in results if not r.skipped]


def excerpt(text: str, limit: int = 400) -> str:
    text = redact(" ".join(text.split()))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def pasted(text: str) -> list[Message]:
    """The operator's error text as evidence (nothing when a symptom was picked instead)."""
    return [msg("diagnose.evidence.text", text=excerpt(text))] if text else []


def nothing(evidence: list[Message]) -> Diagnosis:
    return Diagnosis(NOTHING_FOUND, msg("diagnose.cause.nothing"), evidence, [], CONFIRMED)


def unexplained(text: str, evidence: list[Message]) -> Diagnosis:
    """What the operator gave belongs to no family we know (or no probe could tell)."""
    cause = msg("diagnose.cause.unrecognized")
    fixes = [fix("diagnose.fix.status")]
    return Diagnosis("unrecognized", cause, [*pasted(text), *evidence], fixes, POSSIBLE)
