"""The import map of the product: no loops between layers, and no Textual under wizard/.

The graph is read from the source (the AST), not from a running interpreter, so an import hidden
inside a function counts as much as one at the top of a module: a loop broken only by moving an
import into a function is still a loop. Imports under ``if TYPE_CHECKING:`` count too (a type
that belongs to an upper layer is still a dependency on it).

A loop among the files of one sub-package (``wizard/platform/*``, ``wizard/steps/*``, ``screens/*``)
is tolerated: those files are one unit. The top-level modules of ``wizard/`` are each their own
unit, so a loop between two of them (``wizard/db.py`` ↔ ``wizard/engine.py``) fails.
"""

from __future__ import annotations

import ast
from collections import deque
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("wizard", "screens")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[_module_name(path)] = path
    return found


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def _imported(module: str, path: Path, known: dict[str, Path]) -> set[str]:
    """Every module of ours (and every external top-level name) that ``module`` imports."""

    def resolve(name: str) -> str:
        # "wizard.platform.runner.CommandResult" -> the longest prefix that is a module of ours.
        parts = name.split(".")
        for end in range(len(parts), 0, -1):
            candidate = ".".join(parts[:end])
            if candidate in known:
                return candidate
        return parts[0]

    here = module if _is_package(path) else module.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            out.update(resolve(alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = here.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                out.add(resolve(f"{base}.{alias.name}"))
    out.discard(module)
    return out


def import_graph() -> dict[str, set[str]]:
    known = _modules()
    return {name: _imported(name, path, known) for name, path in known.items()}


def _unit(module: str, known: dict[str, Path]) -> str:
    """The unit inside which a loop is tolerated: the sub-package, or the module itself."""
    path = known[module]
    folder = path.parent.relative_to(ROOT).as_posix()
    if folder == "wizard":
        return module  # top-level modules of wizard/ are each their own unit
    return folder.replace("/", ".")


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative (the graph has a few hundred nodes)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    groups: list[list[str]] = []
    counter = 0
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in graph:
                    continue
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))
    return groups


def _a_cycle(graph: dict[str, set[str]], group: list[str], units: dict[str, str]) -> list[str]:
    """A shortest cycle inside ``group`` that crosses units (the one to print)."""
    members = set(group)
    best: list[str] = []
    for start in group:
        previous: dict[str, str | None] = {start: None}
        queue = deque([start])
        while queue:
            node = queue.popleft()
            for child in sorted(graph[node] & members):
                if child == start:
                    path = [node]
                    while previous[path[-1]] is not None:
                        path.append(previous[path[-1]])  # type: ignore[arg-type]
                    cycle = [*reversed(path), start]
                    crosses = len({units[m] for m in cycle}) > 1
                    if crosses and (not best or len(cycle) < len(best)):
                        best = cycle
                    queue.clear()
                    break
                if child not in previous:
                    previous[child] = node
                    queue.append(child)
    return best or [*group, group[0]]


def test_no_import_loop_between_packages() -> None:
    known = _modules()
    graph = import_graph()
    units = {name: _unit(name, known) for name in known}
    loops = []
    for group in _strongly_connected(graph):
        if len({units[m] for m in group}) > 1:
            cycle = " -> ".join(_a_cycle(graph, group, units))
            loops.append(f"{cycle}   (loop of {len(group)}: {', '.join(group)})")
    assert not loops, "import loops across packages:\n" + "\n".join(loops)


def test_wizard_never_imports_textual() -> None:
    graph = import_graph()
    ours = {name: imports for name, imports in graph.items() if name.startswith("wizard")}
    offenders = sorted(name for name, imports in ours.items() if "textual" in imports)
    assert not offenders, f"wizard/ modules that import textual: {offenders}"


def test_the_graph_sees_function_level_imports(tmp_path: Path) -> None:
    """The reader itself: an import inside a function is an edge, like one at the top."""
    source = tmp_path / "sample.py"
    source.write_text(
        "import os\n"
        "from wizard.errors import StepError\n"
        "def late():\n"
        "    from wizard import engine\n"
        "    import textual.app\n",
        encoding="utf-8",
    )
    known = _modules()
    found = _imported("wizard.sample", source, known)
    assert {"os", "wizard.errors", "wizard.engine", "textual"} <= found
