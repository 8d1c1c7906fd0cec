"""The run journal: what a run is about to change, written down before it changes it.

Before the first change a run makes to a file (postgresql.conf, an included file,
postgresql.auto.conf, pg_hba.conf, a certificate or key it generates), the journal keeps a copy
of the file's bytes as they were before the run (or notes that it did not exist), fsynced,
before the change happens. Before a restart it notes that a restart is under way. A run that
ends (well or badly) marks the journal finished; a run that dies leaves it "running", and the
next run — which holds the run lock, so the writer is surely dead — finds it and offers to
finish it or to put every file back as it was before that run.

One journal per config file, in the wizard's data dir; never a secret in it (it holds the
server's own files, which the server already keeps on disk, with the same permissions: 0600).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from wizard import paths
from wizard.fileio import atomic_write_bytes

RUNNING = "running"
FINISHED = "finished"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class JournalFile:
    """One file the run changed: where its pre-run bytes are kept (``copy`` None: it did
    not exist before the run)."""

    path: str
    copy: str | None
    sha256: str | None

    def pre_run_bytes(self, folder: Path) -> bytes | None:
        if self.copy is None:
            return None
        return (folder / self.copy).read_bytes()


@dataclass
class RunRecord:
    run_id: str
    pid: int
    host: str
    command: str
    started_at: str
    status: str = RUNNING
    phase: str | None = None  # e.g. "restart": the server may be down on new files
    phase_data: dict[str, Any] = field(default_factory=dict)
    steps: list[str] = field(default_factory=list)
    files: list[JournalFile] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_json(data: dict[str, Any]) -> RunRecord:
        return RunRecord(
            run_id=str(data["run_id"]),
            pid=int(data["pid"]),
            host=str(data.get("host", "")),
            command=str(data.get("command", "")),
            started_at=str(data.get("started_at", "")),
            status=str(data.get("status", RUNNING)),
            phase=data.get("phase"),
            phase_data=dict(data.get("phase_data") or {}),
            steps=list(data.get("steps") or []),
            files=[JournalFile(**f) for f in data.get("files") or []],
        )


class RunJournal:
    """The journal of one config's runs. ``current`` is this process's run once begun."""

    def __init__(self, config_path: Path, folder: Path | None = None) -> None:
        self.folder = folder or (paths.data_dir() / "journal" / paths.config_key(config_path))
        self.current: RunRecord | None = None
        self._keep = False

    @property
    def record_path(self) -> Path:
        return self.folder / "run.json"

    # -- reading -------------------------------------------------------------------------------

    def load(self) -> RunRecord | None:
        try:
            return RunRecord.from_json(json.loads(self.record_path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError):
            return None  # a torn journal cannot be trusted to restore anything

    def interrupted(self) -> RunRecord | None:
        """A run that began and never finished (call while holding the run lock)."""
        record = self.load()
        if record is None or record.status != RUNNING:
            return None
        if self.current is not None and record.run_id == self.current.run_id:
            return None
        return record

    # -- writing -------------------------------------------------------------------------------

    def _save(self, record: RunRecord) -> None:
        data = json.dumps(record.to_json(), indent=2, ensure_ascii=False).encode("utf-8")
        atomic_write_bytes(self.record_path, data, backup=False, mode=0o600)

    def begin(self, command: str, steps: list[str], *, adopt: RunRecord | None = None) -> None:
        """Start this run's record. ``adopt``: an interrupted run this one finishes — its
        pre-run copies stay the ones to restore, since they are older than ours."""
        started = _now()
        run_id = f"{started.replace(':', '')}-{os.getpid()}"
        record = RunRecord(run_id, os.getpid(), socket.gethostname(), command, started)
        record.steps = list(steps)
        self._keep = False
        if adopt is not None:
            record.files = list(adopt.files)
            record.steps = sorted(set(adopt.steps) | set(steps))
        else:
            self._drop_copies()
        self.current = record
        self._save(record)

    def before_change(self, path: Path) -> None:
        """Keep ``path``'s pre-run bytes, once per run, durably, before anyone changes it."""
        record = self.current
        if record is None:
            return
        text = str(Path(path))
        if any(f.path == text for f in record.files):
            return
        copies = self.folder / "copies"
        copies.mkdir(parents=True, exist_ok=True)
        try:
            data = Path(path).read_bytes()
        except FileNotFoundError:
            record.files.append(JournalFile(text, None, None))
        else:
            name = f"{len(record.files):03d}-{Path(path).name}"
            atomic_write_bytes(copies / name, data, backup=False, mode=0o600)
            record.files.append(JournalFile(text, name, _sha(data)))
        self._save(record)

    def set_phase(self, phase: str | None, **data: Any) -> None:
        record = self.current
        if record is None:
            return
        record.phase = phase
        record.phase_data = dict(data)
        self._save(record)

    def keep_for_recovery(self) -> None:
        """This run ends with something left to recover (the server down, files to put
        back): leave the record open, so the next run offers "finish" or "restore"."""
        self._keep = True

    def finish(self) -> None:
        record = self.current
        if record is None:
            return
        if not self._keep:
            record.status = FINISHED
            record.phase = None
        self._save(record)
        self.current = None
        self._keep = False

    def _drop_copies(self) -> None:
        copies = self.folder / "copies"
        if copies.is_dir():
            for item in copies.iterdir():
                with contextlib.suppress(OSError):
                    item.unlink()

    # -- restoring -----------------------------------------------------------------------------

    def pre_run(self, record: RunRecord | None = None) -> dict[Path, bytes | None]:
        """Every file the run changed -> its bytes before the run (None: it did not exist)."""
        record = record or self.current
        if record is None:
            return {}
        return {Path(f.path): f.pre_run_bytes(self.folder / "copies") for f in record.files}


def put_back(files: dict[Path, bytes | None]) -> list[str]:
    """Write each file's given bytes (None: remove it); returns the paths that changed."""
    changed = []
    for path, data in files.items():
        current = path.read_bytes() if path.exists() else None
        if current == data:
            continue
        if data is None:
            path.unlink(missing_ok=True)
        else:
            atomic_write_bytes(path, data, backup=False)
        changed.append(str(path))
    return changed
