"""Each diagnosis provoked for real on a test bed of its own (after a full Phase 1-3 apply), then
diagnosed from the error the operator would see. Every test puts the bed back as it found it."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from wizard.config import Config
from wizard.diagnose import SYMPTOM_IDS, SYMPTOMS, Diagnosis, diagnose
from wizard.i18n import LANGUAGES, catalog
from wizard.session import open_session
from wizard.steps.supabase_checks import read_as
from wizard.testbed.bed import TestBed

pytestmark = pytest.mark.clusters

READER = "supabase_fdw_reader"
SERVER = "bluconecta_dw_server"
FDW_READ = "SELECT * FROM bi.dim_frota LIMIT 1"


@pytest.fixture(scope="module")
def site(applied_site: dict[str, Any]) -> dict[str, Any]:
    return applied_site


def supa(bed: TestBed) -> psycopg.Connection[Any]:
    return bed.supabase.connect(user="postgres")


def dw_db(bed: TestBed) -> psycopg.Connection[Any]:
    return bed.dw.connect(dbname="bluconecta_dw")


def fdw_error(bed: TestBed, query: str = FDW_READ, role: str = "postgres") -> psycopg.Error:
    """The error Supabase gets reading through the FDW (a fresh FDW login each time)."""
    with supa(bed) as conn:
        conn.execute("SELECT postgres_fdw_disconnect_all()")
        try:
            if role == "postgres":
                conn.execute(query).fetchall()
            else:
                read_as(conn, role, query)
        except psycopg.Error as exc:
            return exc
    raise AssertionError("the FDW read worked; the fault was not provoked")


def first(found: list[Diagnosis]) -> Diagnosis:
    assert found, "no diagnosis"
    return found[0]


def ids(found: list[Diagnosis]) -> list[str]:
    return [d.id for d in found]


def steps_of(diagnosis: Diagnosis) -> list[str | None]:
    return [f.step_id for f in diagnosis.fixes]


def reload_dw(bed: TestBed) -> None:
    bed.dw.cluster.reload()
    time.sleep(0.5)  # the postmaster reloads asynchronously


def session_with(site: dict[str, Any], config: Config, name: str) -> Any:
    ctx, _runner = open_session(config, site["folder"] / f"{name}.yaml")
    return ctx


# ---------------------------------------------------------------------------------------------


def test_every_symptom_has_a_title_in_both_languages() -> None:
    for symptom in SYMPTOMS:
        for lang in LANGUAGES:
            assert symptom.title.key in catalog(lang)


def test_every_message_key_of_the_engine_exists() -> None:
    import re

    root = Path(__file__).resolve().parent.parent / "wizard"
    text = "".join(p.read_text(encoding="utf-8") for p in sorted((root / "diagnose").glob("*.py")))
    text += (root / "measure" / "probes.py").read_text(encoding="utf-8")
    text += (root / "commands" / "doctor.py").read_text(encoding="utf-8")
    # Every literal that looks like a key: msg(...), fix(...), the FIX_STEPS table, t(...).
    used = set(re.findall(r'"((?:diagnose|probes)\.[a-z_.0-9-]+)"', text))
    assert "diagnose.fix.hba" in used
    missing = sorted(k for k in used if not k.endswith(".") and k not in catalog("en"))
    assert missing == []


def test_every_symptom_has_one_handler_and_every_fix_step_exists() -> None:
    from wizard.diagnose import HANDLERS
    from wizard.diagnose.core import FIX_STEPS
    from wizard.steps import all_steps

    assert sorted(HANDLERS) == sorted(SYMPTOM_IDS)
    step_ids = {step.id for step in all_steps()}
    assert sorted(set(FIX_STEPS.values()) - step_ids) == []


def test_wrong_password_in_the_mapping(site: dict[str, Any]) -> None:
    bed, ctx = site["bed"], site["ctx"]
    with supa(bed) as conn:
        conn.execute(
            "ALTER USER MAPPING FOR authenticated SERVER bluconecta_dw_server"
            " OPTIONS (SET password 'not-the-reader-password')"
        )
    try:
        error = fdw_error(bed, role="authenticated")
        found = diagnose(ctx, error=error)
        top = first(found)
        assert top.id == "wrong-password" and top.confidence == "confirmed", [
            e.render("en") for e in top.evidence
        ]
        assert steps_of(top) == ["supabase.user-mappings"]
        assert "authenticated" in top.cause.params["roles"]
        assert "not-the-reader-password" not in json.dumps([d.to_json() for d in found])
    finally:
        site["runner"].apply(["supabase.user-mappings"])
    assert diagnose(ctx, symptom="password-failed")[0].id == "nothing-found"


def test_md5_stored_password_with_a_scram_rule(site: dict[str, Any]) -> None:
    bed, ctx = site["bed"], site["ctx"]
    password = ctx.secrets.get("reader")
    with dw_db(bed) as conn:
        verifier = conn.execute(
            "SELECT rolpassword FROM pg_authid WHERE rolname = %s", (READER,)
        ).fetchone()[0]
        conn.execute("SET password_encryption = 'md5'")
        conn.execute(
            sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                sql.Identifier(READER), sql.Literal(password)
            )
        )
    try:
        error = fdw_error(bed)
        assert "password authentication failed" in str(error)
        top = first(diagnose(ctx, error=error))
        assert top.id == "md5-password-storage" and top.confidence == "confirmed"
        assert steps_of(top) == ["local.reader-role"]
    finally:
        with dw_db(bed) as conn:
            conn.execute(
                sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                    sql.Identifier(READER), sql.Literal(verifier)
                )
            )


def test_missing_hba_rule(site: dict[str, Any]) -> None:
    bed, ctx = site["bed"], site["ctx"]
    hba = bed.dw.cluster.hba_path
    original = hba.read_text(encoding="utf-8")
    # Drop the reader's accept rule, and narrow the catch-all loopback rule to postgres.
    lines = [
        line.replace(
            "host    all             all             127.0.0.1/32", "host all postgres 127.0.0.1/32"
        )
        for line in original.splitlines()
        if not (line.startswith("hostssl") and READER in line)
    ]
    hba.write_text("\n".join(lines) + "\n", encoding="utf-8")
    reload_dw(bed)
    try:
        error = fdw_error(bed)
        assert "no pg_hba.conf entry" in str(error)
        top = first(diagnose(ctx, error=error))
        assert top.id == "no-hba-entry" and top.confidence == "confirmed"
        assert steps_of(top)[0] == "local.hba"
        # The file fixed but not reloaded: the server still refuses, the file would accept.
        hba.write_text(original, encoding="utf-8")
        stale = first(diagnose(ctx, error=error))
        assert stale.id == "hba-not-reloaded" and steps_of(stale) == ["local.reload"]
    finally:
        hba.write_text(original, encoding="utf-8")
        reload_dw(bed)


def test_tls_required_by_hba_while_the_client_disables_it(site: dict[str, Any]) -> None:
    bed, ctx = site["bed"], site["ctx"]
    with supa(bed) as conn:
        conn.execute("ALTER SERVER bluconecta_dw_server OPTIONS (SET sslmode 'disable')")
    try:
        error = fdw_error(bed)
        assert "no encryption" in str(error)
        top = first(diagnose(ctx, error=error))
        assert top.id == "ssl-required" and top.confidence == "confirmed"
        assert steps_of(top) == ["supabase.server"]
    finally:
        with supa(bed) as conn:
            conn.execute("ALTER SERVER bluconecta_dw_server OPTIONS (SET sslmode 'require')")
    # The same rule seen by a direct libpq login with sslmode=disable.
    with pytest.raises(psycopg.OperationalError) as direct:
        psycopg.connect(
            host="127.0.0.1",
            port=bed.dw.port,
            dbname="bluconecta_dw",
            user=READER,
            password=ctx.secrets.get("reader"),
            sslmode="disable",
        )
    top = first(diagnose(ctx, error=direct.value))
    assert top.id == "ssl-required" and top.confidence == "confirmed"


def test_tls_off_on_the_dw(site: dict[str, Any]) -> None:
    bed, ctx = site["bed"], site["ctx"]
    with bed.dw.connect() as conn:
        conn.execute("ALTER SYSTEM SET ssl = off")
        conn.execute("SELECT pg_reload_conf()")
    time.sleep(0.5)
    try:
        error = fdw_error(bed)
        assert "SSL" in str(error)
        top = first(diagnose(ctx, error=error))
        assert top.id == "ssl-not-supported" and top.confidence == "confirmed"
        assert steps_of(top)[0] == "local.tls"
    finally:
        with bed.dw.connect() as conn:
            conn.execute("ALTER SYSTEM RESET ssl")
            conn.execute("SELECT pg_reload_conf()")
        time.sleep(0.5)


def test_non_superuser_password_required(site: dict[str, Any]) -> None:
    bed, ctx = site["bed"], site["ctx"]
    hba = bed.dw.cluster.hba_path
    original = hba.read_text(encoding="utf-8")
    hba.write_text(f"hostssl bluconecta_dw {READER} 127.0.0.1/32 trust\n" + original)
    reload_dw(bed)
    try:
        error = fdw_error(bed)
        assert "password is required" in str(error)
        top = first(diagnose(ctx, error=error))
        assert top.id == "password-not-requested" and top.confidence == "confirmed"
        assert steps_of(top)[0] == "local.hba"
    finally:
        hba.write_text(original, encoding="utf-8")
        reload_dw(bed)
    with supa(bed) as conn:
        conn.execute(
            "ALTER USER MAPPING FOR postgres SERVER bluconecta_dw_server OPTIONS (DROP password)"
        )
    try:
        error = fdw_error(bed)
        top = first(diagnose(ctx, error=error))
        assert top.id == "mapping-without-password" and top.confidence == "confirmed"
        assert steps_of(top) == ["supabase.user-mappings"]
        assert "postgres" in top.cause.params["roles"]
    finally:
        with supa(bed) as conn:
            conn.execute(
                sql.SQL(
                    "ALTER USER MAPPING FOR postgres SERVER bluconecta_dw_server"
                    " OPTIONS (ADD password {})"
                ).format(sql.Literal(ctx.secrets.get("reader")))
            )


def test_revoked_select_on_the_dw_and_on_supabase(site: dict[str, Any]) -> None:
    bed, ctx = site["bed"], site["ctx"]
    with dw_db(bed) as conn:
        conn.execute(f"REVOKE SELECT ON public.dim_frota FROM {READER}")
    try:
        error = fdw_error(bed)
        top = first(diagnose(ctx, error=error))
        assert top.id == "missing-grant-dw" and top.confidence == "confirmed"
        assert steps_of(top) == ["local.reader-role"]
        assert "dim_frota" in top.cause.params["tables"]
    finally:
        with dw_db(bed) as conn:
            conn.execute(f"GRANT SELECT ON public.dim_frota TO {READER}")
    with supa(bed) as conn:
        conn.execute("REVOKE SELECT ON bi.dim_frota FROM authenticated")
    try:
        error = fdw_error(bed, role="authenticated")
        assert "permission denied for foreign table" in str(error)
        top = first(diagnose(ctx, error=error))
        assert top.id == "missing-grant-supabase" and top.confidence == "confirmed"
        assert steps_of(top) == ["supabase.grants"]
        assert "authenticated" in top.cause.params["items"]
    finally:
        with supa(bed) as conn:
            conn.execute("GRANT SELECT ON bi.dim_frota TO authenticated")


def test_statement_timeout_57014(site: dict[str, Any]) -> None:
    bed, ctx = site["bed"], site["ctx"]
    with bed.supabase.connect() as admin:
        before = admin.execute(
            "SELECT rolconfig FROM pg_roles WHERE rolname = 'authenticated'"
        ).fetchone()[0]
        admin.execute("ALTER ROLE authenticated SET statement_timeout = '1ms'")
    try:
        error = fdw_error(bed, "SELECT count(*), pg_sleep(0.2) FROM bi.dim_frota", "authenticated")
        assert error.sqlstate == "57014"
        found = diagnose(ctx, error=error)
        top = first(found)
        assert top.id == "statement-timeout" and top.confidence == "confirmed"
        assert steps_of(top)[0] == "supabase.analyze"
        seen = [e.params for e in top.evidence if e.key == "diagnose.evidence.role_timeout"]
        assert {"role": "authenticated", "value": "1ms"} in seen
    finally:
        with bed.supabase.connect() as admin:
            admin.execute("ALTER ROLE authenticated RESET statement_timeout")
            for entry in before or []:
                name, _, value = entry.partition("=")
                admin.execute(
                    sql.SQL("ALTER ROLE authenticated SET {} = {}").format(
                        sql.Identifier(name), sql.Literal(value)
                    )
                )


def test_high_latency_points_at_fetch_size_statistics_and_pushdown(site: dict[str, Any]) -> None:
    bed, ctx = site["bed"], site["ctx"]
    with supa(bed) as conn:
        options = conn.execute(
            "SELECT srvoptions FROM pg_foreign_server WHERE srvname = %s", (SERVER,)
        ).fetchone()[0]
        fetch = next(o.split("=", 1)[1] for o in options if o.startswith("fetch_size="))
        conn.execute("ALTER SERVER bluconecta_dw_server OPTIONS (SET fetch_size '100')")
        conn.execute(
            "CREATE FOREIGN TABLE bi.wizard_probe_unanalyzed (placa text) SERVER"
            " bluconecta_dw_server OPTIONS (schema_name 'public', table_name 'dim_frota')"
        )
    try:
        found = diagnose(ctx, symptom="high-latency")
        by_id = {d.id: d for d in found}
        assert by_id["fetch-size-small"].confidence == "confirmed"
        assert steps_of(by_id["fetch-size-small"]) == ["supabase.server"]
        assert by_id["fdw-no-statistics"].confidence == "confirmed"
        assert steps_of(by_id["fdw-no-statistics"]) == ["supabase.analyze"]
        pushdown = by_id["aggregate-not-pushed-down"]
        remote = [e for e in pushdown.evidence if e.key == "diagnose.evidence.remote_sql"]
        assert remote and "GROUP BY" not in remote[0].params["sql"].upper()
        assert any(e.key == "probes.rtt.ok" for e in pushdown.evidence)
    finally:
        with supa(bed) as conn:
            conn.execute(
                sql.SQL("ALTER SERVER bluconecta_dw_server OPTIONS (SET fetch_size {})").format(
                    sql.Literal(fetch)
                )
            )
            conn.execute("DROP FOREIGN TABLE bi.wizard_probe_unanalyzed")


def test_unqualified_names_in_a_remote_function(site: dict[str, Any]) -> None:
    bed, ctx = site["bed"], site["ctx"]
    with dw_db(bed) as conn:
        conn.execute(
            "CREATE FUNCTION public.wizard_unq() RETURNS bigint LANGUAGE sql"
            " AS 'SELECT count(*) FROM dim_frota'"
        )
        conn.execute("CREATE VIEW public.wizard_unq_v AS SELECT public.wizard_unq() AS n")
        conn.execute(f"GRANT SELECT ON public.wizard_unq_v TO {READER}")
    with supa(bed) as conn:
        conn.execute(
            "CREATE FOREIGN TABLE bi.wizard_unq_v (n bigint) SERVER bluconecta_dw_server"
            " OPTIONS (schema_name 'public', table_name 'wizard_unq_v')"
        )
    try:
        error = fdw_error(bed, "SELECT * FROM bi.wizard_unq_v")
        assert "remote SQL command" in str(error)
        top = first(diagnose(ctx, error=error))
        assert top.id == "unqualified-remote-names" and top.confidence == "confirmed"
        assert top.cause.params["schema"] == "public"
        assert steps_of(top) == [None]  # the operator fixes the DW's own view/function
    finally:
        with supa(bed) as conn:
            conn.execute("DROP FOREIGN TABLE bi.wizard_unq_v")
        with dw_db(bed) as conn:
            conn.execute("DROP VIEW public.wizard_unq_v")
            conn.execute("DROP FUNCTION public.wizard_unq()")


def test_collation_mismatch_on_import(site: dict[str, Any]) -> None:
    """A real IMPORT with import_collate 'true' of a column whose collation Supabase lacks (as a
    Windows collation name is absent on Linux)."""
    bed, ctx = site["bed"], site["ctx"]
    with dw_db(bed) as conn:
        conn.execute('CREATE COLLATION public."Portuguese_Brazil.1252" FROM "C"')
        conn.execute(
            'CREATE TABLE public.wizard_coll (nome text COLLATE public."Portuguese_Brazil.1252")'
        )
        conn.execute(f"GRANT SELECT ON public.wizard_coll TO {READER}")
    try:
        with supa(bed) as conn:
            conn.execute("CREATE SCHEMA wizard_coll_probe")
            try:
                with pytest.raises(psycopg.Error) as caught:
                    conn.execute(
                        "IMPORT FOREIGN SCHEMA public LIMIT TO (wizard_coll)"
                        " FROM SERVER bluconecta_dw_server INTO wizard_coll_probe"
                        " OPTIONS (import_collate 'true')"
                    )
            finally:
                conn.execute("DROP SCHEMA wizard_coll_probe CASCADE")
        top = first(diagnose(ctx, error=caught.value))
        assert top.id == "collation-mismatch" and top.confidence == "confirmed"
        assert steps_of(top) == ["supabase.import"]
    finally:
        with dw_db(bed) as conn:
            conn.execute("DROP TABLE public.wizard_coll")
            conn.execute('DROP COLLATION public."Portuguese_Brazil.1252"')


def test_reader_connection_limit(site: dict[str, Any]) -> None:
    bed, ctx = site["bed"], site["ctx"]
    with bed.dw.connect() as conn:
        limit = conn.execute(
            "SELECT rolconnlimit FROM pg_roles WHERE rolname = %s", (READER,)
        ).fetchone()[0]
        conn.execute(f"ALTER ROLE {READER} CONNECTION LIMIT 0")
    try:
        error = fdw_error(bed)
        assert "too many connections" in str(error)
        top = first(diagnose(ctx, error=error))
        assert top.id == "reader-connection-limit" and top.confidence == "confirmed"
        assert steps_of(top) == ["local.reader-role"]
    finally:
        with bed.dw.connect() as conn:
            conn.execute(
                sql.SQL("ALTER ROLE {} CONNECTION LIMIT {}").format(
                    sql.Identifier(READER), sql.Literal(limit)
                )
            )


def test_foreign_table_exposed_to_the_api(site: dict[str, Any]) -> None:
    bed, ctx = site["bed"], site["ctx"]
    assert diagnose(ctx, symptom="api-exposure")[0].id == "nothing-found"
    with supa(bed) as conn:
        conn.execute(
            "CREATE FOREIGN TABLE public.wizard_exposed (placa text) SERVER bluconecta_dw_server"
            " OPTIONS (schema_name 'public', table_name 'dim_frota')"
        )
        conn.execute("GRANT SELECT ON public.wizard_exposed TO authenticated")
    try:
        top = first(diagnose(ctx, symptom="api-exposure"))
        assert top.id == "foreign-table-in-api" and top.confidence == "confirmed"
        assert steps_of(top) == ["supabase.import"]
    finally:
        with supa(bed) as conn:
            conn.execute("DROP FOREIGN TABLE public.wizard_exposed")


# -- addresses and ports: loopback listeners stand in for the Internet -------------------------


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _with_public_port(config: Config, port: int) -> Config:
    exposure = config.exposure.model_copy(update={"public_port": port})
    return config.model_copy(update={"exposure": exposure})


def test_refused_port_while_the_dw_runs_is_a_wrong_port(site: dict[str, Any]) -> None:
    ctx = session_with(site, _with_public_port(site["config"], _closed_port()), "refused")
    try:
        top = first(diagnose(ctx, symptom="cannot-connect"))
        assert top.id == "wrong-port" and top.confidence == "confirmed"
        assert steps_of(top) == ["supabase.server"]
    finally:
        ctx.close()


def test_blackholed_port_is_a_firewall(site: dict[str, Any]) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = int(server.getsockname()[1])
    filler = socket.create_connection(("127.0.0.1", port), timeout=2)  # the only queue slot
    ctx = session_with(site, _with_public_port(site["config"], port), "blackhole")
    try:
        found = diagnose(ctx, symptom="cannot-connect")
        top = first(found)
        assert top.id == "firewall-or-blackhole" and top.confidence == "confirmed"
        assert steps_of(top)[0] == "local.firewall"
        assert "server-down" not in ids(found)
    finally:
        ctx.close()
        filler.close()
        server.close()


def test_listener_that_accepts_and_never_answers(site: dict[str, Any]) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)  # the kernel completes handshakes; nobody ever reads or writes
    port = int(server.getsockname()[1])
    ctx = session_with(site, _with_public_port(site["config"], port), "silent")
    try:
        top = first(diagnose(ctx, symptom="cannot-connect"))
        assert top.id == "firewall-or-blackhole" and top.confidence == "confirmed"
        assert any(e.key == "probes.tls.silent" for e in top.evidence)
    finally:
        ctx.close()
        server.close()


def test_carrier_grade_nat(site: dict[str, Any]) -> None:
    exposure = site["config"].exposure.model_copy(update={"public_host": "100.64.12.34"})
    ctx = session_with(site, site["config"].model_copy(update={"exposure": exposure}), "cgnat")
    try:
        top = first(diagnose(ctx, symptom="cgnat"))  # classification only: nothing is sent
        assert top.id == "cgnat" and top.confidence == "confirmed"
        assert steps_of(top) == ["prereq.exposure"]
    finally:
        ctx.close()


# -- recorded texts: what cannot be produced on this machine ---------------------------------


def test_ipv6_only_direct_host_recorded(site: dict[str, Any]) -> None:
    # Recorded libpq text: a non-loopback address cannot be reached (nor may be) from the tests.
    # The diagnosis comes from the text alone: no probe is sent to the host it names.
    text = (
        'connection failed: connection to server at "db.abcdefghijklmnopqrst.supabase.co"'
        " (2600:1f18:2e13:9d00:1234:5678:9abc:def0), port 5432 failed: Network is unreachable\n"
        "\tIs the server running on that host and accepting TCP/IP connections?"
    )
    top = first(diagnose(site["ctx"], error=text))
    assert top.id == "ipv6-unreachable" and top.confidence == "confirmed"
    assert steps_of(top) == [None]
    assert top.fixes[0].message.key == "diagnose.fix.session_pooler"


def test_transaction_pooler_recorded(site: dict[str, Any]) -> None:
    # Recorded: what psycopg reports through Supavisor's transaction mode (port 6543).
    text = (
        'prepared statement "_pg3_0" does not exist\n'
        'connection to server at "aws-0-sa-east-1.pooler.supabase.com", port 6543'
    )
    top = first(diagnose(site["ctx"], error=text))
    assert top.id == "transaction-pooler" and top.confidence == "confirmed"
    assert top.fixes[0].message.key == "diagnose.fix.session_pooler_port"


def test_fdw_library_after_an_upgrade_recorded(site: dict[str, Any]) -> None:
    # Recorded from a package upgrade under a running server (FIELD-GUIDE §5).
    text = (
        'could not load library "/usr/lib/postgresql/15/lib/postgres_fdw.so":'
        " /usr/lib/postgresql/15/lib/postgres_fdw.so: undefined symbol: pgstat_report_wait_end"
    )
    top = first(diagnose(site["ctx"], error=text))
    assert top.id == "fdw-library-mismatch" and top.confidence == "confirmed"
    assert top.fixes[0].message.key == "diagnose.fix.restart_supabase"


def test_partial_context_reports_skipped_probes(
    site: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FDW_WIZARD_SECRET_LOCAL_SUPERUSER")
    monkeypatch.delenv("FDW_WIZARD_SECRET_SUPABASE_DB")
    supabase = site["config"].supabase.model_copy(update={"host": ""})
    config = site["config"].model_copy(update={"supabase": supabase, "sandbox": False})
    ctx = session_with(site, config, "partial")
    try:
        for symptom in SYMPTOMS:
            found = diagnose(ctx, symptom=symptom.id)
            assert found, symptom.id
            json.dumps([d.to_json() for d in found])
        found = diagnose(ctx, symptom="password-failed")
        keys = {e.key for d in found for e in d.evidence}
        assert "probes.skipped" in keys
    finally:
        ctx.close()


# -- last: the server stopped (then started again) ---------------------------------------------


def test_server_stopped_is_server_down_not_firewall(site: dict[str, Any]) -> None:
    bed, ctx = site["bed"], site["ctx"]
    ctx.drop_local_conn()
    bed.dw.cluster.stop()
    try:
        error = fdw_error(bed)
        found = diagnose(ctx, error=error)
        top = first(found)
        assert top.id == "server-down" and top.confidence == "confirmed"
        assert "firewall-or-blackhole" not in ids(found)
        # The wizard's own login fails the same way and gets the same answer.
        from wizard.db import DbError

        with pytest.raises(DbError) as caught:
            ctx.local_conn()
        own = first(diagnose(ctx, error=caught.value, step_id="prereq.local-connection"))
        assert own.id == "server-down" and own.confidence == "confirmed"
        assert any(e.key == "probes.service.state" for e in own.evidence)
    finally:
        bed.dw.cluster.start()
        ctx.drop_local_conn()
