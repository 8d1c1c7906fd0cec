"""Phase 3, the app's side: does the app read the FDW data through the API, does its Storage
fallback hold, does the health-check Edge Function answer? All three only check (nothing to
apply): they read the world the way the runbook's app does (section 4.1 ``useBIDataWithFDW``,
section 5.1 ``fdw-health-check``) through :mod:`wizard.supabase.supabase_api`.

Keys: ``supabase-anon-key`` sees what an anonymous visitor sees; ``supabase-service-key`` what
the service role (Edge Functions) sees. The app's logged-in users run as ``authenticated``,
whose tokens only Supabase Auth can mint: with these keys the wizard can prove the path works
(service role) and that anonymous visitors are kept out, and says so instead of guessing.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from wizard.engine import CheckResult, Status, Step
from wizard.i18n import Message
from wizard.step_context import StepContext

ANON_KEY = "supabase-anon-key"
SERVICE_KEY = "supabase-service-key"
HEALTH_FUNCTION = "fdw-health-check"
# The runbook's Phase 3 views (config key -> view name).
VIEWS: tuple[tuple[str, str], ...] = (
    ("clientes_360", "v_clientes_360"),
    ("frota_360", "v_frota_360"),
)
# Runbook "Métricas de Sucesso": Storage use ~28 MB -> under 10 MB.
STORAGE_GOAL_BYTES = 10 * 1000 * 1000
_FDW_DOWN = ("dw_unreachable", "fdw_down")
CHECK_READ_LIMIT = 10  # rows per relation and key when app.rest-check only checks


def _optional_secret(ctx: StepContext, name: str) -> str | None:
    """A key if one is configured; never prompts (a missing optional key is an answer)."""
    if ctx.secrets.describe(name) == "missing":
        return None
    value = ctx.secrets.get(name)
    return str(value) if value else None


def _keys(ctx: StepContext) -> list[tuple[str, str]]:
    """(role, key) for each configured key, anon first (it is what the app ships)."""
    from wizard.supabase.supabase_api import key_role

    found: list[tuple[str, str]] = []
    for name, default_role in ((ANON_KEY, "anon"), (SERVICE_KEY, "service_role")):
        key = _optional_secret(ctx, name)
        if key:
            found.append((key_role(key) or default_role, key))
    return found


def _where_to_find() -> list[Message]:
    return [Message("app.guide.project_url"), Message("app.guide.keys")]


def _mb(size: int) -> int:
    """A size for the catalog's ``{x:bytes}`` (formatted in the reader's language)."""
    return int(size)


# ---------------------------------------------------------------------------------------------


class RestCheck(Step):
    """Runbook 4.1: the hook reads ``.from(table).select('*').limit(10000)``."""

    id = "app.rest-check"
    phase = "app"
    # It reads the views (and the tables when they are exposed): they must exist first.
    requires = ("prereq.supabase-connection", "views.clientes-360", "views.frota-360")
    settings_keys = ("supabase.project_url",)
    secret_keys = (ANON_KEY, SERVICE_KEY)

    def check(self, ctx: StepContext) -> CheckResult:
        from wizard.supabase.supabase_api import APP_READ_LIMIT, SupabaseApiError, read_as_app

        config = ctx.config
        url = config.supabase.project_url.strip()
        if not url:
            return CheckResult(Status.MANUAL, Message("app.rest.no_url"), _where_to_find())
        keys = _keys(ctx)
        if not keys:
            return CheckResult(Status.MANUAL, Message("app.rest.no_key"), _where_to_find())

        exposed = _exposed_schemas(ctx)
        fdw_schema = config.fdw.target_schema
        details: list[Message] = []
        failures: list[Message] = []
        reads: list[dict[str, Any]] = []

        # Are the foreign tables themselves reachable through the API (the runbook's `public`
        # mode), or kept private (the secure default)? Ask the database, else the API itself.
        if exposed is not None:
            fdw_exposed = fdw_schema in exposed
        elif config.fdw.tables:
            try:
                read_as_app(url, keys[0][1], config.fdw.tables[0], fdw_schema, limit=1)
                fdw_exposed = True
            except SupabaseApiError as exc:
                fdw_exposed = exc.kind != "schema_not_exposed"
        else:
            fdw_exposed = False

        targets: list[tuple[str, str]] = []
        for attr, view in VIEWS:
            view_config = getattr(config.views, attr)
            if view_config.enabled:
                targets.append((view_config.schema_name, view))
        params = {"schema": fdw_schema, "views": ", ".join(v for _, v in targets) or "-"}
        if fdw_exposed:
            targets.extend((fdw_schema, table) for table in config.fdw.tables)
            details.append(Message("app.rest.public_mode", params))
        else:
            details.append(Message("app.rest.secure_mode", params))

        target_ms = config.validation.latency_target_ms
        # The hook's whole read (10,000 rows per relation and key) grows with the warehouse: it
        # runs when measurements are asked for (`fdw-wizard validate`); other checks read a few
        # rows, which proves the same path, grants and FDW login.
        full = ctx.fresh_measurements
        limit = APP_READ_LIMIT if full else CHECK_READ_LIMIT
        if not full:
            details.append(Message("app.rest.sampled", {"limit": limit, "full": APP_READ_LIMIT}))
        jobs = [(schema, relation, role, key) for schema, relation in targets for role, key in keys]
        for schema, relation, role, _key in jobs:
            what = f"{schema}.{relation}"
            ctx.progress(
                self.id, Message("app.rest.reading", {"what": what, "role": role, "limit": limit})
            )

        def read(job: tuple[str, str, str, str]) -> Any:
            schema, relation, _role, key = job
            try:
                return read_as_app(url, key, relation, schema, limit=limit)
            except SupabaseApiError as exc:
                return exc

        if full:  # timed reads one at a time: each latency is the read's own
            answers = [read(job) for job in jobs]
        else:  # a few rows each: at once (HTTP waits), so the check costs about one read
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=max(1, min(4, len(jobs)))) as pool:
                answers = list(pool.map(read, jobs))
        for (schema, relation, role, _key), result in zip(jobs, answers, strict=True):
            what = f"{schema}.{relation}"
            record: dict[str, Any] = {"relation": what, "role": role, "limit": limit}
            if isinstance(result, SupabaseApiError):
                record.update(
                    ok=False,
                    http_status=result.http_status,
                    code=result.code,
                    kind=result.kind,
                    latency_ms=result.latency_ms,
                )
                reads.append(record)
                self._judge_failure(result, role, what, details, failures)
                continue
            record.update(
                ok=True,
                http_status=result.http_status,
                rows=result.rows,
                latency_ms=result.latency_ms,
            )
            reads.append(record)
            read_params = {
                "what": what,
                "role": role,
                "rows": result.rows,
                "ms": result.latency_ms,
                "status": result.http_status,
            }
            details.append(Message("app.rest.read_ok", read_params))
            if role == "anon":
                details.append(Message("app.rest.anon_reads", read_params))
            if full and result.latency_ms > target_ms:
                details.append(Message("app.rest.slow", {**read_params, "target": target_ms}))

        facts = {
            "project_url": url,
            "roles": [role for role, _ in keys],
            "exposed_schemas": exposed,
            "fdw_schema": fdw_schema,
            "fdw_schema_exposed": fdw_exposed,
            "reads": reads,
        }
        ok = [r for r in reads if r["ok"]]
        if failures:
            # The FDW being down is what the operator must see first: it is why the app falls back.
            failures.sort(key=lambda m: not m.key.startswith(("app.err.dw_", "app.err.fdw_")))
            return CheckResult(Status.FAILED, failures[0], details + failures[1:], facts)
        if not ok:
            return CheckResult(
                Status.MANUAL,
                Message("app.rest.nothing_readable", {"roles": ", ".join(r for r, _ in keys)}),
                [*details, Message("app.rest.authenticated_note")],
                facts,
            )
        if all(role == "anon" for role, _ in keys):
            details.append(Message("app.rest.authenticated_note"))
        slowest = max(r["latency_ms"] for r in ok)
        return CheckResult(
            Status.DONE,
            Message("app.rest.ok", {"ok": len(ok), "total": len(reads), "ms": slowest}),
            details,
            facts,
        )

    @staticmethod
    def _judge_failure(
        exc: Any, role: str, what: str, details: list[Message], failures: list[Message]
    ) -> None:
        """A refused read is sometimes the right answer: anon kept out of BI data."""
        params = {"what": what, "role": role, "status": exc.http_status or "-"}
        if exc.kind == "denied" and role == "anon":
            details.append(Message("app.rest.anon_denied", params))
        elif exc.kind == "denied" and role == "service_role":
            details.append(Message("app.rest.service_denied", params))
        elif exc.kind == "denied":
            details.append(exc.message)
        else:
            failures.append(exc.message)
            if exc.fix is not None:
                failures.append(exc.fix)


def _exposed_schemas(ctx: StepContext) -> list[str] | None:
    """pgrst.db_schemas of authenticator, when the API is configured in the database."""
    from psycopg import sql

    from sql_templates import load

    row = ctx.supabase_conn().execute(sql.SQL(load("app/exposed_schemas.sql"))).fetchone()
    if row is None or row[0] is None:
        return None
    return [s.strip() for s in str(row[0]).split(",") if s.strip()]


# ---------------------------------------------------------------------------------------------


class Fallback(Step):
    """Runbook 4.1's fallback: ``storage.from('bi-reports').download(`${table}.json`)``."""

    id = "app.fallback"
    phase = "app"
    requires = ("prereq.supabase-connection",)
    settings_keys = ("fallback.bucket", "fallback.max_age_hours")

    def check(self, ctx: StepContext) -> CheckResult:
        from wizard.supabase.supabase_api import SupabaseApiError

        config = ctx.config
        bucket = config.fallback.bucket
        max_age = timedelta(hours=config.fallback.max_age_hours)
        url = config.supabase.project_url.strip()
        service = _optional_secret(ctx, SERVICE_KEY) if url else None
        source = "api" if service else "database"
        try:
            objects = (
                _objects_from_api(url, service, bucket)
                if service
                else _objects_from_db(ctx, bucket)
            )
        except SupabaseApiError as exc:
            fix = [exc.fix] if exc.fix is not None else []
            return CheckResult(Status.FAILED, exc.message, fix, {"source": source})
        if objects is None:
            return CheckResult(
                Status.FAILED,
                Message("app.fallback.no_bucket", {"bucket": bucket}),
                [Message("app.fallback.no_bucket.fix", {"bucket": bucket})],
                {"source": source},
            )

        now = datetime.now(UTC)
        # A file already downloaded and parsed, unchanged since (same size and time), is not
        # downloaded again: the second run of a checklist stays fast.
        parsed_before: dict[str, Any] = ctx.recall(self.id).get("parsed", {})
        parsed_now: dict[str, Any] = {}
        tables: dict[str, dict[str, Any]] = {}
        details: list[Message] = []
        counts = {"ok": 0, "missing": 0, "stale": 0, "unparseable": 0}
        for table in config.fdw.tables:
            name = f"{table}.json"
            entry = objects.get(name)
            info: dict[str, Any] = {"file": name}
            tables[table] = info
            params: dict[str, Any] = {"file": name, "bucket": bucket}
            if entry is None:
                info["state"] = "missing"
                counts["missing"] += 1
                details.append(Message("app.fallback.missing", params))
                continue
            size, modified = entry
            info["bytes"] = size
            age_h = (now - modified).total_seconds() / 3600 if modified else None
            info["age_hours"] = round(age_h, 1) if age_h is not None else None
            state = "ok"
            if modified is None or now - modified > max_age:
                state = "stale"
                details.append(
                    Message(
                        "app.fallback.stale",
                        {
                            **params,
                            "age": f"{age_h:.0f}" if age_h is not None else "?",
                            "max": config.fallback.max_age_hours,
                        },
                    )
                )
            if service:
                stamp = f"{size}@{modified.isoformat() if modified else '-'}"
                seen = parsed_before.get(name)
                if isinstance(seen, dict) and seen.get("stamp") == stamp:
                    info["rows"] = seen.get("rows")
                    info["rows_estimated"] = bool(seen.get("rows_estimated"))
                    parsed_now[name] = seen
                else:
                    ctx.progress(self.id, Message("app.fallback.downloading", params))
                    problem = _sample_problem(url, service, bucket, name, info)
                    if problem is not None:
                        state = "unparseable"
                        details.append(Message("app.fallback.unparseable", {**params, **problem}))
                    else:
                        parsed_now[name] = {
                            "stamp": stamp,
                            "rows": info.get("rows"),
                            "rows_estimated": info.get("rows_estimated", False),
                        }
            info["state"] = state
            counts[state] += 1

        if service and parsed_now != parsed_before:
            ctx.remember(self.id, parsed=parsed_now)
        total = sum(size for size, _ in objects.values())
        size_params = {
            "bucket": bucket,
            "mb": _mb(total),
            "files": len(objects),
            "goal_mb": _mb(STORAGE_GOAL_BYTES),
        }
        details.append(Message("app.fallback.size", size_params))
        if not service:
            details.append(Message("app.fallback.not_parsed"))
        facts = {
            "source": source,
            "bucket": bucket,
            "bucket_bytes": total,
            "bucket_objects": len(objects),
            "storage_goal_bytes": STORAGE_GOAL_BYTES,
            "storage_goal_met": total < STORAGE_GOAL_BYTES,
            "max_age_hours": config.fallback.max_age_hours,
            "tables": tables,
        }
        summary = {**counts, "total": len(tables), "bucket": bucket}
        if counts["ok"] == len(tables):
            key = "app.fallback.ok" if service else "app.fallback.ok_metadata"
            return CheckResult(
                Status.DONE,
                Message(key, {**summary, "hours": config.fallback.max_age_hours}),
                details,
                facts,
            )
        details.append(Message("app.fallback.fix"))
        return CheckResult(Status.FAILED, Message("app.fallback.problems", summary), details, facts)


