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
from ..i18n import N_, _
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


def _awaited_echo(message: str | bytes) -> str:
    """What the client waits for after sending ``message``, as a message says it."""
    if isinstance(message, str):
        return _("the echo of the text message {message}").format(message=show(message))
    return _("the echo of the binary message {message}").format(message=show(message))


@lesson.exercise(
    hint=N_(
        "Loop over the connection's messages and send each one back unchanged:\n"
        "\n"
        "    async for message in ctx.websocket:\n"
        "        await ctx.websocket.send(message)\n"
        "\n"
        "websockets gives you a str for a text frame and bytes for a binary one, and send()\n"
        "picks the frame type from that, so passing the message through as it is keeps the\n"
        "type (RFC 6455, section 5.6). Don't forget the `await`."
    ),
    solution=(solutions.echo,),
)
def echo(my_echo: Any) -> str:
    """Check the ``echo`` middleware against a live server and a real client."""
    live.require_async(my_echo, "echo", "echo(ctx, next)")
    probe = live.Probe()
    app = live.exercise_app("echo")
    app.use(probe.middleware(my_echo))
    with (
        live.serving(app) as server,
        live.Client(server.url, _("the client"), probe) as client,
    ):
        for index, message in enumerate(ECHO_MESSAGES):
            returned = (
                _(
                    "The middleware returned after the first message, so the connection "
                    "closed. Loop: `async for message in ctx.websocket:`."
                )
                if index
                else None
            )
            client.send(message, closed=returned)
            got = client.expect(
                _awaited_echo(message),
                silent=_(
                    "Nothing was sent back. Call `await ctx.websocket.send(message)` for each "
                    "message (with `await`: without it nothing is sent)."
                ),
                closed=returned,
            )
            if got == message and type(got) is type(message):
                continue
            sent, back = show(message), show(got)
            if isinstance(message, bytes) and isinstance(got, str):
                raise WrongAnswer(
                    _(
                        "the client sent the binary message {sent}\n"
                        "and got back the text message {got}"
                    ).format(sent=sent, got=back),
                    hint=_(
                        "Send the message back as it came: bytes go out as a binary frame. "
                        "Don't turn it into a str (str(), f-strings, .decode())."
                    ),
                )
            if isinstance(message, str) and isinstance(got, bytes):
                raise WrongAnswer(
                    _(
                        "the client sent the text message {sent}\n"
                        "and got back the binary message {got}"
                    ).format(sent=sent, got=back),
                    hint=_("Send the message back as it came: a str goes out as a text frame."),
                )
            raise WrongAnswer(
                _("the client sent {sent}\nand got back {got}").format(sent=sent, got=back),
                hint=_("An echo sends back exactly what it received, nothing added."),
            )
    return _(
        "{count} messages came back as they went out, text as text and "
        "binary as binary: that is the tutorial's Koa echo server, in Python."
    ).format(count=len(ECHO_MESSAGES))


