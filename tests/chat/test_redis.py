"""Chat rooms shared through a real ``redis-server`` by real server processes.

Each test says which guarantee of :mod:`labkit.chat.redis` it proves. The
servers are ``python -m labkit serve chat --redis URL --port 0`` processes;
the clients are ``websockets`` clients, each reading in a thread of its own
into an inbox that the test waits on (conditions with deadlines, never a
sleep; the one timed pause is Redis staying down, the thing under test).

Ordering proofs use the log itself: a message sent *after* the ones under
test, by a sender whose messages are in the same room's log, arrives after
them everywhere, so once it has arrived nothing before it is still on its way.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect as aconnect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

import labkit
from labkit.chat import chat_app

from .redis_server import ChatProcess, RedisServer, need_redis, wait_until

TIMEOUT = 10.0
Event = dict[str, Any]


def fresh(prefix: str) -> str:
    """A room or user name no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


class Client:
    """A chat client whose frames land in an inbox that tests wait on."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._stack = contextlib.ExitStack()
        self.ws: ClientConnection = self._stack.enter_context(connect(url, open_timeout=TIMEOUT))
        self.events: list[Event] = []
        self.closed = False
        self._cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        try:
            for frame in self.ws:
                with self._cond:
                    self.events.append(json.loads(frame))
                    self._cond.notify_all()
        except ConnectionClosed:
            pass
        finally:
            with self._cond:
                self.closed = True
                self._cond.notify_all()

    def send(self, **event: Any) -> None:
        self.ws.send(json.dumps(event))

    def wait(self, found: Callable[[list[Event]], Any], what: str, timeout: float = TIMEOUT) -> Any:
        """Wait until ``found(events)`` is truthy and return it."""
        with self._cond:
            value = self._cond.wait_for(lambda: found(self.events), timeout)
        assert value, f"{what}: not within {timeout} s; got {self.events[-5:]}"
        return value

    def first(self, kind: str, timeout: float = TIMEOUT, **fields: Any) -> Event:
        def match(events: list[Event]) -> Event | None:
            return next(
                (
                    e
                    for e in events
                    if e["type"] == kind and all(e.get(k) == v for k, v in fields.items())
                ),
                None,
            )

        return self.wait(match, f"a {kind} {fields}", timeout)

    def join(self, name: str) -> Event:
        self.send(type="join", name=name)
        reply = self.wait(
            lambda es: next((e for e in es if e["type"] in ("welcome", "error")), None), "a reply"
        )
        assert reply["type"] == "welcome", reply
        return reply

    def texts(self) -> list[str]:
        with self._cond:
            return [e["text"] for e in self.events if e["type"] == "message"]

    def of(self, kind: str) -> list[Event]:
        with self._cond:
            return [e for e in self.events if e["type"] == kind]

    def close(self) -> None:
        self._stack.close()


@pytest.fixture(scope="module")
def redis_binary() -> str:
    return need_redis()


@pytest.fixture(scope="module")
def redis(redis_binary: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(redis_binary, tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def cluster(redis: RedisServer) -> Iterator[tuple[ChatProcess, ChatProcess]]:
    """Two server processes on one Redis (dead peers are noticed within 2 s)."""
    a = ChatProcess(redis.url, "--presence-timeout", "2")
    b = ChatProcess(redis.url, "--presence-timeout", "2")
    yield a, b
    a.stop()
    b.stop()


@pytest.fixture
def clients() -> Iterator[list[Client]]:
    made: list[Client] = []
    yield made
    for client in made:
        client.close()


def member(clients: list[Client], url: str, name: str) -> Client:
    client = Client(url)
    clients.append(client)
    client.join(name)
    return client


# --- one order, once, everywhere -------------------------------------------------------


def test_public_messages_reach_every_other_member_once_in_one_order(cluster, clients) -> None:
    """Two senders on two processes at once: everyone else gets each message once, same order."""
    a, b = cluster
    room = fresh("order")
    a1, a2 = (member(clients, a.room(room), n) for n in ("a1", "a2"))
    b1, b2 = (member(clients, b.room(room), n) for n in ("b1", "b2"))
    count = 30

    def burst(sender: Client, tag: str) -> None:
        for n in range(count):
            sender.send(type="message", text=f"{tag}-{n}")

    threads = [threading.Thread(target=burst, args=(c, t)) for c, t in ((a1, "a"), (b1, "b"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for client, expected in ((a1, count), (b1, count), (a2, 2 * count), (b2, 2 * count)):
        client.wait(
            lambda es, n=expected: len([e for e in es if e["type"] == "message"]) >= n, "all"
        )
    a2.send(type="message", text="end")  # after everything, in the same log
    for client in (a1, b1, b2):
        client.first("message", text="end")
    seen = {name: c.texts()[:-1] for name, c in (("a1", a1), ("b1", b1), ("b2", b2))}
    seen["a2"] = a2.texts()
    assert seen["a2"] == seen["b2"]  # one order on both processes
    assert len(set(seen["b2"])) == 2 * count  # each message once
    assert seen["a1"] == [t for t in seen["b2"] if t.startswith("b-")]  # no echo, same order
    assert seen["b1"] == [t for t in seen["b2"] if t.startswith("a-")]
    assert [t for t in seen["b2"] if t.startswith("a-")] == [f"a-{n}" for n in range(count)]


def test_private_messages_and_typing_cross_processes(cluster, clients) -> None:
    """A private message reaches its recipient on the other process and the sender's copy."""
    a, b = cluster
    room = fresh("private")
    ann = member(clients, a.room(room), "Ann")
    bob = member(clients, b.room(room), "Bob")
    cy = member(clients, b.room(room), "Cy")
    ann.send(type="message", text="psst", to="BOB")
    got = bob.first("message", text="psst")
    assert (got["from"], got["to"]) == ("Ann", "Bob")
    assert ann.first("message", text="psst") == got
    bob.send(type="typing")
    assert ann.first("typing") == {"type": "typing", "name": "Bob"}
    ann.send(type="message", text="after")
    assert cy.first("message", text="after")
    assert cy.texts() == ["after"]  # the private one never reached Cy
    ann.send(type="message", text="x", to="nobody")
    assert ann.first("error")["code"] == "unknown_user"


