"""Windows: where the EDB installer put PostgreSQL (the registry) and what each service runs.

Importable on Linux: ``winreg`` is only touched inside :class:`WinRegReader`; the tests read a
:class:`MappingRegistry` (a fake) filled with recorded registry values.
"""

from __future__ import annotations

import importlib
import ntpath
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from wizard.dwhost.platform.runner import PlatformError
from wizard.dwhost.platform.service import AUTO
from wizard.i18n import Message

REG_INSTALLATIONS = r"SOFTWARE\PostgreSQL\Installations"
REG_SERVICES = r"SOFTWARE\PostgreSQL\Services"
REG_SCM = r"SYSTEM\CurrentControlSet\Services"

# ---------------------------------------------------------------------------------------------
# Registry


class RegistryReader(Protocol):
    """Read-only access to HKEY_LOCAL_MACHINE (the 64-bit view)."""

    def subkeys(self, path: str) -> list[str]:
        """Names of the subkeys of ``path``; [] when the key does not exist."""
        ...

    def values(self, path: str) -> dict[str, Any] | None:
        """The values of ``path`` by name; None when the key does not exist."""
        ...


class WinRegReader:
    """The real registry. KEY_WOW64_64KEY: a 32-bit Python would otherwise read the
    WOW6432Node view, where the 64-bit EDB installer wrote nothing."""

    def _open(self, path: str) -> Any:
        winreg: Any = importlib.import_module("winreg")
        access = winreg.KEY_READ | winreg.KEY_WOW64_64KEY
        return winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, path, 0, access)

    def subkeys(self, path: str) -> list[str]:
        winreg: Any = importlib.import_module("winreg")
        try:
            key = self._open(path)
        except OSError:
            return []
        names: list[str] = []
        with key:
            index = 0
            while True:
                try:
                    names.append(str(winreg.EnumKey(key, index)))
                except OSError:
                    return names
                index += 1

    def values(self, path: str) -> dict[str, Any] | None:
        winreg: Any = importlib.import_module("winreg")
        try:
            key = self._open(path)
        except OSError:
            return None
        found: dict[str, Any] = {}
        with key:
            index = 0
            while True:
                try:
                    name, value, _kind = winreg.EnumValue(key, index)
                except OSError:
                    return found
                found[str(name)] = value
                index += 1


class MappingRegistry:
    """A FAKE registry for TESTS ONLY: ``{key path: {value name: value}}`` (case-insensitive
    paths, like the real one). Subkeys are derived from the paths."""

    def __init__(self, data: Mapping[str, Mapping[str, Any]]) -> None:
        self.data = {k.lower().rstrip("\\"): dict(v) for k, v in data.items()}
        self.names = {k.lower().rstrip("\\"): k.rstrip("\\") for k in data}

    def subkeys(self, path: str) -> list[str]:
        prefix = path.lower().rstrip("\\") + "\\"
        found: list[str] = []
        for low, original in self.names.items():
            if low.startswith(prefix):
                child = original[len(prefix) :].split("\\")[0]
                if child not in found:
                    found.append(child)
        return found

    def values(self, path: str) -> dict[str, Any] | None:
        return self.data.get(path.lower().rstrip("\\"))


# ---------------------------------------------------------------------------------------------
# ImagePath


@dataclass(frozen=True)
class ImagePath:
    pg_ctl: str
    service: str | None
    data_dir: str | None
    port: int | None = None  # from -o "-p 5433", when the service passes one


_PG_CTL_RE = re.compile(r"pg_ctl(?:\.exe)?", re.IGNORECASE)


def _split_windows_args(text: str) -> list[tuple[str, bool]]:
    """Tokens and whether each was quoted. Quotes group, backslashes are literal (paths)."""
    tokens: list[tuple[str, bool]] = []
    current: list[str] = []
    quoted = in_token = in_quotes = False
    for char in text:
        if char == '"':
            in_quotes = not in_quotes
            quoted = in_token = True
        elif char.isspace() and not in_quotes:
            if in_token:
                tokens.append(("".join(current), quoted))
            current, quoted, in_token = [], False, False
        else:
            current.append(char)
            in_token = True
    if in_token:
        tokens.append(("".join(current), quoted))
    return tokens


def parse_image_path(text: str) -> ImagePath | None:
    """pg_ctl path, service name and data dir from a service's ImagePath, e.g.
    ``"C:\\...\\bin\\pg_ctl.exe" runservice -N "postgresql-x64-16" -D "C:\\...\\data" -w``.

    Robust to missing quotes (also around paths with spaces), ``-D"dir"``, ``--pgdata=dir``,
    ``-N name``, a trailing backslash, and environment variables left unexpanded. None when it
    is not a pg_ctl runservice command line."""
    text = text.strip()
    found = _PG_CTL_RE.search(text)
    if not found or "runservice" not in text.lower():
        return None
    program = text[: found.end()].strip().strip('"').strip()
    rest = text[found.end() :]
    if rest.startswith('"'):
        rest = rest[1:]
    tokens = _split_windows_args(rest)
    values: dict[str, str] = {}
    i = 0
    while i < len(tokens):
        token, _quoted = tokens[i]
        option, inline = _option(token)
        if option in ("N", "D", "o"):
            if inline is not None:
                value = inline
            else:
                # An unquoted value with spaces spans tokens up to the next option.
                parts: list[str] = []
                j = i + 1
                while j < len(tokens):
                    part, part_quoted = tokens[j]
                    if parts and (part.startswith("-") and not part_quoted):
                        break
                    parts.append(part)
                    j += 1
                    if part_quoted:
                        break
                value = " ".join(parts)
                i = j - 1
            values[option] = value
        i += 1
    data_dir = values.get("D")
    if data_dir:
        data_dir = data_dir.rstrip("\\") if len(data_dir) > 3 else data_dir
    port = None
    port_match = re.search(r"(?:-p\s*|--port[= ])(\d{1,5})\b", values.get("o", ""))
    if port_match:
        port = int(port_match.group(1))
    return ImagePath(program, values.get("N") or None, data_dir or None, port)


