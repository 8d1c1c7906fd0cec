"""Windows platform code against recorded outputs, with the exact argv of every command asserted.

Windows commands cannot run on the Linux CI: RecordedRunner replays what sc.exe, net, PowerShell
and netsh print on an EDB PostgreSQL 16 host (tests/recorded/windows.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from tests.recorded import windows as rec
from wizard.dwhost.platform import runner as runner_mod
from wizard.dwhost.platform import service_control_for
from wizard.dwhost.platform.elevation import check_elevation, relaunch_command
from wizard.dwhost.platform.firewall import FirewallPlan
from wizard.dwhost.platform.runner import (
    POWERSHELL_PREFIX,
    CommandResult,
    PlatformError,
    RecordedRunner,
    decode_output,
    recorded,
)
from wizard.dwhost.platform.service import ServiceStatus
from wizard.dwhost.platform.windows import (
    MappingRegistry,
    WindowsFirewall,
    WindowsService,
    discover_installations,
    find_installation,
    is_elevated,
    parse_image_path,
    parse_netsh_rule,
    parse_sc_query,
)
from wizard.i18n import t

SVC = rec.SVC
SYS32 = "C:\\Windows\\System32"
SC = SYS32 + "\\sc.exe"
NET = SYS32 + "\\net.exe"
NETSH = SYS32 + "\\netsh.exe"
POWERSHELL = SYS32 + "\\WindowsPowerShell\\v1.0\\powershell.exe"
SC_QUERY = [SC, "query", SVC]


def ps(script: str) -> list[str]:
    return [
        POWERSHELL,
        "-NoProfile",
        "-NonInteractive",
        "-Command",
        POWERSHELL_PREFIX + script,
    ]


RESTART = ps("Restart-Service -Name 'postgresql-x64-16'")
POLICY = ps(
    "ConvertTo-Json -Compress -InputObject @(Get-NetFirewallProfile -PolicyStore "
    "ActiveStore | ForEach-Object { [pscustomobject]@{ Name = [string]$_.Name; "
    "Enabled = [string]$_.Enabled; DefaultInboundAction = "
    "[string]$_.DefaultInboundAction; AllowLocalFirewallRules = "
    "[string]$_.AllowLocalFirewallRules } })"
)
FW_LOOKUP = ps(
    "$r = Get-NetFirewallRule -Name 'fdw-wizard-postgresql' -ErrorAction SilentlyContinue; "
    "if ($null -eq $r) { 'null' } else { "
    "$p = $r | Get-NetFirewallPortFilter; $a = $r | Get-NetFirewallAddressFilter; "
    "[pscustomobject]@{ Name = $r.Name; Enabled = [string]$r.Enabled; "
    "Direction = [string]$r.Direction; Action = [string]$r.Action; "
    "Profile = [string]$r.Profile; Protocol = [string]$p.Protocol; "
    "LocalPort = @($p.LocalPort); RemoteAddress = @($a.RemoteAddress) } "
    "| ConvertTo-Json -Compress }"
)
NET_PROFILES = ps(
    "ConvertTo-Json -Compress -InputObject @(Get-NetConnectionProfile | "
    "ForEach-Object { [pscustomobject]@{ Name = $_.Name; "
    "InterfaceAlias = $_.InterfaceAlias; NetworkCategory = [string]$_.NetworkCategory } })"
)
NETSH_SHOW = [
    NETSH, "advfirewall", "firewall", "show", "rule", "name=fdw-wizard-postgresql", "verbose",
]  # fmt: skip
ADDRESSES = ["203.0.113.10", "198.51.100.0/24"]


class FakeClock:
    """Time that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def service(
    script: Sequence[tuple[Sequence[str], CommandResult]], **kwargs: Any
) -> tuple[WindowsService, RecordedRunner, FakeClock]:
    fake = RecordedRunner(script)
    clock = FakeClock()
    svc = WindowsService(
        SVC,
        fake,
        data_dir=rec.DATA_DIR,
        pg_ctl=rec.PG_CTL,
        sleep=clock.sleep,
        clock=clock,
        **kwargs,
    )
    return svc, fake, clock


# -- RecordedRunner itself ----------------------------------------------------------------------


def test_recorded_runner_fails_loudly_on_another_argv() -> None:
    fake = RecordedRunner([(SC_QUERY, recorded(rec.SC_QUERY_RUNNING))])
    with pytest.raises(AssertionError, match="differs from the recording"):
        fake.run(["sc", "query", SVC], timeout=5)


def test_recorded_runner_fails_on_extra_and_unused_calls() -> None:
    fake = RecordedRunner([(SC_QUERY, recorded(rec.SC_QUERY_RUNNING))])
    with pytest.raises(AssertionError, match="never ran"):
        fake.assert_all_used()
    fake.run(SC_QUERY, timeout=5)
    fake.assert_all_used()
    with pytest.raises(AssertionError, match="none left"):
        fake.run(SC_QUERY, timeout=5)


def test_cmd_tool_output_is_decoded_from_the_oem_code_page(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner_mod, "IS_WINDOWS", True)
    monkeypatch.setattr(runner_mod, "_oem_encoding", "cp850")
    raw = rec.SC_QUERY_RUNNING_PT_BR.replace("\n", "\r\n").encode("cp850")
    assert decode_output("sc.exe", raw) == rec.SC_QUERY_RUNNING_PT_BR
    # PowerShell writes UTF-8 thanks to the [Console]::OutputEncoding prefix.
    assert decode_output("powershell.exe", "Ação\r\n".encode()) == "Ação\n"
    # Garbage never raises.
    assert "\ufffd" in decode_output("powershell.exe", b"\xff\xfe\xfa")


