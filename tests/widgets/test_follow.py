"""Panels across re-run cells: they follow a replaced server, and replace their namesakes.

Real servers on 127.0.0.1 with port 0, real panels; every wait is on a panel's
log or state (``wait_for``/``wait_state``), never a sleep.
"""

from __future__ import annotations

import uuid

import pytest

import labkit
from labkit.client import ReadyState
from labkit.widgets import ChatPanel, reconnect


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def room_name() -> str:
    return unique("follow-room")


@pytest.fixture
def room(room_name: str):
    server = labkit.start(labkit.chat_app(), name=room_name)
    yield server
    for handle in labkit.running():
        if handle.name == room_name:
            handle.stop()


def welcomed(panel: ChatPanel, count: int = 1) -> ChatPanel:
    panel.wait_for(lambda _m: sum(m.text.startswith("welcome") for m in panel.messages) >= count)
    return panel


def texts(panel: ChatPanel, kind: str | None = None) -> list[str]:
    return [m.text for m in panel.messages if kind is None or m.kind == kind]


def test_a_replaced_server_keeps_its_url_and_the_panels_follow_it(room, room_name):
    """Re-running the server cell: each panel says why it closed, reconnects, rejoins, chats."""
    alice, bob = welcomed(ChatPanel(room, "alice")), welcomed(ChatPanel(room, "bob"))
    url = room.url
    again = labkit.start(labkit.chat_app(), name=room_name)  # what a re-run cell does
    assert again.url == url and not room.running
    for panel in (alice, bob):
        panel.wait_for(lambda m: m.text == reconnect.reconnected(url))
        welcomed(panel, count=2)
        panel.wait_state("OPEN")
        assert reconnect.disconnected(1001, "", by_user=False) in texts(panel, "system")
        assert not any(m.kind == "error" for m in panel.messages), texts(panel)
    alice.say("after the re-run")
    assert bob.wait_for(lambda m: m.kind == "other").text == "after the re-run"
    assert sorted(again.app.room.users) == ["alice", "bob"]


def test_a_panel_made_again_with_the_same_name_replaces_the_old_one(room):
    """Re-running the panels cell: no name_taken; the old panel closes cleanly and says why."""
    elsewhere = labkit.start(labkit.chat_app(), name=unique("follow-elsewhere"))
    try:
        other_server_alice = welcomed(ChatPanel(elsewhere, "alice"))
        check_replacement(room, other_server_alice)
    finally:
        elsewhere.stop()


def check_replacement(room, other_server_alice: ChatPanel) -> None:
    old = welcomed(ChatPanel(room, "alice"))
    new = welcomed(ChatPanel(room, "alice"))
    assert not any(m.kind == "error" for m in new.messages), texts(new)
    old.wait_state("CLOSED")
    assert old.replaced and not new.replaced
    assert texts(old)[-1] == reconnect.replaced("alice")
    assert old._text.disabled and old._send_button.disabled and old._toggle.disabled
    assert old._ws.close_event.code == 1000 and old._ws.close_event.wasClean
    assert room.app.room.users == ["alice"]
    assert other_server_alice.state is ReadyState.OPEN  # another server: left alone
    new.say("still one alice")
    bob = welcomed(ChatPanel(room, "bob"))
    assert bob.wait_for(lambda m: m.kind == "other").text == "still one alice"  # history
    new.say("hello bob")
    assert bob.wait_for(lambda m: m.text == "hello bob").sender == "alice"
    old.connect()  # a replaced panel stays closed, and says which one to use
    assert old.state is ReadyState.CLOSED and "took over" in texts(old, "error")[-1]


def test_many_panels_made_again_at_once_all_join(room):
    """Three panels re-made in a row, each while its namesake may still be leaving, all join."""
    names = ("alice", "bob", "carol")
    first = [welcomed(ChatPanel(room, n)) for n in names]
    second = [ChatPanel(room, n) for n in names]
    for panel in second:
        welcomed(panel)
        assert not any(m.kind == "error" for m in panel.messages), texts(panel)
    assert all(p.replaced and p.state is ReadyState.CLOSED for p in first)
    assert sorted(room.app.room.users) == sorted(names)


def test_a_text_panel_made_again_replaces_its_namesake_too():
    """The same holds for a plain echo panel (no room, no names on the wire)."""
    echo = labkit.start(labkit.echo_app(), name=unique("follow-echo"))
    try:
        old = ChatPanel(echo, "learner")
        old.wait_state("OPEN")
        new = ChatPanel(echo, "learner")
        new.wait_state("OPEN")
        old.wait_state("CLOSED")
        assert texts(old)[-1] == reconnect.replaced("learner")
        new.say("only me")
        assert new.wait_for(lambda m: m.kind == "other").text == "only me"
    finally:
        echo.stop()


def test_after_stop_all_the_panel_says_the_server_went_away(room, room_name):
    """stop_all(): "disconnected (1001): the server went away…", then nothing is listening."""
    panel = welcomed(ChatPanel(room, "alice"))
    url = room.url
    labkit.stop_all()
    gave_up = reconnect.gave_up(url, None, len(reconnect.BACKOFF))
    panel.wait_for(lambda m: m.text == gave_up, timeout=15)
    panel.wait_state("CLOSED")
    shown = texts(panel)
    went_away = shown.index(reconnect.disconnected(1001, "", by_user=False))
    assert "the server went away" in shown[went_away]
    assert shown[went_away + 1 :] == [gave_up]  # the attempts in between log nothing
    assert f"nothing is listening at {url}" in gave_up
    assert 'data-state="CLOSED"' in panel._header.value and panel._toggle.description == "Connect"
    back = labkit.start(labkit.chat_app(), port=room.port, name=room_name)
    panel._toggle.click()  # after giving up, Connect is the way back
    welcomed(panel, count=2)
    assert panel.state is ReadyState.OPEN and texts(panel, "system")[-2] == f"connected to {url}"
    back.stop()


