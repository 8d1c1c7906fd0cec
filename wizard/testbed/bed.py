"""The rehearsal sandbox and test bed: two throwaway PostgreSQL clusters on loopback.

* "local DW": database ``bluconecta_dw`` with the runbook's 18 tables (owned by the ETL role,
  sample data in the runbook's proportions), left as a fresh install leaves it: localhost only,
  scram on loopback, no TLS, no ``supabase_fdw_reader``.
* "Supabase-like": bootstrap superuser ``supabase_admin``, a non-superuser ``postgres``, the API
  roles and their timeouts, postgres_fdw usable by ``postgres``, Storage tables holding the
  runbook's fallback JSONs, and the operational ``public.clientes`` table.

Both clusters are built in parallel. Passwords are generated here and only returned in
:attr:`TestBed.passwords`; the JSON written by :meth:`TestBed.save` holds none.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import psycopg
from psycopg import sql

from sql_templates import load
from wizard import redact
from wizard.runbook import RUNBOOK_BUCKET, RUNBOOK_DATABASE, RUNBOOK_TABLES
from wizard.testbed.pgcluster import (
    ENV_PG_BIN_SUPABASE,
    Cluster,
    ClusterError,
    PgBinaries,
    find_pg_binaries,
    free_loopback_port,
    scram_sha256_verifier,
)

__all__ = [
    "BASE_JSON_BYTES",
    "BASE_ROWS",
    "DW_DATABASE",
    "DW_ETL_ROLE",
    "DW_SUPERUSER",
    "PASSWORD_KEYS",
    "SUPABASE_ADMIN",
    "SUPABASE_API_ROLES",
    "SUPABASE_DATABASE",
    "SUPABASE_OWNER",
    "Endpoint",
    "TestBed",
    "impersonate",
    "json_sizes",
    "row_counts",
    "start_testbed",
    "traversable_tempdir",
]

DW_DATABASE = RUNBOOK_DATABASE
DW_SUPERUSER = "postgres"
DW_ETL_ROLE = "etl_bluconecta"
SUPABASE_ADMIN = "supabase_admin"
SUPABASE_OWNER = "postgres"
SUPABASE_DATABASE = "postgres"
SUPABASE_API_ROLES = ("anon", "authenticated", "service_role")
PASSWORD_KEYS = ("dw-superuser", "dw-etl", "supabase-admin", "supabase-postgres")
# Per cluster: the roles the test bed logs in as -> their keys in PASSWORD_KEYS.
PASSWORD_ROLES: dict[str, dict[str, str]] = {
    "dw": {DW_SUPERUSER: "dw-superuser", DW_ETL_ROLE: "dw-etl"},
    "supabase": {SUPABASE_ADMIN: "supabase-admin", SUPABASE_OWNER: "supabase-postgres"},
}
FORMAT = "fdw-wizard-testbed/1"

# Rows at scale 1.0: dim_clientes and fat_faturamentos as measured in the field guide, the others
# in proportion to the runbook's size table and to a fleet-rental business.
BASE_ROWS: dict[str, int] = {
    "dim_clientes": 40_000,
    "dim_frota": 20_000,
    "dim_condutores": 15_000,
    "dim_fornecedores": 1_500,
    "dim_contratos_locacao": 10_000,
    "dim_itens_contrato": 25_000,
    "dim_regras_contrato": 800,
    "dim_veiculos_acessorios": 12_000,
    "fat_faturamentos": 100_000,
    "fat_detalhe_itens_os": 40_000,
    "fat_ocorrencias_master": 15_000,
    "fat_financeiro_universal": 50_000,
    "agg_dre_mensal": 5_760,  # 24 months x 10 branches x 24 accounts
    "fat_churn": 3_000,
    "fat_inadimplencia": 8_000,
    "fat_manutencao_unificado": 15_000,
    "fat_manutencao_completa": 12_000,
    "hist_vida_veiculo_timeline": 60_000,
}

# Size of each fallback JSON in Storage at scale 1.0 (the runbook's table: ~28 MB in total).
BASE_JSON_BYTES: dict[str, int] = {
    "dim_clientes": 4_400_000,
    "dim_frota": 2_000_000,
    "dim_condutores": 1_200_000,
    "dim_fornecedores": 150_000,
    "dim_contratos_locacao": 1_000_000,
    "dim_itens_contrato": 1_500_000,
    "dim_regras_contrato": 60_000,
    "dim_veiculos_acessorios": 1_100_000,
    "fat_faturamentos": 5_000_000,
    "fat_detalhe_itens_os": 2_000_000,
    "fat_ocorrencias_master": 1_500_000,
    "fat_financeiro_universal": 2_600_000,
    "agg_dre_mensal": 500_000,
    "fat_churn": 300_000,
    "fat_inadimplencia": 600_000,
    "fat_manutencao_unificado": 1_600_000,
    "fat_manutencao_completa": 1_400_000,
    "hist_vida_veiculo_timeline": 2_000_000,
}

# Share of Supabase's clientes rows that the old sync copied from dim_clientes.
BI_SHARE = 0.6


def row_counts(scale: float) -> dict[str, int]:
    """Rows per DW table at ``scale`` (at least one each)."""
    return {t: max(1, round(BASE_ROWS[t] * scale)) for t in RUNBOOK_TABLES}


def json_sizes(scale: float) -> dict[str, int]:
    """Bytes of each ``<table>.json`` in the bi-reports bucket at ``scale``."""
    return {t: max(2, round(BASE_JSON_BYTES[t] * scale)) for t in RUNBOOK_TABLES}


@dataclass
class Endpoint:
    """One cluster plus what it takes to log in to it (passwords shared with the TestBed)."""

    name: str
    cluster: Cluster
    dbname: str
    admin_user: str
    password_keys: dict[str, str]  # role -> key in TestBed.passwords
    passwords: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def port(self) -> int:
        return self.cluster.port

    def password(self, user: str) -> str:
        key = self.password_keys.get(user)
        if key is None or key not in self.passwords:
            raise KeyError(f"no password known for role {user!r} on the {self.name} cluster")
        return self.passwords[key]

    def conninfo(self, user: str | None = None, dbname: str | None = None) -> dict[str, Any]:
        user = user or self.admin_user
        return self.cluster.conninfo(user, self.password(user), dbname or self.dbname)

    def connect(
        self,
        user: str | None = None,
        dbname: str | None = None,
        *,
        autocommit: bool = True,
        **kwargs: Any,
    ) -> psycopg.Connection[Any]:
        info = self.conninfo(user, dbname)
        info.setdefault("application_name", "fdw-wizard-testbed")
        info.update(kwargs)
        return psycopg.connect(autocommit=autocommit, **info)

    def to_json(self) -> dict[str, Any]:
        return {
            "cluster": self.cluster.to_json(),
            "dbname": self.dbname,
            "admin_user": self.admin_user,
            "password_keys": dict(self.password_keys),
        }

    @classmethod
    def from_json(cls, name: str, data: Mapping[str, Any], passwords: dict[str, str]) -> Endpoint:
        return cls(
            name=name,
            cluster=Cluster.from_json(data["cluster"]),
            dbname=str(data["dbname"]),
            admin_user=str(data["admin_user"]),
            password_keys={str(k): str(v) for k, v in data["password_keys"].items()},
            passwords=passwords,
        )


@dataclass
class TestBed:
    """Both clusters. ``passwords`` exists only in the process that started them (or was given
    them); :meth:`save` / :meth:`load` carry everything else."""

    __test__: ClassVar[bool] = False  # not a pytest test class, despite the name

    base_dir: Path
    scale: float
    dw: Endpoint
    supabase: Endpoint
    passwords: dict[str, str] = field(default_factory=dict, repr=False)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def clusters(self) -> tuple[Cluster, Cluster]:
        return self.dw.cluster, self.supabase.cluster

    def stop(self, remove: bool = True) -> None:
        """Stop both servers; with ``remove`` delete their data directories (and base_dir when
        nothing else is left in it). Every cluster is attempted even if one fails."""
        failures: list[Exception] = []
        for cluster in self.clusters:
            try:
                cluster.stop(mode="fast")
            except Exception as exc:
                failures.append(exc)
            if remove:
                shutil.rmtree(cluster.data_dir, ignore_errors=True)
        if remove and self.base_dir.is_dir() and not any(self.base_dir.iterdir()):
            self.base_dir.rmdir()
        if failures:
            raise failures[0]

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "base_dir": str(self.base_dir),
            "scale": self.scale,
            "dw": self.dw.to_json(),
            "supabase": self.supabase.to_json(),
        }

    def save(self, path: Path) -> None:
        """Write the no-secrets description another process can :meth:`load` to stop it."""
        Path(path).write_text(json.dumps(self.to_json(), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path, passwords: Mapping[str, str] | None = None) -> TestBed:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if data.get("format") != FORMAT:
            raise ValueError(f"{path}: not a fdw-wizard test bed file")
        shared = dict(passwords or {})
        return cls(
            base_dir=Path(data["base_dir"]),
            scale=float(data["scale"]),
            dw=Endpoint.from_json("dw", data["dw"], shared),
            supabase=Endpoint.from_json("supabase", data["supabase"], shared),
            passwords=shared,
        )


# --------------------------------------------------------------------------------------------
# Building


def _run_sql(
    endpoint: Endpoint, step: str, query: sql.Composed | sql.SQL, dbname: str | None
) -> None:
    try:
        with endpoint.connect(endpoint.admin_user, dbname) as conn:
            conn.execute(query)
    except psycopg.Error as exc:
        raise ClusterError(
            "testbed.setup_failed",
            cluster=endpoint.name,
            step=step,
            error=redact.redact(str(exc).strip()),
        ) from exc


def _template(name: str, **params: Any) -> sql.Composed | sql.SQL:
    text = load(f"sandbox/{name}")
    if not params:
        return sql.SQL(text)  # type: ignore[arg-type]  # trusted file text, no placeholders
    literals = {key: sql.Literal(value) for key, value in params.items()}
    return sql.SQL(text).format(**literals)  # type: ignore[arg-type]


def _timed(timings: dict[str, float], key: str, fn: Callable[[], None]) -> None:
    started = time.perf_counter()
    fn()
    timings[key] = round(time.perf_counter() - started, 3)


def _build_dw(bed: TestBed) -> None:
    ep, timings = bed.dw, bed.timings
    counts = {f"n_{table}": n for table, n in row_counts(bed.scale).items()}
    _timed(timings, "dw.initdb", lambda: ep.cluster.init(bed.passwords["dw-superuser"]))
    _timed(timings, "dw.start", ep.cluster.start)

    def setup() -> None:
        verifier = scram_sha256_verifier(bed.passwords["dw-etl"])
        _run_sql(ep, "dw_role.sql", _template("dw_role.sql", etl_verifier=verifier), "postgres")
        _run_sql(ep, "dw_database.sql", _template("dw_database.sql"), "postgres")
        _run_sql(ep, "dw_schema.sql", _template("dw_schema.sql"), None)

    _timed(timings, "dw.schema", setup)
    _timed(
        timings,
        "dw.data",
        lambda: _run_sql(ep, "dw_data.sql", _template("dw_data.sql", **counts), None),
    )
    _timed(
        timings,
        "dw.finish",
        lambda: _run_sql(ep, "dw_finish.sql", _template("dw_finish.sql"), None),
    )


def _build_supabase(bed: TestBed) -> None:
    ep, timings = bed.supabase, bed.timings
    _timed(timings, "supabase.initdb", lambda: ep.cluster.init(bed.passwords["supabase-admin"]))
    _timed(timings, "supabase.start", ep.cluster.start)
    sizes = json_sizes(bed.scale)
    n_clientes = row_counts(bed.scale)["dim_clientes"]

    def setup() -> None:
        verifier = scram_sha256_verifier(bed.passwords["supabase-postgres"])
        _run_sql(
            ep,
            "supabase_roles.sql",
            _template("supabase_roles.sql", postgres_verifier=verifier),
            None,
        )
        storage = _template(
            "supabase_storage.sql",
            bucket=RUNBOOK_BUCKET,
            tables=list(sizes),
            sizes=list(sizes.values()),
        )
        _run_sql(ep, "supabase_storage.sql", storage, None)
        clientes = _template(
            "supabase_clientes.sql",
            n_clientes=n_clientes,
            n_bi=max(1, math.floor(n_clientes * BI_SHARE)),
        )
        _run_sql(ep, "supabase_clientes.sql", clientes, None)

    _timed(timings, "supabase.setup", setup)


def start_testbed(
    base_dir: Path,
    scale: float = 0.05,
    dw_port: int | None = None,
    supabase_port: int | None = None,
    *,
    bins: PgBinaries | None = None,
    supabase_bins: PgBinaries | None = None,
    os_user: str | None = None,
) -> TestBed:
    """Create, start and seed both clusters under ``base_dir`` (``dw/`` and ``supabase/``).

    ``bins`` run the DW (default: :func:`find_pg_binaries` for the DW, honouring
    $FDW_WIZARD_PG_BIN_DW), ``supabase_bins`` the Supabase-like cluster (default: the binaries
    $FDW_WIZARD_PG_BIN_SUPABASE names, else the DW's) — e.g. a DW on 16 and Supabase on 17.

    On failure everything already started is stopped and removed before the error (a
    :class:`ClusterError` carrying an i18n ``.message``) propagates."""
    started = time.perf_counter()
    bins = bins or find_pg_binaries(role="dw")
    if supabase_bins is None:
        supabase_bins = (
            find_pg_binaries(role="supabase") if os.environ.get(ENV_PG_BIN_SUPABASE) else bins
        )
    base_dir = Path(base_dir).absolute()
    base_dir.mkdir(parents=True, exist_ok=True)
    passwords = {key: secrets.token_urlsafe(32) for key in PASSWORD_KEYS}
    for value in passwords.values():
        redact.register(value)

    dw_port = dw_port or free_loopback_port()
    while supabase_port is None or supabase_port == dw_port:
        supabase_port = free_loopback_port()

    def endpoint(
        name: str, port: int, side_bins: PgBinaries, superuser: str, listen: str, dbname: str
    ) -> Endpoint:
        # Each cluster lives in base_dir/<name>, administered by the superuser it was made with.
        return Endpoint(
            name=name,
            cluster=Cluster(
                base_dir / name,
                port,
                side_bins,
                os_user=os_user,
                superuser=superuser,
                listen_addresses=listen,
            ),
            dbname=dbname,
            admin_user=superuser,
            password_keys=dict(PASSWORD_ROLES[name]),
            passwords=passwords,
        )

    dw = endpoint("dw", dw_port, bins, DW_SUPERUSER, "localhost", DW_DATABASE)
    supabase = endpoint(
        "supabase", supabase_port, supabase_bins, SUPABASE_ADMIN, "127.0.0.1", SUPABASE_DATABASE
    )
    bed = TestBed(base_dir, scale, dw, supabase, passwords)

    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="testbed") as pool:
        futures = [pool.submit(_build_dw, bed), pool.submit(_build_supabase, bed)]
        errors = [exc for exc in (f.exception() for f in futures) if exc is not None]
    if errors:
        with contextlib.suppress(Exception):  # the build error is the one worth reporting
            bed.stop(remove=True)
        raise errors[0]
    bed.timings["total"] = round(time.perf_counter() - started, 3)
    return bed


# --------------------------------------------------------------------------------------------
# Helpers for callers


def traversable_tempdir(prefix: str = "fdw-wizard-") -> Path:
    """A fresh directory under the system temp dir that the cluster owner OS user can traverse
    (mkdtemp makes it 0700; when we run as root the server runs as another user)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    return path


def impersonate(conn: psycopg.Connection[Any], role: str) -> None:
    """Become ``role`` the way PostgREST does for a request: ``SET ROLE`` and then apply the
    role's own settings (``ALTER ROLE ... SET``, e.g. Supabase's statement_timeout), which a
    bare SET ROLE ignores (role settings only apply at login)."""
    row = conn.execute("SELECT rolconfig FROM pg_roles WHERE rolname = %s", [role]).fetchone()
    conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(role)))
    for entry in row[0] if row and row[0] else []:
        name, _, value = str(entry).partition("=")
        conn.execute("SELECT set_config(%s, %s, false)", [name, value])