# -- sc.exe query parsing -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "status"),
    [
        (rec.SC_QUERY_RUNNING, ServiceStatus.RUNNING),
        (rec.SC_QUERY_STOPPED, ServiceStatus.STOPPED),
        (rec.SC_QUERY_STOPPED_FAILED, ServiceStatus.STOPPED),
        (rec.SC_QUERY_START_PENDING, ServiceStatus.STARTING),
        (rec.SC_QUERY_STOP_PENDING, ServiceStatus.STOPPING),
        (rec.SC_QUERY_RUNNING_PT_BR, ServiceStatus.RUNNING),
        (rec.SC_QUERY_STOPPED_PT_BR, ServiceStatus.STOPPED),
        (rec.SC_QUERY_RUNNING_UNKNOWN_LABELS, ServiceStatus.RUNNING),
    ],
)
def test_parse_sc_query_reads_the_state_number(text: str, status: ServiceStatus) -> None:
    assert parse_sc_query(CommandResult(SC_QUERY, 0, text, "")).status is status


def test_parse_sc_query_missing_service() -> None:
    result = CommandResult(SC_QUERY, rec.SC_QUERY_MISSING_RC, rec.SC_QUERY_MISSING, "")
    assert parse_sc_query(result).status is ServiceStatus.NOT_FOUND


def test_status_runs_sc_exe_never_sc() -> None:
    svc, fake, _ = service([(SC_QUERY, recorded(rec.SC_QUERY_RUNNING_PT_BR))])
    state = svc.status()
    assert state.running and state.raw == "4  RUNNING"
    fake.assert_all_used()


# -- start / stop / restart / reload ----------------------------------------------------------


def test_start_with_net_start() -> None:
    svc, fake, clock = service(
        [
            (SC_QUERY, recorded(rec.SC_QUERY_STOPPED)),
            ([NET, "start", SVC], recorded(rec.NET_START_OK_PT_BR)),
            (SC_QUERY, recorded(rec.SC_QUERY_RUNNING)),
        ]
    )
    assert svc.start().running
    fake.assert_all_used()
    assert clock.sleeps == []


def test_start_when_already_running_does_nothing() -> None:
    svc, fake, _ = service([(SC_QUERY, recorded(rec.SC_QUERY_RUNNING))])
    assert svc.start().running
    fake.assert_all_used()


def test_start_without_net_falls_back_to_sc_exe_and_polls() -> None:
    svc, fake, clock = service(
        [
            (SC_QUERY, recorded(rec.SC_QUERY_STOPPED)),
            ([NET, "start", SVC], recorded(not_found=True)),
            ([SC, "start", SVC], recorded(rec.SC_START_PENDING)),
            (SC_QUERY, recorded(rec.SC_QUERY_START_PENDING)),
            (SC_QUERY, recorded(rec.SC_QUERY_START_PENDING)),
            (SC_QUERY, recorded(rec.SC_QUERY_RUNNING)),
        ],
        poll_interval=2.0,
    )
    assert svc.start().running
    fake.assert_all_used()
    assert clock.sleeps == [2.0, 2.0]


def events(seconds: int) -> list[str]:
    return ps(
        f"$s = (Get-Date).AddSeconds(-{seconds}); "
        "ConvertTo-Json -Compress -Depth 3 -InputObject @(Get-WinEvent -FilterHashtable "
        "@{ LogName = 'Application'; ProviderName = 'PostgreSQL'; StartTime = $s } "
        "-MaxEvents 20 -ErrorAction SilentlyContinue | Sort-Object TimeCreated | "
        "ForEach-Object { [pscustomobject]@{ Time = $_.TimeCreated.ToString('s'); "
        "Level = [int]$_.Level; Id = [int]$_.Id; Message = $(if ($_.Message) { $_.Message } "
        "else { ($_.Properties | ForEach-Object { [string]$_.Value }) -join ' ' }) } })"
    )


def test_failed_start_is_a_clear_error_at_once() -> None:
    svc, fake, clock = service(
        [
            (SC_QUERY, recorded(rec.SC_QUERY_STOPPED)),
            (
                [NET, "start", SVC],
                recorded(
                    rec.NET_START_FAILED, rec.NET_START_FAILED_RC, rec.NET_START_FAILED_STDERR
                ),
            ),
            (SC_QUERY, recorded(rec.SC_QUERY_STOPPED_FAILED)),
            # The reason is in the Application log (before the logging collector ran).
            (events(10), recorded(rec.EVENTS_START_FAILED)),
        ]
    )
    with pytest.raises(PlatformError) as info:
        svc.start()
    fake.assert_all_used()
    assert clock.sleeps == []  # a STOPPED service is not waited for until the timeout
    err = info.value
    assert err.message.key == "platform.service.not_running"
    assert err.message.params["state"] == "stopped (1  STOPPED)"
    output = err.message.params["output"]
    assert "could not be started" in output
    assert "Windows Application log (PostgreSQL)" in output
    assert "ERROR: 2026-11-30 10:15:02.311 -03 [5120] FATAL:  não pôde carregar" in output
    assert "Timed out waiting for server startup" in output
    assert err.fix is not None and err.fix.params["log"] == rec.DATA_DIR + "\\log"
    text = err.message.render("pt-BR")
    assert "não entrou em execução" in text and "postgresql-x64-16" in text


