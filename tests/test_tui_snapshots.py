"""Snapshots of the main screens in both languages, at 80x24 (legacy console size) and 120x36.

Deterministic by construction: no probes start by themselves (``auto_probe=False``), the
welcome screen's keyring/elevation report is pinned, no clock or elapsed time is on screen when
idle, the cursor does not blink. Update after a deliberate change with
``pytest tests/test_tui_snapshots.py --snapshot-update`` and look at the SVGs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pytest_textual_snapshot import SVGImageExtension
from syrupy import SnapshotAssertion
from textual._doc import take_svg_screenshot
from textual.pilot import Pilot
from textual.widgets import Input

from screens.app import WizardApp
from wizard.config import Config
from wizard.i18n import Message, current_language, set_language
from wizard.platform.elevation import Elevation
from wizard.secrets import SecretStore

CONFIG_PATH = Path("/srv/fdw-wizard/fdw-wizard.yaml")


class TuiSnapshot(SVGImageExtension):
    """The SVGs live in tests/snapshots/<test module>/."""

    @classmethod
    def dirname(cls, *, test_location: Any) -> str:
        return str(Path(__file__).parent / "snapshots" / test_location.basename)


@pytest.fixture
def snap(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(TuiSnapshot)


@pytest.fixture(autouse=True)
def _restore_language() -> Any:
    before = current_language()
    yield
    set_language(before)


def environment() -> dict[str, Any]:
    # The tests' keyring is keyring's fail backend: the report (and its fix) is the same
    # everywhere; elevation is pinned (CI runs as root, developers do not).
    return {
        "keyring": SecretStore().backend_report(),
        "elevation": Elevation(
            False,
            "not-owner",
            Message("platform.elevation.not_root"),
            Message(
                "platform.elevation.relaunch_linux",
                {"command": "sudo fdw-wizard", "cwd": "/srv/fdw-wizard"},
            ),
        ),
    }


def make_app(lang: str, config: Config | None = None) -> WizardApp:
    return WizardApp(
        CONFIG_PATH, lang=lang, config=config, auto_probe=False, environment=environment()
    )


async def no_blink(pilot: Pilot[Any]) -> None:
    await pilot.pause()
    for widget in pilot.app.screen.query(Input):
        widget.cursor_blink = False
    await pilot.pause()


def shot(app: WizardApp, size: tuple[int, int], press: tuple[str, ...] = ()) -> str:
    return take_svg_screenshot(app=app, press=press, terminal_size=size, run_before=no_blink)


@pytest.mark.parametrize("lang", ["pt-BR", "en"])
@pytest.mark.parametrize("size", [(80, 24), (120, 36)])
def test_welcome(snap: SnapshotAssertion, lang: str, size: tuple[int, int]) -> None:
    assert snap == shot(make_app(lang, Config()), size)


@pytest.mark.parametrize("lang", ["pt-BR", "en"])
def test_checklist(snap: SnapshotAssertion, lang: str) -> None:
    assert snap == shot(make_app(lang, Config()), (80, 24), press=("1",))


@pytest.mark.parametrize("lang", ["pt-BR", "en"])
def test_step_detail(snap: SnapshotAssertion, lang: str) -> None:
    app = make_app(lang, Config())
    assert snap == shot(app, (80, 24), press=("1", "down", "enter"))


def test_first_run_form_pt(snap: SnapshotAssertion) -> None:
    assert snap == shot(make_app("pt-BR"), (80, 24))


@pytest.mark.parametrize("lang", ["pt-BR", "en"])
def test_troubleshoot(snap: SnapshotAssertion, lang: str) -> None:
    assert snap == shot(make_app(lang, Config()), (80, 24), press=("3",))


def test_dashboard_en_wide(snap: SnapshotAssertion) -> None:
    assert snap == shot(make_app("en", Config()), (120, 36), press=("1", "d"))
