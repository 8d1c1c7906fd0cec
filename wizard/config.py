"""Typed configuration: ``fdw-wizard.yaml`` <-> pydantic models, with errors that name the key.

The YAML holds no secret: passwords and API keys live in the OS keyring (``wizard.secrets``).
Every field has a description; the README's configuration reference is generated from them
(``python -m wizard.config_doc``) and a test keeps the two in sync.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from wizard import runbook
from wizard.i18n import Message
from wizard.paths import DEFAULT_CONFIG_NAME as DEFAULT_CONFIG_NAME  # re-exported

# A PostgreSQL identifier the wizard is willing to manage: plain ASCII, no quoting needed.
# Anything else (quotes, spaces, accents) is refused instead of quoted, so that what the
# operator reads in the plan is exactly what the server will have.
_IDENT_RE = re.compile(r"^[a-z_][a-z0-9_$]{0,62}$")

# Key names that look like they hold a secret. `key_file` (a path) is deliberately not matched.
_SECRET_KEY_RE = re.compile(
    r"(?i)^(password|passwd|pwd|pass|secret|.*_secret|token|.*_token|api_?key|anon_key|"
    r"service_key|service_role_key|jwt|jwt_secret|.*_password)$"
)
_JWT_RE = re.compile(r"^eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+$")
_DSN_WITH_PASSWORD_RE = re.compile(r"(?i)^postgres(ql)?://[^:/@\s]+:[^@\s]+@")

# Schemas Supabase owns; importing into them would collide with the platform.
SUPABASE_RESERVED_SCHEMAS = frozenset(
    {
        "auth",
        "storage",
        "extensions",
        "graphql",
        "graphql_public",
        "realtime",
        "supabase_functions",
        "supabase_migrations",
        "vault",
        "pgsodium",
        "pgsodium_masks",
        "net",
        "pgbouncer",
        "cron",
        "information_schema",
        "pg_catalog",
        "pg_toast",
    }
)

# Which keyring secret holds what a secret-looking YAML key probably meant.
_SECRET_HINTS = {
    "local": "local-superuser",
    "reader": "reader",
    "supabase": "supabase-db",
}


def _identifier(value: str) -> str:
    if not _IDENT_RE.match(value):
        raise PydanticCustomError(
            "identifier", "must be a lower-case ASCII identifier", {"value": value}
        )
    return value


Identifier = Annotated[str, Field(min_length=1, max_length=63), AfterValidator(_identifier)]
# strict: YAML `true` is not port 1, and "5432" (a quoted string) is not silently converted.
Port = Annotated[int, Field(ge=1, le=65535, strict=True)]


def _cidr(value: str) -> str:
    try:
        ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        hint = ""
        with contextlib.suppress(ValueError):
            hint = str(ipaddress.ip_network(value, strict=False))
        raise PydanticCustomError(
            "cidr", "must be a network in CIDR form", {"value": value, "hint": hint}
        ) from exc
    return value


Cidr = Annotated[str, AfterValidator(_cidr)]

# A host name as DNS and PostgreSQL's listen_addresses accept it (RFC 1123 labels; `_` tolerated
# for Windows/internal names), at most 253 characters, optional final dot.
_LABEL = r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
_HOSTNAME_RE = re.compile(rf"^(?=.{{1,253}}\.?$){_LABEL}(?:\.{_LABEL})*\.?$")


def is_host(text: str) -> bool:
    """An IPv4/IPv6 address or a host name (no quotes, spaces or control characters)."""
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return bool(_HOSTNAME_RE.match(text))


def _listen_addresses(value: str) -> str:
    """listen_addresses syntax: a comma-separated list of `*`, `localhost`, host names or
    IP addresses (spaces around an element are allowed, as PostgreSQL's list parser allows)."""
    elements = [part.strip(" \t") for part in value.split(",")]
    if not value.strip():
        raise PydanticCustomError("listen_addresses_empty", "empty", {"value": value})
    for element in elements:
        if element != "*" and not is_host(element):
            raise PydanticCustomError(
                "listen_addresses", "bad element", {"value": value, "element": element}
            )
    return value


def _public_host(value: str) -> str:
    if value and not is_host(value):
        raise PydanticCustomError("public_host", "bad host", {"value": value})
    return value


def _path_text(value: str) -> str:
    """A file path the wizard writes into postgresql.conf: no control characters."""
    if not value.isprintable():
        raise PydanticCustomError("path_chars", "control characters", {"value": value})
    return value


# Address space that is not reachable from the Internet: what remains of a CIDR list after
# removing it is what the list opens to the public.
_NOT_PUBLIC_V4 = tuple(
    ipaddress.IPv4Network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "224.0.0.0/3",
    )
)
_PUBLIC_V6 = ipaddress.IPv6Network("2000::/3")  # global unicast
_V4_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")
# The most public address space a CIDR list may open without the acknowledgement: one /8.
OPEN_LIMIT_PREFIX = 8


