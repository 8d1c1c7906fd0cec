"""The Supabase side: its transaction pooler (port 6543, no prepared statements, no session)
and foreign tables that its Data API would expose."""

from __future__ import annotations

from wizard.diagnose.core import CONFIRMED, POSSIBLE, Diagnosis, fix, msg, nothing
from wizard.diagnose.dispatch import handles
from wizard.diagnose.investigation import Investigation
from wizard.i18n import Message


def _pooler(evidence: list[Message], confidence: str) -> Diagnosis:
    cause = msg("diagnose.cause.transaction_pooler")
    fixes = [fix("diagnose.fix.session_pooler_port")]
    return Diagnosis("transaction-pooler", cause, evidence, fixes, confidence)


@handles("transaction-pooler")
def transaction_pooler(inv: Investigation) -> list[Diagnosis]:
    evidence = inv.pasted()
    evidence.append(msg("diagnose.evidence.supabase_port", port=inv.cfg.supabase.port))
    proved = "6543" in inv.inp.text or inv.cfg.supabase.port == 6543
    return [_pooler(evidence, CONFIRMED if proved else POSSIBLE)]


def diagnose_config(messages: list[Message]) -> list[Diagnosis]:
    """Diagnoses for a config that does not load (no context exists yet)."""
    return [_pooler([m], CONFIRMED) for m in messages if m.key == "config.err.transaction_pooler"]


@handles("api-exposure")
def api_exposure(inv: Investigation) -> list[Diagnosis]:
    """Supabase's lint 0017: a foreign table in a schema the Data API serves."""
    conn = inv.supabase()
    if conn is None:
        return [nothing([])]
    from wizard.steps.supabase_checks import lint_findings

    try:
        findings = [m for m in lint_findings(conn) if m.key.endswith("lint_0017")]
    except Exception as exc:
        inv.probe_failed("lints", exc)
        return [nothing([])]
    if not findings:
        return [nothing([msg("diagnose.evidence.no_lint")])]
    tables = ", ".join(str(m.params.get("table", "")) for m in findings)
    cause = msg("diagnose.cause.api_exposure", tables=tables)
    fixes = [fix("diagnose.fix.private_schema")]
    return [Diagnosis("foreign-table-in-api", cause, findings, fixes, CONFIRMED)]
