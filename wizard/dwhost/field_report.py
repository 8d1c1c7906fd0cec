"""`fdw-wizard field-report`: capture, read-only, exactly what the wizard parses on this host.

The Windows code was written against reconstructed outputs; the first run on the operator's
server should turn into test fixtures. This module runs the same read-only commands the
platform layer runs (service query, registry, firewall rule and profiles, the active firewall
policy, ``postgres -C`` in both argument orders, the Application log) plus the ACLs, console code
pages, elevation and keyring facts, and writes them — every text redacted — into ONE archive
(``.tar.gz``) with a ``manifest.json``. ``tests/recorded/field_bundle.py`` replays such an
archive as recorded outputs.

Nothing here changes the host: no service is touched, no rule added, no file written except
the archive. The keyring probe writes and deletes one random throwaway entry (the same probe
the wizard runs before it trusts a backend).
"""

from __future__ import annotations

import io
import json
import locale
import os
import platform as pyplatform
import re
import sys
import tarfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PureWindowsPath
from typing import Any, Unpack

from wizard import redact
from wizard.dwhost.platform.runner import (
    CommandResult,
    CommandRunner,
    RunOptions,
    SubprocessRunner,
)

FORMAT = "fdw-wizard-field-report/1"
MANIFEST = "manifest.json"
# postgresql.conf settings the wizard reads or that explain what it sees (log place, language
# of the server's messages, the event source of a Windows service).
CHECKED_PARAMS = (
    "port",
    "listen_addresses",
    "ssl",
    "logging_collector",
    "log_directory",
    "lc_messages",
    "event_source",
)
EVENT_LOG_SECONDS = 7 * 24 * 3600
_SENSITIVE_NAME = re.compile(r"(?i)(pass|secret|token|key|credential|pwd)")
_ENV_KEEP = re.compile(
    r"(?i)^(PG\w*|LC_\w+|LANG|LANGUAGE|PATH|SYSTEMROOT|COMSPEC|PROCESSOR_ARCHITECTURE|"
    r"FDW_WIZARD_\w+|KEYRING\w*|DBUS_SESSION_BUS_ADDRESS|XDG_RUNTIME_DIR|TERM|WT_SESSION)$"
)

__all__ = [
    "FORMAT",
    "MANIFEST",
    "Capture",
    "Target",
    "collect",
    "write_archive",
]


# What a command's capture copies, field for field, from its CommandResult.
_COMMAND_FIELDS = ("returncode", "stdout", "stderr", "duration_s", "timed_out", "not_found")


@dataclass
class Capture:
    """One thing captured: a command's result, or data read through Python (registry, stat,
    console code pages, keyring report). ``parser`` names the wizard code that reads it."""

    name: str
    kind: str  # command | registry | stat | probe | env
    parser: str = ""
    argv: list[str] = field(default_factory=list)
    returncode: int | None = None
    stdout: str = ""
    stderr: str = ""
    duration_s: float = 0.0
    timed_out: bool = False
    not_found: bool = False
    data: Any = None

    @staticmethod
    def of_command(name: str, parser: str, result: Any, data: Any = None) -> Capture:
        """A command's result (a platform.runner CommandResult), as captured."""
        copied = {attr: getattr(result, attr) for attr in _COMMAND_FIELDS}
        return Capture(
            name=name, kind="command", parser=parser, argv=list(result.argv), data=data, **copied
        )

    def redacted(self) -> Capture:
        return Capture(
            name=self.name,
            kind=self.kind,
            parser=self.parser,
            argv=[redact.redact(a) for a in self.argv],
            returncode=self.returncode,
            stdout=redact.redact(self.stdout),
            stderr=redact.redact(self.stderr),
            duration_s=round(self.duration_s, 3),
            timed_out=self.timed_out,
            not_found=self.not_found,
            data=redact.redact_obj(self.data),
        )


@dataclass(frozen=True)
class Target:
    """A PostgreSQL server of this host: its data dir and the bin dir of its own binaries."""

    data_dir: str
    bin_dir: str | None
    service: str | None = None
    os_user: str | None = None
    config_file: str | None = None  # when postgresql.conf is not in the data dir (Debian)


