"""Generate the README's configuration reference from the config models.

``python -m wizard.config_doc --write`` refreshes the block between the README markers;
a test fails when the README and the models disagree.
"""

from __future__ import annotations

import sys
import types
import typing
from pathlib import Path
from typing import Any, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from wizard.config import Config

START = "<!-- config-reference:start -->"
END = "<!-- config-reference:end -->"


def _type_text(annotation: Any) -> str:
    origin = get_origin(annotation)
    if origin is typing.Literal:
        return " \\| ".join(f"`{a}`" for a in get_args(annotation))
    if origin is typing.Annotated:
        return _type_text(get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return " \\| ".join(_type_text(a) for a in get_args(annotation))
    if origin is list:
        return "list of " + _type_text(get_args(annotation)[0])
    return {int: "integer", str: "text", bool: "true/false"}.get(annotation, str(annotation))


def _default_text(info: FieldInfo) -> str:
    factory = info.default_factory
    value = factory() if factory is not None else info.default  # type: ignore[call-arg]
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    if isinstance(value, list):
        if len(value) > 4:
            return f"{len(value)} items (the runbook's list)"
        return "`[" + ", ".join(str(v) for v in value) + "]`"
    if value == "":
        return '`""`'
    return f"`{value}`"


def reference_rows(
    model: type[BaseModel] = Config, prefix: str = ""
) -> list[tuple[str, str, str, str]]:
    """(key, type, default, description) for every leaf key, in declaration order."""
    rows: list[tuple[str, str, str, str]] = []
    for name, info in model.model_fields.items():
        key = prefix + (info.alias or name)
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            rows.extend(reference_rows(annotation, key + "."))
            continue
        rows.append((key, _type_text(annotation), _default_text(info), info.description or ""))
    return rows


def reference_markdown() -> str:
    lines = [START, "| key | type | default | meaning |", "|---|---|---|---|"]
    for key, kind, default, description in reference_rows():
        lines.append(f"| `{key}` | {kind} | {default} | {description.replace('|', '/')} |")
    lines.append(END)
    return "\n".join(lines)


def write_readme(readme: Path) -> bool:
    text = readme.read_text(encoding="utf-8")
    start, end = text.index(START), text.index(END) + len(END)
    new = text[:start] + reference_markdown() + text[end:]
    if new != text:
        readme.write_text(new, encoding="utf-8")
        return True
    return False


if __name__ == "__main__":
    if "--write" in sys.argv:
        changed = write_readme(Path(__file__).resolve().parent.parent / "README.md")
        print("README updated" if changed else "README already current")
    else:
        print(reference_markdown())
