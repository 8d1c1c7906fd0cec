"""Phase 3: the Storage fallback readable as the app's role (``app.fallback-read``, issue 11
deliverable 5).

``app.fallback`` finds the fallback JSONs with the service key; the app reads them as the
logged-in user (``authenticated``), and Supabase Storage lists and downloads only what
``storage.objects``' row-level security lets that role see. Without a SELECT policy for the
bucket the list is empty and every download "Object not found": the fallback silently never
happens. This step counts the bucket's objects as ``authenticated`` and, when it sees fewer
than exist, offers one policy: SELECT, to authenticated, on this bucket only.
"""

from __future__ import annotations

from typing import Any

from wizard import sql_text
from wizard.engine import (
    ApplyResult,
    CheckResult,
    Plan,
    Risk,
    SqlAction,
    Status,
    Step,
)
from wizard.i18n import Message
from wizard.step_context import StepContext
from wizard.steps.supabase_fdw import run_actions

APP_ROLE = "authenticated"
POLICY = "fdw_wizard_fallback_read"


def _counts(conn: Any, bucket: str) -> tuple[int, int]:
    """(objects in the bucket, objects the app's role can see)."""
    total = conn.execute(
        "SELECT count(*) FROM storage.objects WHERE bucket_id = %s", (bucket,)
    ).fetchone()[0]
    with conn.transaction(force_rollback=True):
        conn.execute("SELECT set_config('role', %s, true)", (APP_ROLE,))
        visible = conn.execute(
            "SELECT count(*) FROM storage.objects WHERE bucket_id = %s", (bucket,)
        ).fetchone()[0]
    return int(total), int(visible)


def _policy_exists(conn: Any) -> bool:
    row = conn.execute(
        "SELECT 1 FROM pg_policies WHERE schemaname = 'storage' AND tablename = 'objects'"
        " AND policyname = %s",
        (POLICY,),
    ).fetchone()
    return row is not None


class FallbackRead(Step):
    id = "app.fallback-read"
    phase = "app"
    requires = ("app.fallback",)
    risks = frozenset({Risk.SECURITY})

    def check(self, ctx: StepContext) -> CheckResult:
        conn = ctx.supabase_conn()
        bucket = ctx.config.fallback.bucket
        total, visible = _counts(conn, bucket)
        facts = {"bucket": bucket, "objects": total, "visible": visible, "role": APP_ROLE}
        facts["policy"] = _policy_exists(conn)
        if total == 0:
            return CheckResult(
                Status.NOT_APPLICABLE,
                Message("step.app.fallback-read.empty", {"bucket": bucket}),
                [],
                facts,
            )
        params = {"role": APP_ROLE, "count": total, "bucket": bucket}
        if visible >= total:
            return CheckResult(Status.DONE, Message("step.app.fallback-read.ok", params), [], facts)
        return CheckResult(
            Status.PENDING,
            Message("step.app.fallback-read.hidden", {**params, "visible": visible}),
            [Message("step.app.fallback-read.why")],
            facts,
        )

    def plan(self, ctx: StepContext) -> Plan:
        from psycopg import sql

        plan = Plan(self.id)
        if self.check(ctx).status != Status.PENDING:
            return plan
        conn = ctx.supabase_conn()
        bucket = ctx.config.fallback.bucket
        if _policy_exists(conn):  # ours, but it no longer shows them: replace it
            plan.actions.append(
                SqlAction(
                    "supabase",
                    sql_text.render(
                        conn, "app/fallback_policy_drop.sql", policy=sql.Identifier(POLICY)
                    ),
                    Message("step.app.fallback-read.replace", {"policy": POLICY}),
                )
            )
        plan.actions.append(
            SqlAction(
                "supabase",
                sql_text.render(
                    conn,
                    "app/fallback_policy_create.sql",
                    policy=sql.Identifier(POLICY),
                    role=APP_ROLE,
                    bucket=bucket,
                ),
                Message(
                    "step.app.fallback-read.create",
                    {"policy": POLICY, "role": APP_ROLE, "bucket": bucket},
                ),
            )
        )
        plan.risks.add(Risk.SECURITY)
        plan.warnings.append(
            Message("step.app.fallback-read.warning", {"role": APP_ROLE, "bucket": bucket})
        )
        return plan

    def apply(self, ctx: StepContext, plan: Plan) -> ApplyResult:
        return run_actions(ctx, self.id, plan, ctx.supabase_conn())

    def verify(self, ctx: StepContext) -> CheckResult:
        return self.check(ctx)

    def undo(self, ctx: StepContext) -> ApplyResult:
        from psycopg import sql

        conn = ctx.supabase_conn()
        result = ApplyResult()
        if not _policy_exists(conn):
            result.notes.append(Message("step.app.fallback-read.nothing_to_undo"))
            return result
        with conn.transaction():
            conn.execute(
                sql_text.render(conn, "app/fallback_policy_drop.sql", policy=sql.Identifier(POLICY))
            )
        result.changes.append(Message("step.app.fallback-read.dropped", {"policy": POLICY}))
        return result
