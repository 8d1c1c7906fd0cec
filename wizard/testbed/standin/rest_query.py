"""A PostgREST query string (``select``, ``limit``, ``offset``, ``order``, ``col=op.value``) and
the ``Prefer`` header, as one SQL statement that builds the JSON body in the database."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from psycopg import sql

_RESERVED_PARAMS = {"select", "limit", "offset", "order", "columns", "on_conflict", "apikey"}
_OPERATORS = {"eq": "=", "neq": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


def prefer_count(prefer: str) -> str | None:
    for item in prefer.split(","):
        name, _, value = item.strip().partition("=")
        if name.strip().lower() == "count":
            return value.strip().lower()
    return None


@dataclass
class Select:
    relation: str
    columns: list[str] | None  # None = *
    aggregate_count: bool
    filters: list[tuple[str, str, str]]  # column, operator, value
    order: list[tuple[str, bool, str | None]]  # column, descending, nulls
    limit: int | None
    offset: int
    count_exact: bool = False  # Prefer: count=exact -> the total in Content-Range

    def compose(self, schema: str) -> sql.Composed:
        from psycopg import sql

        rel = sql.Identifier(schema, self.relation)
        where: sql.Composable = sql.SQL("")
        if self.filters:
            where = sql.SQL(" WHERE ") + sql.SQL(" AND ").join(
                _filter_sql(col, op, value) for col, op, value in self.filters
            )
        if self.aggregate_count:
            inner = sql.SQL('SELECT count(*) AS "count" FROM {}{}').format(rel, where)
        else:
            cols: sql.Composable = (
                sql.SQL("*")
                if self.columns is None
                else sql.SQL(", ").join(sql.Identifier(c) for c in self.columns)
            )
            order: sql.Composable = sql.SQL("")
            if self.order:
                order = sql.SQL(" ORDER BY ") + sql.SQL(", ").join(
                    sql.SQL("{}{}{}").format(
                        sql.Identifier(col),
                        sql.SQL(" DESC" if desc else " ASC"),
                        sql.SQL(f" NULLS {nulls.upper()}" if nulls else ""),
                    )
                    for col, desc, nulls in self.order
                )
            limit: sql.Composable = sql.SQL("")
            if self.limit is not None:
                limit = sql.SQL(" LIMIT {}").format(sql.Literal(self.limit))
            offset = sql.SQL(" OFFSET {}").format(sql.Literal(self.offset))
            inner = sql.SQL("SELECT {} FROM {}{}{}{}{}").format(
                cols, rel, where, order, limit, offset
            )
        total: sql.Composable = sql.SQL("NULL::bigint")
        if self.count_exact:
            total = sql.SQL("(SELECT count(*) FROM {}{})").format(rel, where)
        # PostgREST builds the JSON body in the database, like this.
        return sql.SQL(
            "SELECT coalesce(json_agg(_pgrst_t), '[]')::text, count(*), {} FROM ({}) _pgrst_t"
        ).format(total, inner)


def _filter_sql(column: str, op: str, value: str) -> sql.Composed:
    from psycopg import sql

    col = sql.Identifier(column)
    if op == "is":
        word = {"null": "NULL", "true": "TRUE", "false": "FALSE", "unknown": "UNKNOWN"}[value]
        return sql.SQL("{} IS " + word).format(col)
    if op == "in":
        items = [v.strip().strip('"') for v in value.strip("()").split(",") if v.strip()]
        return sql.SQL("{} IN ({})").format(col, sql.SQL(", ").join(map(sql.Literal, items)))
    # An untyped literal: the server infers the column's type, as PostgREST's casts do.
    return sql.SQL("{} " + _OPERATORS[op] + " {}").format(col, sql.Literal(value))


def build_select(relation: str, query: Sequence[tuple[str, str]]) -> Select:
    columns: list[str] | None = None
    aggregate = False
    filters: list[tuple[str, str, str]] = []
    order: list[tuple[str, bool, str | None]] = []
    limit: int | None = None
    offset = 0
    for name, value in query:
        if name == "select":
            wanted = [c.strip() for c in value.split(",") if c.strip()]
            if wanted in (["count"], ["count()"]):
                aggregate = True
            elif wanted and wanted != ["*"]:
                if any("(" in c or ":" in c or "." in c for c in wanted):
                    raise ValueError(f"'select={value}': only * or plain column names here")
                columns = wanted
        elif name == "limit":
            limit = _non_negative(name, value)
        elif name == "offset":
            offset = _non_negative(name, value)
        elif name == "order":
            for item in value.split(","):
                col, *mods = item.strip().split(".")
                desc = "desc" in mods
                nulls = "first" if "nullsfirst" in mods else "last" if "nullslast" in mods else None
                order.append((col, desc, nulls))
        elif name not in _RESERVED_PARAMS:
            op, _, operand = value.partition(".")
            if op not in _OPERATORS and op not in ("is", "in"):
                raise ValueError(f"'{name}={value}': unsupported operator '{op}'")
            if op == "is" and operand not in ("null", "true", "false", "unknown"):
                raise ValueError(f"'{name}={value}': is. takes null, true, false or unknown")
            filters.append((name, op, operand))
    return Select(relation, columns, aggregate, filters, order, limit, offset)


def _non_negative(name: str, value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"'{name}={value}' is not a number") from None
    if number < 0:
        raise ValueError(f"'{name}={value}' is negative")
    return number
