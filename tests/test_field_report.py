"""`fdw-wizard field-report`: for real on Linux (a private test bed), and on Windows by the
recorded outputs (the FAKE RecordedRunner / MappingRegistry). Both archives are replayed with
tests/recorded/field_bundle.py, and neither holds a planted secret."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import sandbox_config_for
from tests.recorded import windows as rec
from tests.recorded.field_bundle import FieldBundle
from tests.test_platform_windows import (
    FW_LOOKUP,
    NET_PROFILES,
    NETSH,
    POLICY,
    RESTART,
    SC,
    FakeKernel32,
    events,
)
from wizard.config import save_config
from wizard.dwhost.field_report import collect, write_archive
from wizard.dwhost.platform.linux import LinuxFirewall, PgCtlControl
from wizard.dwhost.platform.runner import RecordedRunner, recorded
from wizard.dwhost.platform.windows import (
    WindowsFirewall,
    WindowsService,
    discover_installations,
    parse_events,
)
from wizard.testbed.bed import TestBed

PLANTED = "Planted-Secret-9f3b1c7e5d"
PLANTED_ENV = "Planted-Env-Secret-42aa7c"


def archive_bytes(path: Path) -> bytes:
    return gzip.decompress(path.read_bytes())


# -- Linux, for real ---------------------------------------------------------------------------


@pytest.mark.clusters
def test_field_report_on_linux_for_real(private_testbed: TestBed, tmp_path: Path) -> None:
    bed = private_testbed
    cluster = bed.dw.cluster
    config_path = tmp_path / "fdw-wizard.yaml"
    save_config(sandbox_config_for(bed), config_path)
    env = dict(os.environ)
    env["FDW_WIZARD_SECRET_LOCAL_SUPERUSER"] = PLANTED
    env["PGPASSWORD"] = PLANTED_ENV
    # The planted secret shows up in an output the report captures (postgres -C log_directory):
    # it is masked because the wizard knows the value.
    conf_before = cluster.conf_path.read_bytes()
    cluster.conf_path.write_bytes(conf_before + f"log_directory = 'log-{PLANTED}'\n".encode())
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "wizard.cli", "field-report", "--out", str(tmp_path / "out"),
             "--config", str(config_path), "--json"],
            capture_output=True, text=True, env=env, timeout=300, check=False,
        )  # fmt: skip
    finally:
        cluster.conf_path.write_bytes(conf_before)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    archive = Path(report["archive"])
    assert archive.parent == tmp_path / "out" and archive.name.endswith(".tar.gz")
    assert (archive.stat().st_mode & 0o777) == 0o600
    raw = archive_bytes(archive)
    assert PLANTED.encode() not in raw and PLANTED_ENV.encode() not in raw
    assert PLANTED not in proc.stdout + proc.stderr

    bundle = FieldBundle.load(archive)
    assert bundle.system == "linux" and report["captures"] == len(bundle.captures)
    assert PLANTED not in bundle.all_text() and PLANTED_ENV not in bundle.all_text()
    assert bundle["environment"].data["PGPASSWORD"] == "********"
    assert bundle["server0.postgres-C-first.log_directory"].stdout.strip() == "log-********"
    # -C first answers; the other order is what an elevated process must not use.
    assert bundle["server0.postgres-C-first.port"].stdout.strip() == str(cluster.port)
    assert bundle["server0.postgres-C-first.port"].argv[1:3] == ["-C", "port"]
    wrong = bundle["server0.postgres-D-then-C.port"]
    if os.geteuid() == 0:
        assert wrong.returncode != 0 and "root" in wrong.stderr
    files = bundle["server0.stat"].data["files"]
    assert files[0]["path"].rstrip("/") == str(cluster.data_dir)
    assert files[0]["owner"] == (cluster.owner or files[0]["owner"])
    assert "usable" in bundle["keyring"].data or "error" in bundle["keyring"].data
    assert {"firewall.ufw", "firewall.nftables", "pg_lsclusters"} <= set(bundle.captures)

    # Replayed as recorded outputs into the code that parses them.
    runner = bundle.runner("server0.pg_ctl-status")
    control = PgCtlControl(cluster.data_dir, cluster.bins.bin_dir, runner, os_user=cluster.owner)
    assert control.status().running
    runner.assert_all_used()
    fw_names = ["firewall.ufw", "firewall.firewalld", "firewall.nftables", "firewall.iptables"]
    assert LinuxFirewall(bundle.runner(*fw_names)).detect() in (
        "ufw", "firewalld", "nftables", "iptables", "none",
    )  # fmt: skip


# -- Windows, by recorded outputs ----------------------------------------------------------------

BIN = r"C:\Program Files\PostgreSQL\16\bin"
POSTGRES = BIN + r"\postgres.exe"
ICACLS = r"C:\Windows\System32\icacls.exe"
NETSH_RULE = [
    NETSH, "advfirewall", "firewall", "show", "rule", "name=fdw-wizard-postgresql", "verbose",
]  # fmt: skip


def windows_conversation() -> list[tuple[list[str], Any]]:
    """Every command field-report runs on the EDB 16 host, in order, with its exact argv."""
    script: list[tuple[list[str], Any]] = [
        ([SC, "query", rec.SVC], recorded(rec.SC_QUERY_RUNNING_PT_BR)),
        ([POSTGRES, "-D", rec.DATA_DIR, "-C", "port"], recorded("", 1, rec.POSTGRES_ADMIN_REFUSED)),
    ]
    for param, value in rec.POSTGRES_C_VALUES.items():
        script.append(([POSTGRES, "-C", param, "-D", rec.DATA_DIR], recorded(value)))
    script.append(([ICACLS, rec.DATA_DIR], recorded(rec.ICACLS_DATA_DIR)))
    for name in ("postgresql.conf", "pg_hba.conf", "postgresql.auto.conf"):
        script.append(([ICACLS, rec.DATA_DIR + "\\" + name], recorded(rec.ICACLS_DATA_DIR)))
    script += [
        (FW_LOOKUP, recorded(rec.FW_MATCHING)),
        (NETSH_RULE, recorded(rec.NETSH_RULE_PT_BR)),
        (NET_PROFILES, recorded(rec.NET_PROFILES_PRIVATE)),
        (POLICY, recorded(rec.FW_ACTIVE_POLICY)),
        ([NETSH, "advfirewall", "show", "allprofiles"], recorded(rec.NETSH_ALLPROFILES_PT_BR)),
        (events(7 * 24 * 3600), recorded(rec.EVENTS_START_FAILED)),
    ]
    return script


class ConsoleKernel32(FakeKernel32):
    """A FAKE kernel32 for TESTS ONLY: the code pages of a pt-BR Windows Server console."""

    def GetConsoleCP(self) -> int:
        return 850

    def GetConsoleOutputCP(self) -> int:
        return 850

    def GetOEMCP(self) -> int:
        return 850

    def GetACP(self) -> int:
        return 1252


def test_field_report_on_windows_by_recorded_outputs(tmp_path: Path) -> None:
    from wizard.dwhost.platform.windows import MappingRegistry

    fake = RecordedRunner(windows_conversation())
    captures = collect(
        system="windows",
        runner=fake,
        registry=MappingRegistry(rec.EDB16_REGISTRY),
        is_admin=lambda: True,
        kernel32=ConsoleKernel32(),
        environ={"FDW_WIZARD_SECRET_READER": PLANTED, "PGPASSWORD": PLANTED_ENV, "LANG": "pt_BR"},
    )
    fake.assert_all_used()
    archive = write_archive(captures, tmp_path, system="windows")
    raw = archive_bytes(archive)
    assert PLANTED.encode() not in raw and PLANTED_ENV.encode() not in raw

    bundle = FieldBundle.load(archive)
    assert bundle["console"].data["console_output_cp"] == 850
    assert bundle["console"].data["ansi_cp"] == 1252
    assert bundle["elevation"].data == {"elevated": True, "how": "administrator"}
    # The registry dump holds the PostgreSQL keys only (not every service of the machine).
    assert not any("Spooler" in key for key in bundle["registry"].data)
    (inst,) = discover_installations(bundle.registry())
    assert inst.service == rec.SVC and inst.bin_dir == BIN

    runner = bundle.runner(f"service.{rec.SVC}.sc-query")
    assert WindowsService(rec.SVC, runner).status().running
    runner.assert_all_used()
    firewall = WindowsFirewall(bundle.runner("firewall.rule.powershell"))
    rule = firewall.current_rule()
    assert rule is not None and rule.local_ports == ("5432",)
    assert "administrative permissions" in bundle["server0.postgres-D-then-C.port"].stderr
    assert bundle["server0.postgres-C-first.lc_messages"].stdout == "Portuguese_Brazil.1252\n"
    (first, second) = parse_events(bundle["eventlog.postgresql"].stdout)
    assert "server.crt" in first.message and second.level == 2
    assert json.loads(bundle["firewall.active-policy"].stdout)[2]["AllowLocalFirewallRules"] == (
        "False"
    )


def test_restart_timing_on_windows_records_every_state(tmp_path: Path) -> None:
    from wizard.dwhost.platform.windows import MappingRegistry

    restart = [
        ([SC, "query", rec.SVC], recorded(rec.SC_QUERY_RUNNING)),
        (RESTART, recorded(rec.RESTART_SERVICE_OK)),
        ([SC, "query", rec.SVC], recorded(rec.SC_QUERY_START_PENDING)),
        ([SC, "query", rec.SVC], recorded(rec.SC_QUERY_RUNNING)),
    ]
    fake = RecordedRunner(windows_conversation() + restart)
    captures = collect(
        system="windows",
        runner=fake,
        registry=MappingRegistry(rec.EDB16_REGISTRY),
        is_admin=lambda: True,
        kernel32=ConsoleKernel32(),
        environ={},
        restart=lambda runner: WindowsService(rec.SVC, runner, sleep=lambda s: None),
    )
    fake.assert_all_used()
    bundle = FieldBundle.load(write_archive(captures, tmp_path, system="windows"))
    assert bundle.names("restart.") == [
        "restart.01", "restart.02", "restart.03", "restart.04", "restart.summary",
    ]  # fmt: skip
    assert bundle["restart.02"].argv == RESTART
    assert bundle["restart.summary"].data["ok"] is True
    # Replayed: the same restart, from the archive.
    runner = bundle.runner("restart.01", "restart.02", "restart.03", "restart.04")
    assert WindowsService(rec.SVC, runner, sleep=lambda s: None).restart().running


@pytest.mark.clusters
def test_restart_timing_on_linux_for_real(private_testbed: TestBed, tmp_path: Path) -> None:
    cluster = private_testbed.dw.cluster
    pid_before = (cluster.data_dir / "postmaster.pid").read_text().splitlines()[0]
    captures = collect(
        system="linux",
        restart=lambda runner: PgCtlControl(
            cluster.data_dir, cluster.bins.bin_dir, runner, os_user=cluster.owner,
            port=cluster.port,
        ),
    )  # fmt: skip
    summary = next(c for c in captures if c.name == "restart.summary").data
    assert summary["ok"] is True, summary
    assert summary["seconds"] > 0 and summary["method"] == "pg_ctl"
    assert (cluster.data_dir / "postmaster.pid").read_text().splitlines()[0] != pid_before
    assert any(c.name.startswith("restart.0") and "restart" in c.argv for c in captures)
