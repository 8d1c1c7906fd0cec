"""Between the engine (worker threads) and the UI: batched events and the session.

The engine calls its sink from the worker thread for every event. Posting one UI message per
event is what makes a TUI crawl (FIELD-GUIDE §8: one call_from_thread per log line was 200x
slower), so events are buffered and posted as one :class:`EngineEvents` at most every 50 ms;
the app drains what is left on a 50 ms timer while a run is going.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.message import Message as UiMessage
from textual.message_pump import MessagePump

from wizard.engine import Event

if TYPE_CHECKING:
    from wizard.config import Config
    from wizard.context import Context
    from wizard.engine import Runner

BATCH_SECONDS = 0.05


class EngineEvents(UiMessage):
    """A batch of engine events, delivered on the UI thread."""

    def __init__(self, events: list[Event]) -> None:
        super().__init__()
        self.events = events


class EventBatcher:
    """The engine's sink: thread-safe, posts batches to ``target``."""

    def __init__(self, target: MessagePump, interval: float = BATCH_SECONDS) -> None:
        self.target = target
        self.interval = interval
        self._lock = threading.Lock()
        self._pending: list[Event] = []
        self._last = 0.0

    def __call__(self, event: Event) -> None:
        with self._lock:
            self._pending.append(event)
            due = time.monotonic() - self._last >= self.interval
        if due:
            self.flush()

    def flush(self) -> None:
        with self._lock:
            batch, self._pending = self._pending, []
            self._last = time.monotonic()
        if batch:
            self.target.post_message(EngineEvents(batch))


class Engine:
    """One session (Context + Runner) over the current config, opened on first use in a worker
    (it imports the steps and the keyring; psycopg only when a step connects)."""

    def __init__(self, config: Config, config_path: Path, sink: Any) -> None:
        self.config = config
        self.config_path = config_path
        self.sink = sink
        self.ctx: Context | None = None
        self.runner: Runner | None = None
        self._lock = threading.Lock()

    def ensure(self) -> tuple[Context, Runner]:
        with self._lock:
            if self.runner is None or self.ctx is None:
                from wizard.session import open_session

                self.ctx, self.runner = open_session(
                    self.config, self.config_path, interactive=False, sink=self.sink
                )
            return self.ctx, self.runner

    def close(self) -> None:
        with self._lock:
            if self.ctx is not None:
                self.ctx.close()
            self.ctx = None
            self.runner = None
