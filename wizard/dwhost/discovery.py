"""What the local PostgreSQL says about itself, over the superuser connection."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# Settings whose running value and file value the Phase 1 steps compare.
MANAGED_SETTINGS = ("listen_addresses", "port", "ssl", "ssl_cert_file", "ssl_key_file")


@dataclass
class LocalFacts:
    version: str
    version_num: int
    data_directory: Path
    config_file: Path
    hba_file: Path
    password_encryption: str
    ssl: str
    server_encoding: str
    listen_addresses: str
    port: int
    ssl_cert_file: str
    ssl_key_file: str
    pending_restart: list[str] = field(default_factory=list)
    shadowed_by_auto_conf: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("data_directory", "config_file", "hba_file"):
            data[key] = str(data[key])
        return data

    def resolve(self, path_setting: str) -> Path:
        """A path setting as PostgreSQL reads it: relative paths are under the data dir."""
        path = Path(path_setting)
        return path if path.is_absolute() else self.data_directory / path


def _first_column(conn: Any, query: str) -> list[Any]:
    """The first column of every row ``query`` returns."""
    return [r[0] for r in conn.execute(query).fetchall()]


def discover_local(conn: Any) -> LocalFacts:
    names = (
        "server_version",
        "server_version_num",
        "data_directory",
        "config_file",
        "hba_file",
        "password_encryption",
        "ssl",
        "server_encoding",
        "listen_addresses",
        "port",
        "ssl_cert_file",
        "ssl_key_file",
    )
    rows = dict(
        conn.execute(
            "SELECT name, setting FROM pg_settings WHERE name = ANY(%s)", (list(names),)
        ).fetchall()
    )
    pending = _first_column(
        conn, "SELECT name FROM pg_settings WHERE pending_restart ORDER BY name"
    )
    shadowed = _first_column(
        conn,
        "SELECT DISTINCT name FROM pg_file_settings"
        " WHERE sourcefile LIKE '%%postgresql.auto.conf' ORDER BY name",
    )
    return LocalFacts(
        version=rows["server_version"],
        version_num=int(rows["server_version_num"]),
        data_directory=Path(rows["data_directory"]),
        config_file=Path(rows["config_file"]),
        hba_file=Path(rows["hba_file"]),
        password_encryption=rows["password_encryption"],
        ssl=rows["ssl"],
        server_encoding=rows["server_encoding"],
        listen_addresses=rows["listen_addresses"],
        port=int(rows["port"]),
        ssl_cert_file=rows["ssl_cert_file"],
        ssl_key_file=rows["ssl_key_file"],
        pending_restart=pending,
        shadowed_by_auto_conf=shadowed,
    )


def normalize_listen(value: str) -> list[str]:
    """'localhost, 127.0.0.1' and "'localhost','127.0.0.1'" compare equal."""
    return sorted(part.strip().strip("'\"") for part in value.split(",") if part.strip())