class Collector:
    def __init__(self, runner: CommandRunner) -> None:
        self.runner = runner
        self.captures: list[Capture] = []

    def command(
        self,
        name: str,
        argv: Sequence[str],
        parser: str,
        *,
        timeout: float = 60.0,
        env: Mapping[str, str] | None = None,
    ) -> CommandResult:
        result = self.runner.run(
            [str(a) for a in argv], timeout=timeout, env=dict(env) if env else None
        )
        self.captures.append(Capture.of_command(name, parser, result))
        return result

    def data(self, name: str, kind: str, data: Any, parser: str = "") -> None:
        self.captures.append(Capture(name=name, kind=kind, parser=parser, data=data))


# ---------------------------------------------------------------------------------------------
# Secrets never leave: every value we can know is registered before anything is captured


def register_known_secrets(environ: Mapping[str, str]) -> None:
    for name, value in environ.items():
        if name.upper().startswith("FDW_WIZARD_SECRET_") or _SENSITIVE_NAME.search(name):
            redact.register(value)


def environment_subset(environ: Mapping[str, str]) -> dict[str, str]:
    """The variables that change how commands behave or print (locale, PG*, paths); the value
    of anything named like a secret is masked."""
    kept = {}
    for name in sorted(environ):
        if not _ENV_KEEP.match(name):
            continue
        value = environ[name]
        kept[name] = redact.MASK if _SENSITIVE_NAME.search(name) else value
    return kept


# ---------------------------------------------------------------------------------------------
# Pieces shared by both systems


def _postgres(bin_dir: str, system: str) -> str:
    if system == "windows":
        return str(PureWindowsPath(bin_dir) / "postgres.exe")
    return str(Path(bin_dir) / "postgres")


def _capture_postgres_checks(col: Collector, target: Target, system: str, index: int) -> None:
    """``postgres -C`` in both argument orders: the order decides whether an elevated /
    root process is refused (src/backend/main/main.c). Run as this process, as the wizard's
    check runs on Windows."""
    if not target.bin_dir:
        return
    from wizard.dwhost.pgfiles.judge import postgres_check_argv

    postgres = _postgres(target.bin_dir, system)
    col.command(
        f"server{index}.postgres-D-then-C.port",
        [postgres, "-D", target.data_dir, "-C", "port"]
        + (["-c", f"config_file={target.config_file}"] if target.config_file else []),
        "wizard.dwhost.pgfiles.judge.postgres_check (the order it must NOT use)",
        env={"LC_MESSAGES": "C"},
    )
    for param in CHECKED_PARAMS:
        col.command(
            f"server{index}.postgres-C-first.{param}",
            postgres_check_argv(postgres, target.data_dir, param, target.config_file),
            "wizard.dwhost.pgfiles.judge.postgres_check",
            env={"LC_MESSAGES": "C"},
        )


def _console_facts(system: str, kernel32: Any = None) -> dict[str, Any]:
    facts: dict[str, Any] = {
        "preferred_encoding": locale.getpreferredencoding(False),
        "stdout_encoding": getattr(sys.stdout, "encoding", None),
        "stdin_isatty": sys.stdin.isatty() if sys.stdin else False,
    }
    if system == "windows":
        try:
            k32 = kernel32
            if k32 is None:
                import ctypes

                k32 = getattr(ctypes, "windll").kernel32  # noqa: B009
            facts.update(
                console_input_cp=int(k32.GetConsoleCP()),
                console_output_cp=int(k32.GetConsoleOutputCP()),
                oem_cp=int(k32.GetOEMCP()),
                ansi_cp=int(k32.GetACP()),
            )
        except (AttributeError, OSError, ImportError) as exc:
            facts["error"] = f"{type(exc).__name__}: {exc}"
        from wizard.dwhost.platform.runner import oem_encoding

        facts["decoding_used_for_cmd_tools"] = oem_encoding()
    return facts


def _keyring_facts(namespace: str) -> dict[str, Any]:
    try:
        from wizard.secrets import SecretStore

        return SecretStore(namespace).backend_report(probe=True).to_json("en")
    except Exception as exc:  # a broken backend is a finding, not a crash
        return {"error": f"{type(exc).__name__}: {exc}"}


def _elevation_facts(system: str, is_admin: Callable[[], bool] | None) -> dict[str, Any]:
    from wizard.dwhost.platform.elevation import check_elevation

    try:
        found = check_elevation(system=system, is_admin=is_admin)
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}
    return {"elevated": found.elevated, "how": found.how}


