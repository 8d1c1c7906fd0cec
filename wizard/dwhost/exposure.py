"""Where Supabase will connect to: classify the public address honestly (FIELD-GUIDE §6)."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass, field

CGNAT = ipaddress.ip_network("100.64.0.0/10")


@dataclass
class AddressVerdict:
    host: str
    addresses: list[str] = field(default_factory=list)
    kind: str = "unknown"  # public | private | cgnat | loopback | link-local | unresolved | empty


def classify_ip(text: str) -> str:
    ip = ipaddress.ip_address(text)
    if ip.is_loopback:
        return "loopback"
    if isinstance(ip, ipaddress.IPv4Address) and ip in CGNAT:
        return "cgnat"
    if ip.is_link_local:
        return "link-local"
    if ip.is_private or ip.is_reserved or ip.is_unspecified or ip.is_multicast:
        return "private"
    return "public"


# Worst first: one bad address makes the host unusable for Supabase.
_RANK = ("unresolved", "cgnat", "private", "link-local", "loopback", "public")


def classify_host(host: str, resolve: bool = True) -> AddressVerdict:
    """Classify ``host`` (an IP literal, or a DNS name resolved once when ``resolve``)."""
    verdict = AddressVerdict(host)
    if not host:
        verdict.kind = "empty"
        return verdict
    try:
        verdict.addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        if not resolve:
            verdict.kind = "unresolved"
            return verdict
        try:
            infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
        except OSError:
            verdict.kind = "unresolved"
            return verdict
        verdict.addresses = sorted({str(info[4][0]).split("%")[0] for info in infos})
    kinds = {classify_ip(a) for a in verdict.addresses}
    verdict.kind = next(k for k in _RANK if k in kinds) if kinds else "unresolved"
    return verdict


def lookup_public_ip(timeout: float = 5.0) -> str | None:
    """This site's public IPv4 as the Internet sees it (one HTTPS request), or None.

    Only called when `exposure.online_ip_lookup` is on: the operator can turn it off, and the
    sandbox and tests never call it.
    """
    import urllib.request

    try:
        with urllib.request.urlopen("https://api.ipify.org", timeout=timeout) as response:
            text = str(response.read(64).decode("ascii")).strip()
        ipaddress.ip_address(text)
        return text
    except (OSError, ValueError):
        return None
