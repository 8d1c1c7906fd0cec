"""The Supabase connection string as pasted from the dashboard."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from wizard.config import load_config, template_text
from wizard.config_edit import update_section
from wizard.supabase.supabase_dsn import ConnectionStringError, parse_connection_string

POOLER = "postgresql://postgres.abcdefghijklmnopqrst:S3cr%40t-pw@aws-0-sa-east-1.pooler.supabase.com:5432/postgres"


def test_session_pooler_uri() -> None:
    dsn = parse_connection_string(POOLER)
    assert (dsn.host, dsn.port, dsn.user, dsn.database) == (
        "aws-0-sa-east-1.pooler.supabase.com",
        5432,
        "postgres.abcdefghijklmnopqrst",
        "postgres",
    )
    assert dsn.password == "S3cr@t-pw" and dsn.mode == "session-pooler"
    assert dsn.project_ref == "abcdefghijklmnopqrst"


def test_direct_host_and_placeholder() -> None:
    dsn = parse_connection_string(
        "postgresql://postgres:[YOUR-PASSWORD]@db.abcdefghijklmnopqrst.supabase.co:5432/postgres"
    )
    assert dsn.mode == "direct" and dsn.password is None


def test_keyword_form() -> None:
    dsn = parse_connection_string(
        "host=aws-0-sa-east-1.pooler.supabase.com port=5432 user=postgres.abcdefghijklmnopqrst"
        " password='a b' dbname=postgres"
    )
    assert dsn.password == "a b" and dsn.port == 5432


@pytest.mark.parametrize(
    ("text", "key"),
    [
        (POOLER.replace(":5432", ":6543"), "dsn.transaction_pooler"),
        (
            "postgresql://postgres:pw@aws-0-sa-east-1.pooler.supabase.com:5432/postgres",
            "dsn.pooler_user",
        ),
        ("hello world", "dsn.malformed"),
        ("postgresql://:pw@/postgres", "dsn.no_host"),
        ("postgresql://u:pw@host:notaport/db", "dsn.malformed"),
    ],
)
def test_refusals_name_the_problem(text: str, key: str) -> None:
    with pytest.raises(ConnectionStringError) as info:
        parse_connection_string(text)
    assert info.value.message.key == key
    assert "S3cr" not in info.value.message.render("en")


def test_section_update_keeps_comments() -> None:
    new = update_section(
        template_text(), "supabase", {"host": "h.example", "port": 5432, "user": "postgres.x"}
    )
    assert '  host: "h.example"' in new
    assert "# aws-0-<region>.pooler.supabase.com (session pooler)" in new
    assert new.count("\n") == template_text().count("\n")


def test_secrets_set_takes_a_connection_string(tmp_path: Path) -> None:
    """The password goes to the keyring (a real plaintext backend here, opted in), the rest to
    the YAML, and the password is in neither argv nor the YAML nor the output."""
    config_path = tmp_path / "fdw-wizard.yaml"
    config_path.write_text(template_text(), encoding="utf-8")
    env = dict(os.environ)
    env.update(
        PYTHON_KEYRING_BACKEND="keyrings.alt.file.PlaintextKeyring",
        FDW_WIZARD_ALLOW_INSECURE_KEYRING="1",
        XDG_DATA_HOME=str(tmp_path / "xdg"),
    )
    result = subprocess.run(
        [sys.executable, "-m", "wizard.cli", "secrets", "set", "supabase-db", "--config",
         str(config_path), "--json"],
        input=POOLER + "\n", capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "S3cr@t-pw" not in result.stdout + result.stderr
    json.loads(result.stdout)
    config = load_config(config_path)
    assert config.supabase.host == "aws-0-sa-east-1.pooler.supabase.com"
    assert config.supabase.user == "postgres.abcdefghijklmnopqrst"
    assert "S3cr" not in config_path.read_text()
    check = subprocess.run(
        [sys.executable, "-c", "from wizard.secrets import SecretStore;"
         "print(SecretStore('default', allow_insecure_backend=True).get('supabase-db'))"],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert check.stdout.strip() == "S3cr@t-pw"


def test_transaction_pooler_string_is_refused_and_nothing_changes(tmp_path: Path) -> None:
    config_path = tmp_path / "fdw-wizard.yaml"
    config_path.write_text(template_text(), encoding="utf-8")
    env = dict(
        os.environ,
        PYTHON_KEYRING_BACKEND="keyrings.alt.file.PlaintextKeyring",
        FDW_WIZARD_ALLOW_INSECURE_KEYRING="1",
        XDG_DATA_HOME=str(tmp_path / "xdg"),
    )
    result = subprocess.run(
        [sys.executable, "-m", "wizard.cli", "secrets", "set", "supabase-db",
         "--config", str(config_path)],
        input=POOLER.replace(":5432", ":6543") + "\n", capture_output=True, text=True, env=env,
        timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "transaction pooler" in result.stderr
    assert config_path.read_text() == template_text()


def test_section_update_writes_lists_and_refuses_a_hash_inside_quotes() -> None:
    from wizard.config import parse_config
    from wizard.engine import StepError

    new = update_section(template_text(), "exposure", {"allowed_cidrs": ["10.0.0.0/8", "::1/128"]})
    assert parse_config(new, Path("x")).exposure.allowed_cidrs == ["10.0.0.0/8", "::1/128"]
    text = 'supabase:\n  host: "db #1"  # note\n'
    with pytest.raises(StepError):
        update_section(text, "supabase", {"host": "other"})
