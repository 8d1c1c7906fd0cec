"""The TUI driven like an operator, on a real test bed of its own: a guided setup from the
welcome screen through Phases 1-3 to the validation dashboard, a failing step -> "why?" ->
troubleshooting -> fix, and the cleanup refusal without a backup."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from screens.app import WizardApp
from screens.checklist import ChecklistScreen
from screens.cleanup import CleanupScreen
from screens.dashboard import DashboardScreen
from screens.facts import latency_rows
from screens.step_detail import StepDetailScreen
from screens.troubleshoot import TroubleshootScreen
from tests.conftest import sandbox_config_for
from tests.tui_helpers import idle, screen_text
from wizard.config import save_config
from wizard.dwhost.platform.elevation import Elevation
from wizard.i18n import Message, current_language, set_language
from wizard.testbed.bed import TestBed

pytestmark = pytest.mark.clusters

ENV = {"keyring": None, "elevation": Elevation(True, "root", Message("platform.elevation.root"))}
SETTLED = {"done", "n/a"}


@pytest.fixture(autouse=True)
def _restore_language() -> Any:
    before = current_language()
    yield
    set_language(before)


@pytest.fixture(scope="module")
def site(private_testbed: TestBed, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("tui")
    config = sandbox_config_for(private_testbed)
    path = folder / "fdw-wizard.yaml"
    save_config(config, path)
    return {"bed": private_testbed, "config": config, "path": path}


def new_app(site: dict[str, Any], lang: str = "pt-BR") -> WizardApp:
    return WizardApp(site["path"], lang=lang, config=site["config"], environment=ENV)


# Internal names the operator must never read on the dashboard.
RAW_FIELDS = (
    "records:",
    "ok:",
    "gate_ok",
    "stale:",
    "bound_s",
    "dw_addresses",
    "measured_at",
    "reused",
    "p95_ms",
)


def dashboard_text(app: WizardApp) -> str:
    """What the dashboard's panels show, as plain text (rich tables rendered)."""
    from rich.console import Console
    from textual.widgets import Static

    console = Console(width=100, record=True, color_system=None)
    for widget in app.screen.query(Static):
        if widget.display:
            content = widget.content
            console.print(content if hasattr(content, "__rich_console__") else str(content))
    return console.export_text()


def log_lines(app: WizardApp) -> str:
    from screens.common import LiveLog

    return "\n".join(line for log in app.screen.query(LiveLog) for line in log.texts)


def test_guided_setup_from_welcome_to_dashboard(
    site: dict[str, Any], bed_secrets: Callable[[TestBed], None]
) -> None:
    bed_secrets(site["bed"])

    async def scenario() -> None:
        app = new_app(site)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("1")  # guided setup
            await idle(pilot)
            checklist = app.screen
            assert isinstance(checklist, ChecklistScreen)
            assert all(app.status_of(s.id) == "done" for s in app.steps if s.phase == "prereq")
            # The cursor waits on the first step left to do; its detail explains it in pt-BR.
            assert checklist.current_step_id() == "local.listen"
            await pilot.press("enter")
            await idle(pilot)  # the plan preview (a dry run) prepares itself
            detail = app.screen
            assert isinstance(detail, StepDetailScreen)
            text = screen_text(app)
            assert "O que esta etapa faz" in text and "listen_addresses" in text
            assert "postgresql.conf" in text  # the diff of the plan preview
            await pilot.press("a")
            await idle(pilot)
            assert app.status_of("local.listen") == "done"
            assert "aplicado e verificado" in screen_text(app)
            await pilot.press("escape")
            await pilot.pause()
            # The rest of Phases 1-3, phase by phase, answering the risk confirmations.
            confirmed: list[str] = []
            for phase in ("local", "supabase", "views"):
                first = next(s.id for s in app.steps if s.phase == phase)
                checklist.select_step(first)
                await pilot.press("p")
                confirmed += await idle(pilot)
                left = {
                    s.id: app.status_of(s.id)
                    for s in app.steps
                    if s.phase == phase and app.status_of(s.id) not in SETTLED
                }
                assert left == {}, left
            assert "local.reload" in confirmed  # a restart is never done without asking
            assert "[OK] concluído local.reader-role" in log_lines(app)
            progress = str(checklist.query_one("#progress").render())
            assert "1 Postgres local  6/6  [OK]" in progress
            await pilot.press("d")
            await pilot.pause()
            assert isinstance(app.screen, DashboardScreen)
            if app.step("validate.latency") is None:
                assert "Não disponível nesta versão." in screen_text(app)
            else:
                await idle(pilot)  # the dashboard measures by itself when nothing is measured
                assert "validate.latency" in app.outcomes
                await pilot.press("m")  # and again on demand
                await idle(pilot)
                assert latency_rows(app.outcomes["validate.latency"].facts)
                assert app.screen.query_one("#latency").display
                shown = dashboard_text(app)
                assert "bi.dim_clientes" in shown and "contagem" in shown
                for raw in RAW_FIELDS:
                    assert raw not in shown, raw

    asyncio.run(scenario())


