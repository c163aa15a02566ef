"""A wire inspector: watch the bytes between a client and any WebSocket server.

The inspector is a TCP tap. Put it in front of a server, point clients at it,
and it forwards every byte both ways unchanged while showing what they mean:
the handshake heads (RFC 6455, section 4), then each frame with its FIN bit,
opcode, RSV bits, masking key, length and payload (section 5.2)::

    server = labkit.start(labkit.echo_app())
    tap = labkit.inspector.Inspector(target=server)
    handle = labkit.start(tap)                 # clients connect to handle.url
    tap.view()                                 # a live table in the notebook
    print(tap.text(last=20))                   # or plain text

Modules:

* :mod:`~labkit.inspector.records` - what was seen, as frozen values.
* :mod:`~labkit.inspector.decoder` - bytes to records, without I/O.
* :mod:`~labkit.inspector.store` - the last records, safe across threads.
* :mod:`~labkit.inspector.proxy` - the tap itself (a ``labkit.start`` servable).
* :mod:`~labkit.inspector.view` - the live ipywidgets table (loaded on use).
"""

from labkit.inspector.decoder import WireDecoder
from labkit.inspector.proxy import Inspector, InspectorListener, Target
from labkit.inspector.records import (
    ConnRecord,
    Direction,
    ErrorRecord,
    FrameRecord,
    HandshakeRecord,
    Record,
)
from labkit.inspector.store import RecordLog

__all__ = [
    "ConnRecord",
    "Direction",
    "ErrorRecord",
    "FrameRecord",
    "HandshakeRecord",
    "Inspector",
    "InspectorListener",
    "Record",
    "RecordLog",
    "Target",
    "WireDecoder",
]
