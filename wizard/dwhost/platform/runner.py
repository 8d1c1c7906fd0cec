"""Running OS commands: the result type, the runner protocol, the real runner and a test fake.

Every command goes through a :class:`CommandRunner` so that the Windows code (which cannot run
on the Linux CI) is tested against recorded outputs with the exact argv asserted. No command is
ever run through a shell, and no secret ever goes on a command line (nothing here needs one).
"""

from __future__ import annotations

import contextlib
import json
import ntpath
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath, PureWindowsPath
from typing import IO, Any, Protocol, Required, TypedDict, TypeVar

from wizard.errors import StepError
from wizard.i18n import Message

IS_WINDOWS = sys.platform == "win32"

# Conventional exit codes for the two failures that have no real exit code.
RC_TIMEOUT = -1
RC_NOT_FOUND = 127
# How long a query command (sc.exe query, systemctl show, pg_lsclusters, ufw status) may take.
QUERY_TIMEOUT = 30.0
# Tool output we parse must not be translated (ufw says "Estado: ativo" under pt_BR).
C_LOCALE = {"LC_ALL": "C", "LANG": "C"}

# Prefix of every PowerShell script: output is UTF-8 whatever the console code page (guarded:
# without a console the setter throws), errors fail the command (non-zero exit code), and no
# progress records pollute the output.
POWERSHELL_PREFIX = (
    "try { [Console]::OutputEncoding = [System.Text.Encoding]::UTF8 } catch { }; "
    "$ErrorActionPreference = 'Stop'; $ProgressPreference = 'SilentlyContinue'; "
)
# Windows' own tools by absolute path: an elevated process must not resolve a bare `net.exe`
# or `powershell.exe` from the current directory (or a PATH an operator's tools changed).
SYSTEM_ROOT_DEFAULT = "C:\\Windows"
# Windows: no console window for children, so nothing they do (a PowerShell script setting
# [Console]::OutputEncoding, chcp) reaches the operator's console and its code page.
CREATE_NO_WINDOW = 0x08000000
CREATE_NEW_PROCESS_GROUP = 0x00000200


def system32(name: str) -> str:
    """``%SystemRoot%\\System32\\<name>`` (``C:\\Windows`` when the variable is unset)."""
    # os.environ is case-insensitive on Windows: this is %SystemRoot%.
    root = os.environ.get("SYSTEMROOT") or SYSTEM_ROOT_DEFAULT
    return ntpath.join(root, "System32", name)


def sc_exe() -> str:
    return system32("sc.exe")


def net_exe() -> str:
    return system32("net.exe")


def netsh_exe() -> str:
    return system32("netsh.exe")


def powershell_exe() -> str:
    return system32("WindowsPowerShell\\v1.0\\powershell.exe")


POWERSHELL_EXE = "powershell.exe"  # the program name (see powershell_exe() for the path)


class PlatformError(StepError):
    """An OS-level failure with an operator-facing message (and a fix when there is one)."""


@dataclass(frozen=True)
class CommandResult:
    """What a command did. ``timed_out``/``not_found`` mark the runs that never completed."""

    argv: list[str]
    returncode: int
    stdout: str
    stderr: str
    duration_s: float = 0.0
    timed_out: bool = False
    not_found: bool = False

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out and not self.not_found

    @property
    def output(self) -> str:
        """stdout and stderr together, stripped (for error messages)."""
        return "\n".join(p for p in (self.stdout.strip(), self.stderr.strip()) if p)

    def tail(self, limit: int = 2000) -> str:
        return self.output[-limit:]

    @property
    def command(self) -> str:
        return command_line(self.argv)

    def error(self) -> PlatformError:
        """The operator-facing error for a run that did not succeed."""
        if self.not_found:
            return PlatformError(Message("platform.command.not_found", {"program": self.argv[0]}))
        if self.timed_out:
            return PlatformError(
                Message(
                    "platform.command.timeout",
                    {"command": self.command, "seconds": round(self.duration_s)},
                )
            )
        return PlatformError(
            Message(
                "platform.command.failed",
                {"command": self.command, "code": self.returncode, "output": self.tail()},
            )
        )

    def check(self) -> CommandResult:
        """Self when it succeeded, else raise :meth:`error`."""
        if not self.ok:
            raise self.error()
        return self


