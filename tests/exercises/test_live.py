"""The live harness: servers always stop, learner errors are caught and described."""

from __future__ import annotations

import pytest

import labkit
from labkit import HandshakeRefused
from labkit.exercises import live
from labkit.exercises.core import WrongAnswer


async def say_hi(ctx, next):
    await ctx.send("hi")


def test_serving_stops_the_server_even_when_the_check_fails() -> None:
    """A failure inside `serving` still stops the server and frees its name."""
    app = live.exercise_app("probe")
    app.use(say_hi)
    with pytest.raises(WrongAnswer), live.serving(app) as server:
        assert server.name.startswith("exercise-probe-")
        assert server in labkit.running()
        raise WrongAnswer("the check failed")
    assert not server.running
    assert server not in labkit.running()


async def divide_by_zero(ctx, next):
    async for message in ctx.websocket:
        await ctx.send(str(len(message) / 0))


def test_probe_reports_the_learners_error_and_line_instead_of_the_symptom() -> None:
    """A learner exception closes with 1011 and becomes the message, with the failing line."""
    probe = live.Probe()
    app = live.exercise_app("probe")
    app.use(probe.middleware(divide_by_zero))
    with live.serving(app) as server, live.Client(server.url, "the client", probe) as client:
        client.send("boom")
        with pytest.raises(WrongAnswer) as failure:
            client.expect("a reply")
        assert client.ws.close_code == 1011
    assert probe.wait_finished(1)
    assert "your code raised ZeroDivisionError: division by zero" in failure.value.message
    assert "await ctx.send(str(len(message) / 0))" in failure.value.message


def refuse(ctx):
    if ctx.query.get("let") != "in":
        raise HandshakeRefused(403, "no")


def test_refused_status_tells_accepted_from_refused() -> None:
    """refused_status gives the HTTP status of a refused handshake and None for an accepted one."""
    app = live.exercise_app("probe")
    app.before_handshake(refuse)
    app.use(say_hi)
    with live.serving(app) as server:
        assert live.refused_status(server.url) == 403
        assert live.refused_status(server.url + "?let=in") is None


@pytest.mark.usefixtures("chinese")
def test_the_learners_error_is_reported_in_chinese() -> None:
    """The probe's report and a client's wait speak Chinese; the close frame stays English."""
    probe = live.Probe()
    app = live.exercise_app("probe")
    app.use(probe.middleware(divide_by_zero))
    with live.serving(app) as server, live.Client(server.url, "ana", probe) as client:
        client.send("boom")
        with pytest.raises(WrongAnswer) as failure:
            client.expect("一个回复")
        assert client.ws.close_code == 1011
        assert client.ws.close_reason == "the exercise code raised an exception"
    assert probe.wait_finished(1)
    message = failure.value.message
    assert message.startswith("你的代码抛出了 ZeroDivisionError: division by zero（第 ")
    assert "行：await ctx.send(str(len(message) / 0))）" in message
    assert failure.value.hint == "先修复上面的错误。"


@pytest.mark.usefixtures("chinese")
def test_a_silent_server_is_reported_in_chinese() -> None:
    """Nothing comes back: the client says what it waited for and how long, in Chinese."""
    probe = live.Probe()
    app = live.exercise_app("probe")
    app.use(probe.middleware(say_nothing))
    with (
        live.serving(app) as server,
        live.Client(server.url, "ana", probe) as client,
        pytest.raises(WrongAnswer) as failure,
    ):
        client.expect("一个回复", silent="提示")
    assert failure.value.message == "ana 等了 1 秒，也没有等到 一个回复"
    assert failure.value.hint == "提示"


async def say_nothing(ctx, next):
    async for _message in ctx.websocket:
        pass
