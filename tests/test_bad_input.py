"""Issue 10: bad input gets a clear error that names the field and the fix, and loses nothing.

Each test feeds one kind of bad input the way an operator would (a config file, a command line,
an environment variable, a file the OS refuses to replace) and asserts what the operator reads.
"""

from __future__ import annotations

import argparse
import errno
import io
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from wizard import write_errors
from wizard.config import ConfigError, parse_config
from wizard.fileio import atomic_write_bytes
from wizard.write_errors import describe_write_error, write_problem

EXE = [sys.executable, "-m", "wizard.cli"]


def cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*EXE, *args, "--lang", "en"],
        capture_output=True, text=True, cwd=cwd, env=env or dict(os.environ), timeout=120,
        check=False,
    )  # fmt: skip


# -- YAML alias bomb -------------------------------------------------------------------------------

BILLION_LAUGHS = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def test_yaml_alias_bomb_is_refused_at_once_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "fdw-wizard.yaml"
    path.write_text(BILLION_LAUGHS)
    started = time.monotonic()
    with pytest.raises(ConfigError) as caught:
        parse_config(BILLION_LAUGHS, path)
    assert time.monotonic() - started < 2
    text = caught.value.messages[0].render("en")
    assert text.startswith(f"{path}, line 2: YAML aliases")
    assert "linha 2" in caught.value.messages[0].render("pt-BR")
    result = cli("status", "--config", str(path), cwd=tmp_path)
    assert result.returncode == 2
    assert f"{path}, line 2: YAML aliases" in result.stderr and "Traceback" not in result.stderr


def test_a_plain_yaml_config_still_loads() -> None:
    config = parse_config("exposure:\n  listen_addresses: 'localhost, 192.0.2.10'\n", Path("x"))
    assert config.exposure.listen_addresses == "localhost, 192.0.2.10"


# -- config values that would reach a script or a conf file ----------------------------------------


def test_export_refuses_a_config_with_an_injected_listen_addresses(tmp_path: Path) -> None:
    path = tmp_path / "fdw-wizard.yaml"
    path.write_text('exposure:\n  listen_addresses: "*\\n\\\\! touch pwned"\n')
    result = cli("export-sql", "--out", str(tmp_path / "out"), "--config", str(path), cwd=tmp_path)
    assert result.returncode == 2
    assert "exposure.listen_addresses: '*\\n\\\\! touch pwned' is not a valid listen_addresses" in (
        result.stderr
    )
    assert "comma-separated list" in result.stderr
    assert not (tmp_path / "out").exists() and not (tmp_path / "pwned").exists()


def test_provided_tls_files_must_be_readable(tmp_path: Path) -> None:
    cert = tmp_path / "server.crt"
    cert.write_text("-----BEGIN CERTIFICATE-----\n")
    text = (
        "exposure:\n  tls:\n    mode: provided\n"
        f"    cert_file: {cert.as_posix()}\n    key_file: {(tmp_path / 'nope.key').as_posix()}\n"
    )
    with pytest.raises(ConfigError) as caught:
        parse_config(text, Path("fdw-wizard.yaml"))
    assert [m.render("en").split(":")[0] for m in caught.value.messages] == [
        "exposure.tls.key_file"
    ]
    assert "self-signed" in caught.value.messages[0].render("en")


# -- --only ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["", ",", " , "])
def test_only_with_no_step_is_a_usage_error(tmp_path: Path, value: str) -> None:
    for command in ("apply", "status", "rollback"):
        result = cli(command, "--only", value, "--config", str(tmp_path / "c.yaml"), cwd=tmp_path)
        assert result.returncode == 2, (command, result.stderr)
        assert result.stderr.startswith(f"--only {value!r}: names no step."), result.stderr
    assert not (tmp_path / "c.yaml").exists()  # stopped before anything else happened


