"""The rehearsal sandbox: the test bed's two loopback clusters plus a config that points at them.

`fdw-wizard demo --no-tui --dir D` starts it, `fdw-wizard demo --stop --dir D` removes it.
Passwords are throwaway values for throwaway clusters: they go to the OS keyring under a
namespace of their own; where no usable keyring exists they go to
``D/fdw-wizard-sandbox-secrets.json`` (mode 0600), read by the wizard only for a config marked
``sandbox: true``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wizard import paths
from wizard.config import (
    Config,
    ExposureConfig,
    LocalConfig,
    SecretsConfig,
    SupabaseConfig,
    save_config,
)
from wizard.engine import StepError
from wizard.fileio import atomic_write_bytes
from wizard.i18n import Message

CONFIG_NAME = "fdw-wizard.yaml"
STATE_NAME = "sandbox.json"
CLUSTERS_DIR = "clusters"

# test bed password name -> wizard secret name
_SECRET_MAP = {"dw-superuser": "local-superuser", "supabase-postgres": "supabase-db"}
API_DIR = "api"
API_SECRETS = ("supabase-anon-key", "supabase-service-key")
API_START_TIMEOUT_S = 20.0


@dataclass
class SandboxInfo:
    directory: Path
    config_path: Path
    dw_port: int
    supabase_port: int
    secrets_where: str  # "keyring" or the path of the sandbox secrets file
    keyring_problem: Message | None = None
    api_url: str = ""


def default_dir() -> Path:
    """A place the cluster owner can reach: as root the servers run as `postgres`, which
    cannot enter /root, so use a world-traversable directory there."""
    if os.name == "posix" and os.geteuid() == 0:
        return Path("/var/tmp/fdw-wizard-sandbox")  # noqa: S108 - ownership checked in start()
    return paths.data_dir() / "sandbox"


def namespace_for(directory: Path) -> str:
    return "sandbox-" + paths.config_key(directory / CONFIG_NAME).rsplit("-", 1)[-1]


def sandbox_config(
    dw_port: int, supabase_port: int, data_dir: Path, bin_dir: Path, os_user: str | None
) -> Config:
    """A config for the two loopback clusters: every address is loopback, by construction."""
    return Config(
        sandbox=True,
        local=LocalConfig(
            host="127.0.0.1",
            port=dw_port,
            data_dir=str(data_dir),
            control="pg_ctl",
            bin_dir=str(bin_dir),
            os_user=os_user or "auto",
        ),
        exposure=ExposureConfig(
            listen_addresses="127.0.0.1",
            public_host="127.0.0.1",
            public_port=dw_port,
            allowed_cidrs=["127.0.0.1/32"],
            online_ip_lookup=False,
        ),
        supabase=SupabaseConfig(
            host="127.0.0.1",
            port=supabase_port,
            user="postgres",
            sslmode="prefer",
        ),
        secrets=SecretsConfig(namespace="sandbox"),
    )


def _store_secrets(directory: Path, namespace: str, passwords: dict[str, str]) -> tuple[str, Any]:
    """Keyring when usable; else the 0600 sandbox file. Returns (where, problem message)."""
    from wizard.secrets import SecretStore, sandbox_secrets_path

    store = SecretStore(namespace)
    report = store.backend_report()
    if report.usable:
        for source, name in _SECRET_MAP.items():
            store.set(name, passwords[source])
        for name in API_SECRETS:
            if name in passwords:
                store.set(name, passwords[name])
        return "keyring", None
    values = {name: passwords[source] for source, name in _SECRET_MAP.items()}
    values.update({name: passwords[name] for name in API_SECRETS if name in passwords})
    target = sandbox_secrets_path(directory / CONFIG_NAME)
    atomic_write_bytes(target, json.dumps(values).encode("utf-8"), backup=False, mode=0o600)
    return str(target), report.problem


def _refuse_foreign_dir(directory: Path) -> None:
    """A directory someone else owns (or a symlink planted in /var/tmp) is never used."""
    st = directory.lstat()
    foreign = os.name == "posix" and st.st_uid != os.geteuid()
    if directory.is_symlink() or foreign:
        raise StepError(
            Message("sandbox.unsafe_dir", {"dir": str(directory)}),
            Message("sandbox.unsafe_dir.fix"),
        )


def start(directory: Path, scale: float = 0.05) -> SandboxInfo:
    from wizard.testbed.bed import TestBed, start_testbed

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    _refuse_foreign_dir(directory)
    directory = directory.resolve()
    state_path = directory / STATE_NAME
    if state_path.exists():
        raise StepError(
            Message("sandbox.already_running", {"dir": str(directory)}),
            Message("sandbox.already_running.fix", {"dir": str(directory)}),
        )
    bed: TestBed = start_testbed(directory / CLUSTERS_DIR, scale=scale)
    api_pid: int | None = None
    try:
        api_url, api_pid, api_keys = _start_api(directory, bed)
        passwords = {**bed.passwords, **api_keys}
        namespace = namespace_for(directory)
        config = sandbox_config(
            bed.dw.port,
            bed.supabase.port,
            bed.dw.cluster.data_dir,
            bed.dw.cluster.bins.bin_dir,
            bed.dw.cluster.owner,
        )
        config.secrets = SecretsConfig(namespace=namespace)
        config.supabase.project_url = api_url
        where, problem = _store_secrets(directory, namespace, passwords)
        config_path = directory / CONFIG_NAME
        save_config(
            config,
            config_path,
            header="# Written by `fdw-wizard demo`: a rehearsal on loopback clusters.",
        )
        bed.save(state_path)
        meta = json.loads(state_path.read_text(encoding="utf-8"))
        meta["sandbox"] = {"namespace": namespace, "secrets": where, "api_pid": api_pid}
        atomic_write_bytes(state_path, json.dumps(meta, indent=2).encode("utf-8"), backup=False)
    except BaseException:
        _stop_api(api_pid)
        bed.stop(remove=True)
        with contextlib.suppress(OSError):
            state_path.unlink()
        raise
    return SandboxInfo(
        directory, config_path, bed.dw.port, bed.supabase.port, where, problem, api_url
    )


def stop(directory: Path) -> list[str]:
    """Stop both clusters and remove everything the sandbox created. Returns what was removed."""
    from wizard.testbed.bed import TestBed

    directory = Path(directory).resolve()
    state_path = directory / STATE_NAME
    if not state_path.exists():
        raise StepError(
            Message("sandbox.not_found", {"dir": str(directory)}),
            Message("sandbox.not_found.fix"),
        )
    meta = json.loads(state_path.read_text(encoding="utf-8")).get("sandbox", {})
    _stop_api(meta.get("api_pid"))
    bed = TestBed.load(state_path)
    bed.stop(remove=True)
    removed = [str(directory / CLUSTERS_DIR)]
    namespace = meta.get("namespace")
    if meta.get("secrets") == "keyring" and namespace:
        from wizard.secrets import SecretStore

        store = SecretStore(namespace)
        for name in (*_SECRET_MAP.values(), *API_SECRETS, "reader"):
            with contextlib.suppress(Exception):  # best effort: the clusters are gone anyway
                store.delete(name)
        removed.append(f"keyring:{namespace}")
    from wizard.secrets import sandbox_secrets_path

    # What the wizard kept about this sandbox's config in the user's data dir (keyed by the
    # config's path, so a real site's records are never touched).
    config_path = directory / CONFIG_NAME
    key = paths.config_key(config_path)
    for path in (
        paths.state_file(config_path),
        paths.data_dir() / "monitor" / f"{key}.jsonl",
    ):
        if path.exists():
            path.unlink()
            removed.append(str(path))
    journal_dir = paths.data_dir() / "journal" / key
    if journal_dir.is_dir():
        shutil.rmtree(journal_dir, ignore_errors=True)
        removed.append(str(journal_dir))
    for name in (
        CONFIG_NAME,
        STATE_NAME,
        sandbox_secrets_path(config_path).name,
        "arquitetura-fdw.md",  # the as-built document, written next to the config by default
    ):
        path = directory / name
        if path.exists():
            path.unlink()
            removed.append(str(path))
    shutil.rmtree(directory / CLUSTERS_DIR, ignore_errors=True)
    shutil.rmtree(directory / API_DIR, ignore_errors=True)
    with contextlib.suppress(OSError):
        directory.rmdir()  # only if empty: never delete what the operator put there
    return removed


def _start_api(directory: Path, bed: Any) -> tuple[str, int, dict[str, str]]:
    """The local stand-in of Supabase's HTTP APIs (REST, Storage, the health function) in a
    process of its own, so the sandbox keeps answering after `demo` returns. Returns (url, pid,
    the anon and service keys). The fallback JSONs are exported from the DW, as the ETL does."""
    import secrets as pysecrets
    import subprocess
    import time

    from wizard.dwhost.platform.runner import detached_options
    from wizard.testbed.pgcluster import free_loopback_port
    from wizard.testbed.standin import make_key, write_fallback_files

    api = directory / API_DIR
    api.mkdir(parents=True, exist_ok=True)
    jwt_secret = pysecrets.token_urlsafe(32)
    secret_file = api / "jwt-secret"
    atomic_write_bytes(secret_file, jwt_secret.encode("ascii"), backup=False, mode=0o600)
    storage = api / "storage"
    with bed.dw.connect() as dw, bed.supabase.connect() as supa:
        write_fallback_files(dw, supa, storage)
    log_path = api / "standin.log"
    env = dict(os.environ, FDW_WIZARD_STANDIN_DB_PASSWORD=bed.passwords["supabase-admin"])
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [
                sys.executable, "-m", "wizard.testbed.standin",
                "--db-port", str(bed.supabase.port),
                "--storage-dir", str(storage),
                "--jwt-secret-file", str(secret_file),
                "--port", str(free_loopback_port()),
                "--health-relation", "v_clientes_360",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            **detached_options("windows" if os.name == "nt" else "posix"),  # outlives `demo`
        )  # fmt: skip
    deadline = time.monotonic() + API_START_TIMEOUT_S
    while time.monotonic() < deadline:
        first = log_path.read_text(encoding="utf-8", errors="replace").splitlines()[:1]
        if first and first[0].startswith("{"):
            url = str(json.loads(first[0])["url"])
            keys = {
                "supabase-anon-key": make_key(jwt_secret, "anon"),
                "supabase-service-key": make_key(jwt_secret, "service_role"),
            }
            return url, process.pid, keys
        if process.poll() is not None:
            break
        time.sleep(0.1)
    _stop_api(process.pid)
    raise StepError(
        Message("sandbox.api_failed", {"log": log_path.read_text(errors="replace")[-800:]})
    )


def _stop_api(pid: int | None) -> None:
    """Stop the API stand-in and reap it when it is our child (portable: no SIGKILL, WNOHANG
    nor ``os.kill(pid, 0)`` on Windows, where signal 0 is a CTRL_C to the console group)."""
    from wizard.dwhost.platform.runner import stop_process

    if not pid:
        return
    stop_process(pid, grace=5.0)
