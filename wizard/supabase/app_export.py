"""The app's side of the FDW setup, generated in the app's language (TypeScript) for
``fdw-wizard export-app --out DIR`` (issue 11, deliverable 2):

* ``src/lib/biData.ts`` — ``readBi``: the BI view through the API (supabase-js), raced against a
  client-side timeout, the Storage JSON on any failure, and which source served and how old;
* ``src/hooks/useBIData.ts`` — the runbook's React hook (Phase 4.1) on top of it;
* ``src/lib/fdwFlags.ts`` — the sync flag (Phase 4.2);
* ``supabase/functions/fdw-health-check/index.ts`` — the Edge Function (Phase 5.1), for Deno.

Values come from the config (view schema, bucket, the server-side bound) and are written as
JSON literals; nothing secret is ever written (keys come from the app's own environment).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wizard.fileio import atomic_write_bytes

__all__ = ["FILES", "AppExport", "app_settings", "export_app"]

TEMPLATES = Path(__file__).resolve().parent / "app_templates"
FILES: dict[str, str] = {
    "src/lib/biData.ts": "biData.ts",
    "src/hooks/useBIData.ts": "useBIData.ts",
    "src/lib/fdwFlags.ts": "fdwFlags.ts",
    "supabase/functions/fdw-health-check/index.ts": "health.ts",
}
VIEW_FILES = (
    ("clientes_360", "v_clientes_360", "dim_clientes.json"),
    ("frota_360", "v_frota_360", "dim_frota.json"),
)
CLIENT_MARGIN_S = 1  # the app's timeout: the server-side bound + this (its error arrives first)


@dataclass
class AppExport:
    files: list[Path] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)


def app_settings(config: Any) -> dict[str, Any]:
    """What the generated code needs from the config."""
    from wizard.measure.latency import HOOK_LIMIT
    from wizard.steps.supabase_bound import bound_seconds

    views = [
        (getattr(config.views, key), name, file)
        for key, name, file in VIEW_FILES
        if getattr(config.views, key).enabled
    ]
    bound = bound_seconds(config)
    schema = views[0][0].schema_name if views else "public"
    return {
        "BOUND_S": bound,
        "TIMEOUT_MS": round((bound + CLIENT_MARGIN_S) * 1000),
        "SCHEMA": schema,
        "BUCKET": config.fallback.bucket,
        "LIMIT": HOOK_LIMIT,
        "FILES": {name: file for _view, name, file in views},
        "HEALTH_RELATION": views[0][1] if views else "v_clientes_360",
    }


def render(template: str, settings: dict[str, Any]) -> str:
    text = (TEMPLATES / template).read_text(encoding="utf-8")
    for name, value in settings.items():
        literal = f"{value:g}" if name == "BOUND_S" else json.dumps(value)
        text = text.replace(f"@@{name}@@", literal)
    if "@@" in text:
        raise ValueError(f"{template}: a placeholder was left unfilled")
    return text


def export_app(config: Any, out: Path) -> AppExport:
    """Write the app's files under ``out`` (existing files are replaced, with a backup)."""
    result = AppExport(settings=app_settings(config))
    for target, template in FILES.items():
        path = Path(out) / target
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, render(template, result.settings).encode("utf-8"))
        result.files.append(path)
    return result
