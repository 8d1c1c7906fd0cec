"""The failure paths of Phase 1, run as the operator runs them: the CLI in a subprocess, against
the real local DW of a private test bed.

Each test starts from the DW as a fresh install leaves it (the files' bytes are recorded first)
and ends with the server up and every file byte-identical to before, whatever it broke on the way:
a restart that fails (port taken, a bad ssl_ca_file), an admin's edit after an apply, the wizard
killed at every mutation boundary (``FDW_WIZARD_FAULT``, wizard/faults.py), two runs at once.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.conftest import sandbox_config_for
from wizard import exitcodes, faults
from wizard.config import save_config
from wizard.runlock import RunLock
from wizard.testbed.bed import TestBed

pytestmark = pytest.mark.clusters

EXE = [sys.executable, "-m", "wizard.cli"]


class Site:
    """A config on disk for the private test bed, with its own data dir and secrets in env."""

    def __init__(self, bed: TestBed, folder: Path) -> None:
        self.bed = bed
        self.folder = folder
        self.path = folder / "fdw-wizard.yaml"
        self.env = dict(os.environ)
        self.env["FDW_WIZARD_SECRET_LOCAL_SUPERUSER"] = bed.passwords["dw-superuser"]
        self.env["FDW_WIZARD_SECRET_SUPABASE_DB"] = bed.passwords["supabase-postgres"]
        self.env["FDW_WIZARD_DATA_DIR"] = str(folder / "data")
        self.env.pop("FDW_WIZARD_FAULT", None)
        self.env["FDW_WIZARD_LANG"] = "en"
        self.cluster = bed.dw.cluster
        self.files = [self.cluster.conf_path, self.cluster.hba_path, self.auto_conf]

    @property
    def auto_conf(self) -> Path:
        return self.cluster.data_dir / "postgresql.auto.conf"

    def write_config(self, **exposure: Any) -> None:
        config = sandbox_config_for(self.bed)
        for key, value in exposure.items():
            setattr(config.exposure, key, value)
        save_config(config, self.path)

    def cli(
        self, *args: str, fault: str | None = None, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        env = dict(self.env)
        if fault:
            env["FDW_WIZARD_FAULT"] = fault
        return subprocess.run(
            [*EXE, *args, "--config", str(self.path)],
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )

    def snapshot(self) -> dict[Path, bytes | None]:
        return {p: (p.read_bytes() if p.exists() else None) for p in self.files}

    def generated(self) -> list[Path]:
        return sorted(self.cluster.data_dir.glob("fdw-wizard-server.*"))

    def accepts(self, port: int | None = None) -> bool:
        info = self.cluster.conninfo(
            "postgres", self.bed.passwords["dw-superuser"], "bluconecta_dw"
        )
        info["port"] = port or self.bed.dw.port
        info["connect_timeout"] = 3
        try:
            with psycopg.connect(**info) as conn:
                return conn.execute("SELECT 1").fetchone() == (1,)
        except psycopg.OperationalError:
            return False

    def setting(self, name: str) -> str:
        info = self.cluster.conninfo(
            "postgres", self.bed.passwords["dw-superuser"], "bluconecta_dw"
        )
        info["port"] = self.bed.dw.port
        with psycopg.connect(**info) as conn:
            row = conn.execute("SELECT current_setting(%s)", (name,)).fetchone()
        return str(row[0]) if row else ""

    def drop_reader(self) -> None:
        info = self.cluster.conninfo(
            "postgres", self.bed.passwords["dw-superuser"], "bluconecta_dw"
        )
        info["port"] = self.bed.dw.port
        with psycopg.connect(**info, autocommit=True) as conn:
            if conn.execute(
                "SELECT 1 FROM pg_roles WHERE rolname = 'supabase_fdw_reader'"
            ).fetchone():
                conn.execute("DROP OWNED BY supabase_fdw_reader")
                conn.execute("DROP ROLE supabase_fdw_reader")

    def ensure_running(self) -> None:
        if not self.accepts():
            self.cluster.start()


def said(proc: subprocess.CompletedProcess[str]) -> str:
    return proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def site(private_testbed: TestBed, tmp_path_factory: pytest.TempPathFactory) -> Site:
    return Site(private_testbed, tmp_path_factory.mktemp("failure-site"))


@pytest.fixture
def fresh(site: Site) -> Iterator[Site]:
    """The DW as the test found it, and put back so after the test (the server up, the same
    bytes), whatever the test did; the wizard's own memory starts empty each time."""
    import shutil

    site.ensure_running()
    site.drop_reader()  # a fresh install has no reader role (an earlier test may have left one)
    before = site.snapshot()
    shutil.rmtree(site.folder / "data", ignore_errors=True)
    site.write_config()
    yield site
    for path, data in before.items():
        if data is not None and (not path.exists() or path.read_bytes() != data):
            path.write_bytes(data)
    for extra in site.generated():
        extra.unlink()
    # The server may run on another port (a test that failed before its rollback): pg_ctl
    # finds it by its postmaster.pid either way.
    if site.cluster.is_running():
        site.cluster.restart()
    else:
        site.cluster.start()
    assert site.accepts()


