"""Tests for the shape of the whole package: a lean protocol core, no circles, small modules.

These are the rules ``docs/ARCHITECTURE.md`` draws; each test names the rule
it guards, so a change that breaks one says which.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys

import pytest

import labkit.errors
from tests.structure import ROOT, all_modules, import_graph, tangles

#: Modules the Sans-I/O core must never load (RFC 6455 as bytes in, values out).
HEAVY = ("asyncio", "websockets", "ipywidgets", "labkit.app", "labkit.runner", "labkit.client")
MAX_LINES = 500

PROBE = """
import json, logging, sys
import {module}
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("asyncio", "websockets", "ipywidgets")
               or m in ("labkit.app", "labkit.runner", "labkit.client"))
print(json.dumps({{"heavy": heavy, "handlers": len(logging.getLogger("labkit").handlers),
                  "root": len(logging.getLogger().handlers)}}))
"""


@pytest.mark.parametrize("module", ["labkit.protocol", "labkit.chat.protocol"])
def test_the_protocol_cores_load_no_io_and_leave_logging_alone(module: str) -> None:
    """A fresh interpreter importing a Sans-I/O core loads none of HEAVY, adds no handler."""
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(module=module)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT.parent,
    ).stdout
    found = json.loads(out)
    assert found == {"heavy": [], "handlers": 0, "root": 0}, f"import {module} loaded {found}"


def test_no_import_cycle_anywhere_in_the_package() -> None:
    """No chain of imports leads from a labkit module back to itself."""
    assert tangles(import_graph(), "labkit") == []


def test_no_module_is_over_500_lines() -> None:
    """Small modules with one job each: none of the package is over MAX_LINES lines."""
    sizes = {
        name: len(path.read_text(encoding="utf-8").splitlines())
        for name, path in all_modules().items()
    }
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}


def test_nothing_in_the_package_reaches_into_the_checkout() -> None:
    """An installed wheel has no repository around it: no parents[...] or .parent.parent."""
    offenders = []
    for name, path in all_modules().items():
        text = path.read_text(encoding="utf-8")
        if "parents[" in text or ".parent.parent" in text:
            offenders.append(name)
    assert offenders == []


def _defined_exceptions() -> dict[str, type]:
    """Every exception class the package defines at module level, by name."""
    import importlib

    found: dict[str, type] = {}
    for name, path in all_modules().items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        classes = [n.name for n in tree.body if isinstance(n, ast.ClassDef)]
        if not classes:
            continue
        module = importlib.import_module(name)
        for cls_name in classes:
            cls = getattr(module, cls_name)
            if isinstance(cls, type) and issubclass(cls, BaseException):
                found[f"{name}.{cls_name}"] = cls
    return found


def test_every_exception_of_the_kit_is_in_the_one_tree_and_drawn() -> None:
    """Each public exception class derives from LabkitError and appears in errors.py's drawing."""
    drawing = labkit.errors.__doc__ or ""
    outside, undrawn = [], []
    for qualified, cls in _defined_exceptions().items():
        if cls.__name__.startswith("_"):
            continue  # private control flow, never raised to a user
        if not issubclass(cls, labkit.errors.LabkitError):
            outside.append(qualified)
        if f" {cls.__name__} " not in drawing.replace("\n", " "):
            undrawn.append(qualified)
    assert outside == [], "exceptions outside the LabkitError tree"
    assert undrawn == [], "exceptions missing from the tree drawn in labkit/errors.py"


def test_no_chat_json_is_written_outside_the_chat_protocol() -> None:
    """The chat's wire format lives in labkit/chat/protocol.py: no other module spells it."""
    offenders = []
    for name, path in all_modules().items():
        if name == "labkit.chat.protocol":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        prose = {  # docstrings and bare string statements describe the wire; they write nothing
            id(n.value)
            for n in ast.walk(tree)
            if isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant)
        }
        for node in ast.walk(tree):
            if id(node) in prose:
                continue
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if '"type"' in node.value or "'type'" in node.value:
                    offenders.append(f"{name}:{node.lineno}")
            elif isinstance(node, ast.Dict):
                keys = {k.value for k in node.keys if isinstance(k, ast.Constant)}
                if "type" in keys:
                    offenders.append(f"{name}:{node.lineno}")
    assert offenders == []


def _import_time_translations(tree: ast.AST) -> list[int]:
    """Lines where ``_()`` runs at import time: outside every function body."""
    found: list[int] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            # Defaults and decorators run at import time; the body does not.
            arguments = node.args
            for default in [*arguments.defaults, *arguments.kw_defaults]:
                if default is not None:
                    visit(default)
            for decorator in getattr(node, "decorator_list", []):
                visit(decorator)
            return
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("_", "ngettext")
        ):
            found.append(node.lineno)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def test_messages_are_translated_when_shown_not_at_import() -> None:
    """``_()`` runs inside functions only, so set_language() reaches every message.

    A constant translated at import would stay in the language of the moment
    the module was first imported; constants are marked ``N_()`` instead.
    """
    offenders = {}
    for name, path in all_modules().items():
        lines = _import_time_translations(ast.parse(path.read_text(encoding="utf-8")))
        if lines:
            offenders[name] = lines
    assert offenders == {}
