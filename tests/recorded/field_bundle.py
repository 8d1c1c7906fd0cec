"""Replay a `fdw-wizard field-report` archive as recorded outputs — for the FAKE runner of the
tests only (wizard.dwhost.platform.runner.RecordedRunner) and the FAKE registry (MappingRegistry).

The first run on the operator's server becomes fixtures: drop the archive into
``tests/recorded/field/`` and feed its captures, with their exact argv, to the code that parses
them::

    bundle = FieldBundle.load(path)
    runner = bundle.runner("service.postgresql-x64-16.sc-query")
    svc = WindowsService("postgresql-x64-16", runner)
    svc.status()
    runner.assert_all_used()
"""

from __future__ import annotations

import json
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wizard.dwhost.field_report import FORMAT, MANIFEST
from wizard.dwhost.platform.runner import CommandResult, RecordedRunner, recorded
from wizard.dwhost.platform.windows import MappingRegistry


@dataclass(frozen=True)
class BundleCapture:
    name: str
    kind: str
    parser: str
    argv: list[str]
    returncode: int | None
    stdout: str
    stderr: str
    timed_out: bool
    not_found: bool
    data: Any

    def result(self) -> CommandResult:
        if self.kind != "command":
            raise ValueError(f"{self.name} is not a command capture ({self.kind})")
        return recorded(
            self.stdout,
            self.returncode or 0,
            self.stderr,
            timed_out=self.timed_out,
            not_found=self.not_found,
        )


@dataclass(frozen=True)
class FieldBundle:
    system: str
    captures: dict[str, BundleCapture]
    manifest: dict[str, Any]

    @classmethod
    def load(cls, path: Path) -> FieldBundle:
        with tarfile.open(path, mode="r:gz") as tar:
            texts: dict[str, str] = {}
            for member in tar.getmembers():
                if not member.isfile():
                    continue
                handle = tar.extractfile(member)
                if handle is not None:
                    texts[member.name] = handle.read().decode("utf-8")
        manifest = json.loads(texts[MANIFEST])
        if manifest.get("format") != FORMAT:
            raise ValueError(f"not a field report: format {manifest.get('format')!r}")
        captures = {}
        for entry in manifest["captures"]:
            captures[entry["name"]] = BundleCapture(
                name=entry["name"],
                kind=entry["kind"],
                parser=entry.get("parser", ""),
                argv=list(entry.get("argv") or []),
                returncode=entry.get("returncode"),
                stdout=texts.get(entry.get("stdout_file", ""), ""),
                stderr=texts.get(entry.get("stderr_file", ""), ""),
                timed_out=bool(entry.get("timed_out")),
                not_found=bool(entry.get("not_found")),
                data=entry.get("data"),
            )
        return cls(manifest["system"], captures, manifest)

    def __getitem__(self, name: str) -> BundleCapture:
        return self.captures[name]

    def names(self, prefix: str = "") -> list[str]:
        return [n for n in self.captures if n.startswith(prefix)]

    def script(self, names: Sequence[str]) -> list[tuple[list[str], CommandResult]]:
        """The conversation for RecordedRunner: each capture's exact argv and its output."""
        return [(self[n].argv, self[n].result()) for n in names]

    def runner(self, *names: str) -> RecordedRunner:
        return RecordedRunner(self.script(names))

    def registry(self) -> MappingRegistry:
        """The captured registry keys as the FAKE registry of the discovery tests."""
        return MappingRegistry(self["registry"].data)

    def all_text(self) -> str:
        """Everything the archive holds, as one string (for secret checks)."""
        return json.dumps(self.manifest) + "".join(
            c.stdout + c.stderr for c in self.captures.values()
        )
