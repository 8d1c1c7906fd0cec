"""TUI without clusters: the language switch, the first-run form (inline validation with the
engine's messages, secrets never shown), the "not available" panels, the key bar."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import yaml
from textual.widgets import Input

from screens.app import WizardApp
from screens.checklist import ChecklistScreen
from screens.first_run import FirstRunScreen, field_id
from screens.welcome import WelcomeScreen
from tests.tui_helpers import screen_text
from wizard.config import Config
from wizard.dwhost.platform.elevation import Elevation
from wizard.i18n import Message, current_language, set_language

ENV = {
    "keyring": None,
    "elevation": Elevation(True, "root", Message("platform.elevation.root")),
}


@pytest.fixture(autouse=True)
def _restore_language() -> object:
    before = current_language()
    yield None
    set_language(before)


def template_app(tmp_path: Path) -> WizardApp:
    """The wizard on a template config (no clusters), without the live check."""
    return WizardApp(
        tmp_path / "fdw-wizard.yaml", lang="en", config=Config(), environment=ENV, auto_probe=False
    )


async def open_checklist(app: WizardApp, pilot: Any) -> None:
    await pilot.press("1")
    await pilot.pause()
    assert isinstance(app.screen, ChecklistScreen)


def test_language_switch_rerenders_everything(tmp_path: Path) -> None:
    async def scenario() -> None:
        app = WizardApp(tmp_path / "fdw-wizard.yaml", lang="en", config=Config(), environment=ENV)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            assert isinstance(app.screen, WelcomeScreen)
            text = screen_text(app)
            assert "What do you want to do?" in text and "F2 Português" in text
            await pilot.press("f2")
            await pilot.pause()
            text = screen_text(app)
            assert current_language() == "pt-BR"
            assert "O que você quer fazer?" in text and "What do you want" not in text
            assert "F2 English" in text
            modes = app.screen.query_one("#modes")
            assert "Configuração guiada" in str(modes.get_option_at_index(0).prompt)  # type: ignore[attr-defined]
            await pilot.press("f2")
            await pilot.pause()
            assert "What do you want to do?" in screen_text(app)

    asyncio.run(scenario())


def test_checklist_language_switch_and_missing_phases(tmp_path: Path) -> None:
    async def scenario() -> None:
        app = template_app(tmp_path)
        async with app.run_test(size=(80, 24)) as pilot:
            await open_checklist(app, pilot)
            assert "Execution progress" in screen_text(app)
            await pilot.press("f2")
            await pilot.pause()
            text = screen_text(app)
            assert "Progresso da Execução" in text
            assert "Pré-requisitos" in text
            table = app.screen.query_one("#steps")
            cells = [str(c) for row in range(table.row_count) for c in table.get_row_at(row)]  # type: ignore[attr-defined]
            assert any("[  ] não verificado" in c for c in cells)
            # A phase with no step in this version says so instead of pretending.
            from wizard.steps import PHASES

            missing = [p for p in PHASES if not any(s.phase == p for s in app.steps)]
            if missing:
                assert any("(não nesta versão)" in c for c in cells)

    asyncio.run(scenario())


def test_first_run_form_validates_inline_and_never_shows_the_password(tmp_path: Path) -> None:
    config_path = tmp_path / "fdw-wizard.yaml"

    async def scenario() -> None:
        app = WizardApp(config_path, lang="en", environment=ENV, auto_probe=False)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, FirstRunScreen)
            port = screen.query_one("#" + field_id("local.port"), Input)
            port.value = "70000"
            await pilot.pause()
            text = screen_text(app)
            assert "local.port: must be 1-65535, got 70000" in text
            port.value = "5433"
            screen.query_one("#" + field_id("supabase.port"), Input).value = "6543"
            screen.query_one("#" + field_id("exposure.allowed_cidrs"), Input).value = "0.0.0.0/0"
            await pilot.pause()
            text = screen_text(app)
            assert "local.port" not in text.split("must be 1-65535")[0][-40:]
            assert "6543" in text  # the engine's transaction-pooler message
            assert "0.0.0.0/0" in text  # needs the acknowledgement
            screen.query_one("#" + field_id("supabase.port"), Input).value = "5432"
            screen.query_one("#" + field_id("supabase.host"), Input).value = "127.0.0.1"
            screen.query_one("#" + field_id("exposure.public_host"), Input).value = "127.0.0.1"
            screen.query_one("#" + field_id("exposure.allowed_cidrs"), Input).value = "127.0.0.1/32"
            secret = screen.query_one("#" + field_id("secret:local-superuser"), Input)
            secret.value = "s3cret-Never-Shown"
            await pilot.pause()
            assert "s3cret-Never-Shown" not in screen_text(app)
            assert "s3cret-Never-Shown" not in app.export_screenshot()
            await pilot.press("ctrl+s")
            await pilot.pause()
            await app.workers.wait_for_complete()
            await pilot.pause()
            # The test keyring is keyring's fail backend: the config is saved, the password
            # is refused with the keyring's own fix, and it is nowhere on screen or on disk.
            text = screen_text(app)
            assert "s3cret-Never-Shown" not in text
            assert secret.value == ""
            saved = yaml.safe_load(config_path.read_text(encoding="utf-8"))
            assert saved["local"]["port"] == 5433
            assert saved["supabase"]["host"] == "127.0.0.1"
            assert "s3cret-Never-Shown" not in config_path.read_text(encoding="utf-8")
            assert app.config is not None and app.config.local.port == 5433

    asyncio.run(scenario())


def test_dashboard_and_cleanup_say_when_not_available(tmp_path: Path) -> None:
    async def scenario() -> None:
        app = WizardApp(
            tmp_path / "fdw-wizard.yaml",
            lang="en",
            config=Config(),
            environment=ENV,
            auto_probe=False,
        )
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("1")
            await pilot.pause()
            await pilot.press("d")
            await pilot.pause()
            has_validate = app.step("validate.latency") is not None
            text = screen_text(app)
            assert ("Not available in this version." in text) is not has_validate
            await pilot.press("escape", "c")
            await pilot.pause()
            has_cleanup = app.step("cleanup.backup") is not None
            assert ("Not available in this version." in screen_text(app)) is not has_cleanup

    asyncio.run(scenario())


def test_esc_closes_the_key_list_before_it_leaves_the_screen(tmp_path: Path) -> None:
    """F1 lists the keys (Esc among them); the Esc that closes that list must not also send
    the operator back a screen. The next Esc goes back as usual."""

    async def scenario() -> None:
        app = template_app(tmp_path)
        async with app.run_test(size=(80, 24)) as pilot:
            await open_checklist(app, pilot)
            await pilot.press("f1")
            await pilot.pause()
            assert app._notifications  # the key list is up
            await pilot.press("escape")
            await pilot.pause()
            assert isinstance(app.screen, ChecklistScreen)
            assert not app._notifications
            await pilot.press("escape")
            await pilot.pause()
            assert isinstance(app.screen, WelcomeScreen)

    asyncio.run(scenario())
