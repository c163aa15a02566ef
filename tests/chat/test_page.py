"""The chat page in a real headless Chromium, served by ``chat_app`` at ``GET /``.

Uses the ``browser`` and ``page`` fixtures of ``tests/conftest.py`` (skipped
without Chromium). Playwright's ``expect`` waits for each condition with a
timeout, so nothing here sleeps.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import pytest
from websockets.sync.client import ClientConnection, connect

import labkit
from labkit.chat import chat_app
from labkit.runner import ServerHandle

from .conftest import unique

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

# A name (at most 32 characters) and a text that would run script if parsed as HTML.
EVIL_NAME = "<img src=x onerror=__pwned=1>"
EVIL_TEXT = '<img src=x onerror="window.__pwned=1">'
TIMEOUT = 5.0


@pytest.fixture
def other_page(browser: Browser) -> Iterator[Page]:
    """A second user: its own browser context, so nothing is shared with ``page``."""
    context = browser.new_context()
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def python_client() -> Iterator[contextlib.ExitStack]:
    with contextlib.ExitStack() as stack:
        yield stack


def open_chat(page: Page, server: ServerHandle, name: str) -> None:
    """Load the page, type the name into the join form and wait for the welcome."""
    from playwright.sync_api import expect

    page.goto(server.http_url)
    page.fill("#name", name)
    page.click("#join")
    expect(page.locator("#send-form")).to_be_visible()
    expect(page.locator("#users")).to_contain_text(f"{name} (you)")


def say(page: Page, text: str, to: str | None = None) -> None:
    """Send from the page's form; the recipient choice stays selected, so set it every time."""
    page.select_option("#to", label=to or "Everyone")
    page.fill("#text", text)
    page.click("#send")


def py_join(stack: contextlib.ExitStack, server: ServerHandle, name: str) -> ClientConnection:
    ws = stack.enter_context(connect(server.url, open_timeout=TIMEOUT))
    ws.send(json.dumps({"type": "join", "name": name}))
    assert json.loads(ws.recv(timeout=TIMEOUT))["type"] == "welcome"
    return ws


def py_next(ws: ClientConnection, kind: str) -> dict[str, Any]:
    """The next event of type ``kind`` for a Python client, skipping other notices."""
    while True:
        event = json.loads(ws.recv(timeout=TIMEOUT))
        if event["type"] == kind:
            return event
        assert event["type"] in {"join", "leave", "typing"}, event


def test_two_pages_and_a_python_client_chat(
    page: Page, other_page: Page, server: ServerHandle, python_client
) -> None:
    """Two browser users and a Python client see each other's messages, lists and typing."""
    from playwright.sync_api import expect

    open_chat(page, server, "Ann")
    open_chat(other_page, server, "Bob")
    py = py_join(python_client, server, "Py")
    expect(page.locator("#users li")).to_have_text(["Ann (you)", "Bob", "Py"])
    expect(page.locator("#count")).to_have_text("3")

    say(page, "hello from Ann")
    expect(page.locator("#messages .msg.own")).to_contain_text("hello from Ann")
    expect(other_page.locator("#messages .msg").last).to_contain_text("hello from Ann")
    assert py_next(py, "message")["text"] == "hello from Ann"

    py.send(json.dumps({"type": "message", "text": "hi from Python"}))
    for user in (page, other_page):
        expect(user.locator("#messages .msg").last).to_contain_text("Py")
        expect(user.locator("#messages .msg").last).to_contain_text("hi from Python")

    say(other_page, "just for Ann", to="Ann")
    expect(page.locator("#messages .msg.private")).to_contain_text("just for Ann")
    expect(other_page.locator("#messages .msg.private")).to_contain_text("you → Ann")
    say(other_page, "for everyone")
    assert py_next(py, "message")["text"] == "for everyone"  # the private one never came

    page.type("#text", "typing…")
    expect(other_page.locator("#typing")).to_have_text("Ann is typing…")

    py.close()
    expect(page.locator("#messages .system").last).to_have_text("Py left (2 in the room)")
    expect(other_page.locator("#users li")).to_have_text(["Ann", "Bob (you)"])


