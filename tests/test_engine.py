"""The runner: ordering, --only, dry-run, blocking, confirmation, state, audit, redaction.

The steps here are small real steps over files in a temp dir (no database involved), so that
what a user would lose or see is directly observable: the file's bytes, the state, the audit.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from wizard import exitcodes
from wizard.engine import (
    ApplyResult,
    CheckResult,
    Event,
    FileEdit,
    NotUndoable,
    Plan,
    Risk,
    Runner,
    SqlAction,
    Status,
    Step,
    StepError,
    UnknownStep,
    order_steps,
)
from wizard.fileio import atomic_write_bytes
from wizard.i18n import Message
from wizard.redact import register
from wizard.state import AuditLog, StateStore

SECRET = "s3cr3t-Value-never-shown-0123456789"


class Ctx:
    """The part of StepContext the Runner itself uses (these steps only need ``root``)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.run_step_ids: frozenset[str] = frozenset()
        self.background: dict[str, Any] = {}


class WriteFile(Step):
    """Makes ``<root>/<name>`` contain ``content``; undo restores the backup."""

    phase = "local"

    def __init__(self, step_id: str, name: str, content: str, requires: tuple[str, ...] = ()):
        self.id = step_id  # type: ignore[misc]
        self.requires = requires  # type: ignore[misc]
        self.name = name
        self.content = content.encode()
        self.plan_risks: set[Risk] = set()

    def path(self, ctx: Ctx) -> Path:
        return ctx.root / self.name

    def check(self, ctx: Ctx) -> CheckResult:
        path = self.path(ctx)
        if path.exists() and path.read_bytes() == self.content:
            return CheckResult(Status.DONE, Message("engine.applied"))
        return CheckResult(Status.PENDING, Message("engine.would_change"))

    def plan(self, ctx: Ctx) -> Plan:
        path = self.path(ctx)
        before = path.read_bytes() if path.exists() else None
        edit = FileEdit(path, before, self.content, Message("engine.would_change"))
        return Plan(self.id, [edit], risks=set(self.plan_risks))

    def apply(self, ctx: Ctx, plan: Plan) -> ApplyResult:
        edit = plan.actions[0]
        assert isinstance(edit, FileEdit)
        backup = atomic_write_bytes(edit.path, edit.after)
        return ApplyResult([Message("engine.applied")], [str(backup)] if backup else [])


class Broken(Step):
    phase = "local"

    def __init__(self, step_id: str, requires: tuple[str, ...] = ()) -> None:
        self.id = step_id  # type: ignore[misc]
        self.requires = requires  # type: ignore[misc]

    def check(self, ctx: Any) -> CheckResult:
        raise StepError(
            Message("db.err.refused", {"target": "local", "detail": "password=" + SECRET})
        )


class SecretSql(Step):
    id = "supabase.secret-sql"
    phase = "supabase"

    def check(self, ctx: Any) -> CheckResult:
        return CheckResult(Status.PENDING, Message("engine.would_change"))

    def plan(self, ctx: Any) -> Plan:
        register(SECRET)  # what the secret store does with every value it hands out
        sql = f"CREATE USER MAPPING FOR x SERVER s OPTIONS (password '{SECRET}')"
        return Plan(self.id, [SqlAction("supabase", sql, Message("engine.would_change"))])

    def apply(self, ctx: Any, plan: Plan) -> ApplyResult:
        return ApplyResult([Message("engine.applied")])

    def verify(self, ctx: Any) -> CheckResult:
        return CheckResult(Status.DONE, Message("engine.applied"))


def make_runner(tmp_path: Path, steps: list[Step], events: list[Event] | None = None) -> Runner:
    config_path = tmp_path / "fdw-wizard.yaml"
    return Runner(
        Ctx(tmp_path),
        steps,
        state=StateStore(config_path, tmp_path / "state.json"),
        audit=AuditLog(config_path, tmp_path / "audit.jsonl"),
        sink=(events.append if events is not None else None),
    )


def test_dry_run_changes_nothing_and_shows_the_diff(tmp_path: Path) -> None:
    target = tmp_path / "postgresql.conf"
    target.write_bytes(b"port = 5432\r\n")
    step = WriteFile("local.listen", "postgresql.conf", "port = 6000\r\n")
    report = make_runner(tmp_path, [step]).apply(dry_run=True)
    assert target.read_bytes() == b"port = 5432\r\n"
    assert list(tmp_path.glob("*.bak")) == []
    (outcome,) = report.outcomes
    assert outcome.status is Status.PENDING
    assert outcome.plan is not None
    diff = outcome.plan.to_json()["actions"][0]["diff"]
    assert "-port = 5432" in diff and "+port = 6000" in diff
    assert report.exit_code == exitcodes.OK


