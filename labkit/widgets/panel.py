"""``ChatPanel``: an ipywidgets client for any WebSocket server.

The panel is the notebook's stand-in for the tutorial's browser page. It
speaks plain text to servers like echo, and the chat room's JSON protocol
(join, message, private message, typing) to a chat server: it writes with the
requests' encoders and reads with the decoder of :mod:`labkit.chat.protocol`.

Every update comes from the kit's loop thread. Widgets sync trait changes
from any thread, so the panel only ever *sets traits* (``HTML.value``); it
never writes with ``with output:`` from a thread, which would lose output.

A programmatic face makes it usable from cells and tests::

    panel = ChatPanel(server, name="alice")
    panel.say("hello")
    panel.wait_for(lambda m: m.kind == "other" and m.text == "hello")
    panel.messages          # every entry, as ChatMessage values
    panel.state             # a ReadyState: CONNECTING, OPEN, CLOSING, CLOSED

Its entries live in a :class:`~labkit.journal.Journal`, whose lock also guards
the panel's state and typing notices, so a wait never misses a change.
"""

from __future__ import annotations

import asyncio
import time
import warnings
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Literal

import ipywidgets as widgets

from ..chat.protocol import (
    Join,
    Joined,
    Left,
    Said,
    Say,
    ServerEvent,
    Typing,
    TypingNotice,
    Welcome,
)
from ..client import CloseEvent, MessageEvent, ReadyState, WebSocket
from ..journal import Journal
from ..runner import ServerHandle, refuse_on_kit_loop
from .messages import ChatMessage, from_chat_event, from_server_event, from_text_frame
from .render import render_header, render_log

__all__ = ["KEEP_ENTRIES", "ChatPanel", "PanelMode"]

#: What a panel speaks: plain ``"text"`` messages, or the chat room's JSON protocol.
PanelMode = Literal["text", "chat"]

#: Entries shown in the log (all are kept in ``messages``, up to KEEP_ENTRIES).
SHOWN = 200
KEEP_ENTRIES = 10_000
#: At most one typing notice per this many seconds.
TYPING_EVERY = 2.0
#: Seconds a "… typing…" notice stays in the header.
TYPING_SHOWN = 5.0


def _describe(entry: ChatMessage) -> str:
    return f"{entry.kind}:{entry.sender}:{entry.text}"


