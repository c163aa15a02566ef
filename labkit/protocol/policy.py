"""Who may open a WebSocket: the Host and Origin rules of a server, with no I/O.

RFC 6455, section 10.2: a browser sends the page's ``Origin`` with every
handshake, and "servers that are not intended to process input from any web
page but only for certain sites SHOULD verify the Origin field". Scripts and
the notebook's own clients send no Origin, so a missing one is accepted.

Two more rules guard a server that only this machine can reach:

* **Host is required** (RFC 6455, section 4.2.1, item 2; RFC 9112, section
  3.2): without one, the same-host Origin rule would compare against "".
* **DNS rebinding.** A page on ``evil.example`` can re-point its own name at
  ``127.0.0.1``; to the browser it is then "same host" with itself, Origin and
  Host agreeing. A server bound to loopback therefore answers only to this
  machine's own names (``localhost``, ``127.0.0.1``, ``::1``, the bound name).

:class:`RequestPolicy` holds a server's choice of these rules and raises
:class:`~labkit.errors.HandshakeError` (with the HTTP status to answer) when a
request breaks one. The Koa-style :class:`~labkit.app.App` and the from-scratch
:mod:`labkit.raw` server both ask it, so lesson 1's rules are the ones that
serve.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from labkit.errors import HandshakeError
from labkit.i18n import N_, _

__all__ = [
    "LOCAL_NAMES",
    "OriginRule",
    "RequestPolicy",
    "allowed_origins",
    "host_name",
    "is_loopback",
    "normal_host",
    "origin_host",
    "require_host",
]

#: The names a Host header may carry on a server bound to loopback.
LOCAL_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})

#: ``"same-host"``, a list of extra allowed origins, or ``None`` (no check).
OriginRule = str | Iterable[str] | None

_DEFAULT_PORTS = {"http": "80", "https": "443", "ws": "80", "wss": "443"}


def is_loopback(host: str) -> bool:
    """Is ``host`` reachable from this machine only (a loopback address, or localhost)?"""
    name = host.strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def host_name(host: str) -> str:
    """The name part of a ``Host`` header value: ``[::1]:80`` gives ``::1``."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def normal_host(host: str, scheme: str) -> str:
    """``Host`` as ``host:port`` in lower case, with the scheme's default port."""
    host = host.strip().lower()
    if not host:
        return ""
    if host.endswith("]") or ":" not in host.rsplit("]", 1)[-1]:
        host = f"{host}:{_DEFAULT_PORTS.get(scheme, '80')}"
    return host


def origin_host(origin: str) -> str:
    """The ``host:port`` an Origin names (RFC 6454), or ``""`` for ``null``."""
    split = urlsplit(origin.strip())
    if not split.scheme or not split.netloc:
        return ""
    return normal_host(split.netloc, split.scheme.lower())


def allowed_origins(origins: OriginRule) -> frozenset[str] | None:
    """The extra origins an :data:`OriginRule` allows (lower case), or ``None``: no check."""
    if origins is None:
        return None
    if isinstance(origins, str):
        if origins != "same-host":
            raise ValueError(
                _('origins is "same-host", a list of origins or None: {origins}').format(
                    origins=repr(origins)
                )
            )
        return frozenset()
    return frozenset(str(origin).lower() for origin in origins)


def require_host(host: str | None) -> str:
    """Return the stripped ``Host`` value, or refuse a request without one (400).

    RFC 6455, section 4.2.1, item 2: the handshake MUST have a ``Host`` header.
    """
    value = (host or "").strip()
    if not value:
        raise HandshakeError(N_("missing Host header"), header="Host")
    return value


@dataclass(frozen=True)
class RequestPolicy:
    """The Host and Origin rules one server applies to every handshake.

    Attributes:
        origins: ``None`` checks no Origin; otherwise the extra origins allowed
            (lower case) besides the same host.
        local_names: the only Host names accepted, or ``None`` for any
            (a server reachable from the network).
        public_hosts: names a loopback server also answers to, because a
            trusted source said the learner's browser reaches it under them
            (a proxy such as jupyter-server-proxy keeps the browser's Host).
            Learned from the notebook's own front end or from configuration,
            never from ``X-Forwarded-*`` headers, which anyone can send.
            Requests under such a name must carry the server's secret path
            (see :meth:`is_public`).
    """

    origins: frozenset[str] | None = frozenset()
    local_names: frozenset[str] | None = None
    public_hosts: frozenset[str] = frozenset()

    @classmethod
    def for_server(
        cls, bind_host: str, origins: OriginRule = "same-host", *, check_host: bool = True
    ) -> RequestPolicy:
        """The policy of a server bound to ``bind_host``.

        Args:
            bind_host: the interface the server listens on; a loopback one
                turns on the DNS-rebinding rule (when ``check_host``).
            origins: ``"same-host"`` (the default) accepts a browser Origin
                only when it names the host the browser connected to; a list
                adds more allowed origins; ``None`` turns the check off.
            check_host: ``False`` accepts any Host name, even on loopback.
        """
        local = None
        if check_host and is_loopback(bind_host):
            local = LOCAL_NAMES | {bind_host.strip("[]").lower()}
        return cls(allowed_origins(origins), local)

    def check_host(self, host: str | None) -> str:
        """Return the Host value, or raise: missing (400), or not a name of ours (403)."""
        value = require_host(host)
        if self.local_names is not None:
            name = host_name(value)
            if name not in self.local_names and name not in self.public_hosts:
                raise HandshakeError(
                    N_("Host {host} is not this server's name"),
                    header="Host",
                    status=403,
                    host=value,
                )
        return value

    def is_public(self, host: str) -> bool:
        """Does a checked ``host`` come through a public name (a proxy), not a local one?

        Such a request has crossed a machine that others share (a hub's proxy),
        so the server asks for its secret path too: on a hub where every user
        shares one loopback, a port alone is guessable.
        """
        return self.local_names is not None and host_name(host) not in self.local_names

    def with_public_hosts(self, hosts: Iterable[str]) -> RequestPolicy:
        """This policy, also answering to ``hosts`` (names, with or without a port)."""
        names = frozenset(host_name(h) for h in hosts if h.strip())
        return RequestPolicy(self.origins, self.local_names, self.public_hosts | names)

    def check_origin(self, origin: str | None, host: str) -> None:
        """Refuse (403) a browser Origin that is neither the same host nor allowed.

        RFC 6455, section 10.2; a missing Origin (not a browser) is accepted.
        """
        if self.origins is None or origin is None or origin.lower() in self.origins:
            return
        if origin_host(origin) == normal_host(host, urlsplit(origin).scheme.lower()):
            return
        raise HandshakeError(
            N_("Origin {origin} is not allowed to connect to this server"),
            header="Origin",
            status=403,
            origin=origin,
        )

    def check(self, host: str | None, origin: str | None) -> str:
        """Both rules, Host first; return the Host value."""
        value = self.check_host(host)
        self.check_origin(origin, value)
        return value