def test_start_while_stop_pending_waits_for_stopped_first() -> None:
    svc, fake, clock = service(
        [
            (SC_QUERY, recorded(rec.SC_QUERY_STOP_PENDING)),
            (SC_QUERY, recorded(rec.SC_QUERY_STOP_PENDING)),
            (SC_QUERY, recorded(rec.SC_QUERY_STOPPED)),
            ([NET, "start", SVC], recorded(rec.NET_START_OK)),
            (SC_QUERY, recorded(rec.SC_QUERY_RUNNING)),
        ],
        poll_interval=5.0,
    )
    assert svc.start().running
    fake.assert_all_used()
    assert clock.sleeps == [5.0, 5.0]


def test_stop_with_net_stop() -> None:
    svc, fake, _ = service(
        [
            (SC_QUERY, recorded(rec.SC_QUERY_RUNNING)),
            ([NET, "stop", SVC], recorded(rec.NET_STOP_OK)),
            (SC_QUERY, recorded(rec.SC_QUERY_STOPPED)),
        ]
    )
    assert svc.stop().status is ServiceStatus.STOPPED
    fake.assert_all_used()


def test_restart_uses_restart_service_then_polls() -> None:
    svc, fake, _ = service(
        [
            (SC_QUERY, recorded(rec.SC_QUERY_RUNNING)),
            (RESTART, recorded(rec.RESTART_SERVICE_OK)),
            (SC_QUERY, recorded(rec.SC_QUERY_START_PENDING)),
            (SC_QUERY, recorded(rec.SC_QUERY_RUNNING)),
        ]
    )
    assert svc.restart().running
    fake.assert_all_used()
    assert fake.calls[1].timeout == svc.timeout


def test_restart_cut_off_by_the_timeout_waits_for_the_stop_then_starts() -> None:
    # A slow shutdown checkpoint: the runner kills powershell at 120 s while the service is
    # still STOP_PENDING. The wizard waits for the service manager (longer deadline), then
    # starts the service itself.
    stopping = (SC_QUERY, recorded(rec.SC_QUERY_STOP_PENDING))
    svc, fake, clock = service(
        [
            (SC_QUERY, recorded(rec.SC_QUERY_RUNNING)),
            (RESTART, recorded(timed_out=True)),
            *[stopping] * 3,
            (SC_QUERY, recorded(rec.SC_QUERY_STOPPED)),
            ([NET, "start", SVC], recorded(rec.NET_START_OK)),
            (SC_QUERY, recorded(rec.SC_QUERY_RUNNING)),
        ],
        poll_interval=60.0,
    )
    assert svc.settle_timeout == 600.0  # longer than the 120 s runner timeout
    assert svc.restart().running
    fake.assert_all_used()
    assert clock.now == 180.0


def test_restart_whose_start_fails_is_raised_with_the_event_log() -> None:
    svc, fake, _ = service(
        [
            (SC_QUERY, recorded(rec.SC_QUERY_RUNNING)),
            (RESTART, recorded("", 1, rec.RESTART_SERVICE_START_FAILED)),
            (SC_QUERY, recorded(rec.SC_QUERY_STOPPED_FAILED)),
            (events(10), recorded(rec.EVENTS_START_FAILED)),
        ]
    )
    with pytest.raises(PlatformError) as info:
        svc.restart()
    fake.assert_all_used()
    params = info.value.message.params
    assert info.value.message.key == "platform.service.not_running"
    assert "Failed to start service" in params["output"]
    assert "server.crt" in params["output"]


def test_restart_that_never_settles_times_out_with_the_state_seen() -> None:
    pending = (SC_QUERY, recorded(rec.SC_QUERY_START_PENDING))
    svc, fake, clock = service(
        [
            (SC_QUERY, recorded(rec.SC_QUERY_RUNNING)),
            (RESTART, recorded(timed_out=True)),
            *[pending] * 4,
            (events(13), recorded(rec.EVENTS_NONE)),
        ],
        timeout=3.0,
        settle_timeout=3.0,
        poll_interval=1.0,
    )
    with pytest.raises(PlatformError) as info:
        svc.restart()
    fake.assert_all_used()
    assert clock.now == 3.0
    assert info.value.message.params["state"] == "starting (2  START_PENDING)"
    assert info.value.message.params["seconds"] == 3
    assert "did not finish" in info.value.message.params["output"]


def test_restart_of_a_missing_service() -> None:
    svc, fake, _ = service([(SC_QUERY, recorded(rec.SC_QUERY_MISSING, rec.SC_QUERY_MISSING_RC))])
    with pytest.raises(PlatformError) as info:
        svc.restart()
    fake.assert_all_used()
    assert info.value.message.key == "platform.service.not_found"


def test_reload_uses_pg_ctl_reload_never_restart() -> None:
    svc, fake, _ = service(
        [([rec.PG_CTL, "reload", "-D", rec.DATA_DIR], recorded(rec.PG_CTL_RELOAD_OK))]
    )
    svc.reload()
    fake.assert_all_used()
    assert "pg_ctl" not in " ".join(svc.restart_argv()).lower()
    assert svc.restart_action().argv == RESTART
    assert svc.reload_action().description.params == {"target": SVC}


