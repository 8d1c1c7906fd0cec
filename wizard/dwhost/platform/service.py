"""The common service-control interface (the factory that picks an implementation is in
:mod:`wizard.dwhost.platform.factory`, above the implementations that import this module).

Four ways a PostgreSQL server is controlled: a Windows service (EDB installer), a Debian cluster
(``pg_ctlcluster``), a systemd unit, or a bare data directory (``pg_ctl``). Steps only see
:class:`ServiceControl`; nothing here decides whether to restart, only how.
"""

from __future__ import annotations

import socket
import struct
import sys
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from wizard.dwhost.platform.runner import CommandRunner, PlatformError
from wizard.i18n import Message
from wizard.plan import CommandAction

AUTO = "auto"
DEFAULT_TIMEOUT = 120.0  # an EDB service on a busy server can take a minute to come up


class ServiceStatus(StrEnum):
    RUNNING = "running"
    STOPPED = "stopped"
    STARTING = "starting"
    STOPPING = "stopping"
    PAUSED = "paused"
    NOT_FOUND = "not-found"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class ServiceState:
    status: ServiceStatus
    raw: str = ""  # what the OS said (e.g. "4  RUNNING", "active/running", "online")

    @property
    def running(self) -> bool:
        return self.status is ServiceStatus.RUNNING

    def describe(self) -> Message:
        return Message(f"platform.service.state.{self.status.value}")


class ControlMethod(StrEnum):
    WINDOWS_SERVICE = "windows-service"
    PG_CTLCLUSTER = "pg_ctlcluster"
    SYSTEMD = "systemd"
    PG_CTL = "pg_ctl"


Sleep = Callable[[float], None]
Clock = Callable[[], float]


class ServiceControl(ABC):
    """How to control one PostgreSQL server. Every method has a timeout; failures raise
    :class:`PlatformError` with the state seen and the command's output."""

    method: ControlMethod

    def __init__(
        self,
        runner: CommandRunner,
        *,
        port: int | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        poll_interval: float = 1.0,
        sleep: Sleep = time.sleep,
        clock: Clock = time.monotonic,
    ) -> None:
        self.runner = runner
        self.port = port
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.sleep = sleep
        self.clock = clock
        # Wall-clock time the last start/stop/restart began: logs older than that belong to
        # a previous run and must not be shown as this failure's reason.
        self.action_started: float | None = None

    def _begin_action(self) -> None:
        self.action_started = time.time()

    @abstractmethod
    def describe(self) -> Message:
        """One line naming the service / cluster / unit and how it is controlled."""

    @abstractmethod
    def status(self) -> ServiceState: ...

    @abstractmethod
    def start(self) -> ServiceState: ...

    @abstractmethod
    def stop(self) -> ServiceState: ...

    @abstractmethod
    def restart(self) -> ServiceState:
        """Restart and wait until the server runs again (and accepts connections when the
        port is known); raise PlatformError when it does not within the timeout."""

    @abstractmethod
    def reload(self) -> None:
        """Make the server re-read postgresql.conf and pg_hba.conf (no restart)."""

    @abstractmethod
    def restart_argv(self) -> list[str]:
        """The command :meth:`restart` runs, for plans."""

    @abstractmethod
    def reload_argv(self) -> list[str]:
        """The command :meth:`reload` runs, for plans."""

    def log_location(self) -> str | None:
        """Where the server writes its log (a file, a folder or a journalctl command)."""
        return None

    def log_tail(self, limit: int = 1500) -> str | None:
        """The end of the newest server log written by the current start/restart (any log
        when none ran yet), for an error message; None when unreadable or when the current
        run wrote none (then the previous run's log would only mislead)."""
        location = self.log_location()
        if not location:
            return None
        return tail_of_newest(
            [Path(location), *self._extra_logs()], limit, since=self.action_started
        )

    def _extra_logs(self) -> list[Path]:
        return []

    def restart_action(self) -> CommandAction:

        return CommandAction(
            self.restart_argv(), Message("platform.service.action.restart", self._names())
        )

    def reload_action(self) -> CommandAction:
        return CommandAction(
            self.reload_argv(), Message("platform.service.action.reload", self._names())
        )

    def _names(self) -> dict[str, str]:
        return {"target": self.target}

    @property
    @abstractmethod
    def target(self) -> str:
        """What is controlled, as the operator knows it: a service or unit name, ``15/main``,
        a data directory."""

    # -- shared helpers ------------------------------------------------------------------------

    def wait_until_accepting(self, timeout: float | None = None) -> bool:
        """True once the server on 127.0.0.1:port accepts connections; True at once when the
        port is unknown (nothing to probe)."""
        if self.port is None:
            return True
        deadline = self.clock() + (self.timeout if timeout is None else timeout)
        while True:
            if probe_postgres("127.0.0.1", self.port, timeout=3.0):
                return True
            if self.clock() >= deadline:
                return False
            self.sleep(self.poll_interval)

    def _require_accepting(self) -> None:
        if not self.wait_until_accepting():
            raise PlatformError(
                Message(
                    "platform.service.not_accepting",
                    {"host": "127.0.0.1", "port": self.port, "seconds": round(self.timeout)},
                ),
                self._log_fix(),
            )

    def _log_fix(self) -> Message:
        return Message("platform.service.fix_log", {"log": self.log_location() or "-"})


