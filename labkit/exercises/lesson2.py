"""Lesson 2 exercises: echo and middleware on :class:`labkit.App`, checked live.

In a notebook::

    from labkit.exercises import lesson2 as ex

    async def my_echo(ctx, next):
        ...  # your code here

    ex.check.echo(my_echo)

(``my_…``: the lesson's own ``echo`` and ``require_token``, written before the
exercises, keep their names.)

Each check starts a real server built from :class:`~labkit.app.App` and the
learner's middleware (under a name of its own, on a free port), talks to it
with real clients, and stops it before returning, whatever happened.

Exercises:

* ``echo``: ``async def echo(ctx, next)`` sends every message back, text as
  text and binary as binary (RFC 6455, section 5.6), for as long as the client
  stays.
* ``count_messages``: ``async def count_messages(ctx, next)`` answers each text
  message with ``"#<n>: <message>"``, where ``n`` counts the messages of *this*
  connection, starting at 1, kept in ``ctx.state["count"]``. A wrong reply is
  shown against the expected one first; the guess at its cause (a missing
  colon, counting from 0, a counter shared by every connection) comes after.
* ``require_token``: a before-handshake hook ``def require_token(ctx)`` that
  refuses the handshake with HTTP 401 unless the URL carries
  ``?token=open-sesame`` (:data:`TOKEN`); RFC 6455, section 4.2.2.
"""

from __future__ import annotations

import re
from typing import Any

from ..app import Context, Next
from . import live
from .core import Lesson, WrongAnswer, show
from .solutions import lesson2 as solutions

__all__ = ["TOKEN", "check", "hint", "lesson", "solution"]

#: The token ``require_token`` must accept.
TOKEN = solutions.TOKEN

lesson = Lesson("lesson2")
check, hint, solution = lesson.check, lesson.hint, lesson.solution

#: What the echo check sends, in order: text, binary, then text again (a loop).
ECHO_MESSAGES: tuple[str | bytes, ...] = (
    "hello",
    b"\x00\x01\xfe\xff binary",
    "a second text message: héllo ✓",
    b"",
)


def _kind(message: str | bytes) -> str:
    return "text" if isinstance(message, str) else "binary"


@lesson.exercise(
    hint="""
    Loop over the connection's messages and send each one back unchanged:

        async for message in ctx.websocket:
            await ctx.websocket.send(message)

    websockets gives you a str for a text frame and bytes for a binary one, and send()
    picks the frame type from that, so passing the message through as it is keeps the
    type (RFC 6455, section 5.6). Don't forget the `await`.""",
    solution=(solutions.echo,),
)
def echo(my_echo: Any) -> str:
    """Check the ``echo`` middleware against a live server and a real client."""
    live.require_async(my_echo, "echo", "echo(ctx, next)")
    probe = live.Probe()
    app = live.exercise_app("echo")
    app.use(probe.middleware(my_echo))
    with live.serving(app) as server, live.Client(server.url, "the client", probe) as client:
        for index, message in enumerate(ECHO_MESSAGES):
            returned = (
                "The middleware returned after the first message, so the connection "
                "closed. Loop: `async for message in ctx.websocket:`."
                if index
                else None
            )
            client.send(message, closed=returned)
            got = client.expect(
                f"the echo of the {_kind(message)} message {show(message)}",
                silent=(
                    "Nothing was sent back. Call `await ctx.websocket.send(message)` for each "
                    "message (with `await`: without it nothing is sent)."
                ),
                closed=returned,
            )
            if got == message and type(got) is type(message):
                continue
            if isinstance(message, bytes) and isinstance(got, str):
                raise WrongAnswer(
                    f"the client sent the binary message {show(message)}\n"
                    f"and got back the text message {show(got)}",
                    hint="Send the message back as it came: bytes go out as a binary frame. "
                    "Don't turn it into a str (str(), f-strings, .decode()).",
                )
            if isinstance(message, str) and isinstance(got, bytes):
                raise WrongAnswer(
                    f"the client sent the text message {show(message)}\n"
                    f"and got back the binary message {show(got)}",
                    hint="Send the message back as it came: a str goes out as a text frame.",
                )
            raise WrongAnswer(
                f"the client sent {show(message)}\nand got back {show(got)}",
                hint="An echo sends back exactly what it received, nothing added.",
            )
    return (
        f"{len(ECHO_MESSAGES)} messages came back as they went out, text as text and "
        "binary as binary: that is the tutorial's Koa echo server, in Python."
    )


