"""The platform layer: OS commands, service control, discovery, elevation and firewall.

Nothing here decides WHAT to change; it knows HOW on Windows and Linux and reports results as
data and i18n messages. Start from :func:`current`::

    plat = current()
    control = plat.service_control(control="auto", data_dir="/var/lib/postgresql/16/main")
    plan = plat.firewall().plan_rule(5432, ["203.0.113.10"], ["Private"])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict, Unpack

from wizard.dwhost.platform.elevation import Elevation, check_elevation, relaunch_instruction
from wizard.dwhost.platform.factory import (
    firewall_for,
    server_bin_dir,
    service_control_for,
    service_control_for_local,
)
from wizard.dwhost.platform.firewall import Firewall, FirewallPlan, FirewallRule
from wizard.dwhost.platform.runner import (
    CommandResult,
    CommandRunner,
    PlatformError,
    RecordedRunner,
    SubprocessRunner,
)
from wizard.dwhost.platform.service import (
    AUTO,
    ControlMethod,
    LocalSection,
    ServiceControl,
    ServiceState,
    ServiceStatus,
    current_system,
    probe_postgres,
)

__all__ = [
    "AUTO",
    "CommandResult",
    "CommandRunner",
    "ControlMethod",
    "Elevation",
    "Firewall",
    "FirewallPlan",
    "FirewallRule",
    "Platform",
    "PlatformError",
    "RecordedRunner",
    "ServiceControl",
    "ServiceState",
    "ServiceStatus",
    "SubprocessRunner",
    "check_elevation",
    "current",
    "firewall_for",
    "probe_postgres",
    "relaunch_instruction",
    "server_bin_dir",
    "service_control_for",
    "service_control_for_local",
]


class ServiceChoice(TypedDict, total=False):
    """The keywords of :func:`service_control_for` that say which server (``auto`` detects)."""

    control: str
    service: str
    data_dir: str
    bin_dir: str
    os_user: str
    port: int | None


@dataclass
class Platform:
    """This OS's implementation, all commands going through one runner."""

    name: str  # "windows" | "linux"
    runner: CommandRunner = field(default_factory=SubprocessRunner)

    def service_control(self, **choice: Unpack[ServiceChoice]) -> ServiceControl:
        """:func:`service_control_for` (same keywords) with this platform's runner."""
        return service_control_for(runner=self.runner, system=self.name, **choice)

    def service_control_for_local(
        self, local: LocalSection, *, data_dir: str | None = None
    ) -> ServiceControl:
        return service_control_for_local(
            local, data_dir=data_dir, runner=self.runner, system=self.name
        )

    def firewall(self) -> Firewall:
        return firewall_for(self.runner, self.name)

    def elevation(
        self, data_dir: str | Path | None = None, files: Sequence[str | Path] = ()
    ) -> Elevation:
        return check_elevation(data_dir=data_dir, files=files, system=self.name)


def current(runner: CommandRunner | None = None) -> Platform:
    """The implementation for the OS this process runs on."""
    return Platform(current_system(), runner or SubprocessRunner())
