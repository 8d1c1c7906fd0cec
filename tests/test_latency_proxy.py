"""The latency proxy for real: a PostgreSQL session through it (the shared test bed's DW), a
loopback echo server for byte order, and the added delay, which is the feature."""

from __future__ import annotations

import os
import socket
import statistics
import threading
import time
from collections.abc import Iterator

import psycopg
import pytest

from wizard.testbed.bed import TestBed
from wizard.testbed.latency_proxy import LatencyProxy

RTT_MS = 60.0


@pytest.fixture
def echo_port() -> Iterator[int]:
    """A loopback echo server (one thread per connection)."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve(conn: socket.socket) -> None:
        with conn:
            while chunk := conn.recv(65536):
                conn.sendall(chunk)

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield int(listener.getsockname()[1])
    stop.set()
    listener.close()
    thread.join(timeout=2)


def _dw_conn(bed: TestBed, port: int) -> psycopg.Connection[tuple[object, ...]]:
    info = bed.dw.conninfo()
    info["port"] = port
    return psycopg.connect(autocommit=True, **info)


def _round_trip_s(conn: psycopg.Connection[tuple[object, ...]]) -> float:
    samples = []
    for _ in range(5):
        started = time.perf_counter()
        conn.execute("SELECT 1").fetchone()
        samples.append(time.perf_counter() - started)
    return min(samples)


def test_a_postgresql_session_through_the_proxy_sees_the_same_rows(testbed: TestBed) -> None:
    query = "SELECT * FROM public.dim_clientes ORDER BY codigo_cliente"
    with _dw_conn(testbed, testbed.dw.port) as direct:
        expected = direct.execute(query).fetchall()
    with LatencyProxy("127.0.0.1", testbed.dw.port, rtt_ms=5) as proxy:
        assert proxy.port is not None
        with _dw_conn(testbed, proxy.port) as through:
            assert through.execute("SELECT current_user").fetchone() == ("postgres",)
            assert through.execute(query).fetchall() == expected
    assert len(expected) > 100


def test_every_round_trip_costs_at_least_the_configured_rtt(testbed: TestBed) -> None:
    with _dw_conn(testbed, testbed.dw.port) as direct:
        bare = _round_trip_s(direct)
    with LatencyProxy("127.0.0.1", testbed.dw.port, rtt_ms=RTT_MS) as proxy:
        assert proxy.port is not None
        with _dw_conn(testbed, proxy.port) as through:
            delayed = _round_trip_s(through)
    assert bare < RTT_MS / 1000  # sanity: loopback itself is not what we measure
    assert delayed >= RTT_MS / 1000


def test_bytes_arrive_unchanged_and_in_order(echo_port: int) -> None:
    payload = os.urandom(3 * 1024 * 1024)  # more than one queue's worth: flow control works
    with LatencyProxy("127.0.0.1", echo_port, rtt_ms=10) as proxy:
        assert proxy.port is not None
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=20) as sock:
            received = bytearray()
            sender = threading.Thread(target=sock.sendall, args=(payload,), daemon=True)
            sender.start()
            while len(received) < len(payload):
                chunk = sock.recv(65536)
                assert chunk, "connection closed early"
                received += chunk
            sender.join(timeout=10)
    assert bytes(received) == payload


def test_rtt_change_applies_while_running(echo_port: int) -> None:
    with LatencyProxy("127.0.0.1", echo_port, rtt_ms=0) as proxy:
        assert proxy.port is not None
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as sock:
            proxy.rtt_ms = 40
            times = []
            for _ in range(3):
                started = time.perf_counter()
                sock.sendall(b"x")
                assert sock.recv(16) == b"x"
                times.append(time.perf_counter() - started)
    assert statistics.median(times) >= 0.040


def test_listens_on_loopback_only_and_refuses_other_targets() -> None:
    with pytest.raises(ValueError, match="loopback"):
        LatencyProxy("192.0.2.1", 5432, rtt_ms=10)
    with pytest.raises(ValueError, match="loopback"):
        LatencyProxy("example.com", 5432, rtt_ms=10)
    with pytest.raises(ValueError):
        LatencyProxy("127.0.0.1", 5432, rtt_ms=-1)


def test_bound_address_and_stop_closes_the_port(echo_port: int) -> None:
    proxy = LatencyProxy("127.0.0.1", echo_port, rtt_ms=0)
    port = proxy.start()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            assert sock.getpeername()[0] == "127.0.0.1"
    finally:
        proxy.stop()
    assert not _served(port)


def _served(port: int) -> bool:
    """Does the proxy still serve 127.0.0.1:port (a connect through it reaches the echo
    server)? A refused connect says no. So does a connect that lands on ITSELF (the freed port
    is in the ephemeral range: TCP simultaneous open), and so does another program that bound
    the freed port meanwhile (a server started by a parallel process): it does not echo."""
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    except ConnectionRefusedError:
        return False
    with sock:
        if sock.getsockname() == sock.getpeername():
            return False
        sock.settimeout(2)
        try:
            sock.sendall(b"still-proxied?")
            return sock.recv(64) == b"still-proxied?"
        except OSError:
            return False


def test_a_target_that_is_down_gives_eof_at_once() -> None:
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))  # bound, not listening: connects are refused
    try:
        with LatencyProxy("127.0.0.1", hole.getsockname()[1], rtt_ms=0) as proxy:
            assert proxy.port is not None
            with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as sock:
                sock.settimeout(5)
                assert sock.recv(16) == b""
    finally:
        hole.close()


def test_connections_beyond_the_limit_are_closed(echo_port: int) -> None:
    with LatencyProxy("127.0.0.1", echo_port, rtt_ms=0, max_connections=2) as proxy:
        assert proxy.port is not None
        kept = [socket.create_connection(("127.0.0.1", proxy.port), timeout=5) for _ in range(2)]
        try:
            for sock in kept:  # both served
                sock.sendall(b"ok")
                assert sock.recv(16) == b"ok"
            with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as extra:
                extra.settimeout(5)
                assert extra.recv(16) == b""
            assert proxy.connections_refused == 1
        finally:
            for sock in kept:
                sock.close()
