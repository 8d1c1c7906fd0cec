"""``python -m wizard.testbed.standin``: the stand-in on its own, secrets from files or the
environment
(never argv); prints one JSON line with its URL."""

from __future__ import annotations

import argparse
import json
import os
import signal
import threading
from collections.abc import Sequence
from pathlib import Path

from wizard.testbed.standin.protocol import HEALTH_FUNCTION, LOOPBACK, HealthCheck
from wizard.testbed.standin.server import StandIn

ENV_DB_PASSWORD = "FDW_WIZARD_STANDIN_DB_PASSWORD"  # noqa: S105 - a variable name
ENV_JWT_SECRET = "FDW_WIZARD_STANDIN_JWT_SECRET"  # noqa: S105 - a variable name


def _read_secret(path: str | None, env: str, what: str) -> str:
    if path:
        value = Path(path).read_text(encoding="utf-8").strip()
    else:
        value = os.environ.get(env, "").strip()
    if not value:
        raise SystemExit(f"{what}: give a file (--{what}-file) or set {env}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m wizard.testbed.standin",
        description="Local stand-in of Supabase's REST/Storage/Functions APIs (127.0.0.1 only).",
    )
    parser.add_argument("--db-host", default=LOOPBACK)
    parser.add_argument("--db-port", type=int, required=True)
    parser.add_argument("--db-name", default="postgres")
    parser.add_argument("--db-user", default="supabase_admin")
    parser.add_argument("--db-password-file", help=f"or env {ENV_DB_PASSWORD}")
    parser.add_argument("--storage-dir", type=Path, required=True)
    parser.add_argument("--jwt-secret-file", help=f"or env {ENV_JWT_SECRET}")
    parser.add_argument("--port", type=int, default=0, help="0 = any free port")
    parser.add_argument("--health-schema", default="public")
    parser.add_argument("--health-relation", default="dim_clientes")
    parser.add_argument(
        "--no-health-function", action="store_true", help="answer 404, as if not deployed"
    )
    args = parser.parse_args(argv)
    password = _read_secret(args.db_password_file, ENV_DB_PASSWORD, "db-password")
    secret = _read_secret(args.jwt_secret_file, ENV_JWT_SECRET, "jwt-secret")
    standin = StandIn(
        db={
            "host": args.db_host,
            "port": args.db_port,
            "dbname": args.db_name,
            "user": args.db_user,
            "password": password,
        },
        storage_dir=args.storage_dir,
        jwt_secret=secret,
        functions=() if args.no_health_function else (HEALTH_FUNCTION,),
        health=HealthCheck(args.health_schema, args.health_relation),
        port=args.port,
    ).start()
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    # One line a parent process can read to learn where we listen.
    print(json.dumps({"url": standin.url, "pid": os.getpid()}), flush=True)
    try:
        while not stopping.wait(0.5):
            pass
    finally:
        standin.stop()
    return 0
