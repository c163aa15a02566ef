"""The chat server over real sockets: ``chat_app`` on 127.0.0.1 with real WebSocket clients.

Ordering: one connection's frames arrive in the order the server wrote them,
and the server handles one client's frames in order. To prove that something
did *not* arrive, a test sends a marker that the server must answer (invalid
JSON, answered with ``bad_json``) and looks at what came before the answer.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import re
import socket
import struct
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.frames import Frame, Opcode
from websockets.sync.client import ClientConnection, connect

import labkit
from labkit.app import MAX_BUFFER, App
from labkit.chat import chat_app
from labkit.chat.app import page_html
from labkit.chat.page_text import (
    DATA_BLOCK,
    ERROR_MESSAGES,
    PAGE_MESSAGES,
    choose_language,
    page_texts,
    script_json,
)
from labkit.chat.protocol import MAX_MESSAGE_SIZE, ErrorCode
from labkit.i18n import gettext_for
from labkit.runner import ServerHandle

from .conftest import unique

TIMEOUT = 5.0


@pytest.fixture
def clients() -> Iterator[contextlib.ExitStack]:
    with contextlib.ExitStack() as stack:
        yield stack


def open_client(stack: contextlib.ExitStack, url: str, **options: Any) -> ClientConnection:
    return stack.enter_context(connect(url, open_timeout=TIMEOUT, **options))


def send(ws: ClientConnection, **event: Any) -> None:
    ws.send(json.dumps(event))


def recv(ws: ClientConnection) -> dict[str, Any]:
    return json.loads(ws.recv(timeout=TIMEOUT))


def join(stack: contextlib.ExitStack, url: str, name: str) -> ClientConnection:
    ws = open_client(stack, url)
    send(ws, type="join", name=name)
    welcome = recv(ws)
    assert welcome["type"] == "welcome", welcome
    return ws


def barrier(ws: ClientConnection) -> list[dict[str, Any]]:
    """Send invalid JSON; return every event that arrived before its bad_json answer."""
    ws.send("{marker")
    before = []
    while True:
        event = recv(ws)
        if event["type"] == "error" and event["code"] == "bad_json":
            return before
        before.append(event)


def expect(ws: ClientConnection, kind: str) -> dict[str, Any]:
    """Return the next event of type ``kind``, skipping join/leave/typing notices."""
    while True:
        event = recv(ws)
        if event["type"] == kind:
            return event
        assert event["type"] in {"join", "leave", "typing"}, event


# --- the page ----------------------------------------------------------------


def test_get_root_serves_the_page_with_a_strict_policy(server: ServerHandle) -> None:
    """GET / returns the chat page as UTF-8 HTML, with a CSP that allows no foreign script."""
    with urllib.request.urlopen(server.http_url, timeout=TIMEOUT) as response:
        body = response.read().decode("utf-8")
        assert response.status == 200
        assert response.headers["Content-Type"] == "text/html; charset=utf-8"
        policy = response.headers["Content-Security-Policy"]
    assert body == page_html()
    assert "default-src 'none'" in policy and "script-src 'sha256-" in policy
    assert "unsafe-inline" not in policy


def test_the_page_never_parses_text_as_html() -> None:
    """The page's script uses no HTML-parsing sink, so user text can only ever be text."""
    html = page_html()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in html
    assert "textContent" in html


def get_page(url: str, accept_language: str | None = None) -> tuple[str, dict[str, str]]:
    """GET the page with an ``Accept-Language`` (or none); return its body and headers."""
    headers = {} if accept_language is None else {"Accept-Language": accept_language}
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
        return response.read().decode("utf-8"), dict(response.headers)


def texts_of(html: str) -> dict[str, Any]:
    """The page's JSON data block, parsed."""
    block = DATA_BLOCK.search(html)
    assert block is not None
    return json.loads(block.group(2))


