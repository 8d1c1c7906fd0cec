"""The two-cluster test bed, against real PostgreSQL clusters (no mocks of the database)."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from wizard.i18n import catalog
from wizard.runbook import RUNBOOK_BUCKET, RUNBOOK_DATABASE, RUNBOOK_TABLES
from wizard.testbed import pgcluster
from wizard.testbed.bed import (
    Endpoint,
    TestBed,
    impersonate,
    row_counts,
    start_testbed,
    traversable_tempdir,
)
from wizard.testbed.pgcluster import (
    Cluster,
    ClusterError,
    PgBinaries,
    find_pg_binaries,
    free_loopback_port,
    is_root,
    scram_sha256_verifier,
    set_conf_line,
)

pytestmark = pytest.mark.clusters

RUNBOOK_JOIN = (
    "SELECT c.razao_social, f.placa, f.modelo FROM dim_clientes c "
    "JOIN dim_frota f ON c.codigo_cliente = f.cliente_codigo LIMIT 10"
)
# Columns v_clientes_360 / v_frota_360 read from the DW.
DIM_CLIENTES_COLUMNS = {
    "codigo_cliente", "razao_social", "nome_fantasia", "cpf_cnpj", "email", "telefone",
    "cidade", "estado", "segmento", "situacao", "data_criacao", "grupo_economico",
}  # fmt: skip
DIM_FROTA_COLUMNS = {"placa", "modelo", "marca", "ano", "cliente_codigo"}
CLIENTES_COLUMNS = {
    "id", "codigo_cliente", "stage_id", "ultimo_atendente_id", "ultimo_atendimento_at",
    "status_triagem", "descartado_em", "descartado_motivo", "origem", "razao_social",
    "created_at",
}  # fmt: skip


def columns(conn: psycopg.Connection[Any], schema: str, table: str) -> set[str]:
    rows = conn.execute(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = %s AND table_name = %s",
        [schema, table],
    ).fetchall()
    return {r[0] for r in rows}


# ---------------------------------------------------------------------------------------------
# Both clusters


def test_both_clusters_start(testbed: TestBed) -> None:
    assert testbed.dw.cluster.is_running()
    assert testbed.supabase.cluster.is_running()
    assert testbed.dw.port != testbed.supabase.port
    assert set(testbed.passwords) == {
        "dw-superuser",
        "dw-etl",
        "supabase-admin",
        "supabase-postgres",
    }
    assert len(set(testbed.passwords.values())) == 4
    assert "total" in testbed.timings


def test_save_and_load_carry_no_password(testbed: TestBed, tmp_path: Path) -> None:
    path = tmp_path / "testbed.json"
    testbed.save(path)
    text = path.read_text(encoding="utf-8")
    for password in testbed.passwords.values():
        assert password not in text
    loaded = TestBed.load(path)
    assert loaded.passwords == {}
    assert loaded.dw.cluster == testbed.dw.cluster
    assert loaded.supabase.cluster == testbed.supabase.cluster
    assert loaded.dw.cluster.is_running()  # another process could stop it from this file
    with pytest.raises(KeyError):
        loaded.dw.conninfo()


def test_another_process_can_stop_a_saved_testbed(pg_bins: PgBinaries) -> None:
    base = traversable_tempdir("fdw-wizard-bed-")
    bed: TestBed | None = None
    try:
        bed = start_testbed(base / "bed", scale=0.001, bins=pg_bins)
        state = base / "testbed.json"
        bed.save(state)
        code = (
            "import sys; from pathlib import Path; from wizard.testbed.bed import TestBed; "
            "TestBed.load(Path(sys.argv[1])).stop(remove=True)"
        )
        proc = subprocess.run(
            [sys.executable, "-c", code, str(state)],
            capture_output=True, text=True, timeout=120, check=False,
            cwd=Path(__file__).resolve().parents[1],
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        assert not bed.dw.cluster.is_running()
        assert not bed.supabase.cluster.is_running()
        assert not (base / "bed").exists()
    finally:
        for cluster in bed.clusters if bed is not None else ():
            cluster.remove()
        shutil.rmtree(base, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# Local DW


def test_dw_has_the_runbook_tables_owned_by_etl(dw: Endpoint) -> None:
    with dw.connect() as conn:
        owners = dict(
            conn.execute(
                "SELECT tablename, tableowner FROM pg_tables WHERE schemaname = 'public'"
            ).fetchall()
        )
        assert set(RUNBOOK_TABLES) <= set(owners)
        assert {owners[t] for t in RUNBOOK_TABLES} == {"etl_bluconecta"}
        for table in RUNBOOK_TABLES:
            count = conn.execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
            ).fetchone()
            assert count is not None and count[0] > 0, table
        assert columns(conn, "public", "dim_clientes") >= DIM_CLIENTES_COLUMNS
        assert columns(conn, "public", "dim_frota") >= DIM_FROTA_COLUMNS
        encoding = conn.execute("SHOW server_encoding").fetchone()
        assert encoding == ("UTF8",)
        analyzed = conn.execute(
            "SELECT count(*) FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL "
            "AND relname = ANY(%s)",
            [list(RUNBOOK_TABLES)],
        ).fetchone()
        assert analyzed == (len(RUNBOOK_TABLES),)


def test_dw_row_counts_follow_the_scale(testbed: TestBed, dw: Endpoint) -> None:
    expected = row_counts(testbed.scale)
    with dw.connect() as conn:
        for table in ("dim_clientes", "fat_faturamentos", "agg_dre_mensal"):
            got = conn.execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
            ).fetchone()
            assert got == (expected[table],)


def test_runbook_join_returns_rows(dw: Endpoint) -> None:
    with dw.connect() as conn:
        rows = conn.execute(RUNBOOK_JOIN).fetchall()
    assert len(rows) == 10
    assert all(r[0] and r[1] and r[2] for r in rows)


def test_dw_supports_dashboard_aggregates(dw: Endpoint) -> None:
    with dw.connect(user="etl_bluconecta") as conn:
        rows = conn.execute(
            "SELECT date_trunc('month', data_emissao) AS mes, sum(valor_liquido) "
            "FROM fat_faturamentos GROUP BY 1 ORDER BY 1"
        ).fetchall()
    assert len(rows) > 12
    assert all(total > 0 for _, total in rows)


def test_dw_is_left_as_a_fresh_install(dw: Endpoint) -> None:
    with dw.connect() as conn:
        assert conn.execute("SHOW listen_addresses").fetchone() == ("localhost",)
        assert conn.execute("SHOW ssl").fetchone() == ("off",)
        reader = conn.execute(
            "SELECT 1 FROM pg_roles WHERE rolname = 'supabase_fdw_reader'"
        ).fetchone()
        assert reader is None
        source = conn.execute("SELECT sourcefile FROM pg_settings WHERE name = 'port'").fetchone()
        assert source is not None and str(source[0]).endswith("postgresql.conf")
        rules = conn.execute(
            "SELECT type, database, user_name, address, auth_method FROM pg_hba_file_rules "
            "ORDER BY line_number"
        ).fetchall()
    assert rules == [
        ("local", ["all"], ["all"], None, "scram-sha-256"),
        ("host", ["all"], ["all"], "127.0.0.1", "scram-sha-256"),
        ("host", ["all"], ["all"], "::1", "scram-sha-256"),
    ]
    conf = dw.cluster.conf_path.read_text(encoding="utf-8")
    assert re.search(r"(?m)^listen_addresses = 'localhost'", conf)
    assert re.search(rf"(?m)^port = {dw.port}\b", conf)
    assert not re.search(r"(?m)^#listen_addresses", conf)  # replaced, as an installer does


def test_dw_etl_role_logs_in_with_scram(dw: Endpoint) -> None:
    with dw.connect(user="etl_bluconecta") as conn:
        row = conn.execute(
            "SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
    assert row == ("etl_bluconecta", False)
    bad = dw.cluster.conninfo("etl_bluconecta", "wrong-password", RUNBOOK_DATABASE)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(**bad)


# ---------------------------------------------------------------------------------------------
# Supabase-like cluster


def test_supabase_roles_are_like_supabase(supabase: Endpoint) -> None:
    with supabase.connect() as conn:
        roles = {
            r[0]: r[1:]
            for r in conn.execute(
                "SELECT rolname, rolsuper, rolcanlogin, rolinherit, rolcreaterole, rolcreatedb "
                "FROM pg_roles"
            ).fetchall()
        }
        assert roles["postgres"] == (False, True, True, True, True)
        for api_role in ("anon", "authenticated", "service_role"):
            assert roles[api_role][:3] == (False, False, False)
            for member in ("postgres", "authenticator"):
                is_member = conn.execute(
                    "SELECT pg_has_role(%s, %s, 'MEMBER')", [member, api_role]
                ).fetchone()
                assert is_member == (True,), (member, api_role)
        assert roles["authenticator"][:3] == (False, True, False)
        assert roles["supabase_admin"][0] is True
        config = conn.execute(
            "SELECT rolconfig FROM pg_roles WHERE rolname = 'authenticator'"
        ).fetchone()
        assert config == (["pgrst.db_schemas=public, graphql_public"],)
        schemas = {r[0] for r in conn.execute("SELECT nspname FROM pg_namespace").fetchall()}
        assert {"extensions", "storage", "auth", "graphql_public"} <= schemas
        ext = conn.execute(
            "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
            "WHERE e.extname = 'postgres_fdw'"
        ).fetchone()
        assert ext == ("extensions",)
    with supabase.connect(user="postgres") as conn:
        assert conn.execute(
            "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
        ).fetchone() == (False,)
        for role in ("anon", "authenticated", "service_role"):
            usage = conn.execute("SELECT has_schema_privilege(%s, 'public', 'USAGE')", [role])
            assert usage.fetchone() == (True,)


@pytest.mark.parametrize(("role", "timeout"), [("anon", "3s"), ("authenticated", "8s")])
def test_api_role_timeouts(supabase: Endpoint, role: str, timeout: str) -> None:
    with supabase.connect(user="postgres") as conn:
        conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(role)))
        # A bare SET ROLE does not apply ALTER ROLE ... SET (those apply at login) ...
        assert conn.execute("SHOW statement_timeout").fetchone() == ("0",)
        conn.execute("RESET ROLE")
        # ... PostgREST applies the impersonated role's settings itself, as impersonate() does.
        impersonate(conn, role)
        assert conn.execute("SELECT current_user").fetchone() == (role,)
        assert conn.execute("SHOW statement_timeout").fetchone() == (timeout,)


def test_direct_delete_on_storage_objects_is_refused(supabase: Endpoint) -> None:
    with supabase.connect(user="postgres") as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege) as excinfo:
            conn.execute("DELETE FROM storage.objects WHERE name = 'dim_clientes.json'")
        assert "Direct deletion from storage tables is not allowed" in str(excinfo.value)
        left = conn.execute("SELECT count(*) FROM storage.objects").fetchone()
    assert left == (len(RUNBOOK_TABLES),)


def test_bucket_holds_one_json_per_table(supabase: Endpoint) -> None:
    with supabase.connect(user="postgres") as conn:
        rows = conn.execute(
            "SELECT name, metadata, path_tokens FROM storage.objects WHERE bucket_id = %s",
            [RUNBOOK_BUCKET],
        ).fetchall()
        bucket = conn.execute(
            "SELECT public FROM storage.buckets WHERE id = %s", [RUNBOOK_BUCKET]
        ).fetchone()
    assert bucket == (False,)
    assert {name for name, _, _ in rows} == {f"{t}.json" for t in RUNBOOK_TABLES}
    sizes = {name: meta["size"] for name, meta, _ in rows}
    assert all(meta["mimetype"] == "application/json" for _, meta, _ in rows)
    assert all(meta["eTag"] and meta["lastModified"] for _, meta, _ in rows)
    assert all(tokens == [name] for name, _, tokens in rows)
    # The runbook's proportions: faturamentos ~5 MB > dim_clientes ~4.4 MB > agg_dre ~500 KB
    assert (
        sizes["fat_faturamentos.json"] > sizes["dim_clientes.json"] > sizes["agg_dre_mensal.json"]
    )


def test_operational_clientes_table(supabase: Endpoint, dw: Endpoint) -> None:
    with supabase.connect(user="postgres") as conn:
        assert columns(conn, "public", "clientes") >= CLIENTES_COLUMNS
        owner = conn.execute(
            "SELECT tableowner FROM pg_tables "
            "WHERE schemaname = 'public' AND tablename = 'clientes'"
        ).fetchone()
        assert owner == ("postgres",)
        by_origin = dict(
            conn.execute("SELECT origem, count(*) FROM clientes GROUP BY origem").fetchall()
        )
        bi_codes = {
            int(r[0])
            for r in conn.execute(
                "SELECT codigo_cliente FROM clientes WHERE origem = 'dim_clientes_bi'"
            ).fetchall()
        }
        for role in ("authenticated", "service_role"):
            granted = conn.execute(
                "SELECT has_table_privilege(%s, 'public.clientes', 'SELECT')", [role]
            ).fetchone()
            assert granted == (True,)
    assert by_origin["dim_clientes_bi"] > 0
    assert {"crm", "whatsapp"} <= set(by_origin)
    with dw.connect() as conn:
        dw_codes = {
            r[0] for r in conn.execute("SELECT codigo_cliente FROM dim_clientes").fetchall()
        }
    assert bi_codes <= dw_codes


# ---------------------------------------------------------------------------------------------
# postgres_fdw from the non-superuser postgres role


@pytest.fixture
def fdw_schema(supabase: Endpoint) -> Iterator[tuple[psycopg.Connection[Any], str]]:
    """A connection as Supabase's postgres role and a private schema, dropped afterwards with
    the servers the test created (named after the schema)."""
    name = "fdwtest_" + secrets.token_hex(4)
    with supabase.connect(user="postgres") as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
        try:
            yield conn, name
        finally:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))
            for server in conn.execute(
                "SELECT srvname FROM pg_foreign_server WHERE srvname LIKE %s", [name + "%"]
            ).fetchall():
                conn.execute(sql.SQL("DROP SERVER {} CASCADE").format(sql.Identifier(server[0])))


def create_server(
    conn: psycopg.Connection[Any], server: str, port: int, user: str, password: str | None
) -> None:
    conn.execute(
        sql.SQL(
            "CREATE SERVER {} FOREIGN DATA WRAPPER postgres_fdw OPTIONS "
            "(host '127.0.0.1', port {}, dbname {}, connect_timeout '5')"
        ).format(sql.Identifier(server), sql.Literal(str(port)), sql.Literal(RUNBOOK_DATABASE))
    )
    options = sql.SQL("user {}").format(sql.Literal(user))
    if password is not None:
        options = sql.SQL("{}, password {}").format(options, sql.Literal(password))
    conn.execute(
        sql.SQL("CREATE USER MAPPING FOR postgres SERVER {} OPTIONS ({})").format(
            sql.Identifier(server), options
        )
    )


def test_fdw_with_password_and_scram_works(
    fdw_schema: tuple[psycopg.Connection[Any], str], dw: Endpoint
) -> None:
    conn, schema = fdw_schema
    server = schema + "_dw"
    create_server(conn, server, dw.port, "etl_bluconecta", dw.password("etl_bluconecta"))
    conn.execute(
        sql.SQL(
            "IMPORT FOREIGN SCHEMA public LIMIT TO (dim_clientes, dim_frota) FROM SERVER {} INTO {}"
        ).format(sql.Identifier(server), sql.Identifier(schema))
    )
    conn.execute(sql.SQL("SET search_path = {}").format(sql.Identifier(schema)))
    remote = conn.execute("SELECT count(*) FROM dim_clientes").fetchone()
    joined = conn.execute(RUNBOOK_JOIN).fetchall()
    with dw.connect() as dw_conn:
        local = dw_conn.execute("SELECT count(*) FROM dim_clientes").fetchone()
    assert remote == local
    assert len(joined) == 10


def _read_refused(
    conn: psycopg.Connection[Any], schema: str, server: str, table: str, columns: str, remote: str
) -> str:
    """Declare ``schema.table`` on ``server`` by hand (IMPORT FOREIGN SCHEMA would already need
    the connection) as ``remote.table``, read it and return the text of the refusal, which must
    be SQLSTATE 2F003."""
    conn.execute(
        sql.SQL(
            "CREATE FOREIGN TABLE {}.{} ({}) SERVER {} OPTIONS (schema_name {}, table_name {})"
        ).format(
            sql.Identifier(schema),
            sql.Identifier(table),
            sql.SQL(columns),
            sql.Identifier(server),
            sql.Literal(remote),
            sql.Literal(table),
        )
    )
    with pytest.raises(psycopg.Error) as excinfo:
        conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(schema, table)))
    assert excinfo.value.sqlstate == "2F003"
    return str(excinfo.value)


def test_fdw_mapping_without_password_is_refused(
    fdw_schema: tuple[psycopg.Connection[Any], str], dw: Endpoint
) -> None:
    conn, schema = fdw_schema
    server = schema + "_nopw"
    create_server(conn, server, dw.port, "etl_bluconecta", None)
    text = _read_refused(conn, schema, server, "dim_clientes", "codigo_cliente integer", "public")
    # PG15: "password is required"; PG16+ (GSSAPI delegation): "password or GSSAPI delegated
    # credentials required". The diagnosis knows both, even pasted without a SQLSTATE.
    assert "password is required" in text or "password or GSSAPI delegated" in text
    from wizard.diagnose import _family, _Input

    assert _family(_Input(text, None, None, None)) == "password-required"


@pytest.fixture(scope="module")
def trust_remote(pg_bins: PgBinaries) -> Iterator[tuple[Cluster, str]]:
    """A small dedicated remote whose pg_hba trusts one role from 127.0.0.1 (the shared DW stays
    pristine). Yields the cluster and that role's name."""
    base = traversable_tempdir("fdw-wizard-trust-")
    cluster = Cluster(base / "data", free_loopback_port(), pg_bins, listen_addresses="127.0.0.1")
    superuser_password = secrets.token_urlsafe(32)
    cluster.init(superuser_password)
    cluster.start()
    try:
        with psycopg.connect(autocommit=True, **cluster.conninfo(password=superuser_password)) as c:
            c.execute(
                sql.SQL("CREATE ROLE trusted_reader LOGIN PASSWORD {}").format(
                    sql.Literal(scram_sha256_verifier(secrets.token_urlsafe(16)))
                )
            )
            c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(RUNBOOK_DATABASE)))
        hba = cluster.hba_path.read_text(encoding="utf-8")
        trust = f"host    {RUNBOOK_DATABASE}    trusted_reader    127.0.0.1/32    trust\n"
        cluster.hba_path.write_text(trust + hba, encoding="utf-8")
        cluster.reload()
        yield cluster, "trusted_reader"
    finally:
        cluster.remove()
        shutil.rmtree(base, ignore_errors=True)


