"""Which implementation runs here: the service control and the firewall of this OS.

This module sits above the implementations (``linux``, ``windows_*``), which only import the
common interfaces (``service``, ``firewall``) below them: no module of the layer imports one
that imports it back.
"""

from __future__ import annotations

from typing import Any

from wizard.dwhost.platform import (
    linux,
    linux_firewall,
    windows_firewall,
    windows_registry,
    windows_service,
)
from wizard.dwhost.platform.firewall import Firewall
from wizard.dwhost.platform.runner import CommandRunner, PlatformError, SubprocessRunner
from wizard.dwhost.platform.service import (
    AUTO,
    DEFAULT_TIMEOUT,
    ControlMethod,
    LocalSection,
    ServiceControl,
    current_system,
)
from wizard.dwhost.platform.windows_registry import RegistryReader
from wizard.i18n import Message


def service_control_for(
    *,
    control: str = AUTO,
    service: str = AUTO,
    data_dir: str = AUTO,
    bin_dir: str = AUTO,
    os_user: str = AUTO,
    port: int | None = None,
    runner: CommandRunner | None = None,
    system: str | None = None,
    registry: RegistryReader | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> ServiceControl:
    """The control for one server from explicit values, detecting whatever is ``auto``.

    Windows: the service named by ``service`` or found in the registry (by data dir, else by
    port, else the only one). Linux: ``pg_ctlcluster`` when ``pg_lsclusters`` knows the data
    dir / port, else a systemd unit (named, or one whose ExecStart/PGDATA names the data dir),
    else ``pg_ctl`` as the data dir's owner. Raises PlatformError naming the config key to set
    when nothing fits.
    """
    system = system or current_system()
    if control not in (AUTO, *[m.value for m in ControlMethod]):
        raise PlatformError(Message("platform.control.unknown", {"control": control}))
    on_windows = system == "windows"
    if on_windows != (control == ControlMethod.WINDOWS_SERVICE.value) and control != AUTO:
        raise PlatformError(
            Message("platform.control.unsupported", {"control": control, "system": system})
        )
    common: dict[str, Any] = {
        "service": service,
        "data_dir": data_dir,
        "port": port,
        "runner": runner or SubprocessRunner(),
        "timeout": timeout,
    }
    if on_windows:
        return windows_service.control_for(registry=registry, **common)
    return linux.control_for(control=control, bin_dir=bin_dir, os_user=os_user, **common)


def service_control_for_local(
    local: LocalSection,
    *,
    data_dir: str | None = None,
    runner: CommandRunner | None = None,
    system: str | None = None,
) -> ServiceControl:
    """:func:`service_control_for` from the config's ``local`` section. ``data_dir`` fills an
    ``auto`` data dir (e.g. from ``SHOW data_directory`` on the running server)."""
    chosen = local.data_dir
    if chosen == AUTO and data_dir:
        chosen = data_dir
    return service_control_for(
        control=local.control,
        service=local.service,
        data_dir=chosen,
        bin_dir=local.bin_dir,
        os_user=local.os_user,
        port=local.port,
        runner=runner,
        system=system,
    )


def server_bin_dir(
    data_dir: str,
    *,
    service: str = AUTO,
    system: str | None = None,
    registry: RegistryReader | None = None,
) -> str | None:
    """The bin dir of THIS server's own binaries (for ``postgres -C``): on Windows the folder
    of the pg_ctl.exe its service runs (not the highest ``PostgreSQL\\*\\bin`` installed); on
    Linux the binaries of the data dir's major (PG_VERSION). None when unknown."""
    try:
        if (system or current_system()) == "windows":
            installations = windows_registry.discover_installations(registry)
            found = windows_registry.find_installation(
                installations, service=service, data_dir=data_dir
            )
            return found.bin_dir
        return linux.find_bin_dir(data_dir)
    except PlatformError:
        return None


def firewall_for(runner: CommandRunner | None = None, system: str | None = None) -> Firewall:
    """The firewall of this OS: Windows Defender Firewall, or what Linux has active."""
    if (system or current_system()) == "windows":
        return windows_firewall.WindowsFirewall(runner)
    return linux_firewall.LinuxFirewall(runner)
