"""Join links for a classroom network: this machine's addresses, with a QR code.

A teacher who runs ``python -m labkit serve chat --host 0.0.0.0`` (or
``labkit.start(..., host="0.0.0.0")`` in a notebook) shares the room with
everyone on the network. ``0.0.0.0`` is not an address anyone can type: the
students need one of this machine's real addresses. :func:`join_links` lists
them (``http://ADDR:PORT/``), and :func:`qr_text` / :class:`JoinLinks` show
each with a QR code for phones, in a terminal and in a notebook.
"""

from __future__ import annotations

import array
import ipaddress
import socket
import struct
from collections.abc import Iterable
from dataclasses import dataclass

from .i18n import _

__all__ = ["WILDCARDS", "JoinLinks", "interface_addresses", "join_links", "qr_text"]

#: Bind addresses that mean "every interface".
WILDCARDS = frozenset({"", "0.0.0.0", "::"})

_SIOCGIFCONF = 0x8912  # Linux: the list of interfaces with their IPv4 addresses


def _linux_addresses() -> list[str]:
    """IPv4 addresses of every interface that is up, from the kernel (Linux)."""
    try:
        import fcntl
    except ImportError:  # Windows
        return []
    size = 128 * 40  # room for 128 interfaces (struct ifreq is 40 bytes on 64-bit)
    buffer = array.array("B", b"\0" * size)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        address, _ = buffer.buffer_info()
        request = struct.pack("iL", size, address)
        length = struct.unpack("iL", fcntl.ioctl(probe.fileno(), _SIOCGIFCONF, request))[0]
    data = buffer.tobytes()[:length]
    return [socket.inet_ntoa(data[i + 20 : i + 24]) for i in range(0, length, 40)]


def _resolver_addresses() -> list[str]:
    """This host name's addresses, as the resolver knows them (any system)."""
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)
    except OSError:
        return []
    return [str(info[4][0]) for info in infos]


def interface_addresses() -> list[str]:
    """This machine's IPv4 addresses that others could reach: no loopback, no duplicates."""
    found: list[str] = []
    for source in (_linux_addresses, _resolver_addresses):
        try:
            found += source()
        except OSError:  # not Linux, or no permission: the next source may know
            continue
    unique = dict.fromkeys(a for a in found if not ipaddress.ip_address(a).is_loopback)
    return list(unique)


def join_links(port: int, path: str = "/", host: str = "0.0.0.0") -> list[str]:
    """The URLs students can open: one per address of this machine, never ``0.0.0.0``.

    Args:
        port: the server's port.
        path: the page's path (``/`` for the main room).
        host: the address the server is bound to; a specific one is its only link.
    """
    addresses = interface_addresses() if host in WILDCARDS else [host]
    return [f"http://{address}:{port}{path}" for address in addresses]


def qr_text(url: str) -> str:
    """``url`` as a QR code drawn with block characters, for a terminal."""
    import io

    import segno

    out = io.StringIO()
    segno.make(url, error="m").terminal(out=out, compact=True, border=2)
    return out.getvalue()


@dataclass(frozen=True)
class JoinLinks:
    """Join links with QR codes; shows as HTML (with SVG codes) in a notebook."""

    links: tuple[str, ...]

    @classmethod
    def for_server(cls, port: int, path: str = "/", host: str = "0.0.0.0") -> JoinLinks:
        """The links of a server bound to ``host`` on ``port``."""
        return cls(tuple(join_links(port, path, host)))

    def _repr_html_(self) -> str:
        import html

        import segno

        if not self.links:
            found_none = _("No network address found: is this machine on a network?")
            return f"<p>{html.escape(found_none)}</p>"
        items = "".join(
            "<figure style='display:inline-block;margin:0 1em;text-align:center'>"
            f"{segno.make(link, error='m').svg_inline(scale=3)}"
            f"<figcaption><a href='{html.escape(link)}' target='_blank'>"
            f"{html.escape(link)}</a></figcaption></figure>"
            for link in self.links
        )
        heading = html.escape(_("Students on this network join at:"))
        return f"<div><p>{heading}</p>{items}</div>"

    def __str__(self) -> str:
        return "\n".join(self.links)

    def terminal(self, with_qr: Iterable[str] | None = None) -> str:
        """What the CLI prints: every link, and a QR code for each (or those named)."""
        chosen = self.links if with_qr is None else tuple(with_qr)
        lines = [_("Students on this network join at:")]
        for link in self.links:
            lines.append(f"  {link}")
        for link in chosen:
            lines.append("")
            lines.append(link)
            lines.append(qr_text(link))
        return "\n".join(lines)