def test_a_chinese_browser_gets_chinese_by_default(server: ServerHandle) -> None:
    """Accept-Language zh-CN: the data block defaults to zh-CN and holds 加入 and 发送."""
    body, headers = get_page(server.http_url, "zh-CN,zh;q=0.9")
    texts = texts_of(body)
    assert texts["default"] == "zh-CN"
    assert sorted(texts["languages"]) == ["en", "zh-CN"]
    chinese = texts["languages"]["zh-CN"]
    assert chinese["Join"] == "加入" and chinese["Send"] == "发送"
    assert texts["languages"]["en"]["Join"] == "Join"
    assert "加入" in body and "发送" in body
    assert headers["Vary"] == "Accept-Language"


def test_an_english_browser_gets_english_by_default(server: ServerHandle) -> None:
    """Accept-Language en-US: the default is en; every language comes with the page anyway."""
    body, _headers = get_page(server.http_url, "en-US,en;q=0.9")
    texts = texts_of(body)
    assert texts["default"] == "en"
    assert texts["languages"]["zh-CN"]["Join"] == "加入"
    assert body == page_html("en")


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("zh-CN,zh;q=0.9", "zh-CN"),
        ("zh-TW", "zh-CN"),
        ("zh-Hans-CN;q=0.8, en;q=0.5", "zh-CN"),
        ("en;q=0.5, zh;q=0.8", "zh-CN"),
        ("fr-FR, en-GB;q=0.7, zh;q=0.6", "en"),
        ("zh;q=0, en", "en"),
        ("de, fr;q=0.5", "en"),  # nothing the kit speaks: its current language
        ("*", "en"),
        ("", "en"),
        (None, "en"),
        ("zh;q=oops, en;q=0.1", "en"),
    ],
)
def test_accept_language_picks_by_q_value(header: str | None, language: str) -> None:
    assert choose_language(header) == language


def test_without_a_browser_preference_the_kits_language_is_the_default(chinese: None) -> None:
    """No usable Accept-Language: the page defaults to what the kit speaks now."""
    del chinese
    assert choose_language(None) == "zh-CN"
    assert choose_language("de") == "zh-CN"
    assert choose_language("en-US") == "en"
    # The texts do not depend on the kernel's language: both are always there.
    texts = texts_of(page_html())
    assert texts["default"] == "zh-CN"
    assert texts["languages"]["en"]["Send"] == "Send"


def test_the_data_block_cannot_close_its_script_tag() -> None:
    """JSON in a <script> escapes <, > and &, so no text can end the tag or open a comment."""
    nasty = {"x": "</script><script>alert(1)</script><!-- & \u2028\u2029 '\""}
    encoded = script_json(nasty)
    for raw in ("<", ">", "&", "\u2028", "\u2029"):
        assert raw not in encoded
    assert "\\u003c/script\\u003e" in encoded
    assert json.loads(encoded) == nasty
    # The served block: one element, whose text is exactly the JSON.
    html = page_html("zh-CN")
    block = DATA_BLOCK.search(html)
    assert block is not None and "<" not in block.group(2)
    assert html.count('<script id="labkit-text"') == 1


def test_the_policy_hashes_the_script_that_runs_and_nothing_else(server: ServerHandle) -> None:
    """The CSP names the hash of the page's one executable script; the JSON block is data."""
    for language in ("zh-CN", "en-US"):
        body, headers = get_page(server.http_url, language)
        policy = dict(
            part.strip().split(" ", 1) for part in headers["Content-Security-Policy"].split(";")
        )
        scripts = re.findall(r"<script>(.*?)</script>", body, flags=re.DOTALL)
        assert len(scripts) == 1
        digest = base64.b64encode(hashlib.sha256(scripts[0].encode()).digest()).decode()
        assert policy["script-src"] == f"'sha256-{digest}'"
        assert re.findall(r"<script\b[^>]*>", body) == [
            '<script id="labkit-text" type="application/json">',
            "<script>",
        ]
        # No inline event handler (CSP would block it), no javascript: URL.
        assert not re.search(r"<[^>]*\son[a-z]+\s*=", body, flags=re.IGNORECASE)
        assert "javascript:" not in body.lower()


