"""Is this process allowed to edit the server's files, restart it and open the firewall?

Windows: an elevated (administrator) token. Linux: root, or the data dir's owner who can write
postgresql.conf and pg_hba.conf. When not, the exact way to relaunch is an i18n message.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from wizard.dwhost.platform.service import current_system
from wizard.i18n import Message


@dataclass(frozen=True)
class Elevation:
    elevated: bool
    how: str  # administrator | root | owner | not-administrator | not-owner | no-data-dir
    message: Message
    relaunch: Message | None = None  # what to do when not elevated


def _relaunch_argv(argv: Sequence[str] | None) -> list[str]:
    args = list(sys.argv if argv is None else argv)
    if not args:
        return ["fdw-wizard"]
    first = args[0]
    if first.endswith(".py"):  # run as a script: the interpreter must come first
        return [sys.executable, str(Path(first).absolute()), *args[1:]]
    if os.sep in first or (os.altsep and os.altsep in first):
        # Absolute: sudo resets PATH and an elevated shell starts in System32.
        return [str(Path(first).absolute()), *args[1:]]
    return args


_PS_BARE = re.compile(r"^[A-Za-z0-9_\-./:\\=,+@]+$")


def relaunch_command(argv: Sequence[str] | None = None, system: str | None = None) -> str:
    """The same command line, ready to paste (sudo-prefixed on Linux when not root). Windows:
    PowerShell syntax (the instruction opens an elevated PowerShell / Windows Terminal), where
    a quoted program path is only run through the call operator: ``& 'C:\\...exe' args``."""
    args = _relaunch_argv(argv)
    if (system or current_system()) == "windows":
        from wizard.dwhost.platform.runner import ps_quote

        program, *rest = args
        words = [a if _PS_BARE.match(a) else ps_quote(a) for a in rest]
        return " ".join(["&", ps_quote(program), *words])
    return shlex.join(["sudo", *args])


def relaunch_instruction(
    argv: Sequence[str] | None = None, system: str | None = None, cwd: str | None = None
) -> Message:
    system = system or current_system()
    params = {"command": relaunch_command(argv, system), "cwd": cwd or os.getcwd()}
    if system == "windows":
        return Message("platform.elevation.relaunch_windows", params)
    return Message("platform.elevation.relaunch_linux", params)


def check_elevation(
    *,
    data_dir: str | Path | None = None,
    files: Sequence[str | Path] = (),
    argv: Sequence[str] | None = None,
    system: str | None = None,
    is_admin: Callable[[], bool] | None = None,
    euid: int | None = None,
) -> Elevation:
    """Whether this process may change the server. ``files`` are the config files to write
    (default: postgresql.conf and pg_hba.conf in ``data_dir``; on Debian they live in /etc)."""
    system = system or current_system()
    if system == "windows":
        if is_admin is None:
            from wizard.dwhost.platform.windows import is_elevated

            is_admin = is_elevated
        if is_admin():
            return Elevation(True, "administrator", Message("platform.elevation.administrator"))
        return Elevation(
            False,
            "not-administrator",
            Message("platform.elevation.not_administrator"),
            relaunch_instruction(argv, system),
        )
    uid = os.geteuid() if euid is None else euid
    if uid == 0:
        return Elevation(True, "root", Message("platform.elevation.root"))
    relaunch = relaunch_instruction(argv, system)
    if data_dir is None:
        return Elevation(False, "no-data-dir", Message("platform.elevation.not_root"), relaunch)
    data = Path(data_dir)
    targets = [Path(f) for f in files] or [data / "postgresql.conf", data / "pg_hba.conf"]
    try:
        owns = data.stat().st_uid == uid
    except OSError:
        owns = False
    writable = all(os.access(f, os.W_OK) for f in targets)
    if owns and writable:
        return Elevation(
            True, "owner", Message("platform.elevation.owner", {"data_dir": str(data)})
        )
    return Elevation(
        False,
        "not-owner",
        Message("platform.elevation.not_owner", {"data_dir": str(data)}),
        relaunch,
    )