def command_line(argv: Sequence[str]) -> str:
    """argv as one display string (never executed through a shell)."""
    if IS_WINDOWS:
        return subprocess.list2cmdline(list(argv))
    import shlex

    return shlex.join(argv)


class CommandRunner(Protocol):
    def run(
        self,
        argv: list[str],
        *,
        timeout: float,
        input_text: str | None = None,
        env: dict[str, str] | None = None,
    ) -> CommandResult:
        """Run argv (no shell) and wait at most ``timeout`` seconds; never raises for a
        failing, missing or timed-out command: that is in the result."""
        ...


class RunOptions(TypedDict, total=False):
    """The keywords of :meth:`CommandRunner.run`, for a runner that passes them on unchanged."""

    timeout: Required[float]
    input_text: str | None
    env: dict[str, str] | None


T = TypeVar("T")


def read_or_none(
    runner: CommandRunner, argv: list[str], parse: Callable[[str], T], *, timeout: float
) -> T | None:
    """What a read-only query prints, parsed; None when the command failed or printed
    something ``parse`` rejects (ValueError): the caller then says "could not be read"."""
    result = runner.run(argv, timeout=timeout)
    if not result.ok:
        return None
    try:
        return parse(result.stdout)
    except ValueError:
        return None


def powershell(script: str) -> list[str]:
    """The argv running one PowerShell script. Scripts quote with single quotes only, since
    double quotes do not survive Windows command-line parsing into ``-Command`` reliably."""
    if '"' in script:
        raise ValueError("PowerShell scripts built here use single quotes only")
    return [
        powershell_exe(),
        "-NoProfile",
        "-NonInteractive",
        "-Command",
        POWERSHELL_PREFIX + script,
    ]


# PowerShell ends a single-quoted string at any of these (its tokenizer treats the typographic
# quotes U+2018-U+201B like the ASCII apostrophe), and unescapes each doubled one.
_PS_SINGLE_QUOTES = ("'", "\u2018", "\u2019", "\u201a", "\u201b")


def ps_quote(value: str) -> str:
    """A PowerShell single-quoted string literal (nothing inside is expanded)."""
    for quote in _PS_SINGLE_QUOTES:
        value = value.replace(quote, quote + quote)
    return "'" + value + "'"


def ps_list(values: Sequence[str]) -> str:
    return "@(" + ",".join(ps_quote(v) for v in values) + ")"


def ps_json_items(text: str) -> list[dict[str, Any]]:
    """The objects in what ``ConvertTo-Json`` printed: it prints a lone object without the
    array around it, and nothing at all for none. Raises ValueError on text that is not JSON."""
    text = text.strip()
    if not text:
        return []
    data = json.loads(text)
    items = data if isinstance(data, list) else [data]
    return [item for item in items if isinstance(item, dict)]


def _program_name(argv0: str) -> str:
    path: PurePath = PureWindowsPath(argv0) if "\\" in argv0 else PurePath(argv0)
    return path.name.lower().removesuffix(".exe")


_oem_encoding: str | None = None


def oem_encoding() -> str:
    """The console (OEM) code page cmd tools like sc.exe, net and netsh write in: cp850 on a
    pt-BR Windows, cp437 on en-US. Not the ANSI page (cp1252) that locale reports."""
    global _oem_encoding
    if _oem_encoding is None:
        _oem_encoding = "cp850"
        if IS_WINDOWS:
            try:
                import ctypes

                code_page = int(getattr(ctypes, "windll").kernel32.GetOEMCP())  # noqa: B009
                "".encode(f"cp{code_page}")  # a code page Python knows
                _oem_encoding = f"cp{code_page}"
            except (AttributeError, OSError, LookupError, ValueError):
                pass
    return _oem_encoding


def decode_output(argv0: str, raw: bytes) -> str:
    """Decode a command's output: PowerShell (with our prefix) writes UTF-8; on Windows the cmd
    tools write the OEM code page; elsewhere UTF-8. Undecodable bytes are replaced, never fatal."""
    if not IS_WINDOWS or _program_name(argv0) in ("powershell", "pwsh"):
        text = raw.decode("utf-8", errors="replace")
    else:
        text = raw.decode(oem_encoding(), errors="replace")
    return text.replace("\r\n", "\n").lstrip("\ufeff")


