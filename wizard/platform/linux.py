"""Linux: how a cluster is controlled (pg_ctlcluster / systemd / pg_ctl), and the firewall.

Debian clusters go through ``pg_ctlcluster``; a systemd unit through ``systemctl``; a bare data
directory through ``pg_ctl`` as the data dir's owner (pg_ctl refuses root, so root drops to
the owner with ``runuser -u <owner> --``). Firewall rules are planned for ufw and firewalld;
for raw nftables/iptables rule sets we only give guidance (editing them is the admin's call).
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wizard.i18n import Message
from wizard.platform.firewall import (
    Firewall,
    FirewallPlan,
    normalize_address,
    validate_addresses,
    validate_port,
)
from wizard.platform.runner import CommandResult, CommandRunner, PlatformError, SubprocessRunner
from wizard.platform.service import (
    AUTO,
    DEFAULT_TIMEOUT,
    ControlMethod,
    ServiceControl,
    ServiceState,
    ServiceStatus,
)

QUERY_TIMEOUT = 30.0
# Tool output we parse must not be translated (ufw says "Estado: ativo" under pt_BR).
C_LOCALE = {"LC_ALL": "C", "LANG": "C"}


def is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def owner_of(path: str | Path) -> str:
    """The OS user owning ``path`` (the cluster owner for a data dir)."""
    import pwd

    uid = Path(path).stat().st_uid
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _same_dir(a: str | Path, b: str | Path) -> bool:
    return os.path.realpath(str(a)) == os.path.realpath(str(b))


# ---------------------------------------------------------------------------------------------
# Debian clusters


@dataclass(frozen=True)
class DebianCluster:
    version: str
    name: str
    port: int
    status: str  # online | down | online,recovery | down,binaries_missing ...
    owner: str
    data_dir: str
    log_file: str | None

    @property
    def online(self) -> bool:
        return self.status.split(",")[0] == "online"


def parse_pg_lsclusters(text: str) -> list[DebianCluster]:
    """``pg_lsclusters`` output (with or without its header line)."""
    clusters = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 6 or parts[0] == "Ver" or not parts[2].isdigit():
            continue
        log = " ".join(parts[6:]) or None
        if log in ("<unknown>", "-"):
            log = None
        clusters.append(
            DebianCluster(parts[0], parts[1], int(parts[2]), parts[3], parts[4], parts[5], log)
        )
    return clusters


def debian_clusters(runner: CommandRunner) -> list[DebianCluster] | None:
    """The Debian clusters on this machine; None when postgresql-common is not installed."""
    result = runner.run(["pg_lsclusters"], timeout=QUERY_TIMEOUT, env=dict(C_LOCALE))
    if not result.ok:
        return None
    return parse_pg_lsclusters(result.stdout)


class PgCtlClusterControl(ServiceControl):
    method = ControlMethod.PG_CTLCLUSTER

    def __init__(
        self,
        version: str,
        name: str,
        runner: CommandRunner | None = None,
        *,
        log_file: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(runner or SubprocessRunner(), **kwargs)
        self.version = version
        self.name = name
        self.log_file = log_file

    @property
    def target(self) -> str:
        return f"{self.version}/{self.name}"

    def describe(self) -> Message:
        return Message(
            "platform.control.pg_ctlcluster", {"version": self.version, "name": self.name}
        )

    def log_location(self) -> str | None:
        return self.log_file

    def _argv(self, action: str) -> list[str]:
        return ["pg_ctlcluster", self.version, self.name, action]

    def restart_argv(self) -> list[str]:
        return self._argv("restart")

    def reload_argv(self) -> list[str]:
        return self._argv("reload")

    def status(self) -> ServiceState:
        clusters = debian_clusters(self.runner) or []
        for cluster in clusters:
            if cluster.version == self.version and cluster.name == self.name:
                status = ServiceStatus.RUNNING if cluster.online else ServiceStatus.STOPPED
                return ServiceState(status, cluster.status)
        return ServiceState(ServiceStatus.NOT_FOUND, "")

    def start(self) -> ServiceState:
        return self._act("start", ServiceStatus.RUNNING)

    def stop(self) -> ServiceState:
        return self._act("stop", ServiceStatus.STOPPED)

    def restart(self) -> ServiceState:
        state = self._act("restart", ServiceStatus.RUNNING)
        self._require_accepting()
        return state

    def reload(self) -> None:
        _reload(self, self.reload_argv())

    def _act(self, action: str, want: ServiceStatus) -> ServiceState:
        return _act(self, self._argv(action), want, self.target)


class SystemdControl(ServiceControl):
    method = ControlMethod.SYSTEMD

    def __init__(self, unit: str, runner: CommandRunner | None = None, **kwargs: Any) -> None:
        super().__init__(runner or SubprocessRunner(), **kwargs)
        self.unit = unit

    @property
    def target(self) -> str:
        return self.unit

    def describe(self) -> Message:
        return Message("platform.control.systemd", {"unit": self.unit})

    def log_location(self) -> str | None:
        return f"journalctl -u {self.unit}"

    def restart_argv(self) -> list[str]:
        return ["systemctl", "restart", self.unit]

    def reload_argv(self) -> list[str]:
        return ["systemctl", "reload", self.unit]

    def status(self) -> ServiceState:
        result = self.runner.run(
            ["systemctl", "show", "-p", "LoadState,ActiveState,SubState", self.unit],
            timeout=QUERY_TIMEOUT,
            env=dict(C_LOCALE),
        )
        if not result.ok:
            raise result.error()
        props = parse_systemctl_show(result.stdout)
        if props.get("LoadState") == "not-found":
            return ServiceState(ServiceStatus.NOT_FOUND, "not-found")
        active = props.get("ActiveState", "")
        status = {
            "active": ServiceStatus.RUNNING,
            "reloading": ServiceStatus.RUNNING,
            "inactive": ServiceStatus.STOPPED,
            "failed": ServiceStatus.STOPPED,
            "activating": ServiceStatus.STARTING,
            "deactivating": ServiceStatus.STOPPING,
        }.get(active, ServiceStatus.UNKNOWN)
        return ServiceState(status, f"{active}/{props.get('SubState', '')}")

    def start(self) -> ServiceState:
        return _act(self, ["systemctl", "start", self.unit], ServiceStatus.RUNNING, self.unit)

    def stop(self) -> ServiceState:
        return _act(self, ["systemctl", "stop", self.unit], ServiceStatus.STOPPED, self.unit)

    def restart(self) -> ServiceState:
        state = _act(self, self.restart_argv(), ServiceStatus.RUNNING, self.unit)
        self._require_accepting()
        return state

    def reload(self) -> None:
        _reload(self, self.reload_argv())


class PgCtlControl(ServiceControl):
    """A bare data directory. ``-l`` keeps the server's early output in a file: without it the
    server would inherit our output and its startup errors would be lost."""

    method = ControlMethod.PG_CTL

    def __init__(
        self,
        data_dir: str | Path,
        bin_dir: str | Path,
        runner: CommandRunner | None = None,
        *,
        os_user: str | None = None,
        startup_log: str | Path | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(runner or SubprocessRunner(), **kwargs)
        self.data_dir = Path(data_dir)
        self.pg_ctl = str(Path(bin_dir) / "pg_ctl")
        self.os_user = os_user
        self.startup_log = Path(startup_log) if startup_log else self.data_dir / "pg_ctl.log"

    @property
    def target(self) -> str:
        return str(self.data_dir)

    def describe(self) -> Message:
        return Message(
            "platform.control.pg_ctl",
            {"data_dir": str(self.data_dir), "user": self.os_user or "-"},
        )

    def log_location(self) -> str | None:
        log_dir = self.data_dir / "log"
        try:
            if log_dir.is_dir():
                return str(log_dir)
        except OSError:
            pass
        return str(self.startup_log)

    def _extra_logs(self) -> list[Path]:
        # Errors before the logging collector starts (a bad setting) land in the startup log.
        return [self.startup_log]

    def pg_ctl_user(self) -> str | None:
        """Who runs pg_ctl. It refuses root, so a root wizard configured to run PostgreSQL
        binaries as itself (``os_user: root``, the elevated-administrator condition of Windows)
        starts the server as the data dir's owner — as a service manager starts it as its
        service account."""
        user = self.os_user
        if is_root() and user in (None, "root"):
            owner = _owner_or_none(str(self.data_dir))
            return owner if owner != "root" else user
        return user

    def _wrap(self, argv: list[str]) -> list[str]:
        # pg_ctl refuses to run as root: drop to the data dir's owner.
        user = self.pg_ctl_user()
        if user and is_root() and user != "root":
            runuser = shutil.which("runuser") or "runuser"
            return [runuser, "-u", user, "--", *argv]
        return argv

    def _pg_ctl(self, *args: str) -> list[str]:
        return self._wrap([self.pg_ctl, "-D", str(self.data_dir), *args])

    def _wait_args(self) -> list[str]:
        return ["-w", "-t", str(max(1, round(self.timeout)))]

    def restart_argv(self) -> list[str]:
        return self._pg_ctl(
            "-l", str(self.startup_log), "-m", "fast", *self._wait_args(), "restart"
        )

    def reload_argv(self) -> list[str]:
        return self._pg_ctl("reload")

    def status_argv(self) -> list[str]:
        return self._pg_ctl("status")

    def status(self) -> ServiceState:
        result = self.runner.run(self.status_argv(), timeout=QUERY_TIMEOUT, env=dict(C_LOCALE))
        if result.not_found or result.timed_out:
            raise result.error()
        # pg_ctl status: 0 running, 3 not running, 4 no (accessible) data directory.
        status = {
            0: ServiceStatus.RUNNING,
            3: ServiceStatus.STOPPED,
            4: ServiceStatus.NOT_FOUND,
        }.get(result.returncode, ServiceStatus.UNKNOWN)
        first_line = (result.output.splitlines() or [""])[0]
        return ServiceState(status, first_line)

    def start(self) -> ServiceState:
        argv = self._pg_ctl("-l", str(self.startup_log), *self._wait_args(), "start")
        state = self.status()
        if state.running:
            return state
        return _act(self, argv, ServiceStatus.RUNNING, str(self.data_dir))

    def stop(self) -> ServiceState:
        argv = self._pg_ctl("-m", "fast", *self._wait_args(), "stop")
        state = self.status()
        if state.status is ServiceStatus.STOPPED:
            return state
        return _act(self, argv, ServiceStatus.STOPPED, str(self.data_dir))

    def restart(self) -> ServiceState:
        state = _act(self, self.restart_argv(), ServiceStatus.RUNNING, str(self.data_dir))
        self._require_accepting()
        return state

    def reload(self) -> None:
        _reload(self, self.reload_argv())


def _act(
    control: ServiceControl, argv: list[str], want: ServiceStatus, target: str
) -> ServiceState:
    """Run a command that waits by itself (pg_ctlcluster, systemctl, pg_ctl -w), then confirm
    the state; the error carries the state seen and the command's output."""
    control._begin_action()
    began = time.monotonic()
    result = control.runner.run(argv, timeout=control.timeout + 30, env=dict(C_LOCALE))
    elapsed = time.monotonic() - began  # what the operator waited, not the limit
    if result.not_found:
        raise result.error()
    state = control.status()
    if state.status is want and result.returncode == 0:
        return state
    key = (
        "platform.service.not_running"
        if want is ServiceStatus.RUNNING
        else "platform.service.not_stopped"
    )
    output = result.tail(1000) or "-"
    if result.timed_out:
        output = f"{result.error().message.render('en')}\n{output}"
    log = control.log_tail()
    if log:  # pg_ctl only says "Examine the log output": the reason is in the log
        output = f"{output}\n{log}"
    raise PlatformError(
        Message(
            key,
            {
                "service": target,
                "seconds": round(elapsed, 1),
                "state": f"{state.status.value} ({state.raw})",
                "output": output,
            },
        ),
        Message("platform.service.fix_log", {"log": control.log_location() or "-"}),
    )


