"""wizard.secrets and `fdw-wizard secrets` against real keyring backends.

Real parts: keyrings.alt's PlaintextKeyring writing into a temp dir, keyring's fail backend, the
real ChainerBackend, a real subprocess fed through a pipe or a pseudo-terminal, and (marked
``keyring_service``) the real Secret Service under ``.ci/with-secret-service``. The only fake is
the Windows Credential Manager, which cannot run on Linux (see ``FakeWinVault``).
"""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import keyring.core
import keyring.errors
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail, null
from keyring.backends.chainer import ChainerBackend
from keyring.backends.Windows import WinVaultKeyring
from keyrings.alt.file import PlaintextKeyring

from wizard import redact
from wizard.secrets import (
    ENV_ALLOW_INSECURE,
    ENV_PREFIX,
    SECRETS,
    SERVICE,
    BackendReport,
    BackendUnusable,
    KeyringOperationError,
    SecretMissing,
    SecretStore,
    SecretTooLong,
    UnknownSecret,
    backend_name,
    env_var_name,
    sandbox_secrets_path,
    windows_error_code,
)

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never touch the real user's keyring or inherit secrets from the environment."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    for var in list(os.environ):
        if var.startswith(ENV_PREFIX) or var == ENV_ALLOW_INSECURE:
            monkeypatch.delenv(var)
    # Anything that forgets to pin a backend gets the fail one, not the user's keyring.
    monkeypatch.setattr(keyring.core, "_keyring_backend", fail.Keyring())


@pytest.fixture
def plaintext(tmp_path: Path) -> PlaintextKeyring:
    kr = PlaintextKeyring()
    kr.file_path = str(tmp_path / "plain" / "keyring_pass.cfg")
    return kr


# ------------------------------------------------------------------------------------ backends


@pytest.mark.parametrize(
    ("platform", "display", "kind", "words"),
    [
        ("win32", None, "windows", "Credential Manager"),
        ("linux", ":0", "linux-desktop", "KWallet"),
        ("linux", None, "linux-headless", "dbus-run-session"),
    ],
)
def test_fail_backend_is_no_usable_keyring_with_platform_fix(
    monkeypatch: pytest.MonkeyPatch, platform: str, display: str | None, kind: str, words: str
) -> None:
    monkeypatch.setattr(sys, "platform", platform)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    if display:
        monkeypatch.setenv("DISPLAY", display)
    else:
        monkeypatch.delenv("DISPLAY", raising=False)
    store = SecretStore(backend=fail.Keyring())
    report = store.backend_report()
    assert not report.usable
    assert report.problem is not None and report.problem.key == "secrets.problem.no-keyring"
    assert report.fix is not None and report.fix.key == f"secrets.fix.no-keyring.{kind}"
    assert words in report.fix.render("en")
    assert ENV_PREFIX in report.fix.render("pt-BR")
    with pytest.raises(BackendUnusable) as caught:
        store.set("reader", "some-password")
    assert caught.value.fix == report.fix
    # A missing secret on a broken keyring points at the keyring fix too.
    with pytest.raises(SecretMissing) as missing:
        store.get("reader")
    assert missing.value.fix == report.fix


def test_plaintext_backend_refused_without_opt_in(plaintext: PlaintextKeyring) -> None:
    store = SecretStore(backend=plaintext)
    report = store.backend_report()
    assert report.insecure and not report.usable
    assert report.problem is not None and report.problem.key == "secrets.problem.insecure"
    assert str(plaintext.file_path) in report.problem.render("en")
    assert ENV_ALLOW_INSECURE in report.problem.render("pt-BR")
    with pytest.raises(BackendUnusable):
        store.set("reader", "some-password")
    assert not Path(plaintext.file_path).exists()


