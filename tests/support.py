"""Small helpers shared by the tests: raw sockets for what real clients won't send."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import threading

__all__ = [
    "handshake_head",
    "handshake_request",
    "http_exchange",
    "kit_tasks",
    "new_threads",
    "open_fds",
    "port_is_free",
    "read_http_head",
    "wait_handlers_done",
]


def handshake_request(port: int, path: str = "/", **headers: str) -> bytes:
    """A valid client handshake (RFC 6455, section 4.1); keyword args override headers."""
    fields = {
        "Host": f"127.0.0.1:{port}",
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode(),
        "Sec-WebSocket-Version": "13",
    }
    for key, value in headers.items():
        name = key.replace("_", "-")
        if value is None:
            fields.pop(name, None)
        else:
            fields[name] = value
    lines = [f"GET {path} HTTP/1.1", *(f"{k}: {v}" for k, v in fields.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def read_http_head(sock: socket.socket, limit: int = 65536) -> tuple[int, dict[str, str], bytes]:
    """Read an HTTP response head; return (status, lower-cased headers, extra bytes)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
        if len(data) > limit:
            raise AssertionError("response head too large")
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1]) if lines and lines[0] else 0
    fields = {}
    for line in lines[1:]:
        key, _, value = line.partition(":")
        fields[key.strip().lower()] = value.strip()
    return status, fields, rest


def http_exchange(
    port: int, request: bytes, timeout: float = 5.0
) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes, read the whole response until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        status, fields, body = read_http_head(sock)
        while True:
            try:
                chunk = sock.recv(65536)
            except (ConnectionResetError, TimeoutError):
                break
            if not chunk:
                break
            body += chunk
            if "content-length" in fields and len(body) >= int(fields["content-length"]):
                break
        return status, fields, body


def handshake_head(port: int, request: bytes, timeout: float = 5.0) -> tuple[int, dict[str, str]]:
    """Send a handshake, read only the response head, then hang up."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        status, fields, _ = read_http_head(sock)
        return status, fields


def port_is_free(port: int) -> bool:
    """Can a new server listen on ``port``? (Servers set SO_REUSEADDR, so TIME_WAIT is fine.)"""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
            probe.listen()
        except OSError:
            return False
        return True


def new_threads(before: set[threading.Thread], timeout: float = 10.0) -> list[threading.Thread]:
    """Threads started since ``before`` that are still alive after joining them.

    Client libraries end their helper threads just after a connection closes;
    joining (with a deadline) waits for exactly that, no longer.
    """
    for thread in set(threading.enumerate()) - before:
        thread.join(timeout)
    return [t for t in set(threading.enumerate()) - before if t.is_alive()]


def open_fds() -> int:
    """How many file descriptors this process holds."""
    return len(os.listdir("/proc/self/fd"))


def kit_tasks(package: str = "") -> int:
    """How many tasks run on the kit's loop (not counting the one that counts).

    With ``package`` (e.g. ``"labkit/inspector"``), only tasks running a
    coroutine defined in that folder: other servers' tasks may still be
    winding down on their own schedule.
    """
    from labkit import runner

    return runner.run_sync(_count_tasks(package))


async def _count_tasks(package: str) -> int:
    me = asyncio.current_task()
    return sum(
        1
        for task in asyncio.all_tasks()
        if task is not me and package in getattr(task.get_coro(), "cr_code", _NO_CODE).co_filename
    )


_NO_CODE = (lambda: None).__code__


def wait_handlers_done(app: object, timeout: float = 10.0) -> None:
    """Wait until every connection handler of a started ``App`` has returned.

    A client's close completes when the server's close frame arrives; the
    server's handler (a chat room's leave, say) ends a moment later, on the
    kit's loop. This waits for exactly those tasks.
    """
    from labkit import runner

    server = app._server  # type: ignore[attr-defined]
    assert server is not None, "the app is not serving"

    async def done() -> None:
        if server.handler_tasks:
            await asyncio.wait(set(server.handler_tasks), timeout=timeout)

    runner.run_sync(done(), timeout + 1)
