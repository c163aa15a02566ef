"""Lesson 2 checkers run middleware on real servers: the references pass, mistakes fail."""

from __future__ import annotations

import pytest

import labkit
from labkit import HandshakeRefused
from labkit.exercises import lesson2 as ex
from labkit.exercises.solutions import lesson2 as solutions

from .helpers import accepted, chinese_verdict, not_attempted, rejected

# --- echo ------------------------------------------------------------------------------


def test_echo_accepts_the_reference() -> None:
    """The reference echo middleware passes the live check."""
    accepted(ex.check.echo(solutions.echo))


def test_echo_check_leaves_the_learners_own_server_alone() -> None:
    """A check never replaces a server the learner started (its name is its own)."""
    mine = labkit.start(labkit.echo_app(), name="echo")
    try:
        accepted(ex.check.echo(solutions.echo))
        assert mine.running
        assert [handle.name for handle in labkit.running()] == ["echo"]
    finally:
        mine.stop()


async def echo_once(ctx, next):
    message = await ctx.websocket.recv()
    await ctx.websocket.send(message)


async def echo_binary_as_text(ctx, next):
    async for message in ctx.websocket:
        await ctx.websocket.send(str(message))


async def echo_forgets_to_send(ctx, next):
    async for message in ctx.websocket:
        ctx.log.info("got %s", message)


async def echo_with_prefix(ctx, next):
    async for message in ctx.websocket:
        await ctx.websocket.send(f"echo: {message}")


async def echo_raises(ctx, next):
    async for message in ctx.websocket:
        await ctx.websocket.send(message.decode())


def echo_not_async(ctx, next):
    return None


@pytest.mark.parametrize(
    ("mistake", "fragments"),
    [
        (echo_once, ("closed", "async for message in ctx.websocket")),
        (echo_binary_as_text, ("binary message", "got back the text message")),
        (echo_forgets_to_send, ("nothing came", "await ctx.websocket.send(message)")),
        (echo_with_prefix, ("'echo: hello'", "nothing added")),
        (echo_raises, ("your code raised AttributeError", "message.decode()")),
        (echo_not_async, ("async def echo(ctx, next)",)),
    ],
)
def test_echo_rejects_a_mistake(mistake: object, fragments: tuple[str, ...]) -> None:
    """Each classic echo mistake is rejected, saying what the client sent and got."""
    rejected(ex.check.echo(mistake), *fragments)


async def echo_placeholder(ctx, next):
    """Send every message back."""
    ...


def test_echo_untouched_is_not_attempted() -> None:
    """The untouched echo middleware gives "not attempted yet" and starts no server."""
    not_attempted(ex.check.echo(echo_placeholder))


# --- count_messages ------------------------------------------------------------------

TOTAL = 0


async def count_globally(ctx, next):
    global TOTAL
    async for message in ctx.websocket:
        TOTAL += 1
        ctx.state["count"] = TOTAL
        await ctx.send(f"#{TOTAL}: {message}")


async def count_from_zero(ctx, next):
    ctx.state["count"] = 0
    async for message in ctx.websocket:
        await ctx.send(f"#{ctx.state['count']}: {message}")
        ctx.state["count"] += 1


async def count_in_a_local(ctx, next):
    count = 0
    async for message in ctx.websocket:
        count += 1
        await ctx.send(f"#{count}: {message}")


async def count_wrong_format(ctx, next):
    ctx.state["count"] = 0
    async for message in ctx.websocket:
        ctx.state["count"] += 1
        await ctx.send(f"{ctx.state['count']}. {message}")


async def count_missing_colon(ctx, next):
    ctx.state["count"] = 0
    async for message in ctx.websocket:
        ctx.state["count"] += 1
        await ctx.websocket.send(f"#{ctx.state['count']} {message}")


async def count_missing_space(ctx, next):
    ctx.state["count"] = 0
    async for message in ctx.websocket:
        ctx.state["count"] += 1
        await ctx.websocket.send(f"#{ctx.state['count']}:{message}")


async def count_twice(ctx, next):
    ctx.state["count"] = 0
    async for message in ctx.websocket:
        ctx.state["count"] += 2
        await ctx.websocket.send(f"#{ctx.state['count']}: {message}")


def test_count_messages_accepts_the_reference() -> None:
    """The reference count_messages passes the two-client live check."""
    accepted(ex.check.count_messages(solutions.count_messages))


