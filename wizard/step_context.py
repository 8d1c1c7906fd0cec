"""What a step may use of the context it is given: the typed contract between the engine's steps
and whoever drives them (`wizard.context.Context` for a real run; export-sql's offline context).

A Protocol rather than the concrete class, so a step module depends on this small contract and
not on how connections, secrets and state are provided (which would pull the session layer into
every step and make import loops), and so a driver with no database can satisfy it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # types only: no import at run time, so no import loop
    import psycopg

    from wizard.config import Config
    from wizard.i18n import Message
    from wizard.journal import RunJournal
    from wizard.secrets import SecretStore
    from wizard.state import StateStore


class BackgroundWork(Protocol):
    """Work a step runs in a thread for a later step of the same run."""

    def stop(self) -> None:
        """Ask it to end and wait (bounded) until it has: called when the run ends."""
        ...


def stop_background(background: dict[str, BackgroundWork]) -> None:
    """Stop every piece of background work nobody collected and forget it."""
    while background:
        _, work = background.popitem()
        with contextlib.suppress(Exception):  # stopping one must not keep the others running
            work.stop()


class StepContext(Protocol):
    config: Config
    config_path: Path
    secrets: SecretStore
    interactive: bool
    on_progress: Callable[[str, Message], None]
    state: StateStore | None
    journal: RunJournal | None
    fresh_measurements: bool
    local_port: int | None
    run_step_ids: frozenset[str]
    background: dict[str, BackgroundWork]

    def progress(self, step_id: str, message: Message) -> None: ...

    def recall(self, step_id: str) -> dict[str, Any]: ...

    def remember(self, step_id: str, **values: Any) -> None: ...

    def secret(self, name: str) -> str: ...

    def store_secret(self, name: str, value: str) -> str: ...

    def open_local(
        self,
        *,
        user: str | None = None,
        password: str | None = None,
        port: int | None = None,
        sslmode: str = "prefer",
        autocommit: bool = True,
    ) -> psycopg.Connection[Any]: ...

    def local_ports(self) -> list[int]: ...

    def open_supabase(self) -> psycopg.Connection[Any]: ...

    def local_conn(self) -> psycopg.Connection[Any]: ...

    def drop_local_conn(self) -> None: ...

    def supabase_conn(self) -> psycopg.Connection[Any]: ...
