"""Tests for labkit.app: the Koa-style layer, against real servers and clients."""

from __future__ import annotations

import logging
import re
import socket
import threading

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

import labkit
from labkit import App, Context, HandshakeRefused, HttpResponse
from labkit.app import Route
from tests.support import (
    handshake_head,
    handshake_request,
    http_exchange,
    read_http_head,
    wait_handlers_done,
)

HELD_BACK = re.compile(r"(\d+) more lines not logged: over \d+ a second")


@pytest.fixture
def serve():
    """Start apps under unique names and stop them after the test."""
    handles = []

    def start(app: App) -> labkit.ServerHandle:
        handle = labkit.start(app, name=f"test-app-{len(handles)}-{app.name}")
        handles.append(handle)
        return handle

    yield start
    for handle in handles:
        handle.stop()


def test_middleware_runs_as_an_onion(serve):
    """Code after `await next()` runs on the way out, innermost first, as in Koa."""
    order: list[str] = []
    done = threading.Event()
    app = App("onion")

    @app.use
    async def outer(ctx, next):
        order.append("outer in")
        await next()
        order.append("outer out")
        done.set()

    @app.use
    async def inner(ctx, next):
        order.append("inner in")
        await next()
        order.append("inner out")

    @app.use
    async def echo_once(ctx, next):
        await ctx.send(await ctx.websocket.recv())
        order.append("handler")

    server = serve(app)
    with connect(server.url) as ws:
        ws.send("hi")
        assert ws.recv(timeout=5) == "hi"
    assert done.wait(5)
    assert order == ["outer in", "inner in", "handler", "inner out", "outer out"]


def test_context_carries_path_query_params_state_and_headers(serve):
    """A routed middleware sees path, query, params, headers, state, app, id and remote."""
    app = App("ctx")
    seen: dict = {}

    @app.route("/rooms/{room}")
    async def room(ctx: Context, next):
        ctx.state["visits"] = ctx.state.get("visits", 0) + 1
        seen.update(
            path=ctx.path,
            query=ctx.query,
            params=ctx.params,
            agent=ctx.headers.get("X-Test"),
            state=dict(ctx.state),
            app=ctx.app,
            id=ctx.id,
            remote=ctx.remote,
            connections=len(ctx.app.connections),
        )
        await ctx.send("ok")

    server = serve(app)
    url = f"ws://127.0.0.1:{server.port}/rooms/lobby?user=ada&x="
    with connect(url, additional_headers={"X-Test": "yes"}) as ws:
        assert ws.recv(timeout=5) == "ok"
    assert seen["path"] == "/rooms/lobby"
    assert seen["query"] == {"user": "ada", "x": ""}
    assert seen["params"] == {"room": "lobby"}
    assert seen["agent"] == "yes"
    assert seen["state"] == {"visits": 1}
    assert seen["app"] is app and seen["id"] == 1
    assert seen["remote"][0] == "127.0.0.1"
    assert seen["connections"] == 1


def test_unmatched_routes_are_refused_with_404_before_the_handshake(serve):
    """Once an app has routes, other paths get 404 instead of an open socket."""
    app = App("routes")

    @app.route("/chat")
    async def chat(ctx, next):
        await ctx.send("chat")

    server = serve(app)
    with pytest.raises(InvalidStatus) as refused:
        connect(f"ws://127.0.0.1:{server.port}/nope").close()
    assert refused.value.response.status_code == 404
    with connect(f"ws://127.0.0.1:{server.port}/chat") as ws:
        assert ws.recv(timeout=5) == "chat"


def test_route_patterns_match_whole_segments():
    """`{name}` captures one path segment; a trailing slash is allowed."""
    route = Route("/rooms/{room}/users/{user}")
    assert route.match("/rooms/a/users/b") == {"room": "a", "user": "b"}
    assert route.match("/rooms/a/users/b/") == {"room": "a", "user": "b"}
    assert route.match("/rooms/a/b/users/c") is None
    assert route.match("/rooms//users/b") is None
    with pytest.raises(ValueError):
        Route("rooms")


def test_before_handshake_hook_refuses_with_its_status_and_passes_state(serve):
    """A hook refuses before the 101 with any HTTP status; what it stores reaches middleware."""
    app = App("auth")

    @app.before_handshake
    def require_token(ctx: Context) -> None:
        if ctx.query.get("token") != "secret":
            raise HandshakeRefused(401, "missing or wrong token")
        ctx.state["user"] = "ada"

    @app.use
    async def hello(ctx, next):
        await ctx.send(f"hello {ctx.state['user']}")

    server = serve(app)
    with pytest.raises(InvalidStatus) as refused:
        connect(server.url).close()
    assert refused.value.response.status_code == 401
    assert b"missing or wrong token" in refused.value.response.body
    with connect(server.url + "?token=secret") as ws:
        assert ws.recv(timeout=5) == "hello ada"


