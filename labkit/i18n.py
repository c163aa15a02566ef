"""The kit's languages: one gettext catalog for everything a learner reads.

Every string a person reads (panel labels and states, exercise feedback,
errors raised to learners, CLI output, the inspector's headers, the chat
page) is an English ``msgid`` in the ``labkit`` domain, translated in
``labkit/locale/<lang>/LC_MESSAGES/labkit.po``. The ``.mo`` next to it is
what :mod:`gettext` reads; ``python -m tools.catalog --update`` rebuilds both
from the source, and ``make test`` fails on a message without a translation
or with placeholders that differ from the English.

Which language speaks:

1. ``set_language("zh-CN")``: a notebook's first cell (the Chinese lessons
   call it, the English ones call ``set_language("en")``);
2. else ``LABKIT_LANG`` (``zh-CN``, ``zh_CN.UTF-8``, ``en``);
3. else the locale: ``LANGUAGE``, ``LC_ALL``, ``LC_MESSAGES``, ``LANG``, as
   :func:`gettext.translation` reads them;
4. else English.

Call :func:`_` when the text is shown, never at import time, so a later
``set_language`` still takes effect. A module-level constant is marked with
:func:`N_` and translated where it is used.

Rules for messages: placeholders are named (``{url}``) or ``%``-style for
log lines (``%r``), never positional ``{}``, so a translation may reorder
them; a message is a whole sentence, never glued from pieces.

This module uses only the standard library, so the no-I/O protocol core may
import it.
"""

from __future__ import annotations

import gettext
import os
import threading
from pathlib import Path

__all__ = [
    "DOMAIN",
    "ENVIRONMENT",
    "LANGUAGES",
    "N_",
    "_",
    "get_language",
    "gettext_for",
    "ngettext",
    "normalize",
    "set_language",
]

DOMAIN = "labkit"
LOCALE_DIR = Path(__file__).with_name("locale")

# Language tags the kit has catalogs for, as BCP 47 tags (what browsers and
# LABKIT_LANG use) mapped to gettext's directory names. English is the source.
LANGUAGES: dict[str, str] = {"en": "en", "zh-CN": "zh_CN"}

#: What chooses the language when no notebook has, first match wins.
ENVIRONMENT = ("LABKIT_LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")

_lock = threading.Lock()
_chosen: str | None = None  # what set_language() picked; None: environment
_current: gettext.NullTranslations | None = None
_cache: dict[str, gettext.NullTranslations] = {}


def normalize(tag: str | None) -> str | None:
    """Map ``zh-CN``, ``zh_CN.UTF-8``, ``zh-Hans``, ``zh``, ``en-US``... to a tag in
    :data:`LANGUAGES`, or None when the kit has no catalog for it.

    Every Chinese tag maps to the Simplified catalog, the only one there is:
    a reader of Traditional Chinese reads it more easily than English.
    """
    if not tag:
        return None
    base = tag.split(".")[0].split("@")[0].replace("_", "-").strip().lower()
    if base in ("c", "posix", ""):
        return None
    if base == "zh" or base.startswith("zh-"):
        return "zh-CN"
    if base == "en" or base.startswith("en-"):
        return "en"
    return None


def _from_environment() -> str:
    labkit_lang = os.environ.get("LABKIT_LANG")
    if labkit_lang:
        return normalize(labkit_lang) or "en"
    for variable in ENVIRONMENT[1:]:
        value = os.environ.get(variable)
        if value:
            # LANGUAGE may list several, in order: the first we have wins.
            for tag in value.split(":"):
                found = normalize(tag)
                if found:
                    return found
            return "en"
    return "en"


def gettext_for(language: str) -> gettext.NullTranslations:
    """The translations of one language (``"en"``, ``"zh-CN"``), loaded once.

    The chat page uses this to send every language's strings at once, whatever
    the kernel speaks.
    """
    tag = normalize(language) or "en"
    with _lock:
        found = _cache.get(tag)
        if found is None:
            if tag == "en":
                found = gettext.NullTranslations()
            else:
                found = gettext.translation(
                    DOMAIN, localedir=LOCALE_DIR, languages=[LANGUAGES[tag]], fallback=True
                )
            _cache[tag] = found
        return found


def get_language() -> str:
    """The language the kit speaks now: ``"en"`` or ``"zh-CN"``."""
    return _chosen or _from_environment()


def set_language(language: str | None) -> str:
    """Speak ``language`` from now on, in this process: ``"zh-CN"``, ``"en"``.

    ``None`` goes back to ``LABKIT_LANG`` and the locale. Returns the tag now in
    use. An unknown language raises ``ValueError`` naming the ones there are,
    rather than quietly staying in English.
    """
    global _chosen, _current
    if language is None:
        _chosen = None
    else:
        tag = normalize(language)
        if tag is None:
            known = ", ".join(sorted(LANGUAGES))
            raise ValueError(f"labkit speaks {known}; there is no catalog for {language!r}")
        _chosen = tag
    _current = None
    return get_language()


def _translations() -> gettext.NullTranslations:
    global _current
    current = _current
    if current is None:
        current = _current = gettext_for(get_language())
    return current


def _(message: str) -> str:
    """Translate ``message`` into the language spoken now."""
    return _translations().gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """Translate a message whose form depends on a count ``n``."""
    return _translations().ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark ``message`` for the catalog without translating it yet.

    For constants defined at import time; translate them with :func:`_` where
    they are shown.
    """
    return message
