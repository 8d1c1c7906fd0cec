"""Reaching the server: names, routes, ports, firewalls, a stopped service, the public address.

``cannot-connect`` is the entry for most of them: DNS, then TCP, then PostgreSQL's hello, then a
real login; each probe either names the cause or hands over to the next one.
"""

from __future__ import annotations

import ipaddress
import re

from wizard.diagnose.classify import Input, family
from wizard.diagnose.core import (
    CONFIRMED,
    LIKELY,
    POSSIBLE,
    Diagnosis,
    Fix,
    fix,
    msg,
    nothing,
    seen,
    unexplained,
)
from wizard.diagnose.dispatch import handles, run
from wizard.diagnose.investigation import FDW, SUPABASE, Endpoint, Investigation
from wizard.i18n import Message
from wizard.measure import probes
from wizard.measure.probes import ProbeResult

_SUPABASE_DIRECT = re.compile(r"^db\.[a-z0-9]+\.supabase\.co$", re.I)


@handles("cannot-connect")
def cannot_connect(inv: Investigation) -> list[Diagnosis]:
    """Server down / service stopped vs firewall dropping vs wrong port vs DNS vs
    listen_addresses not covering the interface, from what the probes see right now."""
    side = inv.side()
    ep = inv.endpoint(side)
    if not ep.host:
        key = "supabase.host" if side == SUPABASE else "exposure.public_host"
        cause = msg("diagnose.cause.not_configured", key=key)
        fixes = [fix("diagnose.fix.set_config", key=key)]
        return [Diagnosis("not-configured", cause, [], fixes, CONFIRMED)]
    dns = probes.resolve(ep.host)
    inv.skip(dns)
    if dns.outcome in ("failed", probes.TIMEOUT):
        return _dns_failure(ep, dns)
    tcp = probes.tcp_connect(ep.host, ep.port)
    evidence = seen(dns, tcp) if not probes.is_ip(ep.host) else seen(tcp)
    if tcp.outcome == probes.REFUSED:
        return _refused(inv, ep, evidence)
    if tcp.outcome == probes.TIMEOUT:
        return _dropped(inv, ep, evidence)
    if tcp.outcome == probes.UNREACHABLE:
        return _unreachable(ep, evidence, dns)
    if tcp.outcome != probes.OPEN:
        return [unexplained(inv.inp.text, evidence)]
    where = {"host": ep.host, "port": ep.port}
    hello = probes.ssl_request(ep.host, ep.port)
    evidence.append(hello.message)
    if hello.outcome == "silent":
        cause = msg("diagnose.cause.blackhole", **where)
        fixes = _firewall_fixes(side)
        return [Diagnosis("firewall-or-blackhole", cause, evidence, fixes, CONFIRMED)]
    if hello.outcome == "not-postgres":
        cause = msg("diagnose.cause.not_postgres", **where)
        return [Diagnosis("wrong-port", cause, evidence, _port_fixes(side), CONFIRMED)]
    up = probes.server_answers(ep.host, ep.port)
    evidence.append(up.message)
    if up.outcome == "down":
        cause = msg("diagnose.cause.starting", **where)
        fixes = [fix("diagnose.fix.wait_and_log")]
        return [Diagnosis("server-starting", cause, evidence, fixes, LIKELY)]
    # It answers now: log in for real and diagnose what that says, if anything.
    secret = inv.secret(ep.secret)
    if secret is not None:
        attempt = ep.login(secret, side)
        evidence.append(attempt.message)
        if attempt.outcome != "ok" and not inv.inp.symptom:
            detail = str(attempt.data.get("detail", ""))
            found = _as_other_family(inv, detail, attempt.data.get("sqlstate"), evidence)
            if found is not None:
                return found
    if side == FDW:
        fdw = inv.fdw_login("postgres")
        if fdw is not None:
            evidence.append(fdw.message)
            if fdw.outcome == "failed":
                found = _as_other_family(inv, str(fdw.data.get("error", "")), None, evidence)
                if found is not None:
                    return found
    if not inv.inp.text:
        return [nothing(evidence)]
    cause = msg("diagnose.cause.intermittent", **where)
    fixes = [fix("diagnose.fix.wait_and_log")]
    return [Diagnosis("intermittent", cause, evidence, fixes, POSSIBLE)]