def test_a_hook_that_crashes_answers_500_and_the_server_lives_on(serve):
    """An unexpected error in a hook is a 500, logged, and the next client is served."""
    app = App("crashhook")
    calls = []

    @app.before_handshake
    async def flaky(ctx):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("boom")

    @app.use
    async def ok(ctx, next):
        await ctx.send("ok")

    server = serve(app)
    with pytest.raises(InvalidStatus) as refused:
        connect(server.url).close()
    assert refused.value.response.status_code == 500
    with connect(server.url) as ws:
        assert ws.recv(timeout=5) == "ok"


def test_an_exception_in_middleware_closes_with_1011_is_logged_and_serving_goes_on(serve):
    """A crashing middleware closes only its connection, with 1011 and a logged traceback."""
    app = App("crashmw")

    @app.use
    async def crash(ctx, next):
        message = await ctx.websocket.recv()
        if message == "crash":
            raise ValueError("learner bug")
        await ctx.send("fine")

    server = serve(app)
    with connect(server.url) as ws:
        ws.send("crash")
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
    assert closed.value.rcvd.code == 1011
    logged = "\n".join(server.logs())
    assert "middleware failed" in logged and "ValueError: learner bug" in logged
    assert "Traceback" in logged
    with connect(server.url) as ws:
        ws.send("again")
        assert ws.recv(timeout=5) == "fine"


def test_calling_next_twice_is_an_error_not_a_double_run(serve):
    """next() twice in one middleware fails that connection with 1011."""
    app = App("twice")

    @app.use
    async def greedy(ctx, next):
        await next()
        await next()

    @app.use
    async def hello(ctx, next):
        await ctx.send("hello")

    server = serve(app)
    with connect(server.url) as ws:
        assert ws.recv(timeout=5) == "hello"
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
    assert closed.value.rcvd.code == 1011


def test_use_rejects_what_learners_get_wrong():
    """Sync functions and wrong signatures are refused early with a hint."""
    app = App()

    def not_async(ctx, next):
        return None

    async def one_arg(ctx):
        return None

    with pytest.raises(TypeError, match="async def not_async"):
        app.use(not_async)
    with pytest.raises(TypeError, match=r"\(ctx, next\)"):
        app.use(one_arg)
    with pytest.raises(TypeError):
        app.use("echo")  # type: ignore[arg-type]


def test_broadcast_reaches_everyone_but_the_excluded(serve):
    """broadcast() sends to every open connection except `exclude`, from any thread."""
    app = App("fanout")
    joined = threading.Semaphore(0)

    @app.use
    async def relay(ctx, next):
        joined.release()
        async for message in ctx.websocket:
            ctx.app.broadcast(message, exclude=ctx)

    server = serve(app)
    with connect(server.url) as a, connect(server.url) as b, connect(server.url) as c:
        for _ in range(3):
            assert joined.acquire(timeout=5)
        assert len(app.connections) == 3
        a.send("from a")
        assert b.recv(timeout=5) == "from a"
        assert c.recv(timeout=5) == "from a"
        # From this (non-loop) thread, to everyone. Frames on one connection keep
        # their order, so `a` seeing this next proves it got no copy of its own.
        assert app.broadcast(b"\x00bin") == 3
        for ws in (a, b, c):
            assert ws.recv(timeout=5) == b"\x00bin"


def test_broadcast_disconnects_a_reader_that_stopped_reading(serve):
    """A client that never reads is cut off once its unsent buffer passes max_buffer."""
    app = App("slow", max_buffer=64 * 1024)
    joined = threading.Semaphore(0)

    @app.use
    async def hold(ctx, next):
        joined.release()
        await ctx.websocket.wait_closed()

    server = serve(app)
    with socket.create_connection(("127.0.0.1", server.port)) as stalled:
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stalled.sendall(handshake_request(server.port))
        status, _, _ = read_http_head(stalled)
        assert status == 101
        assert joined.acquire(timeout=5)
        chunk = "x" * 60_000
        for _ in range(2000):  # at most 120 MB; the bound trips long before
            if app.broadcast(chunk) == 0 and not app.connections:
                break
        assert not app.connections


