"""The chat page speaks the browser's language, Chinese or English, and switches live.

A real chat server (``labkit.start(chat_app())`` on a free port), a real headless
Chromium whose browser context has a ``locale`` (Playwright sets both
``navigator.languages`` and the ``Accept-Language`` header from it), and a
Python WebSocket client in the same room. Playwright's ``expect`` waits for
each condition, so nothing here sleeps. The Chinese page is saved as
``artifacts/page-zh-CN.png``.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from websockets.sync.client import ClientConnection, connect

import labkit
from labkit.chat import chat_app
from labkit.runner import ServerHandle

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

TIMEOUT = 5.0
VIEWPORT = {"width": 1100, "height": 700}


@pytest.fixture
def server() -> Iterator[ServerHandle]:
    """A chat room on 127.0.0.1 and a free port."""
    handle = labkit.start(chat_app(), name=f"test-chat-{uuid.uuid4().hex[:8]}")
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture
def open_page(browser: Browser) -> Iterator[Callable[[str], Page]]:
    """Open a page in a fresh browser context speaking ``locale``; closed after the test."""
    contexts = []

    def opener(locale: str) -> Page:
        context = browser.new_context(locale=locale, viewport=VIEWPORT)
        contexts.append(context)
        return context.new_page()

    try:
        yield opener
    finally:
        for context in contexts:
            context.close()


@pytest.fixture
def python_client() -> Iterator[contextlib.ExitStack]:
    with contextlib.ExitStack() as stack:
        yield stack


def py_join(stack: contextlib.ExitStack, server: ServerHandle, name: str) -> ClientConnection:
    ws = stack.enter_context(connect(server.url, open_timeout=TIMEOUT))
    ws.send(json.dumps({"type": "join", "name": name}))
    assert json.loads(ws.recv(timeout=TIMEOUT))["type"] == "welcome"
    return ws


def py_until(ws: ClientConnection, kind: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The next event of type ``kind`` for a Python client, and the events before it."""
    before = []
    while True:
        event = json.loads(ws.recv(timeout=TIMEOUT))
        if event["type"] == kind:
            return event, before
        before.append(event)


def join(page: Page, name: str) -> None:
    from playwright.sync_api import expect

    page.fill("#name", name)
    page.click("#join")
    expect(page.locator("#send-form")).to_be_visible()


def say(page: Page, text: str) -> None:
    page.fill("#text", text)
    page.click("#send")


def test_a_chinese_browser_joins_and_chats_in_chinese(
    open_page, server: ServerHandle, python_client, artifacts_dir: Path
) -> None:
    """locale zh-CN: every label, state and system line is Chinese; the wire is unchanged."""
    from playwright.sync_api import expect

    page = open_page("zh-CN")
    problems: list[str] = []  # console errors, such as a script the policy blocked
    page.on("console", lambda line: problems.append(line.text) if line.type == "error" else None)
    page.goto(server.http_url)
    expect(page.locator("#join")).to_have_text("加入")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page).to_have_title("labkit 聊天室")
    expect(page.locator("#state")).to_have_text("已连接 OPEN (1)")
    expect(page.locator("#who")).to_have_text("加入聊天室后可以看到谁在这里")
    expect(page.locator("#name")).to_have_attribute("placeholder", "你的用户名")
    expect(page.locator("#room-title")).to_have_text("聊天室成员")
    expect(page.locator("#messages .system").first).to_have_text(f"已连接到 {server.url}")
    expect(page.locator('#language button[aria-pressed="true"]')).to_have_text("中文")

    join(page, "小明")
    expect(page.locator("#send")).to_have_text("发送")
    expect(page.locator("#text")).to_have_attribute("placeholder", "输入消息")
    expect(page.locator("#users li")).to_have_text(["小明（你）"])
    expect(page.locator("#room-title")).to_have_text("聊天室成员：1")
    expect(page.locator("#count")).to_have_text("1")
    expect(page.locator("#to option")).to_have_text(["所有人"])
    expect(page.locator("#messages .system").last).to_have_text("你以 小明 的身份加入了聊天室")

    py = py_join(python_client, server, "Py")
    expect(page.locator("#messages .system").last).to_have_text("Py 加入了聊天室（现有 2 人）")
    say(page, "大家好")
    message, _ = py_until(py, "message")
    assert message["from"] == "小明" and message["text"] == "大家好"  # the wire as ever
    expect(page.locator("#messages .msg.own .who")).to_have_text("你")
    py.send(json.dumps({"type": "message", "text": "你好，小明", "to": "小明"}))
    expect(page.locator("#messages .msg.private .who")).to_have_text("Py → 你（私信）")
    py.send(json.dumps({"type": "typing"}))
    expect(page.locator("#typing")).to_have_text("Py 正在输入…")

    # An error code from the server, told from the page's own table.
    other = open_page("zh-CN")
    other.goto(server.http_url)
    other.fill("#name", "小明")
    other.click("#join")
    expect(other.locator("#messages .system.error")).to_have_text(
        "用户名 小明 已被占用，请换一个（name_taken）"
    )
    expect(other.locator("#join-form")).to_be_visible()

    py.close()
    expect(page.locator("#messages .system").last).to_have_text("Py 离开了聊天室（现有 1 人）")
    page.screenshot(path=str(artifacts_dir / "page-zh-CN.png"))
    assert problems == []


