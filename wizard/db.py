"""Connections to PostgreSQL with timeouts, and libpq errors turned into operator messages.

psycopg is imported lazily: it costs ~0.3 s and the TUI's first frame must not wait for it.
Passwords go to libpq as keyword arguments: never into argv, a DSN string we print, or a log.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from wizard.errors import StepError
from wizard.i18n import Message
from wizard.redact import redact, register

if TYPE_CHECKING:
    import psycopg

DEFAULT_CONNECT_TIMEOUT_S = 10

# Fragments of libpq / server messages -> our catalog key. Order matters: first match wins.
_CLASSIFY: tuple[tuple[str, str], ...] = (
    ("password authentication failed", "db.err.auth_failed"),
    ("no pg_hba.conf entry", "db.err.no_hba"),
    ("pg_hba.conf rejects connection", "db.err.hba_reject"),
    ("does not support ssl", "db.err.ssl_unsupported"),
    ("ssl is not enabled", "db.err.ssl_unsupported"),
    ("connection requires a valid client certificate", "db.err.ssl_cert"),
    ("could not translate host name", "db.err.dns"),
    ("name or service not known", "db.err.dns"),
    ("network is unreachable", "db.err.network_unreachable"),
    ("connection refused", "db.err.refused"),
    ("timeout expired", "db.err.timeout"),
    ("timed out", "db.err.timeout"),
    ("too many connections", "db.err.too_many"),
    ("remaining connection slots", "db.err.too_many"),
    ('database "', "db.err.unknown_database"),
    ('role "', "db.err.unknown_role"),
    ("the database system is starting up", "db.err.starting"),
    ("the database system is shutting down", "db.err.shutting_down"),
    ("terminating connection due to administrator command", "db.err.shutting_down"),
    ("server closed the connection unexpectedly", "db.err.connection_lost"),
    ("consuming input failed", "db.err.connection_lost"),
)


class DbError(StepError):
    """A connection or query failure, classified (``kind``) with the server's own text."""

    def __init__(self, kind: str, target: str, detail: str, sqlstate: str | None = None) -> None:
        self.kind = kind
        self.target = target
        self.detail = redact(detail.strip())
        self.sqlstate = sqlstate
        super().__init__(
            Message(kind, {"target": target, "detail": self.detail}),
            Message(kind + ".fix", {"target": target}),
        )


def classify(text: str) -> str:
    lowered = text.lower()
    for fragment, key in _CLASSIFY:
        if fragment in lowered:
            if key == "db.err.unknown_database" and "does not exist" not in lowered:
                continue
            if key == "db.err.unknown_role" and "does not exist" not in lowered:
                continue
            return key
    return "db.err.generic"


def connect(
    *,
    host: str,
    port: int,
    dbname: str,
    user: str,
    password: str | None,
    target: str,
    sslmode: str = "prefer",
    connect_timeout: int = DEFAULT_CONNECT_TIMEOUT_S,
    autocommit: bool = True,
    **extra: Any,
) -> psycopg.Connection[Any]:
    """Open a connection or raise DbError naming ``target`` ('local' / 'supabase')."""
    import psycopg

    register(password)
    try:
        return psycopg.connect(
            host=host,
            port=port,
            dbname=dbname,
            user=user,
            password=password,
            sslmode=sslmode,
            connect_timeout=connect_timeout,
            application_name="fdw-wizard",
            autocommit=autocommit,
            **extra,
        )
    except psycopg.OperationalError as exc:
        text = str(exc)
        raise DbError(classify(text), target, text, getattr(exc, "sqlstate", None)) from None


def one(cursor: psycopg.Cursor[Any]) -> Any:
    """The row of a query that always returns exactly one (count, EXISTS, SHOW, a function)."""
    row = cursor.fetchone()
    if row is None:  # cannot happen for such a query; say so instead of a TypeError
        raise StepError(Message("db.err.no_row"))
    return row