def test_reload_failure_and_missing_paths() -> None:
    svc, fake, _ = service(
        [
            (
                [rec.PG_CTL, "reload", "-D", rec.DATA_DIR],
                recorded("", 1, "pg_ctl: could not send reload signal (PID: 4242): ...\n"),
            )
        ]
    )
    with pytest.raises(PlatformError) as info:
        svc.reload()
    assert info.value.message.key == "platform.service.reload_failed"
    fake.assert_all_used()
    bare = WindowsService(SVC, RecordedRunner([]))
    with pytest.raises(PlatformError) as info:
        bare.reload()
    assert info.value.message.key == "platform.windows.reload_needs_paths"


# -- registry discovery -----------------------------------------------------------------------


def test_discovery_of_a_default_edb_16_install() -> None:
    (inst,) = discover_installations(MappingRegistry(rec.EDB16_REGISTRY))
    assert inst.service == SVC
    assert inst.data_dir == rec.DATA_DIR
    assert inst.pg_ctl == rec.PG_CTL
    assert inst.bin_dir == r"C:\Program Files\PostgreSQL\16\bin"
    assert inst.port == 5432
    assert inst.super_user == "postgres"
    assert inst.version == "16.4"
    assert inst.service_account == r"NT AUTHORITY\NetworkService"


def test_discovery_with_a_second_hand_registered_service() -> None:
    registry = MappingRegistry({**rec.EDB16_REGISTRY, **rec.SECOND_SERVICE_REGISTRY})
    found = {i.service: i for i in discover_installations(registry)}
    assert set(found) == {SVC, "pgsql-dw"}
    dw = found["pgsql-dw"]
    assert (dw.data_dir, dw.port, dw.service_account) == (r"D:\PG Data\dw", 5433, r".\postgres")
    installs = list(found.values())
    # By data dir (case and slashes do not matter), by port, else ambiguous.
    assert find_installation(installs, data_dir="d:/pg data/DW/").service == "pgsql-dw"
    assert find_installation(installs, port=5432).service == SVC
    with pytest.raises(PlatformError) as info:
        find_installation(installs)
    assert info.value.message.key == "platform.windows.ambiguous"
    assert info.value.fix is not None and "pgsql-dw" in info.value.fix.params["found"]
    with pytest.raises(PlatformError) as info:
        find_installation(installs, data_dir=r"C:\elsewhere")
    assert info.value.message.key == "platform.windows.no_installation"


def test_discovery_of_nothing() -> None:
    assert discover_installations(MappingRegistry({})) == []


@pytest.mark.parametrize("case", sorted(rec.IMAGE_PATHS))
def test_parse_image_path(case: str) -> None:
    text, (pg_ctl, name, data_dir, port) = rec.IMAGE_PATHS[case]
    parsed = parse_image_path(text)
    assert parsed is not None
    assert (parsed.pg_ctl, parsed.service, parsed.data_dir, parsed.port) == (
        pg_ctl,
        name,
        data_dir,
        port,
    )


def test_parse_image_path_rejects_other_programs() -> None:
    assert parse_image_path(r"%SystemRoot%\System32\spoolsv.exe") is None
    assert parse_image_path(r'"C:\pg\bin\pg_ctl.exe" status -D "C:\pg\data"') is None


def test_factory_builds_the_windows_service_from_the_registry() -> None:
    fake = RecordedRunner([(SC_QUERY, recorded(rec.SC_QUERY_RUNNING))])
    control = service_control_for(
        system="windows", runner=fake, registry=MappingRegistry(rec.EDB16_REGISTRY), port=5432
    )
    assert isinstance(control, WindowsService)
    assert control.reload_argv() == [rec.PG_CTL, "reload", "-D", rec.DATA_DIR]
    assert control.describe().render("en") == "Windows service postgresql-x64-16"
    assert control.status().running
    fake.assert_all_used()
    with pytest.raises(PlatformError):
        service_control_for(system="windows", control="systemd", runner=fake)


# -- elevation --------------------------------------------------------------------------------


def test_elevation_true_and_false() -> None:
    argv = [r"C:\Program Files\fdw-wizard\fdw-wizard.exe", "apply", "--only", "local"]
    yes = check_elevation(system="windows", is_admin=lambda: True, argv=argv)
    assert yes.elevated and yes.relaunch is None
    no = check_elevation(system="windows", is_admin=lambda: False, argv=argv)
    assert not no.elevated and no.relaunch is not None
    text_en = no.relaunch.render("en")
    text_pt = no.relaunch.render("pt-BR")
    assert "Run as administrator" in text_en
    assert "Executar como administrador" in text_pt
    # PowerShell: a quoted path alone is a string expression; `&` runs it.
    command = "& 'C:\\Program Files\\fdw-wizard\\fdw-wizard.exe' apply --only local"
    assert relaunch_command(argv, "windows") == command
    assert command in text_pt
    odd = [r"C:\fdw\fdw-wizard.exe", "apply", "--config", r"D:\O'Brien data\f.yaml"]
    assert relaunch_command(odd, "windows") == (
        "& 'C:\\fdw\\fdw-wizard.exe' apply --config 'D:\\O''Brien data\\f.yaml'"
    )


def test_is_elevated_is_false_where_windll_is_missing() -> None:
    assert is_elevated() is False  # Linux: no ctypes.windll, guarded


# -- firewall: PowerShell -----------------------------------------------------------------------


def firewall(
    script: Sequence[tuple[Sequence[str], CommandResult]],
) -> tuple[WindowsFirewall, RecordedRunner]:
    fake = RecordedRunner(script)
    return WindowsFirewall(fake), fake


