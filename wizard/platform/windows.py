"""Windows: EDB installation discovery (registry), service control, elevation, firewall.

Importable on Linux: ``winreg`` and ``ctypes.windll`` are only touched inside functions, and
every command goes through a :class:`CommandRunner` so the tests replay recorded outputs.
"""

from __future__ import annotations

import importlib
import json
import ntpath
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn, Protocol

from wizard.i18n import Message
from wizard.platform.firewall import (
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
from wizard.platform.runner import (
    CommandResult,
    CommandRunner,
    PlatformError,
    SubprocessRunner,
    net_exe,
    netsh_exe,
    powershell,
    ps_list,
    ps_quote,
    sc_exe,
)
from wizard.platform.service import (
    AUTO,
    DEFAULT_TIMEOUT,
    ControlMethod,
    ServiceControl,
    ServiceState,
    ServiceStatus,
)

REG_INSTALLATIONS = r"SOFTWARE\PostgreSQL\Installations"
REG_SERVICES = r"SOFTWARE\PostgreSQL\Services"
REG_SCM = r"SYSTEM\CurrentControlSet\Services"
QUERY_TIMEOUT = 30.0
ERROR_SERVICE_DOES_NOT_EXIST = 1060
# How long a STOP_PENDING / START_PENDING service is waited for, at least: a shutdown
# checkpoint of a busy DW or crash recovery at start can take minutes.
SETTLE_TIMEOUT_MIN = 600.0
EVENT_SOURCE = "PostgreSQL"  # EDB's event_source; pg_ctl runservice logs under it too
MAX_EVENTS = 20

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


# ---------------------------------------------------------------------------------------------
# Service control

# sc.exe's STATE numbers (SERVICE_STOPPED=1 ... SERVICE_PAUSED=7); the words after them and the
# label itself ("ESTADO" on a pt-BR Windows) may be localized, the numbers are not.
_SC_STATES = {
    1: ServiceStatus.STOPPED,
    2: ServiceStatus.STARTING,
    3: ServiceStatus.STOPPING,
    4: ServiceStatus.RUNNING,
    5: ServiceStatus.STARTING,  # CONTINUE_PENDING
    6: ServiceStatus.STOPPING,  # PAUSE_PENDING
    7: ServiceStatus.PAUSED,
}
_STATE_LABELS = ("state", "estado", "état", "etat", "zustand", "stato", "status")
_NUMBERED_LINE = re.compile(r"^\s*([^:\n]+?)\s*:\s*(\d+)\s+(\S.*?)\s*$", re.MULTILINE)


def parse_sc_query(result: CommandResult) -> ServiceState:
    """The state in ``sc.exe query <svc>`` output. A missing service is exit code 1060."""
    if result.returncode == ERROR_SERVICE_DOES_NOT_EXIST or re.search(r"\b1060:", result.output):
        return ServiceState(ServiceStatus.NOT_FOUND, result.output[-200:])
    numbered = _NUMBERED_LINE.findall(result.stdout)
    chosen = None
    for label, number, words in numbered:
        if label.strip().lower() in _STATE_LABELS:
            chosen = (number, words)
            break
    if chosen is None and len(numbered) >= 2:
        # Fixed layout: TYPE, then STATE.
        chosen = (numbered[1][1], numbered[1][2])
    if chosen is None:
        return ServiceState(ServiceStatus.UNKNOWN, result.output[-200:])
    status = _SC_STATES.get(int(chosen[0]), ServiceStatus.UNKNOWN)
    return ServiceState(status, f"{chosen[0]}  {chosen[1]}")


@dataclass(frozen=True)
class EventRecord:
    """One entry of the Windows Application log."""

    time: str
    level: int  # 1 critical, 2 error, 3 warning, 4 information
    event_id: int
    message: str

    def line(self) -> str:
        word = {1: "CRITICAL", 2: "ERROR", 3: "WARNING"}.get(self.level, "INFO")
        return f"{self.time} {word}: {self.message.strip()}"


def events_argv(seconds_back: int, source: str = EVENT_SOURCE) -> list[str]:
    """The last ``MAX_EVENTS`` Application-log entries of ``source`` from the last
    ``seconds_back`` seconds, as a JSON array (oldest first). A start failure before the
    server's logging collector runs is logged there, not under data\\log. Events without a
    registered message DLL carry their text in Properties."""
    return powershell(
        f"$s = (Get-Date).AddSeconds(-{int(seconds_back)}); "
        "ConvertTo-Json -Compress -Depth 3 -InputObject @(Get-WinEvent -FilterHashtable "
        f"@{{ LogName = 'Application'; ProviderName = {ps_quote(source)}; StartTime = $s }} "
        f"-MaxEvents {MAX_EVENTS} -ErrorAction SilentlyContinue | Sort-Object TimeCreated | "
        "ForEach-Object { [pscustomobject]@{ Time = $_.TimeCreated.ToString('s'); "
        "Level = [int]$_.Level; Id = [int]$_.Id; Message = $(if ($_.Message) { $_.Message } "
        "else { ($_.Properties | ForEach-Object { [string]$_.Value }) -join ' ' }) } })"
    )


def parse_events(text: str) -> list[EventRecord]:
    """The JSON :func:`events_argv` prints ([] for nothing; a single object is one event)."""
    text = text.strip()
    if not text:
        return []
    data = json.loads(text)
    items = data if isinstance(data, list) else [data]
    found = []
    for item in items:
        if not isinstance(item, dict):
            continue
        try:
            level = int(item.get("Level") or 4)
            event_id = int(item.get("Id") or 0)
        except (TypeError, ValueError):
            level, event_id = 4, 0
        found.append(
            EventRecord(
                str(item.get("Time") or ""), level, event_id, str(item.get("Message") or "")
            )
        )
    return found


class WindowsService(ServiceControl):
    """A PostgreSQL Windows service. Never ``pg_ctl restart`` here: that server would run
    outside the service manager (FIELD-GUIDE §1). ``sc.exe`` always (by its System32 path),
    since ``sc`` is Set-Content in PowerShell.

    The service manager's state (``sc.exe query``) is the truth: a command that timed out or
    failed (``Restart-Service`` killed by our timeout during a slow shutdown checkpoint) is
    followed by polling until the service settles, with a longer deadline, and a service that
    settles STOPPED when it should run is an error naming the Application-log entries of the
    current attempt."""

    method = ControlMethod.WINDOWS_SERVICE

    def __init__(
        self,
        service: str,
        runner: CommandRunner | None = None,
        *,
        data_dir: str | None = None,
        pg_ctl: str | None = None,
        settle_timeout: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(runner or SubprocessRunner(), **kwargs)
        self.service = service
        self.data_dir = data_dir
        self.pg_ctl = pg_ctl
        self.settle_timeout = (
            settle_timeout
            if settle_timeout is not None
            else max(3 * self.timeout, SETTLE_TIMEOUT_MIN)
        )
        self._action_clock: float | None = None

    @property
    def target(self) -> str:
        return self.service

    def describe(self) -> Message:
        return Message("platform.control.windows_service", {"service": self.service})

    def log_location(self) -> str | None:
        return ntpath.join(self.data_dir, "log") if self.data_dir else None

    def _begin_action(self) -> None:
        super()._begin_action()
        self._action_clock = self.clock()

    # -- commands ------------------------------------------------------------------------------

    def query_argv(self) -> list[str]:
        return [sc_exe(), "query", self.service]

    def restart_argv(self) -> list[str]:
        return powershell(f"Restart-Service -Name {ps_quote(self.service)}")

    def reload_argv(self) -> list[str]:
        if not (self.pg_ctl and self.data_dir):
            raise PlatformError(
                Message("platform.windows.reload_needs_paths", {"service": self.service}),
                Message("platform.windows.fix_paths"),
            )
        return [self.pg_ctl, "reload", "-D", self.data_dir]

    # -- logs ----------------------------------------------------------------------------------

    def events(self) -> list[EventRecord] | None:
        """The PostgreSQL entries of the Application log since the current start/restart
        began (the last hour when none ran); None when they cannot be read."""
        if self._action_clock is None:
            seconds = 3600
        else:
            seconds = int(max(0.0, self.clock() - self._action_clock)) + 10
        result = self.runner.run(events_argv(seconds), timeout=QUERY_TIMEOUT)
        if not result.ok:
            return None
        try:
            return parse_events(result.stdout)
        except ValueError:
            return None

    def log_tail(self, limit: int = 1500) -> str | None:
        """The Application-log entries of this attempt, then the server log it wrote (if it
        got as far as its logging collector)."""
        parts = []
        events = self.events()
        if events:
            lines = "\n".join(e.line() for e in events)
            parts.append(f"--- Windows Application log ({EVENT_SOURCE}) ---\n{lines[-limit:]}")
        files = super().log_tail(limit)
        if files:
            parts.append(files)
        return "\n".join(parts) or None

    # -- operations ----------------------------------------------------------------------------

    def status(self) -> ServiceState:
        result = self.runner.run(self.query_argv(), timeout=QUERY_TIMEOUT)
        if result.not_found or result.timed_out:
            raise result.error()
        return parse_sc_query(result)

    def start(self) -> ServiceState:
        state = self._settled(self._existing_state())
        if state.running:
            return state
        self._begin_action()
        result = self.runner.run([net_exe(), "start", self.service], timeout=self.timeout)
        if result.not_found:  # no net.exe: sc.exe returns at once, the polling waits
            result = self.runner.run([sc_exe(), "start", self.service], timeout=self.timeout)
        return self._wait_for(ServiceStatus.RUNNING, result)

    def stop(self) -> ServiceState:
        state = self._settled(self._existing_state())
        if state.status is ServiceStatus.STOPPED:
            return state
        self._begin_action()
        result = self.runner.run([net_exe(), "stop", self.service], timeout=self.timeout)
        if result.not_found:
            result = self.runner.run([sc_exe(), "stop", self.service], timeout=self.timeout)
        return self._wait_for(ServiceStatus.STOPPED, result, self.settle_timeout)

    def restart(self) -> ServiceState:
        self._existing_state()
        self._begin_action()
        result = self.runner.run(self.restart_argv(), timeout=self.timeout)
        if result.not_found:
            raise result.error()
        if result.ok:
            state = self._wait_for(ServiceStatus.RUNNING, result, self.settle_timeout)
        else:
            # Killed by our timeout (still STOP_PENDING after a long checkpoint) or failed:
            # what the service manager settles on decides.
            state = self._settled(self.status(), result)
            if state.status is ServiceStatus.STOPPED and result.timed_out:
                # Restart-Service was cut off before its start: start it ourselves.
                started = self.runner.run([net_exe(), "start", self.service], timeout=self.timeout)
                state = self._wait_for(ServiceStatus.RUNNING, started)
            elif not state.running:
                self._fail(ServiceStatus.RUNNING, state, result)
        self._require_accepting()
        return state

    def reload(self) -> None:
        argv = self.reload_argv()
        result = self.runner.run(argv, timeout=QUERY_TIMEOUT)
        if not result.ok:
            raise PlatformError(
                Message(
                    "platform.service.reload_failed",
                    {"target": self.service, "output": result.tail()},
                ),
                self._log_fix(),
            )

    def _existing_state(self) -> ServiceState:
        state = self.status()
        if state.status is ServiceStatus.NOT_FOUND:
            raise PlatformError(
                Message("platform.service.not_found", {"service": self.service}),
                Message("platform.windows.fix_service", {"found": "-"}),
            )
        return state

    def _settled(self, state: ServiceState, command: CommandResult | None = None) -> ServiceState:
        """Wait (up to the settle deadline) while the service is START/STOP_PENDING."""
        pending = (ServiceStatus.STARTING, ServiceStatus.STOPPING, ServiceStatus.UNKNOWN)
        deadline = self.clock() + self.settle_timeout
        while state.status in pending:
            if self.clock() >= deadline:
                want = (
                    ServiceStatus.RUNNING
                    if state.status is ServiceStatus.STARTING
                    else ServiceStatus.STOPPED
                )
                self._fail(want, state, command, self.settle_timeout)
            self.sleep(self.poll_interval)
            state = self.status()
        return state

    def _wait_for(
        self, target: ServiceStatus, command: CommandResult, timeout: float | None = None
    ) -> ServiceState:
        """Poll ``sc.exe query`` until ``target``. A service that settles in the opposite
        state (crashed at start, refused to stop) fails at once, not after the timeout."""
        opposite = (
            ServiceStatus.STOPPED if target is ServiceStatus.RUNNING else ServiceStatus.RUNNING
        )
        limit = self.timeout if timeout is None else timeout
        deadline = self.clock() + limit
        while True:
            state = self.status()
            if state.status is target:
                return state
            settled_wrong = state.status in (opposite, ServiceStatus.NOT_FOUND)
            if settled_wrong or self.clock() >= deadline:
                self._fail(target, state, command, limit)
            self.sleep(self.poll_interval)

    def _fail(
        self,
        target: ServiceStatus,
        state: ServiceState,
        command: CommandResult | None,
        seconds: float | None = None,
    ) -> NoReturn:
        key = (
            "platform.service.not_running"
            if target is ServiceStatus.RUNNING
            else "platform.service.not_stopped"
        )
        output = (command.tail(1000) if command is not None else "") or "-"
        if command is not None and command.timed_out:
            output = f"{command.error().message.render('en')}\n{output}"
        log = self.log_tail()
        if log:  # the service manager only says "error 1067": the logs say why
            output = f"{output}\n{log}"
        raise PlatformError(
            Message(
                key,
                {
                    "service": self.service,
                    "seconds": round(self.timeout if seconds is None else seconds),
                    "state": f"{state.status.value} ({state.raw})",
                    "output": output,
                },
            ),
            self._log_fix(),
        )


def control_for(
    *,
    service: str,
    data_dir: str,
    port: int | None,
    runner: CommandRunner,
    registry: RegistryReader | None,
    timeout: float = DEFAULT_TIMEOUT,
) -> WindowsService:
    """The Windows service for the config's ``local`` values (``auto`` = from the registry)."""
    installations = discover_installations(registry)
    try:
        inst = find_installation(installations, service=service, data_dir=data_dir, port=port)
    except PlatformError:
        if service == AUTO:
            raise
        # Named explicitly but unknown to the registry: trust the operator, sc.exe will tell.
        inst = WindowsInstallation(service=service)
    return WindowsService(
        inst.service,
        runner,
        data_dir=inst.data_dir or (None if data_dir == AUTO else data_dir),
        pg_ctl=inst.pg_ctl,
        port=port or inst.port,
        timeout=timeout,
    )


# ---------------------------------------------------------------------------------------------
# Elevation


def is_elevated() -> bool:
    """True when this process runs elevated (an administrator token). False when unknown."""
    try:
        import ctypes

        return bool(getattr(ctypes, "windll").shell32.IsUserAnAdmin())  # noqa: B009
    except (AttributeError, OSError, ImportError):
        return False


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
    text = text.strip()
    if not text:
        return {}
    data = json.loads(text)
    items = data if isinstance(data, list) else [data]
    found: dict[str, dict[str, str]] = {}
    for item in items:
        if isinstance(item, dict):
            name = str(item.get("Name", "")).capitalize()
            found[name] = {str(k): str(v) for k, v in item.items()}
    return found


def parse_connection_profiles(text: str) -> list[NetworkProfile]:
    text = text.strip()
    if not text:
        return []
    data = json.loads(text)
    items = data if isinstance(data, list) else [data]
    out = []
    for item in items:
        if not isinstance(item, dict):
            continue
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
        result = self.runner.run(self.profiles_argv(), timeout=60.0)
        if not result.ok:
            return None
        try:
            return parse_connection_profiles(result.stdout)
        except ValueError:
            return None

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
        result = self.runner.run(self.policy_argv(), timeout=60.0)
        if not result.ok:
            return None
        try:
            return parse_firewall_policy(result.stdout)
        except ValueError:
            return None

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
