"""Where the wizard keeps its own files (state, audit log, backups index)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import platformdirs

APP_NAME = "fdw-wizard"
DEFAULT_CONFIG_NAME = "fdw-wizard.yaml"


def data_dir() -> Path:
    """User data dir (platformdirs), overridable with FDW_WIZARD_DATA_DIR (tests, sandbox)."""
    override = os.environ.get("FDW_WIZARD_DATA_DIR")
    if override:
        return Path(override)
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def config_key(config_path: Path) -> str:
    """A stable, readable name for one config file: '<stem>-<hash of its absolute path>'."""
    absolute = str(Path(config_path).resolve())
    digest = hashlib.sha256(absolute.encode("utf-8")).hexdigest()[:10]
    stem = "".join(c if c.isalnum() or c in "-_" else "_" for c in Path(config_path).stem)
    return f"{stem}-{digest}"


def state_file(config_path: Path) -> Path:
    return data_dir() / "state" / f"{config_key(config_path)}.json"


def audit_file() -> Path:
    return data_dir() / "audit.jsonl"
