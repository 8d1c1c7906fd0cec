"""The local Supabase stand-in, driven through supabase-py and wizard.supabase.supabase_api,
against a real
Supabase-like cluster whose foreign tables read the real DW cluster."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from psycopg import sql

from wizard.supabase import supabase_api as api
from wizard.testbed.bed import TestBed
from wizard.testbed.standin import (
    HealthCheck,
    StandIn,
    make_key,
    postgrest_status,
    verify_key,
    write_fallback_files,
)

pytestmark = pytest.mark.clusters

ROOT = Path(__file__).resolve().parent.parent
FALLBACK_TABLES = ["dim_clientes", "dim_frota", "agg_dre_mensal"]
MANY_BUCKET = "standin-many"
MANY_OBJECTS = 130


def prepare_app_bed(bed: TestBed, storage_dir: Path, closed_port: int) -> None:
    """What phases 2 and 3 leave on Supabase, built by hand: a server to the DW, foreign tables in
    the private schema bi (secure default) and in public (runbook mode), the runbook's views,
    plus test fixtures: a view anon may read, a foreign table on a dead DW, a slow view for a
    role with a tiny statement_timeout, a bucket with more objects than one list page."""
    etl_password = bed.passwords["dw-etl"]
    with bed.supabase.connect() as conn:
        conn.execute("SET ROLE postgres")
        for name, port, timeout in (
            ("dw_test_srv", bed.dw.port, "5"),
            ("dead_srv", closed_port, "2"),
        ):
            conn.execute(
                f"CREATE SERVER {name} FOREIGN DATA WRAPPER postgres_fdw OPTIONS"
                f" (host '127.0.0.1', port '{port}', dbname 'bluconecta_dw',"
                f" connect_timeout '{timeout}')"
            )
            for role in ("postgres", "authenticated", "service_role"):
                conn.execute(
                    sql.SQL(
                        "CREATE USER MAPPING FOR {} SERVER {}"
                        " OPTIONS (user 'etl_bluconecta', password {})"
                    ).format(sql.Identifier(role), sql.Identifier(name), sql.Literal(etl_password))
                )
        conn.execute("CREATE SCHEMA bi")
        for schema in ("bi", "public"):
            conn.execute(
                "IMPORT FOREIGN SCHEMA public LIMIT TO (dim_clientes, dim_frota)"
                f" FROM SERVER dw_test_srv INTO {schema}"
            )
        conn.execute(
            "GRANT SELECT ON public.dim_clientes, public.dim_frota TO authenticated, service_role"
        )
        conn.execute(
            "CREATE VIEW public.v_clientes_360 AS SELECT c.id AS supabase_id, c.stage_id,"
            " bi.codigo_cliente, bi.razao_social, bi.cidade, bi.estado"
            " FROM bi.dim_clientes bi"
            " LEFT JOIN public.clientes c ON c.codigo_cliente = bi.codigo_cliente::text"
        )
        conn.execute(
            "CREATE VIEW public.v_frota_360 AS SELECT f.*, c.razao_social AS cliente_nome"
            " FROM bi.dim_frota f LEFT JOIN bi.dim_clientes c"
            " ON f.cliente_codigo = c.codigo_cliente"
        )
        conn.execute(
            "GRANT SELECT ON public.v_clientes_360, public.v_frota_360"
            " TO authenticated, service_role"
        )
        conn.execute(
            "CREATE VIEW public.v_small AS SELECT codigo_cliente, razao_social"
            " FROM public.clientes ORDER BY codigo_cliente LIMIT 50"
        )
        conn.execute("GRANT SELECT ON public.v_small TO anon, service_role")
        conn.execute(
            "CREATE FOREIGN TABLE public.dead_clientes (codigo_cliente integer)"
            " SERVER dead_srv OPTIONS (schema_name 'public', table_name 'dim_clientes')"
        )
        conn.execute("GRANT SELECT ON public.dead_clientes TO anon, authenticated, service_role")
        conn.execute("RESET ROLE")
        conn.execute("CREATE ROLE slow_tester NOLOGIN NOINHERIT")
        conn.execute("ALTER ROLE slow_tester SET statement_timeout = '100ms'")
        conn.execute("GRANT slow_tester TO authenticator")
        conn.execute("CREATE VIEW public.v_slow AS SELECT pg_sleep(2)::text AS s")
        conn.execute("GRANT SELECT ON public.v_slow TO slow_tester")
        conn.execute("GRANT USAGE ON SCHEMA public TO slow_tester")
        conn.execute(
            "INSERT INTO storage.buckets (id, name, public) VALUES (%s, %s, false)",
            [MANY_BUCKET, MANY_BUCKET],
        )
        conn.execute(
            "INSERT INTO storage.objects (bucket_id, name, metadata)"
            " SELECT %s, 'r/' || lpad(i::text, 4, '0') || '.json',"
            " jsonb_build_object('size', 2, 'mimetype', 'application/json')"
            " FROM generate_series(1, %s) i",
            [MANY_BUCKET, MANY_OBJECTS],
        )
        conn.execute("NOTIFY pgrst, 'reload schema'")
    refresh_fallback(bed, storage_dir)


def refresh_fallback(bed: TestBed, storage_dir: Path, tables: list[str] | None = None) -> None:
    with bed.dw.connect() as dw, bed.supabase.connect() as supa:
        write_fallback_files(dw, supa, storage_dir, tables=tables or FALLBACK_TABLES)


class AppBed:
    def __init__(self, bed: TestBed, standin: StandIn, storage_dir: Path) -> None:
        self.bed = bed
        self.standin = standin
        self.storage_dir = storage_dir
        self.url = standin.url
        self.anon = standin.key("anon")
        self.service = standin.key("service_role")


@pytest.fixture(scope="module")
def app_bed(private_testbed: TestBed, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppBed]:
    storage_dir = tmp_path_factory.mktemp("storage")
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))  # reserved, never listening: connections are refused
    try:
        prepare_app_bed(private_testbed, storage_dir, closed.getsockname()[1])
        standin = StandIn(
            db=private_testbed.supabase.conninfo(),
            storage_dir=storage_dir,
            jwt_secret=secrets.token_urlsafe(32),
        ).start()
        try:
            yield AppBed(private_testbed, standin, storage_dir)
        finally:
            standin.stop()
    finally:
        closed.close()


# --------------------------------------------------------------------------------------- keys


def test_keys_are_hs256_jwts_with_a_role() -> None:
    secret = "s" * 40
    key = make_key(secret, "anon")
    assert verify_key(key, secret)["role"] == "anon"  # type: ignore[index]
    assert api.key_role(key) == "anon"
    assert verify_key(key, "other-secret") is None
    header, payload, signature = key.split(".")
    assert verify_key(f"{header}.{payload}.{signature[:-2]}xx", secret) is None
    assert verify_key(make_key(secret, "anon", ttl_s=-10), secret) is None
    unsigned = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0." + payload + "."
    assert verify_key(unsigned, secret) is None


def test_postgrest_status_table() -> None:
    assert postgrest_status("08001", "anon") == 503
    assert postgrest_status("57014", "anon") == 500
    assert postgrest_status("HV00N", "authenticated") == 500
    assert postgrest_status("42501", "anon") == 401
    assert postgrest_status("42501", "authenticated") == 403
    assert postgrest_status("42P01", "anon") == 404
    assert postgrest_status("22P02", "anon") == 400


def test_listens_on_loopback_only(app_bed: AppBed) -> None:
    assert app_bed.url.startswith("http://127.0.0.1:")


# --------------------------------------------------------------------------------------- REST


def test_supabase_py_reads_a_public_view(app_bed: AppBed) -> None:
    from supabase import create_client

    client = create_client(app_bed.url, app_bed.anon)
    response = client.table("v_small").select("*").limit(10).execute()
    assert len(response.data) == 10
    assert set(response.data[0]) == {"codigo_cliente", "razao_social"}


def test_filters_columns_order_and_count(app_bed: AppBed) -> None:
    from supabase import create_client

    client = create_client(app_bed.url, app_bed.service)
    rows = (
        client.table("dim_clientes")
        .select("codigo_cliente,razao_social")
        .eq("codigo_cliente", "7")
        .execute()
        .data
    )
    assert [r["codigo_cliente"] for r in rows] == [7]
    ordered = (
        client.table("dim_clientes")
        .select("codigo_cliente")
        .order("codigo_cliente", desc=True)
        .limit(3)
        .offset(1)
        .execute()
        .data
    )
    codes = [r["codigo_cliente"] for r in ordered]
    assert codes == sorted(codes, reverse=True) and len(codes) == 3
    with app_bed.bed.dw.connect() as dw:
        total = dw.execute("SELECT count(*) FROM dim_clientes").fetchone()[0]  # type: ignore[index]
    assert client.table("dim_clientes").select("count").execute().data == [{"count": total}]


def test_read_as_app_through_the_fdw_view(app_bed: AppBed) -> None:
    result = api.read_as_app(app_bed.url, app_bed.service, "v_clientes_360")
    with app_bed.bed.dw.connect() as dw:
        total = dw.execute("SELECT count(*) FROM dim_clientes").fetchone()[0]  # type: ignore[index]
    assert result.http_status == 200
    assert result.rows == min(total, api.APP_READ_LIMIT)
    assert "razao_social" in result.columns
    assert result.latency_ms >= 0


def test_schema_not_exposed_is_406_and_explained(app_bed: AppBed) -> None:
    with pytest.raises(api.SupabaseApiError) as info:
        api.read_as_app(app_bed.url, app_bed.service, "dim_clientes", "bi")
    exc = info.value
    assert (exc.kind, exc.http_status, exc.code) == ("schema_not_exposed", 406, "PGRST106")
    assert "not exposed" in exc.message.render("en")
    assert "secure default" in exc.fix.render("en")  # type: ignore[union-attr]
    assert "não é exposto" in exc.message.render("pt-BR")


def test_anon_denied_is_401_and_mapped(app_bed: AppBed) -> None:
    with pytest.raises(api.SupabaseApiError) as info:
        api.read_as_app(app_bed.url, app_bed.anon, "v_clientes_360")
    exc = info.value
    assert (exc.kind, exc.http_status, exc.code, exc.role) == ("denied", 401, "42501", "anon")
    assert "anon key may not read" in exc.message.render("en")
    # authenticated is not anon: PostgREST answers the same refusal with 403
    token = make_key(app_bed.standin.jwt_secret, "authenticated")
    with pytest.raises(api.SupabaseApiError) as info:
        api.read_as_app(app_bed.url, token, "v_small")
    assert (info.value.kind, info.value.http_status) == ("denied", 403)


def test_statement_timeout_is_500_and_means_fallback(app_bed: AppBed) -> None:
    token = make_key(app_bed.standin.jwt_secret, "slow_tester")
    started = time.monotonic()
    with pytest.raises(api.SupabaseApiError) as info:
        api.read_as_app(app_bed.url, token, "v_slow")
    exc = info.value
    assert (exc.kind, exc.http_status, exc.code) == ("fdw_down", 500, "57014")
    assert "Storage JSON fallback" in exc.message.render("en")
    assert time.monotonic() - started < 1.5  # the role's 100 ms timeout, not the 2 s sleep


def test_dead_dw_is_503_without_retries(app_bed: AppBed) -> None:
    started = time.monotonic()
    with pytest.raises(api.SupabaseApiError) as info:
        api.read_as_app(app_bed.url, app_bed.service, "dead_clientes")
    exc = info.value
    assert (exc.kind, exc.http_status) == ("dw_unreachable", 503)
    assert exc.code is not None and exc.code.startswith("08")
    assert "cannot reach your DW" in exc.message.render("en")
    assert "fallback" in exc.message.render("en")
    assert time.monotonic() - started < 5  # supabase-py would retry a 503 three times (7 s)


def test_unknown_relation_is_404(app_bed: AppBed) -> None:
    with pytest.raises(api.SupabaseApiError) as info:
        api.read_as_app(app_bed.url, app_bed.service, "nao_existe")
    assert (info.value.kind, info.value.http_status, info.value.code) == (
        "not_found",
        404,
        "PGRST205",
    )


def test_bad_or_missing_key_is_401(app_bed: AppBed) -> None:
    forged = make_key("not-the-project-secret-at-all", "service_role")
    with pytest.raises(api.SupabaseApiError) as info:
        api.read_as_app(app_bed.url, forged, "v_small")
    assert (info.value.kind, info.value.http_status) == ("bad_key", 401)
    assert forged not in json.dumps(info.value.message.to_json())
    response = httpx.get(app_bed.url + "/rest/v1/v_small")
    assert response.status_code == 401
    assert response.json()["message"] == "No API key found in request"
    # a valid apikey but a forged bearer token: PostgREST's own 401
    response = httpx.get(
        app_bed.url + "/rest/v1/v_small",
        headers={"apikey": app_bed.anon, "Authorization": f"Bearer {forged}"},
    )
    assert (response.status_code, response.json()["code"]) == (401, "PGRST301")


# ------------------------------------------------------------------------------------ Storage


def test_storage_list_paginates_past_100(app_bed: AppBed) -> None:
    from supabase import create_client

    one_page = create_client(app_bed.url, app_bed.service).storage.from_(MANY_BUCKET).list("r")
    assert len(one_page) == 100  # storage3's default limit
    everything = api.list_bucket(app_bed.url, app_bed.service, MANY_BUCKET, "r")
    assert len(everything) == MANY_OBJECTS
    assert len({e["name"] for e in everything}) == MANY_OBJECTS
    top = api.list_bucket(app_bed.url, app_bed.service, MANY_BUCKET)
    assert [(e["name"], e["id"]) for e in top] == [("r", None)]  # a folder entry


def test_download_a_real_fallback_json(app_bed: AppBed) -> None:
    data = api.download(app_bed.url, app_bed.service, "bi-reports", "dim_frota.json")
    rows = json.loads(data)
    with app_bed.bed.dw.connect() as dw:
        total = dw.execute("SELECT count(*) FROM dim_frota").fetchone()[0]  # type: ignore[index]
    assert isinstance(rows, list) and len(rows) == total
    assert "placa" in rows[0]
    listed = {e["name"]: e for e in api.list_bucket(app_bed.url, app_bed.service, "bi-reports")}
    assert listed["dim_frota.json"]["metadata"]["size"] == len(data)
    assert len(listed) == 18  # every runbook table has a fallback object


def test_storage_rls_hides_objects_from_anon(app_bed: AppBed) -> None:
    assert api.list_bucket(app_bed.url, app_bed.anon, "bi-reports") == []
    with pytest.raises(api.SupabaseApiError) as info:
        api.download(app_bed.url, app_bed.anon, "bi-reports", "dim_frota.json")
    assert info.value.kind == "object_missing"
    with pytest.raises(api.SupabaseApiError) as info:
        api.download(app_bed.url, app_bed.service, "no-such-bucket", "x.json")
    assert info.value.kind == "bucket_missing"
    with pytest.raises(api.SupabaseApiError) as info:
        api.download(app_bed.url, app_bed.service, "bi-reports", "nada.json")
    assert info.value.kind == "object_missing"


def test_download_refuses_path_traversal(app_bed: AppBed) -> None:
    response = httpx.get(
        app_bed.url + "/storage/v1/object/bi-reports/%2E%2E/%2E%2E/etc/passwd",
        headers={"apikey": app_bed.service, "Authorization": f"Bearer {app_bed.service}"},
    )
    assert response.status_code in (400, 404)


# ---------------------------------------------------------------------------------- Functions


def test_health_function_healthy(app_bed: AppBed) -> None:
    result = api.invoke_function(app_bed.url, app_bed.anon, "fdw-health-check")
    assert result.http_status == 200
    assert result.body["status"] == "healthy" and result.body["fdw_available"] is True
    assert isinstance(result.body["latency_ms"], int)


def test_health_function_error_and_not_deployed(app_bed: AppBed) -> None:
    secret = app_bed.standin.jwt_secret
    broken = StandIn(
        db=app_bed.bed.supabase.conninfo(),
        storage_dir=app_bed.storage_dir,
        jwt_secret=secret,
        health=HealthCheck("public", "dead_clientes"),
    ).start()
    absent = StandIn(
        db=app_bed.bed.supabase.conninfo(),
        storage_dir=app_bed.storage_dir,
        jwt_secret=secret,
        functions=(),
    ).start()
    try:
        result = api.invoke_function(broken.url, app_bed.anon, "fdw-health-check")
        assert result.http_status == 500
        assert result.body["fdw_available"] is False and result.body["fallback"] == "storage"
        assert "could not connect" in result.body["error"]
        with pytest.raises(api.SupabaseApiError) as info:
            api.invoke_function(absent.url, app_bed.anon, "fdw-health-check")
        assert (info.value.kind, info.value.http_status) == ("function_missing", 404)
        assert "supabase functions deploy" in info.value.fix.render("en")  # type: ignore[union-attr]
    finally:
        broken.stop()
        absent.stop()


# ------------------------------------------------------------------------------- command line


def test_command_line_reads_secrets_from_file_and_env(app_bed: AppBed, tmp_path: Path) -> None:
    secret_file = tmp_path / "jwt"
    secret_file.write_text(app_bed.standin.jwt_secret)
    secret_file.chmod(0o600)
    info: dict[str, Any] = app_bed.bed.supabase.conninfo()
    env = {
        **os.environ,
        "FDW_WIZARD_STANDIN_DB_PASSWORD": info["password"],
        "PYTHONPATH": str(ROOT),
    }
    argv = [
        sys.executable,
        "-m",
        "wizard.testbed.standin",
        "--db-host",
        "127.0.0.1",
        "--db-port",
        str(info["port"]),
        "--storage-dir",
        str(app_bed.storage_dir),
        "--jwt-secret-file",
        str(secret_file),
    ]
    assert not any(info["password"] in a or app_bed.standin.jwt_secret in a for a in argv)
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, env=env, cwd=ROOT, text=True)
    try:
        assert proc.stdout is not None
        line = json.loads(proc.stdout.readline())
        assert line["url"].startswith("http://127.0.0.1:")
        result = api.read_as_app(line["url"], app_bed.anon, "v_small", limit=5)
        assert result.rows == 5
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0


# ------------------------------------------------------------------ PostgREST-like requests

SUPABASE_JS_DIRS = (os.environ.get("FDW_WIZARD_NODE_MODULES", "/opt/fdw-wizard-js/node_modules"),)


@pytest.fixture
def probe_view(app_bed: AppBed) -> Iterator[str]:
    """A view showing what a request's transaction looks like from inside."""
    with app_bed.bed.supabase.connect() as conn:
        conn.execute(
            "CREATE VIEW public.v_request_probe AS SELECT pg_backend_pid() AS pid,"
            " current_user AS who, current_setting('statement_timeout') AS timeout,"
            " current_setting('transaction_read_only') AS read_only,"
            " current_setting('request.path', true) AS path,"
            " current_setting('request.method', true) AS method,"
            " current_setting('test.pre_request', true) AS pre_request"
        )
        conn.execute("GRANT SELECT ON public.v_request_probe TO authenticated, anon")
    try:
        yield "v_request_probe"
    finally:
        with app_bed.bed.supabase.connect() as conn:
            conn.execute("DROP VIEW public.v_request_probe")


