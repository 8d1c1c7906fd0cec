"""Validation dashboard: per table and view p50/p95 against the target with a text chart,
pushdown, the fallback, the monitor summary and the success metrics (from validate.* and
cleanup.report facts of this session, or a fresh measurement)."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Static
from textual.widgets.data_table import ColumnKey

from screens.common import WizardScreen, say, styled_status
from screens.facts import bar, latency_rows, scalar_lines
from wizard.i18n import t

VALIDATE_STEPS = ("validate.latency", "validate.offline", "validate.monitor")


class DashboardScreen(WizardScreen):
    CSS_PATH = "dashboard.tcss"
    KEYS = (
        ("m", "tui.key.measure"),
        ("o", "document.tui.key"),
        ("Esc", "tui.key.back_cancel"),
        ("F2", "tui.key.language"),
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("m", "measure", show=False),
        Binding("o", "document", show=False),
        Binding("escape", "back", show=False),
    ]

    def available(self) -> list[str]:
        return [s for s in VALIDATE_STEPS if self.wapp.step(s) is not None]

    def compose(self) -> ComposeResult:
        yield Static(id="title", classes="title")
        with VerticalScroll(id="body"):
            yield Static(id="summary", classes="panel")
            yield DataTable(id="latency", cursor_type="row")
            yield Static(id="more", classes="panel")
        yield self.key_bar()

    def on_mount(self) -> None:
        table = self.query_one("#latency", DataTable)
        for key in ("name", "p50", "p95", "max", "rows", "pushdown", "chart"):
            table.add_column(key, key=key)
        self.refresh_texts()
        table.focus()

    def refresh_texts(self) -> None:
        super().refresh_texts()
        app = self.wapp
        target = app.config.validation.latency_target_ms if app.config else 500
        self.query_one("#title", Static).update(t("tui.dash.title", target=target))
        summary = Text()
        steps = self.available()
        if not steps:
            summary.append(t("tui.not_available") + "\n", style="bold")
            summary.append(t("tui.dash.not_available_hint") + "\n")
        else:
            for step_id in steps:
                step = app.step(step_id)
                summary.append_text(styled_status(app.status_of(step_id)))
                title = say(step.title) if step else step_id
                message = app.messages.get(step_id)
                summary.append(f" {title}: {say(message) if message else '-'}\n")
            if not any(s in app.outcomes for s in steps):
                summary.append(t("tui.dash.press_measure") + "\n")
        self.query_one("#summary", Static).update(summary)
        self._fill_latency(target)
        self._fill_more()

    def _fill_latency(self, target: int) -> None:
        table = self.query_one("#latency", DataTable)
        labels = {
            "name": t("tui.dash.col_relation"),
            "p50": "p50 ms",
            "p95": "p95 ms",
            "max": "max ms",
            "rows": t("tui.dash.col_rows"),
            "pushdown": t("tui.dash.col_pushdown"),
            "chart": t("tui.dash.col_chart"),
        }
        for key, label in labels.items():
            table.columns[ColumnKey(key)].label = Text(label)
        table.clear()
        outcome = self.wapp.outcomes.get("validate.latency")
        rows = latency_rows(outcome.facts) if outcome is not None else []
        table.display = bool(rows)
        for row in rows:
            p95 = row["p95"]
            over = isinstance(p95, int | float) and p95 > target
            pushdown = row["pushdown"]
            if isinstance(pushdown, bool):
                pushdown_text = t("tui.yes") if pushdown else t("tui.no")
            else:
                pushdown_text = "-" if pushdown is None else say(str(pushdown))
            verdict = "[XX]" if over or row["verdict"] in ("over", "error") else "[OK]"
            table.add_row(
                row["name"],
                _num(row["p50"]),
                _num(p95),
                _num(row["max"]),
                _num(row["rows"]),
                pushdown_text,
                f"{verdict} {bar(p95 if isinstance(p95, int | float) else None, target)}",
            )

    def _fill_more(self) -> None:
        app = self.wapp
        text = Text()
        sections = (
            ("validate.offline", "tui.dash.offline"),
            ("validate.monitor", "tui.dash.monitor"),
            ("cleanup.report", "tui.dash.metrics"),
        )
        for step_id, title_key in sections:
            outcome = app.outcomes.get(step_id)
            if outcome is None:
                continue
            text.append(t(title_key) + "\n", style="bold")
            for detail in outcome.details:
                text.append("  " + say(detail) + "\n")
            for line in scalar_lines(outcome.facts, skip=("relations", "probe", "refused")):
                text.append("  " + line + "\n")
        more = self.query_one("#more", Static)
        more.display = bool(text.plain)
        more.update(text)

    def engine_idle(self) -> None:
        self.refresh_texts()

    def action_measure(self) -> None:
        steps = self.available()
        extra = [s for s in ("cleanup.report",) if self.wapp.step(s) is not None]
        if not steps:
            self.notify(t("tui.not_available"), severity="warning")
            return
        self.wapp.run_status(steps + extra, fresh=True)  # "measure now" never reuses

    def action_document(self) -> None:
        """Write the as-built document (cleanup.document) from live checks; say where."""

        def task(engine: Any, worker: Any) -> Any:
            from wizard import asbuilt

            ctx, runner = engine.ensure()
            path = asbuilt.write_checklist_copy(ctx)
            runner.status([asbuilt.STEP_ID])  # the checklist shows it done
            return path

        def done(path: Any, error: BaseException | None) -> None:
            if error is None and path is not None:
                self.notify(t("document.tui.written", path=str(path)), timeout=10)

        self.wapp.run_task(t("document.tui.running"), task, done)

    def action_back(self) -> None:
        if self.wapp.busy:
            self.wapp.cancel_run()
            return
        self.app.pop_screen()


def _num(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.0f}" if value >= 10 else f"{value:.1f}"
    return "-" if value is None else str(value)