def test_an_english_browser_sees_english(open_page, server: ServerHandle) -> None:
    """locale en-US: Join, Send, and the English the other page tests read."""
    from playwright.sync_api import expect

    page = open_page("en-US")
    page.goto(server.http_url)
    expect(page.locator("#join")).to_have_text("Join")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page).to_have_title("labkit chat")
    expect(page.locator("#state")).to_have_text("OPEN (1)")
    expect(page.locator("#who")).to_have_text("join to see who is here")
    expect(page.locator("#name")).to_have_attribute("placeholder", "Your name")
    join(page, "Ann")
    expect(page.locator("#send")).to_have_text("Send")
    expect(page.locator("#users li")).to_have_text(["Ann (you)"])
    expect(page.locator("#room-title")).to_have_text("In the room: 1")
    expect(page.locator("#messages .system").last).to_have_text("you joined as Ann")
    expect(page.locator('#language button[aria-pressed="true"]')).to_have_text("English")


def test_the_switch_changes_every_text_live_and_is_remembered(
    open_page, server: ServerHandle, python_client
) -> None:
    """中文 / English while connected: texts change in place, the connection stays, and
    the choice outlives a reload (over the browser's own language)."""
    from playwright.sync_api import expect

    page = open_page("en-US")
    page.goto(server.http_url)
    join(page, "Ann")
    watcher = py_join(python_client, server, "Py")
    expect(page.locator("#messages .system").last).to_have_text("Py joined (2 in the room)")
    lines = page.locator("#messages li")
    expect(lines).to_have_count(3)

    page.get_by_role("button", name="中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator("#send")).to_have_text("发送")
    expect(page.locator("#state")).to_have_text("已连接 OPEN (1)")
    expect(page.locator("#users li")).to_have_text(["Ann（你）", "Py"])
    expect(page.locator("#room-title")).to_have_text("聊天室成员：2")
    expect(page.locator("#reconnect")).to_have_text("重新连接")
    expect(page.locator("#text")).to_have_attribute("placeholder", "输入消息")
    expect(page).to_have_title("labkit 聊天室")
    # The lines already shown are told again in Chinese, none added, none lost.
    expect(lines).to_have_text(
        [f"已连接到 {server.url}", "你以 Ann 的身份加入了聊天室", "Py 加入了聊天室（现有 2 人）"]
    )
    # Still the same connection: the watcher saw no leave and no join, and hears Ann.
    say(page, "still here")
    message, before = py_until(watcher, "message")
    assert message["text"] == "still here"
    assert {event["type"] for event in before} <= {"typing"}  # no leave, no join

    page.reload()
    expect(page.locator("#join")).to_have_text("加入")  # the saved choice, not en-US
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator("#state")).to_have_text("已连接 OPEN (1)")

    page.get_by_role("button", name="English").click()
    expect(page.locator("#join")).to_have_text("Join")
    expect(page.locator("#messages .system").first).to_have_text(f"connected to {server.url}")
    page.reload()
    expect(page.locator("#join")).to_have_text("Join")
    expect(page.locator("html")).to_have_attribute("lang", "en")


def test_a_browser_in_another_language_gets_the_servers_default(
    open_page, server: ServerHandle, chinese: None
) -> None:
    """navigator.languages names nothing the kit speaks: the page takes the server's
    default, here the kit's current language (Chinese), since Accept-Language is no help."""
    from playwright.sync_api import expect

    del chinese
    page = open_page("fr-FR")
    page.goto(server.http_url)
    expect(page.locator("#join")).to_have_text("加入")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")


def test_user_text_stays_text_in_every_language(
    open_page, server: ServerHandle, python_client
) -> None:
    """A name such as <b>x</b> fills a placeholder as text; braces in it are not placeholders."""
    from playwright.sync_api import expect

    page = open_page("zh-CN")
    page.goto(server.http_url)
    join(page, "<b>x</b>")
    expect(page.locator("#messages .system").last).to_have_text("你以 <b>x</b> 的身份加入了聊天室")
    expect(page.locator("#users li")).to_have_text(["<b>x</b>（你）"])
    py = py_join(python_client, server, "{count}<i>y</i>")
    expect(page.locator("#messages .system").last).to_have_text(
        "{count}<i>y</i> 加入了聊天室（现有 2 人）"
    )
    py.send(json.dumps({"type": "message", "text": "<img src=x onerror=__pwned=1>"}))
    expect(page.locator("#messages .msg .text")).to_have_text("<img src=x onerror=__pwned=1>")
    page.get_by_role("button", name="English").click()
    expect(page.locator("#messages .system").last).to_have_text(
        "{count}<i>y</i> joined (2 in the room)"
    )
    expect(page.locator("#users li")).to_have_text(["<b>x</b> (you)", "{count}<i>y</i>"])
    assert page.locator("#messages b, #messages i, #messages img, #users b, #users i").count() == 0
    assert page.evaluate("typeof window.__pwned") == "undefined"


def test_the_embedding_lesson_s_language_comes_before_the_browser_s(
    open_page, server: ServerHandle
) -> None:
    """?lang=zh-CN (a Chinese lesson's PageLink) in an en-US browser: Chinese, until switched."""
    from playwright.sync_api import expect

    page = open_page("en-US")
    page.goto(server.http_url + "?lang=zh-CN")
    expect(page.locator("#join")).to_have_text("加入")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    page.locator('#language button[data-language="en"]').click()
    expect(page.locator("#join")).to_have_text("Join")
    page.reload()  # the reader's own choice wins over the lesson's from now on
    expect(page.locator("#join")).to_have_text("Join")