def _reload(control: ServiceControl, argv: list[str]) -> None:
    result = control.runner.run(argv, timeout=QUERY_TIMEOUT + 30, env=dict(C_LOCALE))
    if not result.ok:
        raise PlatformError(
            Message(
                "platform.service.reload_failed",
                {"target": control.target, "output": result.tail() or "-"},
            ),
            Message("platform.service.fix_log", {"log": control.log_location() or "-"}),
        )


# ---------------------------------------------------------------------------------------------
# systemd


def systemd_booted() -> bool:
    """sd_booted(): systemctl only works when systemd is PID 1 (not in most containers)."""
    return os.path.isdir("/run/systemd/system")


def parse_systemctl_show(text: str) -> dict[str, str]:
    props: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            props.setdefault(key.strip(), value.strip())
    return props


def find_systemd_unit(runner: CommandRunner, data_dir: str) -> str | None:
    """A loaded postgresql unit whose ExecStart or PGDATA names ``data_dir``."""
    listed = runner.run(
        [
            "systemctl",
            "list-units",
            "--type=service",
            "--all",
            "--no-legend",
            "--plain",
            "postgresql*",
        ],
        timeout=QUERY_TIMEOUT,
        env=dict(C_LOCALE),
    )
    if not listed.ok:
        return None
    wanted = os.path.realpath(data_dir).rstrip("/")
    for line in listed.stdout.splitlines():
        unit = line.split()[0] if line.split() else ""
        if not unit.endswith(".service"):
            continue
        shown = runner.run(
            ["systemctl", "show", "-p", "ExecStart,Environment", unit],
            timeout=QUERY_TIMEOUT,
            env=dict(C_LOCALE),
        )
        if not shown.ok:
            continue
        for path in re.findall(r"(?:-D\s+|PGDATA=|--pgdata=)(\S+)", shown.stdout):
            if os.path.realpath(path.rstrip(";")).rstrip("/") == wanted:
                return unit
    return None


