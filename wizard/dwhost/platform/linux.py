"""Linux: how a cluster is controlled (pg_ctlcluster / systemd / pg_ctl).

Debian clusters go through ``pg_ctlcluster``; a systemd unit through ``systemctl``; a bare data
directory through ``pg_ctl`` as the data dir's owner (pg_ctl refuses root, so root drops to
the owner with ``runuser -u <owner> --``). The firewall is in :mod:`linux_firewall`
(its public names re-exported here).
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

from wizard.dwhost.platform.linux_firewall import LinuxFirewall as LinuxFirewall
from wizard.dwhost.platform.linux_firewall import UfwRule as UfwRule
from wizard.dwhost.platform.linux_firewall import parse_ufw_status as parse_ufw_status
from wizard.dwhost.platform.linux_firewall import rich_rule as rich_rule
from wizard.dwhost.platform.runner import C_LOCALE as C_LOCALE
from wizard.dwhost.platform.runner import (
    QUERY_TIMEOUT,
    CommandRunner,
    PlatformError,
    SubprocessRunner,
)
from wizard.dwhost.platform.service import (
    AUTO,
    DEFAULT_TIMEOUT,
    ControlMethod,
    ServiceControl,
    ServiceState,
    ServiceStatus,
)
from wizard.i18n import Message


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
    """See :func:`wizard.dwhost.platform.service.service_control_for`."""
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
    from wizard.testbed.pgcluster import ClusterError, find_pg_binaries

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
