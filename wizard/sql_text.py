"""SQL text from sql_templates, composed with psycopg.sql so that every name is an Identifier
and every value a Literal — never an operator string pasted into SQL."""

from __future__ import annotations

from typing import Any

import sql_templates

# Template placeholders that are object names; every other placeholder is a value.
IDENTIFIER_PARAMS = frozenset(
    {"role", "owner", "schema", "database", "table", "server", "view", "bucket_table", "mapped"}
)

VERIFIER_PLACEHOLDER = "<scram-verifier>"


def compose(template: str, **params: Any) -> Any:
    from psycopg import sql

    parts: dict[str, Any] = {}
    for name, value in params.items():
        if name in IDENTIFIER_PARAMS:
            parts[name] = (
                sql.Identifier(*value) if isinstance(value, tuple) else sql.Identifier(value)
            )
        else:
            parts[name] = sql.Literal(value)
    return sql.SQL(sql_templates.load(template).strip()).format(**parts)  # type: ignore[arg-type]


def render(conn: Any, template: str, **params: Any) -> str:
    """The statement as text (what the plan shows and apply runs)."""
    text: str = compose(template, **params).as_string(conn)
    return text


def literal(conn: Any, value: Any) -> str:
    from psycopg import sql

    text: str = sql.Literal(value).as_string(conn)
    return text


def identifier(*parts: str) -> str:
    """A quoted (possibly dotted) identifier, for statements built in code."""
    return ".".join('"' + part.replace('"', '""') + '"' for part in parts)