def public_addresses(cidrs: list[str]) -> dict[int, int]:
    """{4: n, 6: m}: how many public addresses the union of ``cidrs`` covers, per family
    (overlapping or adjacent networks are counted once)."""
    nets = [ipaddress.ip_network(c) for c in cidrs]
    v4_nets = [n for n in nets if isinstance(n, ipaddress.IPv4Network)]
    v6_nets = [n for n in nets if isinstance(n, ipaddress.IPv6Network)]
    for mapped in v6_nets:
        # An IPv4 client that reaches an IPv6 socket (dual-stack socket, proxy, NAT64) is
        # ::ffff:a.b.c.d and matches an IPv6 rule. PostgreSQL's own IPv6 sockets are v6-only,
        # so such a rule usually matches nothing; where it does match it opens IPv4 space, so
        # it is counted as that space (::ffff:0:0/96 = the whole IPv4 Internet).
        if mapped.subnet_of(_V4_MAPPED):
            low = int(mapped.network_address) & 0xFFFFFFFF
            v4_nets.append(ipaddress.IPv4Network((low, mapped.prefixlen - 96)))
        elif mapped.supernet_of(_V4_MAPPED):
            v4_nets.append(ipaddress.IPv4Network("0.0.0.0/0"))
    v4 = list(ipaddress.collapse_addresses(v4_nets))
    v6 = list(ipaddress.collapse_addresses(v6_nets))
    count4 = 0
    for net in v4:
        size = net.num_addresses
        for blocked in _NOT_PUBLIC_V4:
            if net.overlaps(blocked):  # CIDRs nest: the overlap is the smaller of the two
                size -= min(net.num_addresses, blocked.num_addresses)
        count4 += max(size, 0)
    count6 = 0
    for net6 in v6:
        if net6.overlaps(_PUBLIC_V6):
            count6 += min(net6.num_addresses, _PUBLIC_V6.num_addresses)
    return {4: count4, 6: count6}


def _share(count: int, version: int) -> str:
    total = (
        2**32 - sum(n.num_addresses for n in _NOT_PUBLIC_V4)
        if version == 4
        else _PUBLIC_V6.num_addresses
    )
    percent = 100 * count / total
    return f"{percent:.3g}%"


def _port_or_auto(value: Any) -> Any:
    if value == "auto":
        return value
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise PydanticCustomError("port_or_auto", "auto or 1-65535", {"value": value})
    return value


def _fetch_size(value: Any) -> Any:
    if value == "auto":
        return value
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1_000_000:
        raise PydanticCustomError("fetch_size", "auto or 1-1000000", {"value": value})
    return value