Modified = datetime | None


def _parse_time(value: Any) -> Modified:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _objects_from_api(url: str, key: str, bucket: str) -> dict[str, tuple[int, Modified]] | None:
    from wizard.supabase.supabase_api import SupabaseApiError, list_bucket

    try:
        entries = list_bucket(url, key, bucket)
    except SupabaseApiError as exc:
        if exc.kind == "bucket_missing":
            return None
        raise
    objects: dict[str, tuple[int, Modified]] = {}
    for entry in entries:
        metadata = entry.get("metadata")
        if entry.get("id") is None or not isinstance(metadata, dict):
            continue  # a folder
        modified = _parse_time(metadata.get("lastModified")) or _parse_time(entry.get("updated_at"))
        objects[str(entry["name"])] = (int(metadata.get("size") or 0), modified)
    return objects


def _objects_from_db(ctx: StepContext, bucket: str) -> dict[str, tuple[int, Modified]] | None:
    from psycopg import sql

    from sql_templates import load

    query = sql.SQL(load("app/fallback_objects.sql")).format(bucket=sql.Literal(bucket))  # type: ignore[arg-type]
    rows = ctx.supabase_conn().execute(query).fetchall()
    if not rows or not rows[0][0]:
        return None
    objects: dict[str, tuple[int, Modified]] = {}
    for _exists, name, size, last_modified, updated_at in rows:
        if name is None:
            continue  # the bucket exists but is empty
        modified = _parse_time(last_modified) or _parse_time(updated_at)
        objects[str(name)] = (int(size or 0), modified)
    return objects