# ---------------------------------------------------------------------------------------------
# Choosing the control


def control_for(
    *,
    control: str,
    service: str,
    data_dir: str,
    bin_dir: str,
    os_user: str,
    port: int | None,
    runner: CommandRunner,
    timeout: float = DEFAULT_TIMEOUT,
    systemd: bool | None = None,
) -> ServiceControl:
    """See :func:`wizard.platform.service.service_control_for`."""
    systemd = systemd_booted() if systemd is None else systemd
    common: dict[str, Any] = {"port": port, "timeout": timeout}

    if control in (AUTO, ControlMethod.PG_CTLCLUSTER.value):
        clusters = debian_clusters(runner)
        match = _match_debian(clusters or [], data_dir, port, service)
        if match is not None:
            return PgCtlClusterControl(
                match.version, match.name, runner, log_file=match.log_file, **common
            )
        if control == ControlMethod.PG_CTLCLUSTER.value:
            raise PlatformError(
                Message("platform.control.cluster_unknown", {"data_dir": data_dir, "port": port}),
                Message("platform.control.fix_control"),
            )

    if control == ControlMethod.SYSTEMD.value or (control == AUTO and systemd):
        unit = service if service != AUTO else None
        if unit is None and data_dir != AUTO:
            unit = find_systemd_unit(runner, data_dir)
        if unit is not None:
            return SystemdControl(unit, runner, **common)
        if control == ControlMethod.SYSTEMD.value:
            raise PlatformError(
                Message("platform.control.unit_unknown", {"data_dir": data_dir}),
                Message("platform.control.fix_control"),
            )

    if data_dir == AUTO:
        raise PlatformError(
            Message("platform.control.data_dir_needed"), Message("platform.control.fix_control")
        )
    resolved_bin = bin_dir if bin_dir != AUTO else find_bin_dir(data_dir)
    user = os_user if os_user != AUTO else _owner_or_none(data_dir)
    return PgCtlControl(data_dir, resolved_bin, runner, os_user=user, **common)


