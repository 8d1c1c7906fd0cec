"""Shared fixtures: the real two-cluster test bed (started once per session).

Cluster tests skip with a reason when the PostgreSQL server binaries are absent, except in CI
(env CI=true), where a missing PostgreSQL must fail the run instead of hiding every test.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from wizard.config import Config, save_config
from wizard.session import open_session
from wizard.testbed.bed import Endpoint, TestBed, start_testbed, traversable_tempdir
from wizard.testbed.pgcluster import ClusterError, PgBinaries, find_pg_binaries

TESTBED_SCALE = 0.03


@pytest.fixture(scope="session")
def pg_bins() -> PgBinaries:
    """The PostgreSQL server binaries, or a skip (a failure in CI)."""
    try:
        return find_pg_binaries()
    except ClusterError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL server binaries are required in CI: {exc}")
        pytest.skip(f"PostgreSQL server binaries not found: {exc}")


@pytest.fixture(scope="session")
def testbed(pg_bins: PgBinaries) -> Iterator[TestBed]:
    """Both clusters (local DW + Supabase-like), seeded, for the whole session."""
    base = traversable_tempdir("fdw-wizard-test-")
    bed = start_testbed(base / "bed", scale=TESTBED_SCALE, bins=pg_bins)
    try:
        yield bed
    finally:
        try:
            bed.stop(remove=True)
        finally:
            shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def dw(testbed: TestBed) -> Endpoint:
    """The local DW: ``.cluster``, ``.dbname`` (bluconecta_dw), ``.connect(user=, dbname=)``
    (default user postgres), ``.password(role)`` for postgres / etl_bluconecta."""
    return testbed.dw


@pytest.fixture(scope="session")
def supabase(testbed: TestBed) -> Endpoint:
    """The Supabase-like cluster: ``.connect(user=, dbname=)`` (default user supabase_admin,
    database postgres), ``.password(role)`` for supabase_admin / postgres."""
    return testbed.supabase


@pytest.fixture(scope="module")
def private_testbed(pg_bins: PgBinaries) -> Iterator[TestBed]:
    """A test bed of its own for a module whose tests change the clusters (roles, conf files,
    restarts), so the shared one stays as a fresh install leaves it."""
    base = traversable_tempdir("fdw-wizard-private-")
    bed = start_testbed(base / "bed", scale=0.01, bins=pg_bins)
    try:
        yield bed
    finally:
        try:
            bed.stop(remove=True)
        finally:
            shutil.rmtree(base, ignore_errors=True)


def sandbox_config_for(bed: TestBed) -> Config:
    """The config `fdw-wizard demo` would write for this test bed."""
    from wizard.testbed.sandbox import sandbox_config

    cluster = bed.dw.cluster
    return sandbox_config(
        bed.dw.port, bed.supabase.port, cluster.data_dir, cluster.bins.bin_dir, cluster.owner
    )


@pytest.fixture
def bed_secrets(monkeypatch: pytest.MonkeyPatch) -> Callable[[TestBed], None]:
    """Expose a test bed's superuser passwords the way automation would (env variables)."""

    def apply(bed: TestBed) -> None:
        monkeypatch.setenv("FDW_WIZARD_SECRET_LOCAL_SUPERUSER", bed.passwords["dw-superuser"])
        monkeypatch.setenv("FDW_WIZARD_SECRET_SUPABASE_DB", bed.passwords["supabase-postgres"])

    return apply


@pytest.fixture(scope="module")
def applied_site(
    private_testbed: TestBed, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """The module's own test bed with the wizard's Phases 1-3 applied, as a site would have it:
    the config file on disk, secrets in the environment (``env`` for subprocesses too), a data
    dir of its own. Keys: bed, ctx, runner, config, path, folder, env, setup (the apply report)."""
    bed = private_testbed
    folder = tmp_path_factory.mktemp("site")
    mp = pytest.MonkeyPatch()
    mp.setenv("FDW_WIZARD_SECRET_LOCAL_SUPERUSER", bed.passwords["dw-superuser"])
    mp.setenv("FDW_WIZARD_SECRET_SUPABASE_DB", bed.passwords["supabase-postgres"])
    mp.setenv("FDW_WIZARD_DATA_DIR", str(folder / "data"))
    config = sandbox_config_for(bed)
    path = folder / "fdw-wizard.yaml"
    save_config(config, path)
    ctx, runner = open_session(config, path)
    setup = runner.apply(["prereq", "local", "supabase", "views"], confirm=lambda s, p: True)
    assert setup.exit_code == 0, [(o.step_id, o.message.render("en")) for o in setup.outcomes]
    env = dict(os.environ)
    try:
        yield {
            "bed": bed,
            "ctx": ctx,
            "runner": runner,
            "config": config,
            "path": path,
            "folder": folder,
            "env": env,
            "setup": setup,
        }
    finally:
        ctx.close()
        mp.undo()