def test_the_same_name_joined_on_both_processes_at_once_wins_exactly_once(cluster) -> None:
    """100 times, one name joined on A and on B in the same instant: one welcome, one name_taken."""
    a, b = cluster
    room = fresh("twins")

    async def race() -> list[tuple[str, str]]:
        outcomes = []
        sockets = []
        try:
            for n in range(100):
                pair = [await aconnect(p.room(room), max_queue=None) for p in (a, b)]
                sockets += pair
                join = json.dumps({"type": "join", "name": f"Twin{n}"})
                await asyncio.gather(*(ws.send(join) for ws in pair))
                replies = [json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT)) for ws in pair]
                kinds = sorted(r["type"] if r["type"] == "welcome" else r["code"] for r in replies)
                outcomes.append(tuple(kinds))
        finally:
            await asyncio.gather(*(ws.close() for ws in sockets))
        return outcomes

    outcomes = asyncio.run(race())
    assert outcomes == [("name_taken", "welcome")] * 100


def test_rooms_stay_apart_across_processes(cluster, clients) -> None:
    """A name taken in one room is free in another; messages and counts stay in their room."""
    a, b = cluster
    one, two = fresh("one"), fresh("two")
    sam1 = member(clients, a.room(one), "Sam")
    sam2 = member(clients, b.room(two), "sam")  # the same name, another room
    other1 = member(clients, b.room(one), "Other")
    assert other1.of("welcome")[0]["users"] == ["Sam", "Other"]
    assert sam1.first("join") == {"type": "join", "name": "Other", "count": 2}
    sam1.send(type="message", text="room one")
    assert other1.first("message")["text"] == "room one"
    sam2.send(type="message", text="room two")
    other2 = member(clients, a.room(two), "Other")  # free here too
    assert [m["text"] for m in other2.of("welcome")[0]["history"]] == ["room two"]
    assert other1.texts() == ["room one"] and sam2.texts() == []


def test_a_newcomer_on_b_sees_the_history_written_on_a_and_counts_agree(cluster, clients) -> None:
    """History is shared; the welcome's list and every notice's count agree on both processes."""
    a, b = cluster
    room = fresh("history")
    ann = member(clients, a.room(room), "Ann")
    watchers = [member(clients, p.room(room), f"w{i}") for i, p in enumerate((a, b, a))]
    for n in range(3):
        ann.send(type="message", text=f"m{n}")
    watchers[1].wait(lambda es: len([e for e in es if e["type"] == "message"]) == 3, "3 messages")
    newcomer = member(clients, b.room(room), "New")
    welcome = newcomer.of("welcome")[0]
    assert welcome["users"] == ["Ann", "w0", "w1", "w2", "New"]
    assert [m["text"] for m in welcome["history"]] == ["m0", "m1", "m2"]
    assert all(m["from"] == "Ann" for m in welcome["history"])
    for client in (ann, *watchers):
        assert client.first("join", name="New")["count"] == 5
    newcomer.close()
    for client in (ann, *watchers):
        assert client.first("leave", name="New")["count"] == 4


