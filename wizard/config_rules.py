"""The rules a value of ``fdw-wizard.yaml`` must follow, below the models that apply them:
identifiers, ports, CIDRs, host names and listen_addresses, file paths, fetch_size, and how
much of the public Internet a CIDR list opens. Each rule raises a ``PydanticCustomError`` whose
type :mod:`wizard.config` turns into a catalog message naming the key.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field
from pydantic_core import PydanticCustomError

# A PostgreSQL identifier the wizard is willing to manage: plain ASCII, no quoting needed.
# Anything else (quotes, spaces, accents) is refused instead of quoted, so that what the
# operator reads in the plan is exactly what the server will have.
_IDENT_RE = re.compile(r"^[a-z_][a-z0-9_$]{0,62}$")


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


def check_identifier(value: str) -> str:
    if not _IDENT_RE.match(value):
        raise PydanticCustomError(
            "identifier", "must be a lower-case ASCII identifier", {"value": value}
        )
    return value


Identifier = Annotated[str, Field(min_length=1, max_length=63), AfterValidator(check_identifier)]
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


def public_share(count: int, version: int) -> str:
    """``count`` public addresses as a share of the family's public space (\"0.391%\")."""
    total = (
        2**32 - sum(n.num_addresses for n in _NOT_PUBLIC_V4)
        if version == 4
        else _PUBLIC_V6.num_addresses
    )
    percent = 100 * count / total
    return f"{percent:.3g}%"


def _auto_or_up_to(kind: str, high: int) -> Callable[[Any], Any]:
    """A rule for ``auto`` or an integer 1..high (a YAML ``true`` is not 1); ``kind`` is the
    error type the catalog knows."""

    def check(value: Any) -> Any:
        if value == "auto":
            return value
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
            raise PydanticCustomError(kind, f"auto or 1-{high}", {"value": value})
        return value

    return check


def bounded_int(default: int, low: int, high: int, description: str) -> Any:
    """An integer field from ``low`` to ``high``. Strict: YAML ``true`` is not 1 and ``"30"``
    (a quoted string) is not silently converted. The bounds stay on the field, where the range
    message and the README reference read them."""
    return Field(default, ge=low, le=high, strict=True, description=description)


# The annotated types the models declare their fields with.
PathText = Annotated[str, AfterValidator(_path_text)]
ListenAddresses = Annotated[str, AfterValidator(_listen_addresses)]
PublicHost = Annotated[str, AfterValidator(_public_host)]
PortOrAuto = Annotated[
    int | Literal["auto"], BeforeValidator(_auto_or_up_to("port_or_auto", 65535))
]
FetchSize = Annotated[
    int | Literal["auto"], BeforeValidator(_auto_or_up_to("fetch_size", 1_000_000))
]