def test_apply_then_second_run_changes_nothing(tmp_path: Path) -> None:
    step = WriteFile("local.listen", "a.conf", "x = 1\n")
    (tmp_path / "a.conf").write_text("x = 0\n")
    first = make_runner(tmp_path, [step]).apply()
    assert first.outcomes[0].status is Status.DONE and first.outcomes[0].changed
    backups = first.outcomes[0].backups
    assert len(backups) == 1 and Path(backups[0]).read_text() == "x = 0\n"
    second = make_runner(tmp_path, [step]).apply()
    assert second.outcomes[0].status is Status.DONE and not second.outcomes[0].changed
    assert len(list(tmp_path.glob("a.conf.*.bak"))) == 1


def test_failed_prerequisite_blocks_dependents(tmp_path: Path) -> None:
    steps: list[Step] = [
        Broken("prereq.local-connection"),
        WriteFile("local.hba", "hba.conf", "h\n", requires=("prereq.local-connection",)),
        WriteFile("local.reload", "r", "r\n", requires=("local.hba",)),
    ]
    report = make_runner(tmp_path, steps).apply()
    statuses = [(o.step_id, o.status) for o in report.outcomes]
    assert statuses == [
        ("prereq.local-connection", Status.FAILED),
        ("local.hba", Status.BLOCKED),
        ("local.reload", Status.BLOCKED),
    ]
    assert not (tmp_path / "hba.conf").exists()
    assert report.exit_code == exitcodes.FAILED
    assert report.outcomes[1].message.params == {"step": "prereq.local-connection"}


def test_only_checks_unselected_prerequisites_without_changing_them(tmp_path: Path) -> None:
    first = WriteFile("local.listen", "a", "a\n")
    second = WriteFile("local.hba", "b", "b\n", requires=("local.listen",))
    report = make_runner(tmp_path, [first, second]).apply(["local.hba"])
    assert [(o.step_id, o.status) for o in report.outcomes] == [("local.hba", Status.BLOCKED)]
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
    (tmp_path / "a").write_text("a\n")
    report = make_runner(tmp_path, [first, second]).apply(["local.hba"])
    assert report.outcomes[0].status is Status.DONE
    assert (tmp_path / "b").read_text() == "b\n"


def test_only_accepts_phases_and_rejects_unknown_ids(tmp_path: Path) -> None:
    steps: list[Step] = [WriteFile("local.a", "a", "a\n"), SecretSql()]
    report = make_runner(tmp_path, steps).apply(["supabase"], dry_run=True)
    assert [o.step_id for o in report.outcomes] == ["supabase.secret-sql"]
    with pytest.raises(UnknownStep) as info:
        make_runner(tmp_path, steps).apply(["local.nope"])
    assert "local.nope" in info.value.message.render("en")


def test_order_follows_prerequisites_then_checklist() -> None:
    a = WriteFile("local.b", "b", "", requires=("local.a",))
    b = WriteFile("local.a", "a", "")
    c = WriteFile("local.c", "c", "")
    assert [s.id for s in order_steps([a, c, b])] == ["local.a", "local.b", "local.c"]


def test_risky_plan_needs_confirmation(tmp_path: Path) -> None:
    step = WriteFile("local.reload", "pid", "restart\n")
    step.plan_risks = {Risk.RESTART}
    asked: list[str] = []

    def decline(s: Step, plan: Plan) -> bool:
        asked.append(s.id)
        return False

    report = make_runner(tmp_path, [step]).apply(confirm=decline)
    assert asked == ["local.reload"]
    assert report.outcomes[0].status is Status.SKIPPED
    assert report.exit_code == exitcodes.OPERATOR
    assert not (tmp_path / "pid").exists()
    report = make_runner(tmp_path, [step]).apply(confirm=lambda s, p: True)
    assert report.outcomes[0].status is Status.DONE


def test_events_stream_in_order(tmp_path: Path) -> None:
    events: list[Event] = []
    make_runner(tmp_path, [WriteFile("local.a", "a", "a\n")], events).apply()
    kinds = [e.kind for e in events]
    assert kinds == [
        "run-started",
        "step-started",
        "step-checked",
        "plan-ready",
        "step-finished",
        "run-finished",
    ]
    assert events[-2].status is Status.DONE


def test_state_and_audit_record_changes_without_secrets(tmp_path: Path) -> None:
    events: list[Event] = []
    steps: list[Step] = [SecretSql(), Broken("prereq.local-connection")]
    report = make_runner(tmp_path, steps, events).apply()
    assert {o.step_id: o.status for o in report.outcomes} == {
        "supabase.secret-sql": Status.DONE,
        "prereq.local-connection": Status.FAILED,
    }
    state = json.loads((tmp_path / "state.json").read_text())
    assert state["steps"]["supabase.secret-sql"]["status"] == "done"
    assert state["steps"]["prereq.local-connection"]["status"] == "failed"
    assert "last_error" in state["steps"]["prereq.local-connection"]
    audit = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [a["step"] for a in audit] == ["supabase.secret-sql", "prereq.local-connection"]
    assert {"at", "user", "host", "step", "action", "changes", "backups"} <= set(audit[0])
    assert "CREATE USER MAPPING" in audit[0]["plan"]["actions"][0]["sql"]
    everything = (
        (tmp_path / "state.json").read_text()
        + (tmp_path / "audit.jsonl").read_text()
        + json.dumps(report.to_json())
        + json.dumps([e.to_json() for e in events])
    )
    assert SECRET not in everything
    assert "********" in everything


