"""local.reader-role: the read-only role Supabase logs in as (runbook 1.2, hardened).

The password is generated (43 URL-safe characters), kept in the keyring, and sent to the server
only as a SCRAM verifier made on the client, so it never appears in the server's log.
"""

from __future__ import annotations

import secrets as pysecrets
from typing import Any

from wizard import db, sql_text
from wizard.dwhost.scram import make_verifier, verifier_matches
from wizard.engine import (
    ApplyResult,
    CheckResult,
    NoteAction,
    NotUndoable,
    Plan,
    SqlAction,
    Status,
    Step,
    StepError,
)
from wizard.i18n import Message
from wizard.step_context import StepContext

PASSWORD_BYTES = 32  # token_urlsafe(32) -> 43 characters

WRITE_PRIVILEGES = ("INSERT", "UPDATE", "DELETE", "TRUNCATE")

# Step memory `created` while CREATE ROLE may or may not have run (written just before it).
CREATED_PENDING = "pending"


def _role_row(conn: Any, role: str) -> tuple[Any, ...] | None:
    row = conn.execute(
        "SELECT a.rolcanlogin, a.rolsuper, a.rolpassword, a.rolconnlimit, r.rolconfig"
        " FROM pg_authid a JOIN pg_roles r ON r.oid = a.oid WHERE a.rolname = %s",
        (role,),
    ).fetchone()
    return tuple(row) if row is not None else None


def table_owners(conn: Any, schema: str, tables: list[str]) -> list[str]:
    rows = conn.execute(
        "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = %s"
        " AND tablename = ANY(%s) ORDER BY 1",
        (schema, tables),
    ).fetchall()
    return [r[0] for r in rows]


def _owners(ctx: StepContext, conn: Any) -> list[str]:
    configured = ctx.config.reader.tables_owner
    if configured != "auto":
        return [configured]
    local = ctx.config.local
    return table_owners(conn, local.source_schema, list(ctx.config.fdw.tables))


def _privilege_gaps(conn: Any, role: str, ctx: StepContext, owners: list[str]) -> list[Message]:
    """Everything the role lacks (or has too much of), as messages."""
    local = ctx.config.local
    gaps: list[Message] = []
    ok = conn.execute(
        "SELECT has_database_privilege(%s, %s, 'CONNECT'), has_schema_privilege(%s, %s, 'USAGE')",
        (role, local.database, role, local.source_schema),
    ).fetchone()
    if not ok[0]:
        gaps.append(Message("step.local.reader-role.gap_connect", {"database": local.database}))
    if not ok[1]:
        gaps.append(Message("step.local.reader-role.gap_usage", {"schema": local.source_schema}))
    unreadable = [
        r[0]
        for r in conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'v', 'm', 'f')"
            " AND NOT has_table_privilege(%s, c.oid, 'SELECT') ORDER BY 1",
            (local.source_schema, role),
        ).fetchall()
    ]
    if unreadable:
        gaps.append(
            Message("step.local.reader-role.gap_select", {"tables": ", ".join(unreadable[:10])})
        )
    writable = [
        r[0]
        for r in conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = %s AND c.relkind IN ('r', 'p')"
            " AND (has_table_privilege(%s, c.oid, 'INSERT') OR has_table_privilege(%s, c.oid,"
            " 'UPDATE') OR has_table_privilege(%s, c.oid, 'DELETE')"
            " OR has_table_privilege(%s, c.oid, 'TRUNCATE')) ORDER BY 1",
            (local.source_schema, role, role, role, role),
        ).fetchall()
    ]
    if writable:
        gaps.append(
            Message("step.local.reader-role.gap_writable", {"tables": ", ".join(writable[:10])})
        )
    for owner in owners:
        present = conn.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_default_acl d"
            " JOIN pg_namespace n ON n.oid = d.defaclnamespace"
            " JOIN pg_roles o ON o.oid = d.defaclrole,"
            " LATERAL aclexplode(d.defaclacl) a"
            " WHERE n.nspname = %s AND o.rolname = %s AND d.defaclobjtype = 'r'"
            " AND a.grantee = (SELECT oid FROM pg_roles WHERE rolname = %s)"
            " AND a.privilege_type = 'SELECT')",
            (local.source_schema, owner, role),
        ).fetchone()[0]
        if not present:
            gaps.append(Message("step.local.reader-role.gap_default", {"owner": owner}))
    return gaps


