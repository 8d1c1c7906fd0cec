"""Config: every error names the key, the value and the expected form; secrets are refused."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from wizard.config import (
    Config,
    ConfigError,
    ConfigMissing,
    dump_config,
    load_config,
    parse_config,
    template_text,
    write_template,
)

P = Path("fdw-wizard.yaml")


def errors_for(text: str, lang: str = "en") -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text, P)
    return [m.render(lang) for m in info.value.messages]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("local:\n  port: 70000\n", "local.port: must be 1-65535, got 70000."),
        ("local:\n  port: abc\n", "local.port: must be a whole number, got 'abc'."),
        ("local:\n  prot: 5432\n", "local.prot: unknown key (typo?)"),
        ("supabase:\n  port: 6543\n", "supabase.port: port 6543 is Supabase's transaction pooler"),
        ("fdw:\n  target_schema: storage\n", "fdw.target_schema: 'storage' belongs to Supabase"),
        ('reader:\n  name: "Leitor\'x"\n', "reader.name: must be a lower-case ASCII name"),
        ("reader:\n  name: leitorção\n", "reader.name: must be a lower-case ASCII name"),
        ("fdw:\n  fetch_size: 0\n", "fdw.fetch_size: must be auto or 1-1000000, got 0."),
        ("fdw:\n  tables: [dim_frota, dim_frota]\n", "fdw.tables: lists the same name twice"),
        ("language: fr\n", "language: must be one of 'auto', 'pt-BR' or 'en', got 'fr'."),
        ("validation:\n  samples: 0\n", "validation.samples: must be 1-1000, got 0."),
        ("local: [1, 2]\n", "local: must be a section of keys"),
        ("fallback:\n  bucket: 'Bi Reports'\n", "fallback.bucket: 'Bi Reports' is not a valid"),
        (
            "exposure:\n  allowed_cidrs: ['203.0.113.7/24']\n",
            "exposure.allowed_cidrs[0]: '203.0.113.7/24' has host bits set; "
            "did you mean 203.0.113.0/24?",
        ),
        (
            "exposure:\n  allowed_cidrs: ['10.0.0.0/8', 'not-a-net']\n",
            "exposure.allowed_cidrs[1]: must be a network in CIDR form",
        ),
        (
            "exposure:\n  allowed_cidrs: ['0.0.0.0/0']\n",
            "exposure.allowed_cidrs: 0.0.0.0/0 opens the server to the whole Internet",
        ),
        (
            "exposure:\n  allowed_cidrs: ['::/0']\n  acknowledge_open_to_internet: true\n"
            "  hba_connection_type: host\n",
            "exposure.allowed_cidrs: ::/0 is only allowed with TLS",  # names what was given
        ),
        (
            "exposure:\n  allowed_cidrs: ['0.0.0.0/1', '128.0.0.0/1']\n",
            "exposure.allowed_cidrs: 0.0.0.0/1, 128.0.0.0/1 together open the server to 100% of"
            " the public IPv4 Internet. The wizard's rule: networks that together cover more"
            " public addresses than one /8",
        ),
        (
            "exposure:\n  allowed_cidrs: ['2.0.0.0/8', '3.0.0.0/8']\n",
            "exposure.allowed_cidrs: 2.0.0.0/8, 3.0.0.0/8 together open the server to 0.906% of",
        ),
        (
            "exposure:\n  allowed_cidrs: ['::ffff:0:0/97', '::ffff:128.0.0.0/97']\n",
            "exposure.allowed_cidrs: ::ffff:0:0/97, ::ffff:128.0.0.0/97 together open the server"
            " to 100% of the public IPv4 Internet",  # IPv4-mapped space counts as IPv4
        ),
        (
            "exposure:\n  allowed_cidrs: ['2000::/4']\n",
            "exposure.allowed_cidrs: 2000::/4 together open the server to 50% of the public IPv6",
        ),
        (
            "exposure:\n  allowed_cidrs: ['0.0.0.0/1', '128.0.0.0/1']\n"
            "  acknowledge_open_to_internet: true\n  hba_connection_type: host\n",
            "exposure.allowed_cidrs: 0.0.0.0/1, 128.0.0.0/1 is only allowed with TLS",
        ),
        ("local:\n  port: true\n", "local.port: must be a whole number, got True."),
        ("supabase:\n  port: '5432'\n", "supabase.port: must be a whole number, got '5432'."),
        ("exposure:\n  public_port: yes\n", "exposure.public_port: must be a whole number"),
        ("reader:\n  connection_limit: true\n", "reader.connection_limit: must be a whole"),
        (
            'exposure:\n  listen_addresses: "localhost\\n\\\\! touch pwned"\n',
            "exposure.listen_addresses: 'localhost\\n\\\\! touch pwned' is not a valid"
            " listen_addresses: 'localhost\\n\\\\! touch pwned' is not *, localhost",
        ),
        (
            "exposure:\n  listen_addresses: \"'*'\"\n",
            "exposure.listen_addresses: \"'*'\" is not a valid listen_addresses: \"'*'\" is not",
        ),
        (
            "exposure:\n  listen_addresses: 'localhost, 10.0.0.1 x'\n",
            "exposure.listen_addresses: 'localhost, 10.0.0.1 x' is not a valid listen_addresses:"
            " '10.0.0.1 x' is not",
        ),
        ("exposure:\n  listen_addresses: ''\n", "exposure.listen_addresses: is empty"),
        (
            "exposure:\n  public_host: 'dw.example.com\\n\\\\! id'\n",
            "exposure.public_host: 'dw.example.com\\\\n\\\\\\\\! id' is not a host name",
        ),
        (
            "exposure:\n  tls:\n    mode: provided\n    cert_file: /nonexistent/server.crt\n",
            "exposure.tls.cert_file: '/nonexistent/server.crt' does not exist",
        ),
        (
            'exposure:\n  tls:\n    key_file: "server.key\\n"\n',
            "exposure.tls.key_file: 'server.key\\n' contains a line break",
        ),
        ("local:\n  port: 5432\n   bad: indent\n", "The configuration is not valid YAML (line 3)"),
        ("- a\n- b\n", "The configuration must be a set of keys"),
    ],
)
def test_each_error_names_key_value_and_form(text: str, expected: str) -> None:
    messages = errors_for(text)
    assert any(m.startswith(expected) for m in messages), messages


def test_errors_are_translated() -> None:
    (message,) = errors_for("local:\n  port: 70000\n", "pt-BR")
    assert message == "local.port: deve estar entre 1 e 65535, recebido 70000."


def test_every_problem_is_reported_at_once() -> None:
    messages = errors_for("local:\n  port: 0\n  host: 1\nfdw:\n  fetch_size: -5\nfoo: 1\n")
    keys = sorted(m.split(":", 1)[0] for m in messages)
    assert keys == ["fdw.fetch_size", "foo", "local.host", "local.port"]


@pytest.mark.parametrize(
    ("text", "key", "secret"),
    [
        ("supabase:\n  password: hunter2\n", "supabase.password", "supabase-db"),
        ("local:\n  superuser_password: x\n", "local.superuser_password", "local-superuser"),
        ("reader:\n  password: x\n", "reader.password", "reader"),
        ("supabase:\n  anon_key: x\n", "supabase.anon_key", "supabase-anon-key"),
        ("supabase:\n  service_role_key: x\n", "supabase.service_role_key", "supabase-service-key"),
        (
            "supabase:\n  project_url: eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoiYW5vbiJ9.c2lnbmF0dXJl\n",
            "supabase.project_url",
            "supabase-anon-key",
        ),
        (
            "supabase:\n  host: postgresql://postgres.abc:S3cr3t@aws-0.pooler.supabase.com:5432/db\n",
            "supabase.host",
            "supabase-db",
        ),
    ],
)
def test_secret_looking_fields_point_to_secrets_set(text: str, key: str, secret: str) -> None:
    messages = errors_for(text)
    assert len(messages) == 1
    assert messages[0].startswith(key + ":")
    assert f"fdw-wizard secrets set {secret}" in messages[0]
    # The refused value itself is never echoed back.
    for value in ("hunter2", "S3cr3t", "c2lnbmF0dXJl"):
        assert value not in messages[0]


def test_key_file_is_a_path_not_a_secret(tmp_path: Path) -> None:
    key = (tmp_path / "server.key").as_posix()
    config = parse_config(f"exposure:\n  tls:\n    key_file: {key}\n", P)
    assert config.exposure.tls.key_file == key


def test_self_signed_pair_needs_an_existing_folder() -> None:
    messages = errors_for("exposure:\n  tls:\n    cert_file: C:/nowhere/server.crt\n")
    assert messages == [
        "exposure.tls.cert_file: 'C:/nowhere/server.crt' cannot be created: the folder C:/nowhere"
        " does not exist on this machine. Fix the path (or leave it auto to keep the pair in the"
        " data directory), or create the folder first."
    ]


def test_template_is_valid_and_equals_the_defaults() -> None:
    assert parse_config(template_text(), P) == Config()


def test_template_is_written_on_first_run_and_never_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "fdw-wizard.yaml"
    with pytest.raises(ConfigMissing):
        load_config(path)
    write_template(path)
    assert path.read_text(encoding="utf-8") == template_text()
    assert "fdw-wizard secrets set" in path.read_text(encoding="utf-8")
    path.write_text("local:\n  port: 6000\n", encoding="utf-8")
    write_template(path)
    assert load_config(path).local.port == 6000


def test_bom_and_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_bytes(b"\xef\xbb\xbflocal:\n  port: 6001\n")  # Notepad writes a BOM
    assert load_config(path).local.port == 6001
    config = Config()
    config.fdw.target_schema = "bi_dw"
    assert parse_config(dump_config(config), P) == config


def test_safe_defaults() -> None:
    config = Config()
    assert config.fdw.target_schema == "bi"
    assert "anon" not in config.fdw.map_roles
    assert config.exposure.hba_connection_type == "hostssl"
    assert config.exposure.tls.enabled
    assert config.exposure.allowed_cidrs == []
    assert config.fdw.connect_timeout_s > 0


def test_runbook_literal_choices_are_available_when_asked() -> None:
    text = """
