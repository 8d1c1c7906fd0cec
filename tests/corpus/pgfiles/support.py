"""Test helpers shared by tests/test_pgfiles_*.py: the corpus and a throwaway TLS cluster.

The clusters here are private to the pgfiles tests (the session test bed's files are never
touched). Corpus files are swapped into the data directory only for the duration of a ``with``
block and only judged through pg_file_settings / pg_hba_file_rules / ``postgres -C``: the server
is never reloaded with a corpus file unless a test says so and restores the original first.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg

from wizard.dwhost.pgfiles.postgresql_conf import ConfFile
from wizard.testbed.pgcluster import Cluster, PgBinaries, free_loopback_port

HERE = Path(__file__).resolve().parent
PASSWORD = "pgfiles-test-pw"


def _tempdir(prefix: str) -> Path:
    """A dir under /tmp the cluster owner OS user can traverse (the tests may run as root)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    return path


def corpus(name: str) -> bytes:
    return (HERE / name).read_bytes()


def _own(cluster: Cluster, path: Path, mode: int = 0o600) -> None:
    if cluster.owner is not None:
        import pwd

        entry = pwd.getpwnam(cluster.owner)
        os.chown(path, entry.pw_uid, entry.pw_gid)
    os.chmod(path, mode)


def put(cluster: Cluster, relative: str, data: bytes) -> Path:
    """Write a file into the data directory, owned by the cluster owner."""
    path = cluster.data_dir / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.parent != cluster.data_dir:
        _own(cluster, path.parent, 0o700)
    path.write_bytes(data)
    _own(cluster, path)
    return path


@contextlib.contextmanager
def swapped(cluster: Cluster, files: dict[str, bytes]) -> Iterator[None]:
    """Put ``files`` into the data directory; put the originals back afterwards."""
    saved: dict[Path, bytes | None] = {}
    for relative in files:
        path = cluster.data_dir / relative
        saved[path] = path.read_bytes() if path.exists() else None
    try:
        for relative, data in files.items():
            put(cluster, relative, data)
        yield
    finally:
        for path, data in saved.items():
            if data is None:
                path.unlink(missing_ok=True)
            else:
                path.write_bytes(data)


@contextlib.contextmanager
def tls_cluster(bins: PgBinaries, prefix: str) -> Iterator[Cluster]:
    """A fresh cluster with ssl = on (self-signed certificate), started, removed afterwards."""
    base = _tempdir(prefix)
    cluster = Cluster(base / "data", free_loopback_port(), bins)
    try:
        cluster.init(PASSWORD)
        subprocess.run(
            [
                "openssl", "req", "-new", "-x509", "-days", "2", "-nodes", "-subj",
                "/CN=localhost", "-newkey", "rsa:2048",
                "-keyout", str(cluster.data_dir / "server.key"),
                "-out", str(cluster.data_dir / "server.crt"),
            ],
            check=True,
            capture_output=True,
        )  # fmt: skip
        _own(cluster, cluster.data_dir / "server.key")
        _own(cluster, cluster.data_dir / "server.crt")
        conf = ConfFile.read(cluster.conf_path).set("ssl", "on")
        cluster.conf_path.write_bytes(conf.to_bytes())
        cluster.start()
        yield cluster
    finally:
        try:
            cluster.remove()
        finally:
            shutil.rmtree(base, ignore_errors=True)


def connect(cluster: Cluster, **extra: Any) -> psycopg.Connection[Any]:
    info = cluster.conninfo(password=PASSWORD)
    info.update(extra)
    return psycopg.connect(**info, autocommit=True)
