"""Tests for labkit.i18n: which language the kit speaks, and how it switches."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import labkit
from labkit import i18n


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("zh-CN", "zh-CN"),
        ("zh_CN.UTF-8", "zh-CN"),
        ("zh-Hans", "zh-CN"),
        ("zh_TW", "zh-CN"),
        ("zh", "zh-CN"),
        ("en", "en"),
        ("en_US.UTF-8", "en"),
        ("C", None),
        ("POSIX", None),
        ("fr_FR", None),
        ("", None),
        (None, None),
    ],
)
def test_normalize_maps_locales_and_browser_tags_to_a_catalog(
    tag: str | None, expected: str | None
) -> None:
    """Every Chinese tag reads the Simplified catalog; unknown ones have none."""
    assert i18n.normalize(tag) == expected


def test_set_language_switches_every_message_at_once(chinese: None) -> None:
    """After set_language("zh-CN") the echo's lines are the tutorial's own."""
    assert labkit.get_language() == "zh-CN"
    assert i18n._("connection established") == "WebSocket 连接已建立"
    assert i18n._("received message: %r") % "hi" == "接收到消息: 'hi'"
    assert labkit.set_language("en") == "en"
    assert i18n._("connection established") == "connection established"


def test_set_language_none_goes_back_to_the_environment() -> None:
    """None forgets the notebook's choice: LABKIT_LANG (English in this suite) speaks."""
    labkit.set_language("zh-CN")
    assert labkit.set_language(None) == "en"
    assert i18n._("connection established") == "connection established"


def test_an_unknown_language_is_refused_by_name() -> None:
    """A typo is an error that lists the languages there are, not silent English."""
    with pytest.raises(ValueError, match=r"en, zh-CN.*'klingon'"):
        labkit.set_language("klingon")
    assert labkit.get_language() == "en"


def test_an_unknown_message_passes_through_in_english(chinese: None) -> None:
    """Text not in the catalog is shown as it is, never lost."""
    assert i18n._("a sentence no catalog has") == "a sentence no catalog has"


def test_gettext_for_reads_one_language_whatever_is_spoken() -> None:
    """The chat page asks for each language's text while the kernel speaks English."""
    assert i18n.gettext_for("zh-CN").gettext("connection established") == "WebSocket 连接已建立"
    assert i18n.gettext_for("en").gettext("connection established") == "connection established"
    assert labkit.get_language() == "en"


def _language_in(env: dict[str, str]) -> str:
    clean = {k: v for k, v in os.environ.items() if k not in i18n.ENVIRONMENT}
    result = subprocess.run(
        [sys.executable, "-c", "import labkit; print(labkit.get_language())"],
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"LABKIT_LANG": "zh-CN"}, "zh-CN"),
        ({"LABKIT_LANG": "en", "LANG": "zh_CN.UTF-8"}, "en"),  # LABKIT_LANG wins
        ({"LANG": "zh_CN.UTF-8"}, "zh-CN"),
        ({"LC_ALL": "en_US.UTF-8", "LANG": "zh_CN.UTF-8"}, "en"),  # gettext's order
        ({"LANGUAGE": "fr:zh_CN", "LANG": "en_US.UTF-8"}, "zh-CN"),  # first one we have
        ({"LANG": "C.UTF-8"}, "en"),
        ({}, "en"),
    ],
)
def test_a_fresh_process_follows_labkit_lang_then_the_locale(
    env: dict[str, str], expected: str
) -> None:
    """LABKIT_LANG, else LANGUAGE, LC_ALL, LC_MESSAGES, LANG, else English."""
    assert _language_in(env) == expected
