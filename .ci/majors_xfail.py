"""pytest plugin for CI's second cluster run only — DW on PostgreSQL 16, Supabase-like on 17
(`.ci/run` loads it with ``-p majors_xfail``; the main run on 15 never does).

On 16 and 17, postgres_fdw does not honour ``connect_timeout`` against a DW that accepts TCP and
never answers (FIELD-GUIDE §5): the offline tests fail there until issue 11 (the offline
behaviour) lands. They are expected failures here, with that reason, and not strict: once issue
11 makes them pass they show as XPASS and this list should shrink.
"""

from __future__ import annotations

import pytest

ISSUE_11 = (
    "issue 11: on PostgreSQL 16/17 postgres_fdw ignores connect_timeout against a hung DW "
    "(FIELD-GUIDE §5), so validate.offline exceeds its bound; handled under issue 11"
)

XFAIL = {
    "tests/test_validate.py::test_offline_fails_in_time_against_a_blackhole": ISSUE_11,
    "tests/test_validate.py::test_offline_without_connect_timeout_hangs_and_is_cut": ISSUE_11,
    "tests/test_cli_sandbox.py::test_demo_status_stop_round_trip": (
        ISSUE_11 + " (the sandbox's `apply --yes` runs validate.offline)"
    ),
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        reason = XFAIL.get(item.nodeid)
        if reason is not None:
            item.add_marker(pytest.mark.xfail(reason=reason, strict=False))
