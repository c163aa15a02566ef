"""Headless Chromium's own WebSocket talks to the from-scratch raw echo server."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

import labkit
from labkit.raw import RawEchoServer

if TYPE_CHECKING:
    from playwright.sync_api import Page

# Runs inside the browser: connect, echo text, binary and a 70 000-byte message
# (64-bit length), then close with 4000 and report what happened.
SCRIPT = """
async (url) => {
  const ws = new WebSocket(url);
  ws.binaryType = 'arraybuffer';
  const events = [];
  const next = () => new Promise((resolve, reject) => {
    ws.onmessage = (e) => resolve(e.data);
    ws.onclose = (e) => reject(new Error('closed ' + e.code));
  });
  await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = reject; });
  events.push('open:' + ws.readyState);
  let reply = next(); ws.send('héllo from Chromium'); events.push(await reply);
  reply = next(); ws.send(new Uint8Array([0, 1, 254, 255]));
  events.push(Array.from(new Uint8Array(await reply)).join(','));
  reply = next(); ws.send('x'.repeat(70000)); events.push((await reply).length);
  const closed = new Promise((resolve) => {
    ws.onclose = (e) => resolve(`close:${e.code}:${e.reason}:${e.wasClean}`);
  });
  ws.close(4000, 'bye');
  events.push(await closed);
  return events;
}
"""


@pytest.fixture
def blank_page(page: Page):
    """A page served over http://127.0.0.1 (browsers give about:blank an opaque origin)."""
    site = labkit.App("blank-site")

    @site.http("/")
    def blank(request):
        return "<!doctype html><title>blank</title>"

    server = labkit.start(site, name="browser-blank-site")
    page.goto(server.http_url)
    yield page, server.http_url.rstrip("/")
    server.stop()


@pytest.mark.parametrize("kind", ["raw", "app"])
def test_chromium_websocket_echoes_and_closes(blank_page, kind: str) -> None:
    """A browser's WebSocket opens, echoes text/binary/64-bit lengths and closes cleanly."""
    page, origin = blank_page
    # The App checks Origin: this page's origin is another port, so allow it by name.
    app = RawEchoServer() if kind == "raw" else labkit.echo_app(origins=[origin])
    server = labkit.start(app, name=f"browser-{kind}")
    try:
        events = page.evaluate(SCRIPT, server.url)
    finally:
        server.stop()
    assert events == ["open:1", "héllo from Chromium", "0,1,254,255", 70000, "close:4000:bye:true"]