def _get(app_bed: AppBed, relation: str, role: str, **kw: Any) -> httpx.Response:
    key = make_key(app_bed.standin.jwt_secret, role)
    headers = {"apikey": app_bed.anon, "Authorization": f"Bearer {key}", **kw.pop("headers", {})}
    method = kw.pop("method", "GET")
    return httpx.request(
        method, f"{app_bed.url}/rest/v1/{relation}", headers=headers, timeout=30, **kw
    )


def test_requests_run_like_postgrest_on_long_lived_connections(
    app_bed: AppBed, probe_view: str
) -> None:
    first = _get(app_bed, probe_view, "authenticated").json()[0]
    second = _get(app_bed, probe_view, "authenticated").json()[0]
    assert first["pid"] == second["pid"]  # the same pooled backend, as PostgREST's pool
    assert first["who"] == "authenticated"
    assert first["timeout"] == "8s"  # the role's own setting, applied per transaction
    assert first["read_only"] == "on"  # GET runs READ ONLY
    assert (first["path"], first["method"]) == ("/" + probe_view, "GET")
    anon = _get(app_bed, probe_view, "anon").json()[0]
    assert (anon["who"], anon["timeout"]) == ("anon", "3s")  # nothing leaked between requests


def test_pre_request_function_runs_before_the_query(app_bed: AppBed, probe_view: str) -> None:
    with app_bed.bed.supabase.connect() as conn:
        conn.execute(
            "CREATE FUNCTION public.test_pre_request() RETURNS void LANGUAGE sql AS"
            " $$ SELECT set_config('test.pre_request', current_user || ' '"
            " || current_setting('request.path', true), true); SELECT NULL::void $$"
        )
        conn.execute(
            "ALTER ROLE authenticator SET pgrst.db_pre_request = 'public.test_pre_request'"
        )
    try:
        row = _get(app_bed, probe_view, "authenticated").json()[0]
        assert row["pre_request"] == f"authenticated /{probe_view}"  # after role and request.*
    finally:
        with app_bed.bed.supabase.connect() as conn:
            conn.execute("ALTER ROLE authenticator RESET pgrst.db_pre_request")
            conn.execute("DROP FUNCTION public.test_pre_request()")
    assert _get(app_bed, probe_view, "authenticated").json()[0]["pre_request"] in (None, "")


