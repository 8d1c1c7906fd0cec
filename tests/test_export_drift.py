"""export-sql cannot drift from the steps: on fresh clusters, every statement each step's plan
really ran equals, in order, what the export renders for that step with the same config — the
live facts (the tables' owners, the fetch_size the step chose, collations, the placeholders the
steps put where the password goes) given from the test bed instead of computed by psql."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from psycopg import sql

from wizard.engine import SqlAction
from wizard.export.facts import Facts, offline_facts
from wizard.export.sections import Section, Statement, local_sections, supabase_sections, text

pytestmark = pytest.mark.clusters

COVERED = {
    "local.reader-role",
    "supabase.extension",
    "supabase.server",
    "supabase.user-mappings",
    "supabase.import",
    "supabase.analyze",
    "supabase.grants",
    "supabase.aggregates",
    "supabase.read-bound",
    "views.clientes-360",
    "views.frota-360",
}


@pytest.fixture(scope="module")
def site(applied_site: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """The wizard's steps applied to the module's fresh test bed: (ctx, plans by step)."""
    from wizard.steps.supabase_fdw import Extension

    ctx = applied_site["ctx"]
    plans = {o.step_id: o.plan for o in applied_site["setup"].outcomes if o.plan is not None}
    # The stand-in, like some Supabase projects, has postgres_fdw already: the step was done
    # and planned nothing. Its plan does not depend on that (IF NOT EXISTS).
    plans.setdefault(Extension.id, Extension().plan(ctx))
    return ctx, plans


def live_facts(ctx: Any) -> Facts:
    """The facts as the test bed has them, read with the steps' own functions."""
    from wizard.sql_text import VERIFIER_PLACEHOLDER
    from wizard.steps import aggregates
    from wizard.steps.local_role import table_owners
    from wizard.steps.supabase_bound import exposed_schemas
    from wizard.steps.supabase_fdw import PASSWORD_PLACEHOLDER, current_server
    from wizard.steps.supabase_import import Import

    cfg = ctx.config
    server = current_server(ctx.supabase_conn(), cfg.fdw.server_name)
    assert server is not None
    return Facts(
        verifier=sql.Literal(VERIFIER_PLACEHOLDER),
        mapping_password=sql.Literal(PASSWORD_PLACEHOLDER),
        owners=table_owners(ctx.local_conn(), cfg.local.source_schema, list(cfg.fdw.tables)),
        agg_owner=aggregates._owner(ctx),
        fetch_size=server[1]["fetch_size"],
        collate="false" if Import()._collations_differ(ctx) else "true",
        exposed=tuple(exposed_schemas(ctx.supabase_conn())),
        hook_free=True,
    )


def exported(sections: list[Section]) -> dict[str, list[str]]:
    return {
        s.step_id: [text(i.sql) for i in s.items if isinstance(i, Statement) and i.planned]
        for s in sections
    }


def ran(plan: Any, target: str) -> list[str]:
    return [
        text(sql.SQL(a.sql))
        for a in plan.actions
        if isinstance(a, SqlAction) and a.target == target
    ]


def test_the_scripts_hold_exactly_what_the_steps_ran(site: Any) -> None:
    ctx, plans = site
    facts = live_facts(ctx)
    scripts = {
        "local": exported(local_sections(ctx.config, facts)),
        "supabase": exported(supabase_sections(ctx.config, facts)),
    }
    covered = set(scripts["local"]) | set(scripts["supabase"])
    assert covered == COVERED
    for target, sections in scripts.items():
        for step_id, statements in sections.items():
            assert step_id in plans, f"{step_id}: the step planned nothing on a fresh site"
            assert statements == ran(plans[step_id], target), f"{step_id} ({target})"
    # And every step with SQL in its plan is in the scripts (none left to the wizard).
    with_sql = {s for s, p in plans.items() if any(isinstance(a, SqlAction) for a in p.actions)}
    assert with_sql == COVERED


def test_offline_facts_differ_only_where_a_server_must_answer(site: Any) -> None:
    """The export's own answers: configured values stay values; what only a server knows
    becomes psql's to compute (per-owner \\gexec, \\gset), the password a psql variable."""
    ctx, _plans = site
    offline = offline_facts(ctx.config, None)
    assert offline.owners is None and str(offline.agg_owner) == ':"fdw_wizard_agg_owner"'
    assert str(offline.verifier) == ":'reader_password'"
    local = local_sections(ctx.config, offline)
    ends = [i.ends for s in local for i in s.items if isinstance(i, Statement) and not i.planned]
    assert ends == [" \\gexec", " \\gset"]
    fixed = ctx.config.model_copy(deep=True)
    fixed.reader.tables_owner = "etl_bluconecta"
    facts = offline_facts(fixed, "s3cret")
    assert facts.owners == ["etl_bluconecta"] and facts.agg_owner == "etl_bluconecta"
    assert facts.verifier.as_string(None) == "'s3cret'"


def test_the_script_speaks_the_operators_language(site: Any, tmp_path: Path) -> None:
    """Comments from the catalogs (pt-BR here), none of the templates' English ones."""
    from wizard.export import export_scripts

    ctx, _plans = site
    export_scripts(ctx, tmp_path, lang="pt-BR")
    script = (tmp_path / "setup-fdw-supabase.sql").read_text()
    comments = [line for line in script.splitlines() if line.startswith("--")]
    assert "-- == Extensão postgres_fdw no Supabase (supabase.extension)" in comments
    assert "Runbook" not in script and "PostgREST calls it" not in script
    export_scripts(ctx, tmp_path, lang="en")
    assert "-- == Extensão" not in (tmp_path / "setup-fdw-supabase.sql").read_text()
