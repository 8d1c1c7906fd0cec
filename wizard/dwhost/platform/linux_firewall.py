"""Linux firewalls: our rule planned for ufw and firewalld; for raw nftables/iptables rule sets
only guidance (editing them is the admin's call). Every command goes through a
:class:`CommandRunner` in the C locale, so the tests replay recorded outputs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from wizard.dwhost.platform.firewall import (
    Firewall,
    FirewallPlan,
    normalize_address,
    validate_addresses,
    validate_port,
)
from wizard.dwhost.platform.runner import C_LOCALE, QUERY_TIMEOUT, CommandResult, CommandRunner
from wizard.i18n import Message


@dataclass(frozen=True)
class UfwRule:
    port: str
    protocol: str
    action: str
    source: str
    comment: str


def parse_ufw_status(text: str) -> tuple[bool, list[UfwRule]]:
    """(active, rules) from ``ufw status`` (C locale)."""
    active = bool(re.search(r"^Status:\s*active\s*$", text, re.MULTILINE))
    rules = []
    for line in text.splitlines():
        body, _, comment = line.partition("#")
        cols = re.split(r"\s{2,}", body.strip())
        if len(cols) < 3 or cols[0] in ("To", "--"):
            continue
        to, action, source = cols[0], cols[1], cols[2]
        port, _, proto = to.replace(" (v6)", "").partition("/")
        source = source.replace(" (v6)", "")
        rules.append(
            UfwRule(port.strip(), proto.strip() or "any", action.strip(), source, comment.strip())
        )
    return active, rules


_RICH_RE = re.compile(
    r'source address="(?P<addr>[^"]+)".*port port="(?P<port>\d+)" protocol="(?P<proto>\w+)".*accept'
)


def rich_rule(address: str, port: int) -> str:
    family = "ipv6" if ":" in address else "ipv4"
    return (
        f'rule family="{family}" source address="{address}" '
        f'port port="{port}" protocol="tcp" accept'
    )


def _ruleset_filters_input(text: str) -> bool:
    """Whether an nft/iptables rule set can drop incoming traffic at all."""
    low = text.lower()
    if "hook input" in low or "-p input" in low or "chain input" in low:
        return bool(re.search(r"policy drop|\bdrop\b|\breject\b|-p input drop", low))
    return False


class LinuxFirewall(Firewall):
    """ufw or firewalld: planned argv. nftables/iptables: guidance only. None: n/a."""

    backend = "linux"

    def __init__(self, runner: CommandRunner | None = None, rule_name: str | None = None) -> None:
        super().__init__(runner, rule_name or "fdw-wizard-postgresql")
        self._detected: tuple[str, CommandResult | None, list[Message]] | None = None

    def _run(self, argv: list[str]) -> CommandResult:
        return self.runner.run(argv, timeout=QUERY_TIMEOUT, env=dict(C_LOCALE))

    def detect(self) -> str:
        """ufw | firewalld | nftables | iptables | none: the first firewall actually active."""
        return self._detect()[0]

    def _detect(self) -> tuple[str, CommandResult | None, list[Message]]:
        if self._detected is not None:
            return self._detected
        notes: list[Message] = []
        found: tuple[str, CommandResult | None] = ("none", None)
        probes: list[tuple[str, list[str]]] = [
            ("ufw", ["ufw", "status"]),
            ("firewalld", ["firewall-cmd", "--state"]),
            ("nftables", ["nft", "list", "ruleset"]),
            ("iptables", ["iptables", "-S", "INPUT"]),
        ]
        for name, argv in probes:
            result = self._run(argv)
            if result.not_found:
                continue
            if name == "ufw" and result.ok:
                if parse_ufw_status(result.stdout)[0]:
                    found = (name, result)
                    break
                continue
            if name == "firewalld":
                if result.ok and result.stdout.strip() == "running":
                    found = (name, result)
                    break
                continue
            if not result.ok:
                # Installed but unreadable (not root): say so rather than guess.
                notes.append(
                    Message(
                        "platform.firewall.unreadable",
                        {"backend": name, "output": result.tail(300)},
                    )
                )
                continue
            if _ruleset_filters_input(result.stdout):
                found = (name, result)
                break
        self._detected = (found[0], found[1], notes)
        return self._detected

    def plan_rule(
        self, port: int, remote_addresses: Sequence[str], profiles: Sequence[str] = ("Any",)
    ) -> FirewallPlan:
        port = validate_port(port)
        addresses = validate_addresses(remote_addresses)
        backend, probe, notes = self._detect()
        plan = FirewallPlan(backend, notes=list(notes))
        args = {"name": self.rule_name, "port": port, "addresses": ", ".join(addresses)}
        if backend == "none":
            plan.applicable = False
            plan.notes.append(Message("platform.firewall.none_active"))
        elif backend == "ufw" and probe is not None:
            self._plan_ufw(plan, probe, port, addresses, args)
        elif backend == "firewalld":
            self._plan_firewalld(plan, port, addresses, args)
        else:
            plan.applicable = False
            plan.notes.append(
                Message(
                    f"platform.firewall.guidance.{backend}",
                    {**args, "command": _guidance_command(backend, port, addresses)},
                )
            )
        if plan.applicable and not plan.argv_list:
            plan.notes.append(Message("platform.firewall.already", args))
        return plan

    def _plan_ufw(
        self,
        plan: FirewallPlan,
        probe: CommandResult,
        port: int,
        addresses: tuple[str, ...],
        args: dict[str, Any],
    ) -> None:
        _, rules = parse_ufw_status(probe.stdout)
        ours = [r for r in rules if r.comment == self.rule_name]
        have = {(normalize_address(r.source), r.port) for r in ours if r.action.startswith("ALLOW")}
        for address in addresses:
            if (normalize_address(address), str(port)) not in have:
                plan.argv_list.append(
                    [
                        "ufw",
                        "allow",
                        "proto",
                        "tcp",
                        "from",
                        address,
                        "to",
                        "any",
                        "port",
                        str(port),
                        "comment",
                        self.rule_name,
                    ]
                )
                plan.descriptions.append(
                    Message("platform.firewall.action.create", {**args, "addresses": address})
                )
        wanted = {(normalize_address(a), str(port)) for a in addresses}
        for rule in ours:
            key = (normalize_address(rule.source), rule.port)
            if key not in wanted and rule.action.startswith("ALLOW"):
                plan.argv_list.append(_ufw_delete(rule.source, rule.port))
                plan.descriptions.append(
                    Message(
                        "platform.firewall.action.remove_stale",
                        {**args, "addresses": rule.source, "port": rule.port},
                    )
                )
                wanted.add(key)  # the v4 and v6 listings of one rule: delete once

    def _firewalld_rules(self) -> list[tuple[str, str, str]]:
        result = self._run(["firewall-cmd", "--permanent", "--list-rich-rules"])
        if not result.ok:
            raise result.error()
        found = []
        for line in result.stdout.splitlines():
            m = _RICH_RE.search(line)
            if m:
                found.append((normalize_address(m["addr"]), m["port"], line.strip()))
        return found

    def _plan_firewalld(
        self, plan: FirewallPlan, port: int, addresses: tuple[str, ...], args: dict[str, Any]
    ) -> None:
        have = {(a, p) for a, p, _ in self._firewalld_rules()}
        for address in addresses:
            if (normalize_address(address), str(port)) not in have:
                plan.argv_list.append(
                    ["firewall-cmd", "--permanent", f"--add-rich-rule={rich_rule(address, port)}"]
                )
                plan.descriptions.append(
                    Message("platform.firewall.action.create", {**args, "addresses": address})
                )
        if plan.argv_list:
            plan.argv_list.append(["firewall-cmd", "--reload"])
            plan.descriptions.append(Message("platform.firewall.action.reload_firewall"))

    def remove_rule(
        self, port: int | None = None, remote_addresses: Sequence[str] = ()
    ) -> FirewallPlan:
        """ufw rules carry our comment; firewalld rich rules cannot, so there the port and
        addresses that were added must be given."""
        backend, probe, notes = self._detect()
        plan = FirewallPlan(backend, notes=list(notes))
        if backend == "ufw" and probe is not None:
            seen = set()
            for rule in parse_ufw_status(probe.stdout)[1]:
                key = (normalize_address(rule.source), rule.port)
                if rule.comment == self.rule_name and key not in seen:
                    seen.add(key)
                    plan.argv_list.append(_ufw_delete(rule.source, rule.port))
                    plan.descriptions.append(
                        Message("platform.firewall.action.remove", {"name": self.rule_name})
                    )
        elif backend == "firewalld" and port is not None and remote_addresses:
            wanted = {(normalize_address(a), str(port)) for a in remote_addresses}
            for address, rule_port, text in self._firewalld_rules():
                if (address, rule_port) in wanted:
                    plan.argv_list.append(
                        ["firewall-cmd", "--permanent", f"--remove-rich-rule={text}"]
                    )
                    plan.descriptions.append(
                        Message("platform.firewall.action.remove", {"name": self.rule_name})
                    )
            if plan.argv_list:
                plan.argv_list.append(["firewall-cmd", "--reload"])
                plan.descriptions.append(Message("platform.firewall.action.reload_firewall"))
        elif backend == "none":
            plan.applicable = False
        if not plan.argv_list:
            plan.notes.append(
                Message("platform.firewall.nothing_to_remove", {"name": self.rule_name})
            )
        return plan


def _ufw_delete(source: str, port: str) -> list[str]:
    return ["ufw", "delete", "allow", "proto", "tcp", "from", source, "to", "any", "port", port]


_NFT_CHAIN = "inet filter input"  # the Debian /etc/nftables.conf default; adjust to yours


def _guidance_command(backend: str, port: int, addresses: Sequence[str]) -> str:
    if backend == "nftables":
        v4 = [a for a in addresses if ":" not in a]
        v6 = [a for a in addresses if ":" in a]
        lines = []
        if v4:
            saddr = ", ".join(v4)
            lines.append(
                f"nft insert rule {_NFT_CHAIN} ip saddr {{ {saddr} }} tcp dport {port} accept"
            )
        if v6:
            saddr = ", ".join(v6)
            lines.append(
                f"nft insert rule {_NFT_CHAIN} ip6 saddr {{ {saddr} }} tcp dport {port} accept"
            )
        return "\n".join(lines)
    lines = []
    for address in addresses:
        tool = "ip6tables" if ":" in address else "iptables"
        lines.append(f"{tool} -I INPUT -p tcp -s {address} --dport {port} -j ACCEPT")
    return "\n".join(lines)
