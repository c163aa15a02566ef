"""Keep the kit's message catalog whole: every message extracted, translated, compiled.

The catalog is ``labkit/locale/<lang>/LC_MESSAGES/labkit.po`` (what a
translator edits) and the ``.mo`` compiled from it (what :mod:`gettext`
reads at run time, see :mod:`labkit.i18n`). Usage::

    python -m tools.catalog --update   # re-extract from labkit/, merge, compile
    python -m tools.catalog --check    # exit 1 and list every problem (make test)

``--update`` finds every ``_("...")``, ``N_("...")`` and ``ngettext(...)`` in
the package, adds new messages to each ``.po`` (empty, to be translated),
drops the ones no code uses any more, keeps every translation, and compiles
the ``.mo``. ``--merge DIR`` also takes translations from every ``.po`` file
in DIR (for translating in several pieces at once).

``--check`` fails on: a message in the code that is missing from a catalog,
a catalog message no code uses, a message without a translation or marked
fuzzy, a translation whose placeholders (``{name}``, ``%r``, ``%(name)s``)
differ from the English, a positional ``{}`` (a translation could not move
it), and a ``.mo`` that is older than its ``.po``.
"""

from __future__ import annotations

import argparse
import fcntl
import io
import os
import re
import string
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po, write_po

__all__ = ["Problem", "check", "extract", "main", "placeholders", "update"]

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "labkit"
LOCALE_DIR = PACKAGE / "locale"
DOMAIN = "labkit"
#: Catalogs kept besides the English source: gettext directory names.
LANGUAGES = ("zh_CN",)
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}
_PERCENT = re.compile(r"%(?:\([^)]*\))?[#0 +-]*\d*(?:\.\d+)?[srdifoxXeEgGc%]")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the catalog, as one line for a person."""

    where: str
    message: str
    text: str

    def __str__(self) -> str:
        return f"{self.where}: {self.text}: {self.message!r}"


def _po_path(language: str, locale_dir: Path = LOCALE_DIR) -> Path:
    return locale_dir / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def extract() -> Catalog:
    """Every message the package marks for translation, with where it is."""
    template = Catalog(project="labkit", domain=DOMAIN, fuzzy=False)
    method_map = [("**.py", "python"), ("**.html", "ignore")]
    for filename, lineno, message, comments, context in extract_from_dir(
        str(PACKAGE), method_map=method_map, keywords=KEYWORDS, comment_tags=("TRANSLATORS:",)
    ):
        template.add(
            message,
            None,
            [(f"labkit/{filename}", lineno)],
            auto_comments=comments,
            context=context,
        )
    return template


def placeholders(text: str) -> Counter[str]:
    """The placeholders in ``text``: ``{name}`` fields and ``%`` conversions."""
    found: Counter[str] = Counter()
    try:
        for _literal, field, _spec, conversion in string.Formatter().parse(text):
            if field is not None:
                found["{" + field + (f"!{conversion}" if conversion else "") + "}"] += 1
    except ValueError:
        found["<unbalanced braces>"] += 1
    for match in _PERCENT.finditer(text.replace("%%", "")):
        found[match.group()] += 1
    return found


def _strings(value: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _key(value: str | tuple[str, ...] | list[str]) -> str | tuple[str, ...]:
    """A message id or string as one hashable value (plurals: a tuple of forms)."""
    return value if isinstance(value, str) else tuple(value)


def _read(path: Path) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=path.parent.parent.name, domain=DOMAIN)


def _write_atomic(path: Path, data: bytes) -> None:
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


def _mo_bytes(catalog: Catalog) -> bytes:
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    return buffer.getvalue()


def _po_bytes(catalog: Catalog) -> bytes:
    buffer = io.BytesIO()
    write_po(
        buffer,
        catalog,
        width=100,
        sort_output=False,
        ignore_obsolete=True,
        include_lineno=False,  # files only: moving code does not touch the catalog
    )
    return buffer.getvalue()


def _fragments(directory: Path | None) -> Iterator[Message]:
    if directory is None:
        return
    for path in sorted(directory.glob("*.po")):
        with path.open("rb") as handle:
            yield from read_po(handle)


def update(merge_from: Path | None = None) -> list[Path]:
    """Re-extract, merge into every catalog, compile; return the files written."""
    template = extract()
    written: list[Path] = []
    lock_path = LOCALE_DIR / ".lock"
    LOCALE_DIR.mkdir(parents=True, exist_ok=True)
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for language in LANGUAGES:
            po_path = _po_path(language)
            po_path.parent.mkdir(parents=True, exist_ok=True)
            if po_path.exists():
                catalog = _read(po_path)
            else:
                catalog = Catalog(
                    locale=language,
                    project="labkit",
                    domain=DOMAIN,
                    copyright_holder="the labkit authors",
                    fuzzy=False,
                )
            created = catalog.creation_date
            for message in _fragments(merge_from):
                if message.id and message.string and not message.fuzzy:
                    known = catalog.get(message.id, message.context)
                    if known is None:
                        catalog[message.id] = Message(message.id, message.string)
                    elif not any(_strings(known.string)) or known.fuzzy:
                        known.string = message.string
                        known.flags.discard("fuzzy")
            catalog.update(template, no_fuzzy_matching=True, update_header_comment=False)
            catalog.obsolete.clear()
            # The header changes only when a person changes it: no date churn.
            catalog.creation_date = catalog.revision_date = created
            catalog.fuzzy = False
            catalog.last_translator = "the labkit maintainers"
            catalog.language_team = "Chinese (Simplified)"
            catalog.version = "0.1"
            _write_atomic(po_path, _po_bytes(catalog))
            _write_atomic(po_path.with_suffix(".mo"), _mo_bytes(catalog))
            written += [po_path, po_path.with_suffix(".mo")]
    return written


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def check(locale_dir: Path = LOCALE_DIR, template: Catalog | None = None) -> list[Problem]:
    """Everything wrong with the catalogs; empty when they are whole.

    ``locale_dir`` and ``template`` (what the code marks) default to the kit's.
    """
    template = extract() if template is None else template
    problems: list[Problem] = []
    for message in template:
        if not message.id:
            continue
        for text in _strings(message.id):
            if "{}" in text or re.search(r"\{\d+\}", text):
                where = ", ".join(f"{f}:{n}" for f, n in message.locations)
                problems.append(Problem(where, text, "positional placeholder (name it)"))
    for language in LANGUAGES:
        po_path = _po_path(language, locale_dir)
        relative = _shown(po_path)
        if not po_path.exists():
            problems.append(
                Problem(relative, "", "catalog missing (python -m tools.catalog --update)")
            )
            continue
        catalog = _read(po_path)
        wanted = {(m.id if isinstance(m.id, str) else m.id[0]) for m in template if m.id}
        have = {(m.id if isinstance(m.id, str) else m.id[0]) for m in catalog if m.id}
        for missing in sorted(wanted - have):
            problems.append(Problem(relative, missing, "in the code but not in the catalog"))
        for unused in sorted(have - wanted):
            problems.append(Problem(relative, unused, "in the catalog but no code uses it"))
        for message in catalog:
            if not message.id:
                continue
            originals = _strings(message.id)
            translations = _strings(message.string)
            first = originals[0]
            if message.fuzzy or not all(translations):
                problems.append(Problem(relative, first, "not translated"))
                continue
            expected = placeholders(originals[-1])
            for translation in translations:
                if placeholders(translation) != expected:
                    shown = f"{first!r} -> {translation!r}"
                    problems.append(Problem(relative, shown, "placeholders differ"))
        mo_path = po_path.with_suffix(".mo")
        if not mo_path.exists():
            problems.append(Problem(relative, "", ".mo missing (python -m tools.catalog --update)"))
            continue
        with mo_path.open("rb") as handle:
            compiled = read_mo(handle)
        compiled_strings = {_key(m.id): _key(m.string) for m in compiled if m.id}
        stale = [
            message
            for message in catalog
            if message.id
            and not message.fuzzy
            and all(_strings(message.string))
            and compiled_strings.get(_key(message.id)) != _key(message.string)
        ]
        if stale:
            first = _strings(stale[0].id)[0]
            hint = "stale .mo (python -m tools.catalog --update)"
            problems.append(Problem(_shown(mo_path), first, hint))
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.catalog", description=__doc__)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--update", action="store_true", help="re-extract, merge and compile")
    mode.add_argument("--check", action="store_true", help="list problems and exit 1 if any")
    parser.add_argument("--merge", type=Path, help="also take translations from DIR/*.po")
    args = parser.parse_args(argv)
    if args.update:
        for path in update(args.merge):
            print(f"wrote {path.relative_to(ROOT)}")
        problems = check()
        print(f"{len(problems)} problem(s) left; see python -m tools.catalog --check")
        return 0
    problems = check()
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} catalog problem(s)", file=sys.stderr)
        return 1
    print("catalog: every message translated, placeholders match, .mo up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
