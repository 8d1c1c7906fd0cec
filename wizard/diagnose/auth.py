"""Logging in: the password (keyring, DW role, user mappings), the pg_hba.conf rule that
decides, and TLS on the way in."""

from __future__ import annotations

from wizard.diagnose.classify import HBA_TEXT
from wizard.diagnose.core import (
    CONFIRMED,
    LIKELY,
    POSSIBLE,
    Diagnosis,
    Fix,
    excerpt,
    fix,
    msg,
    nothing,
    seen,
)
from wizard.diagnose.dispatch import handles
from wizard.diagnose.investigation import FDW, SUPABASE, Investigation
from wizard.diagnose.network import cannot_connect
from wizard.i18n import Message
from wizard.measure import probes
from wizard.measure.probes import ProbeResult


@handles("password-failed")
def password_failed(inv: Investigation) -> list[Diagnosis]:
    """The wizard's own logins: the keyring's password, tried for real. Supabase's login as the
    reader: the role's password storage, the keyring against the role, then the mappings."""
    side = inv.side()
    ep = inv.endpoint(side)
    if side != FDW:
        evidence: list[Message] = []
        secret = inv.secret(ep.secret)
        if secret is not None and ep.host:
            attempt = ep.login(secret, side)
            evidence.append(attempt.message)
            if attempt.outcome == "ok":
                return [nothing(evidence)]
        cause = msg("diagnose.cause.wrong_secret", user=ep.user, secret=ep.secret)
        fixes = [fix("diagnose.fix.secret_set", secret=ep.secret)]
        confidence = CONFIRMED if evidence else LIKELY
        return [Diagnosis("wrong-password", cause, evidence, fixes, confidence)]
    reader = inv.cfg.reader.name
    conn = inv.local()
    evidence = []
    if conn is not None:
        storage = probes.guarded("password", lambda: probes.password_storage(conn, reader))
        inv.skip(storage)
        evidence += seen(storage)
        if storage.outcome == "no-role":
            cause = msg("diagnose.cause.reader_missing", role=reader)
            fixes = [fix("diagnose.fix.reader_role")]
            return [Diagnosis("reader-missing", cause, evidence, fixes, CONFIRMED)]
        rule = _reader_rule(inv, "ssl" if ep.sslmode != "disable" else "nossl")
        if rule is not None:
            evidence += seen(rule)
        method = rule.data.get("method") if rule is not None else None
        if storage.outcome == "md5":
            cause = msg("diagnose.cause.md5", role=reader, method=method or "?")
            confidence = CONFIRMED if method == "scram-sha-256" else LIKELY
            fixes = [fix("diagnose.fix.rehash")]
            return [Diagnosis("md5-password-storage", cause, evidence, fixes, confidence)]
        secret = inv.secret("reader")
        verifier = conn.execute(
            "SELECT rolpassword FROM pg_authid WHERE rolname = %s", (reader,)
        ).fetchone()
        if secret is not None and verifier is not None:
            from wizard.dwhost.scram import verifier_matches

            if not verifier_matches(verifier[0], secret):
                evidence.append(msg("diagnose.evidence.keyring_differs", role=reader))
                cause = msg("diagnose.cause.reader_password_changed", role=reader)
                fixes = [fix("diagnose.fix.reader_password"), fix("diagnose.fix.mappings")]
                return [Diagnosis("wrong-password", cause, evidence, fixes, CONFIRMED)]
            evidence.append(msg("diagnose.evidence.keyring_matches", role=reader))
    # The DW role and the keyring agree: the user mapping holds another password.
    broken = _broken_mappings(inv, evidence, "password authentication failed")
    if not broken and not inv.inp.text and inv.fdw_results:
        return [nothing(evidence)]
    confidence = CONFIRMED if broken else (POSSIBLE if inv.fdw_results else LIKELY)
    cause = msg("diagnose.cause.mapping_password", roles=", ".join(broken) or "?")
    fixes = [fix("diagnose.fix.mappings")]
    return [Diagnosis("wrong-password", cause, evidence, fixes, confidence)]


def _broken_mappings(inv: Investigation, evidence: list[Message], needle: str = "") -> list[str]:
    """Mapped roles whose FDW login fails (optionally: with ``needle`` in the error)."""
    broken: list[str] = []
    for role in inv.cfg.fdw.map_roles:
        result = inv.fdw_login(role)
        if result is None:
            return broken
        evidence.append(result.message)
        error = str(result.data.get("error", "")).lower()
        if result.outcome == "failed" and needle.lower() in error:
            broken.append(role)
    return broken


def _reader_rule(inv: Investigation, conn_type: str) -> ProbeResult | None:
    path = inv.hba_path()
    if path is None:
        return None
    result = probes.hba_first_match(
        path, conn_type, inv.cfg.local.database, inv.cfg.reader.name, inv.sample_address()
    )
    inv.skip(result)
    return None if result.skipped else result


