"""``start_redis()``, lesson 5's throwaway ``redis-server``: a kit server like the others.

Each test says what it proves: the URL answers PING (redis-py), a second start
under the same name replaces the first on the same port, ``labkit.stop_all()``
stops it and frees the port, kill and restart keep the port, and a missing
binary gives an error that says how to install one. The tests that run
``redis-server`` skip without it (a failure when ``CI=true``, as in
``test_redis.py``); the missing-binary test needs nothing.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator

import pytest

import labkit
from labkit.chat.local_redis import BINARY_ENV, RedisServer, start_redis
from labkit.errors import LabkitError, RedisNotFoundError, ServerError

from .redis_server import need_redis

NAME = "test-local-redis"


@pytest.fixture
def binary() -> Iterator[str]:
    """The redis-server to run; whatever a test started under NAME is stopped after it."""
    path = need_redis()
    yield path
    for handle in labkit.running():
        if handle.name.startswith(NAME):
            handle.stop()


def _ping(url: str) -> bool:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    try:
        return bool(client.ping())
    finally:
        client.close()


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def test_start_gives_a_url_that_answers_ping(binary: str) -> None:
    """start_redis() returns once redis-server answers; its redis:// URL works with redis-py."""
    server = start_redis(NAME, binary=binary)
    assert server.url == f"redis://127.0.0.1:{server.port}/0"
    assert server.alive and _ping(server.url)
    assert server.handle is not None and server.handle in labkit.running()


def test_a_second_start_replaces_the_first_on_the_same_port(binary: str) -> None:
    """Re-running the cell: the old redis-server stops, the new one takes its port (same URL)."""
    first = start_redis(NAME, binary=binary)
    second = start_redis(NAME, binary=binary)
    assert second.url == first.url
    assert not first.alive and second.alive and _ping(second.url)
    assert [h.name for h in labkit.running()].count(NAME) == 1


def test_stop_all_stops_it_and_frees_the_port(binary: str) -> None:
    """labkit.stop_all() stops Redis like any kit server: the process ends, the port is free."""
    server = start_redis(NAME, binary=binary)
    labkit.stop_all()
    assert not server.alive
    assert all(h.name != NAME for h in labkit.running())
    assert _port_is_free(server.port)


def test_kill_and_restart_keep_the_port_and_come_back_empty(binary: str) -> None:
    """SIGKILL takes Redis down (the kit still holds it); restart() brings it back, empty."""
    import redis

    server = start_redis(NAME, binary=binary)
    redis.Redis.from_url(server.url).set("kept?", "no")
    server.kill()
    assert not server.alive and server.handle is not None and server.handle.running
    with pytest.raises(redis.ConnectionError):
        _ping(server.url)
    url = server.url
    server.restart()
    assert server.url == url and _ping(url)
    assert redis.Redis.from_url(url).get("kept?") is None  # nothing was saved
    server.stop()
    assert not server.alive and _port_is_free(server.port)
    with pytest.raises(ServerError, match="stopped"):
        server.restart()


def test_a_missing_binary_says_how_to_install_it(tmp_path, monkeypatch) -> None:
    """No redis-server at the path given: a kit error naming it and three ways to install it."""
    monkeypatch.delenv(BINARY_ENV, raising=False)
    missing = str(tmp_path / "no-such" / "redis-server")
    with pytest.raises(RedisNotFoundError) as caught:
        start_redis(NAME, binary=missing)
    text = str(caught.value)
    assert missing in text
    for way in (
        "apt-get install redis-server",
        "conda install -c conda-forge redis-server",
        "brew install redis",
    ):
        assert way in text
    assert isinstance(caught.value, LabkitError) and isinstance(caught.value, FileNotFoundError)
    assert all(h.name != NAME for h in labkit.running())


def test_the_binary_can_come_from_the_environment(tmp_path, monkeypatch) -> None:
    """LABKIT_REDIS_SERVER names the binary when no argument does (here: one that is missing)."""
    missing = str(tmp_path / "redis-server-from-env")
    monkeypatch.setenv(BINARY_ENV, missing)
    with pytest.raises(RedisNotFoundError, match="redis-server-from-env"):
        RedisServer(NAME)


def test_a_port_held_by_another_program_is_said_so(binary: str) -> None:
    """start_redis(port=N) on a port another program holds: PortInUseError, nothing left running."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(labkit.PortInUseError, match=str(port)):
            start_redis(NAME, port=port, binary=binary)
    assert all(h.name != NAME for h in labkit.running())


@pytest.mark.usefixtures("chinese")
def test_a_missing_binary_says_how_to_install_it_in_chinese(tmp_path, monkeypatch) -> None:
    """RedisNotFoundError in Chinese: the binary, and the same three commands, untranslated."""
    monkeypatch.delenv(BINARY_ENV, raising=False)
    missing = str(tmp_path / "redis-server")
    with pytest.raises(RedisNotFoundError) as caught:
        start_redis(NAME, binary=missing)
    assert str(caught.value) == (
        f"无法启动 Redis：找不到 {missing!r}（PATH 上没有，也不是一个文件）。"
        "可以用以下任一方式安装："
        "`apt-get install redis-server`（Debian、Ubuntu），"
        "`conda install -c conda-forge redis-server`（conda、Binder），"
        "`brew install redis`（macOS）；"
        "或者传入 binary='/path/to/redis-server'（或设置 LABKIT_REDIS_SERVER）。"
    )


@pytest.mark.usefixtures("chinese")
def test_restarting_a_stopped_redis_is_refused_in_chinese(binary: str) -> None:
    """restart() after stop(): a ServerError that says, in Chinese, to use start_redis()."""
    server = start_redis(NAME, binary=binary)
    server.stop()
    with pytest.raises(ServerError) as refused:
        server.restart()
    assert str(refused.value) == f"{NAME} 已停止：请用 start_redis() 启动它"
    with pytest.raises(ServerError, match=r"^这个 Redis 只监听 127\.0\.0\.1（它没有设置密码）$"):
        asyncio.run(RedisServer(NAME, binary=binary).open("0.0.0.0", 0))