def _match_debian(
    clusters: Sequence[DebianCluster], data_dir: str, port: int | None, service: str
) -> DebianCluster | None:
    if data_dir != AUTO:
        found = [c for c in clusters if _same_dir(c.data_dir, data_dir)]
    elif service != AUTO:
        # "15/main", "15-main" or "postgresql@15-main"
        name = service.removeprefix("postgresql@").removesuffix(".service").replace("/", "-")
        found = [c for c in clusters if f"{c.version}-{c.name}" == name]
    elif port is not None:
        found = [c for c in clusters if c.port == port]
    else:
        found = []
    return found[0] if len(found) == 1 else None


def _owner_or_none(data_dir: str) -> str | None:
    try:
        return owner_of(data_dir)
    except OSError:
        return None


def find_bin_dir(data_dir: str) -> str:
    """The bin dir of the data dir's major version (PG_VERSION), else the first found."""
    from wizard.pgcluster import ClusterError, find_pg_binaries

    try:
        major = (Path(data_dir) / "PG_VERSION").read_text(encoding="utf-8").strip()
    except OSError:
        major = ""
    debian = Path(f"/usr/lib/postgresql/{major}/bin")
    if major and (debian / "pg_ctl").is_file():
        return str(debian)
    try:
        return str(find_pg_binaries(major=int(major) if major.isdigit() else None).bin_dir)
    except ClusterError as exc:
        raise PlatformError(exc.message, Message("platform.control.fix_bin_dir")) from None


