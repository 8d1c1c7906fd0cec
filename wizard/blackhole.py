"""A loopback TCP listener that accepts connections and never answers: an "offline DW" that
still completes the TCP handshake (a hung server, a half-open NAT), the case where a client
without ``connect_timeout`` waits forever.

Used by ``validate.offline`` when Supabase and the wizard share a loopback (the rehearsal
sandbox, the tests) and by the offline benchmarks. It only ever binds a loopback address.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
from types import TracebackType


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

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
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

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
