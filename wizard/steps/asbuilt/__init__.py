"""The as-built document ("Documentar arquitetura final", the runbook's last Phase 5 item).

Everything in it is read live when it is written — the DW and Supabase catalogs, the files the
server reads, the certificate file, the steps' own checks, the validation measurements and the
health log the wizard recorded — never the config's intentions (the config only says where to
look). :func:`collect` gathers the facts, :func:`render` writes them as Markdown in one
language (headings, tables, a fenced ``mermaid`` block: GitHub renders it, and it stays
readable as plain text), and every character leaves through :func:`wizard.redact.redact`.
No query reads a secret: user mappings are read by option name, the reader's password only
as "is it a SCRAM verifier".

Modules: ``common`` (names, where the document goes, is it current), ``facts`` (:func:`collect`)
with one ``facts_*`` module per side (DW, Supabase, the wizard's records) and ``gather`` (their
queries and errors in place); ``markdown`` (cells, tables, the writer's vocabulary), one
``render_*`` module per section of the document, and ``writer`` (the sections in order,
:func:`render`, the ``write_*`` functions).
"""

from wizard.steps.asbuilt.common import (
    DEFAULT_NAME,
    MARKER,
    STEP_ID,
    UNDO_PARTS,
    digest,
    document_path,
    last_change,
    written_at,
)
from wizard.steps.asbuilt.facts import SECTIONS, collect, unreadable
from wizard.steps.asbuilt.writer import (
    render,
    write_checklist_copy,
    write_checklist_report,
    write_document,
    write_document_report,
)

__all__ = [
    "DEFAULT_NAME",
    "MARKER",
    "SECTIONS",
    "STEP_ID",
    "UNDO_PARTS",
    "collect",
    "digest",
    "document_path",
    "last_change",
    "render",
    "unreadable",
    "write_checklist_copy",
    "write_checklist_report",
    "write_document",
    "write_document_report",
    "written_at",
]