def decode_log(raw: bytes) -> str:
    """A server log's bytes as text: UTF-8 when they are, else cp1252 (what EDB's Windows
    server writes under a Western-European ANSI code page). A tail cut inside a UTF-8
    sequence is not taken for cp1252."""
    trimmed = raw
    for _ in range(3):  # continuation bytes of a character cut by the tail
        if trimmed[:1] and 0x80 <= trimmed[0] <= 0xBF:
            trimmed = trimmed[1:]
    try:
        return trimmed.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def tail_of_newest(
    paths: list[Path], limit: int = 1500, *, since: float | None = None
) -> str | None:
    """The end of the most recently written file among ``paths`` (folders: their files),
    headed by its path. With ``since`` (epoch seconds): only a file written at or after it."""
    files: list[Path] = []
    for path in paths:
        try:
            if path.is_dir():
                files += [p for p in path.iterdir() if p.is_file()]
            elif path.is_file():
                files.append(path)
        except OSError:
            continue
    try:
        if since is not None:
            # 2 s of slack: FAT/SMB timestamps are coarse, clocks are read at different points.
            files = [p for p in files if p.stat().st_mtime >= since - 2.0]
        newest = max(files, key=lambda p: p.stat().st_mtime, default=None)
        if newest is None:
            return None
        with newest.open("rb") as fh:
            fh.seek(max(0, newest.stat().st_size - limit))
            text = decode_log(fh.read()).strip()
        return f"--- {newest} ---\n{text}" if text else None
    except OSError:
        return None


# ---------------------------------------------------------------------------------------------
# Is a PostgreSQL server answering? (what pg_isready does, with no client library)


def probe_postgres(host: str, port: int, *, timeout: float = 3.0) -> bool:
    """True when a PostgreSQL server on host:port answers a startup packet with anything but
    "the database system is starting up / shutting down" (SQLSTATE 57P03). No login happens:
    the connection is closed at the authentication request, which the server does not log."""
    user = b"fdw_wizard_probe"
    body = struct.pack("!i", 196608) + b"user\0" + user + b"\0database\0postgres\0\0"
    packet = struct.pack("!i", len(body) + 4) + body
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(packet)
            head = _recv_exact(sock, 5)
            if head is None:
                return False
            kind = head[:1]
            if kind in (b"R", b"v"):  # an authentication request / protocol negotiation
                return True
            if kind != b"E":
                return False
            length = struct.unpack("!i", head[1:5])[0]
            rest = _recv_exact(sock, max(0, min(length - 4, 65536))) or b""
    except OSError:
        return False
    for field_ in rest.split(b"\0"):
        if field_.startswith(b"C"):
            return field_[1:] != b"57P03"
    return True


def _recv_exact(sock: socket.socket, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


# ---------------------------------------------------------------------------------------------
# What the factory reads


class LocalSection(Protocol):
    """What the factory reads from the config's ``local`` section (``config.LocalConfig``)."""

    @property
    def control(self) -> str: ...
    @property
    def service(self) -> str: ...
    @property
    def data_dir(self) -> str: ...
    @property
    def bin_dir(self) -> str: ...
    @property
    def os_user(self) -> str: ...
    @property
    def port(self) -> int: ...


def current_system() -> str:
    return "windows" if sys.platform == "win32" else "linux"
