"""Secrets in the OS keyring (Windows Credential Manager, Secret Service, KWallet, macOS Keychain).

Read order for :meth:`SecretStore.get`: environment variable ``FDW_WIZARD_SECRET_<NAME>`` ->
keyring -> sandbox file (throwaway clusters only) -> interactive prompt -> :class:`SecretMissing`.

The keyring backend is checked before use (FIELD-GUIDE §7): ``keyring`` silently falls back to
a plaintext file when keyrings.alt is installed and no real keyring exists, so a backend that
is a fail/null/plaintext one is refused unless the operator opts in, and ``backend_report``
proves the chosen one with a set/get/delete round trip.

Every error carries a :class:`~wizard.i18n.Message` (``.message``, ``.fix``); ``str()`` is the
English text and never contains a secret value. Every value read or written is registered with
:mod:`wizard.redact` so that logs and events mask it.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import re
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from secrets import token_hex
from typing import Any, Literal

import keyring
import keyring.errors
from keyring.backend import KeyringBackend

from wizard import redact
from wizard.i18n import Message, t

SERVICE = "fdw-wizard"
DEFAULT_NAMESPACE = "default"
ENV_PREFIX = "FDW_WIZARD_SECRET_"
ENV_ALLOW_INSECURE = "FDW_WIZARD_ALLOW_INSECURE_KEYRING"

# CredWrite refuses a CredentialBlob over CRED_MAX_CREDENTIAL_BLOB_SIZE (5 * 512 bytes); keyring
# stores UTF-16-LE, so ~1280 characters. Past it Windows answers 1783 "The stub received bad data".
WINDOWS_BLOB_LIMIT = 2560
WINERROR_NO_LOGON_SESSION = 1312
WINERROR_BAD_STUB_DATA = 1783

Source = Literal["env", "keyring", "sandbox-file", "missing"]

# keyring finds its backend lazily and not thread-safely: one thread iterates the set of backend
# classes while another, importing a backend module, adds to it ("RuntimeError: Set changed size
# during iteration"; the TUI's welcome probe and its first step both ask at startup). Everything
# here that can make keyring discover or classify backends holds this lock.
_KEYRING_DISCOVERY = threading.RLock()


@dataclass(frozen=True)
class SecretSpec:
    """One named secret the wizard knows about."""

    name: str
    description: Message

    @property
    def env_var(self) -> str:
        return env_var_name(self.name)


SECRETS: dict[str, SecretSpec] = {
    spec.name: spec
    for spec in (
        SecretSpec("local-superuser", Message("secrets.desc.local-superuser")),
        SecretSpec("reader", Message("secrets.desc.reader")),
        SecretSpec("supabase-db", Message("secrets.desc.supabase-db")),
        SecretSpec("supabase-anon-key", Message("secrets.desc.supabase-anon-key")),
        SecretSpec("supabase-service-key", Message("secrets.desc.supabase-service-key")),
    )
}


# Where `fdw-wizard demo` writes the throwaway clusters' passwords (JSON {name: value}, 0600),
# next to the config it writes; only read when the config says `sandbox: true`.
SANDBOX_SECRETS_FILENAME = "fdw-wizard-sandbox-secrets.json"


def sandbox_secrets_path(config_path: Path) -> Path:
    return config_path.parent / SANDBOX_SECRETS_FILENAME


def env_var_name(name: str) -> str:
    """``local-superuser`` -> ``FDW_WIZARD_SECRET_LOCAL_SUPERUSER``."""
    return ENV_PREFIX + name.upper().replace("-", "_")


def keyring_username(namespace: str, name: str) -> str:
    # The namespace keeps a sandbox's secrets apart from production's under the same service.
    return f"{namespace}:{name}"


# --------------------------------------------------------------------------------------- errors


class SecretsError(Exception):
    """Base of every error of this module: a Message to render, and an optional fix."""

    def __init__(self, message: Message, fix: Message | None = None) -> None:
        super().__init__(message.key)
        self.message = message
        self.fix = fix

    def __str__(self) -> str:
        text = self.message.render("en")
        if self.fix is not None:
            text += " " + self.fix.render("en")
        # Params never hold values, but a backend's own error text might echo one back.
        return redact.redact(text)


class UnknownSecret(SecretsError):
    """A name that is not in :data:`SECRETS`."""


class SecretMissing(SecretsError):
    """No source had the secret (and no prompt was allowed or answered)."""


class BackendUnusable(SecretsError):
    """The keyring backend is a fail/null one, or insecure and not opted in."""


class SecretTooLong(SecretsError):
    """The value does not fit the backend (Windows Credential Manager's 2560 bytes)."""


class InvalidSecret(SecretsError):
    """An empty value, or an unreadable sandbox file."""


class KeyringOperationError(SecretsError):
    """The backend raised while reading, writing or deleting."""


# -------------------------------------------------------------------------------- backend report


@dataclass
class BackendReport:
    """What ``keyring`` would use, and whether fdw-wizard may use it."""

    name: str
    priority: float | None
    usable: bool
    insecure: bool
    chained: list[str] = field(default_factory=list)
    problem: Message | None = None
    fix: Message | None = None

    def to_json(self, lang: str | None = None) -> dict[str, Any]:
        """A JSON-ready dict; with ``lang`` the messages also carry their rendered text."""

        def msg(m: Message | None) -> dict[str, Any] | None:
            if m is None:
                return None
            out = m.to_json()
            if lang is not None:
                out["text"] = m.render(lang)
            return out

        return {
            "name": self.name,
            "priority": self.priority,
            "usable": self.usable,
            "insecure": self.insecure,
            "chained": list(self.chained),
            "problem": msg(self.problem),
            "fix": msg(self.fix),
        }


def backend_name(backend: KeyringBackend) -> str:
    cls = type(backend)
    return f"{cls.__module__}.{cls.__qualname__}"


def _priority(backend: KeyringBackend) -> float | None:
    # Some backends compute priority by probing the platform and raise when it is not there.
    try:
        return float(backend.priority)
    except Exception:
        return None


def _unwrap(backend: KeyringBackend) -> tuple[KeyringBackend | None, list[str]]:
    """The backend that would actually be used, and the chain it came from (if any)."""
    from keyring.backends.chainer import ChainerBackend

    if not isinstance(backend, ChainerBackend):
        return backend, []
    chained: list[KeyringBackend] = list(backend.backends)
    # Chainer writes to the first backend that accepts; they are sorted by priority.
    return (chained[0] if chained else None), [backend_name(b) for b in chained]


def _is_fail(backend: KeyringBackend | None) -> bool:
    from keyring.backends import fail

    return backend is None or isinstance(backend, fail.Keyring)


def _is_null(backend: KeyringBackend) -> bool:
    from keyring.backends import null

    return isinstance(backend, null.Keyring)


def _is_windows_vault(backend: KeyringBackend) -> bool:
    try:
        from keyring.backends.Windows import WinVaultKeyring
    except Exception:  # the module's optional imports are trapped, but stay safe
        return False
    return isinstance(backend, WinVaultKeyring)


def _is_insecure(backend: KeyringBackend) -> bool:
    prio = _priority(backend)
    return (
        _is_null(backend)
        or type(backend).__module__.startswith("keyrings.alt")
        or (prio is not None and prio < 1)
    )


def _storage_location(backend: KeyringBackend) -> str:
    # keyrings.alt file backends expose where they write; others we can only name.
    path = getattr(backend, "file_path", None)
    return str(path) if path else backend_name(backend)


def _platform_kind() -> str:
    if sys.platform == "win32":
        return "windows"
    if sys.platform == "darwin":
        return "macos"
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return "linux-desktop"
    return "linux-headless"


def _no_keyring_fix() -> Message:
    return Message(f"secrets.fix.no-keyring.{_platform_kind()}", {"env_prefix": ENV_PREFIX})


def _insecure_problem(backend: KeyringBackend) -> Message:
    return Message(
        "secrets.problem.insecure",
        {
            "backend": backend_name(backend),
            "path": _storage_location(backend),
            "env": ENV_ALLOW_INSECURE,
        },
    )


# ------------------------------------------------------------------------- windows error mapping


def _iter_causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception, what it wraps in args, and its cause/context chain (cycle-safe)."""
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    while stack:
        cur = stack.pop()
        if id(cur) in seen:
            continue
        seen.add(id(cur))
        yield cur
        stack.extend(a for a in cur.args if isinstance(a, BaseException))
        for nxt in (cur.__cause__, cur.__context__):
            if nxt is not None:
                stack.append(nxt)


_WINERROR_IN_TEXT = re.compile(r"\(\s*(1312|1783)\s*,\s*'Cred")


def windows_error_code(exc: BaseException) -> int | None:
    """The Windows error code behind ``exc``: ``.winerror``, ``args[0]``, or a wrapped one."""
    for cur in _iter_causes(exc):
        code = getattr(cur, "winerror", None)
        if isinstance(code, int):
            return code
        # Only the two codes we map: a bare int in args[0] is also what an errno looks like.
        first = cur.args[0] if cur.args else None
        if first in (WINERROR_NO_LOGON_SESSION, WINERROR_BAD_STUB_DATA) and isinstance(first, int):
            return first
        # PasswordSetError(str(pywintypes.error)) keeps only the text "(1783, 'CredWrite', ...)".
        for arg in cur.args:
            if isinstance(arg, str):
                found = _WINERROR_IN_TEXT.search(arg)
                if found:
                    return int(found.group(1))
    return None


def _operation_error(exc: BaseException, op: str, name: str) -> SecretsError:
    """Turn whatever a backend raised into plain words."""
    code = windows_error_code(exc)
    if code == WINERROR_NO_LOGON_SESSION:
        return KeyringOperationError(
            Message("secrets.error.win-1312"),
            Message("secrets.fix.win-1312", {"env_prefix": ENV_PREFIX}),
        )
    if code == WINERROR_BAD_STUB_DATA:
        return SecretTooLong(
            Message("secrets.error.win-1783", {"name": name, "limit": WINDOWS_BLOB_LIMIT}),
            Message("secrets.fix.too-long", {"env_var": env_var_name(name)}),
        )
    if isinstance(exc, keyring.errors.KeyringLocked):
        return KeyringOperationError(Message("secrets.error.locked"), Message("secrets.fix.locked"))
    if isinstance(exc, keyring.errors.NoKeyringError):
        return BackendUnusable(Message("secrets.problem.no-keyring"), _no_keyring_fix())
    detail = redact.redact(f"{type(exc).__name__}: {exc}")
    return KeyringOperationError(
        Message(f"secrets.error.{op}", {"name": name, "detail": detail}),
        Message("secrets.fix.generic", {"env_var": env_var_name(name)}),
    )


ENV_KEYRING_BACKEND = "PYTHON_KEYRING_BACKEND"
# keyring's own backends, for "did you mean" even where they are not viable (another OS).
_WELL_KNOWN = (
    "keyring.backends.SecretService.Keyring",
    "keyring.backends.Windows.WinVaultKeyring",
    "keyring.backends.macOS.Keyring",
    "keyring.backends.kwallet.DBusKeyring",
    "keyring.backends.libsecret.Keyring",
    "keyring.backends.fail.Keyring",
    "keyring.backends.null.Keyring",
)


def _backend_choices() -> list[str]:
    """Importable backend class names ``PYTHON_KEYRING_BACKEND`` may name on this machine."""
    from keyring.backend import get_all_keyring

    names = set()
    with _KEYRING_DISCOVERY:
        found_all = get_all_keyring()
    for found in found_all:
        cls = type(found)
        names.add(f"{cls.__module__}.{cls.__qualname__}")
    return sorted(names)


def _bad_backend_env(exc: Exception) -> BackendReport | None:
    """A report for a ``PYTHON_KEYRING_BACKEND`` that names no loadable backend (keyring
    raises ImportError/AttributeError/ValueError deep inside), or None when it is not set."""
    import difflib

    from wizard.safetext import visible

    value = os.environ.get(ENV_KEYRING_BACKEND)
    if not value:
        return None
    choices = _backend_choices()
    close = difflib.get_close_matches(value, sorted({*choices, *_WELL_KNOWN}), n=1, cutoff=0.6)
    params = {
        "var": ENV_KEYRING_BACKEND,
        "value": visible(value),
        "detail": visible(f"{type(exc).__name__}: {exc}"),
        "choices": ", ".join(choices) or "-",
    }
    fix = (
        Message("input.keyring.backend_env.suggest", {**params, "suggestion": close[0]})
        if close
        else Message("input.keyring.backend_env.fix", params)
    )
    return BackendReport(
        name=visible(value),
        priority=None,
        usable=False,
        insecure=False,
        problem=Message("input.keyring.backend_env", params),
        fix=fix,
    )


# ----------------------------------------------------------------------------------- the store


class SecretStore:
    """Named secrets for one config namespace.

    ``backend`` defaults to whatever ``keyring`` picks (``keyring.get_keyring()``); pass one to
    pin it (tests, or a caller that already chose).
    """

    def __init__(
        self,
        namespace: str = DEFAULT_NAMESPACE,
        *,
        allow_insecure_backend: bool = False,
        sandbox_file: Path | None = None,
        interactive: bool = False,
        prompt: Callable[[str], str] = getpass.getpass,
        backend: KeyringBackend | None = None,
    ) -> None:
        if not namespace or ":" in namespace:
            raise InvalidSecret(Message("secrets.error.namespace", {"namespace": namespace}))
        self.namespace = namespace
        self.allow_insecure_backend = allow_insecure_backend or (
            os.environ.get(ENV_ALLOW_INSECURE, "").strip().lower() in ("1", "true", "yes")
        )
        self.sandbox_file = sandbox_file
        self.interactive = interactive
        self.prompt = prompt
        self._configured = backend
        self._classified: BackendReport | None = None
        self._effective: KeyringBackend | None = None

    # -- public API -----------------------------------------------------------------------

    @staticmethod
    def spec(name: str) -> SecretSpec:
        try:
            return SECRETS[name]
        except KeyError:
            raise UnknownSecret(
                Message("secrets.error.unknown", {"name": name, "valid": ", ".join(SECRETS)})
            ) from None

    def get(self, name: str) -> str:
        """The secret's value from the first source that has it; raises SecretMissing."""
        spec = self.spec(name)
        found = self._lookup(spec)
        if found is not None:
            return found[1]
        if self.interactive:
            label = t("secrets.prompt.value", None, description=t(spec.description.key), name=name)
            value = self.prompt(label)
            if value:
                redact.register(value)
                return value
        report = self._classify()
        raise SecretMissing(
            Message("secrets.error.missing", {"name": name, "env_var": spec.env_var}),
            report.fix if not report.usable else None,
        )

    def describe(self, name: str) -> Source:
        """Where ``get`` would find the secret, without prompting."""
        found = self._lookup(self.spec(name))
        return "missing" if found is None else found[0]

    def set(self, name: str, value: str) -> None:
        """Store a value in the keyring (never in the env or the sandbox file)."""
        spec = self.spec(name)
        if not value:
            raise InvalidSecret(Message("secrets.error.empty", {"name": name}))
        redact.register(value)
        backend = self._require_backend()
        self._check_size(backend, spec.name, value)
        try:
            backend.set_password(SERVICE, keyring_username(self.namespace, name), value)
        except Exception as exc:
            raise _operation_error(exc, "set", name) from None

    def delete(self, name: str) -> bool:
        """Remove the keyring entry; False when there was none."""
        self.spec(name)
        backend = self._require_backend()
        username = keyring_username(self.namespace, name)
        try:
            existing = backend.get_password(SERVICE, username)
            redact.register(existing)
            if existing is None:
                return False
            backend.delete_password(SERVICE, username)
        except keyring.errors.PasswordDeleteError:
            return False
        except Exception as exc:
            raise _operation_error(exc, "delete", name) from None
        return True

    def backend_report(self, *, probe: bool = True) -> BackendReport:
        """Classify the backend, then (``probe``) prove it with a set/get/delete round trip."""
        report = self._classify()
        backend = self._effective
        if not probe or not report.usable or backend is None:
            return report
        problem = self._probe(backend)
        if problem is not None:
            report.usable = False
            report.problem, report.fix = problem.message, problem.fix
        return report

    # -- internals ------------------------------------------------------------------------

    def _lookup(self, spec: SecretSpec) -> tuple[Source, str] | None:
        env_value = os.environ.get(spec.env_var)
        if env_value:
            redact.register(env_value)
            return "env", env_value
        if self._classify().usable and self._effective is not None:
            try:
                value = self._effective.get_password(
                    SERVICE, keyring_username(self.namespace, spec.name)
                )
            except Exception as exc:
                raise _operation_error(exc, "get", spec.name) from None
            if value:
                redact.register(value)
                return "keyring", value
        file_value = self._from_sandbox_file(spec.name)
        if file_value:
            return "sandbox-file", file_value
        return None

    def _from_sandbox_file(self, name: str) -> str | None:
        if self.sandbox_file is None or not self.sandbox_file.exists():
            return None
        try:
            data = json.loads(self.sandbox_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InvalidSecret(
                Message(
                    "secrets.error.sandbox-file",
                    {"path": str(self.sandbox_file), "detail": type(exc).__name__},
                )
            ) from None
        value = data.get(name) if isinstance(data, dict) else None
        if isinstance(value, str) and value:
            redact.register(value)
            return value
        return None

    def _backend(self) -> KeyringBackend:
        return self._configured if self._configured is not None else keyring.get_keyring()

    def _classify(self) -> BackendReport:
        """Cheap checks only (no I/O against the keyring); cached per store."""
        with _KEYRING_DISCOVERY:
            return self._classify_unlocked()

    def _classify_unlocked(self) -> BackendReport:
        if self._classified is not None:
            return replace(self._classified, chained=list(self._classified.chained))
        try:
            outer = self._backend()
        except Exception as exc:
            bad = _bad_backend_env(exc)
            if bad is None:
                raise
            self._classified = bad
            return replace(bad, chained=[])
        effective, chained = _unwrap(outer)
        self._effective = effective
        usable, insecure = True, False
        problem: Message | None = None
        fix: Message | None = None
        if effective is None or _is_fail(effective):
            usable, problem, fix = False, Message("secrets.problem.no-keyring"), _no_keyring_fix()
        elif _is_insecure(effective):
            insecure = True
            usable = self.allow_insecure_backend and not _is_null(effective)
            if _is_null(effective):
                # The null backend stores nothing at all: no opt-in can make it work.
                problem = Message("secrets.problem.null", {"backend": backend_name(effective)})
            elif usable:
                problem = Message(
                    "secrets.warning.insecure-allowed",
                    {"backend": backend_name(effective), "path": _storage_location(effective)},
                )
            else:
                problem = _insecure_problem(effective)
            fix = None if usable else _no_keyring_fix()
        # Named after the backend that would store (the outer one when nothing would).
        shown = effective if effective is not None else outer
        report = BackendReport(
            name=backend_name(shown),
            priority=_priority(shown),
            usable=usable,
            insecure=insecure,
            chained=chained,
            problem=problem,
            fix=fix,
        )
        self._classified = report
        # A copy, so that a caller (or the probe) editing it does not change the cached verdict.
        return replace(report, chained=list(report.chained))

    def _require_backend(self) -> KeyringBackend:
        report = self._classify()
        if not report.usable or self._effective is None:
            raise BackendUnusable(
                report.problem or Message("secrets.problem.no-keyring"), report.fix
            )
        return self._effective

    @staticmethod
    def _check_size(backend: KeyringBackend, name: str, value: str) -> None:
        if not _is_windows_vault(backend):
            return
        size = len(value.encode("utf-16-le"))
        if size > WINDOWS_BLOB_LIMIT:
            raise SecretTooLong(
                Message(
                    "secrets.error.too-long",
                    {
                        "name": name,
                        "size": size,
                        "limit": WINDOWS_BLOB_LIMIT,
                        "chars": WINDOWS_BLOB_LIMIT // 2,
                    },
                ),
                Message("secrets.fix.too-long", {"env_var": env_var_name(name)}),
            )

    def _probe(self, backend: KeyringBackend) -> SecretsError | None:
        """Write, read back and delete a random value under a probe username."""
        username = keyring_username(self.namespace, f"__probe__-{token_hex(4)}")
        value = token_hex(16)
        step = "set"
        try:
            backend.set_password(SERVICE, username, value)
            step = "get"
            got = backend.get_password(SERVICE, username)
            if got != value:
                # Best effort: do not leave the probe entry behind in a keyring we distrust.
                with contextlib.suppress(Exception):
                    backend.delete_password(SERVICE, username)
                return KeyringOperationError(
                    Message("secrets.problem.probe-mismatch", {"backend": backend_name(backend)}),
                    Message("secrets.fix.probe-failed", {"env_prefix": ENV_PREFIX}),
                )
            step = "delete"
            backend.delete_password(SERVICE, username)
        except Exception as exc:
            mapped = _operation_error(exc, step, "probe")
            if (
                mapped.message.key.startswith("secrets.error.")
                and "detail" in mapped.message.params
            ):
                # Unrecognized failure: say which step broke and keep the technical detail.
                detail = mapped.message.params["detail"]
                return KeyringOperationError(
                    Message("secrets.problem.probe-failed", {"step": step, "detail": detail}),
                    Message("secrets.fix.probe-failed", {"env_prefix": ENV_PREFIX}),
                )
            return mapped
        return None
