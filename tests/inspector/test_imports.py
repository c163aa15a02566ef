"""Tests for the shape of labkit.inspector: its modules import each other without a cycle.

The graph is read from the source (every ``import``, including those under
``TYPE_CHECKING`` and inside functions), so a cycle that only a type checker or
a lazy import would follow is caught too.
"""

from __future__ import annotations

from tests.structure import import_graph, tangles

PACKAGE = "labkit.inspector"


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
