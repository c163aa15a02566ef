"""Tests for labkit.widgets.panel: the chat panel against real servers."""

from __future__ import annotations

import asyncio
import time

import pytest

import labkit
from labkit.client import ReadyState
from labkit.errors import KitLoopError
from labkit.runner import run_sync
from labkit.widgets import ChatPanel, side_by_side
from labkit.widgets.panel import KEEP_ENTRIES


@pytest.fixture
def echo():
    server = labkit.start(labkit.echo_app(), name="panel-echo")
    yield server
    server.stop()


def test_panel_root_has_the_css_class_and_a_send_button(echo):
    """The root widget carries `labkit-chat-panel`; Send, Connect and Clear exist."""
    panel = ChatPanel(echo, "ada")
    assert "labkit-chat-panel" in panel._dom_classes
    assert panel._send_button.description == "Send"
    panel.wait_state("OPEN")
    assert panel._toggle.description == "Disconnect"
    panel.disconnect()
    panel.wait_state("CLOSED")


def test_say_to_echo_shows_own_and_echoed_lines(echo):
    """In text mode a said line comes back from the echo as `other`."""
    panel = ChatPanel(echo, "ada")
    panel.wait_state("OPEN")
    panel.say("hello <b>echo</b>")
    reply = panel.wait_for(lambda m: m.kind == "other")
    assert reply.text == "hello <b>echo</b>" and reply.sender == "server"
    assert [m.kind for m in panel.messages] == ["system", "own", "other"]
    assert "&lt;b&gt;echo&lt;/b&gt;" in panel._log.value
    panel.disconnect()


def test_typing_enter_or_clicking_send_sends_the_box(echo):
    """The Send button (and Enter) send the text box's value and empty it."""
    panel = ChatPanel(echo, "ada")
    panel.wait_state("OPEN")
    panel._text.value = "typed"
    panel._send_button.click()
    assert panel._text.value == ""
    assert panel.wait_for(lambda m: m.kind == "other").text == "typed"
    panel._text.value = "   "
    panel._send_button.click()  # blank: nothing sent
    assert [m.text for m in panel.messages if m.kind == "own"] == ["typed"]
    panel.disconnect()


def test_state_follows_a_server_stop_and_a_reconnect(echo):
    """The header goes OPEN → CLOSED when the server stops, and OPEN again once it is back."""
    panel = ChatPanel(echo, "ada")
    panel.wait_state("OPEN")
    port = echo.port
    echo.stop()
    panel.wait_for(lambda m: m.text.startswith("disconnected (1001)"))
    panel.wait_state("CLOSED")
    assert 'data-state="CLOSED"' in panel._header.value
    went = [m.text for m in panel.messages if m.text.startswith("disconnected (1001)")]
    assert went == [
        "disconnected (1001): the server went away (stopped, or replaced by a "
        "re-run cell); reconnecting…"
    ]
    with pytest.raises(ConnectionError, match="connect first"):
        panel.say("into the void")
    again = labkit.start(labkit.echo_app(), port=port, name="panel-echo-again")
    try:
        panel.wait_state("OPEN")  # by itself: the server is back at the same URL
        assert 'data-state="OPEN"' in panel._header.value
        assert (
            panel.messages[-1].text
            == f"reconnected to {again.url}: the server is back at the same URL"
        )
        panel.say("back")
        panel.wait_for(lambda m: m.kind == "other" and m.text == "back")
    finally:
        panel.disconnect()
        again.stop()


def test_clear_empties_the_log(echo):
    """Clear removes every entry from the log and from `messages`."""
    panel = ChatPanel(echo, "ada")
    panel.wait_state("OPEN")
    panel._clear.click()
    assert panel.messages == [] and "lk-msg" not in panel._log.value
    panel.disconnect()


def test_unreachable_server_shows_an_error_and_closed_state():
    """Connecting to a dead port ends CLOSED with an error entry, never an exception."""
    server = labkit.start(labkit.echo_app(), name="panel-dead")
    url = server.url
    server.stop()
    panel = ChatPanel(url, "ada")
    panel.wait_for(lambda m: m.kind == "error")
    panel.wait_state("CLOSED")


def test_side_by_side_lays_panels_in_one_row(echo):
    """side_by_side() returns a row holding the panels with equal flex."""
    a, b = ChatPanel(echo, "a", connect=False), ChatPanel(echo, "b", connect=False)
    row = side_by_side(a, b)
    assert list(row.children) == [a, b]
    assert a.layout.flex == b.layout.flex == "1 1 0"


def test_mode_is_checked():
    """An unknown mode is refused with a clear error."""
    with pytest.raises(ValueError, match="mode"):
        ChatPanel("ws://127.0.0.1:9/", mode="json", connect=False)  # type: ignore[arg-type]


@pytest.fixture
def room():
    server = labkit.start(labkit.chat_app(), name="panel-room")
    yield server
    server.stop()


def welcomed(panel: ChatPanel) -> ChatPanel:
    panel.wait_for(lambda m: m.kind == "system" and m.text.startswith("welcome"))
    return panel


