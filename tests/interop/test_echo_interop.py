"""The echo servers (``echo_app`` and the from-scratch ``raw`` one) pass the Node ``ws`` client.

The client sends what RFC 6455 allows a peer to send: text and binary messages
around every payload-length boundary (section 5.2), fragmented messages
(section 5.4), a ping (section 5.5.2), closing handshakes with custom codes
(section 5.5.1, 7.4) and a text frame that is not UTF-8 (section 8.1).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import labkit

from .conftest import NodeSuite, SuiteReport

__all__ = ["ECHO_CASES"]

#: Every case echo_suite.mjs reports, in its order.
ECHO_CASES: tuple[str, ...] = (
    "text_echo",
    "binary_echo",
    "binary_0",
    "binary_125",
    "binary_126",
    "binary_65535",
    "binary_65536",
    "binary_300000",
    "text_65536",
    "fragmented_text",
    "fragmented_utf8_split",
    "fragmented_binary",
    "ping_pong",
    "close_1000",
    "close_4001",
    "invalid_utf8",
)


def _servable(kind: str) -> labkit.runner.Servable:
    # Imported late: labkit.raw loads on first use.
    if kind == "raw":
        return labkit.raw.RawEchoServer()
    return labkit.echo_app()


@pytest.fixture(scope="module", params=["echo", "raw"])
def echo_report(request: pytest.FixtureRequest, node_suite: NodeSuite) -> Iterator[SuiteReport]:
    """One run of echo_suite.mjs against a fresh server of each kind."""
    server = labkit.start(_servable(request.param), name=f"interop-{request.param}")
    try:
        yield node_suite.run("echo_suite.mjs", server.url, timeout=60)
    finally:
        server.stop()


@pytest.mark.parametrize("case", ECHO_CASES)
def test_echo_case(echo_report: SuiteReport, case: str) -> None:
    """The named case of the independent client passes against the echo server."""
    echo_report.assert_ok(case)


def test_echo_suite_reports_every_case(echo_report: SuiteReport) -> None:
    """The client ran exactly the cases listed here, so none is silently skipped."""
    assert tuple(echo_report.cases) == ECHO_CASES