@pytest.mark.parametrize(
    ("mistake", "fragments"),
    [
        (count_globally, ("client B", "first message is #1", "ctx.state")),
        (count_from_zero, ("'#0: apple'", "Count from 1")),
        (count_in_a_local, ("ctx.state['count']",)),
        (count_wrong_format, ("expected '#1: apple'",)),
    ],
)
def test_count_messages_rejects_a_mistake(mistake: object, fragments: tuple[str, ...]) -> None:
    """Each classic counting mistake is rejected with the reply that gave it away."""
    rejected(ex.check.count_messages(mistake), *fragments)


@pytest.mark.parametrize(
    ("mistake", "fragments"),
    [
        (count_missing_colon, ("got '#1 apple', expected '#1: apple'", "colon after #1")),
        (count_missing_space, ("got '#1:apple'", "space after #1:")),
        (count_twice, ("got '#2: apple', expected '#1: apple'", "next reply", "up by 2")),
    ],
)
def test_count_messages_blames_no_shared_counter_for_another_slip(
    mistake: object, fragments: tuple[str, ...]
) -> None:
    """A reply whose number is right (or wrong on one connection) says nothing of sharing."""
    result = ex.check.count_messages(mistake)
    rejected(result, *fragments)
    assert "shared" not in f"{result.message}\n{result.hint}"


def shared_counter():
    """A fresh middleware whose counter lives outside it, shared by every connection."""
    total = [0]

    async def count_outside(ctx, next):
        async for message in ctx.websocket:
            total[0] += 1
            ctx.state["count"] = total[0]
            await ctx.websocket.send(f"#{total[0]}: {message}")

    return count_outside


def test_count_messages_names_a_shared_counter_by_its_number() -> None:
    """A shared counter is named when client B's reply counts every connection's messages."""
    rejected(
        ex.check.count_messages(shared_counter()),
        "client B sent 'cherry' and got '#3: cherry', expected '#1: cherry'",
        "#3 counts the messages of every connection together",
        "shared by every connection",
    )


def test_count_messages_names_a_counter_left_over_from_an_earlier_check() -> None:
    """Checked again, a counter outside the middleware goes on counting: the check says so."""
    counter = shared_counter()
    ex.check.count_messages(counter)  # 4 replies: #1, #2, #3 (client B's first), then one more
    rejected(
        ex.check.count_messages(counter),
        "client A sent 'apple' and got '#5: apple', expected '#1: apple'",
        "did not start at 0 for this connection, it went on from 4 messages before it",
        "lives on across connections",
    )


# --- require_token ----------------------------------------------------------------------


def test_require_token_accepts_the_reference() -> None:
    """The reference hook refuses bad tokens with 401 and lets the right one in."""
    accepted(ex.check.require_token(solutions.require_token))


async def token_async(ctx):
    if ctx.query.get("token") != ex.TOKEN:
        raise HandshakeRefused(401, "no")


def test_require_token_accepts_an_async_hook() -> None:
    """An async def hook is as good as a plain one."""
    accepted(ex.check.require_token(token_async))


def token_returns_false(ctx):
    return ctx.query.get("token") == ex.TOKEN


def token_forbidden(ctx):
    if ctx.query.get("token") != ex.TOKEN:
        raise HandshakeRefused(403, "forbidden")


def token_presence_only(ctx):
    if "token" not in ctx.query:
        raise HandshakeRefused(401, "missing token")


def token_key_error(ctx):
    if ctx.query["token"] != ex.TOKEN:
        raise HandshakeRefused(401, "wrong token")


def token_refuses_all(ctx):
    raise HandshakeRefused(401, "go away")


@pytest.mark.parametrize(
    ("mistake", "fragments"),
    [
        (token_returns_false, ("no token at all", "accepted", "raise HandshakeRefused(401")),
        (token_forbidden, ("refused with 403, expected 401",)),
        (token_presence_only, ("an empty token", "accepted")),
        (token_key_error, ("raised KeyError", 'ctx.query.get("token")')),
        (token_refuses_all, ("the right token", "refused with 401")),
    ],
)
def test_require_token_rejects_a_mistake(mistake: object, fragments: tuple[str, ...]) -> None:
    """Each classic hook mistake is rejected after real handshakes showed it."""
    rejected(ex.check.require_token(mistake), *fragments)


def token_placeholder(ctx):
    raise NotImplementedError


def test_require_token_untouched_is_not_attempted() -> None:
    """The untouched hook gives "not attempted yet"."""
    not_attempted(ex.check.require_token(token_placeholder))


# --- in Chinese ----------------------------------------------------------------------


