"""Let PostgreSQL judge an edited postgresql.conf / pg_hba.conf before it takes effect.

- ``pg_file_settings`` and ``pg_hba_file_rules`` re-read the files on every query, before any
  reload: an error there means the edit must not be reloaded (a bad pg_hba line is ignored on
  reload, yet FATAL at the next start; an unknown parameter means NOTHING in the file applies).
- ``postgres -C param -D DIR`` reads postgresql.conf (and its includes and
  postgresql.auto.conf) without starting a server: exit 1 + FATAL on a bad file or value. It
  does NOT read pg_hba.conf, does not open the certificate or key and does not bind the port:
  those are judged by ``pg_hba_file_rules``, by the TLS step's own file checks and by a real
  login after the restart.
- ``-C`` must be the FIRST argument: postgres refuses root (Linux) and an administrator token
  (Windows: "Execution of PostgreSQL by a user with administrative permissions is not
  permitted") unless argv[1] is ``-C`` (src/backend/main/main.c). On Windows the elevated wizard
  has no owner to switch to, so the order is what makes the check work at all.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wizard.errors import StepError
from wizard.i18n import Message
from wizard.testbed.pgcluster import Cluster, PgBinaries

if TYPE_CHECKING:
    import psycopg

__all__ = [
    "RESTART_NEEDED",
    "FileSetting",
    "HbaFileRule",
    "NotApplied",
    "PostgresCheckFailed",
    "conf_errors",
    "file_settings",
    "hba_errors",
    "hba_rules",
    "not_applied",
    "postgres_check",
    "postgres_check_argv",
]

# The error pg_file_settings shows for a changed postmaster-context setting (port,
# listen_addresses, ...) until the server restarts: pending, not broken.
RESTART_NEEDED = "setting could not be applied"
_REMOVED_NEEDS_RESTART = re.compile(
    r'parameter ".+" cannot be changed without restarting the server'
)


@dataclass(frozen=True)
class FileSetting:
    """One row of pg_file_settings."""

    sourcefile: str | None
    sourceline: int | None
    seqno: int | None
    name: str | None
    setting: str | None
    applied: bool
    error: str | None
    context: str | None = None  # pg_settings.context of the name (postmaster, sighup, ...)

    @property
    def needs_restart_only(self) -> bool:
        """True when the only problem is that the server must restart to use the value."""
        if self.error == RESTART_NEEDED and self.context == "postmaster":
            return True
        # A postmaster setting REMOVED from the file (back to its default) shows up as a row
        # with no name and this text.
        return bool(self.error and _REMOVED_NEEDS_RESTART.fullmatch(self.error))


@dataclass(frozen=True)
class NotApplied:
    """A setting whose last line in the file is not the one in force, and what wins instead."""

    row: FileSetting
    winner: FileSetting | None


@dataclass(frozen=True)
class HbaFileRule:
    """One row of pg_hba_file_rules (PG15 columns; PG16 adds rule_number and file_name)."""

    line_number: int | None
    type: str | None
    database: list[str] | None
    user_name: list[str] | None
    address: str | None
    netmask: str | None
    auth_method: str | None
    options: list[str] | None
    error: str | None
    rule_number: int | None = None
    file_name: str | None = None


class PostgresCheckFailed(StepError):
    """``postgres -C`` rejected the configuration."""

    def __init__(self, param: str, data_dir: Path, code: int, output: str) -> None:
        self.code = code
        self.output = output
        params = {"param": param, "data_dir": str(data_dir), "code": code, "output": output}
        super().__init__(
            Message("pgfiles.err.postgres_check", params),
            Message("pgfiles.err.postgres_check.fix", params),
        )


def _rows(
    conn: psycopg.Connection[Any], sql: str, params: Sequence[Any] = ()
) -> list[dict[str, Any]]:
    with conn.cursor() as cur:
        cur.execute(sql, params)  # type: ignore[arg-type]
        names = [d.name for d in cur.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def file_settings(conn: psycopg.Connection[Any]) -> list[FileSetting]:
    """Every row of pg_file_settings (read from disk now), with each name's context."""
    rows = _rows(
        conn,
        "SELECT f.sourcefile, f.sourceline, f.seqno, f.name, f.setting, f.applied, f.error,"
        " s.context FROM pg_catalog.pg_file_settings f"
        " LEFT JOIN pg_catalog.pg_settings s ON s.name = lower(f.name) ORDER BY f.seqno",
    )
    return [
        FileSetting(
            sourcefile=r["sourcefile"],
            sourceline=r["sourceline"],
            seqno=r["seqno"],
            name=r["name"],
            setting=r["setting"],
            applied=bool(r["applied"]),
            error=r["error"],
            context=r["context"],
        )
        for r in rows
    ]


