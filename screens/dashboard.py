"""Validation dashboard, in words and charts: latency per table and view against the target
(a bar with the target as its middle line), the monitor log's availability and latency over
time, what happens when the DW is down, and the runbook's success metrics.

Measured when it opens if this session has no measurement yet (the validate steps reuse a
recent one of an unchanged setup); ``m`` measures again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich import box
from rich.console import Group
from rich.padding import Padding
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from screens.charts import Probe, latency_bar, ms_text, timeline
from screens.common import WizardScreen, say, styled_status
from screens.facts import latency_rows
from screens.keys import BACK_CANCEL, DOCUMENT, LANGUAGE, key, key_table
from screens.theme import legacy_console
from wizard import validation_view as view
from wizard.i18n import current_language, t
from wizard.i18n.format import format_decimal, format_duration, format_number

WIDE = 110  # from this width the latency table shows p50, max and pushdown as columns
BAR = 15  # the latency bar's width: the target line sits in its middle


class DashboardScreen(WizardScreen):
    CSS_PATH = "dashboard.tcss"
    KEYS, BINDINGS = key_table(
        key("m", "tui.key.measure", ("m", "measure")), DOCUMENT, BACK_CANCEL, LANGUAGE
    )

    def __init__(self) -> None:
        super().__init__()
        self._probes_key: tuple[str, float, int] | None = None
        self._probes: list[Probe] = []

    def available(self) -> list[str]:
        return [s for s in view.DASHBOARD if self.wapp.step(s) is not None]

    def extra(self) -> list[str]:
        """Measured with the dashboard's checks (the success metrics panel)."""
        return [s for s in view.DASHBOARD_EXTRA if self.wapp.step(s) is not None]

    def compose(self) -> ComposeResult:
        yield Static(markup=False, id="title", classes="title")
        with VerticalScroll(id="body"):
            yield Static(markup=False, id="summary", classes="panel")
            yield Static(markup=False, id="latency", classes="panel")
            yield Static(markup=False, id="monitor", classes="panel")
            yield Static(markup=False, id="offline", classes="panel")
            yield Static(markup=False, id="metrics", classes="panel")
        yield self.key_bar()

    def on_mount(self) -> None:
        self.refresh_texts()
        self.query_one("#body").focus()
        app = self.wapp
        steps = self.available()
        if steps and app.auto_probe and not app.busy and not any(s in app.outcomes for s in steps):
            app.run_status(steps + self.extra())  # nothing measured in this session yet

    def on_resize(self) -> None:
        self.refresh_texts()

    @property
    def target(self) -> int:
        config = self.wapp.config
        return config.validation.latency_target_ms if config else 500

    def refresh_texts(self) -> None:
        super().refresh_texts()
        self.query_one("#title", Static).update(t("tui.dash.title", target=self.target))
        self._fill_summary()
        self._fill_latency()
        self._fill_monitor()
        self._fill_details("#offline", view.OFFLINE, "tui.dash.offline")
        self._fill_details("#metrics", view.METRICS, "tui.dash.metrics")

    def _fill_summary(self) -> None:
        app = self.wapp
        summary = Text()
        steps = self.available()
        if not steps:
            summary.append(t("tui.not_available") + "\n", style="bold")
            summary.append(t("tui.dash.not_available_hint"))
        else:
            for index, step_id in enumerate(steps):
                step = app.step(step_id)
                if index:
                    summary.append("\n")
                summary.append_text(styled_status(app.status_of(step_id)))
                title = say(step.title) if step else step_id
                message = app.messages.get(step_id)
                summary.append(f" {title}: {say(message) if message else '-'}")
            if not any(s in app.outcomes for s in steps):
                summary.append("\n" + t("tui.dash.press_measure"))
        self.query_one("#summary", Static).update(summary)

    def _fill_latency(self) -> None:
        panel = self.query_one("#latency", Static)
        panel.border_title = t("tui.dash.latency_title", target=self.target)
        outcome = self.wapp.outcomes.get(view.LATENCY)
        rows = latency_rows(outcome.facts) if outcome is not None else []
        panel.display = bool(rows)
        if not rows:
            return
        wide = self.size.width >= WIDE
        table = Table(
            box=box.ASCII if legacy_console() else box.SIMPLE_HEAD,
            expand=True,
            show_edge=False,
            pad_edge=False,
            padding=(0, 1),
        )
        table.add_column(t("tui.dash.col_relation"), ratio=3, overflow="fold")
        if wide:
            table.add_column("p50 ms", justify="right", no_wrap=True)
        table.add_column("p95 ms", justify="right", no_wrap=True)
        if wide:
            table.add_column(t("tui.dash.col_max"), justify="right", no_wrap=True)
        table.add_column(t("tui.dash.col_rows"), justify="right", no_wrap=True)
        table.add_column(t("tui.dash.col_chart", target=self.target), no_wrap=True, width=BAR + 5)
        if wide:
            table.add_column(t("tui.dash.col_pushdown"), ratio=2, overflow="fold")
        lang = current_language()
        for row in rows:
            p95 = row["p95"] if isinstance(row["p95"], int | float) else None
            over = (p95 is not None and p95 > self.target) or row["verdict"] in ("over", "error")
            chart = Text("[XX] " if over else "[OK] ", style="bold red" if over else "green")
            chart.append_text(latency_bar(p95, self.target, BAR))
            pushdown = row["pushdown"]
            if isinstance(pushdown, bool):
                pushdown_text = t("tui.yes") if pushdown else t("tui.no")
            else:
                pushdown_text = "-" if pushdown is None else say(str(pushdown))
            count = row["rows"]
            # The relation's name on a line of its own (never folded), the read below it; at
            # 80 columns the pushdown verdict follows the read instead of a column of its own.
            read = Text(str(row.get("read", "")))
            if not wide and pushdown_text != "-":
                read.append(": " + pushdown_text)
            # Padding, not leading spaces: a read that wraps keeps its indent on every line.
            name = Group(
                Text(str(row.get("relation", row["name"])), style="bold"),
                Padding(read, (0, 0, 0, 2)),
            )
            cells: list[Any] = [name]
            if wide:
                cells.append(ms_text(_float(row["p50"])))
            cells.append(ms_text(p95))
            if wide:
                cells.append(ms_text(_float(row["max"])))
            cells.append(format_number(count, lang) if isinstance(count, int) else "-")
            cells.append(chart)
            if wide:
                cells.append(pushdown_text)
            table.add_row(*cells)
        panel.update(table)

    def _monitor_probes(self, log: Any) -> list[Probe]:
        """The monitor log's records (read again only when the file changed)."""
        if not isinstance(log, str):
            return []
        path = Path(log)
        try:
            stat = path.stat()
        except OSError:
            return []
        key = (log, stat.st_mtime, stat.st_size)
        if key != self._probes_key:
            from wizard.measure.monitor import HealthLog

            try:
                records = HealthLog(path).records()
            except (OSError, ValueError):
                records = []
            self._probes = [Probe(r.at, r.ok, r.latency_ms) for r in records]
            self._probes_key = key
        return self._probes

    def _fill_monitor(self) -> None:
        panel = self.query_one("#monitor", Static)
        panel.border_title = t("tui.dash.monitor")
        outcome = self.wapp.outcomes.get(view.MONITOR)
        panel.display = outcome is not None
        if outcome is None:
            return
        facts = outcome.facts
        lang = current_language()
        text = Text()
        records = facts.get("records")
        if isinstance(records, int) and records > 0:
            text.append(
                t(
                    "tui.dash.monitor_summary",
                    records=records,
                    ok=int(facts.get("ok") or 0),
                    failed=int(facts.get("failed") or 0),
                    availability=_float(facts.get("availability_pct")) or 0.0,
                    p50=ms_text(_float(facts.get("p50_ms"))),
                    p95=ms_text(_float(facts.get("p95_ms"))),
                )
                + "\n"
            )
            incidents = facts.get("incidents")
            if isinstance(incidents, list) and incidents:
                text.append(t("tui.dash.monitor_incidents", count=len(incidents)) + "\n")
            hours = _float(facts.get("clean_hours")) or 0.0
            required = _float(facts.get("required_hours")) or 0.0
            if facts.get("gate_ok"):
                text.append(
                    "[OK] " + t("tui.dash.gate_open", required=_hours(required, lang)) + "\n"
                )
            else:
                remaining = _float(facts.get("remaining_hours")) or max(0.0, required - hours)
                text.append(
                    "[..] "
                    + t(
                        "tui.dash.gate_wait",
                        clean=_hours(hours, lang),
                        required=_hours(required, lang),
                        remaining=_hours(remaining, lang),
                    )
                    + "\n"
                )
            if facts.get("stale"):
                text.append("[!!] " + t("tui.dash.monitor_stale") + "\n", style="bold")
            probes = self._monitor_probes(facts.get("log"))
            if len(probes) >= 2:
                text.append_text(self._timeline(probes))
        else:
            text.append(say(outcome.message) + "\n")
        for detail in outcome.details:
            text.append(say(detail) + "\n")
        text.rstrip()
        panel.update(text)

    def _timeline(self, probes: list[Probe]) -> Text:
        labels = (t("tui.dash.chart_up"), t("tui.dash.chart_latency"))
        label_width = max(len(label) for label in labels) + 1
        width = max(10, self.size.width - 6 - label_width)
        up, latency = timeline(probes, width, self.target)
        text = Text()
        text.append(f"{labels[0]:<{label_width}}", style="bold")
        text.append_text(up)
        text.append("\n")
        text.append(f"{labels[1]:<{label_width}}", style="bold")
        text.append_text(latency)
        text.append("\n")
        first = probes[0].at.astimezone().strftime("%d/%m %H:%M")
        last = probes[-1].at.astimezone().strftime("%d/%m %H:%M")
        gap = max(1, width - len(first) - len(last))
        text.append(" " * label_width + first + " " * gap + last + "\n", style="dim")
        text.append(t("tui.dash.chart_legend", target=self.target) + "\n", style="dim")
        return text

    def _fill_details(self, selector: str, step_id: str, title_key: str) -> None:
        """A step's own sentences (its message and details), never its raw facts."""
        panel = self.query_one(selector, Static)
        panel.border_title = t(title_key)
        outcome = self.wapp.outcomes.get(step_id)
        panel.display = outcome is not None
        if outcome is None:
            return
        text = Text()
        text.append_text(styled_status(outcome.status.value))
        text.append(" " + say(outcome.message))
        for detail in outcome.details:
            text.append("\n- " + say(detail))
        panel.update(text)

    def engine_idle(self) -> None:
        self.refresh_texts()

    def action_measure(self) -> None:
        steps = self.available()
        if not steps:
            self.notify(t("tui.not_available"), severity="warning")
            return
        self.wapp.run_status(steps + self.extra(), fresh=True)  # "measure now" never reuses

    def action_document(self) -> None:
        self.wapp.run_document()


def _float(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    return float(value) if isinstance(value, int | float) else None


def _hours(hours: float, lang: str) -> str:
    """The monitoring window in hours, as the runbook counts it (48 h, not 2 d)."""
    if hours < 1:
        return format_duration(hours * 3600, lang)
    return f"{format_decimal(round(hours, 1), lang)} h"
