"""Atomic file writes: a file the wizard touches is either the old one or the new one.

temp file in the same directory -> fsync -> os.replace -> fsync of the directory, keeping the
original's permissions and (when running as root) its owner, with a timestamped backup first.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path


def backup_path_for(path: Path, now: datetime | None = None) -> Path:
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%fZ")
    return path.with_name(f"{path.name}.fdw-wizard-{stamp}.bak")


def make_backup(path: Path) -> Path:
    """Copy ``path`` (content, mode, times, owner) next to itself; return the copy's path."""
    target = backup_path_for(path)
    shutil.copy2(path, target)
    _copy_owner(path, target)
    return target


def _copy_owner(source: Path, target: Path) -> None:
    if os.name != "posix" or os.geteuid() != 0:
        return
    st = source.stat()
    os.chown(target, st.st_uid, st.st_gid)


def _fsync_dir(directory: Path) -> None:
    if os.name != "posix":
        return  # Windows cannot open a directory for fsync; os.replace is atomic there.
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# Windows: Defender, backup and indexing agents open files briefly without FILE_SHARE_DELETE:
# os.replace then fails with WinError 5 (access denied) or 32 (sharing violation). Retried
# with a short backoff (about 3 s in all) before giving up.
_RETRY_WINERRORS = (5, 32)
REPLACE_DELAYS = (0.05, 0.1, 0.2, 0.4, 0.8, 1.6)


def _is_read_only(path: Path) -> bool:
    try:
        return not (path.stat().st_mode & stat.S_IWRITE)
    except OSError:
        return False


def _make_writable(path: Path) -> None:
    with contextlib.suppress(OSError):
        os.chmod(path, path.stat().st_mode | stat.S_IWRITE)


def replace_with_retry(
    tmp: Path,
    path: Path,
    *,
    system: str | None = None,
    replace: Callable[[Path, Path], None] = os.replace,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """``os.replace(tmp, path)``; on Windows, retried on WinError 5/32, and a read-only
    ``path`` (whose flag copymode also gave ``tmp``) is replaced all the same and stays
    read-only afterwards: Windows refuses to replace a read-only file."""
    windows = (system or ("windows" if os.name == "nt" else "posix")) == "windows"
    if not windows:
        replace(tmp, path)
        return
    read_only = _is_read_only(path)
    if read_only:
        _make_writable(path)
    _make_writable(tmp)
    try:
        for delay in (*REPLACE_DELAYS, None):
            try:
                replace(tmp, path)
                break
            except PermissionError as exc:
                if delay is None or getattr(exc, "winerror", None) not in _RETRY_WINERRORS:
                    raise
                sleep(delay)
    except BaseException:
        if read_only:  # put the flag back on the untouched original
            with contextlib.suppress(OSError):
                os.chmod(path, path.stat().st_mode & ~stat.S_IWRITE)
        raise
    if read_only:
        with contextlib.suppress(OSError):
            os.chmod(path, path.stat().st_mode & ~stat.S_IWRITE)


def atomic_write_bytes(
    path: Path, data: bytes, *, backup: bool = True, mode: int | None = None
) -> Path | None:
    """Replace ``path`` with ``data`` atomically. Returns the backup's path (or None)."""
    path = Path(path)
    directory = path.parent
    directory.mkdir(parents=True, exist_ok=True)
    existed = path.exists()
    backup_file = make_backup(path) if backup and existed else None
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if existed:
            shutil.copymode(path, tmp)
            _copy_owner(path, tmp)
        if mode is not None:
            os.chmod(tmp, mode)
        replace_with_retry(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(directory)
    return backup_file


def append_line(path: Path, line: str) -> None:
    """Append one line (JSONL records): O_APPEND keeps concurrent writers from interleaving."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = (line.rstrip("\n") + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