def conf_errors(
    conn: psycopg.Connection[Any], *, include_pending_restart: bool = True
) -> list[FileSetting]:
    """Rows with an error. Any real error (syntax, unknown parameter, bad value) means the
    files would not be applied as a whole. A changed postmaster setting shows "setting could not
    be applied" until a restart: see :attr:`FileSetting.needs_restart_only` or pass
    ``include_pending_restart=False`` to leave those out."""
    return [
        row
        for row in file_settings(conn)
        if row.error is not None and (include_pending_restart or not row.needs_restart_only)
    ]


def not_applied(
    conn: psycopg.Connection[Any], names: Iterable[str], *, sourcefile: str | Path | None = None
) -> list[NotApplied]:
    """For each name: its last line (in ``sourcefile`` when given, e.g. postgresql.conf) when
    that line is not applied — typically shadowed by postgresql.auto.conf (ALTER SYSTEM) or by
    a later line — with the row that wins, if any."""
    wanted = {n.lower() for n in names}
    # pg_file_settings keeps the spelling of the file ("PORT"); names are case-insensitive.
    rows = [(r.name.lower(), r) for r in file_settings(conn) if r.name and r.name.lower() in wanted]
    found: list[NotApplied] = []
    for name in sorted(wanted):
        mine = [
            r
            for key, r in rows
            if key == name and (sourcefile is None or r.sourcefile == str(sourcefile))
        ]
        if not mine or mine[-1].applied:
            continue
        winners = [r for key, r in rows if key == name and r.applied]
        found.append(NotApplied(mine[-1], winners[-1] if winners else None))
    return found


def hba_rules(conn: psycopg.Connection[Any]) -> list[HbaFileRule]:
    """Every row of pg_hba_file_rules (the file as it is on disk now)."""
    rows = _rows(conn, "SELECT * FROM pg_catalog.pg_hba_file_rules")
    return [
        HbaFileRule(
            line_number=r.get("line_number"),
            type=r.get("type"),
            database=r.get("database"),
            user_name=r.get("user_name"),
            address=r.get("address"),
            netmask=r.get("netmask"),
            auth_method=r.get("auth_method"),
            options=r.get("options"),
            error=r.get("error"),
            rule_number=r.get("rule_number"),
            file_name=r.get("file_name"),
        )
        for r in rows
    ]


def hba_errors(conn: psycopg.Connection[Any]) -> list[HbaFileRule]:
    """Lines PostgreSQL rejects; any of them makes the next start FATAL."""
    return [r for r in hba_rules(conn) if r.error is not None]


def postgres_check_argv(
    postgres: Path | str,
    data_dir: Path | str,
    param: str,
    config_file: Path | str | None = None,
) -> list[str]:
    """The argv of the check: ``-C`` first, or an elevated process is refused. A
    postgresql.conf outside the data dir (Debian: /etc/postgresql/VER/NAME) is named with
    ``-c config_file=``, as pg_ctlcluster starts the server."""
    argv = [str(postgres), "-C", param, "-D", str(data_dir)]
    if config_file is not None and Path(config_file) != Path(data_dir) / "postgresql.conf":
        argv += ["-c", f"config_file={config_file}"]
    return argv


def postgres_check(
    bins_dir: Path | str,
    data_dir: Path | str,
    param: str,
    run_as: str | None = None,
    config_file: Path | str | None = None,
) -> str:
    """``postgres -C param -D data_dir``: the value the server would use for ``param`` as read
    from postgresql.conf and its includes (not pg_hba.conf, not the certificate/key, not the
    bind), or :class:`PostgresCheckFailed` with the FATAL text.

    Runs as ``run_as`` (default ``postgres`` when we are root; this process otherwise). When
    ``run_as`` is this process's own user — ``root`` on Linux, or anyone on Windows where there
    is no user to switch to — it runs without switching, which only works because ``-C`` is the
    first argument (see the module docstring)."""
    runner = Cluster(
        data_dir=Path(data_dir), port=0, bins=PgBinaries(Path(bins_dir), 0), os_user=run_as
    )
    argv = postgres_check_argv(runner.bins.tool("postgres"), data_dir, param, config_file)
    proc = runner.run_as_owner(argv)
    if proc.returncode != 0:
        output = (proc.stderr + proc.stdout).strip()[-4000:]
        raise PostgresCheckFailed(param, Path(data_dir), proc.returncode, output)
    return proc.stdout.strip()