def test_connecting_to_a_stopped_server_says_nothing_listens_in_one_line():
    """No raw ConnectionRefusedError: one line naming the URL, and the panel is CLOSED."""
    server = labkit.start(labkit.echo_app(), name=unique("follow-dead"))
    url = server.url
    server.stop()
    panel = ChatPanel(url, "ada")
    panel.wait_for(lambda m: m.kind == "error")
    panel.wait_state("CLOSED")
    assert texts(panel) == [reconnect.connect_failed(url, None)]
    assert texts(panel)[0].startswith(f"nothing is listening at {url}")
    assert "Error" not in panel._log.value  # no exception names
    panel._toggle.click()  # Connect again: one more line, still no traceback text
    panel.wait_for(lambda _m: len(panel.messages) == 2)
    assert texts(panel) == [reconnect.connect_failed(url, None)] * 2


def test_disconnect_while_reconnecting_stops_the_attempts(room):
    """Disconnect during the backoff: no more attempts, the panel says so and stays CLOSED."""
    panel = welcomed(ChatPanel(room, "alice"))
    room.stop()
    panel.wait_for(lambda m: m.text.endswith("reconnecting…"))
    panel.disconnect()
    panel.wait_for(lambda m: m.text == "stopped reconnecting")
    panel.wait_state("CLOSED")
    assert panel._conn.intent == "closed"


def test_a_close_the_server_means_is_not_followed():
    """Any other close code (here 4000 from an app) ends the connection for good."""
    app = labkit.App(unique("follow-closer"))

    @app.use
    async def close_at_once(ctx, next):
        await ctx.websocket.close(4000, "go away")

    server = labkit.start(app)
    try:
        panel = ChatPanel(server, "ada")
        panel.wait_for(lambda m: m.text.startswith("disconnected"))
        assert texts(panel)[-1] == "disconnected (4000 go away)"
        assert panel._conn.intent == "closed" and panel.state is ReadyState.CLOSED
    finally:
        server.stop()


def test_the_words_of_each_ending():
    """The reconnection rules, as values: which codes are followed, what each line says."""
    assert reconnect.disconnected(1000, "", by_user=True) == "disconnected (1000)"
    assert reconnect.disconnected(1001, "bye", by_user=True) == "disconnected (1001 bye)"
    assert reconnect.disconnected(1008, "x", by_user=False) == "disconnected (1008 x)"
    assert reconnect.disconnected(1006, "", by_user=False).endswith("; reconnecting…")
    refused = "ConnectionRefusedError: [Errno 111] Connect call failed ('127.0.0.1', 9)"
    assert reconnect.is_refused(refused) and not reconnect.is_refused("InvalidStatus: 403")
    assert reconnect.connect_failed("ws://h/", refused).startswith(
        "nothing is listening at ws://h/"
    )
    assert reconnect.connect_failed("ws://h/", "InvalidStatus: 403") == (
        "could not connect to ws://h/: InvalidStatus: 403"
    )
    assert "could not reconnect to ws://h/ (InvalidStatus: 403)" in reconnect.gave_up(
        "ws://h/", "InvalidStatus: 403", 4
    )
    assert list(reconnect.BACKOFF) == sorted(reconnect.BACKOFF) and sum(reconnect.BACKOFF) < 5


def test_a_server_that_goes_away_for_good_is_told_in_chinese(chinese):
    """Under zh-CN: the 1001 line, the retries in the header, then "nothing listens"."""
    server = labkit.start(labkit.echo_app(), name=unique("follow-gone-zh"))
    panel = ChatPanel(server, "ada")
    panel.wait_state("OPEN")
    url = server.url
    server.stop()  # for good: every retry finds a closed port
    went = panel.wait_for(lambda m: m.text.startswith("连接已断开（1001"))
    assert went.text.endswith("：服务器已离开（被停止，或被重新运行的单元格替换）；正在重新连接…")
    gave_up = panel.wait_for(lambda m: m.text.startswith("服务器已断开"))
    assert gave_up.text == (
        f"服务器已断开：{url} 上没有服务在监听（已尝试 4 次）；请点击“连接”再试一次"
    )
    panel.wait_state("CLOSED")
    assert panel._toggle.description == "连接"
    panel.close()


def test_a_replaced_panel_says_so_in_chinese(room, chinese):
    """The old panel's last line and header status, when a namesake takes over, are Chinese."""
    from labkit.chat.protocol import Welcome

    old = ChatPanel(room, "alice")
    old.wait_for(lambda m: isinstance(m.data, Welcome))
    new = ChatPanel(room, "alice")
    old.wait_for(lambda m: m.text == "已关闭：alice 的新面板接替了它（它所在的单元格重新运行了）")
    old.wait_state("CLOSED")
    assert "· 已被替换" in old._header.value
    old.connect()
    assert texts(old, "error")[-1] == "同名的新面板已经接替了这个面板：请使用新面板"
    new.close()