class _Model(BaseModel):
    # Unknown keys are errors: a typo must not silently fall back to a default.
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class LocalConfig(_Model):
    """The on-premise PostgreSQL (the DW), as seen from the machine running the wizard."""

    host: str = Field("127.0.0.1", description="Host the wizard uses to reach the local DW.")
    port: Port = Field(5432, description="Port of the local DW.")
    database: Identifier = Field(runbook.RUNBOOK_DATABASE, description="The DW database.")
    superuser: Identifier = Field(
        "postgres",
        description="Superuser the wizard connects as (password: secret `local-superuser`).",
    )
    source_schema: Identifier = Field(
        "public", description="Schema of the DW that holds the tables to expose."
    )
    data_dir: str = Field(
        "auto",
        description="Data directory, or `auto` (asked from the server / Windows registry).",
    )
    service: str = Field(
        "auto",
        description="Windows service or systemd unit (`postgresql-x64-16`), or `auto`.",
    )
    control: Literal["auto", "windows-service", "pg_ctlcluster", "systemd", "pg_ctl"] = Field(
        "auto", description="How the server is restarted; `auto` detects it."
    )
    bin_dir: str = Field("auto", description="PostgreSQL `bin` directory, or `auto`.")
    os_user: str = Field(
        "auto",
        description="OS account that owns the data directory (`postgres`), or `auto`.",
    )


class ReaderConfig(_Model):
    """The read-only role Supabase logs in as (password: secret `reader`)."""

    name: Identifier = Field(runbook.RUNBOOK_READER_ROLE, description="Role name.")
    tables_owner: str = Field(
        "auto",
        description=(
            "Role that creates the DW tables (the ETL's); default privileges are granted "
            "FOR this role so new tables stay readable. `auto` = owner of the existing tables."
        ),
    )
    connection_limit: int = Field(
        20,
        ge=1,
        le=1000,
        strict=True,
        description="CONNECTION LIMIT of the role (protects the DW).",
    )


class TlsConfig(_Model):
    """TLS on the local server."""

    enabled: bool = Field(True, description="Turn `ssl = on` and require TLS in pg_hba.")
    mode: Literal["self-signed", "provided"] = Field(
        "self-signed",
        description=(
            "`self-signed`: the wizard generates a pair; `provided`: your cert_file/key_file."
        ),
    )
    cert_file: Annotated[str, AfterValidator(_path_text)] = Field(
        "auto",
        description="Certificate path (`auto`: in the data dir).",
    )
    key_file: Annotated[str, AfterValidator(_path_text)] = Field(
        "auto",
        description="Private key path (`auto`: in the data dir).",
    )

    @field_validator("cert_file", "key_file")
    @classmethod
    def _provided_file_readable(cls, value: str, info: ValidationInfo) -> str:
        """A provided certificate/key must be there now: a missing one is accepted by a reload
        and makes the next restart fail (FIELD-GUIDE §2)."""
        if value == "auto":
            return value
        path = Path(value)
        if info.data.get("mode") != "provided":
            # self-signed: the wizard creates the file there, so its folder must exist.
            if not path.parent.is_dir():
                raise PydanticCustomError(
                    "tls_dir_missing",
                    "missing folder",
                    {"value": value, "folder": str(path.parent)},
                )
            return value
        if not path.is_file():
            raise PydanticCustomError("tls_file_missing", "missing", {"value": value})
        try:
            with path.open("rb") as handle:
                handle.read(1)
        except OSError as exc:
            raise PydanticCustomError(
                "tls_file_unreadable",
                "unreadable",
                {"value": value, "detail": exc.strerror or type(exc).__name__},
            ) from None
        return value


