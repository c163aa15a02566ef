"""``ChatPanel``: an ipywidgets client for any WebSocket server.

The panel is the notebook's stand-in for the tutorial's browser page. It
speaks plain text to servers like echo, and the chat room's JSON protocol
(join, message, private message, typing) to a chat server: it writes with the
requests' encoders and reads with the decoder of :mod:`labkit.chat.protocol`.

Every update comes from the kit's loop thread. Widgets sync trait changes
from any thread, so the panel only ever *sets traits* (``HTML.value``); it
never writes with ``with output:`` from a thread, which would lose output.

Re-running cells
----------------
* A server replaced by a re-run cell keeps its URL and closes its clients with
  1001: the panel reconnects by itself, with a short backoff, and says so
  (:mod:`labkit.widgets.reconnect` has the rules and the wording).
* A panel made with the same name for the same server (a re-run panel cell)
  takes over from the old one, which closes cleanly and says it was replaced,
  the way a server replaces its namesake: no ``name_taken``.

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
import contextlib
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Literal
from urllib.parse import quote

import ipywidgets as widgets

from ..chat.protocol import (
    ErrorCode,
    ErrorNotice,
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
from ..client import MessageEvent, ReadyState, WebSocket
from ..i18n import N_, _
from ..journal import Journal
from ..runner import ServerHandle, on_kit_loop, refuse_on_kit_loop
from . import reconnect
from .commands import parse
from .connection import Connection, ready_state
from .controls import build_controls
from .messages import (
    ChatMessage,
    from_chat_event,
    from_server_event,
    from_text_frame,
    join_names,
)
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
#: Joins retried, 0.1 s apart and more, while the panel this one replaced is still leaving.
REJOINS = 5
#: Seconds a new panel waits for the one it replaces to close before connecting.
TAKE_OVER_WAIT = 2.0

# The panels alive, by (URL, name): a new panel with the same key takes over.
_live: dict[tuple[str, str], ChatPanel] = {}
_live_lock = threading.Lock()


def _describe(entry: ChatMessage) -> str:
    return f"{entry.kind}:{entry.sender}:{entry.text}"


# Why a panel's wait is refused on the kit's loop (labkit.runner.refuse_on_kit_loop).
_WOULD_BLOCK = N_(
    "panel.{method}() inside a WebSocket handler would block the loop that delivers what it "
    "waits for"
)


class ChatPanel(widgets.VBox):
    """A chat panel connected to ``server``.

    Args:
        server: a :class:`~labkit.runner.ServerHandle` (from ``labkit.start``)
            or a ``ws://`` URL.
        name: the user name shown in the header (and used to join a chat room).
            A panel already alive with this name for this server is replaced.
        mode: ``"chat"`` for the chat room's JSON protocol, ``"text"`` for
            plain messages. By default: ``"chat"`` for a chat server started
            with ``labkit.start``, else ``"text"``.
        connect: connect at once (default) or wait for the Connect button.
        height: the log's height (CSS).
        room: join the room ``/rooms/NAME`` of a chat server instead of its
            main room (a name taken in one room is free in another).
    """

    def __init__(
        self,
        server: ServerHandle | str,
        name: str = "you",
        *,
        mode: PanelMode | None = None,
        connect: bool = True,
        height: str = "220px",
        room: str | None = None,
    ) -> None:
        self.url = server.url if isinstance(server, ServerHandle) else str(server)
        if room is not None:  # a room of its own: /rooms/NAME on the same server
            self.url = f"{self.url.rstrip('/')}/rooms/{quote(room, safe='')}"
        self.room = room
        if mode is None:
            app = server.app if isinstance(server, ServerHandle) else None
            mode = "chat" if getattr(app, "wire_protocol", "text") == "chat" else "text"
        if mode not in ("text", "chat"):
            raise ValueError(_("mode must be 'text' or 'chat', not {mode!r}").format(mode=mode))
        self.name = name
        self.mode: PanelMode = mode
        self.users: list[str] = []
        self._key = (self.url, name)
        self._height = height
        # The log; its lock (``changed``) also guards _state and _typing.
        self._journal: Journal[ChatMessage] = Journal(KEEP_ENTRIES, _describe)
        self._state = ReadyState.CLOSED
        self._typing: dict[str, float] = {}
        self._last_typing_sent = 0.0
        self._status = ""
        self._rejoins = 0
        self._conn = Connection(
            self.url,
            on_state=self._on_state,
            on_open=self._on_open,
            on_message=self._on_message,
            retired_note=reconnect.replaced(name),
        )
        self._mirror: tuple[widgets.HTML, int, str] | None = None  # the live one
        self._build()
        self._render()
        with _live_lock:
            previous = _live.get(self._key)
            _live[self._key] = self
        if previous is not None and previous is not self:
            self._rejoins = REJOINS if mode == "chat" else 0
            closing = previous._replaced()
            if closing is not None and not on_kit_loop():
                # Its leave then mostly reaches the room before our join.
                with contextlib.suppress(TimeoutError):
                    closing.wait_closed(TAKE_OVER_WAIT)
        if connect:
            self.connect()

    def _build(self) -> None:
        parts = build_controls(self.mode == "chat", self._on_line)
        self._header, self._log, self._text = parts.header, parts.log, parts.text
        self._send_button, self._hint, self._guard = parts.send, parts.hint, parts.guard
        self._toggle, self._clear = parts.toggle, parts.clear
        self._send_button.on_click(lambda _b: self._submit())
        self._toggle.on_click(lambda _b: self._on_toggle())
        self._clear.on_click(lambda _b: self.clear())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            self._text.on_submit(lambda _t: self._submit())
        self._text.observe(self._on_typing, names="value")
        super().__init__(parts.rows(), layout=widgets.Layout(min_width="260px", padding="4px"))
        self.add_class("labkit-chat-panel")

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

    @property
    def replaced(self) -> bool:
        """True once a newer panel with the same name, for the same server, took over."""
        return self._conn.intent == "retired"

    def connect(self) -> ChatPanel:
        """Open the connection (joining the room in chat mode)."""
        if not self._conn.connect():
            self._add(ChatMessage("error", _("a newer panel with this name took over: use it")))
        return self

    @property
    def _ws(self) -> WebSocket | None:
        """The current socket (a new one after each reconnection)."""
        return self._conn.ws

    def disconnect(self) -> None:
        """Close the connection (code 1000); a reconnection under way stops too."""
        self._conn.disconnect()

    def say(self, text: str, to: str | None = None) -> None:
        """Send ``text`` as if typed and sent; ``to`` makes it private (chat mode).

        Raises:
            ConnectionError: when the panel is not connected.
        """
        ws = self._ws
        if ws is None or ws.readyState != WebSocket.OPEN:
            line = _("{name}'s panel is {state}: connect first")
            raise ConnectionError(line.format(name=self.name, state=self._state.name))
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
        refuse_on_kit_loop(_(_WOULD_BLOCK).format(method="wait_for"))

        def failure(last: list[ChatMessage]) -> str:
            seen = [_describe(m) for m in last]
            line = _("{name}'s panel waited {timeout} s; state {state}; last entries: {seen}")
            return line.format(name=self.name, timeout=timeout, state=self._state.name, seen=seen)

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
        want = ready_state(state)
        refuse_on_kit_loop(_(_WOULD_BLOCK).format(method="wait_state"))
        if not self._journal.wait_until(lambda: self._state is want, timeout):
            line = _("{name}'s panel is {state}, not {wanted}")
            raise TimeoutError(
                line.format(name=self.name, state=self._state.name, wanted=want.name)
            )

    def clear(self) -> None:
        """Empty the log (``messages`` too)."""
        self._journal.clear()
        self._render()

    def mirror(self, last: int = 6, height: str = "120px") -> widgets.HTML:
        """A compact, read-only copy of this panel: its header and its last lines.

        A lesson cell that drives panels shown far above ends with one, so what
        the panels got shows right under the cell. The newest mirror follows the
        panel; making another one freezes the previous one as it was then
        ("as of 10:32:05"), so each cell keeps showing what happened in it.
        """
        view = widgets.HTML(layout=widgets.Layout(min_width="200px"))
        view.add_class("labkit-chat-mirror")
        with self._journal.changed:
            previous, self._mirror = self._mirror, (view, last, height)
            if previous is not None:
                old, old_last, old_height = previous
                as_of = _("as of {time}").format(time=time.strftime("%H:%M:%S"))
                old.value = self._mirrored(old_last, old_height, as_of)
        self._render()
        return view

    def _mirrored(self, last: int, height: str, note: str = "") -> str:
        """A mirror's HTML (called with the journal's lock held)."""
        status = " · ".join(part for part in (self._status, note) if part)
        users = self.users if self.mode == "chat" else None
        head = render_header(self.name, self._state.name, users, status=status)
        return head + render_log(self._journal.snapshot(last), height)

    def close(self) -> None:
        """Close the connection and the widgets; a later panel with this name starts afresh."""
        conn = getattr(self, "_conn", None)  # None when __init__ failed (a bad mode)
        if conn is not None:
            conn.disconnect()
            with _live_lock:
                if _live.get(self._key) is self:
                    del _live[self._key]
            for child in (self._text, self._send_button, self._toggle, self._clear):
                child.close()
        for child in self.children:
            child.close()
        super().close()

    def __repr__(self) -> str:
        return f"<ChatPanel {self.name!r} {self.mode} {self.url} {self._state.name}>"

    # --- taking over -----------------------------------------------------------

    def _replaced(self) -> WebSocket | None:
        """A newer panel took over: close for good; return the socket still closing."""
        for control in (self._text, self._send_button, self._toggle):
            control.disabled = True
        return self._conn.retire("replaced by a new panel")

    # --- widget callbacks (main thread) ---------------------------------------

    def _typed(self, line: str) -> bool:
        """Send a typed line (``/msg NAME text`` privately); False if it was a command's notice."""
        typed = parse(line, chat=self.mode == "chat")
        if typed.notice is not None:
            self._add(ChatMessage("error", typed.notice))
            return False
        self.say(typed.text, typed.to)
        return True

    def _submit(self) -> None:
        """Enter or Send without the browser script: send the kernel's copy of the box."""
        text = self._text.value
        if not text.strip():
            return
        try:
            if not self._typed(text):
                return  # a command's notice: the line stays in the box, to be fixed
        except ConnectionError as exc:
            self._add(ChatMessage("error", str(exc)))
            return
        self._text.value = ""

    def _on_line(self, text: str) -> None:
        """A line the browser caught on Enter or Send (labkit.widgets.entry): send it."""
        try:
            self._typed(text)
        except ConnectionError as exc:
            self._add(
                ChatMessage("error", _("{error}; not sent: {text}").format(error=exc, text=text))
            )

    def _on_toggle(self) -> None:
        if self._state in (ReadyState.OPEN, ReadyState.CONNECTING):
            self.disconnect()
        else:
            self.connect()

    def _on_typing(self, change: dict[str, Any]) -> None:
        if change.get("new"):
            self.typing()

    # --- connection callbacks (kit thread) ------------------------------------

    def _on_open(self, ws: WebSocket, reconnected: bool) -> None:
        if self.mode == "chat":
            ws.send(Join(self.name).encode())
        if reconnected:
            line = reconnect.reconnected(self.url)
        else:
            line = _("connected to {url}").format(url=self.url)
        self._on_state(ReadyState.OPEN, "", ("system", line))

    def _on_state(self, state: ReadyState, status: str, note: tuple[str, str] | None) -> None:
        """A new state and, with it, its line: a waiter for either sees both."""
        with self._journal.changed:
            if note is not None:
                kind, text = note
                self._journal.append(ChatMessage("error" if kind == "error" else "system", text))
            if state is not ReadyState.OPEN:
                self.users = []
            self._state, self._status = state, status
            self._journal.notify()
        live = state in (ReadyState.OPEN, ReadyState.CONNECTING)
        self._toggle.description = _("Disconnect") if live else _("Connect")
        self._render()

    def _on_message(self, ws: WebSocket, message: MessageEvent) -> None:
        if self.mode == "text":
            self._add(from_text_frame(message.data))
            return
        entry, event = from_chat_event(message.data, self.name)
        if isinstance(event, ErrorNotice) and event.code == ErrorCode.NAME_TAKEN and self._rejoins:
            # The panel we replaced has not left the room yet: ask again shortly.
            self._rejoins -= 1
            delay = 0.1 * (REJOINS - self._rejoins)
            asyncio.get_running_loop().call_later(delay, self._rejoin, ws)
            return
        if event is not None:
            self._track(event)
        if entry is None:
            return
        if isinstance(event, Welcome):
            self._rejoins = 0
            self._add(entry)
            for past in event.history:  # the room's recent public messages
                old = from_server_event(past, self.name)
                if old is not None:
                    self._add(replace(old, kind="own") if old.sender == self.name else old)
            return
        if entry.kind == "private" and entry.sender == self.name:
            return  # the server's copy of our own private message: already shown
        self._add(entry)

    def _rejoin(self, ws: WebSocket) -> None:
        if ws is self._ws and ws.readyState == WebSocket.OPEN:
            ws.send(Join(self.name).encode())

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
            line = _("{names} typing…").format(names=join_names(typing)) if typing else ""
            users = self.users if self.mode == "chat" else None
            state = self._state.name
            self._header.value = render_header(self.name, state, users, line, status=self._status)
            entries = self._journal.snapshot(SHOWN)
            self._log.value = render_log(entries, self._height)
            if self._mirror is not None:
                view, last, height = self._mirror
                view.value = self._mirrored(last, height)
