"""The REST API's pool of long-lived connections (PostgREST's), one lease per request."""

from __future__ import annotations

import contextlib
import threading
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg


class Lease:
    """One pooled connection for one request; back to the pool (or closed when broken)."""

    def __init__(self, pool: Pool, conn: psycopg.Connection[Any]) -> None:
        self.pool = pool
        self.conn = conn
        self.broken = False

    def __enter__(self) -> psycopg.Connection[Any]:
        return self.conn

    def __exit__(self, *exc: object) -> None:
        self.pool.release(self.conn, broken=self.broken or exc[0] is not None)

    def rollback(self) -> None:
        try:
            self.conn.execute("ROLLBACK")
        except Exception:
            self.broken = True


class Pool:
    """Long-lived connections, as PostgREST keeps them (so postgres_fdw's cached connection to
    the DW is warm, as in production). Last in, first out: a request after another one gets the
    same backend. A request waits up to ``timeout_s`` for a free connection (PostgREST's
    db-pool-acquisition-timeout, answered 504)."""

    def __init__(self, connect: Any, size: int, timeout_s: float) -> None:
        self._connect = connect
        self._size = max(1, size)
        self._timeout = timeout_s
        self._idle: list[psycopg.Connection[Any]] = []
        self._open = 0
        self._cond = threading.Condition()
        self._closed = False

    def acquire(self) -> Lease:
        deadline = time.monotonic() + self._timeout
        with self._cond:
            while True:
                if self._closed:
                    raise TimeoutError("pool closed")
                if self._idle:
                    return Lease(self, self._idle.pop())
                if self._open < self._size:
                    self._open += 1
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("no free connection")
                self._cond.wait(left)
        try:
            return Lease(self, self._connect())
        except BaseException:
            with self._cond:
                self._open -= 1
                self._cond.notify()
            raise

    def release(self, conn: psycopg.Connection[Any], *, broken: bool = False) -> None:
        from psycopg.pq import TransactionStatus

        if not broken and (conn.closed or conn.info.transaction_status != TransactionStatus.IDLE):
            broken = True
        with self._cond:
            if broken or self._closed:
                self._open -= 1
            else:
                self._idle.append(conn)
            self._cond.notify()
        if broken or self._closed:
            with contextlib.suppress(Exception):
                conn.close()

    @property
    def size(self) -> int:
        with self._cond:
            return self._open

    def close(self) -> None:
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            self._open -= len(idle)
            self._cond.notify_all()
        for conn in idle:
            with contextlib.suppress(Exception):
                conn.close()