class ExposureConfig(_Model):
    """How the DW is reached from the Internet."""

    listen_addresses: Annotated[str, AfterValidator(_listen_addresses)] = Field(
        "*",
        description="postgresql.conf listen_addresses (`*` = every interface).",
    )
    listen_port: Annotated[int | Literal["auto"], BeforeValidator(_port_or_auto)] = Field(
        "auto",
        description="postgresql.conf port; `auto` keeps the server's current port.",
    )
    public_host: Annotated[str, AfterValidator(_public_host)] = Field(
        "",
        description="Public IP or DNS name Supabase connects to (your router / port forward).",
    )
    public_port: Port = Field(5432, description="Public port forwarded to the DW.")
    allowed_cidrs: list[Cidr] = Field(
        default_factory=list,
        description=(
            "Source addresses allowed in pg_hba (CIDR). Supabase has no fixed egress IP, so "
            "`0.0.0.0/0` is usually needed; it requires `acknowledge_open_to_internet` and TLS."
        ),
    )
    acknowledge_open_to_internet: bool = Field(
        False,
        description="Set to true to accept a CIDR that covers the whole Internet.",
    )
    hba_connection_type: Literal["hostssl", "host"] = Field(
        "hostssl",
        description="`hostssl` (TLS only, default) or `host` (runbook literal; allows plain text).",
    )
    online_ip_lookup: bool = Field(
        True, description="Ask a public service for this site's public IP (turn off offline)."
    )
    tls: TlsConfig = Field(default_factory=TlsConfig, description="TLS settings.")

    @model_validator(mode="after")
    def _open_needs_ack_and_tls(self) -> ExposureConfig:
        """The rule: a list whose networks TOGETHER cover more public addresses than one /8
        (per family; private, loopback, CGNAT and multicast space not counted) opens the
        server to the Internet, like 0.0.0.0/0 does: it needs the acknowledgement and TLS.
        `0.0.0.0/1` + `128.0.0.0/1` is judged as the whole IPv4 Internet it is."""
        whole = [c for c in self.allowed_cidrs if ipaddress.ip_network(c).prefixlen == 0]
        counts = public_addresses(self.allowed_cidrs)
        wide = {
            version: count
            for version, count in counts.items()
            if count > 2 ** ((32 if version == 4 else 128) - OPEN_LIMIT_PREFIX)
        }
        if not whole and not wide:
            return self
        given = ", ".join(self.allowed_cidrs)
        if not self.acknowledge_open_to_internet:
            if whole:
                raise PydanticCustomError(
                    "open_cidr_ack", "needs acknowledgement", {"given": ", ".join(whole)}
                )
            version, count = next(iter(wide.items()))
            raise PydanticCustomError(
                "open_cidrs_ack",
                "needs acknowledgement",
                {"given": given, "share": _share(count, version), "family": f"IPv{version}"},
            )
        if not self.tls.enabled or self.hba_connection_type != "hostssl":
            raise PydanticCustomError(
                "open_cidr_tls", "needs TLS", {"given": ", ".join(whole) or given}
            )
        return self


class SupabaseConfig(_Model):
    """The Supabase project's database (password: secret `supabase-db`)."""

    host: str = Field(
        "",
        description=(
            "Database host: the session pooler `aws-0-<region>.pooler.supabase.com` or "
            "`db.<ref>.supabase.co` (IPv6 only without the IPv4 add-on)."
        ),
    )
    port: Port = Field(5432, description="5432 (direct or session pooler). 6543 is refused.")
    database: Identifier = Field("postgres", description="Database name.")
    user: str = Field("postgres", description="`postgres` or, on the pooler, `postgres.<ref>`.")
    project_url: str = Field(
        "", description="`https://<ref>.supabase.co` (REST/Storage checks; keys in the keyring)."
    )
    sslmode: Literal["require", "verify-full", "prefer", "disable"] = Field(
        "require", description="sslmode for the wizard's own connection to Supabase."
    )

    @field_validator("port")
    @classmethod
    def _no_transaction_pooler(cls, value: int) -> int:
        if value == 6543:
            raise PydanticCustomError("transaction_pooler", "transaction pooler refused")
        return value

    @field_validator("user")
    @classmethod
    def _user(cls, value: str) -> str:
        base = value.split(".", 1)[0]
        _identifier(base)
        return value


