"""Phase 2: a server-side bound on the app's BI reads through the API (``supabase.read-bound``).

Why: when the DW hangs (its processes stopped, a frozen host: TCP still accepted and ACKed), a
read through postgres_fdw waits until something cancels it. keepalives and tcp_user_timeout
never fire while the peer kernel ACKs, a warm (cached) postgres_fdw connection ignores
connect_timeout, and on PostgreSQL 16/17 so does a new connection attempt. What ends the read
is the statement_timeout of the request's transaction: authenticated's 8 s on Supabase — too
long for the app's Storage fallback, and a pooled PostgREST backend is stuck meanwhile.

What a non-superuser ``postgres`` can do about it without changing any other timeout:
PostgREST's ``db-pre-request`` function. PostgREST runs, per request and in one transaction,
the role switch with the role's own settings, the ``request.*`` settings, the pre-request
function, the query. The function sees ``request.path`` and, for a BI relation only, lowers
statement_timeout for that transaction (``set_config(..., true)``). Supabase lets ``postgres``
set ``pgrst.*`` on ``authenticator`` (supautils' ``privileged_role_allowed_configs``).

Measured on the test bed (DW hung by SIGSTOP, authenticated, bound 3 s; README "Offline
behaviour"): warm session 3.0 s on 15, 16 and 17; new connection 3.0 s on 16 and 17 and
connect_timeout on 15 (PostgreSQL 15 cannot cancel a connection attempt, so there the bound
also needs ``fdw.connect_timeout_s`` <= the bound; the check says so).

Rejected: a role setting (changes every request of authenticated), a function with ``SET
statement_timeout`` behind the view (statement_timeout is armed when a statement starts; a
change inside it does not re-arm the timer), server options (keepalives / tcp_user_timeout do
not fire against a kernel that ACKs; connect_timeout covers only PG15's connection attempt).
"""

from __future__ import annotations

from typing import Any

from wizard import db, sql_text
from wizard.engine import ApplyResult, CheckResult, NoteAction, Plan, SqlAction, Status, Step
from wizard.i18n import Message
from wizard.step_context import StepContext
from wizard.steps.supabase_fdw import run_actions

BOUND_SCHEMA = "fdw_wizard"
BOUND_FUNCTION = f"{BOUND_SCHEMA}.api_read_bound"
PRE_REQUEST_SETTING = "pgrst.db_pre_request"
APP_ROLE = "authenticated"
API_ROLES = ("anon", "authenticated", "service_role")
BOUND_DEFAULT_S = 3.0  # fdw.api_read_bound_s until the config model has the field
VIEW_NAMES = (("clientes_360", "v_clientes_360"), ("frota_360", "v_frota_360"))


def bound_seconds(cfg: Any) -> float:
    return float(getattr(cfg.fdw, "api_read_bound_s", BOUND_DEFAULT_S))


def bound_ms(cfg: Any) -> int:
    return round(bound_seconds(cfg) * 1000)