def _as_other_family(
    inv: Investigation, text: str, sqlstate: str | None, evidence: list[Message]
) -> list[Diagnosis] | None:
    """The diagnoses of the error a real login gave, when it is not "cannot connect" (the
    probes so far come first in their evidence); None when it tells nothing new."""
    again = Input(text, sqlstate, None, inv.inp.step_id)
    if family(again) in (None, "cannot-connect"):
        return None
    found = run(inv.ctx, again)
    for item in found:
        item.evidence[:0] = evidence
    return found


def _local_server_state(inv: Investigation) -> tuple[ProbeResult, ProbeResult]:
    """(the service as the OS sees it, does the DW answer on its configured local port)."""
    lc = inv.cfg.local
    service = probes.service_state(lc)
    inv.skip(service)
    answers = probes.server_answers(lc.host, lc.port)
    return service, answers


def _service_target(inv: Investigation) -> str:
    lc = inv.cfg.local
    if lc.service != "auto":
        return str(lc.service)
    if lc.data_dir != "auto":
        return str(lc.data_dir)
    return f"{lc.host}:{lc.port}"


def _server_down(inv: Investigation, evidence: list[Message], confidence: str) -> Diagnosis:
    target = _service_target(inv)
    cause = msg("diagnose.cause.server_down", target=target)
    return Diagnosis("server-down", cause, evidence, [_start_fix(target)], confidence)


def _start_fix(target: str) -> Fix:
    return fix("diagnose.fix.start_server", target=target)


def _refused(inv: Investigation, ep: Endpoint, evidence: list[Message]) -> list[Diagnosis]:
    if ep.side == SUPABASE:
        cause = msg("diagnose.cause.refused_supabase", host=ep.host, port=ep.port)
        fixes = [fix("diagnose.fix.set_config", key="supabase.host / supabase.port")]
        return [Diagnosis("wrong-port", cause, evidence, fixes, LIKELY)]
    service, answers = _local_server_state(inv)
    evidence = evidence + seen(service, answers)
    stopped = service.outcome in ("stopped", "not-found")
    if stopped or (answers.outcome == "down" and service.outcome != "running"):
        proved = stopped or _is_loopback(ep.host)
        return [_server_down(inv, evidence, CONFIRMED if proved else LIKELY)]
    if answers.outcome == "down":
        # The OS says running but nothing answers: crashed, starting, or listening elsewhere.
        target = _service_target(inv)
        cause = msg("diagnose.cause.server_not_answering", target=target)
        fixes = [_start_fix(target), fix("diagnose.fix.wait_and_log")]
        return [Diagnosis("server-down", cause, evidence, fixes, LIKELY)]
    # The server runs and answers on its own port: the refused address/port is the problem.
    actual_port, listen = inv.cfg.local.port, ""
    conn = inv.local()
    if conn is not None:
        try:
            row = conn.execute(
                "SELECT current_setting('port')::int, current_setting('listen_addresses')"
            ).fetchone()
            actual_port, listen = int(row[0]), str(row[1])
        except Exception as exc:
            inv.probe_failed("settings", exc)
    if ep.port != actual_port:
        cause = msg("diagnose.cause.wrong_port", port=ep.port, actual=actual_port)
        return [Diagnosis("wrong-port", cause, evidence, _port_fixes(ep.side), CONFIRMED)]
    evidence.append(msg("diagnose.evidence.listen", value=listen or "?"))
    cause = msg("diagnose.cause.listen", host=ep.host, port=ep.port, value=listen or "?")
    fixes = [fix("diagnose.fix.listen"), fix("diagnose.fix.restart")]
    confidence = LIKELY if not listen else CONFIRMED
    return [Diagnosis("listen-addresses", cause, evidence, fixes, confidence)]


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _firewall_fixes(side: str) -> list[Fix]:
    if side == SUPABASE:
        return [fix("diagnose.fix.outbound_firewall")]
    return [fix("diagnose.fix.firewall"), fix("diagnose.fix.port_forward")]


def _port_fixes(side: str) -> list[Fix]:
    if side == FDW:
        return [fix("diagnose.fix.public_port")]
    key = "supabase.port" if side == SUPABASE else "local.port"
    return [fix("diagnose.fix.set_config", key=key)]


def _dropped(inv: Investigation, ep: Endpoint, evidence: list[Message]) -> list[Diagnosis]:
    found: list[Diagnosis] = []
    confidence = LIKELY
    if ep.side != SUPABASE:
        service, answers = _local_server_state(inv)
        evidence = evidence + seen(service, answers)
        if service.outcome in ("stopped", "not-found") or answers.outcome == "down":
            stopped = service.outcome == "stopped"
            found.append(_server_down(inv, list(evidence), CONFIRMED if stopped else LIKELY))
            confidence = POSSIBLE
        elif answers.outcome == "up":
            confidence = CONFIRMED  # it runs here, yet packets to the address are dropped
    cause = msg("diagnose.cause.firewall", host=ep.host, port=ep.port)
    found.append(
        Diagnosis("firewall-or-blackhole", cause, evidence, _firewall_fixes(ep.side), confidence)
    )
    return found