# ---------------------------------------------------------------------------------------------
# Firewall


@dataclass(frozen=True)
class UfwRule:
    port: str
    protocol: str
    action: str
    source: str
    comment: str


def parse_ufw_status(text: str) -> tuple[bool, list[UfwRule]]:
    """(active, rules) from ``ufw status`` (C locale)."""
    active = bool(re.search(r"^Status:\s*active\s*$", text, re.MULTILINE))
    rules = []
    for line in text.splitlines():
        body, _, comment = line.partition("#")
        cols = re.split(r"\s{2,}", body.strip())
        if len(cols) < 3 or cols[0] in ("To", "--"):
            continue
        to, action, source = cols[0], cols[1], cols[2]
        port, _, proto = to.replace(" (v6)", "").partition("/")
        source = source.replace(" (v6)", "")
        rules.append(
            UfwRule(port.strip(), proto.strip() or "any", action.strip(), source, comment.strip())
        )
    return active, rules


_RICH_RE = re.compile(
    r'source address="(?P<addr>[^"]+)".*port port="(?P<port>\d+)" protocol="(?P<proto>\w+)".*accept'
)


def rich_rule(address: str, port: int) -> str:
    family = "ipv6" if ":" in address else "ipv4"
    return (
        f'rule family="{family}" source address="{address}" '
        f'port port="{port}" protocol="tcp" accept'
    )


def _ruleset_filters_input(text: str) -> bool:
    """Whether an nft/iptables rule set can drop incoming traffic at all."""
    low = text.lower()
    if "hook input" in low or "-p input" in low or "chain input" in low:
        return bool(re.search(r"policy drop|\bdrop\b|\breject\b|-p input drop", low))
    return False