def password_statement(cfg: Any, verifier: Any, *, exists: bool) -> tuple[Any, Message]:
    """CREATE ROLE (or, for a role that exists, a new password) with ``verifier``: the plan's
    placeholder, a real SCRAM verifier, or export-sql's psql variable."""
    template = "local/reader_password.sql" if exists else "local/reader_create.sql"
    statement = sql_text.compose(
        template, role=cfg.reader.name, limit=cfg.reader.connection_limit, verifier=verifier
    )
    key = "password" if exists else "create"
    return statement, Message(f"step.local.reader-role.{key}", {"role": cfg.reader.name})


def grant_statements(cfg: Any, owners: list[Any]) -> list[tuple[Any, Message]]:
    """The role's read-only setting and grants, and the default privileges of each owner (a
    name, or export-sql's stand-in for an owner the DW computes)."""
    role, schema = cfg.reader.name, cfg.local.source_schema
    out = [
        (sql_text.compose(template, role=role, **params), Message(key, {"role": role}))
        for template, key, params in (
            ("local/reader_read_only.sql", "step.local.reader-role.read_only", {}),
            ("local/reader_connect.sql", "step.local.reader-role.connect",
             {"database": cfg.local.database}),
            ("local/reader_usage.sql", "step.local.reader-role.usage", {"schema": schema}),
            ("local/reader_select.sql", "step.local.reader-role.select", {"schema": schema}),
        )
    ]  # fmt: skip
    for owner in owners:
        statement = sql_text.compose(
            "local/reader_default_privileges.sql", role=role, owner=owner, schema=schema
        )
        out.append((statement, Message("step.local.reader-role.default", {"owner": owner})))
    return out