def test_no_rule_plans_new_netfirewallrule() -> None:
    fw, fake = firewall(
        [
            (FW_LOOKUP, recorded(rec.FW_NO_RULE)),
            (NET_PROFILES, recorded(rec.NET_PROFILES_PRIVATE)),
            (POLICY, recorded(rec.FW_POLICY_DEFAULT)),
        ]
    )
    plan = fw.plan_rule(5432, ADDRESSES, ["Private"])
    fake.assert_all_used()
    assert plan.argv_list == [
        ps(
            "New-NetFirewallRule -Name 'fdw-wizard-postgresql' "
            "-DisplayName 'fdw-wizard PostgreSQL (Supabase FDW)' -Direction Inbound -Action Allow "
            "-Protocol TCP -LocalPort 5432 -RemoteAddress @('203.0.113.10','198.51.100.0/24') "
            "-Profile 'Private' -Enabled True | Out-Null"
        )
    ]
    assert plan.warnings == [] and plan.backend == "windows-powershell"
    assert [a.description.key for a in plan.actions()] == ["platform.firewall.action.create"]


def test_matching_rule_plans_nothing() -> None:
    fw, fake = firewall(
        [
            (FW_LOOKUP, recorded(rec.FW_MATCHING)),
            (NET_PROFILES, recorded(rec.NET_PROFILES_PRIVATE)),
            (POLICY, recorded(rec.FW_POLICY_DEFAULT)),
        ]
    )
    plan = fw.plan_rule(5432, ["198.51.100.0/24", "203.0.113.10/32"], ["Private"])
    fake.assert_all_used()
    assert plan.nothing_to_do and plan.applicable
    assert [n.key for n in plan.notes] == ["platform.firewall.already"]
    assert plan.existing is not None and plan.existing.remote_addresses == (
        "203.0.113.10",
        "198.51.100.0/24",
    )


def test_rule_with_other_port_and_addresses_plans_filter_updates() -> None:
    fw, fake = firewall(
        [
            (FW_LOOKUP, recorded(rec.FW_OTHER_PORT_AND_ADDRESSES)),
            (NET_PROFILES, recorded(rec.NET_PROFILES_PRIVATE)),
            (POLICY, recorded(rec.FW_POLICY_DEFAULT)),
        ]
    )
    plan = fw.plan_rule(5432, ADDRESSES, ["Private"])
    fake.assert_all_used()
    assert plan.argv_list == [
        ps(
            "Get-NetFirewallRule -Name 'fdw-wizard-postgresql' | Get-NetFirewallPortFilter | "
            "Set-NetFirewallPortFilter -Protocol TCP -LocalPort 5432"
        ),
        ps(
            "Get-NetFirewallRule -Name 'fdw-wizard-postgresql' | Get-NetFirewallAddressFilter | "
            "Set-NetFirewallAddressFilter -RemoteAddress @('203.0.113.10','198.51.100.0/24')"
        ),
    ]


def test_disabled_rule_of_another_profile_plans_set_netfirewallrule() -> None:
    fw, fake = firewall(
        [
            (FW_LOOKUP, recorded(rec.FW_DISABLED_PUBLIC_ONLY)),
            (NET_PROFILES, recorded(rec.NET_PROFILES_DOMAIN)),
            (POLICY, recorded(rec.FW_POLICY_DEFAULT)),
        ]
    )
    plan = fw.plan_rule(5432, ADDRESSES, ["Domain", "Private"])
    fake.assert_all_used()
    assert plan.argv_list == [
        ps(
            "Set-NetFirewallRule -Name 'fdw-wizard-postgresql' -Enabled True -Direction Inbound "
            "-Action Allow -Profile 'Domain,Private'"
        )
    ]
    assert plan.warnings == []  # DomainAuthenticated is the Domain profile


def test_public_network_with_a_private_only_rule_warns() -> None:
    fw, fake = firewall(
        [
            (FW_LOOKUP, recorded(rec.FW_MATCHING)),
            (NET_PROFILES, recorded(rec.NET_PROFILES_PUBLIC)),
            (POLICY, recorded(rec.FW_POLICY_DEFAULT)),
        ]
    )
    plan = fw.plan_rule(5432, ADDRESSES, ["Private"])
    fake.assert_all_used()
    assert plan.nothing_to_do
    (warning,) = plan.warnings
    assert warning.key == "platform.firewall.profile_mismatch"
    assert warning.params == {"network": "Rede 2", "category": "Public", "profiles": "Private"}
    assert "continua fechada" in warning.render("pt-BR")


def test_remove_rule_and_apply() -> None:
    remove = ps("Remove-NetFirewallRule -Name 'fdw-wizard-postgresql'")
    fw, fake = firewall([(FW_LOOKUP, recorded(rec.FW_MATCHING)), (remove, recorded(""))])
    plan = fw.remove_rule()
    assert plan.argv_list == [remove]
    fw.apply(plan)
    fake.assert_all_used()
    fw, fake = firewall([(FW_LOOKUP, recorded(rec.FW_NO_RULE))])
    assert fw.remove_rule().nothing_to_do
    fake.assert_all_used()


def test_apply_stops_at_the_first_failure() -> None:
    cmd = ps("Remove-NetFirewallRule -Name 'fdw-wizard-postgresql'")
    fake = RecordedRunner([(cmd, recorded("", 1, "Access is denied.\n"))])
    fw = WindowsFirewall(fake)
    with pytest.raises(PlatformError) as info:
        fw.apply(FirewallPlan("windows-powershell", argv_list=[cmd, ["never", "run"]]))
    assert info.value.message.key == "platform.command.failed"
    fake.assert_all_used()


