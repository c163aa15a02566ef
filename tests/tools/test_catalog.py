"""Tests for tools/catalog.py: the check that keeps the message catalog whole."""

from __future__ import annotations

from collections import Counter

import pytest

from tools import catalog


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("nothing is listening at {url}", {"{url}": 1}),
        ("{name} joined ({count} in the room)", {"{name}": 1, "{count}": 1}),
        ("received message: %r", {"%r": 1}),
        ("%s joined the room (%d in the room)", {"%s": 1, "%d": 1}),
        ("%(name)s left", {"%(name)s": 1}),
        ("100%% sure, {x!r}", {"{x!r}": 1}),
        ("no placeholders", {}),
        ("{{literal braces}}", {}),
    ],
)
def test_placeholders_finds_brace_fields_and_percent_conversions(
    text: str, expected: dict[str, int]
) -> None:
    """What a translation must keep: every {field} and %-conversion, counted."""
    assert catalog.placeholders(text) == Counter(expected)


def test_a_translation_that_moves_a_placeholder_keeps_it() -> None:
    """Order may change, the set may not."""
    english = catalog.placeholders("{name} joined ({count} in the room)")
    assert catalog.placeholders("（当前 {count} 人）{name} 加入了聊天室") == english
    assert catalog.placeholders("{name} 加入了聊天室") != english


def test_extract_finds_the_messages_the_code_marks() -> None:
    """The echo's two lines are in the template, found where the code is."""
    template = catalog.extract()
    found = {message.id: message.locations for message in template if message.id}
    assert ("labkit/echo.py", found["connection established"][0][1]) in found[
        "connection established"
    ]
    assert "received message: %r" in found


def test_the_catalog_is_whole() -> None:
    """Every message translated, placeholders kept, .mo compiled (make test runs this too)."""
    problems = catalog.check()
    assert problems == [], "\n".join(map(str, problems))


def test_check_names_every_kind_of_broken_message(tmp_path) -> None:
    """Untranslated, fuzzy, moved placeholders, unused, missing, positional, no .mo."""
    from babel.messages.catalog import Catalog

    template = Catalog()
    for text in ("fine {url}", "empty", "fuzzy one", "lost {name}", "missing", "at {}"):
        template.add(text, locations=[("labkit/x.py", 1)])
    po = tmp_path / "zh_CN" / "LC_MESSAGES" / "labkit.po"
    po.parent.mkdir(parents=True)
    po.write_text(
        'msgid ""\nmsgstr "Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        'msgid "fine {url}"\nmsgstr "好 {url}"\n\n'
        'msgid "empty"\nmsgstr ""\n\n'
        '#, fuzzy\nmsgid "fuzzy one"\nmsgstr "模糊"\n\n'
        'msgid "lost {name}"\nmsgstr "丢了"\n\n'
        'msgid "at {}"\nmsgstr "在 {}"\n\n'
        'msgid "nobody uses this"\nmsgstr "没人用"\n',
        encoding="utf-8",
    )
    found = {(p.text, p.message) for p in catalog.check(tmp_path, template)}
    assert ("not translated", "empty") in found
    assert ("not translated", "fuzzy one") in found
    assert ("placeholders differ", "'lost {name}' -> '丢了'") in found
    assert ("in the code but not in the catalog", "missing") in found
    assert ("in the catalog but no code uses it", "nobody uses this") in found
    assert ("positional placeholder (name it)", "at {}") in found
    assert any(text.startswith(".mo missing") for text, _ in found)
    assert not any("fine" in message for _, message in found)


def test_plurals_are_checked_and_compiled_like_the_rest(tmp_path) -> None:
    """An ngettext message: both forms extracted, the one Chinese form compiled and checked."""
    from babel.messages.catalog import Catalog

    template = Catalog()
    template.add(("{n} record", "{n} records"), locations=[("labkit/x.py", 1)])
    po = tmp_path / "zh_CN" / "LC_MESSAGES" / "labkit.po"
    po.parent.mkdir(parents=True)
    po.write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n'
        '"Plural-Forms: nplurals=1; plural=0;\\n"\n\n'
        'msgid "{n} record"\nmsgid_plural "{n} records"\nmsgstr[0] "{n} 条记录"\n',
        encoding="utf-8",
    )
    compiled = catalog._mo_bytes(catalog._read(po))
    po.with_suffix(".mo").write_bytes(compiled)
    assert catalog.check(tmp_path, template) == []


def test_every_message_the_code_translates_is_in_the_catalog() -> None:
    """Each ``_("...")`` literal in the package is extracted, even inside an f-string.

    Babel's extractor does not look into f-strings: a ``_()`` there would be
    translated at run time but never reach the catalog, and the check would not
    see it. The AST does.
    """
    import ast

    extracted = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog.extract() if m.id}
    missing = []
    for path in sorted(catalog.PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("_", "N_", "ngettext")
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and node.args[0].value not in extracted
            ):
                missing.append(f"{path.relative_to(catalog.ROOT)}:{node.lineno}")
    assert missing == []
