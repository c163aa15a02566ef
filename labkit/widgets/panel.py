"""``ChatPanel``: an ipywidgets client for any WebSocket server.

The panel is the notebook's stand-in for the tutorial's browser page. It
speaks plain text to servers like echo, and the chat room's JSON protocol
(join, message, private message, typing) to a chat server.

Every update comes from the kit's loop thread. Widgets sync trait changes
from any thread, so the panel only ever *sets traits* (``HTML.value``); it
never writes with ``with output:`` from a thread, which would lose output.

A programmatic face makes it usable from cells and tests::

    panel = ChatPanel(server, name="alice")
    panel.say("hello")
    panel.wait_for(lambda m: m.kind == "other" and m.text == "hello")
    panel.messages          # every entry, as ChatMessage values
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import warnings
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Literal

import ipywidgets as widgets

from ..client import CloseEvent, MessageEvent, WebSocket
from ..errors import KitLoopError
from ..runner import ServerHandle, on_kit_loop
from .messages import ChatMessage, from_chat_event, from_text_frame
from .render import render_header, render_log

__all__ = ["ChatPanel", "Mode"]

Mode = Literal["text", "chat"]

#: Entries shown in the log (all are kept in ``messages``, up to KEEP).
SHOWN = 200
KEEP = 10_000
#: At most one typing notice per this many seconds.
TYPING_EVERY = 2.0
#: Seconds a "… typing…" notice stays in the header.
TYPING_SHOWN = 5.0


def _not_on_kit_loop(what: str) -> None:
    if on_kit_loop():
        raise KitLoopError(
            f"panel.{what}() inside a WebSocket handler would block the loop that "
            f"delivers what it waits for"
        )


class ChatPanel(widgets.VBox):
    """A chat panel connected to ``server``.

    Args:
        server: a :class:`~labkit.runner.ServerHandle` (from ``labkit.start``)
            or a ``ws://`` URL.
        name: the user name shown in the header (and used to join a chat room).
        mode: ``"chat"`` for the chat room's JSON protocol, ``"text"`` for
            plain messages. By default: ``"chat"`` for a chat server started
            with ``labkit.start``, else ``"text"``.
        connect: connect at once (default) or wait for the Connect button.
        height: the log's height (CSS).
    """

    def __init__(
        self,
        server: ServerHandle | str,
        name: str = "you",
        *,
        mode: Mode | None = None,
        connect: bool = True,
        height: str = "220px",
    ) -> None:
        self.url = server.url if isinstance(server, ServerHandle) else str(server)
        if mode is None:
            app = server.app if isinstance(server, ServerHandle) else None
            mode = "chat" if getattr(app, "wire_protocol", "text") == "chat" else "text"
        if mode not in ("text", "chat"):
            raise ValueError(f"mode must be 'text' or 'chat', not {mode!r}")
        self.name = name
        self.mode: Mode = mode
        self.users: list[str] = []
        self._height = height
        self._entries: deque[ChatMessage] = deque(maxlen=KEEP)
        self._changed = threading.Condition()
        self._ws: WebSocket | None = None
        self._state = "CLOSED"
        self._typing: dict[str, float] = {}
        self._last_typing_sent = 0.0

        self._header = widgets.HTML()
        self._log = widgets.HTML(layout=widgets.Layout(width="100%"))
        self._log.add_class("labkit-chat-log")
        self._text = widgets.Text(
            placeholder="type a message, Enter sends"
            + (" (/msg NAME text: private)" if mode == "chat" else ""),
            layout=widgets.Layout(flex="1 1 auto", width="auto"),
        )
        self._text.add_class("labkit-chat-input")
        self._send_button = widgets.Button(
            description="Send", button_style="primary", icon="paper-plane"
        )
        self._send_button.add_class("labkit-chat-send")
        self._toggle = widgets.Button(description="Connect")
        self._toggle.add_class("labkit-chat-connect")
        self._clear = widgets.Button(description="Clear")
        self._clear.add_class("labkit-chat-clear")
        self._send_button.on_click(lambda _b: self._submit())
        self._toggle.on_click(lambda _b: self._on_toggle())
        self._clear.on_click(lambda _b: self.clear())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            self._text.on_submit(lambda _t: self._submit())
        self._text.observe(self._on_typing, names="value")
        super().__init__(
            [
                self._header,
                self._log,
                widgets.HBox([self._text, self._send_button]),
                widgets.HBox([self._toggle, self._clear]),
            ],
            layout=widgets.Layout(min_width="260px", padding="4px"),
        )
        self.add_class("labkit-chat-panel")
        self._render()
        if connect:
            self.connect()

    # --- the programmatic face ----------------------------------------------

    @property
    def state(self) -> str:
        """The connection state as the browser names it: CONNECTING, OPEN, CLOSING, CLOSED."""
        return self._state

    @property
    def messages(self) -> list[ChatMessage]:
        """Every entry so far (own, received, system, errors), oldest first."""
        with self._changed:
            return list(self._entries)

    @property
    def received(self) -> list[ChatMessage]:
        """Only what other people (or the server) sent: ``other`` and ``private`` entries."""
        return [
            m for m in self.messages if m.kind in ("other", "private") and m.sender != self.name
        ]

    def connect(self) -> ChatPanel:
        """Open the connection (joining the room in chat mode)."""
        if self._ws is not None and self._ws.readyState in (WebSocket.CONNECTING, WebSocket.OPEN):
            return self
        self._set_state("CONNECTING")
        # Handlers are set after self._ws exists: events that come first are
        # kept by the client and delivered, in order, as each handler is set.
        ws = self._ws = WebSocket(self.url)
        # Each handler answers only while its socket is the panel's current one:
        # an old socket still closing must not mark a new connection CLOSED.
        ws.onopen = self._current(ws, self._on_open)
        ws.onmessage = self._current(ws, self._on_message)
        ws.onerror = self._current(ws, self._on_error)
        ws.onclose = self._current(ws, self._on_close)
        return self

    def _current(self, ws: WebSocket, handler: Callable[[Any], None]) -> Callable[[Any], None]:
        def call(event: Any) -> None:
            if ws is self._ws:
                handler(event)

        return call

    def disconnect(self) -> None:
        """Close the connection (code 1000)."""
        if self._ws is not None and self._ws.readyState in (WebSocket.CONNECTING, WebSocket.OPEN):
            self._set_state("CLOSING")
            self._ws.close()

    def say(self, text: str, to: str | None = None) -> None:
        """Send ``text`` as if typed and sent; ``to`` makes it private (chat mode).

        Raises:
            ConnectionError: when the panel is not connected.
        """
        ws = self._ws
        if ws is None or ws.readyState != WebSocket.OPEN:
            raise ConnectionError(f"{self.name}'s panel is {self._state}: connect first")
        # Shown before it is sent: the reply (an echo, say) arrives on the kit's
        # thread and could otherwise be listed above the line it answers.
        if self.mode == "chat":
            event: dict[str, Any] = {"type": "message", "text": text}
            if to is not None:
                event["to"] = to
            kind = "own" if to is None else "private"
            self._add(ChatMessage(kind, text, self.name, to))
            ws.send(json.dumps(event, ensure_ascii=False))
        else:
            self._add(ChatMessage("own", text, self.name))
            ws.send(text)

    def typing(self) -> None:
        """Send a typing notice (chat mode), at most one every 2 s."""
        ws = self._ws
        now = time.monotonic()
        if self.mode != "chat" or ws is None or ws.readyState != WebSocket.OPEN:
            return
        if now - self._last_typing_sent >= TYPING_EVERY:
            self._last_typing_sent = now
            ws.send('{"type":"typing"}')

    def wait_for(
        self, predicate: Callable[[ChatMessage], bool], timeout: float = 10.0
    ) -> ChatMessage:
        """Block until an entry satisfies ``predicate`` (earlier ones count); return it."""
        _not_on_kit_loop("wait_for")
        found: list[ChatMessage] = []

        def ready() -> bool:
            for entry in self._entries:
                if predicate(entry):
                    found.append(entry)
                    return True
            return False

        with self._changed:
            if not self._changed.wait_for(ready, timeout):
                seen = [f"{m.kind}:{m.sender}:{m.text}" for m in list(self._entries)[-5:]]
                raise TimeoutError(
                    f"{self.name}'s panel waited {timeout} s; "
                    f"state {self._state}; last entries: {seen}"
                )
        return found[0]

    def wait_state(self, state: str, timeout: float = 10.0) -> None:
        """Block until the connection state is ``state`` (e.g. ``"OPEN"``)."""
        _not_on_kit_loop("wait_state")
        with self._changed:
            if not self._changed.wait_for(lambda: self._state == state, timeout):
                raise TimeoutError(f"{self.name}'s panel is {self._state}, not {state}")

    def clear(self) -> None:
        """Empty the log (``messages`` too)."""
        with self._changed:
            self._entries.clear()
        self._render()

    def __repr__(self) -> str:
        return f"<ChatPanel {self.name!r} {self.mode} {self.url} {self._state}>"

    # --- widget callbacks (main thread) ---------------------------------------

    def _submit(self) -> None:
        text = self._text.value
        if not text.strip():
            return
        to = None
        if self.mode == "chat" and text.startswith("/msg "):
            _, _, rest = text.partition(" ")
            to, _, text = rest.partition(" ")
        try:
            self.say(text, to=to or None)
        except ConnectionError as exc:
            self._add(ChatMessage("error", str(exc)))
            return
        self._text.value = ""

    def _on_toggle(self) -> None:
        if self._state in ("OPEN", "CONNECTING"):
            self.disconnect()
        else:
            self.connect()

    def _on_typing(self, change: dict[str, Any]) -> None:
        if change.get("new"):
            self.typing()

    # --- connection callbacks (kit thread) ------------------------------------

    def _on_open(self, _event: Any) -> None:
        if self.mode == "chat":
            assert self._ws is not None
            self._ws.send(json.dumps({"type": "join", "name": self.name}, ensure_ascii=False))
        self._add(ChatMessage("system", f"connected to {self.url}"))
        self._set_state("OPEN")  # last, so wait_state("OPEN") sees the joined panel

    def _on_message(self, event: MessageEvent) -> None:
        if self.mode == "text":
            self._add(from_text_frame(event.data))
            return
        entry, data = from_chat_event(event.data, self.name)
        if data is not None:
            self._track(data)
        if entry is None:
            return
        if data is not None and data.get("type") == "welcome":
            self._add(entry)
            for past in data.get("history", []):  # the room's recent public messages
                old, _ = from_chat_event(json.dumps(past), self.name)
                if old is not None:
                    self._add(replace(old, kind="own") if old.sender == self.name else old)
            return
        if entry.kind == "private" and entry.sender == self.name:
            return  # the server's copy of our own private message: already shown
        self._add(entry)

    def _on_error(self, event: Any) -> None:
        self._add(ChatMessage("error", getattr(event, "message", "") or "connection error"))

    def _on_close(self, event: CloseEvent) -> None:
        self._set_state("CLOSED")
        self.users = []
        reason = f" {event.reason}" if event.reason else ""
        self._add(ChatMessage("system", f"disconnected ({event.code}{reason})"))

    def _track(self, event: dict[str, Any]) -> None:
        """Keep the user list and typing line from welcome/join/leave/typing events."""
        kind = event.get("type")
        name = event.get("name")
        if kind == "welcome":
            self.users = [u for u in event.get("users", []) if isinstance(u, str)]
            if isinstance(name, str):
                self.name = name
        elif kind == "join" and isinstance(name, str) and name not in self.users:
            self.users = [*self.users, name]
        elif kind == "leave" and isinstance(name, str):
            self.users = [u for u in self.users if u != name]
        elif kind == "typing" and isinstance(name, str):
            with self._changed:
                self._typing[name] = time.monotonic()
            # Redraw once the notice is stale, so "typing…" does not linger.
            asyncio.get_running_loop().call_later(TYPING_SHOWN + 0.1, self._render)
        elif kind == "message":
            with self._changed:
                self._typing.pop(str(event.get("from")), None)

    # --- drawing ----------------------------------------------------------------

    def _set_state(self, state: str) -> None:
        with self._changed:
            self._state = state
            self._changed.notify_all()
        self._toggle.description = "Disconnect" if state in ("OPEN", "CONNECTING") else "Connect"
        self._render()

    def _add(self, entry: ChatMessage) -> None:
        with self._changed:
            self._entries.append(entry)
            self._changed.notify_all()
        self._render()

    def _render(self) -> None:
        # Called from the kit's thread and from cells: build and set under the
        # lock, so two renders never interleave and the newest state wins.
        with self._changed:
            now = time.monotonic()
            for name in [n for n, t in self._typing.items() if now - t >= TYPING_SHOWN]:
                del self._typing[name]
            typing = [n for n in self._typing if n != self.name]
            line = f"{', '.join(typing)} typing…" if typing else ""
            users = self.users if self.mode == "chat" else None
            self._header.value = render_header(self.name, self._state, users, line)
            self._log.value = render_log(list(self._entries)[-SHOWN:], self._height)