# A fallback file is streamed, never held whole (at scale 20 they add up to 2.4 GB, and on a
# real project they come over the WAN): the first SAMPLE_BYTES are parsed as the app's
# JSON.parse would (a JSON array of rows), the last bytes must close the array, and a file no
# bigger than the sample is parsed whole (its row count is exact; otherwise it is estimated from
# the sampled rows' size). Memory stays at the sample's size whatever the file's.
SAMPLE_BYTES = 256 * 1024
TAIL_BYTES = 64
STREAM_CHUNK = 64 * 1024


def _sample_problem(
    url: str, key: str, bucket: str, name: str, info: dict[str, Any]
) -> dict[str, str] | None:
    """Stream one fallback file and judge a bounded sample of it; None when fine."""
    from urllib.parse import quote

    import httpx

    from wizard import redact
    from wizard.supabase.supabase_api import DEFAULT_TIMEOUT_S

    redact.register(key)
    endpoint = f"{url.rstrip('/')}/storage/v1/object/{quote(bucket)}/{quote(name)}"
    headers = {"apikey": key, "Authorization": f"Bearer {key}"}
    head = bytearray()
    tail = b""
    total = 0
    try:
        with (
            httpx.Client(
                timeout=httpx.Timeout(DEFAULT_TIMEOUT_S, connect=10.0), follow_redirects=False
            ) as client,
            client.stream("GET", endpoint, headers=headers) as response,
        ):
            if response.status_code >= 400:
                body = b""
                for chunk in response.iter_bytes(4096):
                    body = (body + chunk)[:400]  # an error body, bounded
                    break
                return {
                    "error": "object_missing"
                    if response.status_code in (400, 404)
                    else f"HTTP {response.status_code}: {body.decode('utf-8', 'replace')[:200]}"
                }
            for chunk in response.iter_bytes(STREAM_CHUNK):
                total += len(chunk)
                if len(head) < SAMPLE_BYTES:
                    head += chunk[: SAMPLE_BYTES - len(head)]
                tail = (tail + chunk)[-TAIL_BYTES:]
    except httpx.HTTPError as exc:
        return {"error": f"{type(exc).__name__}: {redact.redact(str(exc))[:160]}"}
    info["bytes_read"] = total
    return judge_sample(bytes(head), tail, total, info)