def test_user_text_is_shown_as_text_never_run(
    page: Page, other_page: Page, server: ServerHandle, python_client
) -> None:
    """HTML in names and messages appears literally and runs no script."""
    from playwright.sync_api import expect

    open_chat(page, server, EVIL_NAME)
    py = py_join(python_client, server, "<b>bold</b>")
    py.send(json.dumps({"type": "message", "text": EVIL_TEXT}))
    say(page, EVIL_TEXT)
    assert py_next(py, "message") | {"ts": 0} == {
        "type": "message",
        "from": EVIL_NAME,
        "text": EVIL_TEXT,
        "ts": 0,
    }
    open_chat(other_page, server, "Cy")  # sees both in the history and the user list

    for user in (page, other_page):
        expect(user.locator("#messages .msg")).to_have_count(2)
        for text in user.locator("#messages .msg .text").all_text_contents():
            assert text == EVIL_TEXT
        expect(user.locator("#users")).to_contain_text(EVIL_NAME)
        expect(user.locator("#users")).to_contain_text("<b>bold</b>")
        assert user.locator("img, b").count() == 0
        assert user.evaluate("typeof window.__pwned") == "undefined"


def test_ready_state_and_reconnect(page: Page, python_client) -> None:
    """The badge follows readyState through a server restart; Reconnect joins again."""
    from playwright.sync_api import expect

    name = unique("test-chat")
    first = labkit.start(chat_app(), name=name)
    state = page.locator("#state")
    try:
        page.goto(f"{first.http_url}?name={quote('Ann')}")
        expect(state).to_have_text("OPEN (1)")
        assert page.input_value("#name") == "Ann"  # prefilled from ?name=
        page.click("#join")
        expect(page.locator("#users")).to_contain_text("Ann (you)")
    finally:
        first.stop()
    expect(state).to_have_text("CLOSED (3)")
    expect(page.locator("#messages .system.error").last).to_contain_text("code 1001")
    expect(page.locator("#join-form")).to_be_visible()

    second = labkit.start(chat_app(), port=first.port, name=name)
    try:
        # readyState is CONNECTING right after `new WebSocket(...)`, in the same task.
        shown = page.evaluate(
            "() => { document.getElementById('reconnect').click();"
            " return document.getElementById('state').textContent; }"
        )
        assert shown == "CONNECTING (0)"
        expect(state).to_have_text("OPEN (1)")
        expect(page.locator("#users")).to_contain_text("Ann (you)")  # joined again by itself
        watcher = py_join(python_client, second, "Watcher")
        page.click("#reconnect")  # while open: the old socket is closed, a new one joins
        assert py_next(watcher, "leave")["name"] == "Ann"
        assert py_next(watcher, "join")["name"] == "Ann"
        expect(state).to_have_text("OPEN (1)")
    finally:
        second.stop()


def test_server_errors_are_shown_as_notices(
    page: Page, other_page: Page, server: ServerHandle
) -> None:
    """A refused join (name_taken) is shown to the user, who can then pick another name."""
    from playwright.sync_api import expect

    open_chat(page, server, "Ann")
    other_page.goto(server.http_url)
    other_page.fill("#name", "ANN")
    other_page.click("#join")
    expect(other_page.locator("#messages .system.error")).to_contain_text("(name_taken)")
    expect(other_page.locator("#join-form")).to_be_visible()
    open_chat(other_page, server, "Bob")
    expect(page.locator("#messages .system").last).to_have_text("Bob joined (2 in the room)")


