"""REST (PostgREST semantics): one read per request, on a pooled connection, in PostgREST's
order of statements, with its in-database configuration and its error bodies."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from wizard import redact
from wizard.testbed.standin.protocol import ApiState, Response, pgrst_error, postgrest_status
from wizard.testbed.standin.rest_query import build_select

if TYPE_CHECKING:
    import psycopg
    from psycopg import sql


class RestApi(ApiState):
    def _pool_connect(self) -> psycopg.Connection[Any]:
        import psycopg

        info = {"connect_timeout": 5, "application_name": "fdw-wizard-standin-pool", **self.db}
        return psycopg.connect(autocommit=True, **info)  # BEGIN/COMMIT sent explicitly

    def rest_select(
        self,
        claims: Mapping[str, Any],
        schema: str,
        relation: str,
        query: Sequence[tuple[str, str]],
        *,
        method: str = "GET",
        headers: Mapping[str, str] | None = None,
        count: str | None = None,
    ) -> Response:
        """One PostgREST read, as the claims' role, on a pooled connection, in PostgREST's order:
        ``BEGIN ... READ ONLY``; one ``set_config`` statement for search_path, role (with the
        role's own settings), the JWT claims and ``request.method/path/headers/cookies``; the
        pre-request function when ``pgrst.db_pre_request`` names one; the query; ``COMMIT``."""
        import psycopg

        try:
            built = build_select(relation, query)
        except ValueError as exc:
            return pgrst_error(400, "PGRST100", str(exc))
        built.count_exact = count == "exact"
        try:
            lease = self.pool.acquire()
        except psycopg.OperationalError as exc:
            return pgrst_error(503, "PGRST000", "Database client error", redact.redact(str(exc)))
        except TimeoutError:
            return pgrst_error(504, "PGRST003", "Timed out acquiring connection from pool.")
        with lease as conn:
            try:
                config = self._in_db_config(conn)
            except psycopg.Error as exc:
                lease.broken = True
                return pgrst_error(
                    503, "PGRST000", "Database client error", redact.redact(str(exc))
                )
            exposed = list(self.db_schemas) if self.db_schemas is not None else config.schemas
            schema = schema or (exposed[0] if exposed else "public")
            if schema not in exposed:
                return pgrst_error(
                    406,
                    "PGRST106",
                    "The schema must be one of the following: " + ", ".join(exposed),
                    None,
                    None,
                )
            role = str(claims.get("role") or "anon")
            if role not in config.roles:
                return pgrst_error(401, "PGRST301", "JWT role is not a known API role")
            try:
                conn.execute("BEGIN ISOLATION LEVEL READ COMMITTED READ ONLY")
                conn.execute(
                    _locals_sql(role, config.roles[role]),
                    _locals_params(schema, role, claims, method, relation, headers or {}),
                )
                if config.pre_request:
                    conn.execute(_call_sql(config.pre_request))
                row = conn.execute(built.compose(schema)).fetchone()
                conn.execute("COMMIT")
            except psycopg.Error as exc:
                lease.rollback()
                return self._pgrst_db_error(exc, role, schema, relation)
        text, got = (row[0], int(row[1])) if row else ("[]", 0)
        total = int(row[2]) if row and built.count_exact and row[2] is not None else None
        offset = built.offset
        shown = f"{offset}-{offset + got - 1}" if got else "*"
        content_range = f"{shown}/{total if total is not None else '*'}"
        status = 200
        if total is not None and got and (offset > 0 or offset + got < total):
            status = 206  # PostgREST: a counted read that returns part of the rows
        return Response(
            status,
            str(text).encode("utf-8"),
            {"Content-Type": "application/json; charset=utf-8", "Content-Range": content_range},
        )

    def _in_db_config(self, conn: psycopg.Connection[Any]) -> _DbConfig:
        """PostgREST's in-database configuration (``pgrst.*`` settings of the authenticator
        role) and the roles it may switch to with their settings. PostgREST reads these at
        start and on ``NOTIFY pgrst, 'reload config'``; the stand-in reads them per request."""
        rows = conn.execute(
            "SELECT r.rolname, r.rolconfig FROM pg_roles r"
            " WHERE pg_has_role('authenticator', r.oid, 'MEMBER')"
        ).fetchall()
        roles: dict[str, list[tuple[str, str]]] = {}
        settings: dict[str, str] = {}
        for name, config in rows:
            pairs = [tuple(str(c).split("=", 1)) for c in (config or []) if "=" in str(c)]
            if name == "authenticator":
                settings = {k: v for k, v in pairs}
                continue
            roles[str(name)] = [(k, v) for k, v in pairs if not k.startswith("pgrst.")]
        schemas = [x.strip() for x in settings.get("pgrst.db_schemas", "public").split(",")]
        pre = settings.get("pgrst.db_pre_request", "").strip() or None
        return _DbConfig([x for x in schemas if x], pre, roles)

    @staticmethod
    def _pgrst_db_error(exc: Any, role: str, schema: str, relation: str) -> Response:
        diag = exc.diag
        sqlstate = exc.sqlstate
        if sqlstate == "42P01":
            return pgrst_error(
                404,
                "PGRST205",
                f"Could not find the table '{schema}.{relation}' in the schema cache",
            )
        return pgrst_error(
            postgrest_status(sqlstate, role),
            sqlstate or "PGRST000",
            redact.redact(diag.message_primary or str(exc)),
            redact.redact(diag.message_detail) if diag.message_detail else None,
            diag.message_hint,
        )


@dataclass
class _DbConfig:
    schemas: list[str]
    pre_request: str | None
    roles: dict[str, list[tuple[str, str]]]  # role -> its ALTER ROLE ... SET settings


def _locals_sql(role: str, settings: Sequence[tuple[str, str]]) -> sql.Composed:
    """PostgREST's one statement of transaction-local settings for a request."""
    from psycopg import sql

    names = [
        "search_path",
        "role",
        "request.jwt.claims",
        "request.method",
        "request.path",
        "request.headers",
        "request.cookies",
    ]
    parts = [
        sql.SQL("set_config({}, {}, true)").format(sql.Literal(n), sql.Placeholder()) for n in names
    ]
    # Impersonated role settings (PostgREST 11.1+): e.g. authenticated's statement_timeout.
    parts += [
        sql.SQL("set_config({}, {}, true)").format(sql.Literal(k), sql.Literal(v))
        for k, v in settings
    ]
    return sql.SQL("SELECT ") + sql.SQL(", ").join(parts)


def _locals_params(
    schema: str,
    role: str,
    claims: Mapping[str, Any],
    method: str,
    relation: str,
    headers: Mapping[str, str],
) -> list[str]:
    safe_headers = {k: v for k, v in headers.items() if k not in ("authorization", "apikey")}
    return [
        schema,
        role,
        json.dumps(dict(claims)),
        method,
        "/" + relation,
        json.dumps(safe_headers),
        "{}",
    ]


def _call_sql(function: str) -> sql.Composed:
    from psycopg import sql

    parts = [p.strip().strip('"') for p in function.split(".") if p.strip()]
    return sql.SQL("SELECT {}()").format(sql.Identifier(*parts))