def test_plain_http_routes_share_the_port(serve):
    """GET without Upgrade is answered by @app.http pages; other paths get 426."""
    app = App("pages")

    @app.http("/")
    def index(request):
        return "<h1>hi</h1>"

    @app.http("/api")
    def api(request):
        return HttpResponse(201, '{"ok": true}', "application/json")

    @app.use
    async def ws(ctx, next):
        await ctx.send("ws")

    server = serve(app)
    get = "GET {} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    status, headers, body = http_exchange(server.port, get.format("/").encode())
    assert (status, headers["content-type"], body) == (
        200,
        "text/html; charset=utf-8",
        b"<h1>hi</h1>",
    )
    status, headers, body = http_exchange(server.port, get.format("/api").encode())
    assert (status, body) == (201, b'{"ok": true}')
    status, headers, _ = http_exchange(server.port, get.format("/other").encode())
    assert status == 426 and headers["upgrade"] == "websocket"
    with connect(server.url) as client:
        assert client.recv(timeout=5) == "ws"


def test_wrong_version_gets_426_naming_version_13(serve):
    """RFC 6455, section 4.4: a wrong version gets 426 and `Sec-WebSocket-Version: 13`."""
    server = serve(labkit.echo_app("version"))
    status, headers, _ = http_exchange(
        server.port, handshake_request(server.port, Sec_WebSocket_Version="8")
    )
    assert status == 426
    assert headers["sec-websocket-version"] == "13"


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        (None, True),
        ("http://127.0.0.1:{port}", True),
        ("HTTP://127.0.0.1:{port}", True),
        ("http://evil.example", False),
        ("http://127.0.0.1:1", False),
        ("null", False),
    ],
)
def test_origin_check_allows_same_host_and_no_origin_only(serve, origin, allowed):
    """RFC 6455, section 10.2: foreign browser Origins are refused with 403."""
    server = serve(labkit.echo_app("origin"))
    headers = {} if origin is None else {"Origin": origin.format(port=server.port)}
    status, _ = handshake_head(server.port, handshake_request(server.port, **headers))
    assert status == (101 if allowed else 403)


def test_origin_allowlist_adds_origins_and_none_disables(serve):
    """An explicit list extends same-host; origins=None turns the check off."""
    listed = serve(labkit.echo_app("listed", origins=["http://notebook.example:8888"]))
    open_ = serve(labkit.echo_app("open", origins=None))
    request = handshake_request(listed.port, Origin="http://notebook.example:8888")
    assert handshake_head(listed.port, request)[0] == 101
    request = handshake_request(open_.port, Origin="http://evil.example")
    assert handshake_head(open_.port, request)[0] == 101


def test_compression_is_off_by_default(serve):
    """permessage-deflate offered by a client is not accepted unless asked for."""
    plain = serve(labkit.echo_app("plain"))
    deflate = serve(labkit.echo_app("deflate", compression="deflate"))
    offer = {"Sec-WebSocket-Extensions": "permessage-deflate; client_max_window_bits"}
    _, headers = handshake_head(plain.port, handshake_request(plain.port, **offer))
    assert "sec-websocket-extensions" not in headers
    _, headers = handshake_head(deflate.port, handshake_request(deflate.port, **offer))
    assert headers["sec-websocket-extensions"].startswith("permessage-deflate")


def test_messages_over_max_size_close_with_1009(serve):
    """RFC 6455, section 7.4.1: a message over max_size closes with 1009."""
    server = serve(labkit.echo_app("small", max_size=1000))
    with connect(server.url, max_size=None) as ws:
        ws.send("x" * 1000)
        assert ws.recv(timeout=5) == "x" * 1000
        ws.send("x" * 1001)
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
    assert closed.value.rcvd.code == 1009


def test_queued_broadcast_frames_leave_before_a_later_reply_and_the_queue_resets(serve):
    """Broadcast frames wait for the end of the loop turn; a direct send flushes them first."""
    app = App("order")

    @app.use
    async def mixed(ctx, next):
        async for message in ctx.websocket:
            ctx.app.broadcast(f"{message}: queued 1")
            ctx.app.broadcast(f"{message}: queued 2")
            await ctx.send(f"{message}: direct")  # same turn: must not overtake them
            ctx.app.broadcast(f"{message}: queued 3")

    server = serve(app)
    with connect(server.url) as ws:
        for turn in ("one", "two"):  # the second turn starts from an empty queue
            ws.send(turn)
            got = [ws.recv(timeout=5) for _ in range(4)]
            assert got == [
                f"{turn}: queued 1",
                f"{turn}: queued 2",
                f"{turn}: direct",
                f"{turn}: queued 3",
            ]
        ws.ping()  # websockets' own writes (the pong) are unaffected
        (conn,) = [ctx.websocket for ctx in app.connections]
        assert "send_data" not in vars(conn)  # nothing queued: the plain send path


