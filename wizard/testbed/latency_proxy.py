"""A loopback TCP proxy that adds a fixed delay each way: a WAN rehearsed on one machine.

``LatencyProxy("127.0.0.1", dw_port, rtt_ms=30).start()`` returns a loopback port; every byte
sent to it reaches the target ``rtt_ms / 2`` later, and every reply comes back ``rtt_ms / 2``
later, in order, so one request/response round trip costs at least ``rtt_ms``. Bandwidth is
not limited (the figures it produces are about latency, not throughput).

Used by the offline/latency rehearsals and the benchmarks (bench/). It listens on 127.0.0.1
only and only ever connects to its target, which must be a loopback address. Resources are
bounded: a maximum number of connections (extra ones are closed at once) and a bounded queue
per direction (a full queue stops reading, so TCP flow control pushes back on the sender).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from concurrent.futures import Future

from wizard.testbed.blackhole import is_loopback

__all__ = ["LatencyProxy"]

CHUNK_BYTES = 64 * 1024
QUEUE_CHUNKS = 64  # at most 4 MiB in flight per direction and connection
LISTEN_HOST = "127.0.0.1"


class LatencyProxy:
    """Forward 127.0.0.1:<port> to a loopback target, delaying each direction by rtt_ms / 2.

    ``rtt_ms`` may be changed while running; it applies to bytes read from then on (order is
    kept either way: each direction is a FIFO).
    """

    def __init__(
        self,
        target_host: str,
        target_port: int,
        rtt_ms: float,
        *,
        max_connections: int = 64,
        connect_timeout_s: float = 5.0,
    ) -> None:
        if not is_loopback(target_host):
            raise ValueError(f"the latency proxy forwards to loopback only, not {target_host!r}")
        if not 0 < target_port < 65536:
            raise ValueError(f"target port must be 1-65535, got {target_port}")
        if rtt_ms < 0:
            raise ValueError(f"rtt_ms must be >= 0, got {rtt_ms}")
        if max_connections < 1:
            raise ValueError(f"max_connections must be >= 1, got {max_connections}")
        self.target_host = target_host
        self.target_port = target_port
        self.rtt_ms = float(rtt_ms)
        self.max_connections = max_connections
        self.connect_timeout_s = connect_timeout_s
        self.port: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.connections_served = 0
        self.connections_refused = 0

    @property
    def active_connections(self) -> int:
        return len(self._tasks)

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> int:
        """Listen on 127.0.0.1 (a free port) in a background thread; return the port."""
        if self._thread is not None:
            raise RuntimeError("the latency proxy is already running")
        loop = asyncio.new_event_loop()
        ready: Future[int] = Future()

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._open(ready))
            except BaseException as exc:  # reported to start()'s caller
                if not ready.done():
                    ready.set_exception(exc)
                loop.close()
                return
            loop.run_forever()
            loop.run_until_complete(self._close())
            loop.close()

        self._loop = loop
        self._thread = threading.Thread(target=run, name="latency-proxy", daemon=True)
        self._thread.start()
        try:
            self.port = ready.result(timeout=10)
        except BaseException:
            self._thread.join(timeout=2)
            self._thread = self._loop = None
            raise
        return self.port

    def stop(self) -> None:
        """Close the listener and every proxied connection; wait for the thread to end."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        with contextlib.suppress(RuntimeError):  # loop already closed
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        self._loop = self._thread = None
        self.port = None

    def __enter__(self) -> LatencyProxy:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- inside the loop -------------------------------------------------------------------

    async def _open(self, ready: Future[int]) -> None:
        self._server = await asyncio.start_server(self._accept, LISTEN_HOST, 0)
        ready.set_result(int(self._server.sockets[0].getsockname()[1]))

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _accept(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        if len(self._tasks) >= self.max_connections:
            self.connections_refused += 1
            client_w.close()
            return
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections_served += 1
        try:
            await self._serve(client_r, client_w)
        except asyncio.CancelledError:
            pass  # stop(): end quietly (asyncio's stream callback would log a cancelled task)
        finally:
            self._tasks.discard(task)

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            target_r, target_w = await asyncio.wait_for(
                asyncio.open_connection(self.target_host, self.target_port),
                self.connect_timeout_s,
            )
        except (OSError, TimeoutError):
            client_w.close()  # the client sees the target as down: EOF at once
            return
        pumps = [
            asyncio.ensure_future(self._pump(client_r, target_w)),
            asyncio.ensure_future(self._pump(target_r, client_w)),
        ]
        try:
            # Both directions to their end; a reset on either side ends the whole connection.
            await asyncio.wait(pumps, return_when=asyncio.FIRST_EXCEPTION)
        finally:
            for pump in pumps:
                pump.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)
            for writer in (client_w, target_w):
                with contextlib.suppress(OSError, RuntimeError):
                    writer.close()

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Copy reader -> writer, each chunk released rtt/2 after it was read, in order."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue(maxsize=QUEUE_CHUNKS)

        async def receive() -> None:
            while True:
                data = await reader.read(CHUNK_BYTES)
                await queue.put((loop.time() + self.rtt_ms / 2000.0, data))
                if not data:
                    return

        async def send() -> None:
            while True:
                due, data = await queue.get()
                wait = due - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                if not data:
                    if writer.can_write_eof():
                        writer.write_eof()  # half-close: the other direction may still flow
                    return
                writer.write(data)
                await writer.drain()

        tasks = [asyncio.ensure_future(receive()), asyncio.ensure_future(send())]
        try:
            done, _pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
            for task in done:
                error = task.exception()
                if error is not None:
                    raise error
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
