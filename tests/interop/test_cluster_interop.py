"""One chat room served by two processes through Redis, as seen by the Node ``ws`` client.

Each case of cluster_suite.mjs puts clients on both processes (``python -m
labkit serve chat --redis URL``, each its own process) and checks one rule of
the chat protocol across them: the welcome's list, notices and their counts,
public and private messages, typing, unique names, shared history, rooms
kept apart. A failure names the rule that broke.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.chat.redis_server import ChatProcess, RedisServer, need_redis

from .conftest import NodeSuite, SuiteReport

__all__ = ["CLUSTER_CASES"]

#: Every case cluster_suite.mjs reports, in its order.
CLUSTER_CASES: tuple[str, ...] = (
    "welcome_lists_both_processes",
    "public_message_crosses_once",
    "private_message_crosses",
    "typing_crosses",
    "name_taken_across_processes",
    "history_across_processes",
    "rooms_apart",
    "leave_crosses",
)


@pytest.fixture(scope="module")
def cluster_report(
    node_suite: NodeSuite, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SuiteReport]:
    """One run of cluster_suite.mjs against two processes on a fresh Redis."""
    redis = RedisServer(need_redis(), Path(tmp_path_factory.mktemp("redis"))).start()
    servers: list[ChatProcess] = []
    try:
        servers = [ChatProcess(redis.url), ChatProcess(redis.url)]
        yield node_suite.run("cluster_suite.mjs", servers[0].url, servers[1].url, timeout=90)
    finally:
        for server in servers:
            server.stop()
        redis.stop()


@pytest.mark.parametrize("case", CLUSTER_CASES)
def test_cluster_case(cluster_report: SuiteReport, case: str) -> None:
    """The named rule holds across two processes for the independent client."""
    cluster_report.assert_ok(case)


def test_cluster_suite_reports_every_case(cluster_report: SuiteReport) -> None:
    """The client ran exactly the cases listed here, so none is silently skipped."""
    assert tuple(cluster_report.cases) == CLUSTER_CASES
