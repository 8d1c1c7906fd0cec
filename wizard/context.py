"""The Context every step receives: config, secrets, connections and live-feedback hooks."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wizard import db
from wizard.config import Config
from wizard.engine import OperatorActionNeeded
from wizard.i18n import Message

if TYPE_CHECKING:
    import psycopg

    from wizard.secrets import SecretStore


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
        self._connections: dict[str, psycopg.Connection[Any]] = {}

    # -- feedback --------------------------------------------------------------------------------

    def progress(self, step_id: str, message: Message) -> None:
        self.on_progress(step_id, message)

    # -- secrets ---------------------------------------------------------------------------------

    def secret(self, name: str) -> str:
        """A secret by name; a missing one stops the step as 'operator action needed'."""
        from wizard.secrets import SecretMissing

        try:
            return self.secrets.get(name)
        except SecretMissing as exc:
            raise OperatorActionNeeded(exc.message, exc.fix) from None

    # -- connections (cached; one per target, closed by close()) -------------------------------

    def local_conn(self) -> psycopg.Connection[Any]:
        """Superuser connection to the local DW."""
        conn = self._connections.get("local")
        if conn is None or conn.closed:
            local = self.config.local
            conn = db.connect(
                host=local.host,
                port=local.port,
                dbname=local.database,
                user=local.superuser,
                password=self.secret("local-superuser"),
                target="local",
            )
            self._connections["local"] = conn
        return conn

    def supabase_conn(self) -> psycopg.Connection[Any]:
        """Connection to the Supabase database as its (non-superuser) postgres role."""
        conn = self._connections.get("supabase")
        if conn is None or conn.closed:
            supa = self.config.supabase
            conn = db.connect(
                host=supa.host,
                port=supa.port,
                dbname=supa.database,
                user=supa.user,
                password=self.secret("supabase-db"),
                target="supabase",
                sslmode=supa.sslmode,
            )
            self._connections["supabase"] = conn
        return conn

    def close(self) -> None:
        for conn in self._connections.values():
            if not conn.closed:
                conn.close()
        self._connections.clear()
