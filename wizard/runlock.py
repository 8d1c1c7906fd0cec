"""One run at a time per config and per target server.

Two windows (TUI and CLI, or two CLIs) that change the same DW at once restart it under each
other and generate its TLS key twice. A run that changes something holds an OS file lock
(``flock`` on POSIX, ``msvcrt.locking`` on Windows) for the config file and one for the target
server (host:port, loopback names folded together). The OS drops the lock when the process
dies, however it dies, so a lock can never be left behind; the holder's pid, host, command and
start time sit in a small JSON file beside it, to name the other run in the refusal, and to
notice a previous holder that died without releasing (its record is still there).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from wizard import paths
from wizard.errors import StepError
from wizard.i18n import Message

_LOOPBACK = {"localhost", "127.0.0.1", "::1", "[::1]", "ip6-localhost"}


@dataclass(frozen=True)
class Holder:
    """Who holds (or held) a lock."""

    pid: int
    host: str
    command: str
    started_at: str
    config: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_json(data: dict[str, Any]) -> Holder | None:
        try:
            return Holder(
                int(data["pid"]),
                str(data["host"]),
                str(data["command"]),
                str(data["started_at"]),
                str(data.get("config", "")),
            )
        except (KeyError, TypeError, ValueError):
            return None


class RunLocked(StepError):
    """Another run holds the lock: nothing was changed."""

    operator_action = True

    def __init__(self, holder: Holder | None, what: str) -> None:
        if holder is None:
            message = Message("engine.lock.held_unknown", {"what": what})
        else:
            message = Message(
                "engine.lock.held",
                {
                    "what": what,
                    "pid": holder.pid,
                    "host": holder.host,
                    "command": holder.command,
                    "started": holder.started_at,
                },
            )
        super().__init__(message, Message("engine.lock.held.fix"))
        self.holder = holder


def server_key(host: str, port: int) -> str:
    name = "loopback" if host.strip().lower() in _LOOPBACK else host.strip().lower()
    return f"server-{_safe(name)}-{port}"


def _safe(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]
    clean = "".join(c if c.isalnum() or c in "-_." else "_" for c in text)[:40]
    return f"{clean}-{digest}"


def lock_dir() -> Path:
    """Machine-wide, not per user: two admins (or an elevated and a plain window) changing
    the same DW must see each other's lock. FDW_WIZARD_LOCK_DIR overrides (tests)."""
    override = os.environ.get("FDW_WIZARD_LOCK_DIR")
    if override:
        return Path(override)
    if os.name == "nt":
        return Path(os.environ.get("PROGRAMDATA", r"C:\ProgramData")) / "fdw-wizard" / "locks"
    return Path(tempfile.gettempdir()) / "fdw-wizard-locks"


def _ensure_lock_dir(folder: Path) -> None:
    if folder.is_dir():
        return
    folder.mkdir(parents=True, exist_ok=True)
    if os.name == "posix":
        # Shared like /tmp itself: anyone may create a lock, only its owner may remove it.
        with contextlib.suppress(OSError):
            os.chmod(folder, 0o1777)  # noqa: S103 - sticky, like /tmp


class _FileLock:
    """A non-blocking exclusive lock on ``path`` that the OS releases when the process dies."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.handle: IO[bytes] | None = None

    def try_acquire(self) -> bool:
        _ensure_lock_dir(self.path.parent)
        handle: IO[bytes]
        if os.name == "nt":
            handle = open(self.path, "a+b")  # noqa: SIM115 - kept open while the lock is held
        else:
            # Read-only is enough for flock, and lets another user lock a file root created.
            fd = os.open(self.path, os.O_RDONLY | os.O_CREAT, 0o644)
            handle = os.fdopen(fd, "rb")
        try:
            if os.name == "nt":
                import msvcrt

                handle.seek(0)
                msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
            else:
                import fcntl

                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self.handle = handle
        return True

    def release(self) -> None:
        handle, self.handle = self.handle, None
        if handle is None:
            return
        with contextlib.suppress(OSError):
            if os.name == "nt":
                import msvcrt

                handle.seek(0)
                msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)  # type: ignore[attr-defined]
            else:
                import fcntl

                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        handle.close()


class RunLock:
    """The locks of one run: ``keys`` name what it changes (config, target server)."""

    def __init__(self, keys: list[tuple[str, str]], *, config: str = "") -> None:
        # (key, what the operator calls it) — sorted so two runs never wait on each other.
        self.keys = sorted(dict(keys).items())
        self.config = config
        self._held: list[tuple[_FileLock, Path]] = []
        self._depth = 0  # nested holds in this process (a TUI applying, then undoing)
        self._mutex = threading.Lock()
        self.stale: list[Holder] = []  # previous holders that died holding the lock

    @classmethod
    def for_config(cls, config: Any, config_path: Path) -> RunLock:
        local = config.local
        return cls(
            [
                (f"config-{paths.config_key(config_path)}", str(Path(config_path).resolve())),
                (server_key(local.host, int(local.port)), f"{local.host}:{local.port}"),
            ],
            config=str(Path(config_path).resolve()),
        )

    @property
    def held(self) -> bool:
        return bool(self._held)

    def acquire(self, command: str) -> None:
        """Take every lock or none; raise :class:`RunLocked` naming the other run.
        Re-entrant within this process: each acquire needs its release."""
        with self._mutex:
            if self._depth:
                self._depth += 1
                return
            self._take(command)
            self._depth = 1

    def release(self) -> None:
        with self._mutex:
            if self._depth > 1:
                self._depth -= 1
                return
            self._depth = 0
            self._drop()

    def _take(self, command: str) -> None:
        me = Holder(
            os.getpid(),
            socket.gethostname(),
            command,
            datetime.now(UTC).isoformat(timespec="seconds"),
            self.config,
        )
        stale: list[Holder] = []
        for key, what in self.keys:
            lock_path = lock_dir() / f"{key}.lock"
            info_path = lock_dir() / f"{key}.json"
            lock = _FileLock(lock_path)
            if not lock.try_acquire():
                holder = _read_holder(info_path)
                for _ in range(10):  # it may have just taken the lock: its record follows
                    if holder is not None:
                        break
                    time.sleep(0.05)
                    holder = _read_holder(info_path)
                self._drop()
                raise RunLocked(holder, what)
            previous = _read_holder(info_path)
            if previous is not None and previous.pid != me.pid:
                stale.append(previous)
            _write_holder(info_path, me)
            self._held.append((lock, info_path))
        self.stale = list({h.pid: h for h in stale}.values())

    def _drop(self) -> None:
        for lock, info_path in reversed(self._held):
            with contextlib.suppress(OSError):
                info_path.unlink()
            lock.release()
        self._held = []


def _read_holder(path: Path) -> Holder | None:
    try:
        return Holder.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return None


def _write_holder(path: Path, holder: Holder) -> None:
    """Best effort: the lock itself is what counts; the record only names the holder."""
    from wizard.fileio import atomic_write_bytes

    data = json.dumps(holder.to_json()).encode("utf-8")
    with contextlib.suppress(OSError):
        atomic_write_bytes(path, data, backup=False, mode=0o644)