class FdwConfig(_Model):
    """postgres_fdw objects created on Supabase."""

    server_name: Identifier = Field(runbook.RUNBOOK_SERVER_NAME, description="CREATE SERVER name.")
    target_schema: Identifier = Field(
        "bi",
        description=(
            "Schema of the foreign tables. `bi` (private, not exposed by the API) is the safe "
            "default; `public` is the runbook's literal choice and publishes every table."
        ),
    )
    map_roles: list[Identifier] = Field(
        default_factory=lambda: ["postgres", "authenticated", "service_role"],
        description=(
            "Roles that get a user mapping (and may read the foreign tables): the app's "
            "logged-in users and the server-side service role (the health function). Adding "
            "`anon` exposes data to anyone holding the public key."
        ),
    )
    fetch_size: Annotated[int | Literal["auto"], BeforeValidator(_fetch_size)] = Field(
        "auto",
        description="Rows per round trip; `auto` picks it from the measured latency and row width.",
    )
    connect_timeout_s: int = Field(
        3,
        ge=1,
        le=120,
        strict=True,
        description="libpq connect_timeout: how fast an offline DW fails.",
    )
    keepalives_idle_s: int = Field(
        30, ge=1, le=7200, strict=True, description="TCP keepalive idle time."
    )
    tcp_user_timeout_ms: int = Field(
        15000, ge=0, le=600000, strict=True, description="libpq tcp_user_timeout (0 = OS default)."
    )
    api_read_bound_s: int = Field(
        3,
        ge=1,
        le=7,
        strict=True,
        description=(
            "Seconds within which an API read of the BI views ends, even with the DW hung "
            "(supabase.read-bound; below authenticated's 8 s so the app's fallback gets its turn)."
        ),
    )
    tables: list[Identifier] = Field(
        default_factory=lambda: list(runbook.RUNBOOK_TABLES),
        description="DW tables to import (the runbook's 18 by default).",
    )

    @field_validator("map_roles", "tables")
    @classmethod
    def _unique(cls, values: list[str]) -> list[str]:
        if len(set(values)) != len(values):
            raise PydanticCustomError("duplicates", "has duplicates", {"value": values})
        return values

    @field_validator("target_schema")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        if value in SUPABASE_RESERVED_SCHEMAS or value.startswith("pg_"):
            raise PydanticCustomError("reserved_schema", "reserved", {"value": value})
        return value


class ViewConfig(_Model):
    """One of the runbook's unified views."""

    enabled: bool = Field(True, description="Create this view.")
    schema_name: Identifier = Field(
        "public", alias="schema", description="Schema of the view (exposed by the API)."
    )
    security_invoker: bool = Field(
        True,
        description=(
            "true: the view checks the caller's rights and RLS (each API role that reads it "
            "needs a user mapping); false: it runs as its owner and ignores RLS (lint 0010)."
        ),
    )
    grant_to: list[Identifier] = Field(
        default_factory=lambda: ["authenticated", "service_role"],
        description="Roles granted SELECT (each needs a user mapping: fdw.map_roles).",
    )

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ViewsConfig(_Model):
    """The runbook's Phase 3 views."""

    clientes_360: ViewConfig = Field(default_factory=ViewConfig, description="v_clientes_360.")
    frota_360: ViewConfig = Field(default_factory=ViewConfig, description="v_frota_360.")


class FallbackConfig(_Model):
    """The Storage JSON fallback the app keeps using when the FDW is down."""

    bucket: str = Field(runbook.RUNBOOK_BUCKET, description="Storage bucket.")
    max_age_hours: int = Field(
        24,
        ge=1,
        le=24 * 30,
        strict=True,
        description="A fallback file older than this is reported stale.",
    )

    @field_validator("bucket")
    @classmethod
    def _bucket(cls, value: str) -> str:
        if not re.match(r"^[a-z0-9][a-z0-9._-]{1,62}$", value):
            raise PydanticCustomError("bucket", "invalid bucket", {"value": value})
        return value


class ValidationConfig(_Model):
    """Targets of the runbook's Phase 4 (Validação)."""

    latency_target_ms: int = Field(
        runbook.RUNBOOK_LATENCY_TARGET_MS,
        ge=1,
        le=60000,
        strict=True,
        description="Latency goal per read.",
    )
    samples: int = Field(
        5, ge=1, le=1000, strict=True, description="Repetitions of each measured read."
    )
    monitor_window_hours: int = Field(
        runbook.RUNBOOK_MONITOR_HOURS,
        ge=0,
        strict=True,
        le=24 * 30,
        description="Incident-free monitoring required before cleanup.",
    )
    reuse_minutes: int = Field(
        30,
        ge=0,
        strict=True,
        le=24 * 60,
        description=(
            "Reuse a passing validation measured this many minutes ago when nothing it depends "
            "on changed (0: always measure). `fdw-wizard validate` always measures."
        ),
    )
    offline_probe_host: str = Field(
        "",
        description="Address that never answers, for the offline test (empty: a local listener).",
    )


