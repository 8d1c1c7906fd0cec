"""Windows Defender Firewall: our inbound rule through PowerShell's NetSecurity cmdlets, else
``netsh advfirewall``; the network profiles and the Group Policy that can make a rule inert.

Every command goes through a :class:`CommandRunner` so the tests replay recorded outputs
(English and pt-BR Windows).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from wizard.dwhost.platform.firewall import (
    PROFILES,
    RULE_DISPLAY_NAME,
    Firewall,
    FirewallPlan,
    FirewallRule,
    normalize_address,
    same_addresses,
    validate_addresses,
    validate_port,
    validate_profiles,
)
from wizard.dwhost.platform.runner import (
    CommandResult,
    CommandRunner,
    PlatformError,
    netsh_exe,
    powershell,
    ps_json_items,
    ps_list,
    ps_quote,
    read_or_none,
)
from wizard.i18n import Message

# ---------------------------------------------------------------------------------------------
# Firewall

_PS_MISSING_MARKERS = ("CommandNotFoundException", "is not recognized", "não é reconhecido")


def _powershell_unusable(result: CommandResult) -> bool:
    return result.not_found or any(m in result.output for m in _PS_MISSING_MARKERS)


# netsh's labels and values are localized; English and pt-BR are known, anything else leaves
# the rule "incomplete" and the plan converges it with `set rule` (harmless when it matched).
_NETSH_LABELS = {
    "enabled": "enabled",
    "habilitado": "enabled",
    "habilitada": "enabled",
    "direction": "direction",
    "direção": "direction",
    "profiles": "profiles",
    "perfis": "profiles",
    "remoteip": "remote",
    "ip remoto": "remote",
    "protocol": "protocol",
    "protocolo": "protocol",
    "localport": "port",
    "porta local": "port",
    "action": "action",
    "ação": "action",
}
_NETSH_VALUES = {
    "yes": "true",
    "sim": "true",
    "no": "false",
    "não": "false",
    "in": "inbound",
    "entrada": "inbound",
    "out": "outbound",
    "saída": "outbound",
    "allow": "allow",
    "permitir": "allow",
    "block": "block",
    "bloquear": "block",
}
_NETSH_PROFILES = {
    "domain": "Domain",
    "domínio": "Domain",
    "private": "Private",
    "particular": "Private",
    "privado": "Private",
    "public": "Public",
    "público": "Public",
}


def parse_netsh_rule(name: str, text: str) -> FirewallRule:
    """Our rule from ``netsh advfirewall firewall show rule name=... verbose``."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        label, sep, value = line.partition(":")
        if not sep:
            continue
        key = _NETSH_LABELS.get(label.strip().lower())
        if key and key not in fields:
            fields[key] = value.strip()
    needed = ("enabled", "direction", "profiles", "remote", "protocol", "port", "action")
    complete = all(k in fields for k in needed)

    def word(key: str) -> str | None:
        raw = fields.get(key)
        return _NETSH_VALUES.get(raw.lower(), raw.lower()) if raw else None

    profiles: list[str] = []
    for part in fields.get("profiles", "").split(","):
        low = part.strip().lower()
        if low in ("any", "qualquer"):
            profiles = list(PROFILES)
            break
        if low in _NETSH_PROFILES:
            profiles.append(_NETSH_PROFILES[low])
        elif low:
            complete = False
    remote = [normalize_address(a) for a in fields.get("remote", "").split(",") if a.strip()]
    enabled = word("enabled")
    return FirewallRule(
        name=name,
        enabled=None if enabled is None else enabled == "true",
        direction=word("direction"),
        action=word("action"),
        protocol=word("protocol"),
        local_ports=tuple(p.strip() for p in fields.get("port", "").split(",") if p.strip()),
        remote_addresses=tuple(remote),
        profiles=tuple(p for p in PROFILES if p in profiles),
        complete=complete,
    )


def _profiles_from_text(text: str) -> tuple[str, ...]:
    """Windows' profile flags as text: "Any", "Private", "Domain, Private" ..."""
    try:
        return validate_profiles([text or "Any"])
    except PlatformError:
        return ()


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)]