@pytest.mark.usefixtures("chinese")
@pytest.mark.parametrize(
    ("mistake", "fragments"),
    [
        (
            count_missing_colon,
            (
                "客户端 A 发送了 'apple'，收到 '#1 apple'，期望 '#1: apple'",
                "数字对了；#1 后面少了冒号",
                "井号、数字、冒号、空格、消息",
            ),
        ),
        (count_from_zero, ("收到 '#0: apple'", "从 1 开始数")),
    ],
)
def test_a_wrong_count_is_explained_in_chinese(mistake: object, fragments: tuple[str, ...]) -> None:
    """A wrong reply: who sent what, what came back, what was expected, the cause, in Chinese."""
    result = ex.check.count_messages(mistake)
    rejected(result)
    chinese_verdict(result, "count_messages：还不对", *fragments)


@pytest.mark.usefixtures("chinese")
def test_a_shared_counter_is_named_in_chinese() -> None:
    """A counter outside the middleware: client B's reply, then a second run, in Chinese."""
    counter = shared_counter()
    chinese_verdict(
        ex.check.count_messages(counter),
        "count_messages：还不对",
        "客户端 B 发送了 'cherry'，收到 '#3: cherry'，期望 '#1: cherry'",
        "这是一个新连接，它的第一条消息应该是 #1：#3 把所有连接的消息加在一起数了",
        "会被所有连接共享",
    )
    chinese_verdict(
        ex.check.count_messages(counter),
        "count_messages：还不对",
        "客户端 A 发送了 'apple'，收到 '#5: apple'",
        "而是接着之前的 4 条消息往下数",
        "跨这个检查的多次运行",
    )


@pytest.mark.usefixtures("chinese")
@pytest.mark.parametrize(
    ("mistake", "fragments"),
    [
        (echo_binary_as_text, ("客户端发送了二进制消息", "收到的却是文本消息", "不要把它变成 str")),
        (echo_forgets_to_send, ("客户端 等了 1 秒，也没有等到 文本消息", "什么也没有发回来")),
        (echo_once, ("关闭了 客户端 的连接（关闭码 1000）", "要用循环")),
        (echo_not_async, ("中间件必须是 `async def echo(ctx, next):`", "必须用 `async def` 声明")),
    ],
)
def test_a_wrong_echo_is_explained_in_chinese(mistake: object, fragments: tuple[str, ...]) -> None:
    """Echo mistakes on a live server are told in Chinese; the wire stays as it was."""
    result = ex.check.echo(mistake)
    rejected(result)
    chinese_verdict(result, "echo：还不对", *fragments)


@pytest.mark.usefixtures("chinese")
@pytest.mark.parametrize(
    ("mistake", "fragments"),
    [
        (
            token_returns_false,
            ("没有令牌的握手", "被接受了（101 Switching Protocols）", "要拒绝它"),
        ),
        (token_forbidden, ("被拒绝了，状态码是 403，期望 401", "401 Unauthorized 的意思是")),
    ],
)
def test_a_wrong_token_check_is_explained_in_chinese(
    mistake: object, fragments: tuple[str, ...]
) -> None:
    """require_token mistakes: the handshake tried and its status, in Chinese."""
    result = ex.check.require_token(mistake)
    rejected(result)
    chinese_verdict(result, "require_token：还不对", *fragments)


@pytest.mark.usefixtures("chinese")
@pytest.mark.parametrize(
    ("name", "reference", "praise"),
    [
        ("echo", solutions.echo, "4 条消息原样返回"),
        ("count_messages", solutions.count_messages, "两个客户端，两个计数器"),
        ("require_token", solutions.require_token, "在握手之前就返回 401"),
    ],
)
def test_a_right_middleware_is_praised_in_chinese(
    name: str, reference: object, praise: str
) -> None:
    """The references pass on real servers, and their ✓ lines are Chinese."""
    result = getattr(ex.check, name)(reference)
    accepted(result)
    chinese_verdict(result, f"{name}：正确！", praise)


@pytest.mark.usefixtures("chinese")
def test_lesson2_hints_speak_chinese_and_keep_their_code(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The hints are Chinese, with the code lines to copy exactly as in English."""
    ex.hint.count_messages()
    ex.hint.require_token()
    out = capsys.readouterr().out
    assert "ℹ 提示：count_messages" in out
    assert "就像 Koa 的 ctx.state" in out
    assert """await ctx.websocket.send(f"#{ctx.state['count']}: {message}")""" in out
    assert 'raise HandshakeRefused(401, "missing or wrong token")' in out
    assert "“我知道你是谁，但不行”" in out
