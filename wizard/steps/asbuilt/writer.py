"""The whole document: its sections in order, rendered in one language and redacted, and
written where it belongs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wizard.i18n import current_language, normalize_language
from wizard.redact import redact
from wizard.step_context import StepContext
from wizard.steps.asbuilt.common import MARKER, STEP_ID, digest, document_path
from wizard.steps.asbuilt.facts import collect, unreadable
from wizard.steps.asbuilt.markdown import at_text, code
from wizard.steps.asbuilt.render_arch import ArchitectureSection
from wizard.steps.asbuilt.render_dw import DwSections
from wizard.steps.asbuilt.render_measured import MeasuredSections
from wizard.steps.asbuilt.render_records import RecordSections
from wizard.steps.asbuilt.render_security import SecuritySection
from wizard.steps.asbuilt.render_supabase import SupabaseSections


class Document(  # the sections, each from its own module; render() puts them in order
    ArchitectureSection,
    DwSections,
    SupabaseSections,
    SecuritySection,
    MeasuredSections,
    RecordSections,
):
    def render(self) -> str:
        meta = self.facts["meta"]
        self.add(MARKER, "")
        self.heading(1, "title")
        self.add(
            self.tr(
                "generated",
                at=at_text(meta["generated_at"]),
                version=meta["version"],
                config=code(meta["config"]),
            ),
            "",
        )
        if meta["sandbox"]:
            self.add("> " + self.tr("sandbox"), "")
        self.paragraph("intro")
        self.architecture()
        self.dw()
        self.supabase()
        self.security()
        self.performance()
        self.monitoring()
        self.metrics()
        self.backups()
        self.undo()
        while self.lines and self.lines[-1] == "":
            self.lines.pop()
        return "\n".join(self.lines) + "\n"


def render(facts: dict[str, Any], lang: str | None = None) -> str:
    """The document in ``lang`` (default: the current language), already redacted."""
    chosen = normalize_language(lang) or current_language()
    return redact(Document(facts, chosen).render())


def write_document_report(
    ctx: StepContext, path: Path | None = None, lang: str | None = None
) -> tuple[Path, list[str]]:
    """Collect, render and write the document (atomically): (its path, unreadable parts)."""
    from wizard.fileio import atomic_write_bytes

    target = (
        Path(path).expanduser().absolute()
        if path is not None
        else document_path(ctx.config, ctx.config_path)
    )
    facts = collect(ctx)
    atomic_write_bytes(target, render(facts, lang).encode("utf-8"), backup=False, mode=0o644)
    return target, [redact(p) for p in unreadable(facts)]


def write_document(ctx: StepContext, path: Path | None = None, lang: str | None = None) -> Path:
    """Collect, render and write the document (atomically); returns its path."""
    return write_document_report(ctx, path, lang)[0]


def write_checklist_copy(ctx: StepContext, lang: str | None = None) -> Path:
    """Write the document where ``cleanup.document`` expects it, and remember it as the step's
    own write (the step's apply, the CLI without --out, the TUI's key)."""
    return write_checklist_report(ctx, lang)[0]


def write_checklist_report(ctx: StepContext, lang: str | None = None) -> tuple[Path, list[str]]:
    path, problems = write_document_report(ctx, None, lang)
    ctx.remember(STEP_ID, path=str(path), sha256=digest(path))
    return path, problems