def parse_ps_rule(name: str, text: str) -> FirewallRule | None:
    """Our rule from the JSON the lookup script prints ('null' when there is none)."""
    text = text.strip()
    if not text or text == "null":
        return None
    data = json.loads(text)
    if isinstance(data, list):
        data = data[0] if data else None
    if not isinstance(data, dict):
        return None
    return FirewallRule(
        name=str(data.get("Name") or name),
        enabled=str(data.get("Enabled", "")).lower() == "true",
        direction=str(data.get("Direction", "")).lower() or None,
        action=str(data.get("Action", "")).lower() or None,
        protocol=str(data.get("Protocol", "")).lower() or None,
        local_ports=tuple(_as_list(data.get("LocalPort"))),
        remote_addresses=tuple(normalize_address(a) for a in _as_list(data.get("RemoteAddress"))),
        profiles=_profiles_from_text(str(data.get("Profile") or "Any")),
    )


@dataclass(frozen=True)
class NetworkProfile:
    name: str
    interface: str
    category: str  # Domain | Private | Public


def parse_firewall_policy(text: str) -> dict[str, dict[str, str]]:
    """The JSON :meth:`WindowsFirewall.policy_argv` prints, by canonical profile name."""
    found: dict[str, dict[str, str]] = {}
    for item in ps_json_items(text):
        name = str(item.get("Name", "")).capitalize()
        found[name] = {str(k): str(v) for k, v in item.items()}
    return found


def parse_connection_profiles(text: str) -> list[NetworkProfile]:
    out = []
    for item in ps_json_items(text):
        category = str(item.get("NetworkCategory", ""))
        # DomainAuthenticated networks use the Domain firewall profile.
        category = "Domain" if category.lower().startswith("domain") else category.capitalize()
        out.append(
            NetworkProfile(str(item.get("Name", "")), str(item.get("InterfaceAlias", "")), category)
        )
    return out