# ---------------------------------------------------------------------------------------------
# Windows


def _registry_dump(reader: Any) -> tuple[dict[str, dict[str, Any]], list[Any]]:
    from wizard.dwhost.platform.windows import (
        REG_INSTALLATIONS,
        REG_SCM,
        REG_SERVICES,
        discover_installations,
        parse_image_path,
    )

    def plain(values: Mapping[str, Any] | None) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, value in (values or {}).items():
            out[str(name)] = value.hex() if isinstance(value, bytes | bytearray) else value
        return out

    dump: dict[str, dict[str, Any]] = {}
    for root in (REG_INSTALLATIONS, REG_SERVICES):
        for sub in reader.subkeys(root):
            dump[f"{root}\\{sub}"] = plain(reader.values(f"{root}\\{sub}"))
    for svc in reader.subkeys(REG_SCM):
        values = reader.values(f"{REG_SCM}\\{svc}") or {}
        image = next((v for k, v in values.items() if str(k).lower() == "imagepath"), None)
        if isinstance(image, str) and parse_image_path(image):
            dump[f"{REG_SCM}\\{svc}"] = plain(values)
    return dump, discover_installations(reader)


def _collect_windows(
    col: Collector,
    targets: Sequence[Target],
    *,
    registry: Any,
    rule_name: str | None,
) -> None:
    from wizard.dwhost.platform.runner import netsh_exe, sc_exe, system32
    from wizard.dwhost.platform.windows import (
        EVENT_SOURCE,
        WindowsFirewall,
        WinRegReader,
        events_argv,
    )

    reader = registry if registry is not None else WinRegReader()
    dump, installations = _registry_dump(reader)
    col.data(
        "registry",
        "registry",
        dump,
        "wizard.dwhost.platform.windows.discover_installations (HKLM, 64-bit view)",
    )
    servers = []
    for target in targets:  # the config's server, with the bin dir of its own service
        same = [
            i for i in installations if i.data_dir and i.data_dir.lower() == target.data_dir.lower()
        ]
        if target.bin_dir is None and same:
            target = Target(target.data_dir, same[0].bin_dir, same[0].service, target.os_user)
        servers.append(target)
    for inst in installations:
        col.command(
            f"service.{inst.service}.sc-query",
            [sc_exe(), "query", inst.service],
            "wizard.dwhost.platform.windows.parse_sc_query",
        )
        if inst.data_dir and not any(t.data_dir.lower() == inst.data_dir.lower() for t in servers):
            servers.append(Target(inst.data_dir, inst.bin_dir, inst.service))
    icacls = system32("icacls.exe")
    for index, target in enumerate(servers):
        _capture_postgres_checks(col, target, "windows", index)
        data_dir = PureWindowsPath(target.data_dir)
        col.command(f"server{index}.acl.data_dir", [icacls, str(data_dir)], "ACL (icacls)")
        for name in ("postgresql.conf", "pg_hba.conf", "postgresql.auto.conf"):
            col.command(f"server{index}.acl.{name}", [icacls, str(data_dir / name)], "ACL")
        for name in ("server.crt", "server.key"):
            if os.path.exists(str(data_dir / name)):
                col.command(f"server{index}.acl.{name}", [icacls, str(data_dir / name)], "ACL")
    firewall = WindowsFirewall(col.runner, rule_name)
    col.command(
        "firewall.rule.powershell",
        firewall.lookup_argv(),
        "wizard.dwhost.platform.windows.parse_ps_rule",
    )
    col.command(
        "firewall.rule.netsh",
        firewall.netsh_lookup_argv(),
        "wizard.dwhost.platform.windows.parse_netsh_rule",
    )
    col.command(
        "firewall.network-profiles",
        firewall.profiles_argv(),
        "wizard.dwhost.platform.windows.parse_connection_profiles",
    )
    col.command(
        "firewall.active-policy",
        firewall.policy_argv(),
        "wizard.dwhost.platform.windows.parse_firewall_policy",
    )
    col.command(
        "firewall.netsh-allprofiles",
        [netsh_exe(), "advfirewall", "show", "allprofiles"],
        "the active profiles as netsh prints them (localized)",
    )
    col.command(
        "eventlog.postgresql",
        events_argv(EVENT_LOG_SECONDS, EVENT_SOURCE),
        "wizard.dwhost.platform.windows.parse_events",
    )