# --- a process that dies ---------------------------------------------------------------


def _dies_and_its_users_leave(redis_url: str, cluster, clients, timeout: float) -> float:
    a, b = cluster
    room = fresh("doomed")
    doomed = ChatProcess(redis_url, *(["--presence-timeout", str(timeout)] if timeout else []))
    try:
        ann = member(clients, a.room(room), "Ann")
        bob = member(clients, b.room(room), "Bob")
        for name in ("G1", "G2"):
            member(clients, doomed.room(room), name)
        bob.wait(lambda es: len([e for e in es if e["type"] == "join"]) == 2, "both ghosts")
        started = time.monotonic()
        doomed.kill()
        for watcher in (ann, bob):
            watcher.wait(
                lambda es: len([e for e in es if e["type"] == "leave"]) == 2, "2 leaves", 20
            )
        took = time.monotonic() - started
        ann.send(type="message", text="marker")  # after the leaves, in the same log
        bob.first("message", text="marker")
        for watcher in (ann, bob):
            assert sorted(e["name"] for e in watcher.of("leave")) == ["G1", "G2"]  # each once
            assert [e["count"] for e in watcher.of("leave")] == [3, 2]
        again = member(clients, b.room(room), "g1")  # the names are free again
        assert again.of("welcome")[0]["users"] == ["Ann", "Bob", "g1"]
        print(f"\n[redis] presence_timeout={timeout or 15}: users gone after {took:.2f} s")
        return took
    finally:
        doomed.kill()


def test_a_killed_process_users_leave_within_its_presence_timeout(redis, cluster, clients) -> None:
    """SIGKILL a process with presence_timeout=1: its users leave the others' lists, once."""
    took = _dies_and_its_users_leave(redis.url, cluster, clients, timeout=1.0)
    assert took < 1.0 + 2.0  # its expiry, plus one look of the others (every 0.33 s), plus slack


def test_a_killed_process_users_leave_within_15_s_by_default(redis, cluster, clients) -> None:
    """The default presence timeout: a SIGKILLed process's users are gone within 15 s."""
    took = _dies_and_its_users_leave(redis.url, cluster, clients, timeout=0)
    assert took < 15.0


# --- Redis goes away -----------------------------------------------------------------------


@pytest.fixture
def own_cluster(
    redis_binary: str, tmp_path: Path
) -> Iterator[tuple[RedisServer, ChatProcess, ChatProcess]]:
    """A Redis of the test's own (it will be killed) and two processes on it."""
    server = RedisServer(redis_binary, tmp_path).start()
    a = ChatProcess(server.url, "--presence-timeout", "2")
    b = ChatProcess(server.url, "--presence-timeout", "2")
    yield server, a, b
    a.stop()
    b.stop()
    server.stop()


