"""The elevated-administrator condition of Windows, emulated on Linux as root.

On the operator's server the wizard runs elevated and has no OS user to switch to: every
PostgreSQL binary it runs itself (``postgres -C``) runs with the administrator's token, which
postgres refuses unless ``-C`` is the first argument (src/backend/main/main.c). Here the same
condition is root with ``local.os_user: root``: the wizard's own PostgreSQL invocations run as
root without switching user, while the server keeps running as the ``postgres`` OS user (as the
Windows service runs as its service account). Phase 1 must still work end to end.

The ``postgres`` in the bin dir the wizard is given is a logging wrapper (a shell script that
records its uid and argv, then execs the real binary) — instrumentation, not a fake: the real
server answers. ``pg_ctl`` is a symlink, and resolves its own ``postgres`` through it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import sandbox_config_for
from wizard.config import save_config
from wizard.dwhost.pgfiles import judge
from wizard.testbed.bed import TestBed, traversable_tempdir
from wizard.testbed.pgcluster import is_root

pytestmark = [
    pytest.mark.clusters,
    pytest.mark.skipif(not is_root(), reason="the emulation needs root (as in CI)"),
]


@pytest.fixture(scope="module")
def logged_bins(private_testbed: TestBed) -> Iterator[tuple[Path, Path]]:
    """(bin dir whose ``postgres`` logs each call, the log file)."""
    real = private_testbed.dw.cluster.bins.bin_dir
    base = traversable_tempdir("fdw-wizard-admin-")
    shim = base / "bin"
    shim.mkdir()
    shim.chmod(0o755)
    log = base / "postgres-calls.log"
    for entry in real.iterdir():
        if entry.name != "postgres":
            (shim / entry.name).symlink_to(entry)
    wrapper = shim / "postgres"
    wrapper.write_text(
        f'#!/bin/sh\necho "$(id -u) $*" >> "{log}"\nexec "{real / "postgres"}" "$@"\n',
        encoding="utf-8",
    )
    wrapper.chmod(0o755)
    try:
        yield shim, log
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_root_is_refused_unless_minus_c_comes_first(private_testbed: TestBed) -> None:
    cluster = private_testbed.dw.cluster
    postgres = str(cluster.bins.tool("postgres"))
    wrong = subprocess.run(
        [postgres, "-D", str(cluster.data_dir), "-C", "port"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert wrong.returncode != 0 and "root" in wrong.stderr
    argv = judge.postgres_check_argv(postgres, cluster.data_dir, "port")
    assert argv[1:3] == ["-C", "port"]
    assert judge.postgres_check(cluster.bins.bin_dir, cluster.data_dir, "port", run_as="root") == (
        str(cluster.port)
    )


def test_phase1_end_to_end_as_an_unswitched_admin(
    private_testbed: TestBed, logged_bins: tuple[Path, Path], tmp_path: Path
) -> None:
    bed = private_testbed
    shim, log = logged_bins
    config = sandbox_config_for(bed)
    config.local.os_user = "root"
    config.local.bin_dir = str(shim)
    path = tmp_path / "fdw-wizard.yaml"
    save_config(config, path)
    env = dict(os.environ)
    env["FDW_WIZARD_SECRET_LOCAL_SUPERUSER"] = bed.passwords["dw-superuser"]
    env["FDW_WIZARD_SECRET_SUPABASE_DB"] = bed.passwords["supabase-postgres"]
    env["FDW_WIZARD_DATA_DIR"] = str(tmp_path / "data")

    def apply() -> subprocess.CompletedProcess[str]:
        argv = ["apply", "--only", "prereq,local", "--yes", "--json", "--config", str(path)]
        return subprocess.run(
            [sys.executable, "-m", "wizard.cli", *argv],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
            check=False,
        )

    result = apply()
    assert result.returncode == 0, result.stdout + result.stderr
    steps: dict[str, Any] = {s["step"]: s["status"] for s in json.loads(result.stdout)["steps"]}
    assert steps["local.reload"] == "done"
    assert all(status in ("done", "n/a") for status in steps.values()), steps

    # The restart was judged by postgres -C, run as root (uid 0) with -C first.
    calls = log.read_text(encoding="utf-8").splitlines()
    checks = [c for c in calls if " -C " in f" {c} "]
    assert checks, calls
    assert all(c.split()[0] == "0" and c.split()[1] == "-C" for c in checks), checks
    # The server still runs as its own OS user, never as root.
    pid = (bed.dw.cluster.data_dir / "postmaster.pid").read_text().splitlines()[0]
    assert Path(f"/proc/{pid}").stat().st_uid != 0

    second = apply()
    assert second.returncode == 0, second.stdout + second.stderr


def test_not_elevated_on_windows_is_said_before_the_data_dir_is_touched(
    private_testbed: TestBed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other side of the condition: a Windows operator who forgot "Run as administrator".
    The data dir's ACL hides its files from such a process (emulated: stat raises
    PermissionError there); the step must say "relaunch elevated", not "not this host"."""
    from wizard.dwhost.platform import elevation, windows
    from wizard.engine import Status
    from wizard.session import open_session

    bed = private_testbed
    monkeypatch.setattr(elevation, "current_system", lambda: "windows")
    monkeypatch.setattr(windows, "is_elevated", lambda: False)
    data_dir = str(bed.dw.cluster.data_dir)
    real_exists = Path.exists

    def hidden(self: Path, *args: Any, **kwargs: Any) -> bool:
        if str(self).startswith(data_dir + "/"):
            raise PermissionError(13, "Access is denied", str(self))
        return real_exists(self, *args, **kwargs)

    monkeypatch.setattr(Path, "exists", hidden)
    monkeypatch.setenv("FDW_WIZARD_SECRET_LOCAL_SUPERUSER", bed.passwords["dw-superuser"])
    monkeypatch.setenv("FDW_WIZARD_SECRET_SUPABASE_DB", bed.passwords["supabase-postgres"])
    monkeypatch.setenv("FDW_WIZARD_DATA_DIR", str(tmp_path / "data"))
    ctx, runner = open_session(sandbox_config_for(bed), tmp_path / "fdw-wizard.yaml")
    try:
        outcome = runner.status(["prereq.elevation"]).outcomes[-1]
    finally:
        ctx.close()
    assert outcome.status is Status.FAILED
    assert outcome.message.key == "step.prereq.elevation.needed"
    (relaunch,) = outcome.details
    assert relaunch.key == "platform.elevation.relaunch_windows"
    assert "& '" in relaunch.render("pt-BR")


