"""SQL text from sql_templates, composed with psycopg.sql so that every name is an Identifier
and every value a Literal — never an operator string pasted into SQL."""

from __future__ import annotations

from typing import Any

import sql_templates

# Template placeholders that are object names; every other placeholder is a value.
IDENTIFIER_PARAMS = frozenset(
    {
        "role",
        "owner",
        "schema",
        "database",
        "table",
        "server",
        "view",
        "view_schema",
        "fdw_schema",
        "source_schema",
    }
)

VERIFIER_PLACEHOLDER = "<scram-verifier>"


def compose(template: str, **params: Any) -> Any:
    from psycopg import sql

    parts: dict[str, Any] = {}
    for name, value in params.items():
        if isinstance(value, sql.Composable):
            parts[name] = value  # already composed (option lists, identifier lists)
        elif name in IDENTIFIER_PARAMS:
            parts[name] = (
                sql.Identifier(*value) if isinstance(value, tuple) else sql.Identifier(value)
            )
        else:
            parts[name] = sql.Literal(value)
    return sql.SQL(statement_of(sql_templates.load(template))).format(**parts)  # type: ignore[arg-type]


def statement_of(template_text: str) -> str:
    """A template without its leading ``--`` lines: they explain the SQL to whoever edits it
    (in English); what runs, what a plan shows and what export-sql writes start at the
    statement, and the operator's words come from the i18n catalogs."""
    lines = template_text.strip().splitlines()
    while lines and lines[0].lstrip().startswith("--"):
        lines.pop(0)
    return "\n".join(lines)


def render(conn: Any, template: str, **params: Any) -> str:
    """The statement as text (what the plan shows and apply runs)."""
    text: str = compose(template, **params).as_string(conn)
    return text


def literal(conn: Any, value: Any) -> str:
    from psycopg import sql

    text: str = sql.Literal(value).as_string(conn)
    return text


def options(pairs: dict[str, str]) -> Any:
    """``key 'value', ...`` for OPTIONS (...): keys as identifiers, values as literals."""
    from psycopg import sql

    return sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(k), sql.Literal(v)) for k, v in pairs.items()
    )


def identifiers(names: list[str]) -> Any:
    from psycopg import sql

    return sql.SQL(", ").join(sql.Identifier(n) for n in names)


def identifier(*parts: str) -> str:
    """A quoted (possibly dotted) identifier, for statements built in code."""
    return ".".join('"' + part.replace('"', '""') + '"' for part in parts)