def _count_reply(client: live.Client, message: str, n: int, total: int) -> None:
    """Send ``message``, expect ``#n: message``; explain a wrong reply, difference first.

    ``total`` counts the messages every connection has sent so far, this one
    included: a reply numbered ``total`` instead of ``n`` gives a shared counter away.
    """
    want = f"#{n}: {message}"
    client.send(message)
    got = client.expect(
        _("the reply {want}").format(want=repr(want)),
        silent=_('Reply to every message: `await ctx.websocket.send(f"#{n}: {message}")`.'),
        closed=_("Keep the connection open: loop with `async for message in ctx.websocket:`."),
    )
    if got == want:
        return
    tried = _("{who} sent {message} and got {got}, expected {want}").format(
        who=client.who, message=repr(message), got=show(got), want=repr(want)
    )
    numbered = re.fullmatch(r"#(\d+)(.*)", got, re.DOTALL) if isinstance(got, str) else None
    if numbered is None:
        raise WrongAnswer(
            tried,
            hint=_('The reply is exactly "#<n>: <message>": a hash, the number, colon, space.'),
        )
    number, rest = int(numbered[1]), numbered[2]
    if number == n:  # the count is right: only the text around it is not
        if rest == f" {message}":
            slip = _("the number is right; the colon after #{n} is missing").format(n=n)
        elif rest == f":{message}":
            slip = _("the number is right; the space after #{n}: is missing").format(n=n)
        else:
            slip = _("the number is right; after #{n} should come {rest}").format(
                n=n, rest=repr(f": {message}")
            )
        raise WrongAnswer(
            f"{tried}\n{slip}",
            hint=_(
                "Build the reply as f\"#{ctx.state['count']}: {message}\": hash, number, "
                "colon, space, message."
            ),
        )
    if number == n - 1:
        raise WrongAnswer(
            f"{tried}\n" + _("the number is one short"),
            hint=_("Count from 1: add 1 to the counter before you build the reply."),
        )
    step = _step(client, number)
    if step is not None and step != 1:
        climb = _(
            "the next reply on this connection was #{next}: the count goes up by {step} per message"
        ).format(next=number + step, step=step)
        raise WrongAnswer(
            f"{tried}\n{climb}",
            hint=_("Add exactly 1 per message: ctx.state['count'] += 1."),
        )
    if number == total:
        if n == 1:
            shared = _(
                "this is a new connection, so its first message is #1: #{number} counts the "
                "messages of every connection together"
            )
        else:
            shared = _(
                "this connection has sent {n} messages: #{number} counts the messages of "
                "every connection together"
            )
        raise WrongAnswer(
            f"{tried}\n{shared.format(n=n, number=number)}",
            hint=_(
                "A counter outside the middleware is shared by every connection. Keep it in "
                "ctx.state, which belongs to one connection: ctx.state['count'] = 0 first."
            ),
        )
    if number > n:
        if n == 1:
            kept = _(
                "this is a new connection, so its first message is #1: the count did not "
                "start at 0 for this connection, it went on from {before} messages before it"
            )
        else:
            kept = _(
                "this connection has sent {n} messages: the count did not start at 0 for "
                "this connection, it went on from {before} messages before it"
            )
        raise WrongAnswer(
            f"{tried}\n{kept.format(n=n, before=number - n)}",
            hint=_(
                "A counter outside the middleware lives on across connections, and across "
                "runs of this check. Start one for each connection: ctx.state['count'] = 0 "
                "first."
            ),
        )
    wrong = _("the number should be {n}: this connection's message number {n}").format(n=n)
    raise WrongAnswer(
        f"{tried}\n{wrong}",
        hint=_("Add 1 to ctx.state['count'] for each message of this connection, then reply."),
    )


def _step(client: live.Client, number: int) -> int | None:
    """Send one more message after a wrongly numbered reply: by how much did the count go up?"""
    try:
        client.send("one more")
        reply = client.expect(_("the reply to {message}").format(message=repr("one more")))
    except WrongAnswer:
        return None
    numbered = re.match(r"#(\d+)", reply) if isinstance(reply, str) else None
    return int(numbered[1]) - number if numbered else None


@lesson.exercise(
    hint=N_(
        'Start each connection with ctx.state["count"] = 0 (ctx.state belongs to one '
        "connection,\n"
        "like Koa's ctx.state), then for each message add 1 and reply:\n"
        "\n"
        "    async for message in ctx.websocket:\n"
        '        ctx.state["count"] += 1\n'
        "        await ctx.websocket.send(f\"#{ctx.state['count']}: {message}\")\n"
        "\n"
        "The first message of every connection is #1."
    ),
    solution=(solutions.count_messages,),
)
def count_messages(my_count_messages: Any) -> str:
    """Check the ``count_messages`` middleware with two real clients at once."""
    live.require_async(my_count_messages, "count_messages", "count_messages(ctx, next)")
    probe = live.Probe()
    app = live.exercise_app("count-messages")
    app.use(probe.middleware(my_count_messages))
    with live.serving(app) as server:
        with live.Client(server.url, _("client A"), probe) as a:
            _count_reply(a, "apple", 1, total=1)
            _count_reply(a, "banana", 2, total=2)
            with live.Client(server.url, _("client B"), probe) as b:
                _count_reply(b, "cherry", 1, total=3)
                _count_reply(a, "date", 3, total=4)
                _count_reply(b, "elderberry", 2, total=5)
        if not probe.wait_finished(2):
            raise WrongAnswer(
                _("the middleware kept running after both clients had left"),
                hint=_("Let the `async for` loop end when the client leaves; don't loop forever."),
            )
        counts = [state.get("count") for state in probe.states]
        if sorted(count for count in counts if isinstance(count, int)) != [2, 3]:
            raise WrongAnswer(
                _(
                    "after the clients left, ctx.state['count'] was {counts} on the two "
                    "connections, expected [2, 3]"
                ).format(counts=counts),
                hint=_('Keep the counter in ctx.state["count"], so other middleware can read it.'),
            )
    return _(
        "two clients, two counters: each connection counted its own messages from #1, "
        'in ctx.state["count"].'
    )


