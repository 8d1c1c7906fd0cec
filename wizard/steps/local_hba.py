"""local.hba: the pg_hba.conf rule that lets Supabase in as the reader (runbook 1.1), safely.

Default: `hostssl <db> <reader> <cidr> scram-sha-256` for each allowed CIDR, placed where it is
reached (before a reject or a broader rule), plus `hostnossl <db> <reader> all reject` so the
reader can never log in without TLS. The runbook's literal `host` rule is available as
`exposure.hba_connection_type: host`, with a warning.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from wizard.dwhost import discovery
from wizard.engine import (
    ApplyResult,
    CheckResult,
    FileEdit,
    NotUndoable,
    Plan,
    Risk,
    Status,
    Step,
)
from wizard.i18n import Message
from wizard.plan import SettingRisk, any_open_network, is_value
from wizard.step_context import StepContext
from wizard.steps.local_files import hba_judge, read_dw_file, restore_originals, write_judged

LABEL_ACCEPT = "Supabase FDW reader"
LABEL_REJECT = "Supabase FDW reader: TLS only"


def wanted_rules(ctx: StepContext) -> list[Any]:
    from wizard.dwhost.pgfiles.pg_hba import HbaRule, hba_quote

    cfg = ctx.config
    database = hba_quote(cfg.local.database)
    reader = hba_quote(cfg.reader.name)
    kind = cfg.exposure.hba_connection_type
    rules = [
        HbaRule(kind, (database,), (reader,), cidr, "scram-sha-256")
        for cidr in cfg.exposure.allowed_cidrs
    ]
    if kind == "hostssl" and rules:
        rules.append(HbaRule("hostnossl", (database,), (reader,), "all", "reject"))
    return rules


def _sample_ip(cidr: str) -> str:
    import ipaddress

    net = ipaddress.ip_network(cidr)
    return str(next(iter(net.hosts()), net.network_address))


def _server_judgement(conn: Any) -> tuple[list[str], list[str]]:
    """(errors PostgreSQL sees in pg_hba.conf, hostssl lines that only warn that ssl is off).

    A hostssl line while ssl is off is parsed and kept (the file loads, at reload and at
    start); pg_hba_file_rules shows it with its fields filled in and an error text. Any real
    error leaves the fields empty. The type tells them apart in every server language.
    """
    from wizard.dwhost.pgfiles.judge import hba_errors

    errors: list[str] = []
    ssl_off: list[str] = []
    for rule in hba_errors(conn):
        text = f"line {rule.line_number}: {rule.error}"
        if rule.type == "hostssl" or "SSL is disabled" in (rule.error or ""):
            ssl_off.append(text)
        else:
            errors.append(text)
    return sorted(errors), sorted(ssl_off)


def _ssl_on_in_files(conn: Any) -> bool:
    """Whether postgresql.conf (and its includes, auto.conf) turn ssl on: the last line wins."""
    from wizard.dwhost.pgfiles.judge import file_settings

    value = None
    for row in file_settings(conn):  # ordered by seqno
        if (row.name or "").lower() == "ssl" and row.setting is not None:
            value = row.setting.strip().lower()
    if not value:
        return False
    # PostgreSQL's booleans: on, 1, and any prefix of true / yes.
    return value in ("on", "1") or "true".startswith(value) or "yes".startswith(value)


class Hba(Step):
    id = "local.hba"
    phase = "local"
    requires = ("prereq.elevation",)  # pg_hba.conf: only a process allowed to write it
    settings_keys = (
        "exposure.allowed_cidrs",
        "exposure.acknowledge_open_to_internet",
        "exposure.hba_connection_type",
    )
    first_run_keys = ("exposure.allowed_cidrs", "exposure.acknowledge_open_to_internet")
    risks = frozenset({Risk.NETWORK})
    setting_risks = (
        SettingRisk("exposure.allowed_cidrs", Risk.NETWORK, "open_cidr", any_open_network),
        SettingRisk("exposure.hba_connection_type", Risk.SECURITY, "hba_host", is_value("host")),
    )

    def _file(self, ctx: StepContext) -> tuple[discovery.LocalFacts, Any]:
        from wizard.dwhost.pgfiles.pg_hba import HbaFile

        facts = discovery.discover_local(ctx.local_conn())
        return facts, read_dw_file(HbaFile.read, facts.hba_file)

    def _unreached(self, ctx: StepContext, hba: Any) -> list[Any]:
        """Wanted rules that are missing, or that an earlier rule would pre-empt."""
        cfg = ctx.config
        missing = []
        for rule in wanted_rules(ctx):
            ssl = "nossl" if rule.conn_type == "hostnossl" else "ssl"
            address = "203.0.113.10" if rule.address == "all" else _sample_ip(rule.address)
            first = hba.first_match(ssl, cfg.local.database, cfg.reader.name, address)
            if first is None or not first.same_as(rule):
                missing.append(rule)
        return missing

    def check(self, ctx: StepContext) -> CheckResult:
        cfg = ctx.config
        if not cfg.exposure.allowed_cidrs:
            return CheckResult(Status.MANUAL, Message("step.local.hba.no_cidrs"))
        facts, hba = self._file(ctx)
        errors, ssl_off = _server_judgement(ctx.local_conn())
        details = [Message("step.local.hba.server_error", {"error": e}) for e in errors]
        missing = self._unreached(ctx, hba)
        facts_json = {"hba_file": str(facts.hba_file)}
        if missing:
            details += [Message("step.local.hba.missing", {"rule": r.to_line()}) for r in missing]
            return CheckResult(
                Status.PENDING, Message("step.local.hba.pending"), details=details, facts=facts_json
            )
        if errors:
            return CheckResult(
                Status.FAILED, Message("step.local.hba.errors"), details=details, facts=facts_json
            )
        notes: list[Message] = []
        if ssl_off:
            # hostssl lines only warn while ssl is off (the file still loads); they start to
            # match once ssl is on. Not a failure of this step, unless ssl will never be on.
            lines = "; ".join(ssl_off)
            if _ssl_on_in_files(ctx.local_conn()):
                notes.append(Message("step.local.hba.takes_effect"))
            elif cfg.exposure.hba_connection_type != "hostssl":
                notes.append(Message("step.local.hba.ssl_off_lines", {"lines": lines}))
            elif cfg.exposure.tls.enabled:
                return CheckResult(
                    Status.PENDING,
                    Message("step.local.hba.waits_tls"),
                    details=[Message("step.local.hba.ssl_off_lines", {"lines": lines})],
                    facts=facts_json,
                )
            else:
                return CheckResult(
                    Status.FAILED,
                    Message("step.local.hba.tls_disabled"),
                    details=[Message("step.local.hba.ssl_off_lines", {"lines": lines})],
                    facts=facts_json,
                )
        return CheckResult(
            Status.DONE,
            Message(
                "step.local.hba.ok",
                {
                    "cidrs": ", ".join(cfg.exposure.allowed_cidrs),
                    "type": cfg.exposure.hba_connection_type,
                },
            ),
            details=notes,
            facts=facts_json,
        )

    def plan(self, ctx: StepContext) -> Plan:
        cfg = ctx.config
        facts, hba = self._file(ctx)
        before = hba.to_bytes()
        plan = Plan(self.id, risks={Risk.NETWORK})
        current = hba
        for rule in self._unreached(ctx, hba):
            label = LABEL_REJECT if rule.method == "reject" else LABEL_ACCEPT
            edit = current.ensure_rule(
                rule, label=label, today=date.today(), ahead_of_overlapping_accepts=True
            )
            current = edit.file
            for other in edit.position.overlaps:
                plan.warnings.append(
                    Message(
                        "step.local.hba.overlap", {"rule": rule.to_line(), "other": other.to_line()}
                    )
                )
        if hba.text.had_bom:
            plan.warnings.append(Message("step.local.conf.bom", {"path": str(facts.hba_file)}))
        if cfg.exposure.hba_connection_type == "host":
            plan.warnings.append(Message("step.local.hba.plain_host"))
        if any(c in ("0.0.0.0/0", "::/0") for c in cfg.exposure.allowed_cidrs):
            plan.warnings.append(Message("step.local.hba.open"))
        after = current.to_bytes()
        if after != before:
            plan.actions.append(
                FileEdit(
                    facts.hba_file,
                    before,
                    after,
                    Message("step.local.hba.edit", {"path": str(facts.hba_file)}),
                    encoding=hba.text.encoding,
                )
            )
        return plan

    def apply(self, ctx: StepContext, plan: Plan) -> ApplyResult:
        edits = [a for a in plan.actions if isinstance(a, FileEdit)]
        result = ApplyResult()
        if edits:
            result.backups = write_judged(ctx, self.id, edits, hba_judge)
            result.changes = [e.description for e in edits]
            ctx.remember(self.id, rules=[r.to_line() for r in wanted_rules(ctx)])
        return result

    def verify(self, ctx: StepContext) -> CheckResult:
        checked = self.check(ctx)
        takes_effect = Message("step.local.hba.takes_effect")
        if checked.status is Status.DONE and takes_effect not in checked.details:
            checked.details.append(takes_effect)
        return checked

    def undo(self, ctx: StepContext) -> ApplyResult:
        restored, kept = restore_originals(ctx, self.id)
        result = ApplyResult()
        result.changes = [Message("step.local.files.restored", {"path": p}) for p in restored]
        if kept:
            # Someone edited pg_hba.conf after us: remove only our rules, keep their work.
            from wizard.dwhost.pgfiles.pg_hba import HbaFile
            from wizard.fileio import atomic_write_bytes

            for path_text in kept:
                hba = HbaFile.read(path_text)
                before = hba.to_bytes()
                for rule in wanted_rules(ctx):
                    hba, _changed = hba.remove_rule(rule, only_marked=True)
                if hba.to_bytes() != before:
                    atomic_write_bytes(Path(path_text), hba.to_bytes())
                    result.changes.append(Message("step.local.hba.removed", {"path": path_text}))
        ctx.remember(self.id, rules=None)
        if not result.changes:
            # Nothing of the wizard's was in the file: say so instead of "undone".
            raise NotUndoable(Message("step.local.hba.nothing_to_undo"))
        return result
