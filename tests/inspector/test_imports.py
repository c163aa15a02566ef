"""Tests for the shape of labkit.inspector: its modules import each other without a cycle.

The graph is read from the source (every ``import``, including those under
``TYPE_CHECKING`` and inside functions), so a cycle that only a type checker or
a lazy import would follow is caught too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import labkit

ROOT = Path(labkit.__file__).parent
PACKAGE = "labkit.inspector"


def module_name(path: Path) -> str:
    """``labkit/inspector/view.py`` -> ``labkit.inspector.view`` (``__init__`` -> the package)."""
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def all_modules() -> dict[str, Path]:
    """Every module of the labkit package, by dotted name."""
    return {module_name(p): p for p in ROOT.rglob("*.py")}


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The labkit modules that ``name`` imports, resolved to modules that exist.

    ``from labkit.inspector import store`` is an edge to ``labkit.inspector.store``;
    ``from labkit.inspector import Inspector`` is an edge to the package itself
    (its ``__init__``), which is how a cycle "through ``__init__``" shows up.
    """
    is_package = path.name == "__init__.py"
    edges: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            edges.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                here = name.split(".") if is_package else name.split(".")[:-1]
                anchor = here[: len(here) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                edges.add(sub if sub in modules else base)
    return {e for e in edges if e in modules and e != name}


def import_graph() -> dict[str, set[str]]:
    modules = all_modules()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def tangles(graph: dict[str, set[str]], prefix: str) -> list[list[str]]:
    """The groups of modules that import each other in a circle, where one is under ``prefix``.

    A module lies on an import cycle exactly when its strongly connected
    component has more than one module (Tarjan's algorithm; nothing imports
    itself, see :func:`imports_of`).
    """
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group: list[str] = []
            while not group or group[-1] != node:
                group.append(stack.pop())
                on_stack.discard(group[-1])
            groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [
        g
        for g in groups
        if len(g) > 1 and any(n == prefix or n.startswith(prefix + ".") for n in g)
    ]


def test_no_import_cycle_touches_the_inspector():
    """No chain of imports leads from an inspector module back to itself, __init__ included."""
    assert tangles(import_graph(), PACKAGE) == []


def test_the_view_depends_on_the_store_and_records_only():
    """Inside the inspector, the view imports only the record store and the records."""
    inside = {e for e in import_graph()[f"{PACKAGE}.view"] if e.startswith(PACKAGE)}
    assert inside == {f"{PACKAGE}.store", f"{PACKAGE}.records"}


def test_the_walk_sees_a_cycle_when_there_is_one():
    """The checker finds a cycle through a package __init__, and only where it is."""
    graph = {"p": {"p.a"}, "p.a": {"p.b"}, "p.b": {"p"}, "p.c": {"p.a"}, "q": {"p.c"}}
    assert tangles(graph, "p") == [["p", "p.a", "p.b"]]
    assert tangles(graph, "q") == []