# ---------------------------------------------------------------------------------------------
# Linux


def _stat(path: str) -> dict[str, Any]:
    import grp
    import pwd

    try:
        st = os.stat(path)
    except OSError as exc:
        return {"path": path, "error": f"{type(exc).__name__}: {exc.strerror}"}
    try:
        owner = pwd.getpwuid(st.st_uid).pw_name
    except KeyError:
        owner = str(st.st_uid)
    try:
        group = grp.getgrgid(st.st_gid).gr_name
    except KeyError:
        group = str(st.st_gid)
    return {
        "path": path,
        "owner": owner,
        "group": group,
        "mode": oct(st.st_mode & 0o7777),
        "uid": st.st_uid,
        "gid": st.st_gid,
    }


def _collect_linux(col: Collector, targets: Sequence[Target]) -> None:
    from wizard.dwhost.platform.linux import (
        C_LOCALE,
        PgCtlControl,
        parse_pg_lsclusters,
        systemd_booted,
    )

    listed = col.command(
        "pg_lsclusters",
        ["pg_lsclusters"],
        "wizard.dwhost.platform.linux.parse_pg_lsclusters",
        env=C_LOCALE,
    )
    servers = list(targets)
    if listed.ok:
        for cluster in parse_pg_lsclusters(listed.stdout):
            known = {os.path.realpath(t.data_dir) for t in servers}
            if os.path.realpath(cluster.data_dir) not in known:
                conf = f"/etc/postgresql/{cluster.version}/{cluster.name}/postgresql.conf"
                servers.append(
                    Target(
                        cluster.data_dir,
                        f"/usr/lib/postgresql/{cluster.version}/bin",
                        f"{cluster.version}/{cluster.name}",
                        cluster.owner,
                        conf if os.path.exists(conf) else None,
                    )
                )
    if systemd_booted():
        col.command(
            "systemd.units",
            ["systemctl", "list-units", "--type=service", "--all", "--no-legend", "--plain",
             "postgresql*"],
            "wizard.dwhost.platform.linux.find_systemd_unit",
            env=C_LOCALE,
        )  # fmt: skip
    for index, target in enumerate(servers):
        data_dir = target.data_dir
        col.data(
            f"server{index}.stat",
            "stat",
            {
                "target": asdict(target),
                "files": [
                    _stat(os.path.join(data_dir, name))
                    for name in ("", "postgresql.conf", "pg_hba.conf", "postgresql.auto.conf")
                ],
            },
            "wizard.dwhost.platform.linux.owner_of / "
            "wizard.dwhost.platform.elevation.check_elevation",
        )
        _capture_postgres_checks(col, target, "linux", index)
        if target.bin_dir:
            control = PgCtlControl(data_dir, target.bin_dir, col.runner, os_user=target.os_user)
            col.command(
                f"server{index}.pg_ctl-status",
                control.status_argv(),
                "wizard.dwhost.platform.linux.PgCtlControl.status",
                env=C_LOCALE,
            )
    for name, argv in (
        ("firewall.ufw", ["ufw", "status"]),
        ("firewall.firewalld", ["firewall-cmd", "--state"]),
        ("firewall.nftables", ["nft", "list", "ruleset"]),
        ("firewall.iptables", ["iptables", "-S", "INPUT"]),
    ):
        col.command(
            name, argv, "wizard.dwhost.platform.linux_firewall.LinuxFirewall.detect", env=C_LOCALE
        )


# ---------------------------------------------------------------------------------------------
# Restart timing (only when asked: it restarts the server)


class RecordingRunner:
    """Runs through ``inner`` and records every call as a capture ``<prefix>.NN``, with the
    second it started at: the real sequence of states a restart goes through."""

    def __init__(self, inner: CommandRunner, col: Collector, prefix: str) -> None:
        self.inner = inner
        self.col = col
        self.prefix = prefix
        self.started = time.monotonic()

    def run(self, argv: list[str], **options: Unpack[RunOptions]) -> CommandResult:
        at = time.monotonic() - self.started
        result = self.inner.run(argv, **options)
        number = sum(1 for c in self.col.captures if c.name.startswith(self.prefix + ".")) + 1
        self.col.captures.append(
            Capture.of_command(
                f"{self.prefix}.{number:02d}",
                "wizard.dwhost.platform ServiceControl.restart (timing run)",
                result,
                data={"at_s": round(at, 3), "timeout_s": options["timeout"]},
            )
        )
        return result


