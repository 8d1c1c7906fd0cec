"""The common firewall interface: look our rule up, plan what would make it match, apply a plan.

Planning never changes anything; :meth:`Firewall.apply` runs exactly a plan's argv and is only
called by a step after the operator confirmed. One named rule (:data:`RULE_NAME`) is ours.
"""

from __future__ import annotations

import ipaddress
import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from wizard.dwhost.platform.runner import (
    CommandResult,
    CommandRunner,
    PlatformError,
    SubprocessRunner,
)
from wizard.i18n import Message
from wizard.plan import CommandAction, NoteAction

RULE_NAME = "fdw-wizard-postgresql"
RULE_DISPLAY_NAME = "fdw-wizard PostgreSQL (Supabase FDW)"
PROFILES = ("Domain", "Private", "Public")  # Windows network profiles, canonical spelling
COMMAND_TIMEOUT = 60.0
_NAME_RE = re.compile(r"^[A-Za-z0-9._-]{1,100}$")


@dataclass(frozen=True)
class FirewallRule:
    """Our rule as the firewall reports it (addresses normalized, see :func:`normalize_address`)."""

    name: str
    enabled: bool | None = None
    direction: str | None = None  # "inbound" | "outbound"
    action: str | None = None  # "allow" | "block"
    protocol: str | None = None  # "tcp" ...
    local_ports: tuple[str, ...] = ()
    remote_addresses: tuple[str, ...] = ()
    profiles: tuple[str, ...] = ()  # subset of PROFILES; all three for "Any"
    complete: bool = True  # False when the output could not be fully read (localized netsh)


@dataclass
class FirewallPlan:
    """What would make the firewall allow our port from the given addresses.

    ``argv_list`` empty and ``applicable`` True means "already done".
    """

    backend: (
        str  # windows-powershell | windows-netsh | ufw | firewalld | nftables | iptables | none
    )
    argv_list: list[list[str]] = field(default_factory=list)
    notes: list[Message] = field(default_factory=list)
    warnings: list[Message] = field(default_factory=list)
    applicable: bool = True
    existing: FirewallRule | None = None
    descriptions: list[Message] = field(default_factory=list)  # one per argv
    # The rule is (or will be) there but a policy makes it inert (Windows: a GPO with
    # AllowLocalFirewallRules=False ignores local rules): "done" would be a lie.
    policy_blocked: bool = False

    @property
    def nothing_to_do(self) -> bool:
        return not self.argv_list

    def actions(self) -> list[CommandAction | NoteAction]:
        """The plan as engine actions (commands first, then notes) for a step's Plan."""
        out: list[CommandAction | NoteAction] = []
        for i, argv in enumerate(self.argv_list):
            desc = (
                self.descriptions[i]
                if i < len(self.descriptions)
                else Message("platform.firewall.action.command", {"backend": self.backend})
            )
            out.append(CommandAction(list(argv), desc))
        out += [NoteAction(n) for n in self.notes]
        return out


class Firewall(ABC):
    backend: str

    def __init__(self, runner: CommandRunner | None = None, rule_name: str = RULE_NAME) -> None:
        self.runner = runner or SubprocessRunner()
        self.rule_name = validate_rule_name(rule_name)

    @abstractmethod
    def plan_rule(
        self, port: int, remote_addresses: Sequence[str], profiles: Sequence[str] = ("Any",)
    ) -> FirewallPlan:
        """What would make our rule allow TCP ``port`` from ``remote_addresses`` (``profiles``
        only matters on Windows). Reads the firewall, changes nothing."""

    @abstractmethod
    def remove_rule(self) -> FirewallPlan:
        """What would remove our rule (for undo); empty when there is none."""

    def apply(self, plan: FirewallPlan) -> list[CommandResult]:
        """Run a plan's commands in order; the first failure raises PlatformError."""
        results = []
        for argv in plan.argv_list:
            results.append(self.runner.run(list(argv), timeout=COMMAND_TIMEOUT).check())
        return results


# ---------------------------------------------------------------------------------------------
# Validation and normalization (inputs are validated even though argv needs no shell quoting)

_KEYWORDS = {"any": "any", "localsubnet": "localsubnet", "*": "any"}


def validate_rule_name(name: str) -> str:
    if not _NAME_RE.match(name):
        raise PlatformError(Message("platform.firewall.invalid_name", {"name": name}))
    return name


def validate_port(port: int) -> int:
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise PlatformError(Message("platform.firewall.invalid_port", {"port": str(port)}))
    return port


def validate_addresses(addresses: Iterable[str]) -> tuple[str, ...]:
    """IPv4/IPv6 addresses or CIDR networks, normalized ("203.0.113.0/24"), de-duplicated."""
    out: list[str] = []
    for raw in addresses:
        text = str(raw).strip()
        try:
            net = ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise PlatformError(
                Message("platform.firewall.invalid_address", {"address": text})
            ) from None
        value = str(net.network_address) if net.num_addresses == 1 else str(net)
        if value not in out:
            out.append(value)
    if not out:
        raise PlatformError(Message("platform.firewall.no_addresses"))
    return tuple(out)


def validate_profiles(profiles: Iterable[str]) -> tuple[str, ...]:
    """Windows profiles in canonical order; "Any" (or all three) means all."""
    chosen: set[str] = set()
    for raw in profiles:
        for part in str(raw).split(","):
            word = part.strip().lower()
            if not word:
                continue
            if word in ("any", "all"):
                chosen.update(PROFILES)
                continue
            if word == "domainauthenticated":
                word = "domain"
            match = [p for p in PROFILES if p.lower() == word]
            if not match:
                raise PlatformError(Message("platform.firewall.invalid_profile", {"profile": raw}))
            chosen.add(match[0])
    if not chosen:
        chosen.update(PROFILES)
    return tuple(p for p in PROFILES if p in chosen)


def normalize_address(text: str) -> str:
    """One spelling per address: Windows reports "198.51.100.0/255.255.255.0" and
    "203.0.113.10" for what we asked as "198.51.100.0/24" and "203.0.113.10/32"."""
    value = text.strip()
    keyword = _KEYWORDS.get(value.lower())
    if keyword:
        return keyword
    if "-" in value:  # a range "a-b"; one that is exactly a network is that network
        lo, _, hi = value.partition("-")
        try:
            first, last = ipaddress.ip_address(lo.strip()), ipaddress.ip_address(hi.strip())
            nets = [
                ipaddress.ip_network(n)
                for n in ipaddress.summarize_address_range(first, last)  # type: ignore[type-var]
            ]
        except (ValueError, TypeError):
            return value.lower()
        if len(nets) == 1:
            return str(nets[0].network_address) if nets[0].num_addresses == 1 else str(nets[0])
        return f"{first}-{last}"
    try:
        net = ipaddress.ip_network(value, strict=False)
    except ValueError:
        return value.lower()
    return str(net.network_address) if net.num_addresses == 1 else str(net)


_EVERY_ADDRESS = {"any", "0.0.0.0/0", "::/0"}


def same_addresses(have: Iterable[str], want: Iterable[str]) -> bool:
    """Whether a rule's addresses (as the firewall reports them) are the ones asked for. The
    whole Internet may be read back in another spelling — ``0.0.0.0/0.0.0.0``, a range
    ``0.0.0.0-255.255.255.255`` or ``Any`` — which must not make every check rewrite it."""
    got = {normalize_address(a) for a in have}
    wanted = {normalize_address(a) for a in want}
    if got == wanted:
        return True
    return got == {"any"} and "0.0.0.0/0" in wanted and wanted <= _EVERY_ADDRESS