def _unreachable(ep: Endpoint, evidence: list[Message], dns: ProbeResult) -> list[Diagnosis]:
    families = set(dns.data.get("families", []))
    v6_only = families == {"ipv6"} or (":" in ep.host and probes.is_ip(ep.host))
    if v6_only or _SUPABASE_DIRECT.match(ep.host):
        return [_ipv6(ep.host, evidence, CONFIRMED if v6_only else LIKELY)]
    return [_no_route(ep.host, evidence, LIKELY)]


def _no_route(host: str, evidence: list[Message], confidence: str) -> Diagnosis:
    cause = msg("diagnose.cause.unreachable", host=host)
    return Diagnosis(
        "network-unreachable", cause, evidence, [fix("diagnose.fix.route")], confidence
    )


def _ipv6(host: str, evidence: list[Message], confidence: str) -> Diagnosis:
    cause = msg("diagnose.cause.ipv6", host=host)
    fixes = [fix("diagnose.fix.session_pooler")]
    return Diagnosis("ipv6-unreachable", cause, evidence, fixes, confidence)


@handles("network-unreachable")
def network_unreachable(inv: Investigation) -> list[Diagnosis]:
    """ "Network is unreachable": decided from the text (an IPv6 address, Supabase's direct
    host) and the configured host's DNS; hosts named only in pasted text are never probed."""
    inp = inv.inp
    shown = inp.address or inp.host or ""
    evidence = inv.pasted()
    host = inp.host or ""
    if ":" in shown and probes.is_ip(shown):
        return [_ipv6(host or shown, evidence, CONFIRMED)]
    if host and _SUPABASE_DIRECT.match(host):
        return [_ipv6(host, evidence, LIKELY)]
    ep = inv.endpoint(inv.side())
    if ep.host:
        dns = probes.resolve(ep.host)
        inv.skip(dns)
        return _unreachable(ep, evidence + seen(dns), dns)
    return [_no_route(host or "?", evidence, POSSIBLE)]


def _dns_failure(ep: Endpoint, dns: ProbeResult) -> list[Diagnosis]:
    key = {SUPABASE: "supabase.host", FDW: "exposure.public_host"}.get(ep.side, "local.host")
    cause = msg("diagnose.cause.dns", host=ep.host)
    fixes = [fix("diagnose.fix.dns", key=key)]
    return [Diagnosis("dns-failure", cause, seen(dns), fixes, CONFIRMED)]


@handles("dns")
def name_resolution(inv: Investigation) -> list[Diagnosis]:
    ep = inv.endpoint(inv.side())
    if not ep.host:
        return cannot_connect(inv)
    resolved = probes.resolve(ep.host)
    inv.skip(resolved)
    if resolved.outcome in ("failed", probes.TIMEOUT):
        return _dns_failure(ep, resolved)
    return [nothing(seen(resolved))]


@handles("cgnat")
def cgnat(inv: Investigation) -> list[Diagnosis]:
    """Is the public address one the Internet can reach (not CGNAT, private or loopback)?
    Classification only: nothing is sent."""
    host = inv.cfg.exposure.public_host
    if not host:
        key = "exposure.public_host"
        cause = msg("diagnose.cause.not_configured", key=key)
        fixes = [Fix(msg("diagnose.fix.set_config", key=key), "prereq.exposure")]
        return [Diagnosis("not-configured", cause, [], fixes, CONFIRMED)]
    kind = probes.address_kind(host)
    evidence = seen(kind)
    if kind.outcome == "cgnat":
        cause = msg("diagnose.cause.cgnat", host=host)
        return [Diagnosis("cgnat", cause, evidence, [fix("diagnose.fix.cgnat")], CONFIRMED)]
    if kind.outcome in ("private", "link-local") or (
        kind.outcome == "loopback" and not inv.cfg.sandbox
    ):
        cause = msg("diagnose.cause.private", host=host, kind=kind.outcome)
        fixes = [fix("diagnose.fix.public_address")]
        return [Diagnosis("private-address", cause, evidence, fixes, CONFIRMED)]
    return [nothing(evidence)]
