"""validate.offline (runbook Fase 4: "Testar fallback quando FDW offline").

The app's read of a BI view as PostgREST runs it (authenticated, its role settings,
request.path, the pre-request function of supabase.read-bound) while the foreign server points
— inside a transaction that is always rolled back — at an outage: refused (a port nobody
listens on), partitioned (packets to and from the port dropped by nftables: no RST, no ACK —
:mod:`wizard.testbed.partition`, Linux + root + nft only, else reported as not measurable here) and
hung (a listener that never answers), each for a fresh connection and for a warm one (made
through a proxy to the DW that then freezes, drops it or is cut off). Every read must end,
with an error the app acts on, within ``fdw.api_read_bound_s``, or the app's Storage fallback
comes too late. Warm reads, refused and partitioned ports need Supabase to share this
machine's loopback (the sandbox); elsewhere ``validation.offline_probe_host`` gives the hung
address and the rest is reported as not measurable from here.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

from wizard.engine import CheckResult, Status, Step
from wizard.i18n import Message
from wizard.measure import monitor, outage
from wizard.step_context import StepContext
from wizard.steps.validate_reuse import (
    APP_ROLE,
    _fresh,
    _now,
    _reused_result,
    fingerprint,
    reusable,
)
from wizard.testbed import partition

OFFLINE_MARGIN_S = 0.5  # over fdw.api_read_bound_s: the API's own work (HTTP, pool, JSON)
OFFLINE_CAP_EXTRA_S = 6.0  # how much longer than the bound (8 s role timeout + 1) to wait
OFFLINE_CASES = tuple(
    (kind, session) for session in outage.SESSIONS for kind in outage.OUTAGE_KINDS
)
VIEW_REQUIRES = ("views.clientes-360", "views.frota-360")


class Offline(Step):
    """Runbook Fase 4: "Testar fallback quando FDW offline"."""

    id = "validate.offline"
    phase = "validate"
    requires = ("supabase.test-queries", *VIEW_REQUIRES)
    settings_keys = ("validation.offline_probe_host",)

    def check(self, ctx: StepContext) -> CheckResult:
        fp = fingerprint(ctx)
        entry = reusable(ctx, self.id, fp)
        pending = ctx.background.pop(self.id, None)
        usable = isinstance(pending, _Prefetch) and pending.fingerprint == fp and entry is None
        if pending is not None and not usable:
            pending.stop()  # taken out of the run's care: stopped here, never left running
        if entry is not None:
            return _reused_result(entry)
        if isinstance(pending, _Prefetch) and usable:
            ctx.progress(self.id, Message("step.validate.offline.collecting"))
            result = pending.wait()
            if result is not None:
                return _fresh(ctx, self.id, fp, result, pending.started_at)
            pending.stop()  # past its cap: measure here instead, alone
        at = _now()
        return _fresh(ctx, self.id, fp, self._measure(ctx, ctx.supabase_conn(), ctx.progress), at)

    @classmethod
    def prefetch(cls, ctx: StepContext, fp: str) -> None:
        """Start this step's measurement in the background (on connections of its own) when
        this run will check it and the check would measure: validate.latency calls it before
        its reads. A run without validate.offline (``--only validate.latency``) starts nothing:
        a measurement nobody collects would only slow the reads it overlaps."""
        cfg = ctx.config
        if cls.id not in ctx.run_step_ids or cls.id in ctx.background:
            return
        if reusable(ctx, cls.id, fp):
            return
        from wizard.testbed.blackhole import is_loopback

        if not cfg.validation.offline_probe_host.strip() and not is_loopback(cfg.supabase.host):
            return  # nothing to measure until validation.offline_probe_host is set
        pending = _Prefetch(ctx, fp)
        ctx.background[cls.id] = pending
        pending.start()

    def _measure(
        self,
        ctx: StepContext,
        conn: Any,
        progress: Any,
        stopping: threading.Event | None = None,
    ) -> CheckResult:
        """Every outage case in turn (``stopping`` set: no further case is started)."""
        from wizard.steps.supabase_bound import (
            VIEW_NAMES,
            bound_seconds,
            role_settings,
        )
        from wizard.steps.supabase_fdw import current_server
        from wizard.testbed.blackhole import is_loopback

        cfg = ctx.config
        server = current_server(conn, cfg.fdw.server_name)
        if server is None:
            return CheckResult(
                Status.FAILED,
                Message("step.validate.offline.no_server", {"server": cfg.fdw.server_name}),
            )
        bound = bound_seconds(cfg)
        views = [
            (getattr(cfg.views, key).schema_name, name)
            for key, name in VIEW_NAMES
            if getattr(cfg.views, key).enabled
        ]
        if not views:
            return CheckResult(Status.NOT_APPLICABLE, Message("step.validate.offline.no_view"))
        pre_request = role_settings(conn, "authenticator").get("pgrst.db_pre_request")
        app = outage.AppRequest(
            APP_ROLE,
            tuple(role_settings(conn, APP_ROLE).items()),
            pre_request,
            views[0][0],
            views[0][1],
        )
        version = int(conn.execute("SHOW server_version_num").fetchone()[0])
        cap = max(bound, self._role_timeout_s(conn)) + OFFLINE_CAP_EXTRA_S
        facts: dict[str, Any] = {
            "bound_s": bound,
            "limit_s": bound + OFFLINE_MARGIN_S,  # what a read is judged by (the API's own work)
            "relation": f"{app.schema}.{app.relation}",
            "pre_request": pre_request,
            "server_version_num": version,
            "server_connect_timeout": server[1].get("connect_timeout"),
        }
        details: list[Message] = []
        if not pre_request:
            details.append(Message("step.validate.offline.no_bound"))
        addresses = outage.resolved_addresses(cfg.exposure.public_host, cfg.exposure.public_port)
        facts["dw_addresses"] = addresses
        if addresses > 1 and version < 160000:
            details.append(
                Message(
                    "step.validate.offline.addresses",
                    {
                        "host": cfg.exposure.public_host,
                        "count": addresses,
                        "worst": addresses * cfg.fdw.connect_timeout_s,
                    },
                )
            )
        probe = cfg.validation.offline_probe_host.strip()
        shares_loopback = is_loopback(cfg.supabase.host)
        if not probe and not shares_loopback:
            return CheckResult(
                Status.PENDING,
                Message("step.validate.offline.need_probe_host"),
                [*details, Message("step.validate.offline.need_probe_host.how")],
                facts,
            )
        cases: list[outage.Outage] = []
        not_measured: list[dict[str, str]] = []
        no_partition = partition.unavailable() if shares_loopback else None
        for kind, session in OFFLINE_CASES:
            if stopping is not None and stopping.is_set():
                break
            label = f"{kind}, {session}"
            if not shares_loopback and not (kind == "hung" and session == "fresh"):
                details.append(Message("step.validate.offline.not_here", {"kind": label}))
                not_measured.append({"kind": label, "reason": "loopback", "detail": ""})
                continue
            if kind == "partitioned" and no_partition is not None:
                reason, detail = no_partition
                details.append(
                    Message(
                        f"step.validate.offline.no_partition.{reason}",
                        {"kind": label, "detail": detail},
                    )
                )
                not_measured.append({"kind": label, "reason": reason, "detail": detail})
                continue
            progress(
                self.id,
                Message("step.validate.offline.measuring", {"kind": f"{kind}, {session}"}),
            )
            cases.append(
                outage.api_outage(
                    lambda: monitor.open_supabase(ctx),
                    conn,
                    cfg.fdw.server_name,
                    app,
                    kind=kind,
                    session=session,
                    dw=(cfg.local.host, cfg.local.port) if shares_loopback else None,
                    probe=outage.parse_host_port(probe, cfg.exposure.public_port)
                    if probe and not shares_loopback
                    else None,
                    cap_s=cap,
                )
            )
        facts["cases"] = [c.to_json() for c in cases]
        facts["not_measured"] = not_measured
        by_label = {c.label: c for c in cases}
        main = by_label.get("hung, fresh")
        facts["probe"] = main.to_json() if main else None  # the CLI's and dashboard's line
        refused = by_label.get("refused, fresh")
        facts["refused"] = refused.to_json() if refused else None
        for case in cases:
            details.append(self._case_line(case, bound))
        failure = self._failure(cases, cfg.fdw.server_name)
        if failure is not None:
            return CheckResult(Status.FAILED, failure, details, facts)
        slow = [c for c in cases if not c.within(bound, OFFLINE_MARGIN_S)]
        if slow:
            worst = max(slow, key=lambda c: c.seconds if c.seconds is not None else 1e9)
            fixes = [Message("step.validate.offline.slow.fix_bound")] if not pre_request else []
            if version < 160000 and any(c.session == "fresh" for c in slow):
                fixes.append(Message("step.validate.offline.slow.fix_pg15", {"bound": bound}))
            return CheckResult(
                Status.FAILED,
                Message(
                    "step.validate.offline.slow",
                    {
                        "count": len(slow),
                        "total": len(cases),
                        "kind": worst.label,
                        "seconds": "> " + f"{cap:g}" if worst.hung else worst.seconds,
                        "bound": bound,
                    },
                ),
                [*details, *fixes],
                facts,
            )
        slowest = max(cases, key=lambda c: c.seconds or 0.0)
        return CheckResult(
            Status.DONE,
            Message(
                "step.validate.offline.ok",
                {"count": len(cases), "seconds": slowest.seconds, "bound": bound},
            ),
            details,
            facts,
        )

    @staticmethod
    def _failure(cases: list[outage.Outage], server: str) -> Message | None:
        """The first of: a case left its server behind, a case failed, the app answered."""
        if any(not c.cleaned for c in cases):
            return Message("step.validate.offline.left_behind", {"server": server})
        broken = next((c for c in cases if c.problem), None)
        if broken is not None:
            return Message("step.validate.offline.problem", {"error": broken.problem})
        answered = next((c for c in cases if c.answered), None)
        if answered is not None:
            return Message("step.validate.offline.answered", {"address": answered.address})
        return None

    @staticmethod
    def _case_line(case: outage.Outage, bound: float) -> Message:
        if case.hung:
            return Message("step.validate.offline.case_hung", {"kind": case.label})
        if case.problem or case.answered:
            error = case.problem or "answered"
            return Message(
                "step.validate.offline.case_problem", {"kind": case.label, "error": error}
            )
        within = case.within(bound, OFFLINE_MARGIN_S)
        return Message(
            "step.validate.offline.case" if within else "step.validate.offline.case_over",
            {
                "kind": case.label,
                "seconds": case.seconds,
                "status": case.http_status or "-",
                "sqlstate": case.sqlstate or "-",
                "bound": bound,
            },
        )

    @staticmethod
    def _role_timeout_s(conn: Any) -> float:
        from wizard.steps.supabase_bound import role_settings, timeout_ms

        value = role_settings(conn, APP_ROLE).get("statement_timeout")
        return (timeout_ms(conn, value) or 0) / 1000


class _Prefetch:
    """validate.offline's measurement running in a thread while validate.latency reads.

    It uses connections of its own (the context's is busy with the reads) and reports no
    progress (the events belong to the step that runs); validate.offline collects it. Left
    uncollected (the step was blocked, the run cancelled), the run's end stops it: no case
    starts after that, the one under way ends within its cap, and its objects lived only in a
    transaction that is rolled back."""

    def __init__(self, ctx: StepContext, fp: str) -> None:
        self.ctx = ctx
        self.fingerprint = fp
        self.started_at = _now()
        self.result: CheckResult | None = None
        self.error: BaseException | None = None
        # Every case, each capped at the role's timeout + OFFLINE_CAP_EXTRA_S (+5 s to free it).
        self.case_cap_s = 8.0 + OFFLINE_CAP_EXTRA_S + 5.0
        self.cap_s = len(OFFLINE_CASES) * self.case_cap_s + 10.0
        self._stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="fdw-offline-prefetch", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _run(self) -> None:
        conn = None
        try:
            conn = monitor.open_supabase(self.ctx)
            self.result = Offline()._measure(
                self.ctx, conn, lambda step_id, message: None, self._stopping
            )
        except Exception as exc:  # the step measures again in its own check
            self.error = exc
        finally:
            if conn is not None:
                with contextlib.suppress(Exception):
                    conn.close()

    def wait(self) -> CheckResult | None:
        self.thread.join(self.cap_s)
        return None if self.thread.is_alive() else self.result

    def stop(self) -> None:
        """No further case; wait for the one under way (bounded by its cap)."""
        self._stopping.set()
        self.thread.join(self.case_cap_s)