class WindowsFirewall(Firewall):
    """Windows Defender Firewall: PowerShell's NetSecurity cmdlets, else ``netsh advfirewall``.

    The rule is found by ``-Name`` (a DisplayName may be localized). netsh adds duplicates
    happily, so every plan looks the rule up first.
    """

    backend = "windows-powershell"

    def __init__(self, runner: CommandRunner | None = None, rule_name: str | None = None) -> None:
        super().__init__(runner, rule_name or "fdw-wizard-postgresql")
        self.use_netsh = False

    # -- argv ----------------------------------------------------------------------------------

    def lookup_argv(self) -> list[str]:
        name = ps_quote(self.rule_name)
        return powershell(
            f"$r = Get-NetFirewallRule -Name {name} -ErrorAction SilentlyContinue; "
            "if ($null -eq $r) { 'null' } else { "
            "$p = $r | Get-NetFirewallPortFilter; $a = $r | Get-NetFirewallAddressFilter; "
            "[pscustomobject]@{ Name = $r.Name; Enabled = [string]$r.Enabled; "
            "Direction = [string]$r.Direction; Action = [string]$r.Action; "
            "Profile = [string]$r.Profile; Protocol = [string]$p.Protocol; "
            "LocalPort = @($p.LocalPort); RemoteAddress = @($a.RemoteAddress) } "
            "| ConvertTo-Json -Compress }"
        )

    @staticmethod
    def profiles_argv() -> list[str]:
        return powershell(
            "ConvertTo-Json -Compress -InputObject @(Get-NetConnectionProfile | "
            "ForEach-Object { [pscustomobject]@{ Name = $_.Name; "
            "InterfaceAlias = $_.InterfaceAlias; NetworkCategory = [string]$_.NetworkCategory } })"
        )

    def _netsh(self, verb: str) -> list[str]:
        return [netsh_exe(), "advfirewall", "firewall", verb, "rule", f"name={self.rule_name}"]

    @staticmethod
    def policy_argv() -> list[str]:
        """The firewall profiles of the ACTIVE policy store (local settings merged with Group
        Policy): a GPO may switch a profile off or ignore local rules."""
        return powershell(
            "ConvertTo-Json -Compress -InputObject @(Get-NetFirewallProfile -PolicyStore "
            "ActiveStore | ForEach-Object { [pscustomobject]@{ Name = [string]$_.Name; "
            "Enabled = [string]$_.Enabled; DefaultInboundAction = "
            "[string]$_.DefaultInboundAction; AllowLocalFirewallRules = "
            "[string]$_.AllowLocalFirewallRules } })"
        )

    def netsh_lookup_argv(self) -> list[str]:
        return [
            netsh_exe(),
            "advfirewall",
            "firewall",
            "show",
            "rule",
            f"name={self.rule_name}",
            "verbose",
        ]

    def _ps_create(self, port: int, addresses: Sequence[str], profiles: Sequence[str]) -> list[str]:
        return powershell(
            f"New-NetFirewallRule -Name {ps_quote(self.rule_name)} "
            f"-DisplayName {ps_quote(RULE_DISPLAY_NAME)} -Direction Inbound -Action Allow "
            f"-Protocol TCP -LocalPort {port} -RemoteAddress {ps_list(addresses)} "
            f"-Profile {ps_quote(_profile_arg(profiles))} -Enabled True | Out-Null"
        )

    def _netsh_rule_args(
        self, port: int, addresses: Sequence[str], profiles: Sequence[str]
    ) -> list[str]:
        return [
            "dir=in",
            "action=allow",
            "protocol=TCP",
            f"localport={port}",
            "remoteip=" + ",".join(addresses),
            "profile=" + _profile_arg(profiles).lower().replace(" ", ""),
            "enable=yes",
        ]

    # -- reading -------------------------------------------------------------------------------

    def current_rule(self) -> FirewallRule | None:
        """Our rule, or None. Falls back to netsh (and remembers it) when PowerShell or its
        NetSecurity cmdlets are not there."""
        if not self.use_netsh:
            result = self.runner.run(self.lookup_argv(), timeout=60.0)
            if result.ok:
                try:
                    return parse_ps_rule(self.rule_name, result.stdout)
                except ValueError as exc:
                    raise PlatformError(
                        Message("platform.firewall.lookup_failed", {"output": str(exc)})
                    ) from None
            if not _powershell_unusable(result):
                raise PlatformError(
                    Message("platform.firewall.lookup_failed", {"output": result.tail()})
                )
            self.use_netsh = True
        result = self.runner.run(self.netsh_lookup_argv(), timeout=60.0)
        if result.not_found or result.timed_out:
            raise result.error()
        if result.returncode != 0:  # "No rules match the specified criteria."
            return None
        return parse_netsh_rule(self.rule_name, result.stdout)

    def network_profiles(self) -> list[NetworkProfile] | None:
        """The active networks and their category; None when it cannot be read."""
        return read_or_none(
            self.runner, self.profiles_argv(), parse_connection_profiles, timeout=60.0
        )

    # -- planning ------------------------------------------------------------------------------

    def plan_rule(
        self, port: int, remote_addresses: Sequence[str], profiles: Sequence[str] = ("Any",)
    ) -> FirewallPlan:
        port = validate_port(port)
        addresses = validate_addresses(remote_addresses)
        wanted_profiles = validate_profiles(profiles)
        existing = self.current_rule()
        plan = FirewallPlan(self._backend(), existing=existing)
        if self.use_netsh:
            plan.notes.append(Message("platform.firewall.netsh_fallback"))
        args = {"name": self.rule_name, "port": port, "addresses": ", ".join(addresses)}
        if existing is None:
            if self.use_netsh:
                argv = self._netsh("add")
                plan.argv_list.append(
                    argv + self._netsh_rule_args(port, addresses, wanted_profiles)
                )
            else:
                plan.argv_list.append(self._ps_create(port, addresses, wanted_profiles))
            plan.descriptions.append(Message("platform.firewall.action.create", args))
        elif self.use_netsh:
            if not _matches(existing, port, addresses, wanted_profiles):
                argv = self._netsh("set")
                argv += ["new", *self._netsh_rule_args(port, addresses, wanted_profiles)]
                plan.argv_list.append(argv)
                plan.descriptions.append(Message("platform.firewall.action.update", args))
        else:
            self._plan_ps_update(plan, existing, port, addresses, wanted_profiles, args)
        if not plan.argv_list:
            plan.notes.append(Message("platform.firewall.already", args))
        self._check_profiles(plan, wanted_profiles)
        self._check_policy(plan, wanted_profiles)
        return plan

    def active_policy(self) -> dict[str, dict[str, str]] | None:
        """Profile name -> its active settings; None when they cannot be read."""
        return read_or_none(self.runner, self.policy_argv(), parse_firewall_policy, timeout=60.0)

    def _check_policy(self, plan: FirewallPlan, profiles: tuple[str, ...]) -> None:
        """A GPO with AllowLocalFirewallRules=False ignores every local rule (ours included)
        on that profile: the port stays closed whatever the rule says."""
        if self.use_netsh:
            return
        policy = self.active_policy()
        if policy is None:
            return
        ignored = [
            name
            for name in profiles
            if policy.get(name, {}).get("AllowLocalFirewallRules", "").lower() == "false"
        ]
        if ignored:
            plan.policy_blocked = True
            params = {"profiles": ", ".join(ignored)}
            plan.warnings.append(Message("platform.firewall.gpo_ignores_local_rules", params))

    def _plan_ps_update(
        self,
        plan: FirewallPlan,
        rule: FirewallRule,
        port: int,
        addresses: tuple[str, ...],
        profiles: tuple[str, ...],
        args: dict[str, Any],
    ) -> None:
        name = ps_quote(self.rule_name)
        if not (
            rule.enabled
            and rule.direction == "inbound"
            and rule.action == "allow"
            and set(rule.profiles) == set(profiles)
        ):
            plan.argv_list.append(
                powershell(
                    f"Set-NetFirewallRule -Name {name} -Enabled True -Direction Inbound "
                    f"-Action Allow -Profile {ps_quote(_profile_arg(profiles))}"
                )
            )
            plan.descriptions.append(Message("platform.firewall.action.update", args))
        if rule.protocol != "tcp" or rule.local_ports != (str(port),):
            plan.argv_list.append(
                powershell(
                    f"Get-NetFirewallRule -Name {name} | Get-NetFirewallPortFilter | "
                    f"Set-NetFirewallPortFilter -Protocol TCP -LocalPort {port}"
                )
            )
            plan.descriptions.append(Message("platform.firewall.action.update_port", args))
        if not same_addresses(rule.remote_addresses, addresses):
            plan.argv_list.append(
                powershell(
                    f"Get-NetFirewallRule -Name {name} | Get-NetFirewallAddressFilter | "
                    f"Set-NetFirewallAddressFilter -RemoteAddress {ps_list(addresses)}"
                )
            )
            plan.descriptions.append(Message("platform.firewall.action.update_addresses", args))

    def _check_profiles(self, plan: FirewallPlan, profiles: tuple[str, ...]) -> None:
        """A rule limited to some profiles does nothing on a network of another one."""
        if self.use_netsh:
            plan.notes.append(Message("platform.firewall.profiles_unchecked"))
            return
        networks = self.network_profiles()
        if networks is None:
            plan.notes.append(Message("platform.firewall.profiles_unchecked"))
            return
        for net in networks:
            if net.category not in profiles:
                plan.warnings.append(
                    Message(
                        "platform.firewall.profile_mismatch",
                        {
                            "network": net.name or net.interface,
                            "category": net.category,
                            "profiles": ", ".join(profiles),
                        },
                    )
                )

    def remove_rule(self) -> FirewallPlan:
        existing = self.current_rule()
        plan = FirewallPlan(self._backend(), existing=existing)
        if existing is None:
            plan.notes.append(
                Message("platform.firewall.nothing_to_remove", {"name": self.rule_name})
            )
            return plan
        if self.use_netsh:
            argv = self._netsh("delete")
        else:
            argv = powershell(f"Remove-NetFirewallRule -Name {ps_quote(self.rule_name)}")
        plan.argv_list.append(argv)
        plan.descriptions.append(
            Message("platform.firewall.action.remove", {"name": self.rule_name})
        )
        return plan

    def _backend(self) -> str:
        return "windows-netsh" if self.use_netsh else "windows-powershell"


def _profile_arg(profiles: Sequence[str]) -> str:
    return "Any" if set(profiles) == set(PROFILES) else ",".join(profiles)


def _matches(
    rule: FirewallRule, port: int, addresses: tuple[str, ...], profiles: tuple[str, ...]
) -> bool:
    return (
        rule.complete
        and bool(rule.enabled)
        and rule.direction == "inbound"
        and rule.action == "allow"
        and rule.protocol == "tcp"
        and rule.local_ports == (str(port),)
        and same_addresses(rule.remote_addresses, addresses)
        and set(rule.profiles) == set(profiles)
    )
