"""The scripts' contents, step by step, built by the steps' own statement builders for a site
where nothing exists yet (the steps' plans call the same builders with what the servers have).

Each section is one step: the statements its plan would run on a fresh site, in its order, each
with the step's own description. Where a fact is computed on the server, a psql query comes
first (or instead, for the per-owner default privileges).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from psycopg import sql

from wizard import sql_text
from wizard.export.facts import (
    AGG_OWNER_VARIABLE,
    FETCH_DEFAULT,
    FETCH_VARIABLE,
    HOOK_FREE_VARIABLE,
    Facts,
    PsqlText,
)
from wizard.i18n import Message

# Where the owner goes in the per-owner statement before it becomes a format() string.
_OWNER_MARK = "\x00owner\x00"


@dataclass(frozen=True)
class Statement:
    sql: Any  # a psycopg Composable
    description: Message
    ends: str = ";"  # or a psql meta-command that runs it (\gexec, \gset)
    planned: bool = True  # the step's own statement (False: a query for a fact)


@dataclass(frozen=True)
class Meta:
    """psql meta-commands (\\if / \\set ...), not SQL."""

    lines: tuple[str, ...]
    description: Message | None = None


@dataclass
class Section:
    step_id: str
    items: list[Statement | Meta] = field(default_factory=list)
    notes: list[Message] = field(default_factory=list)  # said above the section

    def add(self, statement: Any, description: Message) -> None:
        self.items.append(Statement(statement, description))


def text(statement: Any) -> str:
    """A statement as the script writes it (composed templates carry no comment lines: the
    script's comments come from the i18n catalogs), without a trailing semicolon."""
    return str(statement.as_string(None)).strip().rstrip(";").rstrip()


def _aggregates(config: Any) -> bool:
    from wizard.steps.aggregates import AGGREGATES

    return any(a.source in config.fdw.tables for a in AGGREGATES)


def _readers(config: Any) -> list[str]:
    return [r for r in config.fdw.map_roles if r != "postgres"]


# -- the DW's script ----------------------------------------------------------------------------


def local_sections(config: Any, facts: Facts) -> list[Section]:
    from wizard.steps.local_role import grant_statements, password_statement

    role = Section("local.reader-role")
    role.add(*password_statement(config, facts.verifier, exists=False))
    owners: list[Any] = list(facts.owners) if facts.owners is not None else [PsqlText(_OWNER_MARK)]
    for statement, description in grant_statements(config, owners):
        if facts.owners is None and _OWNER_MARK in statement.as_string(None):
            role.items.append(_per_owner(config, statement))
        else:
            role.add(statement, description)
    sections = [role]
    if _aggregates(config):
        sections.append(_aggregates_section(config, facts, "local"))
    return sections


def _per_owner(config: Any, statement: Any) -> Statement:
    """The step's statement run by psql once per owner the DW finds (``\\gexec``)."""
    template = statement.as_string(None).replace("%", "%%").replace(_OWNER_MARK, "%I")
    query = sql_text.compose(
        "export/default_privileges_each_owner.sql",
        statement=template,
        schema_name=config.local.source_schema,
        tables=list(config.fdw.tables),
    )
    return Statement(query, Message("export.each_owner"), " \\gexec", planned=False)


# -- Supabase's script --------------------------------------------------------------------------


def supabase_sections(config: Any, facts: Facts) -> list[Section]:
    from wizard.steps.supabase_fdw import extension_statement, mapping_statement

    fdw = config.fdw
    extension = Section("supabase.extension")
    extension.add(
        extension_statement(facts.extension_schema), Message("step.supabase.extension.create")
    )
    mappings = Section("supabase.user-mappings")
    for role in fdw.map_roles:
        mappings.add(
            mapping_statement(config, role, facts.mapping_password),
            Message("step.supabase.user-mappings.create", {"role": role}),
        )
    if "anon" in fdw.map_roles:
        mappings.notes.append(Message("step.supabase.user-mappings.anon_warning"))
    if isinstance(facts.mapping_password, PsqlText):
        mappings.notes.append(Message("export.mapping_password_note"))
    sections = [extension, _server_section(config, facts), mappings]
    sections += _import_sections(config, facts)
    if _aggregates(config):
        sections.append(_aggregates_section(config, facts, "supabase"))
    sections.append(_read_bound_section(config, facts))
    sections += _view_sections(config)
    return [s for s in sections if s.items]


def _server_section(config: Any, facts: Facts) -> Section:
    from wizard.steps.supabase_fdw import server_options, server_statement

    section = Section("supabase.server")
    if isinstance(facts.fetch_size, PsqlText):
        section.items.append(
            Meta(
                (f"\\if :{{?{FETCH_VARIABLE}}}", "\\else",
                 f"\\set {FETCH_VARIABLE} {FETCH_DEFAULT}", "\\endif"),
                Message("export.fetch_variable",
                        {"variable": FETCH_VARIABLE, "fetch": FETCH_DEFAULT}),
            )
        )  # fmt: skip
    # fetch_size: the fact replaces it below (no measuring here)
    options: dict[str, Any] = dict(server_options(config, FETCH_DEFAULT))
    options["fetch_size"] = facts.fetch_size
    name = config.fdw.server_name
    section.add(
        server_statement(name, options), Message("step.supabase.server.create", {"name": name})
    )
    return section


def _import_sections(config: Any, facts: Facts) -> list[Section]:
    from wizard.steps.supabase_fdw import API_ROLES
    from wizard.steps.supabase_import import (
        analyze_statement,
        gap_statement,
        import_statement,
        privilege_gaps,
        schema_statement,
    )

    fdw = config.fdw
    schema = fdw.target_schema
    tables = list(fdw.tables)
    imported = Section("supabase.import")
    if schema in facts.exposed:
        imported.notes.append(Message("step.supabase.import.exposed", {"schema": schema}))
    if schema not in facts.schemas:
        imported.add(
            schema_statement(schema), Message("step.supabase.import.schema", {"schema": schema})
        )
    imported.add(
        import_statement(config, tables, facts.collate),
        Message(
            "step.supabase.import.import",
            {"count": len(tables), "schema": schema, "collate": facts.collate},
        ),
    )
    analyzed = Section("supabase.analyze")
    for table in sorted(tables):  # the step reads them back ordered by name
        analyzed.add(
            analyze_statement(schema, table),
            Message("step.supabase.analyze.table", {"table": table}),
        )
    granted = Section("supabase.grants")
    readers = _readers(config)
    roles = sorted(set(API_ROLES) | set(readers))
    for gap in privilege_gaps(schema, readers, roles, sorted(tables), lambda *_: False):
        granted.add(*gap_statement(schema, gap))
    return [imported, analyzed, granted]


def _aggregates_section(config: Any, facts: Facts, target: str) -> Section:
    from wizard.steps.aggregates import AGG_SCHEMA, AGGREGATES, statements

    section = Section("supabase.aggregates")
    built = statements(
        config,
        owner=facts.agg_owner,
        collate=facts.collate,
        dw={},
        dw_schema=(False, False),
        supa={"schema": False, "foreign": set(), "views": set(), "missing_grants": []},
        readers=_readers(config),
    )
    if target == "local":
        section.notes.append(
            Message("step.aggregates.dw_warning", {"schema": AGG_SCHEMA, "owner": facts.agg_owner})
        )
        if isinstance(facts.agg_owner, PsqlText):
            sources = [a.source for a in AGGREGATES if a.source in config.fdw.tables]
            query = sql_text.compose(
                "export/aggregates_owner.sql",
                schema_name=config.local.source_schema,
                tables=sources,
                fallback=str(config.local.superuser),
                variable=sql.Identifier(AGG_OWNER_VARIABLE),
            )
            section.items.append(
                Statement(query, Message("export.agg_owner"), " \\gset", planned=False)
            )
    for where, statement, description in built:
        if where == target:
            section.add(statement, description)
    return section


def _read_bound_section(config: Any, facts: Facts) -> Section:
    from wizard.steps.supabase_bound import (
        BOUND_FUNCTION,
        PRE_REQUEST_SETTING,
        relations_for,
        statements,
    )

    section = Section("supabase.read-bound")
    relations = relations_for(config, list(facts.exposed))
    hook = facts.hook_free is not False
    for statement, description in statements(config, relations, create=True, hook=hook):
        guarded = facts.hook_free is None and PRE_REQUEST_SETTING in statement.as_string(None)
        if not guarded:
            section.add(statement, description)
            continue
        query = sql_text.compose(
            "export/pre_request_free.sql",
            setting=PRE_REQUEST_SETTING,
            ours=f"{PRE_REQUEST_SETTING}={BOUND_FUNCTION}",
            variable=sql.Identifier(HOOK_FREE_VARIABLE),
        )
        taken = Message("export.hook_taken", {"ours": BOUND_FUNCTION})
        section.items += [
            Statement(query, Message("export.hook_free"), " \\gset", planned=False),
            Meta((f"\\if :{HOOK_FREE_VARIABLE}",)),
            Statement(statement, description),
            Meta(("\\else",)),
            Meta((), taken),
            Meta(("\\endif",)),
        ]
    return section


def _view_sections(config: Any) -> list[Section]:
    from wizard.steps.views import SERVER_COSTS, Clientes360, Frota360

    sections = []
    for step in (Clientes360(), Frota360()):
        if not getattr(config.views, step.config_key).enabled:
            continue
        section = Section(step.id)
        # After the import: the foreign tables exist without options, the server without the
        # planner's costs.
        for statement, description in step.statements(
            config,
            drop=False,
            fetch_gaps={t: {} for t in step.locally_joined},
            estimate_gaps={t: {} for t in step.remote_estimate},
            cost_gaps={o: "" for o in SERVER_COSTS} if step.remote_estimate else {},
        ):
            section.add(statement, description)
        sections.append(section)
    return sections
