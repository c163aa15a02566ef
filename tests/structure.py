"""The shape of the labkit package, read from its source: modules, imports, cycles.

The import graph counts every ``import``, including those under
``TYPE_CHECKING`` and inside functions, so a cycle that only a type checker or
a lazy import would follow is caught too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import labkit

__all__ = ["ROOT", "all_modules", "import_graph", "imports_of", "module_name", "tangles"]

ROOT = Path(labkit.__file__).parent


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
