"""What the steps' plans learn from the live servers, answered for a script that is written
where neither server may be reachable.

A real run reads these facts (the tables' owners, the automatic fetch_size, whether the two
servers' collations differ, whether another db-pre-request function is set...). The export
answers each one without connecting: with a psql construct that computes it on the server when
the script runs (``\\gexec``, ``\\gset`` + ``\\if``), a psql variable the operator passes, or
the safe value a fresh site takes. The drift test answers them from the test bed instead, so
the same statement builders can be compared with what the steps really ran.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from psycopg import sql

PASSWORD_VARIABLE = "reader_password"  # noqa: S105 - a psql variable name, not a secret
FETCH_VARIABLE = "fetch_size"
FETCH_DEFAULT = 10000  # what the script uses when the operator passes no -v fetch_size=N
AGG_OWNER_VARIABLE = "fdw_wizard_agg_owner"
HOOK_FREE_VARIABLE = "fdw_wizard_hook_free"
# Schemas a Supabase project has before the wizard runs, and the API's default exposed ones.
SUPABASE_SCHEMAS = ("public", "extensions")
EXPOSED_DEFAULT = ("public", "graphql_public")


class PsqlText(sql.SQL):
    """Text psql replaces when it runs the script (``:'var'`` a literal, ``:"var"`` an
    identifier). Shown as itself in the scripts' comments."""

    def __str__(self) -> str:
        return str(self._obj)


def psql_literal(variable: str) -> PsqlText:
    return PsqlText(f":'{variable}'")


def psql_identifier(variable: str) -> PsqlText:
    return PsqlText(f':"{variable}"')


@dataclass(frozen=True)
class Facts:
    verifier: Any  # local.reader-role's PASSWORD value
    mapping_password: Any  # the user mappings' password value
    owners: list[str] | None  # the imported tables' owners; None: found by the DW (\gexec)
    agg_owner: Any  # supabase.aggregates' owner: a name or a psql identifier (\gset)
    fetch_size: Any  # supabase.server's fetch_size: text or a psql literal
    collate: str  # IMPORT's import_collate: "false" unless both servers' collations agree
    extension_schema: str = "extensions"
    exposed: tuple[str, ...] = EXPOSED_DEFAULT  # schemas the Data API exposes
    hook_free: bool | None = None  # no other pre-request function; None: psql checks
    schemas: tuple[str, ...] = field(default=SUPABASE_SCHEMAS)  # present on Supabase


def offline_facts(config: Any, password: str | None) -> Facts:
    """The export's answers: configured values where the config fixes them, otherwise what the
    server computes when the script runs; ``password`` None leaves the reader's password a psql
    variable."""
    secret: Any = sql.Literal(password) if password is not None else psql_literal(PASSWORD_VARIABLE)
    owner = str(config.reader.tables_owner)
    fetch = config.fdw.fetch_size
    return Facts(
        verifier=secret,
        mapping_password=secret,
        owners=None if owner == "auto" else [owner],
        agg_owner=psql_identifier(AGG_OWNER_VARIABLE) if owner == "auto" else owner,
        fetch_size=psql_literal(FETCH_VARIABLE) if fetch == "auto" else str(fetch),
        # Safe whatever the DW's OS: columns take Supabase's default collation.
        collate="false",
    )