def _capture_restart(col: Collector, make_control: Callable[[CommandRunner], Any]) -> None:
    recorder = RecordingRunner(col.runner, col, "restart")
    summary: dict[str, Any] = {}
    started = time.monotonic()
    try:
        control = make_control(recorder)
        summary["target"] = str(control.target)
        summary["method"] = str(control.method.value)
        state = control.restart()
        summary.update(ok=True, state=f"{state.status.value} ({state.raw})")
    except Exception as exc:  # the failure is the finding
        message = getattr(exc, "message", None)
        text = message.render("en") if message is not None else f"{type(exc).__name__}: {exc}"
        summary.update(ok=False, error=text)
    summary["seconds"] = round(time.monotonic() - started, 3)
    col.data("restart.summary", "probe", summary, "the whole restart, timed")


# ---------------------------------------------------------------------------------------------
# Entry points


def collect(
    *,
    system: str,
    targets: Iterable[Target] = (),
    runner: CommandRunner | None = None,
    registry: Any = None,
    rule_name: str | None = None,
    keyring_namespace: str = "fdw-wizard-field-report",
    is_admin: Callable[[], bool] | None = None,
    kernel32: Any = None,
    environ: Mapping[str, str] | None = None,
    restart: Callable[[CommandRunner], Any] | None = None,
) -> list[Capture]:
    """Every capture for this host, already redacted. ``restart`` (only when the operator
    asked for restart timing) builds the server's ServiceControl on the runner it is given;
    the restart's every command is then captured with its timing."""
    env = dict(os.environ if environ is None else environ)
    register_known_secrets(env)
    col = Collector(runner or SubprocessRunner())
    col.data(
        "host",
        "probe",
        {
            "system": system,
            "platform": pyplatform.platform(),
            "python": sys.version.split()[0],
            "python_bits": 64 if sys.maxsize > 2**32 else 32,
            "wizard": _wizard_version(),
        },
    )
    col.data("environment", "env", environment_subset(env))
    col.data(
        "console",
        "probe",
        _console_facts(system, kernel32),
        "wizard.dwhost.platform.runner.oem_encoding",
    )
    col.data(
        "elevation",
        "probe",
        _elevation_facts(system, is_admin),
        "wizard.dwhost.platform.elevation.check_elevation",
    )
    col.data("keyring", "probe", _keyring_facts(keyring_namespace), "wizard.secrets.backend_report")
    if system == "windows":
        _collect_windows(col, list(targets), registry=registry, rule_name=rule_name)
    else:
        _collect_linux(col, list(targets))
    if restart is not None:
        _capture_restart(col, restart)
    return [c.redacted() for c in col.captures]


def _wizard_version() -> str:
    try:
        from importlib.metadata import version

        return version("fdw-wizard")
    except Exception:
        return "unknown"


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:80]


def write_archive(captures: Sequence[Capture], out_dir: Path, *, system: str) -> Path:
    """One ``.tar.gz`` (mode 0600): manifest.json + each capture's stdout/stderr as files."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = out_dir / f"fdw-wizard-field-report-{system}-{stamp}.tar.gz"
    entries: list[dict[str, Any]] = []
    files: list[tuple[str, bytes]] = []
    for number, capture in enumerate(captures, start=1):
        record = asdict(capture)
        base = f"captures/{number:03d}-{_safe(capture.name)}"
        for stream in ("stdout", "stderr"):
            text = record.pop(stream)
            if text:
                record[f"{stream}_file"] = f"{base}.{stream}.txt"
                files.append((record[f"{stream}_file"], text.encode("utf-8")))
        entries.append(record)
    manifest = {
        "format": FORMAT,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "system": system,
        "redacted": True,
        "captures": entries,
    }
    data = json.dumps(manifest, indent=2, ensure_ascii=False).encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
        for name, content in [(MANIFEST, data), *files]:
            info = tarfile.TarInfo(name)
            info.size = len(content)
            info.mtime = int(time.time())
            info.mode = 0o600
            tar.addfile(info, io.BytesIO(content))
    return path
