"""Windows, by concern: the registry (:mod:`windows_registry`: EDB installations, services'
ImagePath), service control and elevation (:mod:`windows_service`), the firewall
(:mod:`windows_firewall`). This module is their one front door: importers name
``wizard.dwhost.platform.windows.X`` and need not know which file holds X.

Importable on Linux: ``winreg`` and ``ctypes.windll`` are only touched inside functions, and
every command goes through a :class:`CommandRunner` so the tests replay recorded outputs.
"""

from __future__ import annotations

from wizard.dwhost.platform.runner import QUERY_TIMEOUT
from wizard.dwhost.platform.windows_firewall import (
    NetworkProfile,
    WindowsFirewall,
    parse_connection_profiles,
    parse_firewall_policy,
    parse_netsh_rule,
    parse_ps_rule,
)
from wizard.dwhost.platform.windows_registry import (
    REG_INSTALLATIONS,
    REG_SCM,
    REG_SERVICES,
    ImagePath,
    MappingRegistry,
    RegistryReader,
    WindowsInstallation,
    WinRegReader,
    discover_installations,
    find_installation,
    parse_image_path,
)
from wizard.dwhost.platform.windows_service import (
    ERROR_SERVICE_DOES_NOT_EXIST,
    EVENT_SOURCE,
    MAX_EVENTS,
    SETTLE_TIMEOUT_MIN,
    EventRecord,
    WindowsService,
    control_for,
    events_argv,
    is_elevated,
    parse_events,
    parse_sc_query,
)

__all__ = [
    "ERROR_SERVICE_DOES_NOT_EXIST",
    "EVENT_SOURCE",
    "MAX_EVENTS",
    "QUERY_TIMEOUT",
    "REG_INSTALLATIONS",
    "REG_SCM",
    "REG_SERVICES",
    "SETTLE_TIMEOUT_MIN",
    "EventRecord",
    "ImagePath",
    "MappingRegistry",
    "NetworkProfile",
    "RegistryReader",
    "WinRegReader",
    "WindowsFirewall",
    "WindowsInstallation",
    "WindowsService",
    "control_for",
    "discover_installations",
    "events_argv",
    "find_installation",
    "is_elevated",
    "parse_connection_profiles",
    "parse_events",
    "parse_firewall_policy",
    "parse_image_path",
    "parse_netsh_rule",
    "parse_ps_rule",
    "parse_sc_query",
]