@handles("no-hba-entry")
def no_hba_entry(inv: Investigation) -> list[Diagnosis]:
    """Which pg_hba.conf line the login meets first, with and without TLS: no line, a reject
    line, a hostssl line for a login without TLS, or a file that the server has not reloaded."""
    cfg = inv.cfg
    found = HBA_TEXT.search(inv.inp.text)
    side = inv.side()
    if found:
        address, user, database, encryption = found.groups()
        conn_type = "nossl" if encryption in ("no encryption", "SSL off") else "ssl"
    else:
        address = inv.sample_address()
        user = cfg.reader.name if side == FDW else cfg.local.superuser
        database = cfg.local.database
        sslmode = inv.server_option("sslmode") if side == FDW else None
        conn_type = "nossl" if sslmode == "disable" else "ssl"
    if side == SUPABASE:
        cause = msg("diagnose.cause.supabase_hba", user=user)
        text = [msg("diagnose.evidence.text", text=excerpt(inv.inp.text))]
        fixes = [fix("diagnose.fix.set_config", key="supabase.user / supabase.sslmode")]
        return [Diagnosis("no-hba-entry", cause, text, fixes, LIKELY)]
    no_rule = msg("diagnose.cause.no_hba", user=user, database=database, address=address)
    path = inv.hba_path()
    if path is None or not probes.is_ip(address):
        return [Diagnosis("no-hba-entry", no_rule, [], [fix("diagnose.fix.hba")], LIKELY)]
    other = "ssl" if conn_type == "nossl" else "nossl"
    this = probes.hba_first_match(path, conn_type, database, user, address)
    that = probes.hba_first_match(path, other, database, user, address)
    for r in (this, that):
        inv.skip(r)
    evidence = seen(this, that)
    rejected = "rejects connection" in inv.inp.lowered
    if this.outcome == "match" and not (rejected or found):
        return [nothing(evidence)]
    hba_and_reload = [fix("diagnose.fix.hba"), fix("diagnose.fix.reload")]
    if this.outcome == "match":
        # The file would let it in but the server did not: the file changed after the last reload.
        cause = msg("diagnose.cause.hba_not_reloaded", path=path)
        fixes = [fix("diagnose.fix.reload")]
        return [Diagnosis("hba-not-reloaded", cause, evidence, fixes, CONFIRMED)]
    if conn_type == "nossl" and that.outcome == "match" and this.outcome != "match":
        fixes = (
            [fix("diagnose.fix.server_sslmode")]
            if side == FDW
            else [fix("diagnose.fix.client_sslmode")]
        )
        cause = msg("diagnose.cause.ssl_required", user=user, line=that.data.get("line", "?"))
        return [Diagnosis("ssl-required", cause, evidence, fixes, CONFIRMED)]
    if this.outcome == "reject":
        cause = msg("diagnose.cause.hba_reject", line=this.data.get("line", "?"), user=user)
        return [Diagnosis("hba-reject", cause, evidence, hba_and_reload, CONFIRMED)]
    if this.outcome == "skipped":
        confidence = LIKELY
    else:
        confidence = CONFIRMED if this.outcome == "none" else POSSIBLE
    return [Diagnosis("no-hba-entry", no_rule, evidence, hba_and_reload, confidence)]


@handles("ssl")
def ssl(inv: Investigation) -> list[Diagnosis]:
    """Does the server speak TLS right now (PostgreSQL's SSLRequest, before any login)?"""
    side = inv.side()
    ep = inv.endpoint(side)
    if not ep.host:
        return cannot_connect(inv)
    hello = probes.ssl_request(ep.host, ep.port)
    inv.skip(hello)
    evidence = seen(hello)
    if hello.outcome == "no-tls":
        fixes: list[Fix]
        if side == SUPABASE:
            fixes = [fix("diagnose.fix.set_config", key="supabase.host / supabase.port")]
        else:
            fixes = [fix("diagnose.fix.tls"), fix("diagnose.fix.restart")]
        cause = msg("diagnose.cause.ssl_off", host=ep.host, port=ep.port)
        return [Diagnosis("ssl-not-supported", cause, evidence, fixes, CONFIRMED)]
    if hello.outcome == "tls":
        if not inv.inp.text:
            return [nothing(evidence)]
        cause = msg("diagnose.cause.ssl_now_on", host=ep.host, port=ep.port)
        fixes = [fix("diagnose.fix.wait_and_log")]
        return [Diagnosis("intermittent", cause, evidence, fixes, POSSIBLE)]
    return cannot_connect(inv)


@handles("password-required")
def password_required(inv: Investigation) -> list[Diagnosis]:
    """postgres_fdw's "password is required": a mapping without a password, or a DW rule
    (trust/peer) that never asks for one. Supabase's postgres is not a superuser."""
    lowered = inv.inp.lowered
    evidence: list[Message] = []
    broken = _broken_mappings(inv, evidence, "must provide a password")
    if broken or "must provide a password" in lowered:
        cause = msg("diagnose.cause.mapping_no_password", roles=", ".join(broken) or "?")
        fixes = [fix("diagnose.fix.mappings")]
        return [Diagnosis("mapping-without-password", cause, evidence, fixes, CONFIRMED)]
    rule = _reader_rule(inv, "ssl")
    method = rule.data.get("method") if rule is not None else None
    if rule is not None:
        evidence.insert(0, rule.message)
    no_password = method in ("trust", "peer", "ident", "cert")
    failing = _broken_mappings(inv, [], "does not request a password")
    if not no_password and not failing and "does not request" not in lowered:
        return [nothing(evidence)]
    cause = msg("diagnose.cause.trust", method=method or "?", role=inv.cfg.reader.name)
    fixes = [fix("diagnose.fix.hba_scram"), fix("diagnose.fix.reload")]
    confidence = CONFIRMED if no_password or failing else LIKELY
    return [Diagnosis("password-not-requested", cause, evidence, fixes, confidence)]
