"""The checklist: every Step the product has, in the runbook's order.

To add a step: write its class in the module of its phase, add it to ``all_steps`` below,
add ``step.<id>.title`` / ``step.<id>.help`` to both i18n catalogs, and test it against the
test bed clusters (see CONTRIBUTING.md).
"""

from __future__ import annotations

from wizard.engine import Step

PHASES: tuple[str, ...] = ("prereq", "local", "supabase", "views", "app", "validate", "cleanup")

# What `apply` runs when no --only is given: everything but cleanup, which deletes data and has
# a command of its own (`fdw-wizard cleanup`: backup, typed word, the monitoring gate).
DEFAULT_APPLY_PHASES: tuple[str, ...] = tuple(p for p in PHASES if p != "cleanup")


def all_steps() -> list[Step]:
    from wizard.steps import (
        aggregates,
        app,
        app_storage,
        cleanup,
        document,
        local_conf,
        local_hba,
        local_role,
        local_service,
        manual,
        prereq,
        supabase_bound,
        supabase_checks,
        supabase_fdw,
        supabase_import,
        validate,
        views,
    )

    return [
        prereq.LocalConnection(),
        prereq.Elevation(),
        prereq.SupabaseConnection(),
        prereq.Exposure(),
        local_conf.Listen(),
        local_conf.Tls(),
        local_hba.Hba(),
        local_service.Reload(),
        local_role.ReaderRole(),
        local_service.Firewall(),
        supabase_fdw.Extension(),
        supabase_fdw.Server(),
        supabase_fdw.UserMappings(),
        supabase_import.Import(),
        supabase_import.Analyze(),
        supabase_import.Grants(),
        aggregates.Aggregates(),
        supabase_bound.ReadBound(),
        supabase_checks.TestQueries(),
        views.Clientes360(),
        views.Frota360(),
        app.RestCheck(),
        app.Fallback(),
        app_storage.FallbackRead(),
        app.HealthFunction(),
        manual.Hooks(),
        manual.SyncFlag(),
        manual.Etl(),
        manual.Dashboards(),
        validate.Latency(),
        validate.Offline(),
        validate.Monitor(),
        cleanup.Backup(),
        cleanup.Dedupe(),
        cleanup.Report(),
        document.Document(),
    ]
