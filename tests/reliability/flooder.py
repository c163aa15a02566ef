"""A chat client that floods as fast as it can, in its own process: ``python -m`` this module.

Usage: ``python -m tests.reliability.flooder PORT SECONDS``. It joins the room,
writes public messages back to back without waiting for answers (reading only
to notice its close frame), and when the server closes it (1008, policy
violation) it connects and floods again, until SECONDS have passed. It prints
``flooding`` once the first flood is under way, and a JSON summary at the end.

A separate process gets its own interpreter lock, so the flood really competes
with the server for the machine, as a learner's runaway loop on another laptop
would.
"""

from __future__ import annotations

import json
import select
import socket
import sys
import time

from labkit.protocol import Frame, FrameParser, Opcode, parse_close
from tests.support import handshake_request, read_http_head

__all__ = ["flood"]

_MESSAGE = Frame.text('{"type":"message","text":"flood"}').serialize(mask=True)
_CHUNK = _MESSAGE * 256


def _open(port: int, name: str) -> tuple[socket.socket, bytes]:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(handshake_request(port))
    status, _, rest = read_http_head(sock)
    if status != 101:
        raise ConnectionError(f"handshake refused with {status}")
    join = json.dumps({"type": "join", "name": name})
    sock.sendall(Frame.text(join).serialize(mask=True))
    sock.setblocking(False)
    return sock, rest


def flood(port: int, seconds: float) -> dict[str, object]:
    """Flood the room on ``port`` for ``seconds``; return what happened."""
    deadline = time.monotonic() + seconds
    cycles = sent = 0
    codes: dict[str, int] = {}
    announced = False
    while time.monotonic() < deadline:
        try:
            sock, rest = _open(port, f"flood{cycles}")
        except OSError:
            continue
        parser = FrameParser(mask=False)
        pending = parser.feed(rest)
        out = memoryview(_CHUNK)
        closed = False
        try:
            while not closed and time.monotonic() < deadline:
                readable, writable, _ = select.select([sock], [sock], [], 0.2)
                if readable:
                    data = sock.recv(1 << 16)
                    if not data:
                        break
                    pending += parser.feed(data)
                for frame in pending:
                    if frame.opcode is Opcode.CLOSE:
                        code = str(parse_close(frame.payload)[0])
                        codes[code] = codes.get(code, 0) + 1
                        closed = True
                pending = []
                if writable and not closed:
                    n = sock.send(out)
                    sent += n
                    out = out[n:] if n < len(out) else memoryview(_CHUNK)
                    if not announced:
                        print("flooding", flush=True)
                        announced = True
        except OSError:
            pass  # reset by the server: flood again
        finally:
            sock.close()
        cycles += 1
    return {"connections": cycles, "frames_sent": sent // len(_MESSAGE), "close_codes": codes}


if __name__ == "__main__":
    summary = flood(int(sys.argv[1]), float(sys.argv[2]))
    print(json.dumps(summary), flush=True)
