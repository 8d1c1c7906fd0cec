"""Why a file could not be written, in the operator's words, with the fix.

``describe_write_error(path, exc)`` turns the OSError of a write/replace (``fileio``) into a
Message naming the file, the cause and what to do: an immutable or append-only file (Linux
``chattr +i`` / ``+a``; even root gets EPERM), the Windows read-only attribute, a read-only
file system, a full disk, a missing folder, or plain permissions. ``write_problem(path)`` finds
the same causes before writing (``prereq.elevation``), without an exception in hand.
"""

from __future__ import annotations

import errno
import getpass
import os
import stat
import sys
from pathlib import Path

from wizard.i18n import Message
from wizard.safetext import visible

# linux/fs.h: FS_IOC_GETFLAGS = _IOR('f', 1, long); the flag bits lsattr shows as 'i' and 'a'.
_FS_IOC_GETFLAGS = 0x80086601 if sys.maxsize > 2**32 else 0x80046601
FS_IMMUTABLE_FL = 0x00000010
FS_APPEND_FL = 0x00000020


def linux_attributes(path: Path) -> int | None:
    """The inode flags of ``path`` (as ``lsattr`` reads them), or None where unavailable."""
    if not sys.platform.startswith("linux"):
        return None
    import array
    import fcntl

    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    try:
        buf = array.array("l", [0])
        fcntl.ioctl(fd, _FS_IOC_GETFLAGS, buf, True)
        return int(buf[0])
    except OSError:
        return None  # a file system without inode flags (tmpfs on old kernels, NFS...)
    finally:
        os.close(fd)


def _on_windows() -> bool:
    return os.name == "nt"


def _windows_read_only(path: Path) -> bool:
    try:
        attributes = getattr(os.stat(path), "st_file_attributes", 0)
    except OSError:
        return False
    return bool(attributes & getattr(stat, "FILE_ATTRIBUTE_READONLY", 1))


def _read_only_fs(path: Path) -> bool:
    statvfs = getattr(os, "statvfs", None)
    if statvfs is None:
        return False
    for candidate in (path, path.parent):
        try:
            return bool(statvfs(candidate).f_flag & getattr(os, "ST_RDONLY", 1))
        except OSError:
            continue
    return False


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no name for this uid (containers)
        return str(os.getuid()) if hasattr(os, "getuid") else "?"


def _attribute_problem(path: Path, *, windows_read_only: bool = True) -> Message | None:
    """An attribute that forbids the write whoever tries it (root / administrator too)."""
    for target in (path, path.parent):
        flags = linux_attributes(target) if target.exists() else None
        if flags is None:
            continue
        params = {"path": visible(str(path)), "target": visible(str(target))}
        if flags & FS_IMMUTABLE_FL:
            return Message("input.write.immutable", params)
        if flags & FS_APPEND_FL:
            return Message("input.write.append_only", params)
    if windows_read_only and _on_windows() and path.exists() and _windows_read_only(path):
        return Message("input.write.readonly_attr", {"path": visible(str(path))})
    if _read_only_fs(path):
        return Message("input.write.readonly_fs", {"path": visible(str(path))})
    return None


def describe_write_error(path: Path | str, exc: OSError) -> Message:
    """The operator message for ``exc`` raised while writing or replacing ``path``."""
    path = Path(path)
    code = exc.errno
    shown = visible(str(path))
    detail = visible(exc.strerror or str(exc) or type(exc).__name__)
    if code in (errno.EPERM, errno.EACCES, errno.EROFS) or isinstance(exc, PermissionError):
        found = _attribute_problem(path)
        if found is not None:
            return found
        if code == errno.EROFS:
            return Message("input.write.readonly_fs", {"path": shown})
        return Message(
            "input.write.permission",
            {"path": shown, "folder": visible(str(path.parent)), "user": _user()},
        )
    if code in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
        return Message("input.write.no_space", {"path": shown, "detail": detail})
    if code == errno.ENOENT:
        return Message(
            "input.write.no_folder", {"path": shown, "folder": visible(str(path.parent))}
        )
    return Message("input.write.other", {"path": shown, "detail": detail, "errno": code or "-"})


def write_problem(path: Path | str) -> Message | None:
    """Why this process could not replace ``path`` now (None when it could).

    The Windows read-only attribute is not a problem here: ``fileio`` replaces such a file
    all the same and puts the attribute back (and ``os.access`` reports it as not writable)."""
    path = Path(path)
    found = _attribute_problem(path, windows_read_only=False)
    if found is not None:
        return found
    folder_ok = os.access(path.parent, os.W_OK | os.X_OK)
    file_ok = not path.exists() or os.access(path, os.W_OK) or _on_windows()
    if folder_ok and file_ok:
        return None
    return Message(
        "input.write.permission",
        {"path": visible(str(path)), "folder": visible(str(path.parent)), "user": _user()},
    )