def test_head_with_count_exact_gives_the_total(app_bed: AppBed) -> None:
    head = _get(
        app_bed, "v_small", "service_role", method="HEAD", headers={"Prefer": "count=exact"}
    )
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-range"] == "0-49/50"
    part = _get(
        app_bed,
        "v_small",
        "service_role",
        params={"select": "*", "limit": "10", "offset": "5"},
        headers={"Prefer": "count=exact"},
    )
    assert part.status_code == 206 and len(part.json()) == 10
    assert part.headers["content-range"] == "5-14/50"
    plain = _get(app_bed, "v_small", "service_role", params={"limit": "10"})
    assert plain.status_code == 200 and plain.headers["content-range"] == "0-9/*"


def _supabase_js() -> Path:
    for folder in SUPABASE_JS_DIRS:
        if (Path(folder) / "@supabase" / "supabase-js").is_dir() and shutil.which("node"):
            return Path(folder)
    # .ci/run installs it: in CI its absence is a failure, elsewhere a skip.
    if os.environ.get("CI") == "true":
        pytest.fail("node and @supabase/supabase-js are required in CI (see .ci/run)")
    pytest.skip(
        "node and @supabase/supabase-js (npm install --prefix /opt/fdw-wizard-js ...) needed"
    )


def test_supabase_js_reads_and_counts(app_bed: AppBed, tmp_path: Path) -> None:
    """The app's real client: rows, a head count (a number, not NaN), and a PostgREST error."""
    modules = _supabase_js()
    script = tmp_path / "client.mjs"
    script.write_text(
        "import { createClient } from '@supabase/supabase-js';\n"
        "// Node 20 has no WebSocket; the reads never open Realtime, any class will do.\n"
        "const transport = globalThis.WebSocket ?? class NoRealtime {};\n"
        "const supabase = createClient(process.env.URL, process.env.KEY,"
        " { auth: { persistSession: false }, realtime: { transport } });\n"
        "const rows = await supabase.from('v_small').select('*').limit(3);\n"
        "const head = await supabase.from('v_small').select('*', { count: 'exact', head: true });\n"
        "const dead = await supabase.from('dead_clientes').select('*').limit(1);\n"
        "console.log(JSON.stringify({ rows: rows.data?.length, count: head.count,"
        " headStatus: head.status, deadStatus: dead.status, deadCode: dead.error?.code }));\n",
        encoding="utf-8",
    )
    (tmp_path / "node_modules").symlink_to(modules)
    env = {**os.environ, "URL": app_bed.url, "KEY": app_bed.service}
    out = subprocess.run(
        ["node", str(script)], capture_output=True, text=True, timeout=60, env=env, check=False
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["rows"] == 3
    assert result["count"] == 50 and result["headStatus"] == 200
    assert result["deadStatus"] == 503 and str(result["deadCode"]).startswith("08")