def test_invalid_inputs_are_refused_before_any_command() -> None:
    fw, fake = firewall([])
    for port, addresses, profiles in [
        (0, ADDRESSES, ["Private"]),
        (5432, ["203.0.113.10; rm -rf /"], ["Private"]),
        (5432, ["'); Remove-Item C:\\ -Recurse; ('"], ["Private"]),
        (5432, [], ["Private"]),
        (5432, ADDRESSES, ["Home"]),
    ]:
        with pytest.raises(PlatformError):
            fw.plan_rule(port, addresses, profiles)
    assert fake.calls == []


# -- firewall: netsh fallback -------------------------------------------------------------------

NETSH_ADD = [
    NETSH, "advfirewall", "firewall", "add", "rule", "name=fdw-wizard-postgresql",
    "dir=in", "action=allow", "protocol=TCP", "localport=5432",
    "remoteip=203.0.113.10,198.51.100.0/24", "profile=domain,private", "enable=yes",
]  # fmt: skip


def test_netsh_when_powershell_is_missing() -> None:
    fw, fake = firewall(
        [
            (FW_LOOKUP, recorded(not_found=True)),
            (NETSH_SHOW, recorded(rec.NETSH_NO_RULE, 1)),
        ]
    )
    plan = fw.plan_rule(5432, ADDRESSES, ["Domain", "Private"])
    fake.assert_all_used()
    assert plan.backend == "windows-netsh"
    assert plan.argv_list == [NETSH_ADD]
    assert [n.key for n in plan.notes] == [
        "platform.firewall.netsh_fallback",
        "platform.firewall.profiles_unchecked",
    ]


def test_netsh_when_the_cmdlets_are_missing_and_the_rule_matches() -> None:
    fw, fake = firewall(
        [
            (FW_LOOKUP, recorded("", 1, rec.PS_CMDLET_MISSING)),
            (NETSH_SHOW, recorded(rec.NETSH_RULE_EN)),
        ]
    )
    plan = fw.plan_rule(5432, ADDRESSES, ["Domain", "Private"])
    fake.assert_all_used()
    assert plan.nothing_to_do


def test_netsh_rule_with_other_addresses_plans_set_rule() -> None:
    fw, fake = firewall(
        [(FW_LOOKUP, recorded(not_found=True)), (NETSH_SHOW, recorded(rec.NETSH_RULE_EN))]
    )
    plan = fw.plan_rule(5432, ["203.0.113.10"], ["Domain", "Private"])
    fake.assert_all_used()
    assert plan.argv_list == [
        [
            NETSH, "advfirewall", "firewall", "set", "rule", "name=fdw-wizard-postgresql",
            "new", "dir=in", "action=allow", "protocol=TCP", "localport=5432",
            "remoteip=203.0.113.10", "profile=domain,private", "enable=yes",
        ]
    ]  # fmt: skip


def test_netsh_output_in_portuguese() -> None:
    rule = parse_netsh_rule("fdw-wizard-postgresql", rec.NETSH_RULE_PT_BR)
    assert rule.complete
    assert (rule.enabled, rule.direction, rule.action, rule.protocol) == (
        True,
        "inbound",
        "allow",
        "tcp",
    )
    assert rule.profiles == ("Domain", "Private")
    assert rule.remote_addresses == ("203.0.113.10", "198.51.100.0/24")


def test_netsh_remove_rule() -> None:
    fw, fake = firewall(
        [(FW_LOOKUP, recorded(not_found=True)), (NETSH_SHOW, recorded(rec.NETSH_RULE_EN))]
    )
    plan = fw.remove_rule()
    fake.assert_all_used()
    assert plan.argv_list == [
        [NETSH, "advfirewall", "firewall", "delete", "rule", "name=fdw-wizard-postgresql"]
    ]


def test_messages_render_in_both_languages() -> None:
    for lang in ("en", "pt-BR"):
        assert "postgresql-x64-16" in t("platform.control.windows_service", lang, service=SVC)


# -- child processes, background processes, console, file replace (Windows paths by fakes) ----


def test_children_get_no_window_and_no_shared_console() -> None:
    from wizard.dwhost.platform.runner import CREATE_NO_WINDOW, detached_options, spawn_options

    assert spawn_options("windows") == {"creationflags": CREATE_NO_WINDOW}
    assert CREATE_NO_WINDOW == 0x08000000
    assert spawn_options("posix") == {"start_new_session": True}
    assert detached_options("windows")["creationflags"] & CREATE_NO_WINDOW
    # Nothing the wizard runs changes the console code page.
    assert "chcp" not in POWERSHELL_PREFIX.lower()
    assert "SetConsoleOutputCP" not in POWERSHELL_PREFIX


def test_windows_tools_run_from_system32(monkeypatch: pytest.MonkeyPatch) -> None:
    from wizard.dwhost.platform.runner import net_exe, powershell_exe, sc_exe, system32

    monkeypatch.setenv("SYSTEMROOT", "D:\\WINDOWS")
    assert sc_exe() == "D:\\WINDOWS\\System32\\sc.exe"
    assert net_exe() == "D:\\WINDOWS\\System32\\net.exe"
    assert powershell_exe() == "D:\\WINDOWS\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"
    monkeypatch.delenv("SYSTEMROOT")
    assert system32("netsh.exe") == NETSH


