"""Throwaway PostgreSQL clusters on loopback: find the server binaries, initdb, start, stop.

STANDARD LIBRARY ONLY, and no other wizard import at module level: a system python running as
a non-root user (e.g. the ``postgres`` OS user, which cannot read the repo or the venv) must be
able to execute a copy of this file on its own.

When the process is root, every server binary runs as the cluster owner OS user through
``runuser -u <user> --`` (initdb, pg_ctl and postgres refuse to run as root). Passwords never
travel in argv: initdb reads a 0600 ``--pwfile`` that is removed right after.
"""

from __future__ import annotations

import base64
import glob
import hashlib
import hmac
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from wizard.i18n import Message

__all__ = [
    "DEFAULT_OS_USER",
    "ENV_PG_BIN",
    "ENV_PG_BIN_DW",
    "ENV_PG_BIN_SUPABASE",
    "Cluster",
    "ClusterError",
    "PgBinaries",
    "find_pg_binaries",
    "free_loopback_port",
    "is_root",
    "scram_sha256_verifier",
    "set_conf_line",
]

ENV_PG_BIN = "FDW_WIZARD_PG_BIN"
# Separate server binaries for the two clusters of the test bed / sandbox: production pairs a
# DW on EDB's major (16) with a Supabase project on 15 or 17. Each falls back to ENV_PG_BIN.
ENV_PG_BIN_DW = "FDW_WIZARD_PG_BIN_DW"
ENV_PG_BIN_SUPABASE = "FDW_WIZARD_PG_BIN_SUPABASE"
ROLE_ENV = {"dw": ENV_PG_BIN_DW, "supabase": ENV_PG_BIN_SUPABASE}
DEFAULT_OS_USER = "postgres"
SERVER_TOOLS = ("initdb", "pg_ctl", "postgres")
IS_WINDOWS = sys.platform == "win32"

# English text of every key this module raises. Must equal wizard/i18n/en/testbed.json (a test
# checks it): the copy exists so that str(error) works where wizard.i18n cannot be imported.
_EN: dict[str, str] = {
    "testbed.binaries_not_found": (
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found. Searched: "
        "{searched}. Fix: on Debian/Ubuntu run `apt-get install postgresql`; on Windows install "
        "PostgreSQL with the EDB installer (https://www.enterprisedb.com/downloads/"
        "postgres-postgresql-downloads); or set FDW_WIZARD_PG_BIN to the folder that holds them."
    ),
    "testbed.os_user_missing": (
        "The OS user '{user}' that must own the cluster does not exist. Running as root, the "
        "server cannot run as root: create that user (Debian: `apt-get install postgresql` "
        "creates 'postgres') or run as a normal user."
    ),
    "testbed.runuser_missing": (
        "Running as root but `runuser` was not found, so the server cannot be started as the "
        "OS user '{user}'. Install util-linux or run as a normal user."
    ),
    "testbed.dir_not_traversable": (
        "The OS user '{user}' cannot reach {directory} (needed for the data directory "
        "{data_dir}). Fix: choose a data directory under /tmp, or make every parent directory "
        "traversable for that user (e.g. `chmod o+x {directory}`)."
    ),
    "testbed.initdb_failed": ("initdb failed for the data directory {data_dir}. Output:\n{output}"),
    "testbed.start_failed": (
        "The PostgreSQL server in {data_dir} did not start on port {port}. Last lines of the "
        "server log:\n{log}"
    ),
    "testbed.command_failed": (
        "The command `{command}` failed (exit code {code}). Output:\n{output}"
    ),
    "testbed.setup_failed": "Preparing the {cluster} cluster failed at step '{step}': {error}",
}


class ClusterError(RuntimeError):
    """An operator-facing failure. ``str()`` is the English text; ``.message`` the i18n Message."""

    def __init__(self, key: str, **params: Any) -> None:
        self.key = key
        self.params: dict[str, Any] = {k: str(v) for k, v in params.items()}
        super().__init__(_EN.get(key, key).format(**self.params))

    @property
    def message(self) -> Message:
        try:
            from wizard.i18n import Message as _Message
        except ImportError:  # running as a standalone copy: a duck-typed stand-in
            return cast("Message", _PlainMessage(self.key, self.params))
        return _Message(self.key, dict(self.params))


@dataclass(frozen=True)
class _PlainMessage:
    key: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def render(self, lang: str | None = None) -> str:
        return _EN.get(self.key, self.key).format(**self.params)


