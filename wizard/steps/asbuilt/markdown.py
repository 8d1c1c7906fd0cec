"""The document's Markdown: cells, code spans, tables, timestamps, and the writer every section
uses (its language, numbers in that language's notation, headings, status words)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from wizard.i18n import Message, t


def cell(value: Any) -> str:
    text = "-" if value is None or value == "" else str(value)
    return text.replace("\r", " ").replace("\n", " ").replace("|", "\\|")


def code(value: Any) -> str:
    if value is None or value == "":
        return "-"
    return "`" + str(value).replace("`", "'").replace("\n", " ").replace("|", "\\|") + "`"


def table(headers: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(cell(h) for h in headers) + " |"]
    out.append("|" + "|".join("---" for _ in headers) + "|")
    for row in rows:
        out.append("| " + " | ".join(row) + " |")
    return [*out, ""]


def mermaid_text(value: Any) -> str:
    return (
        str(value)
        .replace('"', "'")
        .replace("|", "/")
        .replace("\n", " ")
        .replace("<", "(")
        .replace(">", ")")
    )


def at_text(value: Any) -> str:
    """An ISO timestamp as 'YYYY-MM-DD HH:MM:SS' (UTC as stored); '-' when absent."""
    if not value:
        return "-"
    try:
        at = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if at.tzinfo is not None:
        at = at.astimezone(UTC)
    return at.strftime("%Y-%m-%d %H:%M:%S")


class MarkdownWriter:
    def __init__(self, facts: dict[str, Any], lang: str) -> None:
        self.facts = facts
        self.lang = lang
        self.lines: list[str] = []

    def tr(self, key: str, **params: Any) -> str:
        return t(f"document.{key}", self.lang, **params)

    def say(self, message: Any) -> str:
        if isinstance(message, Message):
            return message.render(self.lang)
        return "-" if message is None else str(message)

    def count(self, value: Any) -> str:
        """A row or file count with the language's grouping (1,000 / 1.000)."""
        from wizard.i18n.format import format_number

        return format_number(round(value), self.lang) if isinstance(value, int | float) else "-"

    def size(self, value: Any) -> str:
        from wizard.i18n.format import format_bytes

        return format_bytes(value, self.lang) if isinstance(value, int | float) else "-"

    def dec(self, value: Any) -> str:
        """A measured number (ms, seconds) in the language's decimal notation."""
        from wizard.i18n.format import format_decimal

        return format_decimal(value, self.lang) if isinstance(value, int | float) else "-"

    def percent(self, value: Any) -> str:
        from wizard.i18n.format import format_percent

        return format_percent(value, self.lang) if isinstance(value, int | float) else "-"

    def known(self, prefix: str, name: Any) -> str:
        """``document.<prefix>.<name>`` when the catalog has it, else the name itself."""
        from wizard.i18n import catalog

        key = f"document.{prefix}.{name}"
        return self.tr(f"{prefix}.{name}") if key in catalog(self.lang) else str(name)

    def yes(self, value: Any) -> str:
        return self.tr("yes") if value else self.tr("no")

    def add(self, *lines: str) -> None:
        self.lines.extend(lines)

    def bullet(self, key: str, **params: Any) -> str:
        """A list item: ``- `` and the catalog text of ``document.<key>``."""
        return "- " + self.tr(key, **params)

    def heading(self, level: int, key: str, **params: Any) -> None:
        self.add("#" * level + " " + self.tr(key, **params), "")

    def paragraph(self, key: str, **params: Any) -> None:
        self.add(self.tr(key, **params), "")

    def error(self, section: dict[str, Any]) -> bool:
        if "error" in section:
            self.add("> " + self.tr("unreadable", error=cell(section["error"])), "")
            return True
        return False

    def section(self, title: str, part: str) -> dict[str, Any] | None:
        """A level-2 heading and the facts of ``part``; None when they could not be read (the
        document says why, in place)."""
        self.heading(2, title)
        facts: dict[str, Any] = self.facts[part]
        return None if self.error(facts) else facts

    def status(self, status: Any) -> str:
        return t("status." + str(status), self.lang) if status else self.tr("never_checked")

    def check_lines(self, check: dict[str, Any]) -> None:
        self.add(
            self.bullet("check_status", status=self.status(check.get("status")))
            + (": " + self.say(check["message"]) if check.get("message") is not None else "")
        )
        if check.get("error"):
            self.add("- " + cell(check["error"]))
        for detail in check.get("details", []):
            self.add("- " + self.say(detail))
        self.add("")

    def estimate(self, reltuples: float) -> str:
        return self.tr("not_analyzed") if reltuples < 0 else self.count(reltuples)