def test_fdw_refuses_a_remote_that_does_not_ask_for_the_password(
    fdw_schema: tuple[psycopg.Connection[Any], str], trust_remote: tuple[Cluster, str]
) -> None:
    conn, schema = fdw_schema
    remote, role = trust_remote
    server = schema + "_trust"
    create_server(conn, server, remote.port, role, "any-password-at-all")
    text = _read_refused(conn, schema, server, "pg_database", "datname name", "pg_catalog")
    assert "Non-superuser cannot connect if the server does not request a password" in text


# ---------------------------------------------------------------------------------------------
# pgcluster on its own


def test_start_failure_reports_the_server_log(pg_bins: PgBinaries, dw: Endpoint) -> None:
    base = traversable_tempdir("fdw-wizard-busy-")
    # The DW's port is taken: the server must fail to bind, and the error must show why.
    cluster = Cluster(base / "data", dw.port, pg_bins, listen_addresses="localhost")
    try:
        cluster.init(secrets.token_urlsafe(16))
        with pytest.raises(ClusterError) as excinfo:
            cluster.start(timeout=20)
        assert excinfo.value.key == "testbed.start_failed"
        assert str(dw.port) in str(excinfo.value)
        assert "could not" in str(excinfo.value).lower()  # could not bind / create any TCP/IP
        assert excinfo.value.message.key == "testbed.start_failed"
    finally:
        cluster.remove()
        shutil.rmtree(base, ignore_errors=True)


