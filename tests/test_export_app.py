"""export-app's TypeScript: generated from the config, nothing secret in it, and type-checked
with the TypeScript compiler against @supabase/supabase-js and React's types (npm). The hook's
logic is run under Node against the API stand-in in tests/test_read_bound.py."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from wizard.config import Config
from wizard.supabase.app_export import FILES, export_app

NODE_MODULES = Path(os.environ.get("FDW_WIZARD_NODE_MODULES", "/opt/fdw-wizard-js/node_modules"))
APP_SOURCES = ["src/lib/biData.ts", "src/hooks/useBIData.ts", "src/lib/fdwFlags.ts"]


def node_modules(*packages: str) -> Path:
    """The npm folder holding ``packages`` (skip, or fail in CI, when absent)."""
    missing = [p for p in packages if not (NODE_MODULES / p).exists()]
    if missing or not shutil.which("node"):
        # .ci/run installs them (npm install --prefix /opt/fdw-wizard-js ...): in CI a
        # missing toolchain is a failure, not a skip that would hide every app test.
        if os.environ.get("CI") == "true":
            pytest.fail(f"node and npm packages {missing} are required in CI ({NODE_MODULES})")
        pytest.skip(f"node and npm packages {missing} in {NODE_MODULES} (FDW_WIZARD_NODE_MODULES)")
    return NODE_MODULES


def compile_app(out: Path, *, emit: Path | None = None) -> subprocess.CompletedProcess[str]:
    modules = node_modules("typescript", "@supabase/supabase-js", "@types/react")
    link = out / "node_modules"
    if not link.exists():
        link.symlink_to(modules)
    argv = [
        str(modules / ".bin" / "tsc"),
        "--strict",
        "--target",
        "es2022",
        "--module",
        "esnext",
        "--moduleResolution",
        "bundler",
        "--lib",
        "es2022,dom",
        "--skipLibCheck",
        "--types",
        "react",
    ]
    argv += ["--outDir", str(emit)] if emit else ["--noEmit"]
    sources = ["src/lib/biData.ts"] if emit else APP_SOURCES
    return subprocess.run(
        argv + sources, cwd=out, capture_output=True, text=True, timeout=180, check=False
    )


def test_generated_from_the_config_without_secrets(tmp_path: Path) -> None:
    config = Config()
    config.fdw.api_read_bound_s = 2
    config.fallback.bucket = "relatorios"
    result = export_app(config, tmp_path)
    assert sorted(str(p.relative_to(tmp_path)) for p in result.files) == sorted(FILES)
    texts = {p.name: p.read_text(encoding="utf-8") for p in result.files}
    for text in texts.values():
        assert "@@" not in text
        assert "service_role" not in text.lower() or "SUPABASE_SERVICE_ROLE_KEY" in text
        assert "eyJ" not in text  # no JWT ever written
    lib = (tmp_path / "src/lib/biData.ts").read_text(encoding="utf-8")
    assert 'bucket: "relatorios"' in lib and "timeoutMs: 3000" in lib  # bound 2 s + 1 s
    assert '"v_clientes_360": "dim_clientes.json"' in lib
    health = texts["index.ts"]
    assert "npm:@supabase/supabase-js@2" in health and "https://esm.sh" not in health
    assert '"Access-Control-Allow-Origin": "*"' not in health  # no wildcard by default
    assert 'const RELATION = "v_clientes_360"' in health
    again = export_app(config, tmp_path)  # a second export gives the same files
    assert [p.read_text(encoding="utf-8") for p in again.files] == list(texts.values())


def test_typescript_compiler_accepts_the_app_code(tmp_path: Path) -> None:
    export_app(Config(), tmp_path)
    out = compile_app(tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr


def test_cli_export_app_writes_and_reports(tmp_path: Path) -> None:
    import json
    import sys

    from wizard.config import save_config

    path = tmp_path / "fdw-wizard.yaml"
    save_config(Config(), path)
    out = tmp_path / "app"
    cli = [sys.executable, "-m", "wizard.cli", "--config", str(path)]
    done = subprocess.run(
        [*cli, "export-app", "--out", str(out), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert sorted(document["files"]) == sorted(str(out / f) for f in FILES)
    assert document["settings"]["TIMEOUT_MS"] == 4000
    text = subprocess.run(
        [*cli, "--lang", "pt-BR", "export-app", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert text.returncode == 0 and "gravado" in text.stdout, text.stderr