def test_every_text_of_the_page_is_in_the_catalog() -> None:
    """Each key the page shows is declared in page_text.py, each declared key is used,
    and each has a Chinese translation with the same placeholders."""
    html = page_html()
    declared = set(PAGE_MESSAGES)
    used = set(re.findall(r'data-(?:text|placeholder|label)="([^"]+)"', html))
    used |= set(re.findall(r'\b(?:t|system)\("([^"\n]+)"', html))
    used |= set(re.findall(r'\bplace\([\w.]+, "([^"\n]+)"', html))
    assert used, "no texts found in the page"
    assert used <= declared, used - declared
    for message in declared:
        assert f'"{message}"' in html, f"declared but not used by page.html: {message!r}"
    assert set(ERROR_MESSAGES) == {str(code) for code in ErrorCode}
    chinese = page_texts("zh-CN")
    assert chinese.keys() == declared | set(ERROR_MESSAGES.values())
    for message, text in chinese.items():
        assert text != message, f"not translated: {message!r}"
        assert sorted(re.findall(r"\{\w+\}", text)) == sorted(re.findall(r"\{\w+\}", message))
    assert page_texts("en") == {m: m for m in chinese}
    assert gettext_for("zh-CN").gettext("Join") == "加入"


# --- joining, chatting, leaving ----------------------------------------------


def test_join_welcome_and_notices_with_counts(server: ServerHandle, clients) -> None:
    """A newcomer is welcomed with the user list; the others get a join notice with a count."""
    ann = join(clients, server.url, "Ann")
    bob = open_client(clients, server.url)
    send(bob, type="join", name="  Bob  ")
    assert recv(bob) == {"type": "welcome", "name": "Bob", "users": ["Ann", "Bob"], "history": []}
    assert recv(ann) == {"type": "join", "name": "Bob", "count": 2}
    assert not [e for e in barrier(bob) if e["type"] == "join"]  # no notice of one's own join
    bob.close()
    assert recv(ann) == {"type": "leave", "name": "Bob", "count": 1}


def test_public_message_reaches_the_others_not_the_sender(server: ServerHandle, clients) -> None:
    """A public message goes to every other user, stamped by the server, with no echo."""
    ann = join(clients, server.url, "Ann")
    bob = join(clients, server.url, "Bob")
    cy = join(clients, server.url, "Cy")
    send(ann, type="message", text="héllo <b>", **{"from": "Cy", "ts": 1})
    for other in (bob, cy):
        event = expect(other, "message")
        assert event["from"] == "Ann" and event["text"] == "héllo <b>" and "to" not in event
        assert event["ts"] > 1_600_000_000
    assert not [e for e in barrier(ann) if e["type"] == "message"]


def test_private_message_reaches_only_the_recipient(server: ServerHandle, clients) -> None:
    """A private message reaches its recipient and a copy to the sender, nobody else."""
    ann = join(clients, server.url, "Ann")
    bob = join(clients, server.url, "Bob")
    cy = join(clients, server.url, "Cy")
    send(ann, type="message", text="psst", to="bob")
    got = expect(bob, "message")
    assert (got["from"], got["text"], got["to"]) == ("Ann", "psst", "Bob")
    assert expect(ann, "message") == got
    send(ann, type="message", text="marker")
    assert expect(cy, "message")["text"] == "marker"  # the private one never came first


def test_history_holds_recent_public_messages_only(clients) -> None:
    """The welcome carries the last `history` public messages, oldest first, no private ones."""
    handle = labkit.start(chat_app(history=3), name=unique("test-chat"))
    try:
        ann = join(clients, handle.url, "Ann")
        bob = join(clients, handle.url, "Bob")
        for n in range(5):
            send(ann, type="message", text=f"m{n}")
        send(ann, type="message", text="secret", to="Bob")
        assert expect(bob, "message")["text"] == "m0"
        while expect(bob, "message")["text"] != "secret":
            pass
        ws = open_client(clients, handle.url)
        send(ws, type="join", name="Cy")
        welcome = recv(ws)
        assert [m["text"] for m in welcome["history"]] == ["m2", "m3", "m4"]
        assert all(m["from"] == "Ann" and "to" not in m for m in welcome["history"])
    finally:
        handle.stop()


