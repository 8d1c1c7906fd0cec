"""`fdw-wizard export-sql`: the runbook's two scripts for a manual run with psql, rendered by the
steps' own statement builders (:mod:`wizard.export.sections`) for a site where nothing exists
yet, so the scripts and the steps cannot drift (tests/test_export_drift.py compares them).

Nothing here connects to a server: what a step's plan would read live is computed by the
script on the server or left to a psql variable (:mod:`wizard.export.facts`). Every comment is
a catalog message in the operator's language, made one safe line by
:func:`wizard.safetext.sql_comment` (a value holding a line break cannot end it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from wizard.dwhost.pgfiles.postgresql_conf import quote_value
from wizard.export.facts import FETCH_DEFAULT, PASSWORD_VARIABLE, Facts, offline_facts
from wizard.export.sections import Meta, Section, local_sections, supabase_sections, text
from wizard.fileio import atomic_write_bytes
from wizard.i18n import Message, current_language
from wizard.safetext import sql_comment
from wizard.step_context import StepContext

LOCAL_SCRIPT = "setup-postgresql-local-fdw.sql"
SUPABASE_SCRIPT = "setup-fdw-supabase.sql"


@dataclass
class ExportResult:
    files: list[Path]
    notes: list[Message]


class _Writer:
    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.lines: list[str] = []

    def comment(self, message: Message | str) -> None:
        said = message if isinstance(message, str) else message.render(self.lang)
        self.lines += [sql_comment(line) for line in said.splitlines() or [""]]

    def header(self, name: str, config_path: Path, run: str) -> None:
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        self.comment(
            Message("export.header", {"name": name, "stamp": stamp, "config": config_path.name})
        )
        self.comment(Message("export.run", {"command": run}))
        self.lines += ["\\set ON_ERROR_STOP on", ""]

    def sections(self, sections: list[Section]) -> None:
        self.lines.append("BEGIN;")
        for section in sections:
            self.lines.append("")
            self.comment(
                Message(
                    "export.section",
                    {"title": Message(f"step.{section.step_id}.title").render(self.lang),
                     "step": section.step_id},
                )
            )  # fmt: skip
            for note in section.notes:
                self.comment(note)
            for item in section.items:
                if item.description is not None:
                    self.comment(item.description)
                if isinstance(item, Meta):
                    self.lines += list(item.lines)
                else:
                    self.lines.append(text(item.sql) + item.ends)
        self.lines += ["", "COMMIT;", ""]


def local_script(ctx: StepContext, facts: Facts, lang: str) -> str:
    from wizard.steps.local_hba import wanted_rules

    cfg = ctx.config
    out = _Writer(lang)
    out.header(
        LOCAL_SCRIPT,
        ctx.config_path,
        f"psql -U {cfg.local.superuser} -d {cfg.local.database}"
        f" -v {PASSWORD_VARIABLE}='...' -f {LOCAL_SCRIPT}",
    )
    # The conf lines as postgresql.conf reads them (values quoted, FIELD-GUIDE §2); the files
    # part of Phase 1 is the wizard's or the operator's, not psql's.
    out.comment(Message("export.conf"))
    out.comment(f"   listen_addresses = {quote_value(cfg.exposure.listen_addresses)}")
    if cfg.exposure.listen_port != "auto":
        out.comment(f"   port = {int(cfg.exposure.listen_port)}")
    if cfg.exposure.tls.enabled:
        out.comment("   ssl = on")
        out.comment("   ssl_cert_file = 'server.crt'")
        out.comment("   ssl_key_file = 'server.key'")
        out.comment(Message("export.tls_files"))
    out.comment(Message("export.hba"))
    for rule in wanted_rules(ctx):
        out.comment(f"   {rule.to_line()}")
    out.comment(Message("export.password_note", {"role": cfg.reader.name}))
    out.sections(local_sections(cfg, facts))
    return "\n".join(out.lines)


def supabase_script(ctx: StepContext, facts: Facts, lang: str) -> str:
    out = _Writer(lang)
    out.header(
        SUPABASE_SCRIPT,
        ctx.config_path,
        f"psql \"<Supabase session pooler connection string>\" -v {PASSWORD_VARIABLE}='...'"
        f" -f {SUPABASE_SCRIPT}",
    )
    out.comment(Message("export.after_local", {"script": LOCAL_SCRIPT}))
    out.sections(supabase_sections(ctx.config, facts))
    return "\n".join(out.lines)


def export_scripts(
    ctx: StepContext, out_dir: Path, *, with_secrets: bool = False, lang: str | None = None
) -> ExportResult:
    """Write both scripts into ``out_dir`` without connecting to either server."""
    lang = lang or current_language()
    cfg = ctx.config
    notes: list[Message] = []
    facts = offline_facts(cfg, ctx.secret("reader") if with_secrets else None)
    if cfg.fdw.fetch_size == "auto":
        notes.append(Message("export.fetch_default", {"fetch": FETCH_DEFAULT}))
    if with_secrets:
        notes.append(Message("export.with_secrets"))
    scripts = (
        (LOCAL_SCRIPT, local_script(ctx, facts, lang)),
        (SUPABASE_SCRIPT, supabase_script(ctx, facts, lang)),
    )
    files = []
    path = out_dir
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for name, body in scripts:
            path = out_dir / name
            atomic_write_bytes(path, body.encode("utf-8"), backup=path.exists(), mode=0o600)
            files.append(path)
    except OSError as exc:
        from wizard.engine import OperatorActionNeeded
        from wizard.write_errors import describe_write_error

        raise OperatorActionNeeded(describe_write_error(path, exc)) from None
    return ExportResult(files, notes)
