"""The pydantic models of ``fdw-wizard.yaml``, one per section (``local``, ``reader``,
``exposure`` ...) and :class:`Config` for the whole file. The value rules are in
:mod:`wizard.config_rules`; reading and writing the file, and its error messages, in
:mod:`wizard.config` (which re-exports these names).

Every field has a description; the README's configuration reference is generated from them
(``python -m wizard.config_doc``) and a test keeps the two in sync.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from wizard import runbook
from wizard.config_rules import (
    OPEN_LIMIT_PREFIX,
    SUPABASE_RESERVED_SCHEMAS,
    Cidr,
    FetchSize,
    Identifier,
    ListenAddresses,
    PathText,
    Port,
    PortOrAuto,
    PublicHost,
    bounded_int,
    check_identifier,
    public_addresses,
    public_share,
)


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
    connection_limit: int = bounded_int(
        20, 1, 1000, "CONNECTION LIMIT of the role (protects the DW)."
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
    cert_file: PathText = Field(
        "auto",
        description="Certificate path (`auto`: in the data dir).",
    )
    key_file: PathText = Field(
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

    listen_addresses: ListenAddresses = Field(
        "*",
        description="postgresql.conf listen_addresses (`*` = every interface).",
    )
    listen_port: PortOrAuto = Field(
        "auto",
        description="postgresql.conf port; `auto` keeps the server's current port.",
    )
    public_host: PublicHost = Field(
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
                {"given": given, "share": public_share(count, version), "family": f"IPv{version}"},
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
        check_identifier(base)
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
    fetch_size: FetchSize = Field(
        "auto",
        description="Rows per round trip; `auto` picks it from the measured latency and row width.",
    )
    connect_timeout_s: int = bounded_int(
        3, 1, 120, "libpq connect_timeout: how fast an offline DW fails."
    )
    keepalives_idle_s: int = bounded_int(30, 1, 7200, "TCP keepalive idle time.")
    tcp_user_timeout_ms: int = bounded_int(
        15000, 0, 600000, "libpq tcp_user_timeout (0 = OS default)."
    )
    api_read_bound_s: int = bounded_int(
        3,
        1,
        7,
        (
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
    max_age_hours: int = bounded_int(
        24, 1, 24 * 30, "A fallback file older than this is reported stale."
    )

    @field_validator("bucket")
    @classmethod
    def _bucket(cls, value: str) -> str:
        if not re.match(r"^[a-z0-9][a-z0-9._-]{1,62}$", value):
            raise PydanticCustomError("bucket", "invalid bucket", {"value": value})
        return value


class ValidationConfig(_Model):
    """Targets of the runbook's Phase 4 (Validação)."""

    latency_target_ms: int = bounded_int(
        runbook.RUNBOOK_LATENCY_TARGET_MS, 1, 60000, "Latency goal per read."
    )
    samples: int = bounded_int(5, 1, 1000, "Repetitions of each measured read.")
    monitor_window_hours: int = bounded_int(
        runbook.RUNBOOK_MONITOR_HOURS,
        0,
        24 * 30,
        "Incident-free monitoring required before cleanup.",
    )
    reuse_minutes: int = bounded_int(
        30,
        0,
        24 * 60,
        (
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
