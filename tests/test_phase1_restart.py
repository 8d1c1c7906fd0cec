"""local.reload for real: a restart onto a changed port, and the rollback when a start fails."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.conftest import sandbox_config_for
from wizard.engine import Status
from wizard.session import open_session
from wizard.testbed.bed import TestBed
from wizard.testbed.pgcluster import free_loopback_port

pytestmark = pytest.mark.clusters


def session_for(bed: TestBed, tmp_path: Path, listen_port: int) -> Any:
    config = sandbox_config_for(bed)
    config.exposure.listen_port = listen_port
    return open_session(config, tmp_path / "fdw-wizard.yaml")


def accepts(port: int, bed: TestBed) -> bool:
    try:
        info = bed.dw.cluster.conninfo("postgres", bed.passwords["dw-superuser"], "bluconecta_dw")
        info["port"] = port
        info["connect_timeout"] = 3
        with psycopg.connect(**info):
            return True
    except psycopg.OperationalError:
        return False


def test_restart_onto_a_changed_port_and_back(
    private_testbed: TestBed, bed_secrets: Callable[[TestBed], None], tmp_path: Path
) -> None:
    bed = private_testbed
    bed_secrets(bed)
    old_port = bed.dw.port
    new_port = free_loopback_port()
    ctx, runner = session_for(bed, tmp_path, new_port)
    try:
        report = runner.apply(["local.listen", "local.reload"], confirm=lambda s, p: True)
        assert [o.status for o in report.outcomes] == [Status.DONE, Status.DONE], [
            o.message.render("en") for o in report.outcomes
        ]
        assert accepts(new_port, bed) and not accepts(old_port, bed)
        # The wizard keeps working: it finds the server on its new port.
        assert runner.status(["local.reload"]).outcomes[-1].status is Status.DONE

        undo = runner.undo(["local.listen", "local.reload"], confirm=lambda s, p: True)
        assert [o.step_id for o in undo.outcomes] == ["local.listen", "local.reload"]
        assert all(o.status is not Status.FAILED for o in undo.outcomes), [
            o.message.render("en") for o in undo.outcomes
        ]
        assert accepts(old_port, bed) and not accepts(new_port, bed)
    finally:
        ctx.close()


def test_a_start_failure_restores_the_files_and_the_server(
    private_testbed: TestBed, bed_secrets: Callable[[TestBed], None], tmp_path: Path
) -> None:
    bed = private_testbed
    bed_secrets(bed)
    conf_before = bed.dw.cluster.conf_path.read_bytes()
    # A port that `postgres -C` accepts but the server cannot bind: someone else holds it.
    blocker = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    blocker.bind(("127.0.0.1", 0))
    blocker.listen(1)
    taken = blocker.getsockname()[1]
    ctx, runner = session_for(bed, tmp_path, taken)
    try:
        report = runner.apply(["local.listen", "local.reload"], confirm=lambda s, p: True)
        listen, reload = report.outcomes
        assert listen.status is Status.DONE
        assert reload.status is Status.FAILED
        text = reload.message.render("en")
        assert "did not come back" in text
        assert "could not" in text.lower()  # the server's own words (bind / create socket)
        assert reload.fix is not None and "postgresql.conf" in reload.fix.render("en")
        assert bed.dw.cluster.conf_path.read_bytes() == conf_before
        assert accepts(bed.dw.port, bed)
    finally:
        blocker.close()
        ctx.close()