# Why a panel's wait is refused on the kit's loop (labkit.runner.refuse_on_kit_loop).
_WOULD_BLOCK = (
    "panel.{}() inside a WebSocket handler would block the loop that delivers what it waits for"
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
        mode: PanelMode | None = None,
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
        self.mode: PanelMode = mode
        self.users: list[str] = []
        self._height = height
        # The log; its lock (``changed``) also guards _state and _typing.
        self._journal: Journal[ChatMessage] = Journal(KEEP_ENTRIES, _describe)
        self._ws: WebSocket | None = None
        self._state = ReadyState.CLOSED
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
    def state(self) -> ReadyState:
        """The connection state: ``CONNECTING``, ``OPEN``, ``CLOSING`` or ``CLOSED``."""
        return self._state

    @property
    def messages(self) -> list[ChatMessage]:
        """Every entry so far (own, received, system, errors), oldest first."""
        return self._journal.snapshot()

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
        self._set_state(ReadyState.CONNECTING)
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
            self._set_state(ReadyState.CLOSING)
            self._ws.close()

    def say(self, text: str, to: str | None = None) -> None:
        """Send ``text`` as if typed and sent; ``to`` makes it private (chat mode).

        Raises:
            ConnectionError: when the panel is not connected.
        """
        ws = self._ws
        if ws is None or ws.readyState != WebSocket.OPEN:
            raise ConnectionError(f"{self.name}'s panel is {self._state.name}: connect first")
        # Shown before it is sent: the reply (an echo, say) arrives on the kit's
        # thread and could otherwise be listed above the line it answers.
        if self.mode == "chat":
            self._add(ChatMessage("own" if to is None else "private", text, self.name, to))
            ws.send(Say(text, to).encode())
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
            ws.send(Typing().encode())

    def wait_for(
        self, predicate: Callable[[ChatMessage], bool], timeout: float = 10.0
    ) -> ChatMessage:
        """Block until an entry satisfies ``predicate`` (earlier ones count); return it.

        Raises:
            TimeoutError: none came within ``timeout`` seconds; the message
                shows the state and the last entries.
            KitLoopError: when called on the kit's loop (in a handler).
        """
        refuse_on_kit_loop(_WOULD_BLOCK.format("wait_for"))

        def failure(last: list[ChatMessage]) -> str:
            seen = [_describe(m) for m in last]
            return (
                f"{self.name}'s panel waited {timeout} s; "
                f"state {self._state.name}; last entries: {seen}"
            )

        return self._journal.wait_for(predicate, timeout, failure)

    def wait_state(self, state: ReadyState | str, timeout: float = 10.0) -> None:
        """Block until the connection state is ``state``.

        Args:
            state: a :class:`~labkit.client.ReadyState`, or its name (``"OPEN"``).
            timeout: seconds to wait.

        Raises:
            TimeoutError: the state did not come within ``timeout`` seconds.
            KitLoopError: when called on the kit's loop (in a handler).
        """
        if isinstance(state, str):
            if state not in ReadyState.__members__:
                names = ", ".join(ReadyState.__members__)
                raise ValueError(f"state must be a ReadyState or one of {names}, not {state!r}")
            state = ReadyState[state]
        want = ReadyState(state)
        refuse_on_kit_loop(_WOULD_BLOCK.format("wait_state"))
        if not self._journal.wait_until(lambda: self._state is want, timeout):
            raise TimeoutError(f"{self.name}'s panel is {self._state.name}, not {want.name}")

    def clear(self) -> None:
        """Empty the log (``messages`` too)."""
        self._journal.clear()
        self._render()

    def __repr__(self) -> str:
        return f"<ChatPanel {self.name!r} {self.mode} {self.url} {self._state.name}>"

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
        if self._state in (ReadyState.OPEN, ReadyState.CONNECTING):
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
            self._ws.send(Join(self.name).encode())
        self._add(ChatMessage("system", f"connected to {self.url}"))
        self._set_state(ReadyState.OPEN)  # last, so wait_state("OPEN") sees the joined panel

    def _on_message(self, message: MessageEvent) -> None:
        if self.mode == "text":
            self._add(from_text_frame(message.data))
            return
        entry, event = from_chat_event(message.data, self.name)
        if event is not None:
            self._track(event)
        if entry is None:
            return
        if isinstance(event, Welcome):
            self._add(entry)
            for past in event.history:  # the room's recent public messages
                old = from_server_event(past, self.name)
                if old is not None:
                    self._add(replace(old, kind="own") if old.sender == self.name else old)
            return
        if entry.kind == "private" and entry.sender == self.name:
            return  # the server's copy of our own private message: already shown
        self._add(entry)

    def _on_error(self, event: Any) -> None:
        self._add(ChatMessage("error", getattr(event, "message", "") or "connection error"))

    def _on_close(self, event: CloseEvent) -> None:
        self._set_state(ReadyState.CLOSED)
        self.users = []
        reason = f" {event.reason}" if event.reason else ""
        self._add(ChatMessage("system", f"disconnected ({event.code}{reason})"))

    def _track(self, event: ServerEvent) -> None:
        """Keep the user list and typing line from welcome/join/leave/typing events."""
        if isinstance(event, Welcome):
            self.users = list(event.users)
            self.name = event.name
        elif isinstance(event, Joined) and event.name not in self.users:
            self.users = [*self.users, event.name]
        elif isinstance(event, Left):
            self.users = [u for u in self.users if u != event.name]
        elif isinstance(event, TypingNotice):
            with self._journal.changed:
                self._typing[event.name] = time.monotonic()
            # Redraw once the notice is stale, so "typing…" does not linger.
            asyncio.get_running_loop().call_later(TYPING_SHOWN + 0.1, self._render)
        elif isinstance(event, Said):
            with self._journal.changed:
                self._typing.pop(event.sender, None)

    # --- drawing ----------------------------------------------------------------

    def _set_state(self, state: ReadyState) -> None:
        with self._journal.changed:
            self._state = state
            self._journal.notify()
        self._toggle.description = (
            "Disconnect" if state in (ReadyState.OPEN, ReadyState.CONNECTING) else "Connect"
        )
        self._render()

    def _add(self, entry: ChatMessage) -> None:
        self._journal.append(entry)
        self._render()

    def _render(self) -> None:
        # Called from the kit's thread and from cells: build and set under the
        # lock, so two renders never interleave and the newest state wins.
        with self._journal.changed:
            now = time.monotonic()
            for name in [n for n, t in self._typing.items() if now - t >= TYPING_SHOWN]:
                del self._typing[name]
            typing = [n for n in self._typing if n != self.name]
            line = f"{', '.join(typing)} typing…" if typing else ""
            users = self.users if self.mode == "chat" else None
            self._header.value = render_header(self.name, self._state.name, users, line)
            self._log.value = render_log(self._journal.snapshot(SHOWN), self._height)
