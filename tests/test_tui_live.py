"""The TUI never shows a status older than the last action: after an apply every other step
is re-checked in the background (input stays free) and shows "checking" until it is."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from typing import Any

import pytest

from screens.app import WizardApp
from screens.checklist import ChecklistScreen
from screens.confirm import ConfirmScreen
from screens.symbols import CHECKING
from tests.conftest import sandbox_config_for
from tests.tui_helpers import idle
from wizard.config import save_config
from wizard.dwhost.platform.elevation import Elevation
from wizard.i18n import Message, current_language, set_language
from wizard.testbed.bed import TestBed

pytestmark = pytest.mark.clusters

ENV = {"keyring": None, "elevation": Elevation(True, "root", Message("platform.elevation.root"))}


@pytest.fixture(autouse=True)
def _restore_language() -> Any:
    before = current_language()
    yield
    set_language(before)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_reload_turns_pending_after_listen_without_recheck(
    private_testbed: TestBed,
    bed_secrets: Callable[[TestBed], None],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    bed_secrets(private_testbed)
    config = sandbox_config_for(private_testbed)
    config.exposure.listen_port = free_port()  # a port change needs a restart
    path = tmp_path_factory.mktemp("tui-live") / "fdw-wizard.yaml"
    save_config(config, path)

    async def scenario() -> None:
        app = WizardApp(path, lang="pt-BR", config=config, environment=ENV)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("1")  # guided setup: every step checked once
            await idle(pilot)
            checklist = app.screen
            assert isinstance(checklist, ChecklistScreen)
            assert app.status_of("local.reload") == "done"  # the server runs its files
            checklist.select_step("local.listen")
            # The action itself, not a key press: Pilot's press waits until the app is idle,
            # which would hide the background re-check from this test.
            checklist.action_apply_step()
            # Until the re-check reports it, local.reload is "checking" — never its old "done".
            seen: set[str] = set()
            moved = False
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                await pilot.pause(0.05)
                if isinstance(app.screen, ConfirmScreen):
                    await pilot.press("y")  # the confirmation (network risk)
                    continue
                if app.status_of("local.listen") == "done":
                    seen.add(app.status_of("local.reload"))
                    if app.refreshing and not moved:
                        row = checklist.query_one("#steps").cursor_row  # type: ignore[attr-defined]
                        await pilot.press("down")  # input is not blocked by the re-check
                        moved = checklist.query_one("#steps").cursor_row == row + 1  # type: ignore[attr-defined]
                if not app.busy and app.status_of("local.listen") == "done":
                    break
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert app.status_of("local.listen") == "done"
            assert "done" not in seen, seen
            assert seen <= {CHECKING, "pending", "running"}, seen
            assert CHECKING in seen, seen  # shown as being re-checked, not as its old "done"
            assert app.status_of("local.reload") == "pending"
            assert moved, "the cursor did not move during the background re-check"
            row = checklist.row_keys.index("local.reload")
            table = checklist.query_one("#steps")
            cell = table.get_row_at(row)  # type: ignore[attr-defined]
            assert "[..] pendente" in str(cell[0])

    asyncio.run(scenario())
