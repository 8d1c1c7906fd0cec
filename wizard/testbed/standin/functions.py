"""Edge Functions: the runbook's ``fdw-health-check`` (5.1), which reads through the REST path."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from wizard import redact
from wizard.testbed.standin.protocol import CORS, HEALTH_FUNCTION, Response, pgrst_error
from wizard.testbed.standin.rest import RestApi


class FunctionsApi(RestApi):
    def _function(self, rest: list[str]) -> Response:
        name = rest[0] if rest else ""
        if name not in self.functions:
            return Response.json(
                404, {"code": "NOT_FOUND", "message": "Requested function was not found"}
            )
        if name == HEALTH_FUNCTION:
            return self.health_check()
        return Response.json(200, {}, CORS)

    def health_check(self) -> Response:
        """Runbook 5.1: ``from(relation).select('count').limit(1)`` with the service role key."""
        started = time.monotonic()
        timestamp = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        try:
            answer = self.rest_select(
                {"role": "service_role"},
                self.health.schema,
                self.health.relation,
                [("select", "count"), ("limit", "1")],
            )
        except Exception as exc:  # the runbook's catch-all branch
            answer = pgrst_error(500, "PGRST000", redact.redact(str(exc)))
        latency = int((time.monotonic() - started) * 1000)
        if answer.status >= 400:
            error = (answer.payload() or {}).get("message", f"HTTP {answer.status}")
            return Response.json(
                500,
                {
                    "status": "error",
                    "fdw_available": False,
                    "error": error,
                    "fallback": "storage",
                    "timestamp": timestamp,
                },
                CORS,
            )
        return Response.json(
            200,
            {
                "status": "healthy",
                "fdw_available": True,
                "latency_ms": latency,
                "timestamp": timestamp,
            },
            CORS,
        )