def judge_sample(
    head: bytes, tail: bytes, total: int, info: dict[str, Any]
) -> dict[str, str] | None:
    """The app's JSON.parse on a file's first bytes (``head``), its last bytes (``tail``) and
    its size; sets ``info["rows"]`` (exact, or estimated when only a sample was parsed)."""
    import codecs

    if total <= len(head):  # the whole file is in the sample: parse it as the app does
        try:
            parsed = json.loads(head)
        except (ValueError, UnicodeDecodeError) as exc:
            return {"error": f"{type(exc).__name__}: {str(exc)[:120]}"}
        if not isinstance(parsed, list):
            return {"error": f"expected a JSON array of rows, found {type(parsed).__name__}"}
        info["rows"] = len(parsed)
        info["rows_estimated"] = False
        return None
    if not tail.rstrip().endswith(b"]"):
        return {"error": "the file does not end with ']' (cut short: an interrupted upload?)"}
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError as exc:
        return {"error": f"UnicodeDecodeError: {str(exc)[:120]}"}
    text = text.lstrip("\ufeff \t\r\n")
    if not text.startswith("["):
        return {"error": f"expected a JSON array of rows, found {text[:20]!r}"}
    decoder = json.JSONDecoder()
    index, rows, consumed = 1, 0, 0
    while True:
        while index < len(text) and text[index] in " \t\r\n,":
            index += 1
        if index >= len(text) or text[index] == "]":
            break
        try:
            _value, end = decoder.raw_decode(text, index)
        except ValueError as exc:
            if rows == 0:  # not even one row in the sample
                return {"error": f"{type(exc).__name__}: {str(exc)[:120]}"}
            break  # the sample ends inside a row: the rows before it parsed
        rows += 1
        consumed = end
        index = end
    if rows == 0:
        return {"error": "no row in the file's first bytes"}
    per_row = len(text[:consumed].encode("utf-8")) / rows
    info["rows"] = max(rows, round(total / per_row))
    info["rows_estimated"] = True
    return None