def is_root() -> bool:
    return not IS_WINDOWS and os.geteuid() == 0


def _current_user() -> str | None:
    """This process's OS user name (POSIX), None when unknown."""
    if IS_WINDOWS:
        return None
    import pwd

    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return None


def _exe(name: str) -> str:
    return name + ".exe" if IS_WINDOWS else name


# --------------------------------------------------------------------------------------------
# Binaries


@dataclass(frozen=True)
class PgBinaries:
    bin_dir: Path
    major: int

    def tool(self, name: str) -> Path:
        return self.bin_dir / _exe(name)

    def to_json(self) -> dict[str, Any]:
        return {"bin_dir": str(self.bin_dir), "major": self.major}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PgBinaries:
        return cls(Path(data["bin_dir"]), int(data["major"]))


def _holds_server_tools(bin_dir: Path) -> bool:
    return all((bin_dir / _exe(name)).is_file() for name in SERVER_TOOLS)


def _major_version(bin_dir: Path) -> int | None:
    try:
        out = subprocess.run(
            [str(bin_dir / _exe("pg_ctl")), "--version"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        ).stdout
    except OSError:
        return None
    found = re.search(r"\(PostgreSQL\)\s+(\d+)", out)
    return int(found.group(1)) if found else None


def _version_key(path: str) -> tuple[int, ...]:
    # "/usr/lib/postgresql/15/bin" -> (15,); "C:\...\PostgreSQL\9.6\bin" -> (9, 6)
    name = Path(path).parent.name
    return tuple(int(p) for p in re.findall(r"\d+", name)) or (0,)


def _candidates(preferred: Path | None, role: str = "dw") -> list[Path]:
    found: list[Path] = []
    if preferred is not None:
        found += [preferred, preferred / "bin"]
    for name in (ROLE_ENV.get(role), ENV_PG_BIN):
        env = os.environ.get(name) if name else None
        if env:
            found += [Path(env), Path(env) / "bin"]
    for name in ("postgres", "initdb"):
        on_path = shutil.which(name)
        if on_path:
            # Resolve symlinks (/usr/local/bin/initdb -> /usr/lib/postgresql/15/bin/initdb).
            found.append(Path(on_path).resolve().parent)
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            bindir = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=30, check=False
            ).stdout.strip()
        except OSError:
            bindir = ""
        if bindir:
            found.append(Path(bindir))
    patterns = ["/usr/lib/postgresql/*/bin", "/usr/pgsql-*/bin"]
    if IS_WINDOWS:
        roots = {os.environ.get("PROGRAMFILES", r"C:\Program Files"), r"C:\Program Files"}
        patterns = [str(Path(root) / "PostgreSQL" / "*" / "bin") for root in sorted(roots)]
    for pattern in patterns:
        found += [Path(p) for p in sorted(glob.glob(pattern), key=_version_key, reverse=True)]
    unique: list[Path] = []
    for path in found:
        if path not in unique:
            unique.append(path)
    return unique


def find_pg_binaries(
    preferred: Path | None = None, *, role: str = "dw", major: int | None = None
) -> PgBinaries:
    """The first directory holding initdb, pg_ctl and postgres, in the documented search order:
    ``preferred``, the role's variable ($FDW_WIZARD_PG_BIN_DW for the DW — the default — or
    $FDW_WIZARD_PG_BIN_SUPABASE for the Supabase-like cluster), $FDW_WIZARD_PG_BIN, PATH,
    ``pg_config --bindir``, Debian/RHEL package dirs, the EDB installer's folders on Windows
    (highest version first). With ``major``: the first of that major, else the first found."""
    candidates = _candidates(preferred, role)
    first: PgBinaries | None = None
    for bin_dir in candidates:
        if _holds_server_tools(bin_dir):
            found = _major_version(bin_dir)
            if found is not None:
                if major is None or found == major:
                    return PgBinaries(bin_dir, found)
                first = first or PgBinaries(bin_dir, found)
    if first is not None:
        return first
    searched = ", ".join(str(p) for p in candidates) or "PATH"
    raise ClusterError("testbed.binaries_not_found", searched=searched)


