"""Linux platform code: for real where it can run here (a throwaway cluster controlled through
pg_ctl, this machine's pg_lsclusters and firewall), recorded outputs for the rest."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.recorded import linux as rec
from wizard.dwhost.platform import current, service_control_for
from wizard.dwhost.platform.elevation import check_elevation, relaunch_command
from wizard.dwhost.platform.linux import (
    C_LOCALE,
    LinuxFirewall,
    PgCtlClusterControl,
    PgCtlControl,
    SystemdControl,
    control_for,
    owner_of,
    parse_pg_lsclusters,
    parse_ufw_status,
)
from wizard.dwhost.platform.runner import (
    PlatformError,
    RecordedRunner,
    SubprocessRunner,
    recorded,
)
from wizard.dwhost.platform.service import ServiceStatus, probe_postgres
from wizard.testbed.pgcluster import Cluster, PgBinaries, free_loopback_port, is_root

ADDRESSES = ["203.0.113.10", "198.51.100.0/24"]
UFW = ["ufw", "status"]
FIREWALLD = ["firewall-cmd", "--state"]
NFT = ["nft", "list", "ruleset"]
IPTABLES = ["iptables", "-S", "INPUT"]
LSCLUSTERS = ["pg_lsclusters"]


# -- the runner, for real ---------------------------------------------------------------------


def test_subprocess_runner_basics() -> None:
    runner = SubprocessRunner()
    ok = runner.run(["sh", "-c", "cat; echo err >&2"], timeout=10, input_text="héllo")
    assert ok.ok and ok.stdout == "héllo" and ok.stderr == "err\n"
    env = runner.run(["sh", "-c", "echo $FDW_X"], timeout=10, env={"FDW_X": "y"})
    assert env.stdout == "y\n"
    missing = runner.run(["/nonexistent/tool"], timeout=10)
    assert missing.not_found and not missing.ok
    assert missing.error().message.key == "platform.command.not_found"


def test_subprocess_runner_timeout_is_a_result_not_a_hang() -> None:
    # The child leaves a grandchild holding stdout open: pipes would block until it exits.
    result = SubprocessRunner().run(["sh", "-c", "sleep 30 & sleep 30"], timeout=0.5)
    assert result.timed_out and result.duration_s < 10
    assert result.error().message.key == "platform.command.timeout"


# -- pg_lsclusters ------------------------------------------------------------------------------


def test_parse_recorded_pg_lsclusters() -> None:
    clusters = parse_pg_lsclusters(rec.PG_LSCLUSTERS_MANY)
    assert [(c.version, c.name, c.port, c.online) for c in clusters] == [
        ("13", "old", 5434, False),
        ("15", "main", 5432, True),
        ("16", "main", 5433, True),
    ]
    assert clusters[0].log_file is None
    assert clusters[1].log_file == "/var/log/postgresql/postgresql-15-main.log"


@pytest.mark.skipif(shutil.which("pg_lsclusters") is None, reason="no postgresql-common here")
def test_parse_this_machines_pg_lsclusters() -> None:
    result = SubprocessRunner().run(LSCLUSTERS, timeout=30, env=dict(C_LOCALE))
    assert result.ok, result.output
    clusters = parse_pg_lsclusters(result.stdout)
    assert len(clusters) == len([ln for ln in result.stdout.splitlines()[1:] if ln.strip()])
    debian = [c for c in clusters if (c.version, c.name) == ("15", "main")]
    if debian:  # the Debian image of this project: 15/main, installed but down
        (main,) = debian
        assert main.data_dir == "/var/lib/postgresql/15/main" and main.owner == "postgres"
        control = service_control_for(data_dir=main.data_dir, port=main.port)
        assert isinstance(control, PgCtlClusterControl)
        assert control.restart_argv() == ["pg_ctlcluster", "15", "main", "restart"]
        assert control.log_location() == main.log_file
        expected = ServiceStatus.RUNNING if main.online else ServiceStatus.STOPPED
        assert control.status().status is expected  # reads only; the cluster is not touched


def test_pg_ctlcluster_restart_recorded() -> None:
    fake = RecordedRunner(
        [
            (LSCLUSTERS, recorded(rec.PG_LSCLUSTERS_MANY)),
            (["pg_ctlcluster", "16", "main", "restart"], recorded("")),
            (LSCLUSTERS, recorded(rec.PG_LSCLUSTERS_MANY)),
            (["pg_ctlcluster", "16", "main", "reload"], recorded("")),
        ]
    )
    control = control_for(
        control="auto",
        service="auto",
        data_dir="/srv/pg/16/main",
        bin_dir="auto",
        os_user="auto",
        port=None,
        runner=fake,
        systemd=False,
    )
    assert isinstance(control, PgCtlClusterControl)
    assert control.restart().running
    control.reload()
    fake.assert_all_used()
    assert fake.calls[1].env == C_LOCALE


def test_pg_ctlcluster_failed_restart_recorded() -> None:
    down = rec.PG_LSCLUSTERS_MANY.replace("5432 online ", "5432 down   ")
    fake = RecordedRunner(
        [
            (
                ["pg_ctlcluster", "15", "main", "restart"],
                recorded("", 1, "Job for postgresql@15-main.service failed.\n"),
            ),
            (LSCLUSTERS, recorded(down)),
        ]
    )
    control = PgCtlClusterControl(
        "15", "main", fake, log_file="/var/log/postgresql/postgresql-15-main.log"
    )
    with pytest.raises(PlatformError) as info:
        control.restart()
    fake.assert_all_used()
    assert info.value.message.params["state"] == "stopped (down)"
    assert info.value.fix is not None
    assert info.value.fix.params["log"] == "/var/log/postgresql/postgresql-15-main.log"


# -- systemd ------------------------------------------------------------------------------------


def test_systemd_unit_found_by_its_pgdata() -> None:
    list_units = [
        "systemctl", "list-units", "--type=service", "--all", "--no-legend", "--plain",
        "postgresql*",
    ]  # fmt: skip
    show = ["systemctl", "show", "-p", "ExecStart,Environment"]
    state = ["systemctl", "show", "-p", "LoadState,ActiveState,SubState", "postgresql-16.service"]
    fake = RecordedRunner(
        [
            (LSCLUSTERS, recorded(not_found=True)),
            (list_units, recorded(rec.SYSTEMCTL_LIST_UNITS)),
            ([*show, "postgresql-16.service"], recorded(rec.SYSTEMCTL_SHOW_PG16)),
            (["systemctl", "restart", "postgresql-16.service"], recorded("")),
            (state, recorded(rec.SYSTEMCTL_STATE_ACTIVE)),
        ]
    )
    control = control_for(
        control="auto",
        service="auto",
        data_dir="/var/lib/pgsql/16/data",
        bin_dir="auto",
        os_user="auto",
        port=None,
        runner=fake,
        systemd=True,
    )
    assert isinstance(control, SystemdControl)
    assert control.unit == "postgresql-16.service"
    assert control.reload_argv() == ["systemctl", "reload", "postgresql-16.service"]
    assert control.restart().raw == "active/running"
    fake.assert_all_used()


def test_systemd_unit_that_fails() -> None:
    state = ["systemctl", "show", "-p", "LoadState,ActiveState,SubState", "postgresql@16-main"]
    fake = RecordedRunner(
        [
            (["systemctl", "start", "postgresql@16-main"], recorded("", 1, "Job failed.\n")),
            (state, recorded(rec.SYSTEMCTL_STATE_FAILED)),
        ]
    )
    control = SystemdControl("postgresql@16-main", fake)
    with pytest.raises(PlatformError) as info:
        control.start()
    assert info.value.fix is not None
    assert info.value.fix.params["log"] == "journalctl -u postgresql@16-main"
    fake.assert_all_used()


def test_nothing_detected_without_a_data_dir() -> None:
    fake = RecordedRunner([(LSCLUSTERS, recorded(not_found=True))])
    with pytest.raises(PlatformError) as info:
        service_control_for(system="linux", runner=fake)
    assert info.value.message.key == "platform.control.data_dir_needed"
    with pytest.raises(PlatformError) as info:
        service_control_for(system="linux", control="windows-service", runner=fake)
    assert info.value.message.key == "platform.control.unsupported"


def test_pg_ctl_argv_drops_to_the_owner_when_root(tmp_path: Path) -> None:
    control = PgCtlControl(tmp_path, "/usr/lib/postgresql/16/bin", os_user="postgres")
    argv = control.restart_argv()
    tail = [
        "/usr/lib/postgresql/16/bin/pg_ctl", "-D", str(tmp_path), "-l",
        str(tmp_path / "pg_ctl.log"), "-m", "fast", "-w", "-t", "120", "restart",
    ]  # fmt: skip
    if is_root():
        assert argv[1:4] == ["-u", "postgres", "--"] and argv[0].endswith("runuser")
        assert argv[4:] == tail
    else:
        assert argv == tail


# -- a real throwaway cluster, controlled through pg_ctl -----------------------------------------


@pytest.fixture
def throwaway(pg_bins: PgBinaries) -> Iterator[Cluster]:
    base = Path(tempfile.mkdtemp(prefix="fdw-wizard-platform-"))
    base.chmod(0o755)
    cluster = Cluster(base / "data", free_loopback_port(), pg_bins)
    try:
        cluster.init("throwaway-Pw-1")
        cluster.start()
        yield cluster
    finally:
        try:
            cluster.remove()
        finally:
            shutil.rmtree(base, ignore_errors=True)


def _postmaster_pid(cluster: Cluster) -> int:
    return int((cluster.data_dir / "postmaster.pid").read_text().splitlines()[0])


@pytest.mark.clusters
def test_real_cluster_detect_restart_reload(throwaway: Cluster) -> None:
    control = current().service_control(data_dir=str(throwaway.data_dir), port=throwaway.port)
    assert isinstance(control, PgCtlControl)  # not a Debian cluster, no systemd here
    assert control.os_user == owner_of(throwaway.data_dir)
    assert control.status().running
    assert probe_postgres("127.0.0.1", throwaway.port)

    before = _postmaster_pid(throwaway)
    assert control.restart().running
    assert _postmaster_pid(throwaway) != before
    assert probe_postgres("127.0.0.1", throwaway.port)

    control.reload()
    assert control.status().running
    assert control.log_location() == str(throwaway.data_dir / "log")

    assert control.stop().status is ServiceStatus.STOPPED
    assert not probe_postgres("127.0.0.1", throwaway.port, timeout=1)
    assert control.start().running
    assert control.wait_until_accepting(30)


@pytest.mark.clusters
def test_real_cluster_broken_config_is_a_clear_error(throwaway: Cluster) -> None:
    control = service_control_for(data_dir=str(throwaway.data_dir), port=throwaway.port, timeout=30)
    conf = throwaway.conf_path
    good = conf.read_bytes()
    conf.write_bytes(good + b"\nshared_buffers = 'lots'\n")
    try:
        with pytest.raises(PlatformError) as info:
            control.restart()
        err = info.value
        assert err.message.key == "platform.service.not_running"
        assert err.message.params["state"].startswith("stopped")
        assert "shared_buffers" in err.message.params["output"]
    finally:
        conf.write_bytes(good)
    assert control.start().running


# -- firewall ---------------------------------------------------------------------------------


def test_firewall_on_this_machine() -> None:
    fw = LinuxFirewall(SubprocessRunner())
    backend = fw.detect()
    assert backend in ("none", "ufw", "firewalld", "nftables", "iptables")
    plan = fw.plan_rule(5432, ADDRESSES)
    if backend == "none":
        assert not plan.applicable and plan.nothing_to_do
        assert "platform.firewall.none_active" in [n.key for n in plan.notes]


def test_no_firewall_at_all_is_not_applicable() -> None:
    fake = RecordedRunner(
        [
            (UFW, recorded(rec.UFW_INACTIVE)),
            (FIREWALLD, recorded(rec.FIREWALLD_NOT_RUNNING, rec.FIREWALLD_NOT_RUNNING_RC)),
            (NFT, recorded(rec.NFT_RULESET_OPEN)),
            (IPTABLES, recorded(rec.IPTABLES_INPUT_OPEN)),
        ]
    )
    plan = LinuxFirewall(fake).plan_rule(5432, ADDRESSES)
    fake.assert_all_used()
    assert plan.backend == "none" and not plan.applicable and plan.nothing_to_do


def test_ufw_plan_exact_argv() -> None:
    fake = RecordedRunner([(UFW, recorded(rec.UFW_ACTIVE_NOTHING_OURS))])
    plan = LinuxFirewall(fake).plan_rule(5432, ADDRESSES)
    fake.assert_all_used()
    assert plan.backend == "ufw"
    assert plan.argv_list == [
        ["ufw", "allow", "proto", "tcp", "from", "203.0.113.10", "to", "any", "port", "5432",
         "comment", "fdw-wizard-postgresql"],
        ["ufw", "allow", "proto", "tcp", "from", "198.51.100.0/24", "to", "any", "port", "5432",
         "comment", "fdw-wizard-postgresql"],
    ]  # fmt: skip


def test_ufw_already_done_and_stale_rules() -> None:
    fake = RecordedRunner([(UFW, recorded(rec.UFW_ACTIVE_OURS))])
    plan = LinuxFirewall(fake).plan_rule(5432, ["198.51.100.0/24", "203.0.113.10/32"])
    assert plan.nothing_to_do and plan.applicable
    assert [n.key for n in plan.notes] == ["platform.firewall.already"]

    fake = RecordedRunner([(UFW, recorded(rec.UFW_ACTIVE_STALE))])
    fw = LinuxFirewall(fake)
    plan = fw.plan_rule(5432, ADDRESSES)
    assert plan.argv_list == [
        ["ufw", "allow", "proto", "tcp", "from", "198.51.100.0/24", "to", "any", "port", "5432",
         "comment", "fdw-wizard-postgresql"],
        ["ufw", "delete", "allow", "proto", "tcp", "from", "192.0.2.77", "to", "any", "port",
         "5432"],
    ]  # fmt: skip
    undo = fw.remove_rule()
    assert [a[6] for a in undo.argv_list] == ["203.0.113.10", "192.0.2.77"]
    fake.assert_all_used()


def test_parse_ufw_status_v6_rows() -> None:
    active, rules = parse_ufw_status(rec.UFW_ACTIVE_NOTHING_OURS)
    assert active and [(r.port, r.protocol, r.source) for r in rules] == [
        ("22", "tcp", "Anywhere"),
        ("22", "tcp", "Anywhere"),
    ]


def test_firewalld_plan_exact_argv() -> None:
    fake = RecordedRunner(
        [
            (UFW, recorded(not_found=True)),
            (FIREWALLD, recorded(rec.FIREWALLD_RUNNING)),
            (
                ["firewall-cmd", "--permanent", "--list-rich-rules"],
                recorded(rec.FIREWALLD_RICH_RULES),
            ),
        ]
    )
    plan = LinuxFirewall(fake).plan_rule(5432, ADDRESSES)
    fake.assert_all_used()
    assert plan.argv_list == [
        [
            "firewall-cmd",
            "--permanent",
            '--add-rich-rule=rule family="ipv4" source address="198.51.100.0/24" '
            'port port="5432" protocol="tcp" accept',
        ],
        ["firewall-cmd", "--reload"],
    ]


@pytest.mark.parametrize(
    ("backend", "script", "snippet"),
    [
        (
            "nftables",
            [(NFT, recorded(rec.NFT_RULESET_DROP))],
            "nft insert rule inet filter input ip saddr { 203.0.113.10, 198.51.100.0/24 } "
            "tcp dport 5432 accept",
        ),
        (
            "iptables",
            [(NFT, recorded(not_found=True)), (IPTABLES, recorded(rec.IPTABLES_INPUT_DROP))],
            "iptables -I INPUT -p tcp -s 203.0.113.10 --dport 5432 -j ACCEPT",
        ),
    ],
)
def test_raw_rulesets_get_guidance_not_edits(
    backend: str, script: list[tuple[list[str], object]], snippet: str
) -> None:
    fake = RecordedRunner(
        [(UFW, recorded(not_found=True)), (FIREWALLD, recorded(not_found=True)), *script]  # type: ignore[list-item]
    )
    plan = LinuxFirewall(fake).plan_rule(5432, ADDRESSES)
    fake.assert_all_used()
    assert plan.backend == backend and not plan.applicable and plan.nothing_to_do
    (note,) = plan.notes
    assert note.key == f"platform.firewall.guidance.{backend}"
    assert snippet in note.params["command"]
    assert [a.to_json()["kind"] for a in plan.actions()] == ["note"]


def test_unreadable_firewall_is_said() -> None:
    fake = RecordedRunner(
        [
            (UFW, recorded(rec.UFW_NOT_ROOT, 1)),
            (FIREWALLD, recorded(not_found=True)),
            (NFT, recorded("", 1, "Operation not permitted (you must be root)\n")),
            (IPTABLES, recorded(not_found=True)),
        ]
    )
    plan = LinuxFirewall(fake).plan_rule(5432, ADDRESSES)
    fake.assert_all_used()
    assert "platform.firewall.unreadable" in [n.key for n in plan.notes]


# -- elevation ----------------------------------------------------------------------------------


def test_elevation_root_owner_and_other(tmp_path: Path) -> None:
    assert check_elevation(system="linux", euid=0).how == "root"
    data = tmp_path / "data"
    data.mkdir()
    for name in ("postgresql.conf", "pg_hba.conf"):
        (data / name).write_text("")
    owner_uid = data.stat().st_uid
    if owner_uid != 0:
        assert check_elevation(system="linux", data_dir=data, euid=owner_uid).how == "owner"
    other = check_elevation(
        system="linux", data_dir=data, euid=owner_uid + 4242, argv=["fdw-wizard", "apply"]
    )
    assert not other.elevated and other.how == "not-owner"
    assert other.relaunch is not None
    assert "sudo fdw-wizard apply" in other.relaunch.render("pt-BR")
    assert relaunch_command(["/opt/venv/bin/fdw-wizard", "apply", "--yes"], "linux") == (
        "sudo /opt/venv/bin/fdw-wizard apply --yes"
    )


def test_pg_ctl_never_runs_as_root_even_when_told_to(tmp_path: Path) -> None:
    # os_user "root" is the elevated-admin condition: postgres -C runs as root, but pg_ctl
    # refuses root, so the server is started as the data dir's owner (a service manager would).
    control = PgCtlControl(tmp_path, "/usr/lib/postgresql/16/bin", os_user="root")
    owner = owner_of(tmp_path)
    if is_root() and owner != "root":
        assert control.pg_ctl_user() == owner
        assert control.restart_argv()[1:4] == ["-u", owner, "--"]
    elif not is_root():
        assert control.restart_argv()[0].endswith("pg_ctl")