def test_firewall_step_is_not_done_when_a_gpo_makes_the_rule_inert(
    private_testbed: TestBed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The step on a Windows host, its firewall commands answered by the FAKE RecordedRunner
    (recorded outputs): a domain GPO ignores local rules on the Public profile."""
    import wizard.dwhost.platform as platform_mod
    from tests.recorded import windows as rec
    from tests.test_platform_windows import FW_LOOKUP, NET_PROFILES, POLICY
    from wizard.dwhost.platform import Platform
    from wizard.dwhost.platform.runner import RecordedRunner, recorded
    from wizard.engine import Status
    from wizard.session import open_session

    bed = private_testbed
    fake = RecordedRunner(
        [
            (FW_LOOKUP, recorded(rec.FW_MATCHING)),
            (NET_PROFILES, recorded(rec.NET_PROFILES_PRIVATE)),
            (POLICY, recorded(rec.FW_ACTIVE_POLICY)),
        ]
    )
    monkeypatch.setattr(platform_mod, "current", lambda runner=None: Platform("windows", fake))
    monkeypatch.setenv("FDW_WIZARD_SECRET_LOCAL_SUPERUSER", bed.passwords["dw-superuser"])
    monkeypatch.setenv("FDW_WIZARD_SECRET_SUPABASE_DB", bed.passwords["supabase-postgres"])
    monkeypatch.setenv("FDW_WIZARD_DATA_DIR", str(tmp_path / "data"))
    config = sandbox_config_for(bed)
    config.exposure.listen_addresses = "*"
    config.exposure.allowed_cidrs = ["203.0.113.10/32", "198.51.100.0/24"]
    ctx, runner = open_session(config, tmp_path / "fdw-wizard.yaml")
    try:
        outcome = runner.status(["local.firewall"]).outcomes[-1]
    finally:
        ctx.close()
    fake.assert_all_used()
    assert outcome.status is Status.FAILED, outcome.message.render("en")
    assert outcome.message.key == "platform.firewall.gpo_ignores_local_rules"
    assert "Public" in outcome.message.render("en")