@pytest.mark.parametrize("how", ["argument", "env"])
def test_plaintext_backend_accepted_with_opt_in_and_warns(
    plaintext: PlaintextKeyring, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    if how == "env":
        monkeypatch.setenv(ENV_ALLOW_INSECURE, "1")
        store = SecretStore(backend=plaintext)
    else:
        store = SecretStore(backend=plaintext, allow_insecure_backend=True)
    report = store.backend_report()
    assert report.usable and report.insecure
    assert report.problem is not None and report.problem.key == "secrets.warning.insecure-allowed"
    assert str(plaintext.file_path) in report.problem.render("en")
    store.set("reader", "r3ader-pass")
    assert store.get("reader") == "r3ader-pass"
    assert store.describe("reader") == "keyring"
    # Stored under the namespaced username, so a sandbox and production never collide.
    assert plaintext.get_password(SERVICE, "default:reader") == "r3ader-pass"


def test_null_backend_refused_even_with_opt_in() -> None:
    report = SecretStore(backend=null.Keyring(), allow_insecure_backend=True).backend_report()
    assert not report.usable and report.insecure
    assert report.problem is not None and report.problem.key == "secrets.problem.null"


class PinnedChainer(ChainerBackend):
    """The real ChainerBackend with only its discovery pinned to the backends given."""

    def __init__(self, backends: list[KeyringBackend]) -> None:
        super().__init__()
        self._pinned = backends

    @property
    def backends(self) -> list[KeyringBackend]:  # type: ignore[override]
        return self._pinned


def test_chainer_is_unwrapped_to_the_backend_it_would_use(tmp_path: Path) -> None:
    first, second = PlaintextKeyring(), PlaintextKeyring()
    first.file_path = str(tmp_path / "first.cfg")
    second.file_path = str(tmp_path / "second.cfg")
    store = SecretStore(backend=PinnedChainer([first, second]), allow_insecure_backend=True)
    report = store.backend_report()
    assert report.chained == [backend_name(first), backend_name(second)]
    assert report.name == backend_name(first)
    assert report.usable and report.insecure
    store.set("supabase-db", "db-pass-123")
    assert first.get_password(SERVICE, "default:supabase-db") == "db-pass-123"
    assert second.get_password(SERVICE, "default:supabase-db") is None


def test_empty_chainer_is_no_usable_keyring() -> None:
    report = SecretStore(backend=PinnedChainer([])).backend_report()
    assert not report.usable
    assert report.problem is not None and report.problem.key == "secrets.problem.no-keyring"


def test_real_chainer_reports_what_keyring_discovered() -> None:
    """Whatever this machine has (plaintext only here, Secret Service under CI's wrapper)."""
    discovered = list(ChainerBackend.backends)
    report = SecretStore(backend=ChainerBackend()).backend_report(probe=False)
    assert report.chained == [backend_name(b) for b in discovered]
    if discovered:
        assert report.name == backend_name(discovered[0])
    else:
        assert not report.usable
    json.dumps(report.to_json("en"))


def test_probe_round_trip_leaves_nothing_behind(plaintext: PlaintextKeyring) -> None:
    report = SecretStore(
        "probe-ns", backend=plaintext, allow_insecure_backend=True
    ).backend_report()
    assert report.usable
    text = Path(plaintext.file_path).read_text(encoding="utf-8")
    # The probe entry was written (the file exists) and deleted again.
    assert "__probe__" not in text


def test_probe_failure_is_reported_in_plain_words(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    kr = PlaintextKeyring()
    kr.file_path = str(blocker / "keyring_pass.cfg")  # the backend cannot create its file
    report = SecretStore(backend=kr, allow_insecure_backend=True).backend_report()
    assert not report.usable
    assert report.problem is not None and report.problem.key == "secrets.problem.probe-failed"
    assert report.problem.params["step"] == "set"
    assert report.fix is not None and "secrets check" in report.fix.render("en")


def test_backend_report_is_json_serializable(plaintext: PlaintextKeyring) -> None:
    report = SecretStore(backend=plaintext).backend_report()
    assert isinstance(report, BackendReport)
    doc = json.loads(json.dumps(report.to_json("pt-BR")))
    assert doc["insecure"] is True and doc["usable"] is False
    assert doc["problem"]["key"] == "secrets.problem.insecure" and doc["problem"]["text"]


# ------------------------------------------------------------------------------- read order


def test_env_var_wins_over_keyring(
    plaintext: PlaintextKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SecretStore(backend=plaintext, allow_insecure_backend=True)
    store.set("local-superuser", "from-keyring")
    monkeypatch.setenv("FDW_WIZARD_SECRET_LOCAL_SUPERUSER", "from-env-var")
    assert env_var_name("local-superuser") == "FDW_WIZARD_SECRET_LOCAL_SUPERUSER"
    assert store.get("local-superuser") == "from-env-var"
    assert store.describe("local-superuser") == "env"
    assert redact.redact("pw=from-env-var") == "pw=" + redact.MASK


def test_namespaces_do_not_collide(plaintext: PlaintextKeyring) -> None:
    prod = SecretStore("prod", backend=plaintext, allow_insecure_backend=True)
    sandbox = SecretStore("sandbox", backend=plaintext, allow_insecure_backend=True)
    prod.set("reader", "prod-reader-pw")
    assert sandbox.describe("reader") == "missing"
    assert prod.delete("reader") is True
    assert prod.delete("reader") is False


def test_sandbox_file_used_only_when_given(tmp_path: Path) -> None:
    sandbox = tmp_path / "sandbox-secrets.json"
    sandbox.write_text(json.dumps({"local-superuser": "sandbox-su-pw"}), encoding="utf-8")
    sandbox.chmod(0o600)
    without = SecretStore(backend=fail.Keyring())
    assert without.describe("local-superuser") == "missing"
    with pytest.raises(SecretMissing):
        without.get("local-superuser")
    with_file = SecretStore(backend=fail.Keyring(), sandbox_file=sandbox)
    assert with_file.get("local-superuser") == "sandbox-su-pw"
    assert with_file.describe("local-superuser") == "sandbox-file"
    assert with_file.describe("reader") == "missing"


def test_prompt_used_only_when_interactive() -> None:
    asked: list[str] = []

    def prompt(label: str) -> str:
        asked.append(label)
        return "typed-at-prompt"

    quiet = SecretStore(backend=fail.Keyring(), prompt=prompt)
    with pytest.raises(SecretMissing):
        quiet.get("supabase-db")
    assert asked == []
    assert quiet.describe("supabase-db") == "missing"  # describe never prompts

    chatty = SecretStore(backend=fail.Keyring(), prompt=prompt, interactive=True)
    assert chatty.get("supabase-db") == "typed-at-prompt"
    assert len(asked) == 1 and "supabase-db" in asked[0]
    assert chatty.describe("supabase-db") == "missing"
    assert len(asked) == 1


def test_missing_secret_names_the_command_and_the_env_var() -> None:
    with pytest.raises(SecretMissing) as caught:
        SecretStore(backend=fail.Keyring()).get("reader")
    english = str(caught.value)
    assert "fdw-wizard secrets set reader" in english
    assert "FDW_WIZARD_SECRET_READER" in english
    portuguese = caught.value.message.render("pt-BR")
    assert "fdw-wizard secrets set reader" in portuguese
    assert "FDW_WIZARD_SECRET_READER" in portuguese


def test_unknown_name_lists_the_valid_ones() -> None:
    with pytest.raises(UnknownSecret) as caught:
        SecretStore(backend=fail.Keyring()).get("superuser")
    for name in SECRETS:
        assert name in str(caught.value)


# ------------------------------------------------------------------------------------ windows


class FakePyWinError(Exception):
    """Shaped like pywintypes.error (args = (winerror, funcname, strerror)); no pywin32 here."""

    def __init__(self, winerror: int, funcname: str, strerror: str) -> None:
        super().__init__(winerror, funcname, strerror)
        self.winerror = winerror
        self.funcname = funcname
        self.strerror = strerror


class FakeWinVault(WinVaultKeyring):
    """A stand-in for the Windows Credential Manager, which cannot run on Linux.

    It is a WinVaultKeyring subclass (so the store treats it as the Windows backend), keeps
    values in a dict, enforces CredWrite's 2560-byte blob limit with error 1783 like Windows
    does, and can be told to raise a given exception on every call.
    """

    priority = 5  # type: ignore[assignment]

    def __init__(self, raises: BaseException | None = None) -> None:
        super().__init__()
        self.values: dict[tuple[str, str], str] = {}
        self.raises = raises

    def get_password(self, service: str, username: str) -> str | None:
        if self.raises is not None:
            raise self.raises
        return self.values.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        if self.raises is not None:
            raise self.raises
        if len(password.encode("utf-16-le")) > 2560:
            raise FakePyWinError(1783, "CredWrite", "The stub received bad data.")
        self.values[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.raises is not None:
            raise self.raises
        if self.values.pop((service, username), None) is None:
            raise keyring.errors.PasswordDeleteError(service)


def test_windows_limit_checked_before_writing() -> None:
    vault = FakeWinVault()
    store = SecretStore(backend=vault)
    with pytest.raises(SecretTooLong) as caught:
        store.set("supabase-service-key", "k" * 1281)
    assert vault.values == {}  # refused before CredWrite was called
    assert caught.value.message.key == "secrets.error.too-long"
    assert "2562" in str(caught.value) and "2560" in str(caught.value)
    assert "k" * 20 not in str(caught.value)
    store.set("supabase-service-key", "k" * 1280)
    assert store.get("supabase-service-key") == "k" * 1280


def test_size_limit_only_applies_to_windows(plaintext: PlaintextKeyring) -> None:
    store = SecretStore(backend=plaintext, allow_insecure_backend=True)
    store.set("supabase-service-key", "k" * 4000)
    assert store.get("supabase-service-key") == "k" * 4000


def _raised(code: int, text: str) -> Iterator[BaseException]:
    """The shapes a Windows error arrives in: raw, chained, wrapped in args, as text, bare int."""
    raw = FakePyWinError(code, "CredWrite", text)
    yield raw
    try:
        try:
            raise raw
        except FakePyWinError as inner:
            raise keyring.errors.PasswordSetError("Can't store password") from inner
    except keyring.errors.PasswordSetError as chained:
        yield chained
    yield keyring.errors.PasswordSetError(raw)
    yield keyring.errors.PasswordSetError(str(raw.args))
    yield keyring.errors.KeyringError(code)


@pytest.mark.parametrize("shape", range(5))
def test_windows_error_1312_in_plain_words(shape: int) -> None:
    exc = list(_raised(1312, "A specified logon session does not exist."))[shape]
    assert windows_error_code(exc) == 1312
    store = SecretStore(backend=FakeWinVault(raises=exc))
    with pytest.raises(KeyringOperationError) as caught:
        store.set("reader", "pw-for-1312")
    text = str(caught.value)
    assert "SSH" in text and "Remote Desktop" in text and ENV_PREFIX in text
    assert "Área de Trabalho Remota" in caught.value.message.render(
        "pt-BR"
    ) + caught.value.fix.render("pt-BR")  # type: ignore[union-attr]
    report = store.backend_report()
    assert not report.usable
    assert report.problem is not None and report.problem.key == "secrets.error.win-1312"


@pytest.mark.parametrize("shape", range(5))
def test_windows_error_1783_in_plain_words(shape: int) -> None:
    exc = list(_raised(1783, "The stub received bad data."))[shape]
    store = SecretStore(backend=FakeWinVault(raises=exc))
    with pytest.raises(SecretTooLong) as caught:
        store.set("supabase-anon-key", "short-but-refused")
    assert "too long" in str(caught.value)
    assert "FDW_WIZARD_SECRET_SUPABASE_ANON_KEY" in str(caught.value)


def test_unrelated_errno_is_not_mistaken_for_a_windows_error() -> None:
    assert windows_error_code(OSError(13, "Permission denied")) is None


# ---------------------------------------------------------------------------------- the CLI

DRIVER = """
import argparse, sys
from pathlib import Path
from wizard.commands import CliContext
from wizard.commands import secrets_cmd
parser = argparse.ArgumentParser(prog="fdw-wizard")
common = argparse.ArgumentParser(add_help=False)
common.add_argument("--lang", default="en")
sub = parser.add_subparsers()
secrets_cmd.register(sub, common)
args = parser.parse_args(sys.argv[2:])
ctx = CliContext(config_path=Path(sys.argv[1]), lang=args.lang)
sys.exit(args.handler(args, ctx))
"""


def _cli_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIX)}
    env.update(
        PYTHONPATH=str(REPO),
        XDG_DATA_HOME=str(tmp_path / "xdg-data"),
        PYTHON_KEYRING_BACKEND="keyrings.alt.file.PlaintextKeyring",
        FDW_WIZARD_ALLOW_INSECURE_KEYRING="1",
    )
    return env


def _cli(tmp_path: Path, *argv: str, stdin: str = "", env: dict[str, str] | None = None) -> Any:
    cmd = [sys.executable, "-c", DRIVER, str(tmp_path / "no-config.yaml"), *argv]
    proc = subprocess.run(
        cmd,
        input=stdin,
        capture_output=True,
        text=True,
        env=env or _cli_env(tmp_path),
        timeout=60,
        check=False,
    )
    return cmd, proc


def _stored(tmp_path: Path, username: str) -> str | None:
    kr = PlaintextKeyring()
    kr.file_path = str(tmp_path / "xdg-data" / "python_keyring" / "keyring_pass.cfg")
    return kr.get_password(SERVICE, username)


def test_cli_set_from_stdin_never_shows_the_value(tmp_path: Path) -> None:
    value = "Pipe-Secret-7f3a"
    cmd, proc = _cli(tmp_path, "secrets", "set", "reader", stdin=value + "\n")
    assert proc.returncode == 0, proc.stderr
    assert value not in " ".join(cmd)
    assert value not in proc.stdout and value not in proc.stderr
    assert "reader" in proc.stdout
    assert _stored(tmp_path, "default:reader") == value  # trailing newline stripped

    cmd, proc = _cli(tmp_path, "secrets", "check", "--json")
    doc = json.loads(proc.stdout)
    assert value not in proc.stdout and value not in proc.stderr
    assert proc.returncode == 3  # the other secrets are missing: operator action
    assert doc["ok"] is False and doc["namespace"] == "default"
    assert doc["backend"]["insecure"] is True and doc["backend"]["usable"] is True
    sources = {row["name"]: row["source"] for row in doc["secrets"]}
    assert sources["reader"] == "keyring"
    assert sources["supabase-db"] == "missing"

    _, proc = _cli(tmp_path, "secrets", "check", "reader", "--json")
    assert proc.returncode == 0 and json.loads(proc.stdout)["ok"] is True

    _, proc = _cli(tmp_path, "secrets", "delete", "reader", "--namespace", "default")
    assert proc.returncode == 0
    assert _stored(tmp_path, "default:reader") is None


def test_cli_set_under_another_namespace_and_in_portuguese(tmp_path: Path) -> None:
    _, proc = _cli(
        tmp_path,
        "secrets",
        "set",
        "supabase-db",
        "--namespace",
        "sandbox",
        "--lang",
        "pt-BR",
        stdin="db-Pass-99",
    )
    assert proc.returncode == 0, proc.stderr
    assert "cofre de senhas" in proc.stdout
    assert _stored(tmp_path, "sandbox:supabase-db") == "db-Pass-99"
    assert _stored(tmp_path, "default:supabase-db") is None


def test_cli_usage_and_failures(tmp_path: Path) -> None:
    _, proc = _cli(tmp_path, "secrets", "set", "nope", stdin="x\n")
    assert proc.returncode == 2 and "local-superuser" in proc.stderr
    _, proc = _cli(tmp_path, "secrets", "delete")
    assert proc.returncode == 2
    _, proc = _cli(tmp_path, "secrets", "set", "reader", stdin="")
    assert proc.returncode == 1 and "empty" in proc.stderr
    # No value argument exists: argparse refuses a third positional.
    _, proc = _cli(tmp_path, "secrets", "set", "reader", "the-value", stdin="")
    assert proc.returncode == 2


def test_cli_refuses_plaintext_without_opt_in_and_says_why(tmp_path: Path) -> None:
    env = _cli_env(tmp_path)
    del env["FDW_WIZARD_ALLOW_INSECURE_KEYRING"]
    _, proc = _cli(tmp_path, "secrets", "set", "reader", stdin="pw-refused\n", env=env)
    assert proc.returncode == 3
    assert "keyring_pass.cfg" in proc.stderr and "FDW_WIZARD_ALLOW_INSECURE_KEYRING" in proc.stderr
    _, proc = _cli(tmp_path, "secrets", "check", "--json", env=env)
    doc = json.loads(proc.stdout)
    assert doc["backend"]["usable"] is False and doc["backend"]["problem"]["text"]
    assert proc.returncode == 3


def test_cli_takes_namespace_opt_in_and_sandbox_file_from_the_config(tmp_path: Path) -> None:
    try:  # another module of the project: skip rather than fail while it is being written
        from wizard.config import Config, SecretsConfig, save_config
    except ImportError:
        pytest.skip("wizard.config is not there yet")
    config_path = tmp_path / "fdw-wizard.yaml"
    secrets_cfg = SecretsConfig(namespace="rehearsal", allow_insecure_backend=True)
    save_config(Config(sandbox=True, secrets=secrets_cfg), config_path)
    sandbox_secrets_path(config_path).write_text(json.dumps({"local-superuser": "sbx-su-pw"}))
    env = _cli_env(tmp_path)
    del env["FDW_WIZARD_ALLOW_INSECURE_KEYRING"]  # the config's opt-in must be enough
    cmd = [sys.executable, "-c", DRIVER, str(config_path), "secrets"]
    run = {"capture_output": True, "text": True, "env": env, "timeout": 60, "check": False}
    proc = subprocess.run([*cmd, "set", "reader"], input="cfg-reader-pw\n", **run)
    assert proc.returncode == 0, proc.stderr
    assert _stored(tmp_path, "rehearsal:reader") == "cfg-reader-pw"
    proc = subprocess.run([*cmd, "check", "--json"], input="", **run)
    doc = json.loads(proc.stdout)
    assert doc["namespace"] == "rehearsal"
    sources = {row["name"]: row["source"] for row in doc["secrets"]}
    assert sources["local-superuser"] == "sandbox-file" and sources["reader"] == "keyring"
    assert "sbx-su-pw" not in proc.stdout and "cfg-reader-pw" not in proc.stdout


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_cli_set_on_a_terminal_asks_twice_without_echo(tmp_path: Path) -> None:
    """A real pseudo-terminal as stdin/stderr: getpass must prompt twice and never echo."""
    value = "Tty-Secret-42xy"
    master, slave = pty.openpty()
    cmd = [sys.executable, "-c", DRIVER, str(tmp_path / "no-config.yaml")]
    proc = subprocess.Popen(
        [*cmd, "secrets", "set", "local-superuser"],
        stdin=slave,
        stderr=slave,
        stdout=subprocess.PIPE,
        env=_cli_env(tmp_path),
        start_new_session=True,  # no controlling tty: getpass falls back to this stdin
    )
    os.close(slave)
    seen = b""

    def wait_for(marker: bytes) -> None:
        nonlocal seen
        deadline = time.monotonic() + 30
        while marker not in seen and time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    seen += os.read(master, 4096)
                except OSError:
                    break
        assert marker in seen, seen

    try:
        wait_for(b"hidden")
        os.write(master, value.encode() + b"\n")
        wait_for(b"confirm")
        os.write(master, value.encode() + b"\n")
        out, _ = proc.communicate(timeout=30)
        try:
            while True:
                ready, _, _ = select.select([master], [], [], 0.2)
                if not ready:
                    break
                chunk = os.read(master, 4096)
                if not chunk:
                    break
                seen += chunk
        except OSError:
            pass
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, seen
    assert value.encode() not in seen and value.encode() not in out
    assert _stored(tmp_path, "default:local-superuser") == value


# ---------------------------------------------------------------------------- secret service


@pytest.mark.keyring_service
@pytest.mark.skipif(
    os.environ.get("FDW_WIZARD_TEST_SECRET_SERVICE") != "1",
    reason="needs a real Secret Service: run under .ci/with-secret-service",
)
def test_real_secret_service_round_trip() -> None:
    from keyring.backends import SecretService

    backend = SecretService.Keyring()
    namespace = f"test-{os.getpid()}"
    store = SecretStore(namespace, backend=backend)
    report = store.backend_report()
    assert report.usable and not report.insecure, report.to_json("en")
    store.set("reader", "secret-service-pw")
    try:
        assert store.get("reader") == "secret-service-pw"
        assert store.describe("reader") == "keyring"
        assert backend.get_password(SERVICE, f"{namespace}:reader") == "secret-service-pw"
    finally:
        assert store.delete("reader") is True
    assert store.describe("reader") == "missing"


_DISCOVERY_RACE = r"""
import sys, threading
import keyring.backend, keyring.util
from wizard.secrets import SecretStore

iterating, overlapped = threading.Event(), threading.Event()
real_load, real_suppress = keyring.backend._load_plugins, keyring.util.suppress_exceptions

def load_plugins():
    if iterating.is_set():  # another thread is inside keyring's discovery at this moment
        overlapped.set()
    real_load()

def slow_iteration(callables, exceptions=Exception):
    # Hold the iteration over keyring's backend classes open (up to 1 s) so that a second
    # discovery, if nothing serializes them, starts in the middle of it, as it did in the TUI.
    iterating.set()
    overlapped.wait(1.0)
    yield from real_suppress(callables, exceptions)

keyring.backend._load_plugins = load_plugins
keyring.util.suppress_exceptions = slow_iteration
errors = []

def classify():
    try:
        SecretStore()._classify()
    except Exception as exc:
        errors.append(repr(exc))

first = threading.Thread(target=classify)
first.start()
iterating.wait(5)
second = threading.Thread(target=classify)
second.start()
first.join(); second.join()
print("overlapped" if overlapped.is_set() else "serialized", errors)
"""


def test_keyring_discovery_is_serialized_across_threads(tmp_path: Path) -> None:
    """The TUI's welcome probe and its first step ask for the keyring at the same moment.
    keyring's discovery is not thread-safe (it iterates its set of backend classes while an
    import in another thread adds to it: "Set changed size during iteration", which once
    failed prereq.local-connection in CI). A fresh interpreter holds the first discovery open
    and starts a second one: it must wait, not run inside the first."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHON_KEYRING_BACKEND"}
    env["XDG_CONFIG_HOME"] = str(tmp_path)  # no keyringrc.cfg short-cuts the discovery
    env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)
    done = subprocess.run(
        [sys.executable, "-c", _DISCOVERY_RACE],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "serialized []", done.stdout + done.stderr