def test_failing_step_why_troubleshoot_fix(
    site: dict[str, Any],
    bed_secrets: Callable[[TestBed], None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bed = site["bed"]
    monkeypatch.setenv("FDW_WIZARD_SECRET_LOCAL_SUPERUSER", "wrong-password")
    monkeypatch.setenv("FDW_WIZARD_SECRET_SUPABASE_DB", bed.passwords["supabase-postgres"])

    async def scenario() -> None:
        app = new_app(site, lang="en")
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("2")  # resume
            await idle(pilot)
            checklist = app.screen
            assert isinstance(checklist, ChecklistScreen)
            assert app.status_of("prereq.local-connection") == "failed"
            assert "wrong-password" not in screen_text(app) + log_lines(app)
            checklist.select_step("prereq.local-connection")
            await pilot.press("w")  # why did this fail?
            await idle(pilot)
            trouble = app.screen
            assert isinstance(trouble, TroubleshootScreen)
            text = screen_text(app)
            assert "What prereq.local-connection reported:" in text
            assert "password" in text.lower()
            if trouble.module is None:
                assert "Not available in this version." in text
            else:
                assert trouble.results, "the diagnosis found no cause for a wrong password"
            # The fix: the operator stores the right password; the step passes again.
            bed_secrets(bed)
            await pilot.press("escape")
            await pilot.pause()
            await pilot.press("r")
            await idle(pilot)
            assert app.status_of("prereq.local-connection") == "done"

    asyncio.run(scenario())


def drive(site: dict[str, Any], body: Callable[[WizardApp, Any], Awaitable[None]]) -> None:
    """Run ``body(app, pilot)`` in an English app of 100x30 on the site."""

    async def scenario() -> None:
        app = new_app(site, lang="en")
        async with app.run_test(size=(100, 30)) as pilot:
            await body(app, pilot)

    asyncio.run(scenario())


def test_cleanup_refuses_without_backup(
    site: dict[str, Any], bed_secrets: Callable[[TestBed], None]
) -> None:
    bed_secrets(site["bed"])

    async def body(app: WizardApp, pilot: Any) -> None:
        if app.step("cleanup.backup") is None:
            pytest.skip("the cleanup steps are not part of this version")
        app.push_screen(CleanupScreen())
        await idle(pilot)
        assert app.status_of("cleanup.backup") != "done"
        with site["bed"].supabase.connect() as conn:
            before = conn.execute("SELECT count(*) FROM public.clientes").fetchone()
        await pilot.press("x")
        await idle(pilot, answer="n")
        assert "Refused (nothing was deleted):" in screen_text(app)
        # b: the backup (the sequence's first stage); then the monitoring gate still refuses.
        await pilot.press("b")
        await idle(pilot)
        assert app.status_of("cleanup.backup") == "done"
        await pilot.press("x")
        await idle(pilot, answer="n")
        text = screen_text(app)
        assert "Refused (nothing was deleted):" in text
        assert "the monitoring period has not passed" in text
        with site["bed"].supabase.connect() as conn:
            after = conn.execute("SELECT count(*) FROM public.clientes").fetchone()
        assert after == before

    drive(site, body)


def test_undo_confirmation_says_what_it_will_restore(
    site: dict[str, Any], bed_secrets: Callable[[TestBed], None]
) -> None:
    """The undo modal lists what the engine's undo preview found (y waits for it)."""
    from screens.confirm import ConfirmScreen

    bed_secrets(site["bed"])

    async def body(app: WizardApp, pilot: Any) -> None:
        step = next(s for s in app.steps if s.phase == "local" and s.follows_changes_of)
        app.push_screen(StepDetailScreen(step.id))
        await idle(pilot, answer=None)
        await pilot.press("u")
        await pilot.pause()
        modal = app.screen
        assert isinstance(modal, ConfirmScreen) and modal.mode == "undo"
        for _ in range(600):  # 30 s at most
            if not modal.preview_pending:
                break
            await pilot.pause(0.05)
        assert app.screen is modal
        text = screen_text(app)
        assert "Undo will:" in text
        assert "reload or restart the server" in text  # the step that runs the files
        await pilot.press("n")
        await idle(pilot, answer=None)

    drive(site, body)
