"""A loopback TCP listener that accepts connections and never answers: an "offline DW" that
still completes the TCP handshake (a hung server, a half-open NAT), the case where a client
without ``connect_timeout`` waits forever.

Used by ``validate.offline`` when Supabase and the wizard share a loopback (the rehearsal
sandbox, the tests) and by the offline benchmarks, with :class:`RefusedPort` (a refused port)
and :class:`FreezableProxy` (a proxy to the DW that freezes or drops its connections: a warm
connection to a DW that hangs or goes down). They only ever bind loopback addresses. The third
outage, a link that is gone (no RST, no ACK), is :mod:`wizard.testbed.partition`.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
from typing import Any


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class Blackhole:
    """``with Blackhole() as hole: ... hole.port`` — accepted sockets are held, never read."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        if not is_loopback(host):
            raise ValueError(f"the blackhole listens on loopback only, not {host!r}")
        self.host = host
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._listener = socket.socket(family, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((host, port))
        self._listener.listen(64)
        self._listener.settimeout(0.1)  # so the accept loop notices stop() promptly
        self.port: int = int(self._listener.getsockname()[1])
        self._held: list[socket.socket] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._serve, name=f"blackhole-{self.port}", daemon=True
        )
        self._thread.start()

    @property
    def accepted(self) -> int:
        """Connections currently held open (accepted, never answered)."""
        with self._lock:
            return len(self._held)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _addr = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # listener closed
            with self._lock:
                self._held.append(conn)

    def release(self) -> None:
        """Close the held connections: a client stuck on one gets an error at once."""
        with self._lock:
            held, self._held = self._held, []
        for conn in held:
            with contextlib.suppress(OSError):
                conn.close()

    def stop(self) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        self._thread.join(timeout=2)
        self.release()

    def __enter__(self) -> Blackhole:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class RefusedPort:
    """A loopback port bound but not listening, held for the duration: connects are refused
    (RST), and no other process can start listening there meanwhile."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        if not is_loopback(host):
            raise ValueError(f"loopback only, not {host!r}")
        self.host = host
        self._sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        self._sock.bind((host, 0))
        self.port: int = int(self._sock.getsockname()[1])

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.close()

    def __enter__(self) -> RefusedPort:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class FreezableProxy:
    """A loopback listener that forwards to a loopback target (the DW) until told otherwise:

    * :meth:`freeze` — from then on nothing is forwarded either way and every socket stays
      open; new connections are accepted and held unanswered. To a client this is a hung DW
      whose kernel still ACKs (what SIGSTOP on the DW's processes does): a *warm* connection
      made through the proxy waits.
    * :meth:`refuse` — every connection is closed and the port stops listening: a DW that went
      down (service stopped), seen by a warm connection and by the next connection attempt.

    Used by ``validate.offline`` to measure warm sessions without touching the DW itself."""

    def __init__(self, target_host: str, target_port: int, host: str = "127.0.0.1") -> None:
        if not is_loopback(host) or not is_loopback(target_host):
            raise ValueError("the proxy listens on and forwards to loopback addresses only")
        self.host = host
        self.target = (target_host, target_port)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._listener: socket.socket | None = socket.socket(family, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((host, 0))
        self._listener.listen(64)
        self._listener.settimeout(0.1)
        self.port: int = int(self._listener.getsockname()[1])
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._frozen = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._holder: socket.socket | None = None
        self._start(self._serve, f"freezable-proxy-{self.port}")

    def _start(self, target: Any, name: str, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    @property
    def frozen(self) -> bool:
        return self._frozen.is_set()

    def _serve(self) -> None:
        while not self._stop.is_set():
            listener = self._listener
            if listener is None:
                return
            try:
                client, _addr = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self._sockets.append(client)
            if self._frozen.is_set():
                continue  # held, never answered
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                with contextlib.suppress(OSError):
                    client.close()
                continue
            with self._lock:
                self._sockets.append(upstream)
            self._start(self._pump, f"freezable-proxy-{self.port}-pump", client, upstream)

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        import select

        peers = {a: b, b: a}
        try:
            while not self._stop.is_set():
                if self._frozen.is_set():
                    self._stop.wait(0.1)  # read nothing: the kernel buffers, then pushes back
                    continue
                ready, _, _ = select.select([a, b], [], [], 0.1)
                for sock in ready:
                    data = sock.recv(65536)
                    if not data:
                        return
                    peers[sock].sendall(data)
        except (OSError, ValueError):
            return
        finally:
            if not self._frozen.is_set():
                for sock in (a, b):
                    with contextlib.suppress(OSError):
                        sock.close()

    def freeze(self) -> None:
        self._frozen.set()

    def release(self) -> None:
        """Close every socket: a client waiting on one gets an error at once."""
        with self._lock:
            held, self._sockets = self._sockets, []
        for sock in held:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()

    def refuse(self) -> None:
        """Stop listening and drop every connection: the port now refuses."""
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.close()
            # An accept() in progress keeps the listening socket alive until it returns (0.1 s).
            if self._threads and self._threads[0] is not threading.current_thread():
                self._threads[0].join(timeout=2)
            # Keep the port bound, not listening, so nothing else takes it meanwhile.
            with contextlib.suppress(OSError):
                holder = socket.socket(listener.family, socket.SOCK_STREAM)
                holder.bind((self.host, self.port))
                self._holder = holder
        self.release()

    def stop(self) -> None:
        self._stop.set()
        self.refuse()
        for thread in self._threads:
            thread.join(timeout=2)
        holder, self._holder = self._holder, None
        if holder is not None:
            with contextlib.suppress(OSError):
                holder.close()

    def __enter__(self) -> FreezableProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