async def _reply_ok(ctx: Context, next: Next) -> None:
    """The app behind the hook: a connection that got through says so."""
    await ctx.websocket.send("welcome")


@lesson.exercise(
    hint=N_(
        'Read the token with ctx.query.get("token") (None when it is missing: no KeyError) and\n'
        "refuse the handshake when it is not TOKEN:\n"
        "\n"
        "    from labkit import HandshakeRefused\n"
        '    if ctx.query.get("token") != TOKEN:\n'
        '        raise HandshakeRefused(401, "missing or wrong token")\n'
        "\n"
        "Returning (even False) lets the handshake go on; only raising refuses it. 401 means\n"
        '"who are you?"; 403 would mean "I know who you are, and no".'
    ),
    solution=(solutions.require_token,),
)
def require_token(my_require_token: Any) -> str:
    """Check the ``require_token`` hook: real handshakes refused with 401, or let in."""
    if not callable(my_require_token):  # the core already said so; this keeps typing honest
        raise WrongAnswer(
            _("require_token is {value}, not a function").format(value=show(my_require_token))
        )
    probe = live.Probe()
    app = live.exercise_app("require-token")
    app.before_handshake(probe.hook(my_require_token))
    app.use(_reply_ok)
    with live.serving(app) as server:
        for query, why in (
            ("", _("no token at all")),
            ("?token=", _("an empty token")),
            ("?token=wrong", _("a wrong token")),
            (f"?token={TOKEN.upper()}", _("the token in upper case")),
        ):
            status = live.refused_status(server.url + query)
            tried = _("a handshake with {why} ({url})").format(why=why, url=server.url + query)
            if probe.error is not None:
                raise WrongAnswer(
                    _("{handshake}: your hook raised {error}").format(
                        handshake=tried, error=probe.error
                    ),
                    hint=_(
                        'Use ctx.query.get("token"): it gives None when there is no token, '
                        "where ctx.query['token'] raises KeyError."
                    ),
                )
            if status is None:
                raise WrongAnswer(
                    _("{handshake} was accepted (101 Switching Protocols)").format(handshake=tried),
                    hint=_(
                        "Returning from the hook (even `return False`) lets the handshake "
                        'continue. Refuse it: raise HandshakeRefused(401, "missing token").'
                    ),
                )
            if status != 401:
                raise WrongAnswer(
                    _("{handshake} was refused with {status}, expected 401").format(
                        handshake=tried, status=status
                    ),
                    hint=_(
                        "401 Unauthorized says 'who are you?': the right answer to a "
                        "missing or wrong token. raise HandshakeRefused(401, ...)."
                    ),
                )
        right = f"{server.url}?token={TOKEN}"
        status = live.refused_status(right)
        if status is not None:
            raise probe.wrong(
                _("a handshake with the right token ({url}) was refused with {status}").format(
                    url=right, status=status
                ),
                hint=_("Let the handshake through when ctx.query.get('token') == {token}.").format(
                    token=repr(TOKEN)
                ),
            )
        with live.Client(right, _("a client with the right token"), probe) as client:
            got = client.expect(_("the server's first message"))
            if got != "welcome":  # pragma: no cover - _reply_ok always sends it
                raise WrongAnswer(_("the client got {got}").format(got=show(got)))
    return _(
        "no token, an empty one and a wrong one: 401 before the handshake; the right "
        "token: welcome in."
    )
