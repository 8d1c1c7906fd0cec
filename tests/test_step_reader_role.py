"""local.reader-role against a real DW cluster of its own."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.conftest import sandbox_config_for
from wizard.engine import Status
from wizard.secrets import sandbox_secrets_path
from wizard.session import open_session
from wizard.steps.local_role import ReaderRole
from wizard.steps.prereq import LocalConnection
from wizard.testbed.bed import TestBed

pytestmark = pytest.mark.clusters


@pytest.fixture
def session(
    private_testbed: TestBed, bed_secrets: Callable[[TestBed], None], tmp_path: Path
) -> Any:
    bed_secrets(private_testbed)
    config = sandbox_config_for(private_testbed)
    ctx, runner = open_session(
        config, tmp_path / "fdw-wizard.yaml", steps=[LocalConnection(), ReaderRole()]
    )
    yield ctx, runner
    ctx.close()


def reader_secret(ctx: Any) -> str:
    return json.loads(sandbox_secrets_path(ctx.config_path).read_text())["reader"]


def test_create_prove_idempotent_and_undo(session: Any, private_testbed: TestBed) -> None:
    ctx, runner = session
    dw = private_testbed.dw
    with dw.connect() as admin:
        admin.execute("ALTER SYSTEM SET log_statement = 'all'")
        admin.execute("SELECT pg_reload_conf()")

    dry = runner.apply(["local.reader-role"], dry_run=True)
    assert dry.outcomes[-1].status is Status.PENDING
    plan_sql = json.dumps(dry.outcomes[-1].plan.to_json())
    assert "CREATE ROLE" in plan_sql and "ALTER DEFAULT PRIVILEGES FOR ROLE" in plan_sql
    with dw.connect() as admin:
        assert (
            admin.execute(
                "SELECT count(*) FROM pg_roles WHERE rolname = 'supabase_fdw_reader'"
            ).fetchone()[0]
            == 0
        )

    report = runner.apply(["local.reader-role"])
    outcome = report.outcomes[-1]
    assert outcome.status is Status.DONE, [d.render("en") for d in outcome.details] + [
        outcome.message.render("en")
    ]
    assert any(d.key == "step.local.reader-role.proven" for d in outcome.details)
    password = reader_secret(ctx)
    assert len(password) >= 32

    # The reader reads, cannot write, and its password is stored as SCRAM.
    with psycopg.connect(
        **dw.cluster.conninfo("supabase_fdw_reader", password, "bluconecta_dw")
    ) as r:
        assert r.execute("SELECT count(*) FROM dim_clientes").fetchone()[0] > 0
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            r.execute("INSERT INTO dim_clientes (codigo_cliente) VALUES (-1)")
    with dw.connect() as admin:
        stored = admin.execute(
            "SELECT rolpassword FROM pg_authid WHERE rolname = 'supabase_fdw_reader'"
        ).fetchone()[0]
        assert stored.startswith("SCRAM-SHA-256$")
        # A table the ETL creates later is readable too (default privileges FOR the ETL role).
    with dw.connect(user="etl_bluconecta") as etl:
        etl.execute("CREATE TABLE public.dim_nova (id int)")
    with psycopg.connect(
        **dw.cluster.conninfo("supabase_fdw_reader", password, "bluconecta_dw")
    ) as r:
        assert r.execute("SELECT count(*) FROM dim_nova").fetchone()[0] == 0

    # Neither the plaintext nor the verifier reached the server log, state or audit.
    log = dw.cluster.log_text(tail_bytes=2_000_000)
    assert "CREATE ROLE" in log  # log_statement = all was on
    assert password not in log
    data_dir = Path(__import__("os").environ["FDW_WIZARD_DATA_DIR"])
    for path in data_dir.rglob("*"):
        if path.is_file():
            text = path.read_text(errors="replace")
            assert password not in text and stored not in text

    second = runner.apply(["local.reader-role"])
    assert second.outcomes[-1].status is Status.DONE and not second.outcomes[-1].changed
    assert reader_secret(ctx) == password  # an idempotent run does not rotate the password

    undo = runner.undo(["local.reader-role"])
    assert undo.outcomes[0].status is Status.PENDING
    with dw.connect() as admin:
        assert (
            admin.execute(
                "SELECT count(*) FROM pg_roles WHERE rolname = 'supabase_fdw_reader'"
            ).fetchone()[0]
            == 0
        )
        admin.execute("DROP TABLE public.dim_nova")
        admin.execute("ALTER SYSTEM RESET log_statement")
        admin.execute("SELECT pg_reload_conf()")


def test_existing_md5_role_gets_a_scram_password(session: Any, private_testbed: TestBed) -> None:
    _ctx, runner = session
    dw = private_testbed.dw
    with dw.connect() as admin:
        admin.execute("SET password_encryption = 'md5'")
        admin.execute("CREATE ROLE supabase_fdw_reader LOGIN PASSWORD 'old-md5-password'")
    try:
        checked = runner.status(["local.reader-role"]).outcomes[-1]
        assert checked.status is Status.PENDING
        keys = {d.key for d in checked.details}
        assert "step.local.reader-role.md5" in keys
        report = runner.apply(["local.reader-role"])
        assert report.outcomes[-1].status is Status.DONE
        with dw.connect() as admin:
            stored = admin.execute(
                "SELECT rolpassword FROM pg_authid WHERE rolname = 'supabase_fdw_reader'"
            ).fetchone()[0]
        assert stored.startswith("SCRAM-SHA-256$")
        # The wizard did not create this role: undo revokes but keeps it.
        undo = runner.undo(["local.reader-role"])
        assert any(c.key == "step.local.reader-role.kept" for c in undo.outcomes[0].changes)
    finally:
        with dw.connect() as admin:
            admin.execute("DROP ROLE IF EXISTS supabase_fdw_reader")


def test_superuser_reader_is_refused(session: Any, private_testbed: TestBed) -> None:
    _ctx, runner = session
    with private_testbed.dw.connect() as admin:
        admin.execute("CREATE ROLE supabase_fdw_reader SUPERUSER LOGIN")
    try:
        report = runner.apply(["local.reader-role"])
        assert report.outcomes[-1].status is Status.FAILED
        assert report.outcomes[-1].message.key == "step.local.reader-role.superuser"
    finally:
        with private_testbed.dw.connect() as admin:
            admin.execute("DROP ROLE supabase_fdw_reader")