class LinuxFirewall(Firewall):
    """ufw or firewalld: planned argv. nftables/iptables: guidance only. None: n/a."""

    backend = "linux"

    def __init__(self, runner: CommandRunner | None = None, rule_name: str | None = None) -> None:
        super().__init__(runner, rule_name or "fdw-wizard-postgresql")
        self._detected: tuple[str, CommandResult | None, list[Message]] | None = None

    def _run(self, argv: list[str]) -> CommandResult:
        return self.runner.run(argv, timeout=QUERY_TIMEOUT, env=dict(C_LOCALE))

    def detect(self) -> str:
        """ufw | firewalld | nftables | iptables | none: the first firewall actually active."""
        return self._detect()[0]

    def _detect(self) -> tuple[str, CommandResult | None, list[Message]]:
        if self._detected is not None:
            return self._detected
        notes: list[Message] = []
        found: tuple[str, CommandResult | None] = ("none", None)
        probes: list[tuple[str, list[str]]] = [
            ("ufw", ["ufw", "status"]),
            ("firewalld", ["firewall-cmd", "--state"]),
            ("nftables", ["nft", "list", "ruleset"]),
            ("iptables", ["iptables", "-S", "INPUT"]),
        ]
        for name, argv in probes:
            result = self._run(argv)
            if result.not_found:
                continue
            if name == "ufw" and result.ok:
                if parse_ufw_status(result.stdout)[0]:
                    found = (name, result)
                    break
                continue
            if name == "firewalld":
                if result.ok and result.stdout.strip() == "running":
                    found = (name, result)
                    break
                continue
            if not result.ok:
                # Installed but unreadable (not root): say so rather than guess.
                notes.append(
                    Message(
                        "platform.firewall.unreadable",
                        {"backend": name, "output": result.tail(300)},
                    )
                )
                continue
            if _ruleset_filters_input(result.stdout):
                found = (name, result)
                break
        self._detected = (found[0], found[1], notes)
        return self._detected

    def plan_rule(
        self, port: int, remote_addresses: Sequence[str], profiles: Sequence[str] = ("Any",)
    ) -> FirewallPlan:
        port = validate_port(port)
        addresses = validate_addresses(remote_addresses)
        backend, probe, notes = self._detect()
        plan = FirewallPlan(backend, notes=list(notes))
        args = {"name": self.rule_name, "port": port, "addresses": ", ".join(addresses)}
        if backend == "none":
            plan.applicable = False
            plan.notes.append(Message("platform.firewall.none_active"))
        elif backend == "ufw" and probe is not None:
            self._plan_ufw(plan, probe, port, addresses, args)
        elif backend == "firewalld":
            self._plan_firewalld(plan, port, addresses, args)
        else:
            plan.applicable = False
            plan.notes.append(
                Message(
                    f"platform.firewall.guidance.{backend}",
                    {**args, "command": _guidance_command(backend, port, addresses)},
                )
            )
        if plan.applicable and not plan.argv_list:
            plan.notes.append(Message("platform.firewall.already", args))
        return plan

    def _plan_ufw(
        self,
        plan: FirewallPlan,
        probe: CommandResult,
        port: int,
        addresses: tuple[str, ...],
        args: dict[str, Any],
    ) -> None:
        _, rules = parse_ufw_status(probe.stdout)
        ours = [r for r in rules if r.comment == self.rule_name]
        have = {(normalize_address(r.source), r.port) for r in ours if r.action.startswith("ALLOW")}
        for address in addresses:
            if (normalize_address(address), str(port)) not in have:
                plan.argv_list.append(
                    [
                        "ufw",
                        "allow",
                        "proto",
                        "tcp",
                        "from",
                        address,
                        "to",
                        "any",
                        "port",
                        str(port),
                        "comment",
                        self.rule_name,
                    ]
                )
                plan.descriptions.append(
                    Message("platform.firewall.action.create", {**args, "addresses": address})
                )
        wanted = {(normalize_address(a), str(port)) for a in addresses}
        for rule in ours:
            key = (normalize_address(rule.source), rule.port)
            if key not in wanted and rule.action.startswith("ALLOW"):
                plan.argv_list.append(_ufw_delete(rule.source, rule.port))
                plan.descriptions.append(
                    Message(
                        "platform.firewall.action.remove_stale",
                        {**args, "addresses": rule.source, "port": rule.port},
                    )
                )
                wanted.add(key)  # the v4 and v6 listings of one rule: delete once

    def _firewalld_rules(self) -> list[tuple[str, str, str]]:
        result = self._run(["firewall-cmd", "--permanent", "--list-rich-rules"])
        if not result.ok:
            raise result.error()
        found = []
        for line in result.stdout.splitlines():
            m = _RICH_RE.search(line)
            if m:
                found.append((normalize_address(m["addr"]), m["port"], line.strip()))
        return found

    def _plan_firewalld(
        self, plan: FirewallPlan, port: int, addresses: tuple[str, ...], args: dict[str, Any]
    ) -> None:
        have = {(a, p) for a, p, _ in self._firewalld_rules()}
        for address in addresses:
            if (normalize_address(address), str(port)) not in have:
                plan.argv_list.append(
                    ["firewall-cmd", "--permanent", f"--add-rich-rule={rich_rule(address, port)}"]
                )
                plan.descriptions.append(
                    Message("platform.firewall.action.create", {**args, "addresses": address})
                )
        if plan.argv_list:
            plan.argv_list.append(["firewall-cmd", "--reload"])
            plan.descriptions.append(Message("platform.firewall.action.reload_firewall"))

    def remove_rule(
        self, port: int | None = None, remote_addresses: Sequence[str] = ()
    ) -> FirewallPlan:
        """ufw rules carry our comment; firewalld rich rules cannot, so there the port and
        addresses that were added must be given."""
        backend, probe, notes = self._detect()
        plan = FirewallPlan(backend, notes=list(notes))
        if backend == "ufw" and probe is not None:
            seen = set()
            for rule in parse_ufw_status(probe.stdout)[1]:
                key = (normalize_address(rule.source), rule.port)
                if rule.comment == self.rule_name and key not in seen:
                    seen.add(key)
                    plan.argv_list.append(_ufw_delete(rule.source, rule.port))
                    plan.descriptions.append(
                        Message("platform.firewall.action.remove", {"name": self.rule_name})
                    )
        elif backend == "firewalld" and port is not None and remote_addresses:
            wanted = {(normalize_address(a), str(port)) for a in remote_addresses}
            for address, rule_port, text in self._firewalld_rules():
                if (address, rule_port) in wanted:
                    plan.argv_list.append(
                        ["firewall-cmd", "--permanent", f"--remove-rich-rule={text}"]
                    )
                    plan.descriptions.append(
                        Message("platform.firewall.action.remove", {"name": self.rule_name})
                    )
            if plan.argv_list:
                plan.argv_list.append(["firewall-cmd", "--reload"])
                plan.descriptions.append(Message("platform.firewall.action.reload_firewall"))
        elif backend == "none":
            plan.applicable = False
        if not plan.argv_list:
            plan.notes.append(
                Message("platform.firewall.nothing_to_remove", {"name": self.rule_name})
            )
        return plan


def _ufw_delete(source: str, port: str) -> list[str]:
    return ["ufw", "delete", "allow", "proto", "tcp", "from", source, "to", "any", "port", port]


_NFT_CHAIN = "inet filter input"  # the Debian /etc/nftables.conf default; adjust to yours


def _guidance_command(backend: str, port: int, addresses: Sequence[str]) -> str:
    if backend == "nftables":
        v4 = [a for a in addresses if ":" not in a]
        v6 = [a for a in addresses if ":" in a]
        lines = []
        if v4:
            saddr = ", ".join(v4)
            lines.append(
                f"nft insert rule {_NFT_CHAIN} ip saddr {{ {saddr} }} tcp dport {port} accept"
            )
        if v6:
            saddr = ", ".join(v6)
            lines.append(
                f"nft insert rule {_NFT_CHAIN} ip6 saddr {{ {saddr} }} tcp dport {port} accept"
            )
        return "\n".join(lines)
    lines = []
    for address in addresses:
        tool = "ip6tables" if ":" in address else "iptables"
        lines.append(f"{tool} -I INPUT -p tcp -s {address} --dport {port} -j ACCEPT")
    return "\n".join(lines)