@pytest.mark.parametrize("down", [2.0, 12.0], ids=["2s", "12s"])
def test_redis_killed_and_back_loses_nothing_accepted(own_cluster, clients, down: float) -> None:
    """SIGKILL Redis, start it again empty after `down` s: every message is delivered or refused.

    A sender keeps talking through the outage. Each message either reaches the
    member on the other process (once, in order) or gets an ``unavailable``
    error back: none is lost silently. The rooms come back by themselves
    (members re-registered: nobody left, names still taken), within seconds.
    """
    server, a, b = own_cluster
    room = fresh("outage")
    ann = member(clients, a.room(room), "Ann")
    bob = member(clients, b.room(room), "Bob")
    sent, stop = [0], threading.Event()

    def talk() -> None:
        while not stop.is_set():
            ann.send(type="message", text=str(sent[0]))
            sent[0] += 1
            stop.wait(0.08)  # the sender's pace (12 a second, under the rate limit)

    talker = threading.Thread(target=talk)
    talker.start()
    try:
        bob.wait(lambda es: len(es) >= 3, "messages before the outage")
        server.kill()
        ann.first("error", code="unavailable")
        time.sleep(down)  # Redis stays down: the thing under test
        server.start()
        back = time.monotonic()
        at_kill = len(bob.texts())

        def more(n: int) -> Callable[[list[Event]], bool]:
            return lambda es: len([e for e in es if e["type"] == "message"]) >= at_kill + n

        bob.wait(more(1), "the first message after Redis came back", 15)
        recovered = time.monotonic() - back
        bob.wait(more(10), "ten more")
    finally:
        stop.set()
        talker.join()
    ann.send(type="message", text="end")
    bob.first("message", text="end")
    ann.send(type="marker")  # an unknown type: answered by Ann's own process, after the rest
    ann.first("error", code="unknown_type")
    delivered = [int(t) for t in bob.texts()[:-1]]
    refused = len([e for e in ann.of("error") if e["code"] == "unavailable"])
    assert delivered == sorted(set(delivered))  # once each, in order
    assert len(delivered) + refused == sent[0]  # nothing lost silently
    figures = f"{len(delivered)} delivered, {refused} refused, back after {recovered:.2f} s"
    print(f"\n[redis] down {down:g} s: {figures}")
    assert refused > 0 and recovered < 5.0
    assert ann.of("leave") == [] and bob.of("leave") == []  # nobody left
    newcomer = Client(b.room(room))
    clients.append(newcomer)
    newcomer.send(type="join", name="ANN")
    assert newcomer.first("error")["code"] == "name_taken"  # re-registered
    newcomer.send(type="join", name="Cy")
    assert newcomer.first("welcome")["users"] == ["Ann", "Bob", "Cy"]
    history = [m["text"] for m in newcomer.first("welcome")["history"]]
    assert history[-2:] == [str(delivered[-1]), "end"]  # kept through the outage


# --- from Python: chat_app(redis=...) --------------------------------------------------------


def test_chat_app_redis_shares_rooms_and_counts_max_rooms_over_every_process(
    redis, clients
) -> None:
    """Two apps in this process on one Redis (database 1): one user list, one room bound."""
    url = redis.url.removesuffix("/0") + "/1"
    a = labkit.start(chat_app(redis=url, max_rooms=1), name=fresh("redis-a"))
    b = labkit.start(chat_app(redis=url, max_rooms=1), name=fresh("redis-b"))
    try:
        ann = member(clients, a.url, "Ann")
        member(clients, b.url, "Bob")
        ann.first("join", name="Bob")
        assert a.app.room.users == ["Ann", "Bob"]
        wait_until(lambda: b.app.room.users == ["Ann", "Bob"], TIMEOUT, "B's list")
        member(clients, f"{a.url}rooms/only", "Cy")
        with pytest.raises(InvalidStatus) as refused:
            connect(f"{b.url}rooms/another", open_timeout=TIMEOUT)
        assert refused.value.response.status_code == 503
        assert "max_rooms=1" in refused.value.response.body.decode()
        member(clients, f"{b.url}rooms/only", "Dee")  # an open room still takes people
    finally:
        a.stop()
        b.stop()


def test_without_redis_the_chat_still_starts_and_refuses_handshakes_with_503() -> None:
    """Redis unreachable from the start: the server serves, and says why it cannot open rooms."""
    handle = labkit.start(chat_app(redis="redis://127.0.0.1:9/0"), name=fresh("no-redis"))
    try:
        for path in ("", "rooms/lobby"):
            with pytest.raises(InvalidStatus) as refused:
                connect(handle.url + path, open_timeout=TIMEOUT)
            assert refused.value.response.status_code == 503
            assert "cannot reach its shared store (Redis)" in refused.value.response.body.decode()
    finally:
        handle.stop()


def test_a_stalled_redis_holds_up_no_connection(own_cluster, clients) -> None:
    """Redis frozen (SIGSTOP): a message waits in the outbox, every connection goes on."""
    server, a, b = own_cluster
    room = fresh("stalled")
    ann = member(clients, a.room(room), "Ann")
    bob = member(clients, b.room(room), "Bob")
    assert server.proc is not None
    server.proc.send_signal(signal.SIGSTOP)
    try:
        ann.send(type="message", text="waits for Redis")
        ann.send(type="dance")  # answered by Ann's own process: not held up behind Redis
        ann.first("error", code="unknown_type", timeout=2.0)
        bob.send(type="dance")
        bob.first("error", code="unknown_type", timeout=2.0)
        assert bob.texts() == []
    finally:
        server.proc.send_signal(signal.SIGCONT)
    assert bob.first("message")["text"] == "waits for Redis"  # once Redis answers: not lost