def test_status_blocks_without_running_dependent_checks(tmp_path: Path) -> None:
    calls: list[str] = []

    class Counting(WriteFile):
        def check(self, ctx: Ctx) -> CheckResult:
            calls.append(self.id)
            return super().check(ctx)

    steps: list[Step] = [
        Broken("prereq.local-connection"),
        Counting("local.a", "a", "a\n", requires=("prereq.local-connection",)),
    ]
    report = make_runner(tmp_path, steps).status()
    assert [o.status for o in report.outcomes] == [Status.FAILED, Status.BLOCKED]
    assert calls == []


def test_undo_in_reverse_and_not_undoable_is_reported(tmp_path: Path) -> None:
    class Undoable(WriteFile):
        def undo(self, ctx: Ctx) -> ApplyResult:
            self.path(ctx).unlink()
            return ApplyResult([Message("engine.undone")])

    steps: list[Step] = [Undoable("local.a", "a", "a\n"), WriteFile("local.b", "b", "b\n")]
    make_runner(tmp_path, steps).apply()
    report = make_runner(tmp_path, steps).undo()
    assert [(o.step_id, o.status) for o in report.outcomes] == [
        ("local.b", Status.NOT_APPLICABLE),
        ("local.a", Status.PENDING),
    ]
    assert not (tmp_path / "a").exists() and (tmp_path / "b").exists()
    with pytest.raises(NotUndoable):
        WriteFile("x", "x", "").undo(Ctx(tmp_path))


class Chore(Step):
    """A manual step: only the operator's word makes it done."""

    id = "app.chore"
    phase = "app"
    manual = True

    def check(self, ctx: Any) -> CheckResult:
        return CheckResult(Status.MANUAL, Message("engine.would_change"))

    def confirm(self, ctx: Any) -> ApplyResult:
        return ApplyResult([Message("engine.confirmed")])


def test_only_a_step_declared_manual_can_be_confirmed(tmp_path: Path) -> None:
    steps: list[Step] = [Chore(), WriteFile("local.a", "a", "a\n")]
    report = make_runner(tmp_path, steps).confirm_manual(["app.chore"])
    assert [(o.step_id, o.status, o.changed) for o in report.outcomes] == [
        ("app.chore", Status.DONE, True)
    ]
    with pytest.raises(UnknownStep):
        make_runner(tmp_path, steps).confirm_manual(["local.a"])
    assert not (tmp_path / "a").exists()


def test_each_step_declares_the_risks_its_plans_carry() -> None:
    """The confirmation a step's plan asks for is on its declaration too (what the drivers
    read before any plan exists): every ``Risk.X`` a step class names is in its ``risks``."""
    import inspect
    import re

    from wizard.steps import all_steps

    for step in all_steps():
        named: set[str] = set()
        for cls in type(step).__mro__:
            if cls is Step or not issubclass(cls, Step):
                continue
            named |= set(re.findall(r"\bRisk\.([A-Z]+)\b", inspect.getsource(cls)))
        declared = {risk.name for risk in step.risks}
        declared |= {risk.risk.name for risk in step.setting_risks}
        assert named <= declared, (step.id, named - declared)


def test_manual_steps_are_declared_not_guessed() -> None:
    from wizard.steps import all_steps

    manual = [s.id for s in all_steps() if s.manual]
    assert manual == ["app.hooks", "app.sync-flag", "app.etl", "app.dashboards"]
    assert all(type(s).confirm is not Step.confirm for s in all_steps() if s.manual)
    assert all(type(s).confirm is Step.confirm for s in all_steps() if not s.manual)


class Buggy(Step):
    """A check that hits a bug (no condition the wizard names), like keyring's thread race."""

    id = "prereq.local-connection"
    phase = "prereq"

    def check(self, ctx: Any) -> CheckResult:
        return self.iterate_a_set_while_it_grows()

    def iterate_a_set_while_it_grows(self) -> CheckResult:
        seen = {1}
        for item in seen:
            seen.add(item + 1)
        raise AssertionError("unreachable: the loop raises")


def test_an_unexpected_error_is_reported_with_where_it_happened(tmp_path: Path) -> None:
    """The operator sees "unexpected error: ..."; the state file and the JSON report keep the
    innermost frames too, so a failure seen once (in CI, at a site) can be traced to its line."""
    report = make_runner(tmp_path, [Buggy()]).status()
    outcome = report.outcomes[0]
    assert outcome.status is Status.FAILED
    assert outcome.message.key == "engine.unexpected_error"
    assert "Set changed size during iteration" in outcome.message.render("en")
    assert outcome.error is not None
    assert outcome.error.startswith("RuntimeError: Set changed size during iteration (at ")
    assert "test_engine.py:" in outcome.error and "iterate_a_set_while_it_grows" in outcome.error
    recorded = StateStore(tmp_path / "fdw-wizard.yaml", tmp_path / "state.json").steps()
    assert "iterate_a_set_while_it_grows" in recorded["prereq.local-connection"]["last_error"]