# ---------------------------------------------------------------------------------------------


class HealthFunction(Step):
    """Runbook 5.1: the ``fdw-health-check`` Edge Function."""

    id = "app.health-function"
    phase = "app"
    requires = ("prereq.supabase-connection", "views.clientes-360")  # the function reads it

    def check(self, ctx: StepContext) -> CheckResult:
        from wizard.supabase.supabase_api import SupabaseApiError, invoke_function

        config = ctx.config
        url = config.supabase.project_url.strip()
        keys = _keys(ctx) if url else []
        guide = [Message("app.health.deploy", {"function": HEALTH_FUNCTION})]
        secure_hint = Message("app.health.secure_hint", {"schema": config.fdw.target_schema})
        if config.fdw.target_schema != "public":
            guide.append(secure_hint)  # the runbook's .from("dim_clientes") cannot work there
        if not url or not keys:
            return CheckResult(
                Status.MANUAL,
                Message("app.health.no_config", {"function": HEALTH_FUNCTION}),
                _where_to_find() + guide,
            )
        role, key = keys[0]  # the anon key: what the app itself calls the function with
        reused = self._reused(ctx, url, role)
        if reused is not None:
            return reused
        ctx.progress(self.id, Message("app.health.invoking", {"function": HEALTH_FUNCTION}))
        ctx.remember(self.id, healthy=None)  # only an answer seen healthy is reused
        try:
            result = invoke_function(url, key, HEALTH_FUNCTION)
        except SupabaseApiError as exc:
            if exc.kind == "function_missing":
                return CheckResult(
                    Status.MANUAL,
                    Message("app.health.not_deployed", {"function": HEALTH_FUNCTION}),
                    guide,
                    {"http_status": 404},
                )
            fix = [exc.fix] if exc.fix is not None else []
            return CheckResult(Status.FAILED, exc.message, fix, {"http_status": exc.http_status})
        body = result.body if isinstance(result.body, dict) else {}
        facts = {
            "http_status": result.http_status,
            "round_trip_ms": result.latency_ms,
            "answer": body or str(result.body)[:500],
            "role": role,
        }
        params: dict[str, Any] = {
            "function": HEALTH_FUNCTION,
            "status": result.http_status,
            "round_trip": result.latency_ms,
            "latency": body.get("latency_ms", "?"),
            "error": str(body.get("error") or str(result.body)[:200]),
        }
        healthy = result.http_status == 200 and body.get("status") == "healthy"
        if healthy and body.get("fdw_available", True):
            details: list[Message] = []
            fdw_ms = body.get("latency_ms")
            target = config.validation.latency_target_ms
            if isinstance(fdw_ms, int | float) and fdw_ms > target:
                details.append(Message("app.health.slow", {**params, "target": target}))
            ctx.remember(
                self.id,
                healthy={
                    "at": datetime.now(UTC).isoformat(),
                    "url": url,
                    "role": role,
                    "params": params,
                    "details": [d.to_json() for d in details],
                    "facts": facts,
                },
            )
            return CheckResult(Status.DONE, Message("app.health.healthy", params), details, facts)
        details = [Message("app.health.fallback_note")]
        error_text = params["error"].lower()
        if "schema" in error_text or "could not find" in error_text:
            details.append(secure_hint)
        return CheckResult(Status.FAILED, Message("app.health.error", params), details, facts)

    def _reused(self, ctx: StepContext, url: str, role: str) -> CheckResult | None:
        """The last healthy answer of this function, while it is younger than
        ``validation.reuse_minutes`` and measurements are not asked for: the runbook's function
        counts a whole view, which grows with the warehouse, and `status` only checks (an outage
        still shows in app.rest-check, which reads the views every time)."""
        if ctx.fresh_measurements:
            return None
        seen = ctx.recall(self.id).get("healthy")
        if not isinstance(seen, dict) or (seen.get("url"), seen.get("role")) != (url, role):
            return None
        try:
            at = datetime.fromisoformat(str(seen["at"]))
        except (KeyError, ValueError):
            return None
        minutes = (datetime.now(UTC) - at).total_seconds() / 60
        limit = float(ctx.config.validation.reuse_minutes)
        if not 0 <= minutes < limit:
            return None
        details = [Message(d["key"], d.get("params") or {}) for d in seen.get("details") or []]
        local = at.astimezone().strftime("%Y-%m-%d %H:%M")
        details.append(Message("app.health.reused", {"at": local, "minutes": int(minutes)}))
        facts = {**(seen.get("facts") or {}), "measured_at": seen["at"], "reused": True}
        return CheckResult(
            Status.DONE, Message("app.health.healthy", seen.get("params") or {}), details, facts
        )


def steps() -> list[Step]:
    """This phase's steps in checklist order (for tests; the checklist is all_steps())."""
    return [RestCheck(), Fallback(), HealthFunction()]
