"""Probes against real loopback sockets and the shared test bed's real clusters (read-only)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from wizard.measure import probes
from wizard.testbed.bed import TestBed


def closed_port() -> int:
    """A loopback port with nothing listening (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def blackhole() -> Iterator[int]:
    """A loopback port whose SYNs are dropped: a listener with backlog 0 and its one queue slot
    taken, never accepted. Linux then ignores further SYNs, exactly as a dropping firewall."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = int(server.getsockname()[1])
    filler = socket.create_connection(("127.0.0.1", port), timeout=2)
    try:
        yield port
    finally:
        filler.close()
        server.close()


@pytest.fixture
def silent_listener() -> Iterator[int]:
    """A loopback listener that accepts every connection and never sends a byte."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    port = int(server.getsockname()[1])
    held: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            held.append(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        stop.set()
        thread.join(2)
        for conn in held:
            conn.close()
        server.close()


def test_refused_timeout_and_silent_are_told_apart(blackhole: int, silent_listener: int) -> None:
    refused = probes.tcp_connect("127.0.0.1", closed_port(), timeout=1.0)
    assert refused.outcome == probes.REFUSED
    dropped = probes.tcp_connect("127.0.0.1", blackhole, timeout=1.0)
    assert dropped.outcome == probes.TIMEOUT
    assert dropped.message.key == "probes.tcp.timeout"
    accepted = probes.tcp_connect("127.0.0.1", silent_listener, timeout=1.0)
    assert accepted.outcome == probes.OPEN
    # TCP works, but nothing speaks PostgreSQL behind it.
    hello = probes.ssl_request("127.0.0.1", silent_listener, timeout=1.0)
    assert hello.outcome == "silent"
    assert probes.server_answers("127.0.0.1", silent_listener, timeout=1.0).outcome == "down"
    assert probes.ssl_request("127.0.0.1", closed_port(), timeout=1.0).outcome == probes.REFUSED


def test_ssl_request_and_server_answers_on_a_real_server(testbed: TestBed) -> None:
    # The shared DW is as a fresh install leaves it: TLS off.
    hello = probes.ssl_request("127.0.0.1", testbed.dw.port)
    assert hello.outcome == "no-tls"
    assert probes.server_answers("127.0.0.1", testbed.dw.port).outcome == "up"


def test_login_probe_classifies_the_failure(testbed: TestBed) -> None:
    good = probes.login(
        host="127.0.0.1",
        port=testbed.dw.port,
        dbname=testbed.dw.dbname,
        user="postgres",
        password=testbed.dw.password("postgres"),
    )
    assert good.outcome == "ok"
    bad = probes.login(
        host="127.0.0.1",
        port=testbed.dw.port,
        dbname=testbed.dw.dbname,
        user="postgres",
        password="wrong-password-for-the-probe",
    )
    assert bad.outcome == "db.err.auth_failed"
    assert "wrong-password-for-the-probe" not in str(bad.to_json())


def test_password_storage_reads_only_the_kind(testbed: TestBed) -> None:
    with testbed.dw.connect() as conn:
        stored = probes.password_storage(conn, "postgres")
        assert stored.outcome == "scram"
        assert "SCRAM-SHA-256$" not in str(stored.to_json())
        assert probes.password_storage(conn, "no_such_role_here").outcome == "no-role"


def test_hba_simulation(tmp_path: Path) -> None:
    hba = tmp_path / "pg_hba.conf"
    hba.write_text(
        "hostssl bluconecta_dw supabase_fdw_reader 127.0.0.1/32 scram-sha-256\n"
        "hostnossl bluconecta_dw supabase_fdw_reader all reject\n",
        encoding="utf-8",
    )
    ssl = probes.hba_first_match(hba, "ssl", "bluconecta_dw", "supabase_fdw_reader", "127.0.0.1")
    assert ssl.outcome == "match" and ssl.data["method"] == "scram-sha-256"
    plain = probes.hba_first_match(
        hba, "nossl", "bluconecta_dw", "supabase_fdw_reader", "127.0.0.1"
    )
    assert plain.outcome == "reject" and plain.data["line"] == 2
    other = probes.hba_first_match(hba, "ssl", "bluconecta_dw", "someone_else", "127.0.0.1")
    assert other.outcome == "none"
    missing = probes.hba_first_match(tmp_path / "nope.conf", "ssl", "d", "u", "127.0.0.1")
    assert missing.skipped and missing.message.key == "probes.skipped"


def test_address_and_dns_without_leaving_the_machine() -> None:
    # IP literals are classified without any lookup.
    assert probes.address_kind("100.64.1.2").outcome == "cgnat"
    assert probes.address_kind("192.168.0.10").outcome == "private"
    assert probes.address_kind("127.0.0.1").outcome == "loopback"
    assert probes.resolve("127.0.0.1").outcome == "ok"
    localhost = probes.resolve("localhost")  # /etc/hosts (or the OS's own answer)
    assert localhost.outcome == "ok" and localhost.data["addresses"]
    assert probes.resolve("").skipped


def test_round_trip_is_measured_on_loopback(testbed: TestBed) -> None:
    rtt = probes.tcp_round_trip_ms("127.0.0.1", testbed.dw.port, samples=3)
    assert rtt.outcome == "ok" and len(rtt.data["samples_ms"]) == 3
