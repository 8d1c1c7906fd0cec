"""Every SQL file the product runs or exports. Loaded with importlib.resources so that the
files ship inside the wheel. Placeholders are named ``{name}`` and are filled only with
``psycopg.sql`` objects (Identifier / Literal), never with raw strings from the operator."""

from __future__ import annotations

from importlib import resources


def load(name: str) -> str:
    """Text of ``sql_templates/<name>`` (e.g. ``"sandbox/dw_schema.sql"``)."""
    path = resources.files("sql_templates")
    for part in name.split("/"):
        path = path.joinpath(part)
    return path.read_text(encoding="utf-8")