class ReaderRole(Step):
    id = "local.reader-role"
    phase = "local"
    requires = ("prereq.local-connection",)
    settings_keys = ("reader.name", "reader.tables_owner", "reader.connection_limit")
    secret_keys = ("reader",)

    def _stored_password(self, ctx: StepContext) -> str | None:
        from wizard.secrets import SecretMissing

        try:
            return str(ctx.secrets.get("reader"))
        except SecretMissing:
            return None

    def check(self, ctx: StepContext) -> CheckResult:
        conn = ctx.local_conn()
        role = ctx.config.reader.name
        row = _role_row(conn, role)
        if row is None:
            return CheckResult(
                Status.PENDING, Message("step.local.reader-role.missing", {"role": role})
            )
        can_login, is_super, verifier, _limit, role_config = row
        details: list[Message] = []
        if is_super:
            # A superuser "reader" could write anything: never accept it, never "fix" it silently.
            return CheckResult(
                Status.FAILED, Message("step.local.reader-role.superuser", {"role": role})
            )
        if not can_login:
            details.append(Message("step.local.reader-role.nologin"))
        if verifier and not str(verifier).startswith("SCRAM-SHA-256$"):
            details.append(Message("step.local.reader-role.md5"))
        password = self._stored_password(ctx)
        if password is None:
            details.append(Message("step.local.reader-role.no_secret"))
        elif not verifier_matches(verifier, password):
            details.append(Message("step.local.reader-role.password_mismatch"))
        if "default_transaction_read_only=on" not in (role_config or []):
            details.append(Message("step.local.reader-role.gap_read_only"))
        details.extend(_privilege_gaps(conn, role, ctx, _owners(ctx, conn)))
        facts = {"role": role, "password_encryption_of_role": str(verifier or "")[:13]}
        if details:
            return CheckResult(
                Status.PENDING,
                Message("step.local.reader-role.incomplete", {"role": role}),
                details=details,
                facts=facts,
            )
        return CheckResult(
            Status.DONE, Message("step.local.reader-role.ok", {"role": role}), facts=facts
        )

    def plan(self, ctx: StepContext) -> Plan:
        conn = ctx.local_conn()
        cfg = ctx.config
        role = cfg.reader.name
        row = _role_row(conn, role)
        pw_enc = db.one(conn.execute("SHOW password_encryption"))[0]
        plan = Plan(self.id)
        if pw_enc != "scram-sha-256":
            plan.warnings.append(Message("step.local.reader-role.pw_enc", {"value": pw_enc}))
        if row is not None and row[1]:
            raise StepError(Message("step.local.reader-role.superuser", {"role": role}))
        password = self._stored_password(ctx)
        needs_password = (
            row is None or password is None or not verifier_matches(row[2], password) or not row[0]
        )
        if needs_password:
            # The verifier placeholder is computed in apply (fresh salt, fresh password).
            statement, description = password_statement(
                cfg, sql_text.VERIFIER_PLACEHOLDER, exists=row is not None
            )
            plan.actions.append(SqlAction("local", statement.as_string(conn), description))
            plan.actions.append(NoteAction(Message("step.local.reader-role.keyring_note")))
        elif row is not None and row[3] != cfg.reader.connection_limit:
            plan.actions.append(
                SqlAction(
                    "local",
                    sql_text.render(
                        conn, "local/reader_limit.sql", role=role, limit=cfg.reader.connection_limit
                    ),
                    Message("step.local.reader-role.limit", {"role": role}),
                )
            )
        owners = _owners(ctx, conn)
        if not owners:
            plan.warnings.append(Message("step.local.reader-role.no_tables"))
        for statement, description in grant_statements(cfg, owners):
            plan.actions.append(SqlAction("local", statement.as_string(conn), description))
        return plan

    def _created_by_wizard(
        self, ctx: StepContext, memory: dict[str, Any], row: tuple[Any, ...]
    ) -> bool:
        """Whether the existing role ``row`` is one this step created (so undo may drop it).

        ``created`` is written as ``pending`` before CREATE ROLE runs and ``True`` right after:
        a run that died in between left ``pending``. The role is then ours only if its password
        is the one the wizard generated (stored in the keyring before CREATE ROLE ran): a role
        someone else created under that name cannot carry it. A role that existed before the
        step first ran (``preexisted``) is never ours.
        """
        if memory.get("preexisted"):
            return False
        created = memory.get("created")
        if created is True:
            return True
        if created != CREATED_PENDING:
            return False
        password = self._stored_password(ctx)
        return password is not None and verifier_matches(row[2], password)

    def apply(self, ctx: StepContext, plan: Plan) -> ApplyResult:
        conn = ctx.local_conn()
        role = ctx.config.reader.name
        result = ApplyResult()
        memory = ctx.recall(self.id)
        row = _role_row(conn, role)
        if row is not None:
            if self._created_by_wizard(ctx, memory, row):
                ctx.remember(self.id, created=True, role=role)  # a pending create that happened
            else:
                # Written before anything changes: undo never drops a role it did not create.
                ctx.remember(self.id, created=None, preexisted=True, role=role)
        for action in plan.actions:
            if not isinstance(action, SqlAction):
                continue
            statement = action.sql
            creates = False
            if sql_text.VERIFIER_PLACEHOLDER in statement:
                password = pysecrets.token_urlsafe(PASSWORD_BYTES)
                where = ctx.store_secret("reader", password)  # stored before the role uses it
                result.changes.append(Message("step.local.reader-role.stored", {"where": where}))
                verifier = make_verifier(conn, password, role)
                placeholder = sql_text.literal(conn, sql_text.VERIFIER_PLACEHOLDER)
                statement = statement.replace(placeholder, sql_text.literal(conn, verifier))
                creates = row is None
            if creates:
                # Durable before the role exists: if the run dies after CREATE ROLE (before
                # the end of this step), rollback still knows the wizard created it.
                ctx.remember(self.id, created=CREATED_PENDING, preexisted=None, role=role)
            ctx.progress(self.id, action.description)
            conn.execute(statement)
            if creates:
                ctx.remember(self.id, created=True)
            result.changes.append(action.description)
        return result

    def verify(self, ctx: StepContext) -> CheckResult:
        checked = self.check(ctx)
        if checked.status is not Status.DONE:
            return checked
        return self._prove_read_only(ctx, checked)

    def _prove_read_only(self, ctx: StepContext, checked: CheckResult) -> CheckResult:
        """A real login as the reader: a read succeeds, a write is refused."""
        import psycopg

        cfg = ctx.config
        table = cfg.fdw.tables[0] if cfg.fdw.tables else None
        try:
            conn = ctx.open_local(
                user=cfg.reader.name, password=ctx.secret("reader"), autocommit=False
            )
        except db.DbError as exc:
            if exc.kind == "db.err.no_hba":
                # No rule for the reader from here yet (local.hba decides); privileges are proven.
                checked.details.append(Message("step.local.reader-role.login_later"))
                return checked
            raise
        with conn:
            if table is None:
                return checked
            ident = sql_text.identifier(cfg.local.source_schema, table)
            conn.execute(f"SELECT 1 FROM {ident} LIMIT 1")
            try:
                conn.execute(f"DELETE FROM {ident} WHERE false")
            except psycopg.errors.InsufficientPrivilege:
                conn.rollback()
            except psycopg.errors.ReadOnlySqlTransaction:
                conn.rollback()
            else:
                conn.rollback()
                return CheckResult(
                    Status.FAILED,
                    Message("step.local.reader-role.can_write", {"table": table}),
                )
        checked.details.append(Message("step.local.reader-role.proven", {"table": table}))
        return checked

    def undo(self, ctx: StepContext) -> ApplyResult:
        conn = ctx.local_conn()
        cfg = ctx.config
        memory = ctx.recall(self.id)
        role = str(memory.get("role") or cfg.reader.name)
        row = _role_row(conn, role)
        if row is None:
            ctx.remember(self.id, created=None, preexisted=None, role=None)
            raise NotUndoable(Message("step.local.reader-role.nothing_to_undo", {"role": role}))
        ours = self._created_by_wizard(ctx, memory, row)
        result = ApplyResult()
        params = {"role": role, "schema": cfg.local.source_schema, "database": cfg.local.database}
        conn.execute(sql_text.render(conn, "local/reader_undo.sql", **params))
        for owner in _owners(ctx, conn):
            conn.execute(
                sql_text.render(
                    conn, "local/reader_undo_default_privileges.sql", owner=owner, **params
                )
            )
        result.changes.append(Message("step.local.reader-role.revoked", {"role": role}))
        if ours:
            owned = conn.execute(
                sql_text.render(conn, "local/reader_owns.sql", role_name=role)
            ).fetchone()
            if owned and owned[0]:
                # Someone made it own objects: dropping them is not the wizard's call.
                result.changes.append(Message("step.local.reader-role.kept", {"role": role}))
                result.notes.append(
                    Message("step.local.reader-role.owns", {"role": role, "count": owned[0]})
                )
                result.incomplete = True
                return result
            # Grants other steps gave it (aggregate views...) would block DROP ROLE.
            conn.execute(sql_text.render(conn, "local/reader_drop_privileges.sql", role=role))
            conn.execute(sql_text.render(conn, "local/reader_drop.sql", role=role))
            result.changes.append(Message("step.local.reader-role.dropped", {"role": role}))
        else:
            result.changes.append(Message("step.local.reader-role.kept", {"role": role}))
        ctx.remember(self.id, created=None, preexisted=None, role=None)
        return result