def test_a_second_run_is_refused_while_one_holds_the_lock(fresh: Site) -> None:
    from wizard.config import load_config

    lock = RunLock.for_config(load_config(fresh.path), fresh.path)
    lock.acquire("apply")
    try:
        before = fresh.snapshot()
        proc = fresh.cli("apply", "--yes", "--only", "prereq,local")
        assert proc.returncode == exitcodes.OPERATOR, said(proc)
        assert f"pid {os.getpid()}" in proc.stderr
        assert "Nothing was changed" in proc.stderr
        assert fresh.snapshot() == before
        assert fresh.generated() == []
    finally:
        lock.release()
    # Released: the next run goes ahead (a dry run changes nothing, and needs no lock anyway).
    proc = fresh.cli("apply", "--dry-run", "--only", "local.listen")
    assert proc.returncode in (exitcodes.OK, exitcodes.OPERATOR), said(proc)


def test_two_real_runs_at_once_restart_the_server_once(fresh: Site) -> None:
    """apply & apply: one of them changes the DW, the other is refused naming it; the TLS key
    is generated once and the server ends up running the intended files."""
    fresh.write_config(listen_port=_free_port())
    env = dict(fresh.env)
    first = subprocess.Popen(
        [*EXE, "apply", "--yes", "--only", "prereq,local", "--config", str(fresh.path)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    time.sleep(0.3)
    second = fresh.cli("apply", "--yes", "--only", "prereq,local")
    out, err = first.communicate(timeout=300)
    codes = sorted([first.returncode, second.returncode])
    refused = second if second.returncode == exitcodes.OPERATOR else None
    if refused is None:  # the second won the race: then the first must have been refused
        assert first.returncode == exitcodes.OPERATOR, out + err
        assert "Another fdw-wizard run" in err
    else:
        assert "Another fdw-wizard run" in refused.stderr
        assert f"pid {first.pid}" in refused.stderr
    assert exitcodes.OPERATOR in codes
    assert len(fresh.generated()) == 2  # one key, one certificate
    proc = fresh.cli("rollback", "--yes", "--only", "local")
    assert proc.returncode == exitcodes.OK, said(proc)


def test_restart_onto_a_taken_port_restores_the_files_as_before_the_run(fresh: Site) -> None:
    before = fresh.snapshot()
    blocker = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    blocker.bind(("127.0.0.1", 0))
    blocker.listen(1)
    try:
        fresh.write_config(listen_port=blocker.getsockname()[1])
        proc = fresh.cli("apply", "--yes", "--only", "prereq,local")
    finally:
        blocker.close()
    text = said(proc)
    assert proc.returncode == exitcodes.FAILED, text
    assert fresh.accepts(), text  # the DW is up ...
    assert fresh.snapshot() == before, text  # ... on the very bytes it had before the run
    restored = next(line for line in text.splitlines() if "Restored:" in line)
    assert "as they were before this run" in restored
    assert restored.count(str(fresh.cluster.conf_path)) == 1, restored  # each file once
    assert "120 s" not in text
    assert "DOWN" not in text
    assert fresh.setting("listen_addresses") == "localhost"


def test_bad_ssl_ca_file_restart_comes_back_on_the_original_listen_addresses(
    fresh: Site,
) -> None:
    """The operator's file already names a missing ssl_ca_file (harmless while ssl is off);
    the wizard turns ssl on, the restart fails, and everything goes back as it was."""
    conf = fresh.cluster.conf_path
    conf.write_bytes(conf.read_bytes() + b"\nssl_ca_file = 'no-such-ca.crt'\n")
    fresh.cluster.reload()
    before = fresh.snapshot()
    fresh.write_config(listen_port=_free_port())
    proc = fresh.cli("apply", "--yes", "--only", "prereq,local")
    text = said(proc)
    assert proc.returncode == exitcodes.FAILED, text
    assert fresh.accepts(), text
    assert fresh.snapshot() == before, text
    assert fresh.setting("listen_addresses") == "localhost"
    assert fresh.setting("ssl") == "off"


def test_rollback_keeps_the_certificate_a_kept_conf_still_uses(fresh: Site) -> None:
    proc = fresh.cli("apply", "--yes", "--only", "prereq,local")
    assert proc.returncode == exitcodes.OK, said(proc)
    conf = fresh.cluster.conf_path
    conf.write_bytes(conf.read_bytes() + b"\nwork_mem = '8MB'\n")  # the admin's own edit
    proc = fresh.cli("rollback", "--yes", "--only", "local", "--json")
    text = said(proc)
    assert proc.returncode == exitcodes.OPERATOR, text
    report = json.loads(proc.stdout)
    reload = next(s for s in report["steps"] if s["step"] == "local.reload")
    assert reload["status"] == "failed"  # partly undone, on purpose: exit 3, with the reason
    assert "kept_in_use" in json.dumps(reload["details"])
    assert len(fresh.generated()) == 2  # still there: ssl = on in the kept file names them
    fresh.cluster.restart()  # what the next reboot does
    assert fresh.accepts()


@pytest.mark.parametrize("point", faults.POINTS)
def test_killed_at_every_mutation_boundary_then_rerun_or_restore(fresh: Site, point: str) -> None:
    """kill -9 of the wizard at each boundary; the next run names the dead one, and
    `rollback --interrupted` puts every byte back and the server up. A restart point is
    reached only when the restart fails (a taken port), the worst case: the DW left down."""
    before = fresh.snapshot()
    blocker = None
    if point.startswith("restart."):
        blocker = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        blocker.bind(("127.0.0.1", 0))
        blocker.listen(1)
        fresh.write_config(listen_port=blocker.getsockname()[1])
    try:
        proc = fresh.cli("apply", "--yes", "--only", "prereq,local", fault=point)
        assert proc.returncode == -9, said(proc)  # it really died there
        if point == "restart.failed":
            assert not fresh.accepts()  # the worst case is real: the DW is down
            doctor = fresh.cli("doctor")
            first = doctor.stderr.splitlines()[0] if doctor.stderr else ""
            assert "stopped while restarting" in first, said(doctor)
            assert "rollback --interrupted" in first
        status = fresh.cli("status", "--only", "local.listen")
        assert "stopped midway" in status.stderr or "stopped while restarting" in status.stderr
        proc = fresh.cli("rollback", "--interrupted", "--yes")
        text = said(proc)
        assert proc.returncode == exitcodes.OK, text
        assert fresh.accepts(), text
        assert fresh.snapshot() == before, text
        assert fresh.generated() == []
        again = fresh.cli("status", "--only", "local.listen")
        assert "midway" not in again.stderr and "while restarting" not in again.stderr
    finally:
        if blocker is not None:
            blocker.close()


def test_killed_during_a_failing_restart_the_next_apply_brings_the_server_back(
    fresh: Site,
) -> None:
    blocker = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    blocker.bind(("127.0.0.1", 0))
    blocker.listen(1)
    before = fresh.snapshot()
    try:
        fresh.write_config(listen_port=blocker.getsockname()[1])
        proc = fresh.cli("apply", "--yes", "--only", "prereq,local", fault="restart.failed")
        assert proc.returncode == -9
        assert not fresh.accepts()
        # "finish": the server does not start on the new files (the port is still taken),
        # so the files from before that run go back and the server starts on them.
        proc = fresh.cli("apply", "--yes", "--only", "prereq,local")
        text = said(proc)
        assert "stopped while restarting" in proc.stderr.splitlines()[0], text
        assert fresh.accepts(), text
        assert proc.returncode == exitcodes.FAILED, text  # the restart itself still cannot work
        assert fresh.snapshot() == before, text
    finally:
        blocker.close()


def _free_port() -> int:
    from wizard.testbed.pgcluster import free_loopback_port

    return free_loopback_port()


def test_the_tui_offers_to_restore_an_interrupted_run(
    fresh: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A window closed mid-run: the next TUI start names it and, on "r", puts the files back."""
    import asyncio

    from screens.app import WizardApp
    from screens.interrupted import InterruptedRunScreen
    from tests.tui_helpers import idle, screen_text
    from wizard.config import load_config
    from wizard.dwhost.platform.elevation import Elevation
    from wizard.i18n import Message, current_language, set_language

    before = fresh.snapshot()
    proc = fresh.cli("apply", "--yes", "--only", "prereq,local", fault="files.after-write")
    assert proc.returncode == -9
    assert fresh.snapshot() != before  # postgresql.conf already has the wizard's edit
    for name in ("FDW_WIZARD_SECRET_LOCAL_SUPERUSER", "FDW_WIZARD_SECRET_SUPABASE_DB"):
        monkeypatch.setenv(name, fresh.env[name])
    monkeypatch.setenv("FDW_WIZARD_DATA_DIR", fresh.env["FDW_WIZARD_DATA_DIR"])
    env = {
        "keyring": None,
        "elevation": Elevation(True, "root", Message("platform.elevation.root")),
    }
    language = current_language()

    async def scenario() -> None:
        app = WizardApp(fresh.path, lang="en", config=load_config(fresh.path), environment=env)
        async with app.run_test(size=(100, 30)) as pilot:
            app.run_status(["prereq.local-connection"])  # or the app's own first check
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                await pilot.pause(0.1)
                if isinstance(app.screen, InterruptedRunScreen):
                    break
            assert isinstance(app.screen, InterruptedRunScreen)
            shown = screen_text(app)
            assert "stopped midway" in shown and "restore" in shown
            await pilot.press("r")
            await idle(pilot)

    try:
        asyncio.run(scenario())
    finally:
        set_language(language)
    assert fresh.snapshot() == before
    assert fresh.accepts()


def test_a_bad_setting_in_auto_conf_stops_the_restart_before_it_happens(fresh: Site) -> None:
    """`postgres -C` reads postgresql.auto.conf too: the restart is refused up front and the
    server keeps running (nothing was stopped)."""
    auto = fresh.auto_conf
    auto.write_bytes(auto.read_bytes() + b"shared_buffers = 'lots'\n")
    fresh.write_config(listen_port=_free_port())
    proc = fresh.cli("apply", "--yes", "--only", "prereq,local")
    text = said(proc)
    assert proc.returncode == exitcodes.FAILED, text
    assert "not restarted" in text, text
    assert "shared_buffers" in text
    assert fresh.accepts()
    assert fresh.setting("listen_addresses") == "localhost"  # still the running config


def test_rollback_onto_a_file_postgresql_rejects_says_so_and_keeps_the_certificate(
    fresh: Site,
) -> None:
    """The operator's postgresql.conf had a UTF-8 BOM (an editor saved it while the server
    ran). The wizard writes none; rollback puts the exact bytes back, BOM included — and then
    must not claim success, nor delete the certificate the running server still uses."""
    conf = fresh.cluster.conf_path
    conf.write_bytes(b"\xef\xbb\xbf" + conf.read_bytes())
    proc = fresh.cli("apply", "--yes", "--only", "prereq,local")
    assert proc.returncode == exitcodes.OK, said(proc)
    assert not conf.read_bytes().startswith(b"\xef\xbb\xbf")
    proc = fresh.cli("rollback", "--yes", "--only", "local")
    text = said(proc)
    assert proc.returncode != exitcodes.OK, text
    assert conf.read_bytes().startswith(b"\xef\xbb\xbf")  # byte-identical to the original
    assert "PostgreSQL reports errors" in text
    assert len(fresh.generated()) == 2
    assert fresh.accepts()


def test_a_lock_left_by_a_dead_run_is_taken_over_and_named(fresh: Site) -> None:
    from wizard.config import load_config
    from wizard.runlock import lock_dir

    lock = RunLock.for_config(load_config(fresh.path), fresh.path)
    key = lock.keys[0][0]
    dead = {"pid": 999999, "host": "here", "command": "apply", "started_at": "earlier"}
    (lock_dir() / f"{key}.json").parent.mkdir(parents=True, exist_ok=True)
    (lock_dir() / f"{key}.json").write_text(json.dumps({**dead, "config": ""}))
    proc = fresh.cli("apply", "--yes", "--only", "prereq.local-connection")
    assert proc.returncode == exitcodes.OK, said(proc)
    assert "pid 999999" in proc.stderr and "ended without releasing its lock" in proc.stderr
    assert not (lock_dir() / f"{key}.json").exists()  # released at the end of this run


def test_rollback_drops_the_reader_even_with_grants_another_step_gave_it(fresh: Site) -> None:
    """A grant elsewhere in the DW (aggregate views, an admin's) must not make the rollback
    leave a LOGIN role behind; a role that owns objects is kept, and said so."""
    proc = fresh.cli("apply", "--yes", "--only", "prereq,local")
    assert proc.returncode == exitcodes.OK, said(proc)
    info = fresh.cluster.conninfo("postgres", fresh.bed.passwords["dw-superuser"], "bluconecta_dw")
    info["port"] = fresh.bed.dw.port
    with psycopg.connect(**info, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA extra_grants; CREATE TABLE extra_grants.t (x int)")
        conn.execute("GRANT USAGE ON SCHEMA extra_grants TO supabase_fdw_reader")
        conn.execute("GRANT SELECT ON extra_grants.t TO supabase_fdw_reader")
    try:
        proc = fresh.cli("rollback", "--yes", "--only", "local")
        assert proc.returncode == exitcodes.OK, said(proc)
        with psycopg.connect(**info) as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_roles WHERE rolname = 'supabase_fdw_reader'"
            ).fetchone()
        assert row == (0,)
    finally:
        with psycopg.connect(**info, autocommit=True) as conn:
            conn.execute("DROP SCHEMA extra_grants CASCADE")