def test_ps_quote_doubles_every_quote_powershell_ends_a_string_at() -> None:
    from wizard.dwhost.platform.runner import ps_quote

    assert ps_quote("it's") == "'it''s'"
    for quote in ("\u2018", "\u2019", "\u201a", "\u201b"):
        assert ps_quote(f"a{quote}b") == f"'a{quote}{quote}b'"


class FakeKernel32:
    """A FAKE kernel32 for TESTS ONLY (OpenProcess / GetExitCodeProcess / TerminateProcess /
    console mode), recording every call; Windows APIs cannot run on the Linux CI."""

    def __init__(self, *, exists: bool = True, exit_code: int = 259, mode: int = 0x1F7) -> None:
        self.exists = exists
        self.exit_code = exit_code
        self.mode = mode
        self.calls: list[tuple[Any, ...]] = []

    def OpenProcess(self, access: int, inherit: bool, pid: int) -> int:
        self.calls.append(("OpenProcess", access, pid))
        return 1234 if self.exists else 0

    def GetLastError(self) -> int:
        return 87  # ERROR_INVALID_PARAMETER: no such process

    def GetExitCodeProcess(self, handle: int, ref: Any) -> int:
        ref._obj.value = self.exit_code
        return 1

    def TerminateProcess(self, handle: int, code: int) -> int:
        self.calls.append(("TerminateProcess", handle, code))
        self.exit_code = code
        return 1

    def CloseHandle(self, handle: int) -> int:
        return 1

    def GetStdHandle(self, which: int) -> int:
        return 7

    def GetConsoleMode(self, handle: int, ref: Any) -> int:
        ref._obj.value = self.mode
        return 1

    def SetConsoleMode(self, handle: int, mode: int) -> int:
        self.calls.append(("SetConsoleMode", mode))
        self.mode = mode
        return 1


def test_process_liveness_and_stop_on_windows_never_signal_the_console() -> None:
    from wizard.dwhost.platform.runner import process_alive, stop_process

    k32 = FakeKernel32()
    assert process_alive(4242, system="windows", kernel32=k32)
    assert stop_process(4242, system="windows", kernel32=k32, sleep=lambda s: None)
    assert ("TerminateProcess", 1234, 1) in k32.calls
    assert not process_alive(4242, system="windows", kernel32=k32)
    assert not process_alive(4242, system="windows", kernel32=FakeKernel32(exists=False))


def test_stop_process_on_posix_for_real() -> None:
    import subprocess
    import sys

    from wizard.dwhost.platform.runner import detached_options, process_alive, stop_process

    if sys.platform == "win32":
        pytest.skip("POSIX path")
    proc = subprocess.Popen(["sleep", "30"], **detached_options("posix"))
    assert process_alive(proc.pid)
    assert stop_process(proc.pid, grace=5.0)
    assert not process_alive(proc.pid)


def test_quickedit_is_off_while_the_tui_runs_and_restored() -> None:
    from wizard.dwhost.platform.console import (
        ENABLE_EXTENDED_FLAGS,
        ENABLE_QUICK_EDIT_MODE,
        quickedit_off,
    )

    k32 = FakeKernel32(mode=0x1F7)  # conhost's default: QuickEdit and insert on
    with quickedit_off(system="windows", kernel32=k32) as changed:
        assert changed
        assert not k32.mode & ENABLE_QUICK_EDIT_MODE
        assert k32.mode & ENABLE_EXTENDED_FLAGS
    assert k32.mode == 0x1F7
    already_off = FakeKernel32(mode=0x1B7)
    with quickedit_off(system="windows", kernel32=already_off) as changed:
        assert not changed
    assert already_off.calls == []
    with quickedit_off(system="posix") as changed:
        assert not changed


class _WinPermissionError(PermissionError):
    """A PermissionError carrying a winerror, as Windows raises it (test stand-in)."""

    def __init__(self, winerror: int) -> None:
        super().__init__(13, "Access is denied")
        self.winerror = winerror


def test_replace_is_retried_while_an_agent_holds_the_file(tmp_path: Any) -> None:
    import os

    from wizard.fileio import replace_with_retry

    target = tmp_path / "postgresql.conf"
    target.write_text("old")
    os.chmod(target, 0o444)  # a read-only original (its flag is copied to the temp file)
    tmp = tmp_path / ".postgresql.conf.tmp"
    tmp.write_text("new")
    os.chmod(tmp, 0o444)
    failures = [_WinPermissionError(32), _WinPermissionError(5)]
    seen: list[tuple[bool, bool]] = []

    def replace(a: Any, b: Any) -> None:
        seen.append((os.access(a, os.W_OK), os.access(b, os.W_OK)))
        if failures:
            raise failures.pop(0)
        os.replace(a, b)

    sleeps: list[float] = []
    replace_with_retry(tmp, target, system="windows", replace=replace, sleep=sleeps.append)
    assert target.read_text() == "new"
    assert sleeps == [0.05, 0.1]
    if os.geteuid() != 0:  # root can write anything: the flag itself is what matters
        assert seen[0] == (True, True)
    assert not os.stat(target).st_mode & 0o200  # still read-only, as the operator had it

    other = tmp_path / "x.tmp"
    other.write_text("x")

    def denied(a: Any, b: Any) -> None:
        raise _WinPermissionError(1314)  # not a transient lock: no retry

    with pytest.raises(PermissionError):
        replace_with_retry(other, target, system="windows", replace=denied, sleep=sleeps.append)
    assert sleeps == [0.05, 0.1]