def test_only_suggests_the_nearest_step(tmp_path: Path) -> None:
    result = cli("apply", "--only", "local.hbaa", "--dry-run", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == '--only: unknown step "local.hbaa"; did you mean local.hba?'
    result = cli("status", "--only", "prereq,supabse", "--json", cwd=tmp_path)
    assert result.returncode == 2
    document = json.loads(result.stdout)
    assert document["error"] == "usage"
    assert document["message"]["params"]["suggestion"] == "supabase"
    far = cli("status", "--only", "zzzz", cwd=tmp_path)
    assert far.returncode == 2 and "Known steps: app.dashboards" in far.stderr


# -- keyring backend named in the environment ------------------------------------------------------


def test_misspelled_keyring_backend_is_named_with_the_right_one(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyringg")
    result = cli("secrets", "check", cwd=tmp_path, env=env)
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    assert (
        "The environment variable PYTHON_KEYRING_BACKEND names the keyring backend"
        " keyring.backends.fail.Keyringg, which cannot be loaded"
    ) in output
    assert "Did you mean PYTHON_KEYRING_BACKEND=keyring.backends.fail.Keyring?" in output
    # A secret given in the environment still works: nothing else is lost.
    env["FDW_WIZARD_SECRET_READER"] = "from-the-environment"
    from_env = subprocess.run(
        [sys.executable, "-c",
         "from wizard.secrets import SecretStore; print(SecretStore().get('reader'))"],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert from_env.stdout.strip() == "from-the-environment", from_env.stderr


# -- files the OS refuses to replace ---------------------------------------------------------------


def test_immutable_conf_file_names_the_attribute_and_the_fix(tmp_path: Path) -> None:
    conf = tmp_path / "postgresql.conf"
    conf.write_bytes(b"port = 5432\n")
    if os.geteuid() != 0 or not shutil.which("chattr"):
        pytest.skip("needs root and chattr")
    if subprocess.run(["chattr", "+i", str(conf)], check=False).returncode != 0:
        pytest.skip("no immutable attribute on this file system")
    try:
        with pytest.raises(OSError) as caught:
            atomic_write_bytes(conf, b"port = 5433\n", backup=False)
        message = describe_write_error(conf, caught.value)
        assert write_problem(conf) == message
    finally:
        subprocess.run(["chattr", "-i", str(conf)], check=True)
    text = message.render("en")
    assert text.startswith(f"Cannot change {conf}: {conf} is marked immutable")
    assert f"chattr -i {conf}" in text and "Errno" not in text
    assert "imutável" in message.render("pt-BR")
    assert conf.read_bytes() == b"port = 5432\n"  # nothing lost
    assert sorted(p.name for p in tmp_path.iterdir()) == ["postgresql.conf"]  # no temp left
    assert write_problem(conf) is None


def test_other_write_errors_name_the_file_and_the_cause(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    conf = tmp_path / "pg_hba.conf"
    conf.write_text("local all all peer\n")

    def said(code: int) -> str:
        return describe_write_error(conf, OSError(code, os.strerror(code))).render("en")

    assert said(errno.EACCES).startswith(f"Cannot change {conf}: permission denied for the account")
    assert f"write access to {tmp_path}" in said(errno.EACCES)
    assert "read-only file system" in said(errno.EROFS)
    assert "no space left" in said(errno.ENOSPC)
    assert f"the folder {tmp_path} does not exist" in said(errno.ENOENT)
    assert said(errno.EIO).startswith(f"Cannot write {conf}: Input/output error (errno 5)")
    # The Windows read-only attribute (what os.replace meets there).
    monkeypatch.setattr(write_errors, "_on_windows", lambda: True)
    monkeypatch.setattr(write_errors, "_windows_read_only", lambda path: True)
    text = said(errno.EACCES)
    assert text.startswith(f"Cannot replace {conf}: the file has the Windows read-only attribute")
    assert f'attrib -R "{conf}"' in text


def test_export_into_an_immutable_script_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """export-sql over a script someone made immutable: the operator reads which file and why
    (exit 3), not "[Errno 1] Operation not permitted"."""
    from wizard.commands import CliContext
    from wizard.commands.export_sql import run

    if os.geteuid() != 0 or not shutil.which("chattr"):
        pytest.skip("needs root and chattr")
    out = tmp_path / "out"
    out.mkdir()
    script = out / "setup-postgresql-local-fdw.sql"
    script.write_text("-- the operator's copy\n")
    if subprocess.run(["chattr", "+i", str(script)], check=False).returncode != 0:
        pytest.skip("no immutable attribute on this file system")
    config = tmp_path / "fdw-wizard.yaml"
    config.write_text("reader:\n  tables_owner: etl\nfdw:\n  fetch_size: 1000\n")
    monkeypatch.setenv("FDW_WIZARD_DATA_DIR", str(tmp_path / "data"))
    err = io.StringIO()
    ctx = CliContext(config, "en", out=io.StringIO(), err=err, interactive=False)
    try:
        code = run(argparse.Namespace(out=out, with_secrets=False), ctx)
    finally:
        subprocess.run(["chattr", "-i", str(script)], check=True)
    assert code == 3
    assert f"Cannot change {script}: {script} is marked immutable" in err.getvalue()
    assert script.read_text() == "-- the operator's copy\n"


@pytest.mark.parametrize(
    "value", ["svc\x85x", "svc\u2028x", "svc\x7fx", "svc\ufeffx", "produção\\n"]
)
def test_config_edit_keeps_every_character(tmp_path: Path, value: str) -> None:
    """Characters YAML would fold into a space (NEL, U+2028) or refuse (DEL, BOM) survive a
    settings save exactly, and the file still loads."""
    from wizard.config import load_config
    from wizard.config_edit import update_config_file

    path = tmp_path / "fdw-wizard.yaml"
    path.write_text("local:\n  service: auto   # kept comment\n", encoding="utf-8")
    assert update_config_file(path, "local", {"service": value}).local.service == value
    assert load_config(path).local.service == value
    assert "# kept comment" in path.read_text(encoding="utf-8")


def test_windows_read_only_attribute_is_no_prerequisite_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """fileio replaces a read-only file on Windows (and keeps the attribute): the pre-check
    must not call it a problem, while a failed replace still names it."""
    conf = tmp_path / "postgresql.conf"
    conf.write_text("port = 5432\n")
    monkeypatch.setattr(write_errors, "_on_windows", lambda: True)
    monkeypatch.setattr(write_errors, "_windows_read_only", lambda path: True)
    assert write_problem(conf) is None
    assert describe_write_error(conf, PermissionError(errno.EACCES, "denied")).key == (
        "input.write.readonly_attr"
    )