def test_chat_mode_is_picked_for_a_chat_server_and_joins_with_the_name(room):
    """A panel on a chat server joins with its name and keeps the user list."""
    alice = welcomed(ChatPanel(room, "alice"))
    bob = welcomed(ChatPanel(room, "bob"))
    assert alice.mode == bob.mode == "chat"
    alice.wait_for(lambda m: m.text == "bob joined (2 online)")
    assert alice.users == ["alice", "bob"] and bob.users == ["alice", "bob"]
    assert "2 online" in alice._header.value


def test_chat_broadcast_goes_to_others_and_private_to_one(room):
    """A public line reaches the others (not the sender); /msg reaches one user."""
    alice, bob, carol = (welcomed(ChatPanel(room, n)) for n in ("alice", "bob", "carol"))
    alice.say("hello all")
    for panel in (bob, carol):
        got = panel.wait_for(lambda m: m.kind == "other" and m.text == "hello all")
        assert got.sender == "alice"
    bob._text.value = "/msg carol just for you"
    bob._send_button.click()
    assert carol.wait_for(lambda m: m.kind == "private").text == "just for you"
    bob.say("marker")
    alice.wait_for(lambda m: m.text == "marker")
    assert [m.text for m in alice.received] == ["marker"]  # no own copy, no private
    assert [m.kind for m in bob.messages if m.text == "just for you"] == ["private"]  # once


def test_a_newcomer_sees_the_history_and_typing_notices(room):
    """welcome's history fills a new panel; typing() shows in the others' headers."""
    alice = welcomed(ChatPanel(room, "alice"))
    alice.say("before you came")
    bob = welcomed(ChatPanel(room, "bob"))
    assert bob.wait_for(lambda m: m.text == "before you came").sender == "alice"
    alice.wait_for(lambda m: m.text.startswith("bob joined"))
    bob.typing()
    alice.wait_for(lambda m: m.kind == "typing")
    assert "bob typing…" in alice._header.value


def test_a_taken_name_shows_the_server_error(room):
    """Joining with a taken name shows the room's `name_taken` error in the log."""
    welcomed(ChatPanel(room, "alice"))
    copycat = ChatPanel(room, "ALICE")
    assert copycat.wait_for(lambda m: m.kind == "error").text.startswith("name_taken")


def test_reconnecting_while_the_old_socket_closes_stays_open(echo):
    """Disconnect then Connect at once: the old socket's close does not mark the panel CLOSED."""
    panel = ChatPanel(echo, "ada")
    panel.wait_state("OPEN")
    old = panel._ws
    panel.disconnect()
    panel.connect()
    assert panel._ws is not old
    panel.wait_state("OPEN")
    old.wait_closed()
    panel.say("still here")
    panel.wait_for(lambda m: m.kind == "other" and m.text == "still here")
    assert panel.state is ReadyState.OPEN and panel._toggle.description == "Disconnect"
    panel.disconnect()


def test_state_is_a_ready_state_and_wait_state_takes_either_form(echo):
    """The state is the ReadyState enum; wait_state accepts the enum or its name."""
    panel = ChatPanel(echo, "ada", connect=False)
    assert panel.state is ReadyState.CLOSED and "CLOSED" in repr(panel)
    assert 'data-state="CLOSED"' in panel._header.value  # the header shows the name
    panel.connect()
    panel.wait_state(ReadyState.OPEN)
    panel.wait_state("OPEN")
    assert panel.state is ReadyState.OPEN
    with pytest.raises(ValueError, match="CONNECTING, OPEN, CLOSING, CLOSED"):
        panel.wait_state("open")
    with pytest.raises(TimeoutError, match="ada's panel is OPEN, not CLOSED"):
        panel.wait_state(ReadyState.CLOSED, timeout=0.05)
    panel.disconnect()
    panel.wait_state(ReadyState.CLOSED)


def test_a_wait_that_times_out_says_what_it_saw(echo):
    """wait_for's timeout names the panel, its state and its last entries."""
    panel = ChatPanel(echo, "ada")
    panel.wait_state("OPEN")
    started = time.monotonic()
    with pytest.raises(TimeoutError) as info:
        panel.wait_for(lambda m: m.text == "never", timeout=0.1)
    assert time.monotonic() - started < 5
    assert str(info.value) == (
        f"ada's panel waited 0.1 s; state OPEN; last entries: "
        f"['system:None:connected to {echo.url}']"
    )
    panel.disconnect()


def test_waits_are_refused_on_the_kit_loop(echo):
    """Blocking inside a handler would stall the loop that delivers: KitLoopError instead."""
    panel = ChatPanel(echo, "ada", connect=False)

    async def inside() -> list[str]:
        errors = []
        for wait in (lambda: panel.wait_for(lambda m: True), lambda: panel.wait_state("OPEN")):
            with pytest.raises(KitLoopError) as info:
                wait()
            errors.append(str(info.value))
        await asyncio.sleep(0)
        return errors

    errors = run_sync(inside())
    assert [e.split("(")[0] for e in errors] == ["panel.wait_for", "panel.wait_state"]
    assert all("would block the loop" in e for e in errors)