def spawn_options(system: str) -> dict[str, Any]:
    """Popen options for a child command. POSIX: its own session, so a timeout can stop the
    command and its children. Windows: no window and no shared console (CREATE_NO_WINDOW),
    so a child never changes the operator's console code page nor freezes with it."""
    if system == "windows":
        return {"creationflags": CREATE_NO_WINDOW}
    return {"start_new_session": True}


def detached_options(system: str) -> dict[str, Any]:
    """Popen options for a background process that outlives the command that started it."""
    if system == "windows":
        return {"creationflags": CREATE_NO_WINDOW | CREATE_NEW_PROCESS_GROUP}
    return {"start_new_session": True}


class SubprocessRunner:
    """The real runner.

    Output goes to temporary files, not pipes: ``pg_ctl start`` leaves a server behind that
    inherits its stdout, and reading a pipe until EOF would then wait for that server to exit.
    Commands run from ``/`` on POSIX so that a user we drop to (``runuser -u postgres``) can
    enter the working directory; every path we pass is absolute.
    """

    def __init__(self, cwd: str | None = None) -> None:
        self.cwd = cwd if cwd is not None else (None if IS_WINDOWS else "/")

    def run(
        self,
        argv: list[str],
        *,
        timeout: float,
        input_text: str | None = None,
        env: dict[str, str] | None = None,
    ) -> CommandResult:
        argv = [str(a) for a in argv]
        full_env = dict(os.environ)
        full_env.update(env or {})
        started = time.monotonic()
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            try:
                proc = self._spawn(argv, out, err, full_env, input_text is not None)
            except (FileNotFoundError, NotADirectoryError, PermissionError) as exc:
                return CommandResult(
                    argv, RC_NOT_FOUND, "", str(exc), time.monotonic() - started, not_found=True
                )
            timed_out = False
            try:
                if input_text is not None and proc.stdin is not None:
                    try:
                        proc.stdin.write(input_text.encode("utf-8"))
                        proc.stdin.close()
                    except BrokenPipeError:
                        pass
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
                self._kill(proc)
            duration = time.monotonic() - started
            out.seek(0)
            err.seek(0)
            stdout = decode_output(argv[0], out.read())
            stderr = decode_output(argv[0], err.read())
        code = RC_TIMEOUT if timed_out else proc.returncode
        return CommandResult(argv, code, stdout, stderr, duration, timed_out=timed_out)

    def _spawn(
        self,
        argv: list[str],
        out: IO[bytes],
        err: IO[bytes],
        env: Mapping[str, str],
        with_input: bool,
    ) -> subprocess.Popen[bytes]:
        kwargs = spawn_options("windows" if IS_WINDOWS else "posix")
        return subprocess.Popen(
            argv,
            stdin=subprocess.PIPE if with_input else subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            env=dict(env),
            cwd=self.cwd,
            **kwargs,
        )

    @staticmethod
    def _kill(proc: subprocess.Popen[bytes]) -> None:
        try:
            if IS_WINDOWS:
                proc.kill()
            else:
                os.killpg(proc.pid, getattr(signal, "SIGKILL", signal.SIGTERM))
        except (ProcessLookupError, PermissionError, OSError):
            pass
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)


# ---------------------------------------------------------------------------------------------
# Background processes (the sandbox's API stand-in): portable liveness and stop

_STILL_ACTIVE = 259
_PROCESS_QUERY_LIMITED_INFORMATION = 0x1000
_PROCESS_TERMINATE = 0x0001
_ERROR_ACCESS_DENIED = 5


def _kernel32() -> Any:
    import ctypes

    return getattr(ctypes, "windll").kernel32  # noqa: B009