def test_server_logs_decode_cp1252_and_only_the_current_run(tmp_path: Any) -> None:
    import os
    import time

    from wizard.dwhost.platform.service import decode_log, tail_of_newest

    line = "FATAL:  não pôde carregar arquivo de certificado"
    assert decode_log(line.encode("cp1252")) == line
    assert decode_log(line.encode("utf-8")) == line
    assert decode_log(line.encode("utf-8")[-20:]).endswith("certificado")  # cut mid-character
    log_dir = tmp_path / "log"
    log_dir.mkdir()
    old = log_dir / "postgresql-2026-11-29.log"
    old.write_bytes("yesterday's run\n".encode("cp1252"))
    past = time.time() - 3600
    os.utime(old, (past, past))
    assert tail_of_newest([log_dir]) is not None
    assert tail_of_newest([log_dir], since=time.time()) is None
    new = log_dir / "postgresql-2026-11-30.log"
    new.write_bytes(line.encode("cp1252"))
    text = tail_of_newest([log_dir], since=time.time() - 5)
    assert text is not None and line in text and "yesterday" not in text


def test_a_gpo_ignoring_local_rules_makes_the_rule_inert() -> None:
    fw, fake = firewall(
        [
            (FW_LOOKUP, recorded(rec.FW_MATCHING)),
            (NET_PROFILES, recorded(rec.NET_PROFILES_PRIVATE)),
            (POLICY, recorded(rec.FW_ACTIVE_POLICY)),  # Public: AllowLocalFirewallRules False
        ]
    )
    plan = fw.plan_rule(5432, ["198.51.100.0/24", "203.0.113.10"], ["Private", "Public"])
    fake.assert_all_used()
    assert plan.policy_blocked
    (gpo,) = [w for w in plan.warnings if w.key == "platform.firewall.gpo_ignores_local_rules"]
    assert gpo.params == {"profiles": "Public"}
    assert "GPO" in gpo.render("pt-BR") and "Group Policy" in gpo.render("en")


@pytest.mark.parametrize(
    "read_back", ["0.0.0.0/0", "0.0.0.0/0.0.0.0", "0.0.0.0-255.255.255.255", "Any"]
)
def test_the_whole_internet_read_back_in_another_form_is_not_rewritten(read_back: str) -> None:
    from wizard.dwhost.platform.firewall import normalize_address, same_addresses

    assert same_addresses([read_back], ["0.0.0.0/0"])
    assert not same_addresses(["203.0.113.0/24"], ["0.0.0.0/0"])
    assert not same_addresses(["any"], ["203.0.113.10"])  # Any is broader than one address
    assert normalize_address("10.0.0.0-10.0.0.255") == "10.0.0.0/24"
    assert normalize_address("10.0.0.1-10.0.0.5") == "10.0.0.1-10.0.0.5"
    rule = (
        '{"Name":"fdw-wizard-postgresql","Enabled":"True","Direction":"Inbound","Action":"Allow",'
        '"Profile":"Private","Protocol":"TCP","LocalPort":["5432"],'
        f'"RemoteAddress":["{read_back}"]}}\n'
    )
    fw, fake = firewall(
        [
            (FW_LOOKUP, recorded(rule)),
            (NET_PROFILES, recorded(rec.NET_PROFILES_PRIVATE)),
            (POLICY, recorded(rec.FW_POLICY_DEFAULT)),
        ]
    )
    plan = fw.plan_rule(5432, ["0.0.0.0/0"], ["Private"])
    fake.assert_all_used()
    assert plan.nothing_to_do and not plan.policy_blocked


def test_postgres_minus_c_uses_the_services_own_bin_dir() -> None:
    from wizard.dwhost.platform import server_bin_dir

    registry = MappingRegistry(
        {
            **rec.EDB16_REGISTRY,
            # A newer PostgreSQL installed beside it must not be picked for this server.
            r"SOFTWARE\PostgreSQL\Installations\postgresql-x64-17": {
                "Base Directory": r"C:\Program Files\PostgreSQL\17",
                "Data Directory": r"C:\Program Files\PostgreSQL\17\data",
                "Service ID": "postgresql-x64-17",
            },
        }
    )
    found = server_bin_dir(rec.DATA_DIR, system="windows", registry=registry)
    assert found == r"C:\Program Files\PostgreSQL\16\bin"
    assert server_bin_dir(r"E:\elsewhere", system="windows", registry=registry) is None


@pytest.mark.parametrize(
    ("text", "family"),
    [
        (
            'could not connect to server "fdw_dw": connection to server at "203.0.113.5", '
            "port 5432 failed: FATAL:  autenticação do tipo senha falhou para o usuário "
            '"supabase_fdw_reader"',
            "password-failed",
        ),
        (
            'FATAL:  nenhuma entrada no pg_hba.conf para máquina "198.51.100.7", usuário '
            '"supabase_fdw_reader", banco de dados "bluconecta_dw", criptografia SSL',
            "no-hba-entry",
        ),
        ('FATAL:  pg_hba.conf rejeita conexão para máquina "198.51.100.7"', "no-hba-entry"),
        ("FATAL:  desculpe, muitos clientes conectados", "too-many-connections"),
        ("ERRO:  permissão negada para tabela dim_clientes", "permission-denied"),
    ],
)
def test_diagnosis_reads_a_portuguese_edb_server(text: str, family: str) -> None:
    from wizard.diagnose import _family, _Input

    assert _family(_Input(text, "08001", None, None)) == family
