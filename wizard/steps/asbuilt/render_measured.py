"""The measured sections: latency and offline behaviour, the health log, the cleanup metrics."""

from __future__ import annotations

from typing import Any

from wizard.i18n import t
from wizard.steps.asbuilt.markdown import MarkdownWriter, at_text, cell, code, table

VALIDATE = "fdw-wizard validate"  # the command that measures


class MeasuredSections(MarkdownWriter):
    """Sections from what was measured and recorded, never measured again here."""

    def performance(self) -> None:
        measured = self.section("perf.title", "measurements")
        if measured is None:
            return
        latency = self.measured("perf.latency", measured.get("validate.latency"))
        if latency is not None:
            self.latency(latency)
        offline = self.measured("perf.offline", measured.get("validate.offline"))
        if offline is not None:
            self.offline(offline)

    def measured(self, heading: str, entry: dict[str, Any] | None) -> dict[str, Any] | None:
        """A measurement's heading; the entry, or None after saying it was never measured."""
        self.heading(3, heading)
        if entry is None:
            self.paragraph("perf.not_measured", command=code(VALIDATE))
        return entry

    def measured_intro(self, key: str, entry: dict[str, Any], **params: Any) -> None:
        """When it was measured, its status, and a warning when it measured another setup."""
        at = at_text(entry.get("measured_at"))
        self.paragraph(key, at=at, status=self.status(entry.get("status")), **params)
        if not entry["same_setup"]:
            self.add("> " + self.tr("perf.stale", command=code(VALIDATE)), "")

    def latency(self, latency: dict[str, Any]) -> None:
        facts = latency["facts"]
        self.measured_intro(
            "perf.latency_intro",
            latency,
            target=facts.get("target_ms", "-"),
            samples=facts.get("samples", "-"),
            role=code(facts.get("role", "-")),
        )
        rows = []
        for relation in facts.get("relations", []):
            for read in relation.get("reads", []):
                rows.append(
                    [
                        code(relation.get("relation")),
                        cell(self.known("perf.read", read.get("read"))),
                        self.dec(read.get("p50_ms")),
                        self.dec(read.get("p95_ms")),
                        self.dec(read.get("max_ms")),
                        cell(self.tr("verdict." + str(read.get("verdict")))),
                    ]
                )
        if rows:
            self.add(
                *table(
                    [
                        self.tr("col.relation"),
                        self.tr("col.read"),
                        "p50 ms",
                        "p95 ms",
                        "max ms",
                        self.tr("col.verdict"),
                    ],
                    rows,
                )
            )

    def offline(self, offline: dict[str, Any]) -> None:
        facts = offline["facts"]
        self.measured_intro(
            "perf.offline_intro",
            offline,
            bound=facts.get("bound_s", "-"),
            relation=code(facts.get("relation", "-")),
        )
        cases = facts.get("cases", [])
        if cases:
            self.add(
                *table(
                    [self.tr("col.outage"), self.tr("col.seconds"), "HTTP", "SQLSTATE"],
                    [
                        [
                            cell(
                                self.known("perf.outage", c.get("outage"))
                                + ", "
                                + self.known("perf.session", c.get("session"))
                            ),
                            cell(
                                self.tr("perf.hung")
                                if c.get("hung")
                                else self.dec(c.get("seconds"))
                            ),
                            cell(c.get("http_status")),
                            code(c.get("sqlstate")),
                        ]
                        for c in cases
                    ],
                )
            )

    def monitoring(self) -> None:
        from wizard.measure.monitor import hours_text

        mon = self.section("mon.title", "monitor")
        if mon is None:
            return
        if not mon.get("records"):
            self.paragraph("mon.none", command=code("fdw-wizard watch"))
            return
        rows = [
            [
                self.tr("mon.records"),
                cell(self.tr("mon.records_value", records=mon["records"], failed=mon["failed"])),
            ],
            [
                self.tr("mon.window"),
                cell(f"{at_text(mon['first_at'])} - {at_text(mon['last_at'])}"),
            ],
            [self.tr("mon.availability"), cell(self.percent(mon["availability_pct"]))],
            [
                self.tr("mon.latency"),
                cell(f"p50 {self.dec(mon['p50_ms'])} ms, p95 {self.dec(mon['p95_ms'])} ms"),
            ],
            [self.tr("mon.incidents"), cell(len(mon.get("incidents", [])))],
            [
                self.tr("mon.clean"),
                cell(
                    self.tr(
                        "mon.clean_value",
                        clean=hours_text(float(mon["clean_hours"] or 0)),
                        required=self.dec(mon["required_hours"]),
                    )
                ),
            ],
            [self.tr("mon.gate"), self.yes(mon.get("gate_ok"))],
            [self.tr("mon.log"), code(mon.get("log"))],
        ]
        self.add(*table([self.tr("col.item"), self.tr("col.value")], rows))

    def worst_p95(self) -> float | None:
        """The slowest p95 of validate.latency's recorded reads (None: not measured)."""
        measured = self.facts["measurements"]
        latency = measured.get("validate.latency") if "error" not in measured else None
        values = [
            float(read["p95_ms"])
            for relation in ((latency or {}).get("facts") or {}).get("relations", [])
            for read in relation.get("reads", [])
            if isinstance(read.get("p95_ms"), int | float)
        ]
        return max(values) if values else None

    def metrics(self) -> None:
        metrics = self.section("metrics.title", "metrics")
        if metrics is None:
            return
        rows = []
        for m in metrics.get("metrics", []):
            kind = m.get("id")
            before, goal, now = "-", "-", "-"
            if kind == "storage":
                before = self.size(
                    m.get("before") if m.get("before") is not None else m.get("runbook_before")
                )
                goal, now = "< " + self.size(m.get("goal")), self.size(m.get("now"))
            elif kind == "database":
                before, now = self.size(m.get("before")), self.size(m.get("now"))
            elif kind == "duplicated_rows":
                before, goal, now = self.count(m.get("before")), "0", self.count(m.get("now"))
            elif kind == "latency":
                goal = f"< {m.get('goal')} ms"
                worst = m.get("now")
                if not isinstance(worst, int | float):
                    worst = self.worst_p95()
                now = f"{self.dec(round(worst, 1))} ms" if worst is not None else "-"
            elif kind == "freshness":
                before, goal = self.tr("metrics.three_a_day"), self.tr("metrics.real_time")
                now = self.tr(
                    "metrics.real_time" if m.get("foreign_tables") else "metrics.three_a_day"
                )
            elif kind == "fallback":
                before, goal = self.tr("no"), self.tr("yes")
                now = self.status(m.get("now")) if m.get("now") else "-"
            rows.append(
                [
                    self.tr("metrics." + str(kind)),
                    cell(before),
                    cell(goal),
                    cell(now),
                    cell(t("cleanup.metric.state." + str(m.get("state")), self.lang)),
                ]
            )
        self.add(
            *table(
                [
                    self.tr("col.metric"),
                    self.tr("col.before"),
                    self.tr("col.goal"),
                    self.tr("col.now"),
                    self.tr("col.state"),
                ],
                rows,
            )
        )
