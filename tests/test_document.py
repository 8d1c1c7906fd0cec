"""The as-built document (`cleanup.document`, `fdw-wizard document`) against the live clusters of a
test bed of its own with Phases 1-3 applied: every section is checked against what the servers,
the files and the wizard's records say, in both languages; a revoked grant shows up; no secret
is in the file's bytes."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from wizard import exitcodes
from wizard.engine import Status
from wizard.i18n.format import format_decimal, format_number

pytestmark = pytest.mark.clusters

VIEW = "public.v_clientes_360"


@pytest.fixture(scope="module")
def site(applied_site: dict[str, Any]) -> dict[str, Any]:
    # Measurements the document reuses: latency, the offline time-to-error, one health probe.
    report = applied_site["runner"].status(["validate"])
    statuses = {o.step_id: o.status for o in report.outcomes}
    assert statuses["validate.latency"] is Status.DONE, report.to_json()
    return applied_site


def cli(
    site: dict[str, Any], *args: str, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wizard.cli", "--config", str(site["path"]), *args],
        capture_output=True,
        text=True,
        env=site["env"],
        timeout=180,
        check=False,
        cwd=cwd,
    )


def write(site: dict[str, Any], lang: str, name: str) -> tuple[str, Path]:
    out = site["folder"] / name
    result = cli(site, "document", "--out", str(out), "--lang", lang)
    assert result.returncode == exitcodes.OK, result.stderr
    assert str(out) in result.stdout  # the CLI prints the path
    return out.read_text(encoding="utf-8"), out


@pytest.fixture(scope="module")
def docs(site: dict[str, Any]) -> dict[str, tuple[str, Path]]:
    return {lang: write(site, lang, f"as-built-{lang}.md") for lang in ("en", "pt-BR")}


def supa(site: dict[str, Any]) -> Any:
    return site["bed"].supabase.connect(user="postgres")


def dw(site: dict[str, Any]) -> Any:
    return site["bed"].dw.connect()


def section(text: str, heading: str) -> str:
    """The text from ``heading`` to the next heading of the same or a higher level."""
    level = heading.split(" ", 1)[0]
    start = text.index(heading + "\n")
    rest = text[start + len(heading) + 1 :]
    stop = re.search(rf"^#{{1,{len(level)}}} ", rest, re.MULTILINE)
    return rest[: stop.start()] if stop else rest


def test_every_label_exists_in_both_languages(docs: dict[str, tuple[str, Path]]) -> None:
    for text, _path in docs.values():
        assert "document." not in text  # a missing catalog key would be printed as itself
        assert "step.cleanup" not in text
        assert text.startswith("<!-- fdw-wizard:as-built -->\n")
    en, pt = docs["en"][0], docs["pt-BR"][0]
    for heading in ("## 1. Architecture", "## 2. DW side", "## 3. Supabase side"):
        assert heading in en
    for heading in ("## 1. Arquitetura", "## 2. Lado do DW", "## 3. Lado do Supabase"):
        assert heading in pt
    for number in range(1, 10):
        assert f"\n## {number}. " in en and f"\n## {number}. " in pt


def test_markdown_renders_and_reads_as_text(docs: dict[str, tuple[str, Path]]) -> None:
    for text, _path in docs.values():
        assert text.count("```") % 2 == 0  # every fence closed
        for line in text.splitlines():
            if line.startswith("|"):
                assert line.endswith("|"), line
        tables = re.findall(r"^\| .* \|\n\|(?:---\|)+\n", text, re.MULTILINE)
        assert len(tables) >= 8
        rows = [line for line in text.splitlines() if line.startswith("| ")]
        for row in rows:  # no raw pipe inside a cell breaks a row
            assert "||" not in row.replace("\\|", "")


def test_mermaid_architecture(site: dict[str, Any], docs: dict[str, tuple[str, Path]]) -> None:
    with supa(site) as conn:
        options = dict(
            o.split("=", 1)
            for o in conn.execute(
                "SELECT srvoptions FROM pg_foreign_server WHERE srvname = 'bluconecta_dw_server'"
            ).fetchone()[0]
        )
        foreign = conn.execute(
            "SELECT count(*) FROM pg_foreign_table ft JOIN pg_foreign_server s"
            " ON s.oid = ft.ftserver WHERE s.srvname = 'bluconecta_dw_server'"
        ).fetchone()[0]
    for lang, (text, _path) in docs.items():
        blocks = re.findall(r"^```mermaid\n(.*?)^```$", text, re.MULTILINE | re.DOTALL)
        assert len(blocks) == 1, lang
        block = blocks[0]
        assert block.startswith("flowchart LR\n")
        for node in ("app[", "api[", "views[", "ft[", "dw[(", "storage[(", "health["):
            assert f"    {node}" in block, (lang, node)
        for edge in ("app -->|HTTPS| api", "api --> views", "views --> ft", "app -.->", "health"):
            assert edge in block
        assert f"{options['host']}:{options['port']}" in block
        assert f"sslmode {options['sslmode']}" in block
        assert VIEW in block and "public.v_frota_360" in block
        assert f"({foreign})" in block  # the number of foreign tables, counted live
        assert "bi-reports" in block  # the Storage fallback
        assert "fdw-health-check" in block
        for line in block.splitlines()[1:]:  # labels quoted, no stray quote or pipe in them
            assert line.count('"') % 2 == 0, line


def test_dw_side_matches_the_running_server(
    site: dict[str, Any], docs: dict[str, tuple[str, Path]]
) -> None:
    from cryptography import x509

    with dw(site) as conn:
        listen = conn.execute("SHOW listen_addresses").fetchone()[0]
        port = conn.execute("SHOW port").fetchone()[0]
        data_dir = Path(conn.execute("SHOW data_directory").fetchone()[0])
        cert_setting = conn.execute("SHOW ssl_cert_file").fetchone()[0]
        hba_file = Path(conn.execute("SHOW hba_file").fetchone()[0])
        limit = conn.execute(
            "SELECT rolconnlimit FROM pg_roles WHERE rolname = 'supabase_fdw_reader'"
        ).fetchone()[0]
        dim = conn.execute(
            "SELECT reltuples FROM pg_class WHERE relname = 'dim_clientes'"
        ).fetchone()[0]
    text = docs["en"][0]
    side = section(text, "## 2. DW side (local PostgreSQL)")
    assert f"| listen_addresses (running) | `{listen}` |" in side
    assert f"| port (running) | `{port}` |" in side
    # TLS: read from the certificate file itself.
    cert_path = Path(cert_setting) if Path(cert_setting).is_absolute() else data_dir / cert_setting
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    assert f"| Certificate subject | `{cert.subject.rfc4514_string()}` |" in side
    assert cert.not_valid_after_utc.strftime("%Y-%m-%d %H:%M:%S") in side
    # The hba rules the wizard added, where they are.
    lines = hba_file.read_text(encoding="utf-8").splitlines()
    marked = [i + 2 for i, line in enumerate(lines) if line.startswith("# fdw-wizard:")]
    assert len(marked) == 2  # hostssl ... scram-sha-256 and hostnossl ... reject
    for number in marked:
        rule = " ".join(lines[number - 1].split())
        assert f"| `{hba_file}:{number}` | `{rule}` |" in side
    assert "hostnossl bluconecta_dw supabase_fdw_reader all reject" in side
    # The reader role and its privileges.
    reader = section(text, "### Reader role supabase_fdw_reader")
    assert "| Stored password | SCRAM-SHA-256 verifier" in reader
    assert f"| Connection limit | {limit} |" in reader
    assert "`default_transaction_read_only=on`" in reader
    assert "| SELECT in schema public | 18 of 18 tables and views |" in reader
    assert "| Tables it can write (INSERT/UPDATE/DELETE/TRUNCATE) | none |" in reader
    assert "| Default SELECT on future tables created by | etl_bluconecta |" in reader
    assert f"| `dim_clientes` | {format_number(round(dim), 'en')} |" in reader
    # The firewall: the step's own check (loopback only in the sandbox).
    assert "- Check: n/a" in section(text, "### Firewall")
    pt = section(docs["pt-BR"][0], "## 2. Lado do DW (PostgreSQL local)")
    assert f"| listen_addresses (em execução) | `{listen}` |" in pt
    assert f"| port (em execução) | `{port}` |" in pt


def test_supabase_side_matches_the_catalogs(
    site: dict[str, Any], docs: dict[str, tuple[str, Path]]
) -> None:
    with supa(site) as conn:
        options = conn.execute(
            "SELECT srvoptions FROM pg_foreign_server WHERE srvname = 'bluconecta_dw_server'"
        ).fetchone()[0]
        mapped = [
            r[0]
            for r in conn.execute(
                "SELECT usename FROM pg_user_mappings WHERE srvname = 'bluconecta_dw_server'"
            )
        ]
        tables = conn.execute(
            "SELECT n.nspname, c.relname, c.reltuples FROM pg_foreign_table ft"
            " JOIN pg_class c ON c.oid = ft.ftrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
        ).fetchall()
    text = docs["en"][0]
    side = section(text, "## 3. Supabase side")
    server = section(side, "### Foreign server")
    for option in options:
        key, value = option.split("=", 1)
        assert f"| `{key}` | `{value}` |" in server
    assert "No API role (anon, authenticated, service_role) has USAGE" in server
    mappings = section(side, "### User mappings")
    assert sorted(mapped) == ["authenticated", "postgres", "service_role"]
    for role in mapped:
        assert f"| `{role}` |" in mappings
    assert "`anon`" not in mappings
    assert "| `postgres` | `supabase_fdw_reader` | set (not shown) |" in mappings
    foreign = section(side, "### Schema and foreign tables")
    assert f"{len(tables)} foreign tables." in foreign
    assert "Schema `bi` (owner `postgres`) is not exposed by the API" in foreign
    for schema, name, estimate in tables:
        shown = format_number(round(estimate), "en") if estimate >= 0 else "no statistics"
        assert f"| `{schema}.{name}` | {shown}" in foreign
    views = section(side, "### Views")
    assert f"| `{VIEW}` | `postgres` | yes | authenticated:SELECT, service_role:SELECT |" in views
    assert "Grants and security_invoker match the configuration." in views
    assert "No finding." in section(
        side, "### Supabase lints (0017 foreign table in API, 0010 security definer view)"
    )
    assert "- Check: done" in section(side, "### API read bound (PostgREST pre-request)")


def test_security_measurements_metrics_backups_and_undo(site: dict[str, Any]) -> None:
    from wizard.measure import monitor
    from wizard.steps.validate import measurements_path

    ctx = site["ctx"]
    # Documents of its own: the measurements and the health log are compared as of now (any
    # other test may have measured again or probed since the module's documents were written).
    docs = {lang: write(site, lang, f"measured-{lang}.md") for lang in ("en", "pt-BR")}
    text = docs["en"][0]
    security = section(text, "## 4. Security choices")
    assert "| pg_hba.conf | `hostssl bluconecta_dw supabase_fdw_reader 127.0.0.1/32" in security
    assert "`host bluconecta_dw supabase_fdw_reader 0.0.0.0/0 scram-sha-256`" in security
    assert "| User mappings | `authenticated`, `postgres`, `service_role` |" in security
    assert "security_invoker=yes" in security
    # Latency and offline: the validate steps' recorded measurements, as stored.
    stored = json.loads(measurements_path(site["path"]).read_text(encoding="utf-8"))
    latency = stored["validate.latency"]["facts"]
    perf = section(text, "## 5. Measured performance")
    assert "Not measured yet" not in section(perf, "### Latency per read")
    first = latency["relations"][0]
    read = first["reads"][0]
    assert read["read"] == "limit"
    p50, p95 = format_decimal(read["p50_ms"], "en"), format_decimal(read["p95_ms"], "en")
    assert f"| `{first['relation']}` | first rows (LIMIT, the hook) | {p50} | {p95} |" in perf
    offline = stored["validate.offline"]["facts"]
    outage = {
        "refused": "refused",
        "hung": "hung (never answers)",
        "partitioned": "partitioned (packets dropped, no answer at all)",
    }
    session = {"fresh": "new connection", "warm": "connection in use"}
    for case in offline["cases"]:
        label = f"{outage[case['outage']]}, {session[case['session']]}"
        assert f"| {label} | {format_decimal(case['seconds'], 'en')} |" in perf
    pt_perf = section(docs["pt-BR"][0], "## 5. Desempenho medido")
    assert "| recusada, conexão nova |" in pt_perf
    assert "primeiras linhas (LIMIT, o hook)" in pt_perf
    # Monitoring: the health log's summary.
    records = monitor.HealthLog.for_config(site["path"]).records()
    assert records
    mon = section(text, "## 6. Monitoring window")
    failed = sum(1 for r in records if not r.ok)
    assert f"| Probes | {len(records)} ({failed} failed) |" in mon
    # Success metrics (cleanup.report's measurement).
    metrics = section(text, '## 7. Success metrics (runbook "Métricas de Sucesso")')
    assert "| Supabase Storage use (fallback bucket) | 28.0 MB | < 10.0 MB |" in metrics
    assert "| Freshness of BI data | 3x/day | real time | real time | goal met |" in metrics
    worst = max(r["p95_ms"] for rel in latency["relations"] for r in rel["reads"])
    shown = format_decimal(round(worst, 1), "en")
    assert f"| BI query latency (worst p95) | - | < 500 ms | {shown} ms | goal met |" in metrics
    # Backups: every file backup the steps remembered.
    backups = section(text, "## 8. Backups and records")
    for step_id in ("local.listen", "local.tls", "local.hba"):
        for path, entry in ctx.recall(step_id).get("files", {}).items():
            assert f"| `{step_id}` | `{path}` | `{entry['backup']}` | yes |" in backups
    # Undo: the exact commands.
    undo = section(text, "## 9. How to undo each part")
    config = str(Path(site["path"]).resolve())
    for only in ("local.hba,local.reload", "views.clientes-360,views.frota-360", "local"):
        assert f"`fdw-wizard rollback --only {only} --config {config}`" in undo
    assert f"`fdw-wizard rollback --config {config}`" in undo


def test_no_secret_in_the_files(site: dict[str, Any], docs: dict[str, tuple[str, Path]]) -> None:
    bed, ctx = site["bed"], site["ctx"]
    planted = [v for v in bed.passwords.values() if v]
    planted.append(ctx.secrets.get("reader"))
    with dw(site) as conn:
        verifier = conn.execute(
            "SELECT rolpassword FROM pg_authid WHERE rolname = 'supabase_fdw_reader'"
        ).fetchone()[0]
    planted.append(verifier)
    assert len(planted) >= 3
    for _text, path in docs.values():
        data = path.read_bytes()
        for secret in planted:
            assert secret.encode("utf-8") not in data
        assert b"SCRAM-SHA-256$" not in data
        assert b"BEGIN" not in data  # no PEM block (certificate or key) copied in


def test_a_revoked_grant_shows_and_the_step_follows_changes(site: dict[str, Any]) -> None:
    runner, ctx = site["runner"], site["ctx"]
    document = Path(site["folder"]) / "arquitetura-fdw.md"  # cleanup.document_path's default
    # The last document `fdw-wizard document --out` wrote counts while it is current.
    _text, last = write(site, "pt-BR", "revoked-grant-start.md")
    counted = runner.status(["cleanup.document"]).outcomes[-1]
    assert counted.status is Status.DONE and counted.facts["path"] == str(last.resolve())
    last.unlink()
    assert runner.status(["cleanup.document"]).outcomes[-1].status is Status.PENDING
    with supa(site) as conn:
        conn.execute(f"REVOKE SELECT ON {VIEW} FROM authenticated")
    try:
        applied = runner.apply(["cleanup.document"])
        outcome = applied.outcomes[-1]
        assert outcome.status is Status.DONE, outcome.to_json()
        text = document.read_text(encoding="utf-8")
        views = section(text, "### Views")
        row = next(line for line in views.splitlines() if line.startswith(f"| `{VIEW}`"))
        assert "authenticated" not in row  # neither granted nor able to read
        assert (
            f"`authenticated` cannot SELECT `{VIEW}`, although the configuration grants it" in views
        )
        assert runner.status(["cleanup.document"]).outcomes[-1].status is Status.DONE
        # The wizard grants it again: a change the document does not show yet.
        fixed = runner.apply(["views.clientes-360"], confirm=lambda step, plan: True)
        assert fixed.outcomes[-1].status is Status.DONE and fixed.outcomes[-1].changed
    finally:
        with supa(site) as conn:
            conn.execute(f"GRANT SELECT ON {VIEW} TO authenticated")
    stale = runner.status(["cleanup.document"]).outcomes[-1]
    assert stale.status is Status.PENDING and stale.message.key == "step.cleanup.document.stale"
    assert runner.apply(["cleanup.document"]).outcomes[-1].status is Status.DONE
    again = document.read_text(encoding="utf-8")
    assert "Grants and security_invoker match the configuration." in section(again, "### Views")
    # An apply of a current document changes nothing.
    before = document.stat().st_mtime_ns
    assert runner.apply(["cleanup.document"]).outcomes[-1].changed is False
    assert document.stat().st_mtime_ns == before
    # Undo removes the wizard's document; an operator's file of that name is never replaced.
    undone = runner.undo(["cleanup.document"]).outcomes[-1]
    assert undone.changed and not document.exists()
    document.write_text("# my notes\n", encoding="utf-8")
    try:
        refused = runner.apply(["cleanup.document"]).outcomes[-1]
        assert refused.status is Status.FAILED
        assert document.read_text(encoding="utf-8") == "# my notes\n"
    finally:
        document.unlink()
    assert ctx.recall("cleanup.document") == {}


def test_cli_default_path_and_json(site: dict[str, Any]) -> None:
    result = cli(site, "document", "--json", "--lang", "en")
    assert result.returncode == exitcodes.OK, result.stderr
    answer = json.loads(result.stdout)
    assert answer["unreadable"] == []
    path = Path(answer["path"])
    assert path == Path(site["folder"]).resolve() / "arquitetura-fdw.md"
    assert path.read_text(encoding="utf-8").startswith("<!-- fdw-wizard:as-built -->")
    status = cli(site, "status", "--only", "cleanup.document", "--json")
    steps = {s["step"]: s["status"] for s in json.loads(status.stdout)["steps"]}
    assert steps["cleanup.document"] == "done"
    path.unlink()
    # The issue's own use: --out a relative name, from the operator's folder.
    folder = Path(site["folder"]).resolve()
    out = cli(site, "document", "--out", "arquitetura.md", "--lang", "pt-BR", cwd=folder)
    assert out.returncode == exitcodes.OK, out.stderr
    assert str(folder / "arquitetura.md") in out.stdout
    assert "## 1. Arquitetura" in (folder / "arquitetura.md").read_text(encoding="utf-8")
    status = cli(site, "status", "--only", "cleanup.document", "--json")
    step = next(s for s in json.loads(status.stdout)["steps"] if s["step"] == "cleanup.document")
    assert step["status"] == "done" and step["facts"]["path"] == str(folder / "arquitetura.md")
    (folder / "arquitetura.md").unlink()


def test_tui_offers_it_on_the_dashboard_and_in_cleanup(site: dict[str, Any]) -> None:
    import asyncio

    from screens.app import WizardApp
    from screens.cleanup import CleanupScreen
    from screens.dashboard import DashboardScreen
    from tests.tui_helpers import idle, screen_text
    from wizard.dwhost.platform.elevation import Elevation
    from wizard.i18n import Message, current_language, set_language

    env = {
        "keyring": None,
        "elevation": Elevation(True, "root", Message("platform.elevation.root")),
    }
    document = Path(site["folder"]).resolve() / "arquitetura-fdw.md"
    before = current_language()

    async def scenario(screen: Any, lang: str, key_label: str) -> None:
        app = WizardApp(site["path"], lang=lang, config=site["config"], environment=env)
        async with app.run_test(size=(120, 36)) as pilot:
            app.push_screen(screen)
            await idle(pilot)
            assert key_label in screen_text(app)
            await pilot.press("o")
            await idle(pilot)
            assert document.exists()
            assert app.status_of("cleanup.document") == "done"
            notes = [str(n.message) for n in app._notifications]
            assert any(str(document) in n for n in notes), notes

    try:
        asyncio.run(scenario(DashboardScreen(), "en", "as-built document"))
        text = document.read_text(encoding="utf-8")
        assert "## 1. Architecture" in text
        document.unlink()
        asyncio.run(scenario(CleanupScreen(), "pt-BR", "documento da arquitetura"))
        assert "## 1. Arquitetura" in document.read_text(encoding="utf-8")
    finally:
        set_language(before)
        document.unlink(missing_ok=True)


def test_an_unreachable_supabase_is_written_as_such(site: dict[str, Any]) -> None:
    """Supabase down (a port nobody listens on): the DW side is still documented, the Supabase
    side says it could not be read and why, and the command says so (exit 1)."""
    import socket

    from wizard.config import save_config

    with socket.socket() as probe:  # a free loopback port, closed again: connections refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = site["config"]
    broken = config.model_copy(
        update={"supabase": config.supabase.model_copy(update={"port": port})}
    )
    folder = Path(site["folder"]) / "down"
    folder.mkdir()
    path = folder / "fdw-wizard.yaml"
    save_config(broken, path)
    out = folder / "as-built.md"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "wizard.cli",
            "--config",
            str(path),
            "document",
            "--out",
            str(out),
            "--lang",
            "en",
        ],
        capture_output=True,
        text=True,
        env=site["env"],
        timeout=180,
        check=False,
    )
    assert result.returncode == exitcodes.FAILED, result.stderr
    assert str(out) in result.stdout and "supabase:" in result.stderr
    text = out.read_text(encoding="utf-8")
    assert "| listen_addresses (running) | `127.0.0.1` |" in text  # the DW side is there
    supabase_side = text.split("## 3.", 1)[1].split("## 4.", 1)[0]
    assert "> Could not be read: " in supabase_side
    assert "document." not in text
