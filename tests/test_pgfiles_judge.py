"""The server judges an edit before it matters: pg_file_settings, pg_hba_file_rules,
postgres -C, and postgresql.auto.conf shadowing (all against a throwaway PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.corpus.pgfiles.support import connect, swapped, tls_cluster
from wizard.dwhost.pgfiles import judge
from wizard.dwhost.pgfiles.postgresql_conf import ConfFile, auto_conf_path, auto_conf_shadows
from wizard.i18n import render
from wizard.testbed.pgcluster import Cluster, PgBinaries

pytestmark = pytest.mark.clusters


@pytest.fixture(scope="module")
def cluster(pg_bins: PgBinaries) -> Iterator[Cluster]:
    with tls_cluster(pg_bins, "fdw-pgfiles-judge-") as made:
        yield made


def edited_conf(cluster: Cluster, **values: str | int) -> bytes:
    return ConfFile.read(cluster.conf_path).set_many(values.items()).to_bytes()


def test_clean_files_have_no_errors(cluster: Cluster) -> None:
    with connect(cluster) as conn:
        assert judge.conf_errors(conn) == []
        assert judge.hba_errors(conn) == []
        rows = judge.hba_rules(conn)
    assert rows and all(r.rule_number is None for r in rows)  # PG15: no rule_number column


def test_unknown_parameter_and_bad_value(cluster: Cluster) -> None:
    data = ConfFile.read(cluster.conf_path).text.insert(0, ["bogus_setting = 1"]).to_bytes()
    with swapped(cluster, {"postgresql.conf": data}), connect(cluster) as conn:
        errors = judge.conf_errors(conn)
        assert [(e.name, e.error) for e in errors] == [
            ("bogus_setting", "unrecognized configuration parameter")
        ]
        # ...and then nothing in the file counts as applied.
        assert not any(r.applied for r in judge.file_settings(conn))
    with swapped(cluster, {"postgresql.conf": edited_conf(cluster, work_mem="lots")}):
        with connect(cluster) as conn:
            errors = judge.conf_errors(conn)
        assert [e.name for e in errors] == ["work_mem"]
        with pytest.raises(judge.PostgresCheckFailed) as caught:
            judge.postgres_check(cluster.bins.bin_dir, cluster.data_dir, "work_mem")
        assert caught.value.code == 1
        assert 'invalid value for parameter "work_mem"' in caught.value.output
        for lang in ("en", "pt-BR"):
            assert "work_mem" in render(caught.value.message, lang)


def test_postmaster_change_is_pending_restart_not_an_error(cluster: Cluster) -> None:
    with swapped(cluster, {"postgresql.conf": edited_conf(cluster, port=cluster.port + 1)}):
        with connect(cluster) as conn:
            pending = judge.conf_errors(conn)
            assert judge.conf_errors(conn, include_pending_restart=False) == []
        assert [(e.name, e.error, e.needs_restart_only) for e in pending] == [
            ("port", judge.RESTART_NEEDED, True)
        ]
        value = judge.postgres_check(cluster.bins.bin_dir, cluster.data_dir, "port")
        assert value == str(cluster.port + 1)


def test_alter_system_shadows_postgresql_conf(cluster: Cluster) -> None:
    with connect(cluster) as conn:
        conn.execute("ALTER SYSTEM SET work_mem = '7MB'")
    try:
        assert set(auto_conf_shadows(cluster.data_dir, ["work_mem", "port"])) == {"work_mem"}
        assert set(auto_conf_shadows(cluster.conf_path, ["WORK_MEM"])) == {"WORK_MEM"}
        assert auto_conf_path(cluster.conf_path) == cluster.data_dir / "postgresql.auto.conf"
        data = edited_conf(cluster, work_mem="5MB")
        with swapped(cluster, {"postgresql.conf": data}), connect(cluster) as conn:
            shadowed = judge.not_applied(conn, ["work_mem", "port"], sourcefile=cluster.conf_path)
            assert len(shadowed) == 1
            assert (shadowed[0].row.name, shadowed[0].row.setting) == ("work_mem", "5MB")
            assert shadowed[0].winner is not None
            assert shadowed[0].winner.sourcefile == str(auto_conf_path(cluster.data_dir))
            assert shadowed[0].winner.setting == "7MB"
    finally:
        with connect(cluster) as conn:
            conn.execute("ALTER SYSTEM RESET work_mem")
    assert auto_conf_shadows(cluster.data_dir, ["work_mem"]) == {}


def test_hba_errors_name_the_line(cluster: Cluster) -> None:
    bad = cluster.hba_path.read_bytes() + b"host all all 10.0.0.0/33 md5\nhost all all\n"
    with swapped(cluster, {"pg_hba.conf": bad}), connect(cluster) as conn:
        errors = judge.hba_errors(conn)
    lines = len(bad.splitlines())
    assert [e.line_number for e in errors] == [lines - 1, lines]
    assert all(e.error for e in errors)


def test_postgres_check_reads_a_good_value(cluster: Cluster) -> None:
    assert judge.postgres_check(cluster.bins.bin_dir, cluster.data_dir, "port") == str(cluster.port)
    assert judge.postgres_check(cluster.bins.bin_dir, cluster.data_dir, "ssl") == "on"


def test_postgres_check_puts_minus_c_first() -> None:
    # postgres accepts root / an administrator token only when argv[1] is -C (main.c).
    argv = judge.postgres_check_argv("/pg/bin/postgres", "/data", "port")
    assert argv == ["/pg/bin/postgres", "-C", "port", "-D", "/data"]


def test_postgres_check_names_a_config_file_outside_the_data_dir() -> None:
    # Debian: postgresql.conf lives in /etc/postgresql/VER/NAME, as pg_ctlcluster passes it.
    conf = "/etc/postgresql/15/main/postgresql.conf"
    argv = judge.postgres_check_argv("/pg/bin/postgres", "/var/lib/pg/15/main", "port", conf)
    assert argv[-2:] == ["-c", f"config_file={conf}"] and argv[1] == "-C"
    assert judge.postgres_check_argv("p", "/d", "port", "/d/postgresql.conf") == [
        "p", "-C", "port", "-D", "/d",
    ]  # fmt: skip