class CleanupConfig(_Model):
    """Phase 5 (Limpeza): what cleanup removes from Supabase and where the backup goes."""

    mode: Literal["delete-bi-rows", "truncate"] = Field(
        "delete-bi-rows",
        description=(
            "`delete-bi-rows`: runbook 6.1 option 2, DELETE FROM clientes WHERE origem = "
            "'dim_clientes_bi' (default); `truncate`: option 1, TRUNCATE TABLE clientes."
        ),
    )
    backup_scope: Literal["removed", "all"] = Field(
        "removed",
        description=(
            "Rows the backup holds: `removed` (what cleanup removes) or `all`. "
            "`truncate` always backs up every row."
        ),
    )
    backup_dir: str = Field(
        "auto",
        description=(
            "Backup folder (`auto`: <data dir>/backups; relative to this file). "
            "Backups hold customer data (mode 0600)."
        ),
    )
    document_path: str = Field(
        "arquitetura-fdw.md",
        description=(
            "Where `cleanup.document` writes the as-built document (Markdown; relative to "
            "this file). `fdw-wizard document --out FILE` writes elsewhere on demand."
        ),
        min_length=1,
    )


class SecretsConfig(_Model):
    """Where secrets live (never in this file)."""

    namespace: str = Field(
        "default",
        description="Keyring namespace, so that a rehearsal and production never share secrets.",
        pattern=r"^[A-Za-z0-9_.-]{1,64}$",
    )
    allow_insecure_backend: bool = Field(
        False, description="Accept a plaintext keyring backend (not recommended)."
    )


class Config(_Model):
    """Everything fdw-wizard needs to know, except secrets."""

    version: Literal[1] = Field(1, description="Format version of this file.")
    language: Literal["auto", "pt-BR", "en"] = Field(
        "auto", description="UI language; `auto` follows the system locale."
    )
    sandbox: bool = Field(
        False, description="Written by `fdw-wizard demo`: this config points at a rehearsal."
    )
    local: LocalConfig = Field(default_factory=LocalConfig, description="The local DW.")
    reader: ReaderConfig = Field(default_factory=ReaderConfig, description="Read-only role.")
    exposure: ExposureConfig = Field(default_factory=ExposureConfig, description="Exposure.")
    supabase: SupabaseConfig = Field(default_factory=SupabaseConfig, description="Supabase.")
    fdw: FdwConfig = Field(default_factory=FdwConfig, description="postgres_fdw objects.")
    views: ViewsConfig = Field(default_factory=ViewsConfig, description="Unified views.")
    fallback: FallbackConfig = Field(default_factory=FallbackConfig, description="Fallback.")
    validation: ValidationConfig = Field(
        default_factory=ValidationConfig, description="Validation targets."
    )
    cleanup: CleanupConfig = Field(default_factory=CleanupConfig, description="Phase 5 cleanup.")
    secrets: SecretsConfig = Field(default_factory=SecretsConfig, description="Secrets.")


class ConfigError(Exception):
    """A config problem, as one or more messages that each name the key, value and fix."""

    def __init__(self, path: Path, messages: list[Message]) -> None:
        self.path = path
        self.messages = messages
        super().__init__("; ".join(m.render("en") for m in messages))


class ConfigMissing(ConfigError):
    """No config file yet; a template was written (or could be)."""


