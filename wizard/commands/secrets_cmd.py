"""``fdw-wizard secrets set|check|delete [NAME]``: manage the secrets kept in the OS keyring.

There is deliberately no argument that takes a value: argv is visible to every user of the
machine (``ps``, Task Manager, shell history). ``set`` reads a hidden prompt on a terminal, or
one line of stdin in automation (``... | fdw-wizard secrets set reader``).
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from typing import Any, TextIO

from wizard import exitcodes, redact
from wizard.commands import CliContext
from wizard.config import ConfigError
from wizard.engine import StepError
from wizard.i18n import Message, t
from wizard.secrets import (
    DEFAULT_NAMESPACE,
    SECRETS,
    BackendReport,
    BackendUnusable,
    InvalidSecret,
    SecretMissing,
    SecretsError,
    SecretStore,
    UnknownSecret,
    sandbox_secrets_path,
)

ACTIONS = ("set", "check", "delete")


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "secrets",
        parents=[common],
        help=t("secrets.cli.help"),
        description=t("secrets.cli.description", names=", ".join(SECRETS)),
    )
    parser.add_argument("action", choices=ACTIONS, help=t("secrets.cli.action-help"))
    parser.add_argument(
        "name", nargs="?", metavar="NAME", help=t("secrets.cli.name-help", names=", ".join(SECRETS))
    )
    parser.add_argument("--namespace", default=None, help=t("secrets.cli.namespace-help"))
    # The shared parent may already define --json; adding it twice is an argparse error.
    if not any("--json" in action.option_strings for action in common._actions):
        parser.add_argument("--json", action="store_true", help=t("secrets.cli.json-help"))
    parser.set_defaults(handler=run)


class _Usage(Exception):
    def __init__(self, message: Message) -> None:
        super().__init__(message.key)
        self.message = message


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    as_json = bool(ctx.json or getattr(args, "json", False))
    action: str = args.action
    name: str | None = args.name
    try:
        store = _store(args, ctx)
        if action == "check":
            return _check(store, name, ctx, as_json)
        if name is None:
            raise _Usage(Message("secrets.cli.name-required", {"action": action}))
        if action == "set":
            return _set(store, name, ctx, as_json)
        return _delete(store, name, ctx, as_json)
    except _Usage as exc:
        return _fail(ctx, as_json, action, exc.message, None, exitcodes.USAGE)
    except SecretsError as exc:
        return _fail(ctx, as_json, action, exc.message, exc.fix, _exit_code(exc))
    except StepError as exc:  # a malformed connection string, or a config it cannot take
        return _fail(ctx, as_json, action, exc.message, exc.fix, exitcodes.USAGE)
    except ConfigError as exc:
        return _fail(ctx, as_json, action, exc.messages[0], None, exitcodes.USAGE)


def _exit_code(exc: SecretsError) -> int:
    if isinstance(exc, UnknownSecret):
        return exitcodes.USAGE
    if isinstance(exc, SecretMissing | BackendUnusable):
        return exitcodes.OPERATOR
    return exitcodes.FAILED


def _store(args: argparse.Namespace, ctx: CliContext) -> SecretStore:
    """Namespace and opt-in from the config when there is one; --namespace wins."""
    namespace = DEFAULT_NAMESPACE
    allow_insecure = False
    sandbox_file = None
    try:
        # Lazy: the config module is optional for this command (no config yet -> defaults).
        from wizard.config import ConfigError, ConfigMissing, load_config
    except ImportError:
        pass
    else:
        try:
            config = load_config(ctx.config_path)
        except ConfigMissing:
            pass
        except ConfigError as exc:
            first = exc.messages[0] if exc.messages else Message("secrets.cli.config-invalid")
            raise _Usage(first) from None
        else:
            namespace = config.secrets.namespace
            allow_insecure = config.secrets.allow_insecure_backend
            if config.sandbox:
                sandbox_file = sandbox_secrets_path(ctx.config_path)
    if args.namespace:
        namespace = args.namespace
    return SecretStore(
        namespace,
        allow_insecure_backend=allow_insecure,
        sandbox_file=sandbox_file,
        interactive=False,  # `check` must never stop to ask
    )


# --------------------------------------------------------------------------------------- set


def _stdin_is_tty() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def _read_value(name: str, lang: str) -> str:
    # Decided by stdin itself, not ctx.interactive: a non-interactive run on a terminal must
    # still not echo the secret, and getpass hides it.
    if _stdin_is_tty():
        description = t(SECRETS[name].description.key, lang)
        first = getpass.getpass(t("secrets.prompt.value", lang, description=description, name=name))
        second = getpass.getpass(t("secrets.prompt.confirm", lang, name=name))
        if first != second:
            raise InvalidSecret(Message("secrets.cli.mismatch", {"name": name}))
        return first
    line = sys.stdin.readline() if sys.stdin is not None else ""
    # One line: strip only the line ending, so spaces that belong to a password survive.
    return line.removesuffix("\n").removesuffix("\r")


def _from_connection_string(value: str, ctx: CliContext) -> tuple[str, list[Message]]:
    """A pasted dashboard connection string: keep its password as the secret and write the
    rest (host, port, user, database) into fdw-wizard.yaml. A plain password passes through."""
    from wizard.supabase.supabase_dsn import (
        ConnectionStringError,
        looks_like_connection_string,
        notes_for,
        parse_connection_string,
    )

    if not looks_like_connection_string(value):
        return value, []
    dsn = parse_connection_string(value)  # ConnectionStringError names what is wrong
    if dsn.password is None:
        raise ConnectionStringError(Message("dsn.no_password"), Message("dsn.no_password.fix"))
    notes = notes_for(dsn)
    if ctx.config_path.exists():
        from wizard.config_edit import update_config_file

        update_config_file(
            ctx.config_path,
            "supabase",
            {"host": dsn.host, "port": dsn.port, "user": dsn.user, "database": dsn.database},
        )
        notes.append(
            Message("dsn.config_updated", {"path": str(ctx.config_path), "host": dsn.host})
        )
    else:
        notes.append(
            Message("dsn.no_config", {"host": dsn.host, "port": dsn.port, "user": dsn.user})
        )
    return dsn.password, notes


def _set(store: SecretStore, name: str, ctx: CliContext, as_json: bool) -> int:
    spec = store.spec(name)
    report = store.backend_report(probe=False)
    if not report.usable:
        # Fail before asking for a value the operator would have to type again.
        raise BackendUnusable(report.problem or Message("secrets.problem.no-keyring"), report.fix)
    value = _read_value(name, ctx.lang)
    warnings: list[Message] = []
    if name == "supabase-db":
        value, notes = _from_connection_string(value, ctx)
        warnings.extend(notes)
    store.set(name, value)
    if report.insecure and report.problem is not None:
        warnings.append(report.problem)
    if store.describe(name) == "env":
        warnings.append(Message("secrets.cli.env-overrides", {"env_var": spec.env_var}))
    done = Message(
        "secrets.cli.saved", {"name": name, "backend": report.name, "namespace": store.namespace}
    )
    document: dict[str, Any] = {"action": "set", "name": name, "namespace": store.namespace}
    document["backend"] = report.to_json(ctx.lang)
    return _done(ctx, as_json, document, done, warnings)


def _done(
    ctx: CliContext, as_json: bool, document: dict[str, Any], done: Message, warnings: list[Message]
) -> int:
    """A change made: its JSON document, or its sentence (and the warnings on stderr)."""
    if as_json:
        warned = [_msg_json(w, ctx.lang) for w in warnings]
        _emit_json(ctx, {"ok": True, **document, "warnings": warned})
    else:
        _say(ctx.out, done.render(ctx.lang))
        for warning in warnings:
            _say(ctx.err, t("secrets.cli.warning-prefix", ctx.lang) + warning.render(ctx.lang))
    return exitcodes.OK


# ------------------------------------------------------------------------------------ delete


def _delete(store: SecretStore, name: str, ctx: CliContext, as_json: bool) -> int:
    spec = store.spec(name)
    deleted = store.delete(name)
    key = "secrets.cli.deleted" if deleted else "secrets.cli.not-stored"
    done = Message(key, {"name": name, "namespace": store.namespace})
    warnings: list[Message] = []
    if store.describe(name) == "env":
        warnings.append(Message("secrets.cli.env-still-set", {"env_var": spec.env_var}))
    document = {"action": "delete", "name": name, "namespace": store.namespace, "deleted": deleted}
    return _done(ctx, as_json, document, done, warnings)


# ------------------------------------------------------------------------------------- check


def _check(store: SecretStore, name: str | None, ctx: CliContext, as_json: bool) -> int:
    names = [store.spec(name).name] if name is not None else list(SECRETS)
    report = store.backend_report()
    rows: list[dict[str, Any]] = []
    code = exitcodes.OK
    for each in names:
        spec = SECRETS[each]
        row: dict[str, Any] = {
            "name": each,
            "description": t(spec.description.key, ctx.lang),
            "env_var": spec.env_var,
        }
        try:
            row["source"] = store.describe(each)
        except SecretsError as exc:
            row["source"] = "error"
            row["error"] = _msg_json(exc.message, ctx.lang)
            code = max(code, exitcodes.FAILED)
        if row["source"] == "missing":
            code = exitcodes.OPERATOR
        rows.append(row)
    if as_json:
        _emit_json(
            ctx,
            {
                "ok": code == exitcodes.OK,
                "action": "check",
                "namespace": store.namespace,
                "backend": report.to_json(ctx.lang),
                "secrets": rows,
            },
        )
        return code
    _print_backend(report, ctx)
    _say(ctx.out, t("secrets.cli.namespace", ctx.lang, namespace=store.namespace))
    width = max(len(r["name"]) for r in rows)
    wheres = [t(f"secrets.source.{r['source']}", ctx.lang) for r in rows]
    where_width = max(len(w) for w in wheres)
    for row, where in zip(rows, wheres, strict=True):
        _say(ctx.out, f"  {row['name']:<{width}}  {where:<{where_width}}  {row['description']}")
        if row["source"] == "missing":
            hint = t("secrets.cli.missing-hint", ctx.lang, name=row["name"], env_var=row["env_var"])
            _say(ctx.out, f"  {'':<{width}}  {hint}")
        elif row["source"] == "error":
            _say(ctx.out, f"  {'':<{width}}  {row['error']['text']}")
    return code


def _print_backend(report: BackendReport, ctx: CliContext) -> None:
    state = "secrets.cli.backend-ok" if report.usable else "secrets.cli.backend-bad"
    _say(ctx.out, t(state, ctx.lang, backend=report.name))
    if report.chained:
        chain = ", ".join(report.chained)
        _say(ctx.out, "  " + t("secrets.cli.chained", ctx.lang, backends=chain))
    if report.problem is not None:
        _say(ctx.out, "  " + report.problem.render(ctx.lang))
    if report.fix is not None:
        _say(ctx.out, "  " + t("secrets.cli.fix-prefix", ctx.lang) + report.fix.render(ctx.lang))


# ----------------------------------------------------------------------------------- helpers


def _say(stream: TextIO, text: str) -> None:
    # Last line of defence: nothing we print may carry a value this process has seen.
    print(redact.redact(text), file=stream)


def _msg_json(message: Message, lang: str) -> dict[str, Any]:
    out = message.to_json()
    out["text"] = message.render(lang)
    return out


def _emit_json(ctx: CliContext, doc: dict[str, Any]) -> None:
    _say(ctx.out, json.dumps(doc, ensure_ascii=False, indent=2))


def _fail(
    ctx: CliContext, as_json: bool, action: str, message: Message, fix: Message | None, code: int
) -> int:
    if as_json:
        _emit_json(
            ctx,
            {
                "ok": False,
                "action": action,
                "error": _msg_json(message, ctx.lang),
                "fix": _msg_json(fix, ctx.lang) if fix is not None else None,
            },
        )
    _say(ctx.err, t("secrets.cli.error-prefix", ctx.lang) + message.render(ctx.lang))
    if fix is not None:
        _say(ctx.err, t("secrets.cli.fix-prefix", ctx.lang) + fix.render(ctx.lang))
    return code
