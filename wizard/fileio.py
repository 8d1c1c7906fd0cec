"""Atomic file writes: a file the wizard touches is either the old one or the new one.

temp file in the same directory -> fsync -> os.replace -> fsync of the directory, keeping the
original's permissions and (when running as root) its owner, with a timestamped backup first.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
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
        os.replace(tmp, path)
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