def process_alive(pid: int, *, system: str | None = None, kernel32: Any = None) -> bool:
    """Whether process ``pid`` still runs. Never ``os.kill(pid, 0)`` on Windows: signal 0 is
    CTRL_C_EVENT there and would interrupt the whole console group. POSIX: a child of ours
    that exited is reaped here (a zombie would otherwise look alive)."""
    if (system or ("windows" if IS_WINDOWS else "posix")) == "windows":
        k32 = kernel32 if kernel32 is not None else _kernel32()
        handle = k32.OpenProcess(_PROCESS_QUERY_LIMITED_INFORMATION, False, pid)
        if not handle:
            # Access denied means it exists (another user's process); anything else: gone.
            return bool(k32.GetLastError() == _ERROR_ACCESS_DENIED)
        try:
            import ctypes

            code = ctypes.c_ulong(0)
            if not k32.GetExitCodeProcess(handle, ctypes.byref(code)):
                return True
            return code.value == _STILL_ACTIVE
        finally:
            k32.CloseHandle(handle)
    with contextlib.suppress(ChildProcessError, OSError):
        if os.waitpid(pid, getattr(os, "WNOHANG", 1))[0] == pid:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_process(
    pid: int,
    *,
    grace: float = 5.0,
    system: str | None = None,
    kernel32: Any = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> bool:
    """Stop a background process: POSIX SIGTERM, then SIGKILL after ``grace`` seconds;
    Windows TerminateProcess (there is no polite signal for a process without a console).
    True when it is gone."""
    windows = (system or ("windows" if IS_WINDOWS else "posix")) == "windows"
    if windows:
        k32 = kernel32 if kernel32 is not None else _kernel32()
        handle = k32.OpenProcess(
            _PROCESS_TERMINATE | _PROCESS_QUERY_LIMITED_INFORMATION, False, pid
        )
        if not handle:
            return not process_alive(pid, system="windows", kernel32=k32)
        try:
            k32.TerminateProcess(handle, 1)
        finally:
            k32.CloseHandle(handle)
        steps: tuple[tuple[int | None, float], ...] = ((None, grace),)
    else:
        kill = getattr(signal, "SIGKILL", signal.SIGTERM)
        steps = ((int(signal.SIGTERM), grace), (int(kill), 2.0))
    for signum, wait in steps:
        if signum is not None:
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                return True
            except PermissionError:
                return False
        deadline = clock() + wait
        while clock() < deadline:
            if not process_alive(pid, system=system, kernel32=kernel32):
                return True
            sleep(0.05)
    return not process_alive(pid, system=system, kernel32=kernel32)


# ---------------------------------------------------------------------------------------------
# The fake


@dataclass
class RecordedCall:
    argv: list[str]
    timeout: float
    input_text: str | None
    env: dict[str, str] | None


def recorded(
    stdout: str = "",
    returncode: int = 0,
    stderr: str = "",
    *,
    timed_out: bool = False,
    not_found: bool = False,
) -> CommandResult:
    """A recorded result (its argv is filled in by :class:`RecordedRunner`)."""
    if timed_out:
        returncode = RC_TIMEOUT
    if not_found:
        returncode = RC_NOT_FOUND
    return CommandResult([], returncode, stdout, stderr, 0.0, timed_out, not_found)


@dataclass
class RecordedRunner:
    """A FAKE runner for TESTS ONLY — Windows commands cannot run on the Linux CI.

    Built with the ordered conversation ``[(exact argv, recorded result), ...]``. Each call must
    pass exactly the next expected argv, else it fails loudly (AssertionError naming both);
    :meth:`assert_all_used` proves nothing expected was skipped.
    """

    script: Sequence[tuple[Sequence[str], CommandResult]]
    calls: list[RecordedCall] = field(default_factory=list)

    def run(
        self,
        argv: list[str],
        *,
        timeout: float,
        input_text: str | None = None,
        env: dict[str, str] | None = None,
    ) -> CommandResult:
        index = len(self.calls)
        got = [str(a) for a in argv]
        if index >= len(self.script):
            raise AssertionError(f"unexpected command #{index + 1} (none left): {got!r}")
        want, result = self.script[index]
        if got != list(want):
            raise AssertionError(
                f"command #{index + 1} differs from the recording:\n"
                f"  expected {list(want)!r}\n  got      {got!r}"
            )
        if timeout <= 0:
            raise AssertionError(f"command #{index + 1} has no positive timeout: {got!r}")
        self.calls.append(RecordedCall(got, timeout, input_text, env))
        return CommandResult(
            got,
            result.returncode,
            result.stdout,
            result.stderr,
            result.duration_s,
            result.timed_out,
            result.not_found,
        )

    def assert_all_used(self) -> None:
        left = [list(a) for a, _ in self.script[len(self.calls) :]]
        if left:
            raise AssertionError(f"{len(left)} recorded command(s) never ran: {left!r}")