def test_broadcast_from_a_middleware_is_synchronous_and_counts(serve):
    """broadcast() inside the loop returns the number of receivers at once."""
    app = App("count")
    counts: list[int] = []

    @app.use
    async def count(ctx, next):
        counts.append(ctx.app.broadcast("hello"))
        await ctx.websocket.recv()

    server = serve(app)
    with connect(server.url) as ws:
        assert ws.recv(timeout=5) == "hello"
    assert counts == [1]


@pytest.mark.parametrize(
    ("host", "status"),
    [
        ("evil.example:{port}", 403),
        ("192.168.1.10:{port}", 403),
        ("localhost:{port}", 101),
        ("127.0.0.1:{port}", 101),
        ("[::1]:{port}", 101),
    ],
)
def test_a_loopback_server_answers_only_to_local_host_names(serve, host, status):
    """DNS rebinding: a page whose name now points at 127.0.0.1 is refused with 403."""
    server = serve(labkit.echo_app("rebind"))
    name = host.format(port=server.port)
    origin = f"http://{name}"  # the attacker's page is "same host" to itself
    request = handshake_request(server.port, Host=name, Origin=origin)
    assert handshake_head(server.port, request)[0] == status


def test_any_status_a_hook_picks_is_sent_as_is(serve):
    """HandshakeRefused(499) answers 499, not a 500 from an unnamed status."""
    app = App("odd-status")

    @app.before_handshake
    def no(ctx):
        raise HandshakeRefused(499, "not today")

    server = serve(app)
    assert handshake_head(server.port, handshake_request(server.port))[0] == 499


def test_duplicate_headers_are_a_clean_400(serve, caplog):
    """Two Origin headers are ambiguous: 400, and nothing is logged as an error."""
    server = serve(labkit.echo_app("dup"))
    request = handshake_request(server.port).replace(
        b"\r\n\r\n", b"\r\nOrigin: http://a\r\nOrigin: http://b\r\n\r\n"
    )
    assert handshake_head(server.port, request)[0] == 400
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_a_flooding_client_is_logged_up_to_the_limit_and_counted(serve):
    """ctx.log writes log_limit lines a second per connection; the rest are counted."""
    app = labkit.echo_app("floodlog", log_limit=5)
    server = serve(app)
    with connect(server.url) as ws:
        for i in range(200):
            ws.send(f"m{i}")
            assert ws.recv(timeout=5) == f"m{i}"
    wait_handlers_done(app)
    lines = server.logs(last=0)
    shown = [line for line in lines if "received message" in line]
    counts = [int(m.group(1)) for m in map(HELD_BACK.search, lines) if m]
    assert counts, "\n".join(lines)  # 200 messages in under 40 s: some second had over 5
    assert len(shown) + sum(counts) == 200  # every message: written, or counted


def test_log_limit_none_logs_every_message_and_a_bad_limit_is_refused(serve):
    app = labkit.echo_app("everylog", log_limit=None)
    server = serve(app)
    with connect(server.url) as ws:
        for i in range(40):
            ws.send(f"m{i}")
            ws.recv(timeout=5)
    wait_handlers_done(app)
    lines = server.logs(last=0)
    assert sum("received message" in line for line in lines) == 40
    assert not any(HELD_BACK.search(line) for line in lines)
    with pytest.raises(ValueError, match="log_limit"):
        App("nolog", log_limit=0)


def test_a_refused_handshake_logs_its_count_of_held_back_lines(serve):
    """A hook's lines count against the limit too, and its refusal ends the connection."""
    app = App("hooklog", log_limit=2)

    @app.before_handshake
    def chatty(ctx):
        for i in range(10):
            ctx.log.info("checking %d", i)
        raise HandshakeRefused(403, "no")

    server = serve(app)
    with pytest.raises(InvalidStatus):
        connect(server.url, open_timeout=5).close()
    lines = server.logs(last=0)
    assert sum("checking" in line for line in lines) == 2
    assert any("9 more lines not logged" in line for line in lines), lines


def test_middleware_mistakes_are_explained_in_chinese(chinese):
    """The early checks of use() and before_handshake() speak Chinese."""
    app = App("app-zh")

    def not_async(ctx, next):
        pass

    async def one(ctx):
        pass

    with pytest.raises(TypeError, match="必须用 `async def not_async"):
        app.use(not_async)
    with pytest.raises(TypeError, match=r"必须接受 2 个参数 \(ctx, next\)"):
        app.use(one)
    with pytest.raises(TypeError, match="中间件必须是函数"):
        app.use("echo")
    with pytest.raises(TypeError, match="钩子必须是函数"):
        app.before_handshake(42)
    with pytest.raises(ValueError, match="路由模式必须以 '/' 开头"):
        app.route("rooms")