def _count_reply(client: live.Client, message: str, n: int, total: int) -> None:
    """Send ``message``, expect ``#n: message``; explain a wrong reply, difference first.

    ``total`` counts the messages every connection has sent so far, this one
    included: a reply numbered ``total`` instead of ``n`` gives a shared counter away.
    """
    want = f"#{n}: {message}"
    client.send(message)
    got = client.expect(
        f"the reply {want!r}",
        silent='Reply to every message: `await ctx.websocket.send(f"#{n}: {message}")`.',
        closed="Keep the connection open: loop with `async for message in ctx.websocket:`.",
    )
    if got == want:
        return
    tried = f"{client.who} sent {message!r} and got {show(got)}, expected {want!r}"
    numbered = re.fullmatch(r"#(\d+)(.*)", got, re.DOTALL) if isinstance(got, str) else None
    if numbered is None:
        raise WrongAnswer(
            tried, hint='The reply is exactly "#<n>: <message>": a hash, the number, colon, space.'
        )
    number, rest = int(numbered[1]), numbered[2]
    if number == n:  # the count is right: only the text around it is not
        if rest == f" {message}":
            slip = f"the number is right; the colon after #{n} is missing"
        elif rest == f":{message}":
            slip = f"the number is right; the space after #{n}: is missing"
        else:
            slip = f"the number is right; after #{n} should come {f': {message}'!r}"
        raise WrongAnswer(
            f"{tried}\n{slip}",
            hint="Build the reply as f\"#{ctx.state['count']}: {message}\": hash, number, "
            "colon, space, message.",
        )
    if number == n - 1:
        raise WrongAnswer(
            f"{tried}\nthe number is one short",
            hint="Count from 1: add 1 to the counter before you build the reply.",
        )
    step = _step(client, number)
    if step is not None and step != 1:
        raise WrongAnswer(
            f"{tried}\nthe next reply on this connection was #{number + step}: the count "
            f"goes up by {step} per message",
            hint="Add exactly 1 per message: ctx.state['count'] += 1.",
        )
    first = "this is a new connection, so its first message is #1" if n == 1 else ""
    if number == total:
        raise WrongAnswer(
            f"{tried}\n{first or f'this connection has sent {n} messages'}: #{number} "
            "counts the messages of every connection together",
            hint="A counter outside the middleware is shared by every connection. Keep it in "
            "ctx.state, which belongs to one connection: ctx.state['count'] = 0 first.",
        )
    if number > n:
        raise WrongAnswer(
            f"{tried}\n{first or f'this connection has sent {n} messages'}: the count did "
            f"not start at 0 for this connection, it went on from {number - n} messages "
            "before it",
            hint="A counter outside the middleware lives on across connections, and across "
            "runs of this check. Start one for each connection: ctx.state['count'] = 0 first.",
        )
    raise WrongAnswer(
        f"{tried}\nthe number should be {n}: this connection's message number {n}",
        hint="Add 1 to ctx.state['count'] for each message of this connection, then reply.",
    )


def _step(client: live.Client, number: int) -> int | None:
    """Send one more message after a wrongly numbered reply: by how much did the count go up?"""
    try:
        client.send("one more")
        reply = client.expect("the reply to 'one more'")
    except WrongAnswer:
        return None
    numbered = re.match(r"#(\d+)", reply) if isinstance(reply, str) else None
    return int(numbered[1]) - number if numbered else None


