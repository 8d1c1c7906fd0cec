"""The Supabase connection string as the dashboard shows it, understood and checked.

Accepted forms: ``postgresql://user:password@host:port/db?...`` and the keyword form
``host=... port=... user=... password=... dbname=...``. The dashboard's placeholder
``[YOUR-PASSWORD]`` means "no password in it". Which endpoint it is decides what works:
- direct ``db.<ref>.supabase.co:5432`` — IPv6 only unless the project has the IPv4 add-on;
- session pooler ``*.pooler.supabase.com:5432`` with user ``postgres.<ref>`` — IPv4, fine;
- transaction pooler ``:6543`` — refused: no prepared statements, no session state.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from wizard.errors import StepError
from wizard.i18n import Message

PLACEHOLDER = "[YOUR-PASSWORD]"
DIRECT_HOST = _DIRECT = re.compile(r"^db\.([a-z0-9]{10,40})\.supabase\.(co|in|net)$")
_POOLER = re.compile(r"\.pooler\.supabase\.(com|co|net)$")


@dataclass
class SupabaseDsn:
    host: str
    port: int
    user: str
    database: str
    password: str | None
    mode: str  # direct | session-pooler | transaction-pooler | other
    project_ref: str | None


class ConnectionStringError(StepError):
    pass


def looks_like_connection_string(text: str) -> bool:
    stripped = text.strip()
    return stripped.startswith(("postgres://", "postgresql://")) or (
        "host=" in stripped and ("user=" in stripped or "dbname=" in stripped)
    )


def _keywords(text: str) -> dict[str, str]:
    pairs = re.findall(r"(\w+)\s*=\s*('(?:[^'\\]|\\.)*'|\S+)", text)
    return {k: v[1:-1] if v.startswith("'") else v for k, v in pairs}


def parse_connection_string(text: str) -> SupabaseDsn:
    stripped = text.strip()
    if stripped.startswith(("postgres://", "postgresql://")):
        try:
            # The dashboard's "[YOUR-PASSWORD]" would read as an IPv6 literal.
            parts = urlsplit(stripped.replace(PLACEHOLDER, ""))
            port = parts.port or 5432
        except ValueError:
            raise ConnectionStringError(
                Message("dsn.malformed"), Message("dsn.malformed.fix")
            ) from None
        host = parts.hostname or ""
        user = unquote(parts.username or "")
        password = unquote(parts.password) if parts.password is not None else None
        database = unquote(parts.path.lstrip("/")) or "postgres"
    elif looks_like_connection_string(stripped):
        values = _keywords(stripped)
        host = values.get("host", "")
        user = values.get("user", "")
        password = values.get("password")
        database = values.get("dbname", "postgres")
        try:
            port = int(values.get("port", "5432"))
        except ValueError:
            raise ConnectionStringError(
                Message("dsn.malformed"), Message("dsn.malformed.fix")
            ) from None
    else:
        raise ConnectionStringError(Message("dsn.malformed"), Message("dsn.malformed.fix"))
    if not host:
        raise ConnectionStringError(Message("dsn.no_host"), Message("dsn.malformed.fix"))
    if not user:
        raise ConnectionStringError(Message("dsn.no_user"), Message("dsn.malformed.fix"))
    if password in (PLACEHOLDER, ""):
        password = None
    ref: str | None = None
    direct = _DIRECT.match(host)
    if direct:
        mode, ref = "direct", direct.group(1)
    elif _POOLER.search(host):
        mode = "transaction-pooler" if port == 6543 else "session-pooler"
        if "." in user:
            ref = user.split(".", 1)[1]
    else:
        mode = "transaction-pooler" if port == 6543 else "other"
    if mode == "transaction-pooler":
        raise ConnectionStringError(
            Message("dsn.transaction_pooler", {"host": host}),
            Message("dsn.transaction_pooler.fix"),
        )
    if mode == "session-pooler" and "." not in user:
        raise ConnectionStringError(
            Message("dsn.pooler_user", {"user": user}), Message("dsn.pooler_user.fix")
        )
    return SupabaseDsn(host, port, user, database, password, mode, ref)


def notes_for(dsn: SupabaseDsn) -> list[Message]:
    if dsn.mode == "direct":
        return [Message("dsn.direct_ipv6", {"ref": dsn.project_ref or "?"})]
    if dsn.mode == "session-pooler":
        return [Message("dsn.session_pooler")]
    return []