def test_the_page_follows_a_replaced_server_by_itself(page: Page, python_client) -> None:
    """A re-run server cell (same name, so same URL) closes with 1001: the page reconnects,
    joins again with its name and chats, with no click."""
    from playwright.sync_api import expect

    name = unique("test-chat")
    first = labkit.start(chat_app(), name=name)
    second = None
    try:
        open_chat(page, first, "Ann")
        second = labkit.start(chat_app(), name=name)
        assert second.url == first.url
        messages = page.locator("#messages .system")
        expect(messages.filter(has_text="connection closed (code 1001)")).to_have_count(1)
        expect(messages.filter(has_text="the server went away; reconnecting…")).to_have_count(1)
        expect(messages.filter(has_text=f"reconnected to {second.url}")).to_have_count(1)
        expect(page.locator("#state")).to_have_text("OPEN (1)")
        expect(page.locator("#users")).to_contain_text("Ann (you)")
        py = py_join(python_client, second, "Py")
        say(page, "after the re-run")
        assert py_next(py, "message")["text"] == "after the re-run"
        py.send(json.dumps({"type": "message", "text": "welcome back"}))
        expect(page.locator("#messages .msg").last).to_contain_text("welcome back")
    finally:
        (second or first).stop()


def test_the_count_is_the_servers_and_is_cleared_on_close(page: Page, server: ServerHandle) -> None:
    """Before joining the page cannot know who is here and says so; a stopped server empties it."""
    from playwright.sync_api import expect

    page.goto(server.http_url)
    expect(page.locator("#state")).to_have_text("OPEN (1)")
    expect(page.locator("#who")).to_have_text("join to see who is here")
    expect(page.locator("#count")).to_be_hidden()
    page.fill("#name", "Ann")
    page.click("#join")
    expect(page.locator("#count")).to_have_text("1")
    expect(page.locator("#who")).to_be_hidden()
    server.stop()
    expect(page.locator("#who")).to_have_text("not connected")
    expect(page.locator("#count")).to_be_hidden()
    expect(page.locator("#users li")).to_have_count(0)


def test_the_socket_url_is_relative_to_the_page(page: Page, server: ServerHandle) -> None:
    """Served under a prefix (a proxy's, here the server's own secret path), the page
    connects to the WebSocket under that same prefix."""
    from playwright.sync_api import expect

    prefixed = f"{server.http_url}{server.app.secret}/"
    page.goto(prefixed + "?name=Ann")
    ws_url = "ws://" + prefixed.removeprefix("http://")
    expect(page.locator("#messages .system").first).to_have_text(f"connected to {ws_url}")
    page.click("#join")
    expect(page.locator("#users")).to_contain_text("Ann (you)")


def test_a_socket_that_opens_and_drops_is_not_a_reconnection(page: Page) -> None:
    """What jupyter-server-proxy does once the room is gone: each retry's socket opens (the
    proxy answers) and drops (1006). The page says neither "reconnected" nor a close line per
    try; after its last retry it says the server went away, once."""
    import socket
    import threading

    from playwright.sync_api import expect
    from websockets.sync.server import serve

    server = labkit.start(chat_app(), name=unique("test-chat"))
    open_chat(page, server, "Ann")
    host, port = "127.0.0.1", server.port
    server.stop()
    accepted: list[str] = []

    def open_then_drop(ws) -> None:  # the proxy's side: upgraded, then nothing behind it
        accepted.append(ws.request.path)
        ws.socket.shutdown(socket.SHUT_RDWR)

    with serve(open_then_drop, host, port) as dropper:
        threading.Thread(target=dropper.serve_forever, daemon=True).start()
        messages = page.locator("#messages .system")
        gone = messages.filter(has_text="the server went away: nothing answers at")
        expect(gone).to_have_count(1, timeout=30_000)
        dropper.shutdown()
    assert len(accepted) == 5  # every retry reached the "proxy"
    expect(messages.filter(has_text="reconnected to")).to_have_count(0)
    expect(messages.filter(has_text="connection closed (code 1006)")).to_have_count(0)