def _option(token: str) -> tuple[str | None, str | None]:
    if token.startswith("--pgdata="):
        return "D", token[len("--pgdata=") :]
    if token == "--pgdata":  # noqa: S105 (an option name, not a password)
        return "D", None
    if len(token) >= 2 and token[0] == "-" and token[1] in "NDo":
        return token[1], (token[2:] or None)
    return None, None


# ---------------------------------------------------------------------------------------------
# Installations


@dataclass(frozen=True)
class WindowsInstallation:
    """One PostgreSQL service as the registry describes it (any field may be unknown)."""

    service: str
    data_dir: str | None = None
    pg_ctl: str | None = None
    bin_dir: str | None = None
    base_dir: str | None = None
    port: int | None = None
    version: str | None = None
    super_user: str | None = None
    service_account: str | None = None
    display_name: str | None = None


def _text(values: Mapping[str, Any] | None, name: str) -> str | None:
    if not values:
        return None
    for key, value in values.items():
        if key.lower() == name.lower() and value not in (None, ""):
            return str(value).strip()
    return None


def _int(values: Mapping[str, Any] | None, name: str) -> int | None:
    raw = _text(values, name)
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


def discover_installations(reader: RegistryReader | None = None) -> list[WindowsInstallation]:
    """Every PostgreSQL service on this machine, from the EDB keys and the service manager.
    The service's ImagePath wins for data dir and pg_ctl: it is what actually runs."""
    reader = reader or WinRegReader()
    installs: dict[str, Mapping[str, Any]] = {}
    for sub in reader.subkeys(REG_INSTALLATIONS):
        values = reader.values(f"{REG_INSTALLATIONS}\\{sub}") or {}
        installs[(_text(values, "Service ID") or sub).lower()] = values
    names: dict[str, str] = {}
    for sub in reader.subkeys(REG_INSTALLATIONS):
        values = reader.values(f"{REG_INSTALLATIONS}\\{sub}") or {}
        svc = _text(values, "Service ID") or sub
        names.setdefault(svc.lower(), svc)
    for svc in reader.subkeys(REG_SERVICES):
        names.setdefault(svc.lower(), svc)
    for svc in reader.subkeys(REG_SCM):
        image = _text(reader.values(f"{REG_SCM}\\{svc}"), "ImagePath")
        if image and parse_image_path(image):
            names.setdefault(svc.lower(), svc)
    found = []
    for low, svc in names.items():
        found.append(_installation(reader, svc, installs.get(low)))
    return found


def _installation(
    reader: RegistryReader, service: str, install: Mapping[str, Any] | None
) -> WindowsInstallation:
    pg_svc = reader.values(f"{REG_SERVICES}\\{service}")
    scm = reader.values(f"{REG_SCM}\\{service}")
    image_text = _text(scm, "ImagePath")
    image = parse_image_path(image_text) if image_text else None
    base_dir = _text(install, "Base Directory")
    pg_ctl = image.pg_ctl if image else None
    if pg_ctl is None and base_dir:
        pg_ctl = ntpath.join(base_dir, "bin", "pg_ctl.exe")
    data_dir = (
        (image.data_dir if image else None)
        or _text(pg_svc, "Data Directory")
        or _text(install, "Data Directory")
    )
    return WindowsInstallation(
        service=service,
        data_dir=data_dir,
        pg_ctl=pg_ctl,
        bin_dir=ntpath.dirname(pg_ctl) if pg_ctl else None,
        base_dir=base_dir,
        port=_int(pg_svc, "Port") or (image.port if image else None),
        version=_text(install, "Version"),
        super_user=_text(install, "Super User") or _text(pg_svc, "Database Superuser"),
        service_account=_text(scm, "ObjectName") or _text(pg_svc, "Service Account"),
        display_name=_text(scm, "DisplayName") or _text(pg_svc, "Display Name"),
    )


def _same_path(a: str, b: str) -> bool:
    def norm(p: str) -> str:
        return ntpath.normcase(ntpath.normpath(p.replace("/", "\\").strip().strip('"')))

    return norm(a) == norm(b)


def find_installation(
    installations: Sequence[WindowsInstallation],
    *,
    service: str = AUTO,
    data_dir: str = AUTO,
    port: int | None = None,
) -> WindowsInstallation:
    """The installation the config means: by service name, else data dir, else port, else the
    only one. Raises PlatformError (none / several found) naming the key to set."""
    if service != AUTO:
        for inst in installations:
            if inst.service.lower() == service.lower():
                return inst
        raise PlatformError(
            Message("platform.windows.service_unknown", {"service": service}),
            Message("platform.windows.fix_service", {"found": _names(installations)}),
        )
    candidates = list(installations)
    if data_dir != AUTO:
        candidates = [i for i in candidates if i.data_dir and _same_path(i.data_dir, data_dir)]
    elif port is not None and len(candidates) > 1:
        by_port = [i for i in candidates if i.port == port]
        candidates = by_port or candidates
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise PlatformError(
            Message("platform.windows.no_installation", {"data_dir": data_dir}),
            Message("platform.windows.fix_service", {"found": _names(installations)}),
        )
    raise PlatformError(
        Message("platform.windows.ambiguous", {"found": _names(candidates)}),
        Message("platform.windows.fix_service", {"found": _names(candidates)}),
    )


def _names(installations: Sequence[WindowsInstallation]) -> str:
    return ", ".join(i.service for i in installations) or "-"