exposure:
  allowed_cidrs: ['0.0.0.0/0']
  acknowledge_open_to_internet: true
fdw:
  target_schema: public
  map_roles: [postgres, authenticated, anon]
  fetch_size: 50000
"""
    config = parse_config(text, P)
    assert config.fdw.target_schema == "public"
    assert config.fdw.map_roles[-1] == "anon"


def test_yaml_dump_has_no_secret_fields() -> None:
    data = yaml.safe_load(dump_config(Config()))
    flat = yaml.safe_dump(data)
    assert not re.search(r"(?i)password|token|api_key|secret:", flat)


def _reference_keys() -> set[str]:
    readme = Path(__file__).resolve().parent.parent / "README.md"
    text = readme.read_text(encoding="utf-8")
    start = text.index("<!-- config-reference:start -->")
    end = text.index("<!-- config-reference:end -->")
    return set(re.findall(r"^\| `([a-z0-9_.]+)` \|", text[start:end], re.MULTILINE))


def test_readme_config_reference_matches_the_models() -> None:
    from wizard.config_doc import reference_rows

    assert _reference_keys() == {row[0] for row in reference_rows()}


def test_readme_config_reference_is_current() -> None:
    from wizard.config_doc import reference_markdown

    readme = Path(__file__).resolve().parent.parent / "README.md"
    assert reference_markdown() in readme.read_text(encoding="utf-8"), (
        "README config reference is stale: run `python -m wizard.config_doc --write`"
    )


def test_a_mistyped_config_path_writes_no_template(tmp_path: Path) -> None:
    """`status --config typo.yaml` next to the real config: a hint, exit 3, no stray file;
    the default name in an existing folder still gets its commented template."""
    import subprocess
    import sys

    real = tmp_path / "fdw-wizard.yaml"
    write_template(real)
    typo = tmp_path / "fdw-wizrd.yaml"
    proc = subprocess.run(
        [sys.executable, "-m", "wizard.cli", "status", "--config", str(typo), "--lang", "en"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 3, proc.stderr
    assert f"Did you mean {real}?" in proc.stderr
    assert not typo.exists()
    other = tmp_path / "sub" / "fdw-wizard.yaml"
    other.parent.mkdir()
    proc = subprocess.run(
        [sys.executable, "-m", "wizard.cli", "status", "--config", str(other), "--lang", "en"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 3 and other.exists()