def test_the_log_keeps_the_last_entries_only(echo):
    """At most KEEP_ENTRIES entries are kept, oldest dropped first."""
    panel = ChatPanel(echo, "ada", connect=False)
    for n in range(KEEP_ENTRIES + 5):
        panel._journal.append(labkit.widgets.ChatMessage("system", str(n)))
    assert len(panel.messages) == KEEP_ENTRIES and panel.messages[0].text == "5"


def test_a_panel_joins_a_room_of_its_own_by_path() -> None:
    """room= joins /rooms/NAME; the same name is free in the main room and rooms stay apart."""
    server = labkit.start(labkit.chat_app(), name="test-panel-rooms")
    try:
        main = labkit.ChatPanel(server, name="ana")
        side = labkit.ChatPanel(server, name="ana", room="lab-b")
        assert side.url == server.url + "rooms/lab-b"
        for panel in (main, side):
            panel.wait_for(lambda m: m.text.startswith("welcome"), timeout=10)
        side.say("only in lab-b")
        other = labkit.ChatPanel(server, name="ben", room="lab-b")
        other.wait_for(lambda m: m.text == "only in lab-b", timeout=10)
        assert not [m for m in main.messages if m.text == "only in lab-b"]
        for panel in (main, side, other):
            panel.close()
    finally:
        server.stop()


# --- in Chinese ------------------------------------------------------------------


def test_a_panel_made_in_chinese_has_chinese_labels_and_says_nothing_listens(chinese):
    """Under zh-CN the buttons, placeholder, hint and header are Chinese, and a dead port
    gives the Chinese line (the readyState names stay, as the API has them)."""
    server = labkit.start(labkit.echo_app(), name="panel-dead-zh")
    url = server.url
    server.stop()  # a real port that nothing listens on any more
    panel = ChatPanel(url, "ada")
    error = panel.wait_for(lambda m: m.kind == "error")
    panel.wait_state("CLOSED")
    assert error.text == f"{url} 上没有服务在监听：服务器在运行吗？（labkit.running()）"
    assert panel._send_button.description == "发送"
    assert panel._toggle.description == "连接"
    assert panel._clear.description == "清空"
    assert panel._text.placeholder == "输入消息"
    assert "按回车发送" in panel._hint.value and "/msg" not in panel._hint.value
    header = panel._header.value
    assert 'data-state="CLOSED"' in header and ">已关闭 CLOSED</span>" in header
    assert "内核已断开：请重新运行这个单元格" in header
    with pytest.raises(ConnectionError, match="ada 的面板处于 CLOSED 状态：请先连接"):
        panel.say("无人接收")
    panel.close()


def test_an_echo_panel_in_chinese_says_connected_and_names_the_server(echo, chinese):
    """Connected and echoed lines read in Chinese; the state dot still reads OPEN."""
    panel = ChatPanel(echo, "ada")
    panel.wait_state("OPEN")
    assert panel._toggle.description == "断开连接"
    assert panel.messages[0].text == f"已连接到 {echo.url}"
    assert ">已连接 OPEN</span>" in panel._header.value
    panel.say("你好")
    reply = panel.wait_for(lambda m: m.kind == "other")
    assert (reply.sender, reply.text) == ("服务器", "你好")
    panel._ws.send(b"\x00\x01")  # binary, straight on the socket: the echo sends it back
    binary = panel.wait_for(lambda m: isinstance(m.data, bytes))
    assert binary.text == "<2 字节的二进制数据：00 01>"
    panel.disconnect()
    panel.wait_state("CLOSED")
    assert panel.messages[-1].text == "连接已断开（1000）"


def test_a_chat_panel_in_chinese_welcomes_and_hints_at_private_messages(room, chinese):
    """welcome / join lines, the online count and the /msg hint are Chinese; /msg stays."""
    from labkit.chat.protocol import Joined, Welcome

    alice = ChatPanel(room, "alice")
    first = alice.wait_for(lambda m: isinstance(m.data, Welcome))
    assert first.text == "欢迎你，alice！目前还没有其他人"
    assert "按回车发送 · /msg 用户名 内容：私信" in alice._hint.value
    bob = ChatPanel(room, "bob")
    assert (
        bob.wait_for(lambda m: isinstance(m.data, Welcome)).text == "欢迎你，bob！在线的有：alice"
    )
    joined = alice.wait_for(lambda m: isinstance(m.data, Joined))
    assert joined.text == "bob 加入了聊天室（2 人在线）"
    assert "· 2 人在线" in alice._header.value and 'title="alice、bob"' in alice._header.value
    for panel in (alice, bob):
        panel.close()


def test_a_half_typed_command_is_explained_and_not_sent(room):
    """Bare /msg in the box: a usage line in the panel, the box kept, nothing to the room."""
    alice, bob = (welcomed(ChatPanel(room, n)) for n in ("alice", "bob"))
    alice._text.value = "/msg"
    alice._send_button.click()
    assert alice.wait_for(lambda m: m.kind == "error").text.startswith("usage: /msg NAME text")
    assert alice._text.value == "/msg"
    alice.say("marker")
    bob.wait_for(lambda m: m.text == "marker")
    assert [m.text for m in bob.received] == ["marker"]
