"""Root test configuration: keep every test away from the real user's files and keyring.

Runs before any test module is imported: state and audit files go to a temp data dir, and the
default keyring backend is keyring's `fail` backend, so no test can read or write the
operator's real keyring by accident. Tests that need a backend set one explicitly; the Secret
Service test (`-m keyring_service`, run by `.ci/with-secret-service`) keeps the real one.
"""

from __future__ import annotations

import os
import shutil
import tempfile

_BASE: list[str] = []  # the session's temp dir, removed when the session ends


def pytest_configure(config: object) -> None:
    base = tempfile.mkdtemp(prefix="fdw-wizard-env-")
    _BASE.append(base)
    os.environ["FDW_WIZARD_DATA_DIR"] = os.path.join(base, "data")
    os.environ["FDW_WIZARD_LOCK_DIR"] = os.path.join(base, "locks")
    os.environ.setdefault("XDG_DATA_HOME", os.path.join(base, "xdg-data"))
    os.environ.setdefault("XDG_CONFIG_HOME", os.path.join(base, "xdg-config"))
    if os.environ.get("FDW_WIZARD_TEST_SECRET_SERVICE") != "1":
        os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    for name in list(os.environ):
        if name.startswith("FDW_WIZARD_SECRET_"):
            del os.environ[name]  # an operator's automation secrets must not leak into tests
    os.environ.pop("FDW_WIZARD_LANG", None)


def pytest_unconfigure(config: object) -> None:
    while _BASE:
        shutil.rmtree(_BASE.pop(), ignore_errors=True)