def free_loopback_port() -> int:
    """A TCP port currently free on 127.0.0.1 (and on ::1 when IPv6 is available)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if _free_on_ipv6(port):
            return port
    return port


def _free_on_ipv6(port: int) -> bool:
    # 'localhost' listens on ::1 too: a port taken there would fail the start.
    if not socket.has_ipv6:
        return True
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
            sock.bind(("::1", port))
    except OSError as exc:
        return exc.errno not in (98, 10048)  # EADDRINUSE (Linux) / WSAEADDRINUSE
    return True


def scram_sha256_verifier(password: str, iterations: int = 4096) -> str:
    """The SCRAM-SHA-256 verifier PostgreSQL stores for ``password`` (RFC 5802/7677).

    ``ALTER ROLE ... PASSWORD '<verifier>'`` sets a password without the clear text ever
    reaching the server (nor its log, should the statement fail)."""
    # PostgreSQL applies SASLprep; NFKC covers what matters for non-ASCII input.
    normalized = password if password.isascii() else unicodedata.normalize("NFKC", password)
    salt = os.urandom(16)
    salted = hashlib.pbkdf2_hmac("sha256", normalized.encode("utf-8"), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()

    def b64(raw: bytes) -> str:
        return base64.b64encode(raw).decode("ascii")

    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


# --------------------------------------------------------------------------------------------
# postgresql.conf / pg_hba.conf as an installer writes them


def set_conf_line(text: str, name: str, value: str) -> str:
    """Set ``name = value`` in postgresql.conf text the way installers do: rewrite the active
    line if there is one (the last wins when PostgreSQL reads the file), else turn the commented
    default (``#name = ...``) into a real line keeping its trailing comment, else append."""
    key = re.escape(name)
    active = list(re.finditer(rf"(?m)^[ \t]*{key}[ \t]*=[^\n]*$", text))
    commented = re.search(rf"(?m)^[ \t]*#[ \t]*{key}[ \t]*=[^\n]*$", text)
    target = active[-1] if active else commented
    if target is None:
        sep = "" if text.endswith("\n") or not text else "\n"
        return f"{text}{sep}{name} = {value}\n"
    comment = re.search(r"(\s+#.*)$", target.group(0).lstrip().lstrip("#"))
    line = f"{name} = {value}{comment.group(1) if comment else ''}"
    return text[: target.start()] + line + text[target.end() :]


def _hba_text() -> str:
    lines = [
        "# PostgreSQL Client Authentication Configuration File",
        "# (as a fresh installer leaves it: loopback only, scram-sha-256)",
        "#",
        "# TYPE  DATABASE        USER            ADDRESS                 METHOD",
        "",
    ]
    if not IS_WINDOWS:
        lines.append(
            "local   all             all                                     scram-sha-256"
        )
    lines += [
        "host    all             all             127.0.0.1/32            scram-sha-256",
        "host    all             all             ::1/128                 scram-sha-256",
    ]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------
# Cluster


@dataclass
class Cluster:
    """One data directory and the server that runs on it (TCP on loopback only)."""

    data_dir: Path
    port: int
    bins: PgBinaries
    os_user: str | None = None
    superuser: str = "postgres"
    listen_addresses: str = "localhost"

    # -- who runs the binaries ---------------------------------------------------------------

    @property
    def owner(self) -> str | None:
        """The OS user the server binaries run as; None means "this process"."""
        if not is_root():
            return None
        return self.os_user or DEFAULT_OS_USER

    @property
    def startup_log(self) -> Path:
        # What the server prints before its logging collector takes over.
        return self.data_dir / "pg_ctl.log"

    def _owner_ids(self) -> tuple[int, int]:
        import pwd  # POSIX only; only reached when root

        try:
            entry = pwd.getpwnam(self.owner or DEFAULT_OS_USER)
        except KeyError:
            raise ClusterError("testbed.os_user_missing", user=self.owner) from None
        return entry.pw_uid, entry.pw_gid

    def _wrap(self, argv: Sequence[str]) -> list[str]:
        owner = self.owner
        if owner is None or owner == _current_user():
            # Nobody to switch to (as an elevated administrator on Windows): run as we are.
            return [str(a) for a in argv]
        runuser = shutil.which("runuser") or (
            "/usr/sbin/runuser" if Path("/usr/sbin/runuser").exists() else None
        )
        if runuser is None:
            raise ClusterError("testbed.runuser_missing", user=owner)
        return [runuser, "-u", owner, "--", *(str(a) for a in argv)]

    def run_as_owner(
        self,
        argv: Sequence[str | Path],
        *,
        check: bool = False,
        timeout: float | None = 120,
        input_text: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run a command as the cluster owner (directly when not root). Output is captured."""
        full_env = dict(os.environ)
        full_env.update(env or {})
        # Messages in English whatever the machine's locale: they are parsed and shown as-is.
        full_env["LC_MESSAGES"] = "C"
        full_env.pop("PGPASSWORD", None)
        cmd = self._wrap([str(a) for a in argv])
        # A cwd the owner can enter (the invoking user's cwd may be /root).
        cwd = "/" if self.owner is not None and not IS_WINDOWS else None
        # Windows: no console of its own to share with the TUI (CREATE_NO_WINDOW).
        flags = 0x08000000 if IS_WINDOWS else 0
        proc = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            timeout=timeout,
            input=input_text,
            env=full_env,
            cwd=cwd,
            check=False,
            creationflags=flags,
        )
        if check and proc.returncode != 0:
            raise ClusterError(
                "testbed.command_failed",
                command=" ".join(str(a) for a in argv),
                code=proc.returncode,
                output=(proc.stdout + proc.stderr).strip()[-4000:],
            )
        return proc

    def pg_ctl(
        self, *args: str, check: bool = False, timeout: float | None = 120
    ) -> subprocess.CompletedProcess[str]:
        return self.run_as_owner(
            [self.bins.tool("pg_ctl"), "-D", self.data_dir, *args], check=check, timeout=timeout
        )

    # -- creation ----------------------------------------------------------------------------

    def _check_traversable(self) -> None:
        """Root only: the owner must reach the data dir, or initdb fails with a vague error."""
        parents = list(reversed(self.data_dir.absolute().parents))
        probe = ["test"]
        for i, parent in enumerate(parents):
            probe += (["-a"] if i else []) + ["-x", str(parent)]
        if self.run_as_owner(probe, timeout=30).returncode == 0:
            return
        for parent in parents:
            if self.run_as_owner(["test", "-x", str(parent)], timeout=30).returncode != 0:
                raise ClusterError(
                    "testbed.dir_not_traversable",
                    user=self.owner,
                    directory=parent,
                    data_dir=self.data_dir,
                )

    def _prepare_data_dir(self) -> None:
        if self.owner is None:
            self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            return
        uid, gid = self._owner_ids()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        os.chown(self.data_dir, uid, gid)
        os.chmod(self.data_dir, 0o700)
        self._check_traversable()

    def _write_pwfile(self, password: str) -> Path:
        # Next to the data dir (initdb wants the data dir empty), readable by the owner only.
        path = self.data_dir.parent / f".{self.data_dir.name}.pwfile"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            if self.owner is not None:
                os.fchown(fd, *self._owner_ids())
            os.write(fd, (password + "\n").encode("utf-8"))
        finally:
            os.close(fd)
        return path

    def init(self, password: str, *, no_sync: bool = True) -> None:
        """initdb (scram everywhere, UTF8, superuser ``self.superuser``), then the settings a
        fresh installer leaves in postgresql.conf and pg_hba.conf."""
        self._prepare_data_dir()
        pwfile = self._write_pwfile(password)
        try:
            base: list[str | Path] = [
                self.bins.tool("initdb"),
                "-D",
                self.data_dir,
                "-U",
                self.superuser,
                f"--pwfile={pwfile}",
                "--auth=scram-sha-256",
                "-E",
                "UTF8",
            ]
            if no_sync:  # a throwaway cluster: skip the fsync of every file (seconds saved)
                base.append("--no-sync")
            proc = self.run_as_owner([*base, "--locale=C.UTF-8"], timeout=300)
            if proc.returncode != 0 and "locale" in (proc.stdout + proc.stderr).lower():
                self._empty_data_dir()
                proc = self.run_as_owner([*base, "--no-locale"], timeout=300)
        finally:
            pwfile.unlink(missing_ok=True)
        if proc.returncode != 0:
            raise ClusterError(
                "testbed.initdb_failed",
                data_dir=self.data_dir,
                output=(proc.stdout + proc.stderr).strip()[-4000:],
            )
        self.write_settings()

    def _empty_data_dir(self) -> None:
        if self.data_dir.exists():
            for child in self.data_dir.iterdir():
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child)
                else:
                    child.unlink()

    @property
    def conf_path(self) -> Path:
        return self.data_dir / "postgresql.conf"

    @property
    def hba_path(self) -> Path:
        return self.data_dir / "pg_hba.conf"

    def write_settings(self) -> None:
        """listen_addresses/port and friends INTO postgresql.conf (tools that later edit the
        file and restart must see the effect), and the fresh-install pg_hba.conf."""
        text = self.conf_path.read_text(encoding="utf-8")
        settings = {
            "listen_addresses": f"'{self.listen_addresses}'",
            "port": str(self.port),
            # TCP only: socket paths under long temp dirs overflow, root-owned ones are unreachable.
            "unix_socket_directories": "''",
            "logging_collector": "on",  # like the EDB installer
            "log_directory": "'log'",
            "shared_buffers": "32MB",
            "max_connections": "50",
        }
        for name, value in settings.items():
            text = set_conf_line(text, name, value)
        self._write_owned(self.conf_path, text)
        self._write_owned(self.hba_path, _hba_text())

    def _write_owned(self, path: Path, text: str) -> None:
        path.write_text(text, encoding="utf-8")
        if self.owner is not None:
            os.chown(path, *self._owner_ids())
        os.chmod(path, 0o600)

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self, timeout: int = 60) -> None:
        self._bring_up("start", timeout)

    def stop(self, mode: str = "fast", timeout: int = 60) -> None:
        if not self.is_running():
            return
        self.pg_ctl("-m", mode, "-w", "-t", str(timeout), "stop", check=True, timeout=timeout + 30)

    def restart(self, timeout: int = 60) -> None:
        self._bring_up("restart", timeout, "-m", "fast")

    def _bring_up(self, action: str, timeout: int, *options: str) -> None:
        """``pg_ctl start`` or ``restart``, waiting; a server that is not up after it raises
        with the end of its log (or pg_ctl's output when the log is empty)."""
        proc = self.pg_ctl(
            "-l",
            str(self.startup_log),
            *options,
            "-w",
            "-t",
            str(timeout),
            action,
            timeout=timeout + 30,
        )
        if proc.returncode != 0 or not self.is_running():
            raise ClusterError(
                "testbed.start_failed",
                data_dir=self.data_dir,
                port=self.port,
                log=(self.log_text(4000) or (proc.stdout + proc.stderr)).strip(),
            )

    def reload(self) -> None:
        self.pg_ctl("reload", check=True)

    def is_running(self) -> bool:
        if not (self.data_dir / "PG_VERSION").exists():
            return False
        return self.pg_ctl("status", timeout=30).returncode == 0

    def remove(self) -> None:
        """Stop (if running) and delete the data directory."""
        self.stop(mode="immediate")
        shutil.rmtree(self.data_dir, ignore_errors=True)

    # -- diagnostics -------------------------------------------------------------------------

    def log_text(self, tail_bytes: int = 8000) -> str:
        """Tail of the newest server log (log/ of the logging collector), else of pg_ctl's."""
        files: list[Path] = []
        log_dir = self.data_dir / "log"
        if log_dir.is_dir():
            files = [p for p in log_dir.iterdir() if p.is_file()]
        files.sort(key=lambda p: p.stat().st_mtime)
        chosen: list[Path] = files[-1:]
        if self.startup_log.exists() and self.startup_log.stat().st_size > 0:
            chosen.insert(0, self.startup_log)
        parts: list[str] = []
        for path in chosen:
            with path.open("rb") as fh:
                size = path.stat().st_size
                fh.seek(max(0, size - tail_bytes))
                parts.append(fh.read().decode("utf-8", errors="replace"))
        return "\n".join(parts)[-tail_bytes:]

    # -- connecting --------------------------------------------------------------------------

    def conninfo(
        self, user: str | None = None, password: str | None = None, dbname: str = "postgres"
    ) -> dict[str, Any]:
        """libpq keyword arguments (e.g. for ``psycopg.connect(**info)``)."""
        info: dict[str, Any] = {
            "host": "127.0.0.1",
            "port": self.port,
            "user": user or self.superuser,
            "dbname": dbname,
            "connect_timeout": 10,
        }
        if password is not None:
            info["password"] = password
        return info

    # -- persistence -------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "data_dir": str(self.data_dir),
            "port": self.port,
            "bins": self.bins.to_json(),
            "os_user": self.os_user,
            "superuser": self.superuser,
            "listen_addresses": self.listen_addresses,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Cluster:
        return cls(
            data_dir=Path(data["data_dir"]),
            port=int(data["port"]),
            bins=PgBinaries.from_json(data["bins"]),
            os_user=data.get("os_user"),
            superuser=str(data.get("superuser", "postgres")),
            listen_addresses=str(data.get("listen_addresses", "localhost")),
        )

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2)
