"""The chat room (``chat_app``) follows its wire protocol as seen by the Node ``ws`` client.

Each case of chat_suite.mjs drives one rule of the protocol (welcome, join and
leave notices, public and private messages, typing, every error code, the
Origin check of RFC 6455, section 10.2, and the 64 KiB frame limit closed with
1009, section 7.4.1), so a failure here names the rule that broke.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import labkit

from .conftest import NodeSuite, SuiteReport

__all__ = ["CHAT_CASES"]

#: Every case chat_suite.mjs reports, in its order.
CHAT_CASES: tuple[str, ...] = (
    "sentinel_joins",
    "welcome",
    "name_boundaries",
    "join_notice",
    "leave_notice",
    "public_message",
    "no_impersonation",
    "private_message",
    "typing",
    "error_bad_json",
    "error_unknown_type",
    "error_bad_name",
    "error_name_taken",
    "error_not_joined",
    "error_unknown_user",
    "error_too_long",
    "history",
    "error_rate_limited",
    "origin_foreign_refused",
    "origin_same_host_accepted",
    "origin_absent_accepted",
    "too_big_1009",
)


@pytest.fixture(scope="module")
def chat_report(node_suite: NodeSuite) -> Iterator[SuiteReport]:
    """One run of chat_suite.mjs against a fresh chat room."""
    server = labkit.start(labkit.chat_app(), name="interop-chat")
    try:
        yield node_suite.run("chat_suite.mjs", server.url, timeout=90)
    finally:
        server.stop()


@pytest.mark.parametrize("case", CHAT_CASES)
def test_chat_case(chat_report: SuiteReport, case: str) -> None:
    """The named rule of the chat protocol holds for the independent client."""
    chat_report.assert_ok(case)


def test_chat_suite_reports_every_case(chat_report: SuiteReport) -> None:
    """The client ran exactly the cases listed here, so none is silently skipped."""
    assert tuple(chat_report.cases) == CHAT_CASES