def _key_path(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts[-1:] = [f"{parts[-1]}[{item}]"] if parts else [f"[{item}]"]
        else:
            parts.append(str(item))
    return ".".join(parts) or "(top level)"


def _value_text(value: Any) -> str:
    if isinstance(value, dict):
        return "{...}"
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 80 else text[:77] + "..."


# pydantic error type -> our catalog key (the catalogs say the expected form and the fix).
_ERROR_KEYS = {
    "extra_forbidden": "config.err.unknown_key",
    "missing": "config.err.missing",
    "int_parsing": "config.err.int",
    "int_type": "config.err.int",
    "int_from_float": "config.err.int",
    "bool_parsing": "config.err.bool",
    "bool_type": "config.err.bool",
    "string_type": "config.err.string",
    "list_type": "config.err.list",
    "model_type": "config.err.mapping",
    "dict_type": "config.err.mapping",
    "literal_error": "config.err.choice",
    "too_short": "config.err.too_short",
    "string_too_short": "config.err.too_short",
    "string_too_long": "config.err.too_long",
    "string_pattern_mismatch": "config.err.pattern",
    "identifier": "config.err.identifier",
    "cidr": "config.err.cidr",
    "open_cidr_ack": "config.err.open_cidr_ack",
    "open_cidr_tls": "config.err.open_cidr_tls",
    "transaction_pooler": "config.err.transaction_pooler",
    "reserved_schema": "config.err.reserved_schema",
    "fetch_size": "config.err.fetch_size",
    "port_or_auto": "config.err.port_or_auto",
    "duplicates": "config.err.duplicates",
    "bucket": "config.err.bucket",
    "listen_addresses": "input.config.listen_addresses",
    "listen_addresses_empty": "input.config.listen_addresses_empty",
    "public_host": "input.config.public_host",
    "path_chars": "input.config.path_chars",
    "tls_file_missing": "input.config.tls_file_missing",
    "tls_file_unreadable": "input.config.tls_file_unreadable",
    "tls_dir_missing": "input.config.tls_dir_missing",
    "open_cidrs_ack": "input.config.open_cidrs_ack",
}


def _messages_from(exc: ValidationError) -> list[Message]:
    messages: list[Message] = []
    for err in exc.errors():
        kind = err["type"]
        key_path = _key_path(err["loc"])
        ctx = err.get("ctx") or {}
        params: dict[str, Any] = {"key": key_path, "value": _value_text(err.get("input"))}
        if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
            field_info = _field_bounds(err["loc"])
            params.update(low=field_info[0], high=field_info[1])
            messages.append(Message("config.err.range", params))
            continue
        if kind == "literal_error":
            params["expected"] = str(ctx.get("expected", ""))
        if kind == "cidr":
            params["hint"] = ctx.get("hint", "")
            key = "config.err.cidr_host_bits" if ctx.get("hint") else "config.err.cidr"
            messages.append(Message(key, params))
            continue
        if kind in ("open_cidr_ack", "open_cidr_tls", "open_cidrs_ack"):
            params["key"] = key_path + ".allowed_cidrs" if key_path != "(top level)" else key_path
            params["value"] = str(ctx.get("given", ""))  # what was written, e.g. ::/0
            if kind == "open_cidrs_ack":
                params.update(share=ctx.get("share", ""), family=ctx.get("family", ""))
        if kind == "listen_addresses":
            params["element"] = _value_text(ctx.get("element", ""))
        if kind == "tls_dir_missing":
            params["folder"] = str(ctx.get("folder", ""))
        if kind == "tls_file_unreadable":
            params["detail"] = str(ctx.get("detail", ""))
        key = _ERROR_KEYS.get(kind, "config.err.generic")
        if key == "config.err.generic":
            params["detail"] = err.get("msg", "")
        messages.append(Message(key, params))
    return messages


def _field_bounds(loc: tuple[int | str, ...]) -> tuple[Any, Any]:
    """The (ge, le) bounds declared on the field at ``loc``, for the range message."""
    model: Any = Config
    info = None
    for item in loc:
        if isinstance(item, int):
            continue
        fields = getattr(model, "model_fields", None)
        if not fields or item not in fields:
            break
        info = fields[item]
        model = info.annotation
    low = high = None
    if info is not None:
        for meta in info.metadata:
            low = getattr(meta, "ge", low) if getattr(meta, "ge", None) is not None else low
            high = getattr(meta, "le", high) if getattr(meta, "le", None) is not None else high
    return low, high


def _walk(data: Any, prefix: str = "") -> Iterator[tuple[str, str, Any]]:
    """Yield (key path, key name, value) for every mapping entry in the raw YAML."""
    if isinstance(data, dict):
        for key, value in data.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            yield path, str(key), value
            yield from _walk(value, path)
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _walk(value, f"{prefix}[{index}]")


def _secret_name_for(path: str, name: str, value: Any) -> str:
    """The keyring secret a misplaced YAML value most likely is."""
    lowered = name.lower()
    if "anon" in lowered:
        return "supabase-anon-key"
    if "service" in lowered:
        return "supabase-service-key"
    if isinstance(value, str) and _JWT_RE.match(value):
        return "supabase-anon-key"
    return _SECRET_HINTS.get(path.split(".", 1)[0], "supabase-db")


def find_secrets(data: Any) -> list[Message]:
    """Secret-looking keys or values in raw YAML: they belong in the keyring instead."""
    found: list[Message] = []
    for path, name, value in _walk(data):
        secret = _secret_name_for(path, name, value)
        if _SECRET_KEY_RE.match(name):
            found.append(Message("config.err.secret_key", {"key": path, "secret": secret}))
        elif isinstance(value, str) and (
            _JWT_RE.match(value) or _DSN_WITH_PASSWORD_RE.match(value)
        ):
            found.append(Message("config.err.secret_value", {"key": path, "secret": secret}))
    return found


class _AliasRefused(yaml.YAMLError):
    def __init__(self, line: int) -> None:
        super().__init__("alias")
        self.line = line


class _NoAliasLoader(yaml.SafeLoader):
    """safe_load without aliases (``*name``, ``<<: *name``): one line of aliases can expand
    into billions of nodes (the "billion laughs"), and this file never needs them."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            raise _AliasRefused(self.peek_event().start_mark.line + 1)  # type: ignore[no-untyped-call]
        return super().compose_node(parent, index)


def parse_config(text: str, path: Path) -> Config:
    """Parse YAML text into a Config, or raise ConfigError with every problem found."""
    try:
        data = yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506 - a SafeLoader subclass
    except _AliasRefused as exc:
        raise ConfigError(
            path, [Message("input.config.yaml_alias", {"path": str(path), "line": exc.line})]
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(
            path, [Message("config.err.yaml", {"line": line, "problem": problem})]
        ) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(path, [Message("config.err.top_level", {})])
    secrets = find_secrets(data)
    if secrets:
        raise ConfigError(path, secrets)
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(path, _messages_from(exc)) from None


def load_config(path: Path) -> Config:
    """Read and validate ``path``; ConfigMissing when it does not exist."""
    if not path.exists():
        raise ConfigMissing(path, [Message("config.err.missing_file", {"path": str(path)})])
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            path, [Message("config.err.unreadable", {"path": str(path), "detail": str(exc)})]
        ) from None
    return parse_config(text, path)


def template_text() -> str:
    """The commented first-run template (valid YAML that loads into the defaults)."""
    return resources.files("wizard").joinpath("config_template.yaml").read_text(encoding="utf-8")


def write_template(path: Path) -> None:
    """Create the commented template at ``path``; never overwrites an existing file."""
    from wizard.fileio import atomic_write_bytes

    if path.exists():
        return
    atomic_write_bytes(path, template_text().encode("utf-8"), backup=False)


def dump_config(config: Config) -> str:
    """Serialize a Config as YAML (used by the sandbox; secrets are never part of it)."""
    data = config.model_dump(mode="json", by_alias=True)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def save_config(config: Config, path: Path, header: str = "") -> None:
    from wizard.fileio import atomic_write_bytes

    text = (header + "\n" if header else "") + dump_config(config)
    atomic_write_bytes(path, text.encode("utf-8"), backup=path.exists())