def test_typing_goes_to_the_others_at_most_once_a_second(server: ServerHandle, clients) -> None:
    """Typing notices reach the others, not the typist, and repeats are dropped."""
    ann = join(clients, server.url, "Ann")
    bob = join(clients, server.url, "Bob")
    send(ann, type="typing")
    send(ann, type="typing")
    send(ann, type="message", text="marker")
    assert expect(bob, "typing") == {"type": "typing", "name": "Ann"}
    assert recv(bob)["text"] == "marker"  # the second notice was dropped
    assert not [e for e in barrier(ann) if e["type"] == "typing"]


# --- errors keep the connection open -----------------------------------------


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (b"\x00\x01", "bad_json"),
        ("not json", "bad_json"),
        ("[" * 20_000, "bad_json"),
        ('{"type":"join","n":' + "9" * 10_000 + "}", "bad_json"),
        ('{"type":"message","text":"\\ud800"}', "bad_json"),
        ('{"type":"\\udfff"}', "unknown_type"),
        ('{"type":"dance"}', "unknown_type"),
        ('{"type":"join","name":"   "}', "bad_name"),
        ('{"type":"join","name":"x\\u200by"}', "bad_name"),
        ('{"type":"join","name":"ANN"}', "name_taken"),
        ('{"type":"message","text":"hi"}', "not_joined"),
        ('{"type":"typing"}', "not_joined"),
    ],
    ids=lambda v: repr(v)[:20],
)
def test_bad_frames_before_join(server: ServerHandle, clients, frame, code: str) -> None:
    """Each bad frame gets its error code, and the same connection can still join and chat."""
    ann = join(clients, server.url, "Ann")
    ws = open_client(clients, server.url)
    ws.send(frame)
    error = recv(ws)
    assert error["type"] == "error" and error["code"] == code and error["message"]
    send(ws, type="join", name="Bob")
    assert recv(ws)["type"] == "welcome"
    send(ws, type="message", text="still here")
    assert expect(ann, "message")["text"] == "still here"


@pytest.mark.parametrize(
    ("event", "code"),
    [
        ({"type": "join", "name": "Other"}, "bad_name"),
        ({"type": "message", "text": "hi", "to": "nobody"}, "unknown_user"),
        ({"type": "message", "text": "x" * 4001}, "too_long"),
    ],
    ids=["second-join", "unknown-user", "too-long"],
)
def test_bad_frames_after_join(server: ServerHandle, clients, event, code: str) -> None:
    """Errors that need a joined user are sent to that user only, who stays in the room."""
    ann = join(clients, server.url, "Ann")
    bob = join(clients, server.url, "Bob")
    bob.send(json.dumps(event))
    error = expect(bob, "error")
    assert error["code"] == code
    if code == "bad_name":
        assert error["message"] == "already joined as Bob"
    send(bob, type="message", text="x" * 4000)
    event = expect(ann, "message")  # Bob is still in the room, and 4000 characters pass
    assert (event["from"], event["text"]) == ("Bob", "x" * 4000)


# --- abuse -------------------------------------------------------------------


def test_flood_is_rate_limited_then_closed_with_1008(clients) -> None:
    """Frames beyond the budget get rate_limited; sustained flooding closes with 1008."""
    handle = labkit.start(chat_app(rate=1, burst=2, abuse_limit=3), name=unique("test-chat"))
    try:
        ann = join(clients, handle.url, "Ann")  # spends Ann's first token
        flood = join(clients, handle.url, "Flood")
        with contextlib.suppress(ConnectionClosed):  # the server may close mid-burst
            for n in range(10):
                send(flood, type="message", text=f"m{n}")
        codes = []
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                codes.append(expect(flood, "error")["code"])
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
        assert codes == ["rate_limited"] * 3
        assert expect(ann, "message")["text"] == "m0"
        assert recv(ann) == {"type": "leave", "name": "Flood", "count": 1}
    finally:
        handle.stop()


def test_oversized_message_closes_with_1009_and_the_room_goes_on(
    server: ServerHandle, clients
) -> None:
    """A 2 MiB message closes its sender with 1009; the others keep chatting."""
    ann = join(clients, server.url, "Ann")
    bob = join(clients, server.url, "Bob")
    big = join(clients, server.url, "Big")
    with contextlib.suppress(ConnectionClosed):
        send(big, type="message", text="x" * (2 << 20))
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            recv(big)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    assert expect(ann, "leave") == {"type": "leave", "name": "Big", "count": 2}
    send(ann, type="message", text="still chatting")
    assert expect(bob, "message")["text"] == "still chatting"


