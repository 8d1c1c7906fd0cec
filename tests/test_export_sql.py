"""export-sql: the scripts, run by hand with psql on fresh clusters, make the same objects the
steps make — proven by the wizard's own checks finding every step done afterwards — and no
config value can make psql run anything else. (That the scripts hold the steps' own statements
is tests/test_export_drift.py.)"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import sandbox_config_for
from wizard.config import save_config
from wizard.engine import Status
from wizard.session import open_session
from wizard.testbed.bed import TestBed

pytestmark = pytest.mark.clusters

READER_PASSWORD = "exported-reader-password-0123456789-abcdef"


def psql(
    bed_endpoint: object, user: str, script: Path, password: str, *variables: str
) -> subprocess.CompletedProcess[str]:
    psql_bin = shutil.which("psql")
    assert psql_bin, "psql is needed to run the exported scripts"
    cluster = bed_endpoint.cluster  # type: ignore[attr-defined]
    dbname = bed_endpoint.dbname  # type: ignore[attr-defined]
    env = dict(os.environ, PGPASSWORD=password)
    result = subprocess.run(
        [psql_bin, "-X", "-h", "127.0.0.1", "-p", str(cluster.port), "-U", user, "-d", dbname,
         "-v", f"reader_password={READER_PASSWORD}", *variables, "-f", str(script)],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result


def test_exported_scripts_make_what_the_steps_check(
    private_testbed: TestBed,
    bed_secrets: Callable[[TestBed], None],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bed = private_testbed
    bed_secrets(bed)
    monkeypatch.setenv("FDW_WIZARD_SECRET_READER", READER_PASSWORD)
    config = sandbox_config_for(bed)
    config_path = tmp_path / "fdw-wizard.yaml"
    save_config(config, config_path)
    out = tmp_path / "export"
    env = dict(os.environ)
    result = subprocess.run(
        [sys.executable, "-m", "wizard.cli", "export-sql", "--out", str(out), "--json",
         "--config", str(config_path)],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["password_variable"] == "reader_password"
    assert document["fetch_size_variable"] == "fetch_size"  # fetch_size: auto is measured live
    local_sql = (out / "setup-postgresql-local-fdw.sql").read_text()
    supabase_sql = (out / "setup-fdw-supabase.sql").read_text()
    assert READER_PASSWORD not in local_sql + supabase_sql  # a placeholder, not the secret
    assert 'INTO "bi"' in supabase_sql and 'MAPPING FOR "anon"' not in supabase_sql
    # Written without a server: the facts a live run reads are computed by psql on the server.
    assert "\\gexec" in local_sql and "\\gset" in local_sql and ":'fetch_size'" in supabase_sql

    ctx, runner = open_session(config, config_path)
    try:
        from wizard.steps.supabase_fdw import auto_fetch_size

        # fetch_size: auto is measured by a live run; the operator passes what the wizard says.
        fetch = str(auto_fetch_size(ctx, None).fetch)
        # The files part of Phase 1 (conf, hba, TLS) by the wizard; everything SQL by psql.
        files = runner.apply(
            ["local.listen", "local.tls", "local.hba", "local.reload"], confirm=lambda s, p: True
        )
        assert all(o.status is Status.DONE for o in files.outcomes)
        psql(
            bed.dw,
            "postgres",
            out / "setup-postgresql-local-fdw.sql",
            bed.passwords["dw-superuser"],
        )
        psql(
            bed.supabase,
            "postgres",
            out / "setup-fdw-supabase.sql",
            bed.passwords["supabase-postgres"],
            "-v",
            f"fetch_size={fetch}",
        )
        # Every step the scripts stand for — the DW's aggregates and the API read bound too.
        report = runner.status(["local.reader-role", "supabase", "views"])
        not_done = {
            o.step_id: [o.message.render("en"), *(d.render("en") for d in o.details)]
            for o in report.outcomes
            if o.status is not Status.DONE
        }
        assert not_done == {}
        assert {"supabase.aggregates", "supabase.read-bound"} <= {
            o.step_id for o in report.outcomes
        }
    finally:
        ctx.close()


def test_with_secrets_writes_the_password_and_warns(
    private_testbed: TestBed,
    bed_secrets: Callable[[TestBed], None],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from wizard.export import export_scripts

    bed_secrets(private_testbed)
    monkeypatch.setenv("FDW_WIZARD_SECRET_READER", READER_PASSWORD)
    config = sandbox_config_for(private_testbed)
    ctx, _runner = open_session(config, tmp_path / "fdw-wizard.yaml")
    try:
        result = export_scripts(ctx, tmp_path / "out", with_secrets=True)
    finally:
        ctx.close()
    assert any(n.key == "export.with_secrets" for n in result.notes)
    text = (tmp_path / "out" / "setup-fdw-supabase.sql").read_text()
    assert READER_PASSWORD in text
    assert oct((tmp_path / "out" / "setup-fdw-supabase.sql").stat().st_mode & 0o777) == "0o600"


# A value that would end a `--` comment (\n, \r), run a shell command (\!) and an extra statement
# if written raw, and that also tries to close a quote, an identifier and a /* */ comment.
def hostile(tag: str) -> str:
    return (
        f"{tag}'\n\\! touch pwned-{tag}\nCREATE TABLE injected_{tag} ();\n"
        f'*/ " ; \r\\! touch pwned-{tag}-cr\rCREATE TABLE injected_{tag}_cr ();\r-- \x1b[31m'
    )


def test_hostile_config_values_export_scripts_that_run_nothing_extra(
    private_testbed: TestBed,
    bed_secrets: Callable[[TestBed], None],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every free-text value that reaches export-sql (listen_addresses, public_host,
    tables_owner, the config file's name) carries newlines, `\\!`, quotes and `*/`. Real psql
    runs the scripts: no shell command runs (no marker file), no injected statement runs, and
    the values arrive intact where they are data (the owner role, the server's host)."""
    from psycopg import sql

    from wizard.export import export_scripts

    bed = private_testbed
    bed_secrets(bed)
    monkeypatch.setenv("FDW_WIZARD_SECRET_READER", READER_PASSWORD)
    base = sandbox_config_for(bed)
    owner = hostile("owner")
    config = base.model_copy(
        update={
            # Assigned without validation: the config loader now refuses some of these, and the
            # export must be safe on its own.
            "exposure": base.exposure.model_copy(
                update={"listen_addresses": hostile("listen"), "public_host": hostile("host")}
            ),
            "reader": base.reader.model_copy(
                update={"name": "hostile_reader", "tables_owner": owner}
            ),
            # One table: no DW aggregates (their fixed schema is the other test's).
            "fdw": base.fdw.model_copy(
                update={
                    "server_name": "hostile_server",
                    "target_schema": "hostile_bi",
                    "tables": ["dim_clientes"],
                }
            ),
        }
    )
    work = tmp_path / "work"
    work.mkdir()
    config_path = work / (hostile("file").replace("/", "_") + ".yaml")
    with bed.dw.connect() as conn:
        conn.execute(sql.SQL("CREATE ROLE {}").format(sql.Identifier(owner)))
    ctx, _runner = open_session(config, config_path)
    try:
        export_scripts(ctx, work, with_secrets=False)
    finally:
        ctx.close()
    local_sql = (work / "setup-postgresql-local-fdw.sql").read_text()
    assert "listen_addresses = 'listen''\\n\\\\! touch pwned-listen\\n" in local_sql

    def run(endpoint: Any, script: str, password: str) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ, PGPASSWORD=password)
        return subprocess.run(
            ["psql", "-X", "-h", "127.0.0.1", "-p", str(endpoint.cluster.port), "-U", "postgres",
             "-d", endpoint.dbname, "-v", f"reader_password={READER_PASSWORD}", "-f", script],
            capture_output=True, text=True, env=env, timeout=120, check=False, cwd=work,
        )  # fmt: skip

    local = run(bed.dw, "setup-postgresql-local-fdw.sql", bed.passwords["dw-superuser"])
    assert local.returncode == 0, local.stderr
    supa = run(bed.supabase, "setup-fdw-supabase.sql", bed.passwords["supabase-postgres"])
    # The hostile host is one literal: IMPORT fails to resolve exactly that name, and the
    # script stops there (ON_ERROR_STOP) inside its transaction.
    assert supa.returncode == 3, supa.stdout + supa.stderr
    assert "host name" in supa.stderr and "hostcontinue" not in supa.stderr
    assert "host'" in supa.stderr

    assert sorted(p.name for p in work.iterdir() if p.name.startswith("pwned")) == []
    for endpoint in (bed.dw, bed.supabase):
        with endpoint.connect() as conn:
            injected = conn.execute(
                "SELECT relname FROM pg_class WHERE relname LIKE 'injected%'"
            ).fetchall()
            assert injected == []
    with bed.dw.connect() as conn:
        # The owner's name reached the server byte for byte, as one identifier.
        row = conn.execute(
            "SELECT count(*) FROM pg_default_acl d JOIN pg_roles r ON r.oid = d.defaclrole"
            " WHERE r.rolname = %s",
            (owner,),
        ).fetchone()
        assert row == (1,)
