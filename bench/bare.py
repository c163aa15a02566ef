"""The references: the same jobs done on plain ``websockets``, without the kit.

Each benchmark scenario also runs against one of these, in the same run, so
the kit's figures come as ratios to what the library underneath it can do:

* :func:`bare_echo`: ``async for message in ws: await ws.send(message)``;
* :func:`bare_room`: a minimal chat room speaking the kit's JSON wire protocol
  (:mod:`labkit.chat.protocol`): join answers a welcome and tells the others,
  a message goes to every other member with
  :func:`websockets.asyncio.server.broadcast`, a close tells the others.

No validation, no rate limits, no history, no middleware, no logging:
compression off (``compression=None``), as in the kit.
"""

from __future__ import annotations

import json
import time

from websockets.asyncio.server import Server, ServerConnection, broadcast, serve
from websockets.exceptions import ConnectionClosed

__all__ = ["bare_echo", "bare_room"]

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


async def _echo(ws: ServerConnection) -> None:
    async for message in ws:
        await ws.send(message)


async def bare_echo(host: str = "127.0.0.1", port: int = 0) -> Server:
    """Serve the bare echo on the running loop."""
    return await serve(_echo, host, port, compression=None)


async def bare_room(host: str = "127.0.0.1", port: int = 0) -> Server:
    """Serve the bare chat room on the running loop."""
    members: dict[ServerConnection, str] = {}

    def others(me: ServerConnection) -> list[ServerConnection]:
        return [ws for ws in members if ws is not me]

    async def handler(ws: ServerConnection) -> None:
        name: str | None = None
        try:
            async for frame in ws:
                msg = json.loads(frame)
                kind = msg.get("type")
                if kind == "join" and name is None:
                    name = str(msg["name"]).strip()
                    members[ws] = name
                    head = _dumps(
                        {"type": "welcome", "name": name, "users": list(members.values())}
                    )
                    await ws.send(head[:-1] + ',"history":[]}')
                    notice = {"type": "join", "name": name, "count": len(members)}
                    broadcast(others(ws), _dumps(notice))
                elif kind == "message" and name is not None:
                    ts = round(time.time(), 3)
                    event = {"type": "message", "from": name, "text": msg["text"], "ts": ts}
                    broadcast(others(ws), _dumps(event))
        except ConnectionClosed:
            pass
        finally:
            if members.pop(ws, None) is not None:
                broadcast(members, _dumps({"type": "leave", "name": name, "count": len(members)}))

    return await serve(handler, host, port, compression=None)