def role_settings(conn: Any, role: str) -> dict[str, str]:
    row = conn.execute("SELECT rolconfig FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
    out: dict[str, str] = {}
    for entry in row[0] if row and row[0] else []:
        name, _, value = str(entry).partition("=")
        out[name] = value
    return out


def exposed_schemas(conn: Any) -> list[str]:
    text = role_settings(conn, "authenticator").get("pgrst.db_schemas", "public")
    return [s.strip() for s in text.split(",") if s.strip()]


def bi_relations(cfg: Any, conn: Any) -> list[str]:
    """The relations whose API reads get the bound: the enabled views, and the foreign tables
    themselves when they are imported into a schema the API exposes (runbook mode)."""
    return relations_for(cfg, exposed_schemas(conn))


def relations_for(cfg: Any, exposed: list[str]) -> list[str]:
    names = [name for key, name in VIEW_NAMES if getattr(cfg.views, key).enabled]
    if cfg.fdw.target_schema in exposed:
        names += list(cfg.fdw.tables)
    return sorted(set(names))


def timeout_ms(conn: Any, value: str | None) -> int | None:
    """A statement_timeout setting in milliseconds, as the server parses it."""
    if value is None:
        return None
    with conn.transaction(force_rollback=True):
        conn.execute("SELECT set_config('statement_timeout', %s, true)", (value,))
        row = conn.execute(
            "SELECT setting::integer FROM pg_settings WHERE name = 'statement_timeout'"
        ).fetchone()
    return int(row[0]) if row else None


def _function_sql(cfg: Any, conn: Any) -> str:
    text: str = function_statement(cfg, bi_relations(cfg, conn)).as_string(conn)
    return text


def function_statement(cfg: Any, relations: list[str]) -> Any:
    return sql_text.compose(
        "supabase/read_bound_function.sql",
        schema=BOUND_SCHEMA,
        bound_ms=bound_ms(cfg),
        relations=relations,
    )


def statements(
    cfg: Any, relations: list[str], *, create: bool, hook: bool
) -> list[tuple[Any, Message]]:
    """The function and its grants (``create``), the hook on authenticator (``hook``: no
    pre-request function is set yet) and the reload, for the read of ``relations``."""
    bound = bound_seconds(cfg)
    out: list[tuple[Any, Message]] = []

    def add(template: str, key: str, **params: Any) -> None:
        statement = sql_text.compose(f"supabase/{template}", **params)
        out.append(
            (statement, Message(f"step.supabase.read-bound.{key}", {"bound": bound, **params}))
        )

    if not relations:
        return out
    if create:
        add("read_bound_schema.sql", "create_schema", schema=BOUND_SCHEMA)
        add("read_bound_usage.sql", "grant_usage", schema=BOUND_SCHEMA)
        out.append(
            (
                function_statement(cfg, relations),
                Message(
                    "step.supabase.read-bound.create_function",
                    {"bound": bound, "relations": ", ".join(relations)},
                ),
            )
        )
        add("read_bound_execute.sql", "grant_execute", schema=BOUND_SCHEMA)
    if hook:
        add("read_bound_pre_request.sql", "hook", function=BOUND_FUNCTION)
    if out:
        add("read_bound_notify.sql", "notify")
    return out


def _name_parts(function: str) -> list[str]:
    """``schema.fn`` (or ``fn``) as PostgREST's setting names it, unquoted parts."""
    return [part.strip().strip('"') for part in function.split(".") if part.strip()]


def _body(function_sql: str) -> str:
    """The function's source as the server stores it (prosrc): between the dollar quotes."""
    parts = function_sql.split("$fn$")
    return parts[1] if len(parts) == 3 else ""


class ReadBound(Step):
    """Issue 11, deliverable 1: reads of the BI views through the API end within
    ``fdw.api_read_bound_s`` (default 3 s), fresh or warm session, DW refused or hung."""

    id = "supabase.read-bound"
    phase = "supabase"
    requires = ("supabase.grants",)

    # -- reading the world ----------------------------------------------------------------------

    def _state(self, ctx: StepContext) -> dict[str, Any]:
        conn = ctx.supabase_conn()
        cfg = ctx.config
        planned = _function_sql(cfg, conn)
        row = conn.execute(
            "SELECT p.prosrc, p.proconfig FROM pg_proc p JOIN pg_namespace n"
            " ON n.oid = p.pronamespace WHERE n.nspname = %s AND p.proname = 'api_read_bound'"
            " AND p.pronargs = 0",
            (BOUND_SCHEMA,),
        ).fetchone()
        function_ok = row is not None and row[0] == _body(planned)
        grants_ok = row is not None and all(
            db.one(
                conn.execute(
                    "SELECT has_schema_privilege(%s, %s, 'USAGE')"
                    " AND has_function_privilege(%s, %s, 'EXECUTE')",
                    (role, BOUND_SCHEMA, role, BOUND_FUNCTION + "()"),
                )
            )[0]
            for role in self._api_roles(conn)
        )
        current = role_settings(conn, "authenticator").get(PRE_REQUEST_SETTING)
        chained = False
        if current and current != BOUND_FUNCTION:
            chained = self._calls_ours(conn, current)
        version = int(db.one(conn.execute("SHOW server_version_num"))[0])
        app_timeout = timeout_ms(conn, role_settings(conn, APP_ROLE).get("statement_timeout"))
        return {
            "function_exists": row is not None,
            "function_ok": function_ok,
            "grants_ok": grants_ok,
            "pre_request": current,
            "chained": chained,
            "server_version_num": version,
            "app_timeout_ms": app_timeout,
            "relations": bi_relations(cfg, conn),
            "bound_ms": bound_ms(cfg),
            "planned": planned,
        }

    @staticmethod
    def _api_roles(conn: Any) -> list[str]:
        rows = conn.execute(
            "SELECT rolname FROM pg_roles WHERE rolname = ANY(%s) ORDER BY 1", (list(API_ROLES),)
        ).fetchall()
        return [r[0] for r in rows]

    @staticmethod
    def _calls_ours(conn: Any, function: str) -> bool:
        """Whether the site's own pre-request function calls ours (chained by the operator)."""
        parts = _name_parts(function)
        name, schema = parts[-1], (parts[0] if len(parts) > 1 else "")
        row = conn.execute(
            "SELECT bool_or(p.prosrc ILIKE %s) FROM pg_proc p JOIN pg_namespace n"
            " ON n.oid = p.pronamespace WHERE p.proname = %s AND (%s = '' OR n.nspname = %s)",
            ("%" + BOUND_FUNCTION + "%", name, schema, schema),
        ).fetchone()
        return bool(row and row[0])

    def _pg15_detail(self, ctx: StepContext, state: dict[str, Any]) -> Message | None:
        """On PostgreSQL 15 statement_timeout cannot cancel a connection attempt: a new
        connection to a hung DW ends at the server's connect_timeout, per address."""
        if state["server_version_num"] >= 160000:
            return None
        from wizard.steps.supabase_fdw import current_server

        server = current_server(ctx.supabase_conn(), ctx.config.fdw.server_name)
        options = server[1] if server else {}
        try:
            connect = float(options.get("connect_timeout", "0"))
        except ValueError:
            connect = 0.0
        bound = bound_seconds(ctx.config)
        if connect <= 0 or connect > bound:
            return Message(
                "step.supabase.read-bound.pg15_connect_timeout",
                {"connect_timeout": options.get("connect_timeout", "-"), "bound": bound},
            )
        return None

    # -- the contract ---------------------------------------------------------------------------

    def check(self, ctx: StepContext) -> CheckResult:
        state = self._state(ctx)
        facts = {k: v for k, v in state.items() if k != "planned"}
        details: list[Message] = []
        bound = bound_seconds(ctx.config)
        relations = ", ".join(state["relations"]) or "-"
        if not state["relations"]:
            return CheckResult(
                Status.NOT_APPLICABLE, Message("step.supabase.read-bound.no_relations"), [], facts
            )
        app = state["app_timeout_ms"]
        if app is not None and 0 < app <= state["bound_ms"]:
            details.append(
                Message(
                    "step.supabase.read-bound.not_lower",
                    {"role": APP_ROLE, "timeout": app / 1000, "bound": bound},
                )
            )
        pg15 = self._pg15_detail(ctx, state)
        if pg15 is not None:
            details.append(pg15)
        if not state["function_ok"]:
            details.append(
                Message("step.supabase.read-bound.function_missing", {"schema": BOUND_SCHEMA})
            )
        if not state["grants_ok"]:
            details.append(Message("step.supabase.read-bound.grants_missing"))
        current = state["pre_request"]
        if current and current != BOUND_FUNCTION and not state["chained"]:
            details.append(
                Message(
                    "step.supabase.read-bound.chain_how",
                    {"function": current, "ours": BOUND_FUNCTION},
                )
            )
            return CheckResult(
                Status.MANUAL,
                Message("step.supabase.read-bound.other_pre_request", {"function": current}),
                details,
                facts,
            )
        if not current:
            details.append(Message("step.supabase.read-bound.not_hooked"))
        if not state["function_ok"] or not state["grants_ok"] or not current:
            return CheckResult(
                Status.PENDING,
                Message(
                    "step.supabase.read-bound.pending", {"bound": bound, "relations": relations}
                ),
                details,
                facts,
            )
        return CheckResult(
            Status.DONE,
            Message(
                "step.supabase.read-bound.ok",
                {"bound": bound, "relations": relations, "function": current},
            ),
            details,
            facts,
        )

    def plan(self, ctx: StepContext) -> Plan:
        conn = ctx.supabase_conn()
        state = self._state(ctx)
        plan = Plan(self.id)
        current = state["pre_request"]
        for statement, description in statements(
            ctx.config,
            state["relations"],
            create=not state["function_ok"] or not state["grants_ok"],
            hook=not current,
        ):
            plan.actions.append(SqlAction("supabase", statement.as_string(conn), description))
        if state["relations"] and current and current != BOUND_FUNCTION and not state["chained"]:
            plan.actions.append(
                NoteAction(
                    Message(
                        "step.supabase.read-bound.chain_how",
                        {"function": current, "ours": BOUND_FUNCTION},
                    )
                )
            )
        return plan

    def apply(self, ctx: StepContext, plan: Plan) -> ApplyResult:
        return run_actions(ctx, self.id, plan, ctx.supabase_conn())

    def verify(self, ctx: StepContext) -> CheckResult:
        """Run a request's preamble and the hook as PostgREST would, for a BI read and for
        another path, and read the statement_timeout each transaction ends up with."""
        from psycopg import sql

        checked = self.check(ctx)
        if checked.status != Status.DONE:
            return checked
        conn = ctx.supabase_conn()
        state = checked.facts
        function = str(state["pre_request"])
        role_timeout = role_settings(conn, APP_ROLE).get("statement_timeout", "0")
        seen: dict[str, int] = {}
        for path in ("/" + state["relations"][0], "/fdw_wizard_not_bi"):
            with conn.transaction(force_rollback=True):
                conn.execute(
                    sql_text.render(
                        conn,
                        "supabase/read_bound_probe.sql",
                        role_name=APP_ROLE,
                        role_timeout=role_timeout,
                        path=path,
                    )
                )
                # The function PostgREST itself calls (its name as set on authenticator).
                conn.execute(sql.SQL("SELECT {}()").format(sql.Identifier(*_name_parts(function))))
                row = db.one(
                    conn.execute(
                        "SELECT setting::integer FROM pg_settings WHERE name = 'statement_timeout'"
                    )
                )
                seen[path] = int(row[0])
        bi, other = seen.values()
        expected_other = timeout_ms(conn, role_timeout) or 0
        app = state["app_timeout_ms"] or 0
        want_bi = state["bound_ms"] if app == 0 or app > state["bound_ms"] else app
        checked.facts["verified"] = {"bi_ms": bi, "other_ms": other}
        if bi != want_bi or other != expected_other:
            return CheckResult(
                Status.FAILED,
                Message(
                    "step.supabase.read-bound.verify_failed",
                    {"bi": bi, "other": other, "want_bi": want_bi, "want_other": expected_other},
                ),
                checked.details,
                checked.facts,
            )
        checked.details.append(
            Message(
                "step.supabase.read-bound.verified",
                {"role": APP_ROLE, "bi": bi, "other": other},
            )
        )
        return checked

    def undo(self, ctx: StepContext) -> ApplyResult:
        conn = ctx.supabase_conn()
        state = self._state(ctx)
        result = ApplyResult()
        with conn.transaction():
            if state["pre_request"] == BOUND_FUNCTION:
                conn.execute(sql_text.render(conn, "supabase/read_bound_reset.sql"))
                result.changes.append(Message("step.supabase.read-bound.unhooked"))
            elif state["pre_request"] and state["chained"]:
                # The site's own function calls ours: dropping ours would break every request.
                result.notes.append(
                    Message(
                        "step.supabase.read-bound.kept_chained",
                        {"function": state["pre_request"], "ours": BOUND_FUNCTION},
                    )
                )
                result.incomplete = True
                return result
            if state["function_exists"]:
                conn.execute(
                    sql_text.render(
                        conn, "supabase/read_bound_drop_function.sql", schema=BOUND_SCHEMA
                    )
                )
                result.changes.append(Message("step.supabase.read-bound.dropped"))
            others = db.one(
                conn.execute(
                    "SELECT count(*) FROM pg_depend d JOIN pg_namespace n ON n.oid = d.refobjid"
                    " WHERE d.refclassid = 'pg_namespace'::regclass AND n.nspname = %s",
                    (BOUND_SCHEMA,),
                )
            )[0]
            exists = conn.execute(
                "SELECT 1 FROM pg_namespace WHERE nspname = %s", (BOUND_SCHEMA,)
            ).fetchone()
            if exists and not others:
                conn.execute(
                    sql_text.render(
                        conn, "supabase/read_bound_drop_schema.sql", schema=BOUND_SCHEMA
                    )
                )
            conn.execute(sql_text.render(conn, "supabase/read_bound_notify.sql"))
        return result
