"""What the stand-in's APIs share: requests, responses, the error bodies of PostgREST and
Storage, PostgREST's SQLSTATE -> HTTP status table, and the state every API reads."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wizard.testbed.standin.pool import Pool

LOOPBACK = "127.0.0.1"  # the only address the stand-in ever listens on
HEALTH_FUNCTION = "fdw-health-check"
CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Headers": "authorization, x-client-info, apikey, content-type",
}


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, data: Any, headers: Mapping[str, str] | None = None) -> Response:
        out = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
        return cls(status, json.dumps(data, default=str).encode("utf-8"), out)

    def payload(self) -> Any:
        return json.loads(self.body) if self.body else None


def pgrst_error(
    status: int, code: str, message: str, details: str | None = None, hint: str | None = None
) -> Response:
    return Response.json(
        status, {"code": code, "details": details, "hint": hint, "message": message}
    )


def storage_error(status: int, error: str, message: str) -> Response:
    # Supabase Storage sends statusCode as a string.
    return Response.json(status, {"statusCode": str(status), "error": error, "message": message})


def postgrest_status(sqlstate: str | None, role: str) -> int:
    """HTTP status PostgREST answers for a SQLSTATE (postgrest.org, "Errors", SQLSTATE table)."""
    code = sqlstate or ""
    exact = {
        "23503": 409,
        "23505": 409,
        "25006": 405,
        "P0001": 400,
        "42883": 404,
        "42P01": 404,
        "42P17": 500,
    }
    if code in exact:
        return exact[code]
    if code == "42501":
        return 401 if role == "anon" else 403  # PostgREST: not authenticated vs. forbidden
    by_class = {
        "08": 503,
        "09": 500,
        "0L": 403,
        "0P": 403,
        "25": 500,
        "28": 403,
        "2D": 500,
        "38": 500,
        "39": 500,
        "3B": 500,
        "40": 500,
        "53": 503,
        "54": 500,
        "55": 500,
        "57": 500,
        "58": 500,
        "F0": 500,
        "HV": 500,
        "P0": 500,
        "XX": 500,
    }
    return by_class.get(code[:2], 400)


@dataclass(frozen=True)
class HealthCheck:
    """What the ``fdw-health-check`` function reads (as service_role, through REST)."""

    schema: str = "public"
    relation: str = "dim_clientes"


@dataclass
class Request:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: Mapping[str, str]  # lower-case names
    body: bytes = b""


class ApiState:
    """What the APIs read from the stand-in (set by
    :class:`wizard.testbed.standin.server.StandIn`)."""

    db: dict[str, Any]
    storage_dir: Path
    jwt_secret: str
    functions: set[str]
    health: HealthCheck
    db_schemas: list[str] | None
    pool: Pool
