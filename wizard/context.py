"""The Context every step receives: config, secrets, connections and live-feedback hooks."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wizard import db
from wizard.config import Config
from wizard.engine import OperatorActionNeeded
from wizard.i18n import Message
from wizard.step_context import BackgroundWork, stop_background

if TYPE_CHECKING:
    import psycopg

    from wizard.journal import RunJournal
    from wizard.secrets import SecretStore
    from wizard.state import StateStore


def make_secret_store(config: Config, config_path: Path, *, interactive: bool) -> SecretStore:
    from wizard.secrets import SecretStore, sandbox_secrets_path

    # Throwaway passwords of `fdw-wizard demo` are honoured only for a sandbox config.
    sandbox_file = sandbox_secrets_path(config_path) if config.sandbox else None
    if sandbox_file is not None and not sandbox_file.exists():
        sandbox_file = None
    return SecretStore(
        config.secrets.namespace,
        allow_insecure_backend=config.secrets.allow_insecure_backend,
        sandbox_file=sandbox_file,
        interactive=interactive,
    )


class Context:
    def __init__(
        self,
        config: Config,
        config_path: Path,
        secrets: SecretStore,
        *,
        interactive: bool = False,
    ) -> None:
        self.config = config
        self.config_path = Path(config_path)
        self.secrets = secrets
        self.interactive = interactive
        self.on_progress: Callable[[str, Message], None] = lambda step_id, message: None
        self.state: StateStore | None = None  # set by open_session; steps' memory lives there
        # Set by open_session: files are journaled before a run changes them (crash recovery).
        self.journal: RunJournal | None = None
        # True: validation steps measure again instead of reusing a recent measurement.
        self.fresh_measurements = False
        # The ids the running status/apply will reach (set by the Runner): a step starts work
        # for a later step in the background only when that step is part of the run.
        self.run_step_ids: frozenset[str] = frozenset()
        # Work a step started for a later step of the same run (e.g. validate.offline's
        # measurement overlapping validate.latency's reads), by key; stopped when the run ends.
        self.background: dict[str, BackgroundWork] = {}
        self._connections: dict[str, psycopg.Connection[Any]] = {}
        # The port the local server answered on: local.port, or exposure.listen_port after
        # local.reload moved the server there (None until the first connection).
        self.local_port: int | None = None

    # -- feedback --------------------------------------------------------------------------------

    def progress(self, step_id: str, message: Message) -> None:
        self.on_progress(step_id, message)

    # -- memory between runs (original values, backups, what the wizard created) -------------

    def recall(self, step_id: str) -> dict[str, Any]:
        return self.state.recall(step_id) if self.state is not None else {}

    def remember(self, step_id: str, **values: Any) -> None:
        if self.state is not None:
            self.state.remember(step_id, values)

    # -- secrets ---------------------------------------------------------------------------------

    def secret(self, name: str) -> str:
        """A secret by name; a missing one stops the step as 'operator action needed'."""
        from wizard.secrets import SecretMissing

        try:
            return self.secrets.get(name)
        except SecretMissing as exc:
            raise OperatorActionNeeded(exc.message, exc.fix) from None

    def store_secret(self, name: str, value: str) -> str:
        """Keep a secret the wizard generated; returns where ('keyring' or a file path).

        A rehearsal without a usable keyring keeps it in the sandbox's 0600 file instead; a real
        site without one stops here, before anything is created with a password nobody holds.
        """
        import json

        from wizard.fileio import atomic_write_bytes
        from wizard.secrets import BackendUnusable, sandbox_secrets_path

        try:
            self.secrets.set(name, value)
            return "keyring"
        except BackendUnusable as exc:
            if not self.config.sandbox:
                raise OperatorActionNeeded(exc.message, exc.fix) from None
        path = sandbox_secrets_path(self.config_path)
        data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        data[name] = value
        atomic_write_bytes(path, json.dumps(data).encode("utf-8"), backup=False, mode=0o600)
        self.secrets = make_secret_store(
            self.config, self.config_path, interactive=self.interactive
        )
        return str(path)

    # -- connections (cached; one per target, closed by close()) -------------------------------

    def open_local(
        self,
        *,
        user: str | None = None,
        password: str | None = None,
        port: int | None = None,
        sslmode: str = "prefer",
        autocommit: bool = True,
    ) -> psycopg.Connection[Any]:
        """A new connection to the local DW (default: the superuser); the caller closes it.

        Without ``port``: the port the server answered on before, then the candidates of
        :meth:`local_ports`, in turn (only a refused connection moves on to the next)."""
        local = self.config.local
        if password is None:
            password = self.secret("local-superuser")
        if port is not None:
            ports = [port]
        else:
            known = [self.local_port] if self.local_port is not None else []
            ports = known + [p for p in self.local_ports() if p not in known]
        for index, candidate in enumerate(ports):
            try:
                conn = db.connect(
                    host=local.host,
                    port=candidate,
                    dbname=local.database,
                    user=user or local.superuser,
                    password=password,
                    target="local",
                    sslmode=sslmode,
                    autocommit=autocommit,
                )
            except db.DbError as exc:
                if exc.kind != "db.err.refused" or index == len(ports) - 1:
                    raise
                continue
            if port is None:
                self.local_port = candidate
            return conn
        raise AssertionError("unreachable: the loop either connected or raised")

    def local_ports(self) -> list[int]:
        """Where the local server may listen, in the order to try: ``local.port``, then
        ``exposure.listen_port`` (where local.reload moves it when the two differ)."""
        ports = [self.config.local.port]
        listen_port = self.config.exposure.listen_port
        if listen_port != "auto" and listen_port not in ports:
            ports.append(listen_port)
        return ports

    def open_supabase(self) -> psycopg.Connection[Any]:
        """A new connection to Supabase as its (non-superuser) postgres; the caller closes it."""
        supa = self.config.supabase
        return db.connect(
            host=supa.host,
            port=supa.port,
            dbname=supa.database,
            user=supa.user,
            password=self.secret("supabase-db"),
            target="supabase",
            sslmode=supa.sslmode,
        )

    def local_conn(self) -> psycopg.Connection[Any]:
        """Superuser connection to the local DW (cached). A new one looks for the server
        again on every candidate port: a restart may have moved it."""
        conn = self._connections.get("local")
        if conn is None or conn.closed:
            self.local_port = None
            conn = self.open_local()
            self._connections["local"] = conn
        return conn

    def drop_local_conn(self) -> None:
        """Forget the local connection (before a restart, which ends it anyway)."""
        conn = self._connections.pop("local", None)
        self.local_port = None  # a restart may move it (local.reload onto listen_port)
        if conn is not None and not conn.closed:
            conn.close()

    def supabase_conn(self) -> psycopg.Connection[Any]:
        """Connection to the Supabase database as its (non-superuser) postgres role."""
        conn = self._connections.get("supabase")
        if conn is None or conn.closed:
            conn = self.open_supabase()
            self._connections["supabase"] = conn
        return conn

    def begin_run(self) -> None:
        """Forget cached connections that no longer work (a restart, a stopped server, an
        idle timeout), so the next step reconnects and reports the real cause."""
        for name, conn in list(self._connections.items()):
            alive = not conn.closed and not conn.broken
            if alive:
                try:
                    conn.execute("SELECT 1")
                except Exception:  # any failure means: reconnect next time
                    alive = False
            if not alive:
                self._connections.pop(name, None)
                with contextlib.suppress(Exception):
                    conn.close()

    def close(self) -> None:
        stop_background(self.background)  # nothing a run started outlives the session
        for conn in self._connections.values():
            if not conn.closed:
                conn.close()
        self._connections.clear()