@lesson.exercise(
    hint="""
    Start each connection with ctx.state["count"] = 0 (ctx.state belongs to one connection,
    like Koa's ctx.state), then for each message add 1 and reply:

        async for message in ctx.websocket:
            ctx.state["count"] += 1
            await ctx.websocket.send(f"#{ctx.state['count']}: {message}")

    The first message of every connection is #1.""",
    solution=(solutions.count_messages,),
)
def count_messages(my_count_messages: Any) -> str:
    """Check the ``count_messages`` middleware with two real clients at once."""
    live.require_async(my_count_messages, "count_messages", "count_messages(ctx, next)")
    probe = live.Probe()
    app = live.exercise_app("count-messages")
    app.use(probe.middleware(my_count_messages))
    with live.serving(app) as server:
        with live.Client(server.url, "client A", probe) as a:
            _count_reply(a, "apple", 1, total=1)
            _count_reply(a, "banana", 2, total=2)
            with live.Client(server.url, "client B", probe) as b:
                _count_reply(b, "cherry", 1, total=3)
                _count_reply(a, "date", 3, total=4)
                _count_reply(b, "elderberry", 2, total=5)
        if not probe.wait_finished(2):
            raise WrongAnswer(
                "the middleware kept running after both clients had left",
                hint="Let the `async for` loop end when the client leaves; don't loop forever.",
            )
        counts = [state.get("count") for state in probe.states]
        if sorted(count for count in counts if isinstance(count, int)) != [2, 3]:
            raise WrongAnswer(
                f"after the clients left, ctx.state['count'] was {counts} on the two "
                "connections, expected [2, 3]",
                hint='Keep the counter in ctx.state["count"], so other middleware can read it.',
            )
    return (
        "two clients, two counters: each connection counted its own messages from #1, "
        'in ctx.state["count"].'
    )


async def _reply_ok(ctx: Context, next: Next) -> None:
    """The app behind the hook: a connection that got through says so."""
    await ctx.websocket.send("welcome")


@lesson.exercise(
    hint="""
    Read the token with ctx.query.get("token") (None when it is missing: no KeyError) and
    refuse the handshake when it is not TOKEN:

        from labkit import HandshakeRefused
        if ctx.query.get("token") != TOKEN:
            raise HandshakeRefused(401, "missing or wrong token")

    Returning (even False) lets the handshake go on; only raising refuses it. 401 means
    "who are you?"; 403 would mean "I know who you are, and no".""",
    solution=(solutions.require_token,),
)
def require_token(my_require_token: Any) -> str:
    """Check the ``require_token`` hook: real handshakes refused with 401, or let in."""
    if not callable(my_require_token):  # the core already said so; this keeps typing honest
        raise WrongAnswer(f"require_token is {show(my_require_token)}, not a function")
    probe = live.Probe()
    app = live.exercise_app("require-token")
    app.before_handshake(probe.hook(my_require_token))
    app.use(_reply_ok)
    with live.serving(app) as server:
        for query, why in (
            ("", "no token at all"),
            ("?token=", "an empty token"),
            ("?token=wrong", "a wrong token"),
            (f"?token={TOKEN.upper()}", "the token in upper case"),
        ):
            status = live.refused_status(server.url + query)
            tried = f"a handshake with {why} ({server.url}{query})"
            if probe.error is not None:
                raise WrongAnswer(
                    f"{tried}: your hook raised {probe.error}",
                    hint='Use ctx.query.get("token"): it gives None when there is no token, '
                    "where ctx.query['token'] raises KeyError.",
                )
            if status is None:
                raise WrongAnswer(
                    f"{tried} was accepted (101 Switching Protocols)",
                    hint="Returning from the hook (even `return False`) lets the handshake "
                    'continue. Refuse it: raise HandshakeRefused(401, "missing token").',
                )
            if status != 401:
                raise WrongAnswer(
                    f"{tried} was refused with {status}, expected 401",
                    hint="401 Unauthorized says 'who are you?': the right answer to a "
                    "missing or wrong token. raise HandshakeRefused(401, ...).",
                )
        right = f"{server.url}?token={TOKEN}"
        status = live.refused_status(right)
        if status is not None:
            raise probe.wrong(
                f"a handshake with the right token ({right}) was refused with {status}",
                hint=f"Let the handshake through when ctx.query.get('token') == {TOKEN!r}.",
            )
        with live.Client(right, "a client with the right token", probe) as client:
            got = client.expect("the server's first message")
            if got != "welcome":  # pragma: no cover - _reply_ok always sends it
                raise WrongAnswer(f"the client got {show(got)}")
    return (
        "no token, an empty one and a wrong one: 401 before the handshake; the right "
        "token: welcome in."
    )
