"""The import map of the product: no loops between layers, and no Textual under wizard/.

The graph is read from the source (the AST), not from a running interpreter, so an import hidden
inside a function counts as much as one at the top of a module: a loop broken only by moving an
import into a function is still a loop. Imports under ``if TYPE_CHECKING:`` count too (a type
that belongs to an upper layer is still a dependency on it), and so does the ``__init__`` of a
package whose submodule is imported (Python runs it first).

A loop among the files of one sub-package (``wizard/dwhost/platform/*``, ``wizard/steps/*``,
``screens/*``)
is tolerated: those files are one unit. The top-level modules of ``wizard/`` are each their own
unit, so a loop between two of them (``wizard/db.py`` ↔ ``wizard/engine.py``) fails.
"""

from __future__ import annotations

import ast
import functools
import re
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


def _imported(
    module: str, path: Path, known: dict[str, Path], *, package_inits: bool = False
) -> set[str]:
    """Every module of ours (and every external top-level name) that ``module`` imports;
    with ``package_inits``, also the packages Python initializes on the way."""

    def resolve(name: str) -> str:
        # "wizard.dwhost.platform.runner.CommandResult" -> the longest prefix that is a module of
        # ours.
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
    if package_inits:
        # Importing wizard.diagnose.network first runs wizard/diagnose/__init__.py, unless that
        # package is one the importer itself lives in (already initialized by then).
        own = {module.rsplit(".", n)[0] for n in range(module.count(".") + 1)}
        for target in list(out):
            parents = {target.rsplit(".", n)[0] for n in range(1, target.count(".") + 1)}
            out.update(parent for parent in parents if parent in known and parent not in own)
    out.discard(module)
    return out


@functools.cache
def import_graph(*, package_inits: bool = False) -> dict[str, set[str]]:
    known = _modules()
    return {
        name: _imported(name, path, known, package_inits=package_inits)
        for name, path in known.items()
    }


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


# Loops known at the time of writing, by the units they join, each with where it lives. The test
# fails on any other loop AND when one of these is gone (then delete its entry).
KNOWN_LOOPS: dict[frozenset[str], str] = {}


def _loops_across_units(graph: dict[str, set[str]]) -> dict[frozenset[str], str]:
    """Each loop that joins more than one unit: the units it joins -> a cycle to read."""
    known = _modules()
    units = {name: _unit(name, known) for name in known}
    loops = {}
    for group in _strongly_connected(graph):
        joined = frozenset(units[m] for m in group)
        if len(joined) > 1:
            cycle = " -> ".join(_a_cycle(graph, group, units))
            loops[joined] = f"{cycle}   (loop of {len(group)}: {', '.join(group)})"
    return loops


def test_no_import_loop_between_packages() -> None:
    loops = _loops_across_units(import_graph())
    assert not loops, "import loops across packages:\n" + "\n".join(loops.values())


def test_no_import_loop_through_package_inits() -> None:
    """The same, counting what Python runs first: importing ``wizard.steps.cleanup`` runs
    ``wizard/steps/__init__.py``, which imports every step module."""
    loops = _loops_across_units(import_graph(package_inits=True))
    new = [text for joined, text in loops.items() if joined not in KNOWN_LOOPS]
    assert not new, "import loops across packages (through __init__):\n" + "\n".join(new)
    gone = [" <-> ".join(sorted(joined)) for joined in KNOWN_LOOPS if joined not in loops]
    assert not gone, f"fixed, delete from KNOWN_LOOPS: {gone}"


# The lower layers: what they may not import (the step machinery and everything above it).
LOWER = (
    "wizard.config",
    "wizard.db",
    "wizard.dwhost.discovery",
    "wizard.errors",
    "wizard.dwhost.exposure",
    "wizard.dwhost.field_report",
    "wizard.fileio",
    "wizard.i18n",
    "wizard.paths",
    "wizard.testbed.pgcluster",
    "wizard.dwhost.pgfiles",
    "wizard.dwhost.platform",
    "wizard.measure.probes",
    "wizard.redact",
    "wizard.dwhost.scram",
    "wizard.dwhost.tls",
)
UPPER = ("wizard.engine", "wizard.steps", "wizard.session", "wizard.context", "wizard.commands")
UPPER += ("wizard.cli", "wizard.diagnose", "wizard.state", "screens")
# Edges known at the time of writing; the test fails when one is gone (then delete it).
KNOWN_UPWARD: dict[tuple[str, str], str] = {}


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") or name.startswith(p + "_") for p in prefixes)


def test_lower_layers_do_not_import_the_engine_or_above() -> None:
    """pgfiles, platform, db, config ... raise ``wizard.errors`` and never reach up to the
    engine, the steps or a driver: they stay usable (and testable) without them."""
    graph = import_graph()
    upward = {
        (name, target)
        for name, imports in graph.items()
        if _within(name, LOWER)
        for target in imports
        if _within(target, UPPER)
    }
    new = sorted(upward - set(KNOWN_UPWARD))
    assert not new, f"lower layers importing upward: {new}"
    gone = sorted(set(KNOWN_UPWARD) - upward)
    assert not gone, f"fixed, delete from KNOWN_UPWARD: {gone}"


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
    assert "wizard" not in found  # the importer's own package is initialized already
    assert {"os", "wizard.errors", "wizard.engine", "textual"} <= found


def test_the_loop_finder_names_a_loop_across_units() -> None:
    """The detector itself, on a made-up map: db -> engine -> db is reported with its path;
    a loop inside one sub-package is not."""
    graph = {
        "wizard.db": {"wizard.engine"},
        "wizard.engine": {"wizard.db", "wizard.errors"},
        "wizard.errors": set(),
        "wizard.dwhost.platform.service": {"wizard.dwhost.platform.linux"},
        "wizard.dwhost.platform.linux": {"wizard.dwhost.platform.service"},
    }
    groups = _strongly_connected(graph)
    assert sorted(groups) == [
        ["wizard.db", "wizard.engine"],
        ["wizard.dwhost.platform.linux", "wizard.dwhost.platform.service"],
    ]
    units = {name: name if name.count(".") == 1 else "wizard.dwhost.platform" for name in graph}
    assert _a_cycle(graph, groups[0] if "wizard.db" in groups[0] else groups[1], units) in (
        ["wizard.db", "wizard.engine", "wizard.db"],
        ["wizard.engine", "wizard.db", "wizard.engine"],
    )


def _product_files() -> list[Path]:
    return sorted(p for top in ("wizard", "screens") for p in (ROOT / top).rglob("*.py"))


def test_no_product_file_over_800_lines() -> None:
    """A file one person can hold in mind (issue 13): split by concern before it grows past."""
    too_long = {
        str(p.relative_to(ROOT)): n
        for p in _product_files()
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > 800
    }
    assert not too_long, too_long


def test_drivers_name_no_step_id() -> None:
    """Screens and commands read what a step declares (settings, secrets, manual, risks, its
    confirmation word); a step id in them, even in a comment, is a fact that leaked."""
    from wizard.steps import all_steps

    ids = re.compile(r"\b(" + "|".join(re.escape(s.id) for s in all_steps()) + r")\b")
    found = [
        f"{p.relative_to(ROOT)}:{number}: {line.strip()}"
        for p in sorted(
            [*(ROOT / "screens").rglob("*.py"), *(ROOT / "wizard/commands").rglob("*.py")]
        )
        for number, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if ids.search(line)
    ]
    assert not found, "\n".join(found)
