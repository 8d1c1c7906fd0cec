"""The undo preview on a real applied site: before `rollback` asks, it names what each step's
undo removes — read from the step's own memory and its ``undo_says`` (the objects it created
whole), never from a table of step ids."""

from __future__ import annotations

from typing import Any

import pytest

from wizard.steps import all_steps
from wizard.undo_preview import preview

pytestmark = pytest.mark.clusters


def said(ctx: Any, step_id: str) -> list[str]:
    steps = all_steps()
    step = next(s for s in steps if s.id == step_id)
    return [m.render("en") for m in preview(ctx, step, steps).messages()]


def test_each_created_object_is_named_before_the_undo(applied_site: dict[str, Any]) -> None:
    ctx = applied_site["ctx"]
    server = ctx.config.fdw.server_name
    assert f"drop the foreign server {server}" in said(ctx, "supabase.server")
    assert "drop the view v_clientes_360" in said(ctx, "views.clientes-360")
    assert "drop the view v_frota_360" in said(ctx, "views.frota-360")
    mappings = said(ctx, "supabase.user-mappings")
    assert any("authenticated" in line and server in line for line in mappings), mappings
    # Whether the wizard created the extension is its memory's word: said only when it did.
    created = bool(ctx.recall("supabase.extension").get("created"))
    extension = said(ctx, "supabase.extension")
    assert any("postgres_fdw" in line for line in extension) is created, extension


def test_a_step_that_created_nothing_says_its_undo_keeps_it(applied_site: dict[str, Any]) -> None:
    ctx = applied_site["ctx"]
    memory = ctx.recall("supabase.server")
    ctx.remember("supabase.server", created=None)  # as on a site whose server pre-existed
    try:
        lines = said(ctx, "supabase.server")
        assert not any("drop the foreign server" in line for line in lines), lines
    finally:
        ctx.remember("supabase.server", created=memory.get("created"))
