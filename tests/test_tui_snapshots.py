"""Snapshots of the main screens in both languages, at 80x24 (legacy console size) and 120x36,
and in ASCII mode (FDW_WIZARD_ASCII=1, the classic Windows console).

Deterministic by construction: no probes start by themselves (``auto_probe=False``), the
welcome screen's keyring/elevation report is pinned, no clock or elapsed time is on screen when
idle, the cursor does not blink. Update after a deliberate change with
``pytest tests/test_tui_snapshots.py --snapshot-update`` and look at the SVGs.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
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
from wizard.dwhost.platform.elevation import Elevation
from wizard.engine import Status, StepOutcome
from wizard.i18n import Message, current_language, set_language
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


SIZES = [(80, 24), (120, 36)]
LANGS = ["pt-BR", "en"]


@pytest.fixture(autouse=True)
def _pinned_terminal(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Box drawing unless a test asks for ASCII; times on screen in UTC."""
    monkeypatch.setenv("FDW_WIZARD_ASCII", "0")
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def make_app(lang: str, config: Config | None = None) -> WizardApp:
    return WizardApp(
        CONFIG_PATH, lang=lang, config=config, auto_probe=False, environment=environment()
    )


async def no_blink(pilot: Pilot[Any]) -> None:
    await pilot.pause()
    for widget in pilot.app.screen.query(Input):
        widget.cursor_blink = False
    await pilot.pause()


def shot(
    app: WizardApp,
    size: tuple[int, int],
    press: tuple[str, ...] = (),
    before: Callable[[WizardApp], None] | None = None,
) -> str:
    async def run_before(pilot: Pilot[Any]) -> None:
        if before is not None:
            before(app)
        await no_blink(pilot)

    return take_svg_screenshot(app=app, press=press, terminal_size=size, run_before=run_before)


# -- what a measured site looks like (fixed values: the engine is not run) ---------------------

T0 = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)


def _read(
    read: str, p95: float, rows: int, pushdown: dict[str, str], verdict: str
) -> dict[str, Any]:
    return {
        "read": read,
        "p50_ms": round(p95 * 0.6, 1),
        "p95_ms": p95,
        "max_ms": p95 * 1.2,
        "rows": rows,
        "pushdown": pushdown,
        "verdict": verdict,
    }


LATENCY_FACTS: dict[str, Any] = {
    "target_ms": 500,
    "relations": [
        {
            "relation": "bi.dim_clientes",
            "kind": "table",
            "reads": [
                _read("limit", 182.4, 10000, {"limit": "pushed"}, "ok"),
                _read("count", 41.0, 1, {"aggregate": "pushed"}, "ok"),
                _read("aggregate", 731.5, 12, {"aggregate": "not_pushed"}, "over"),
            ],
        },
        {
            "relation": "public.v_frota_360",
            "kind": "view",
            "reads": [
                _read("limit", 96.2, 2400, {"limit": "not_needed", "join": "pushed"}, "ok"),
            ],
        },
    ],
}