def raw_join(handle: ServerHandle, name: str) -> socket.socket:
    """Join over a bare TCP socket, so the test controls exactly what is (not) sent."""
    sock = socket.create_connection((handle.host, handle.port), timeout=TIMEOUT)
    sock.sendall(
        f"GET / HTTP/1.1\r\nHost: {handle.host}:{handle.port}\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(4096)
    assert head.startswith(b"HTTP/1.1 101 "), head
    join = json.dumps({"type": "join", "name": name}).encode()
    sock.sendall(Frame(Opcode.TEXT, join).serialize(mask=True))  # RFC 6455, 5.3: clients mask
    return sock


def test_vanished_client_leaves_no_ghost(server: ServerHandle, clients) -> None:
    """A client whose TCP connection is reset, with no close frame, is removed and announced."""
    ann = join(clients, server.url, "Ann")
    ghost = raw_join(server, "Ghost")
    assert expect(ann, "join")["name"] == "Ghost"
    # SO_LINGER 0: close() sends a TCP reset, like a crashed client or a dropped link.
    ghost.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    ghost.close()
    assert recv(ann) == {"type": "leave", "name": "Ghost", "count": 1}
    ws = open_client(clients, server.url)
    send(ws, type="join", name="ghost")  # the name is free again
    assert recv(ws)["users"] == ["Ann", "ghost"]


def test_silent_client_is_dropped_by_the_keepalive(clients) -> None:
    """A client that stops answering pings (RFC 6455, section 5.5.2) is dropped and announced."""
    app = chat_app(ping_interval=0.2, ping_timeout=0.3, close_timeout=0.3)
    handle = labkit.start(app, name=unique("test-chat"))
    try:
        ann = join(clients, handle.url, "Ann")  # its client answers pings in the background
        with raw_join(handle, "Frozen"):  # reads nothing, so it answers no ping
            assert expect(ann, "join")["name"] == "Frozen"
            assert expect(ann, "leave") == {"type": "leave", "name": "Frozen", "count": 1}
    finally:
        handle.stop()


# --- Origin (RFC 6455, section 10.2) -----------------------------------------


def test_foreign_origin_is_refused_with_403(server: ServerHandle) -> None:
    """A browser page from another site cannot open the chat."""
    with pytest.raises(InvalidStatus) as refused:
        connect(server.url, origin="http://evil.example", open_timeout=TIMEOUT)
    assert refused.value.response.status_code == 403


@pytest.mark.parametrize("same_host", [True, False], ids=["same-host-origin", "no-origin"])
def test_same_host_or_absent_origin_is_accepted(server: ServerHandle, clients, same_host) -> None:
    """The server's own page (same host:port) and non-browser clients (no Origin) may join."""
    options = {"origin": f"http://127.0.0.1:{server.port}"} if same_host else {}
    ws = open_client(clients, server.url, **options)
    send(ws, type="join", name="Ann")
    assert recv(ws)["type"] == "welcome"


# --- building the app -----------------------------------------------------------


def test_chat_app_forwards_app_options_and_keeps_its_own_defaults() -> None:
    """chat_app takes the room's settings and hands every other keyword to App unchanged."""
    default = chat_app()
    plain = App()
    assert default.max_size == MAX_MESSAGE_SIZE  # the chat's one default of its own
    assert default.max_buffer == MAX_BUFFER == plain.max_buffer
    for option in ("ping_interval", "ping_timeout", "close_timeout", "open_timeout", "max_queue"):
        assert getattr(default, option) == getattr(plain, option), option
    assert default.origins == plain.origins and default.name == "chat"
    tuned = chat_app(
        name="tuned", max_size=1000, max_buffer=4096, log_limit=None, origins=None, history=3
    )
    assert (tuned.name, tuned.max_size, tuned.max_buffer) == ("tuned", 1000, 4096)
    assert tuned.log_limit is None and tuned.origins is None
    with pytest.raises(TypeError):
        chat_app(no_such_option=1)
