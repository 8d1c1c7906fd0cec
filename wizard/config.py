"""Typed configuration: ``fdw-wizard.yaml`` <-> pydantic models, with errors that name the key.

The YAML holds no secret: passwords and API keys live in the OS keyring (``wizard.secrets``).
The models are in :mod:`wizard.config_models` and their value rules in
:mod:`wizard.config_rules`; this module reads and writes the file, turns validation errors into
catalog messages, and re-exports the models so importers name ``wizard.config`` only.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from wizard.config_models import CleanupConfig as CleanupConfig
from wizard.config_models import Config as Config
from wizard.config_models import ExposureConfig as ExposureConfig
from wizard.config_models import FallbackConfig as FallbackConfig
from wizard.config_models import FdwConfig as FdwConfig
from wizard.config_models import LocalConfig as LocalConfig
from wizard.config_models import ReaderConfig as ReaderConfig
from wizard.config_models import SecretsConfig as SecretsConfig
from wizard.config_models import SupabaseConfig as SupabaseConfig
from wizard.config_models import TlsConfig as TlsConfig
from wizard.config_models import ValidationConfig as ValidationConfig
from wizard.config_models import ViewConfig as ViewConfig
from wizard.config_models import ViewsConfig as ViewsConfig
from wizard.config_rules import OPEN_LIMIT_PREFIX as OPEN_LIMIT_PREFIX
from wizard.config_rules import SUPABASE_RESERVED_SCHEMAS as SUPABASE_RESERVED_SCHEMAS
from wizard.config_rules import Cidr as Cidr
from wizard.config_rules import Identifier as Identifier
from wizard.config_rules import Port as Port
from wizard.config_rules import is_host as is_host
from wizard.config_rules import public_addresses as public_addresses
from wizard.i18n import Message
from wizard.paths import DEFAULT_CONFIG_NAME as DEFAULT_CONFIG_NAME  # re-exported

# Key names that look like they hold a secret. `key_file` (a path) is deliberately not matched.
_SECRET_KEY_RE = re.compile(
    r"(?i)^(password|passwd|pwd|pass|secret|.*_secret|token|.*_token|api_?key|anon_key|"
    r"service_key|service_role_key|jwt|jwt_secret|.*_password)$"
)
_JWT_RE = re.compile(r"^eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+$")
_DSN_WITH_PASSWORD_RE = re.compile(r"(?i)^postgres(ql)?://[^:/@\s]+:[^@\s]+@")


# Which keyring secret holds what a secret-looking YAML key probably meant.
_SECRET_HINTS = {
    "local": "local-superuser",
    "reader": "reader",
    "supabase": "supabase-db",
}


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