def _monitor_log(folder: Path) -> Path:
    """48 h of probes every 30 min: one failure at hour 18, slower around hour 30."""
    path = folder / "monitor.jsonl"
    lines = []
    for index in range(97):
        at = T0 + timedelta(minutes=30 * index)
        ok = index != 36
        latency = 40.0 + (380.0 if 58 <= index <= 62 else 0.0) + (index % 5) * 7
        lines.append(
            json.dumps(
                {
                    "at": at.isoformat(),
                    "ok": ok,
                    "latency_ms": latency if ok else None,
                    "error": None if ok else "timeout",
                    "interval_s": 1800,
                    "source": "watch",
                }
            )
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.utime(path, (0, 0))
    return path


def measured(folder: Path) -> Callable[[WizardApp], None]:
    from wizard.i18n import Message as M

    log = _monitor_log(folder)

    def put(app: WizardApp) -> None:
        outcomes = [
            StepOutcome(
                "validate.latency",
                Status.FAILED,
                M(
                    "step.validate.latency.failed",
                    {"over": 1, "reads": 4, "target": 500, "errors": 0, "relations": 2},
                ),
                facts=LATENCY_FACTS,
            ),
            StepOutcome(
                "validate.offline",
                Status.DONE,
                M("step.validate.offline.ok", {"count": 4, "seconds": 5.005, "bound": 7.0}),
                facts={"bound_s": 7.0, "dw_addresses": 1},
            ),
            StepOutcome(
                "validate.monitor",
                Status.PENDING,
                M(
                    "step.validate.monitor.summary",
                    {"records": 97, "availability": 98.97, "p95": 410.0, "log": "monitor.jsonl"},
                ),
                facts={
                    "log": str(log),
                    "records": 97,
                    "ok": 96,
                    "failed": 1,
                    "availability_pct": 98.97,
                    "p50_ms": 61.0,
                    "p95_ms": 410.0,
                    "incidents": [{"start": "x"}],
                    "clean_hours": 29.5,
                    "required_hours": 48.0,
                    "remaining_hours": 18.5,
                    "gate_ok": False,
                    "stale": False,
                    "measured_at": "2026-11-30T08:00:00+00:00",
                    "reused": True,
                },
            ),
        ]
        for outcome in outcomes:
            app.outcomes[outcome.step_id] = outcome
            app.statuses[outcome.step_id] = outcome.status.value
            app.messages[outcome.step_id] = outcome.message

    return put


# -- the screens -------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("size", SIZES)
def test_welcome(snap: SnapshotAssertion, lang: str, size: tuple[int, int]) -> None:
    assert snap == shot(make_app(lang, Config()), size)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("size", SIZES)
def test_checklist(snap: SnapshotAssertion, lang: str, size: tuple[int, int]) -> None:
    assert snap == shot(make_app(lang, Config()), size, press=("1",))


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("size", SIZES)
def test_step_detail(snap: SnapshotAssertion, lang: str, size: tuple[int, int]) -> None:
    app = make_app(lang, Config())
    assert snap == shot(app, size, press=("1", "down", "enter"))


def test_first_run_form_pt(snap: SnapshotAssertion) -> None:
    assert snap == shot(make_app("pt-BR"), (80, 24))


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("size", SIZES)
def test_troubleshoot(snap: SnapshotAssertion, lang: str, size: tuple[int, int]) -> None:
    assert snap == shot(make_app(lang, Config()), size, press=("3",))


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("size", SIZES)
def test_dashboard(
    snap: SnapshotAssertion, lang: str, size: tuple[int, int], tmp_path: Path
) -> None:
    app = make_app(lang, Config())
    assert snap == shot(app, size, press=("1", "d"), before=measured(tmp_path))


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("size", SIZES)
def test_dashboard_monitor(
    snap: SnapshotAssertion, lang: str, size: tuple[int, int], tmp_path: Path
) -> None:
    """The monitor panel and its chart over time (scrolled to the end)."""
    app = make_app(lang, Config())
    press = ("1", "d", "end")
    assert snap == shot(app, size, press=press, before=measured(tmp_path))


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("size", SIZES)
def test_cleanup_gate_override(snap: SnapshotAssertion, lang: str, size: tuple[int, int]) -> None:
    """g: the monitoring gate override's state is visible, even at 80x24."""
    assert snap == shot(make_app(lang, Config()), size, press=("1", "c", "g"))


@pytest.mark.parametrize(
    "screen",
    [("1",), ("1", "d"), ("1", "down", "enter"), ("1", "c", "g")],
    ids=["checklist", "dashboard", "detail", "cleanup"],
)
def test_ascii_console(
    snap: SnapshotAssertion,
    screen: tuple[str, ...],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """The classic Windows console: ASCII borders and scrollbars, pt-BR, 80x24."""
    monkeypatch.setenv("FDW_WIZARD_ASCII", "1")
    app = make_app("pt-BR", Config())
    assert snap == shot(app, (80, 24), press=screen, before=measured(tmp_path))
