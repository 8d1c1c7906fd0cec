"""The document's fixed names, where it goes, and whether the copy there is current."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

MARKER = "<!-- fdw-wizard:as-built -->"
DEFAULT_NAME = "arquitetura-fdw.md"
STEP_ID = "cleanup.document"
API_ROLES = ("anon", "authenticated", "service_role")
READER_ROLES = ("postgres", "anon", "authenticated", "service_role")
FIREWALL_RULE = "fdw-wizard-postgresql"  # wizard.dwhost.platform.firewall.RULE_NAME
VIEW_KEYS = (("clientes_360", "v_clientes_360"), ("frota_360", "v_frota_360"))

# What undoes each part, in the order a rollback would run: (part key, --only ids, state ids).
UNDO_PARTS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("views", "views.clientes-360,views.frota-360", ("views.clientes-360", "views.frota-360")),
    ("read_bound", "supabase.read-bound", ("supabase.read-bound",)),
    ("foreign_tables", "views,supabase.import", ("supabase.import",)),
    ("mappings", "supabase.user-mappings", ("supabase.user-mappings",)),
    (
        "server",
        "views,supabase.read-bound,supabase.import,supabase.user-mappings,supabase.server",
        ("supabase.server",),
    ),
    ("extension", "views,supabase", ("supabase.extension",)),
    ("reader", "local.reader-role", ("local.reader-role",)),
    ("firewall", "local.firewall", ("local.firewall",)),
    ("hba", "local.hba,local.reload", ("local.hba",)),
    ("tls", "local.tls,local.reload", ("local.tls",)),
    ("listen", "local.listen,local.reload", ("local.listen",)),
    ("dw_side", "local", ("local.listen", "local.tls", "local.hba", "local.reader-role")),
    ("everything", "", ()),
    ("document", STEP_ID, (STEP_ID,)),
)


def document_path(config: Any, config_path: Path) -> Path:
    """``cleanup.document_path`` (default ``arquitetura-fdw.md``), relative to the config's
    folder."""
    section = getattr(config, "cleanup", None)
    raw = str(getattr(section, "document_path", "") or DEFAULT_NAME)
    path = Path(raw).expanduser()
    if not path.is_absolute():
        path = Path(config_path).resolve().parent / path
    return path


def last_change(steps: dict[str, Any]) -> datetime | None:
    """The newest ``changed_at`` the state recorded for any step but this one."""
    newest: datetime | None = None
    for step_id, entry in steps.items():
        if step_id == STEP_ID or not isinstance(entry, dict):
            continue
        try:
            at = datetime.fromisoformat(str(entry.get("changed_at")))
        except ValueError:
            continue
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        if newest is None or at > newest:
            newest = at
    return newest


def written_at(path: Path) -> datetime | None:
    """When the document at ``path`` was written (None: absent, or not ours)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(len(MARKER) + 8)
        stamp = path.stat().st_mtime
    except OSError:
        return None
    if not head.lstrip(b"\xef\xbb\xbf").startswith(MARKER.encode("ascii")):
        return None
    return datetime.fromtimestamp(stamp, UTC)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
