"""Windows: control of a PostgreSQL Windows service (``sc.exe``, ``net.exe``, PowerShell), the
Application-log entries of a failed start, and whether this process runs elevated.

Importable on Linux: ``ctypes.windll`` is only touched inside :func:`is_elevated`, and every
command goes through a :class:`CommandRunner` so the tests replay recorded outputs.
"""

from __future__ import annotations

import ntpath
import re
from dataclasses import dataclass
from typing import Any, NoReturn

from wizard.dwhost.platform.runner import (
    QUERY_TIMEOUT,
    CommandResult,
    CommandRunner,
    PlatformError,
    SubprocessRunner,
    net_exe,
    powershell,
    ps_json_items,
    ps_quote,
    read_or_none,
    sc_exe,
)
from wizard.dwhost.platform.service import (
    AUTO,
    DEFAULT_TIMEOUT,
    ControlMethod,
    ServiceControl,
    ServiceState,
    ServiceStatus,
)
from wizard.dwhost.platform.windows_registry import (
    RegistryReader,
    WindowsInstallation,
    discover_installations,
    find_installation,
)
from wizard.i18n import Message

ERROR_SERVICE_DOES_NOT_EXIST = 1060
# How long a STOP_PENDING / START_PENDING service is waited for, at least: a shutdown
# checkpoint of a busy DW or crash recovery at start can take minutes.
SETTLE_TIMEOUT_MIN = 600.0
EVENT_SOURCE = "PostgreSQL"  # EDB's event_source; pg_ctl runservice logs under it too
MAX_EVENTS = 20

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
    found = []
    for item in ps_json_items(text):
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
        return read_or_none(self.runner, events_argv(seconds), parse_events, timeout=QUERY_TIMEOUT)

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