def test_restart_picks_up_postgresql_conf_edits(pg_bins: PgBinaries) -> None:
    base = traversable_tempdir("fdw-wizard-restart-")
    password = secrets.token_urlsafe(16)
    cluster = Cluster(base / "data", free_loopback_port(), pg_bins, listen_addresses="localhost")
    try:
        cluster.init(password)
        cluster.start()
        # What a later wizard step does: edit the file, then restart.
        text = cluster.conf_path.read_text(encoding="utf-8")
        cluster.conf_path.write_text(
            set_conf_line(text, "listen_addresses", "'127.0.0.1'"), encoding="utf-8"
        )
        cluster.restart()
        with psycopg.connect(autocommit=True, **cluster.conninfo(password=password)) as conn:
            assert conn.execute("SHOW listen_addresses").fetchone() == ("127.0.0.1",)
        assert "database system is ready" in cluster.log_text(100_000)
        cluster.stop()
        assert not cluster.is_running()
    finally:
        cluster.remove()
        shutil.rmtree(base, ignore_errors=True)


NORMAL_USER_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    sys.path.insert(0, sys.argv[1])
    import pgcluster

    bins = pgcluster.find_pg_binaries(Path(sys.argv[3]))
    cluster = pgcluster.Cluster(Path(sys.argv[2]), pgcluster.free_loopback_port(), bins)
    cluster.init("not-a-real-secret")
    cluster.start()
    status = cluster.pg_ctl("status").returncode
    cluster.stop()
    print(json.dumps({"status": status, "running_after_stop": cluster.is_running(),
                      "owner": cluster.owner}))
    """
)


def test_cluster_starts_as_a_normal_user(pg_bins: PgBinaries) -> None:
    base = traversable_tempdir("fdw-wizard-user-")
    try:
        if not is_root():
            cluster = Cluster(base / "data", free_loopback_port(), pg_bins)
            cluster.init(secrets.token_urlsafe(16))
            cluster.start()
            assert cluster.pg_ctl("status").returncode == 0
            cluster.stop()
            assert not cluster.is_running()
            return
        system_python = Path("/usr/bin/python3")
        if not system_python.exists() or shutil.which("runuser") is None:
            pytest.skip("needs /usr/bin/python3 and runuser to act as the postgres OS user")
        import pwd

        owner = pwd.getpwnam("postgres")
        # pgcluster is stdlib-only: a copy in a world-readable dir is all the system python needs
        # (the repo, the venv and /root are not readable by that user).
        lib = base / "lib"
        lib.mkdir(mode=0o755)
        shutil.copy(pgcluster.__file__, lib / "pgcluster.py")
        (lib / "pgcluster.py").chmod(0o644)
        script = lib / "start_cluster.py"
        script.write_text(NORMAL_USER_SCRIPT, encoding="utf-8")
        script.chmod(0o644)
        work = base / "work"
        work.mkdir()
        os.chown(work, owner.pw_uid, owner.pw_gid)
        proc = subprocess.run(
            ["runuser", "-u", "postgres", "--", str(system_python), str(script), str(lib),
             str(work / "data"), str(pg_bins.bin_dir)],
            capture_output=True, text=True, timeout=180, cwd="/", check=False,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        assert result == {"status": 0, "running_after_stop": False, "owner": None}
        assert (work / "data" / "PG_VERSION").stat().st_uid == owner.pw_uid
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.mark.skipif(sys.platform == "win32" or not is_root(), reason="root only")
def test_non_traversable_parent_gives_a_clear_error(pg_bins: PgBinaries) -> None:
    base = traversable_tempdir("fdw-wizard-locked-")
    locked = base / "locked"
    locked.mkdir(mode=0o700)  # root-owned, 0700: the postgres OS user cannot enter it
    try:
        cluster = Cluster(locked / "sub" / "data", free_loopback_port(), pg_bins)
        with pytest.raises(ClusterError) as excinfo:
            cluster.init(secrets.token_urlsafe(16))
        err = excinfo.value
        assert err.key == "testbed.dir_not_traversable"
        assert str(locked) in str(err)
        assert "/tmp" in str(err)
        assert err.message.key == "testbed.dir_not_traversable"
        assert str(locked) in err.message.render("pt-BR")
        assert not list(locked.glob("**/*.pwfile"))
    finally:
        shutil.rmtree(base, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# Pure helpers (no cluster)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "#listen_addresses = 'localhost'\t\t# what IP address(es) to listen on;\n",
            "listen_addresses = '*'\t\t# what IP address(es) to listen on;\n",
        ),
        (
            "listen_addresses = 'a'\nlisten_addresses = 'b'\n",
            "listen_addresses = 'a'\nlisten_addresses = '*'\n",
        ),
        ("port = 5432\n", "port = 5432\nlisten_addresses = '*'\n"),
    ],
)
def test_set_conf_line(text: str, expected: str) -> None:
    assert set_conf_line(text, "listen_addresses", "'*'") == expected


def test_find_pg_binaries_honours_preferred_and_env(
    pg_bins: PgBinaries, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert find_pg_binaries(pg_bins.bin_dir).bin_dir == pg_bins.bin_dir
    assert find_pg_binaries(pg_bins.bin_dir.parent).bin_dir == pg_bins.bin_dir  # <root>/bin
    monkeypatch.setenv("FDW_WIZARD_PG_BIN", str(pg_bins.bin_dir))
    found = find_pg_binaries(tmp_path)  # an empty preferred dir: falls through to the env
    assert found == pg_bins
    assert found.tool("initdb").name in ("initdb", "initdb.exe")


def test_each_cluster_has_its_own_binaries_variable(
    pg_bins: PgBinaries, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("FDW_WIZARD_PG_BIN_DW", str(tmp_path / "dw"))
    monkeypatch.setenv("FDW_WIZARD_PG_BIN_SUPABASE", str(tmp_path / "supabase"))
    monkeypatch.setenv("FDW_WIZARD_PG_BIN", str(pg_bins.bin_dir))
    assert pgcluster._candidates(None, "dw")[0] == tmp_path / "dw"
    assert pgcluster._candidates(None, "supabase")[0] == tmp_path / "supabase"
    # Neither holds binaries: both fall back to FDW_WIZARD_PG_BIN.
    assert find_pg_binaries(role="supabase") == pg_bins
    assert find_pg_binaries(major=pg_bins.major) == pg_bins
    assert find_pg_binaries(major=1).major == pg_bins.major  # none of that major: the first


@pytest.mark.clusters
def test_each_cluster_runs_its_own_major(testbed: TestBed) -> None:
    """DW and Supabase-like may run different majors (CI: 16 and 17 besides the main 15)."""
    for endpoint, env in (
        (testbed.dw, "FDW_WIZARD_PG_BIN_DW"),
        (testbed.supabase, "FDW_WIZARD_PG_BIN_SUPABASE"),
    ):
        with endpoint.connect() as conn:
            version = int(conn.execute("SHOW server_version_num").fetchone()[0])
        assert version // 10000 == endpoint.cluster.bins.major
        if os.environ.get(env):
            assert endpoint.cluster.bins.bin_dir in (
                Path(os.environ[env]),
                Path(os.environ[env]) / "bin",
            )


def test_missing_binaries_give_the_install_hint(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(pgcluster, "_candidates", lambda *args: [tmp_path])
    with pytest.raises(ClusterError) as excinfo:
        find_pg_binaries()
    err = excinfo.value
    assert "apt-get install postgresql" in str(err)
    assert "EDB" in str(err)
    assert str(tmp_path) in str(err)
    assert err.message.key == "testbed.binaries_not_found"
    assert "apt-get install postgresql" in err.message.render("pt-BR")
    assert err.message.render("pt-BR") != str(err)


def test_testbed_catalogs_match() -> None:
    en = {k: v for k, v in catalog("en").items() if k.startswith("testbed.")}
    pt = {k: v for k, v in catalog("pt-BR").items() if k.startswith("testbed.")}
    assert en == pgcluster._EN  # the stdlib copy used by str(error)
    assert set(pt) == set(en)
    for key in en:
        assert set(re.findall(r"\{(\w+)\}", en[key])) == set(re.findall(r"\{(\w+)\}", pt[key]))


def test_scram_verifier_shape() -> None:
    verifier = scram_sha256_verifier("s3cret")
    assert re.fullmatch(
        r"SCRAM-SHA-256\$4096:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+", verifier
    )
    assert "s3cret" not in verifier
