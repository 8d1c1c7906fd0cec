"""Which checklist items the validation views read (the TUI's dashboard and
`fdw-wizard validate`), named by what they show, so that no view spells a step id."""

from __future__ import annotations

LATENCY = "validate.latency"  # latency and pushdown per table and view
OFFLINE = "validate.offline"  # what a query does while the DW is down
MONITOR = "validate.monitor"  # the health log: availability, latency over time, the gate
FALLBACK = "app.fallback"  # the Storage JSON fallback
METRICS = "cleanup.report"  # the runbook's success metrics, before and after

# The dashboard's own checks, and what it re-reads with them.
DASHBOARD = (LATENCY, OFFLINE, MONITOR)
DASHBOARD_EXTRA = (METRICS,)
# `fdw-wizard validate`: "latency, pushdown, fallback, offline behaviour" + the monitor summary.
COMMAND = (FALLBACK, LATENCY, OFFLINE, MONITOR)
# Waiting for the monitoring window is not a failure of validation.
NOT_JUDGED = (MONITOR,)


def pushdown_words(flags: object) -> object:
    """The latency measurement's flags (``{limit: pushed, ...}``) in the operator's words."""
    from wizard.i18n import t

    if isinstance(flags, dict):
        words = [
            t(f"tui.pushdown.{kind}.{value}")
            for kind, value in flags.items()
            if value is not None and kind in ("limit", "aggregate", "join")
        ]
        return ", ".join(words) or "-"
    return flags


def read_label(read: object) -> str:
    """The latency measurement's read kinds (limit, count, aggregate) in the operator's words."""
    from wizard.i18n import current_language
    from wizard.i18n.format import terms

    return terms(read, "tui.read", current_language()) if isinstance(read, str) and read else ""
