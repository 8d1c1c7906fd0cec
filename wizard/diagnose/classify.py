"""What the operator gave us (an error text or exception, a SQLSTATE, a symptom) and which
family of problems it belongs to: the family picks the handler in :mod:`.dispatch`."""

from __future__ import annotations

import re
from dataclasses import dataclass

from wizard.i18n import Message
from wizard.measure import probes
from wizard.redact import redact


@dataclass(frozen=True)
class Symptom:
    id: str

    @property
    def title(self) -> Message:
        return Message("diagnose.symptom." + self.id)


# What the CLI (--symptom) and the TUI's troubleshooting screen offer: the runbook's four first.
SYMPTOMS: tuple[Symptom, ...] = tuple(
    Symptom(s)
    for s in (
        "cannot-connect",
        "password-failed",
        "permission-denied",
        "high-latency",
        "no-hba-entry",
        "ssl",
        "password-required",
        "network-unreachable",
        "transaction-pooler",
        "dns",
        "collation",
        "statement-timeout",
        "unqualified-names",
        "too-many-connections",
        "cgnat",
        "api-exposure",
        "fdw-library",
    )
)
SYMPTOM_IDS: tuple[str, ...] = tuple(s.id for s in SYMPTOMS)


# Text fragments -> family (first match wins; order matters).
_FAMILIES: tuple[tuple[str, str], ...] = (
    ("could not load library", "fdw-library"),
    ("undefined symbol", "fdw-library"),
    ("password is required", "password-required"),
    ("password or gssapi delegated credentials required", "password-required"),  # PG16+
    ("cannot connect if the server does not request a password", "password-required"),
    ("must provide a password in the user mapping", "password-required"),
    ("does not support ssl", "ssl"),
    ("ssl is not enabled", "ssl"),
    ("ssl was required", "ssl"),
    ("no pg_hba.conf entry", "no-hba-entry"),
    ("pg_hba.conf rejects connection", "no-hba-entry"),
    ("password authentication failed", "password-failed"),
    # The same server messages from an EDB DW with lc_messages 'Portuguese_Brazil.1252'
    # (PostgreSQL's own pt_BR translations), relayed inside an FDW "could not connect" error.
    ("nenhuma entrada no pg_hba.conf", "no-hba-entry"),
    ("pg_hba.conf rejeita conexão", "no-hba-entry"),
    ("autenticação do tipo senha falhou", "password-failed"),
    ("could not translate host name", "dns"),
    ("failed to resolve host", "dns"),
    ("name or service not known", "dns"),
    ("temporary failure in name resolution", "dns"),
    ("nodename nor servname", "dns"),
    ("no such host is known", "dns"),
    ("network is unreachable", "network-unreachable"),
    ("too many connections", "too-many-connections"),
    ("muitos clientes conectados", "too-many-connections"),
    ("remaining connection slots", "too-many-connections"),
    ("canceling statement due to statement timeout", "statement-timeout"),
    ("foreign_table_in_api", "api-exposure"),
    ("permission denied", "permission-denied"),
    ("permissão negada", "permission-denied"),
    ("6543", "transaction-pooler"),
    ("connection refused", "cannot-connect"),
    ("timeout expired", "cannot-connect"),
    ("timed out", "cannot-connect"),
    ("could not connect to server", "cannot-connect"),
    ("server closed the connection unexpectedly", "cannot-connect"),
    ("connection failed", "cannot-connect"),
)
_SQLSTATE_FAMILIES = {
    "57014": "statement-timeout",
    "53300": "too-many-connections",
    "42501": "permission-denied",
    "28P01": "password-failed",
    "28000": "no-hba-entry",
    "08001": "cannot-connect",
    "08006": "cannot-connect",
    "2F003": "password-required",
}

# The server's own words that name the host, port, and login (read by several families).
HOST_PORT = re.compile(r'connection to server at "([^"]+)"(?: \(([^)]+)\))?, port (\d+)')
HBA_TEXT = re.compile(
    r'for host "([^"]+)", user "([^"]+)", database "([^"]+)"(?:, (no encryption|SSL encryption|'
    r"GSS encryption|SSL on|SSL off))?"
)
USER = re.compile(r'for user "([^"]+)"')


@dataclass
class Input:
    """The error text (redacted), its SQLSTATE, the symptom picked, the step that failed; the
    host, address and port are read from the text when the server names them."""

    text: str
    sqlstate: str | None
    symptom: str | None
    step_id: str | None
    host: str | None = None
    address: str | None = None
    port: int | None = None

    def __post_init__(self) -> None:
        found = HOST_PORT.search(self.text)
        if found:
            host = found.group(1)
            self.host = host
            self.address = found.group(2) or (host if probes.is_ip(host) else None)
            self.port = int(found.group(3))

    @property
    def lowered(self) -> str:
        return self.text.lower()


def text_of(error: str | BaseException | None) -> tuple[str, str | None]:
    if error is None:
        return "", None
    if isinstance(error, str):
        return redact(error), None
    sqlstate = getattr(error, "sqlstate", None)
    parts = [str(error)]
    detail = getattr(error, "detail", None)  # wizard.db.DbError carries the server's text
    if isinstance(detail, str) and detail and detail not in parts[0]:
        parts.append(detail)
    diag = getattr(error, "diag", None)
    for name in ("message_detail", "message_hint", "context"):
        value = getattr(diag, name, None) if diag is not None else None
        if isinstance(value, str) and value and value not in parts[0]:
            parts.append(value)
    return redact("\n".join(parts)), sqlstate if isinstance(sqlstate, str) else None


def family(inp: Input) -> str | None:
    if inp.symptom:
        return inp.symptom
    lowered = inp.lowered
    if "collation" in lowered and "does not exist" in lowered:
        return "collation"
    if "does not exist" in lowered and "remote sql command" in lowered:
        return "unqualified-names"
    if "prepared statement" in lowered and (
        "does not exist" in lowered or "already exists" in lowered
    ):
        return "transaction-pooler"
    for fragment, name in _FAMILIES:
        if fragment in lowered:
            return name
    if inp.sqlstate in _SQLSTATE_FAMILIES:
        return _SQLSTATE_FAMILIES[inp.sqlstate]
    if "100.64." in lowered:
        return "cgnat"
    return None
