"""A link to a kit server that works from the learner's browser, wherever Jupyter runs.

A server started in a notebook listens on the *kernel's* machine, on
``127.0.0.1``. On a laptop the browser is there too; on JupyterHub, Binder or
a remote server it is not, and ``http://127.0.0.1:PORT/`` points at the
learner's own machine. jupyter-server-proxy reaches the kernel's ports through
Jupyter's own URL, ``{base_url}proxy/PORT/``, with the Jupyter login.

Only the browser knows that base URL for sure (JupyterLab's ``PageConfig``
reads it from the page's ``jupyter-config-data``), so the URL is computed
there, by a small anywidget:

1. the browser reports its ``location.host`` and the base URL over the
   widget's comm, a channel only the logged-in learner's browser has;
2. the kernel lets its servers answer to that host name
   (:func:`labkit.hosts.allow_public_hosts`) under each server's secret path,
   and says so;
3. the browser then shows the link and, if asked, the embedded page.

Why anywidget: its JavaScript ships inside this module, and its prebuilt
front-end extension installs with ``pip`` in JupyterLab, Notebook 7, VS Code
and Colab; a custom ipywidget would need a front-end build of its own, and a
``<script>`` in HTML output runs only in trusted notebooks.
"""

from __future__ import annotations

import importlib.util
import os
import urllib.parse
from typing import Any

import anywidget
import traitlets

from ..hosts import allow_public_hosts
from ..i18n import _, get_language
from ..protocol.policy import is_loopback

__all__ = ["PageLink", "proxy_available", "with_language"]

_ESM = r"""
function configured() {
  const data = document.getElementById("jupyter-config-data");
  if (!data) return null;
  try { return JSON.parse(data.textContent).baseUrl || null; } catch (e) { return null; }
}

function local(host) {
  const name = host.replace(/:\d+$/, "").replace(/^\[|\]$/g, "");
  return name === "localhost" || name === "::1" || /^127\./.test(name);
}

function target(model) {
  const q = model.get("query");
  const url = where(model);
  return url === null || !q ? url : `${url}?${q}`;
}

function where(model) {
  const port = model.get("port"), secret = model.get("secret_path");
  const base = configured() || model.get("fallback_base");
  if (base && model.get("proxy")) {
    const root = base.endsWith("/") ? base : base + "/";
    return `${location.origin}${root}proxy/${port}${secret}`;
  }
  if (local(location.host)) return `http://127.0.0.1:${port}/`;
  return null;
}

function render({ model, el }) {
  el.classList.add("labkit-page-link");
  const line = document.createElement("div");
  const frame = document.createElement("iframe");
  frame.style.cssText = "width:100%;border:1px solid #ccc;box-sizing:border-box";
  frame.title = model.get("frame_title");
  el.append(line);

  function draw() {
    const url = target(model);
    line.textContent = "";
    if (url === null) {
      line.textContent = model.get("unreachable");
      frame.remove();
      return;
    }
    if (!local(location.host) && model.get("allowed_host") !== location.host) {
      line.textContent = model.get("waiting");  // for the kernel to accept this host name
      return;
    }
    const a = document.createElement("a");
    a.href = url; a.target = "_blank"; a.rel = "noopener";
    a.textContent = url;
    line.append(model.get("label") + " ", a);
    if (model.get("embed")) {
      frame.style.height = model.get("height");
      if (frame.src !== url) frame.src = url;
      if (!frame.isConnected) el.append(frame);
    }
    if (model.get("url") !== url) { model.set("url", url); model.save_changes(); }
  }

  model.on("change:allowed_host", draw);
  model.on("change:port", draw);
  model.on("change:secret_path", draw);
  model.set("browser_host", location.host);
  model.set("base_url", configured() || "");
  model.save_changes();
  draw();
}
export default { render };
"""


def proxy_available() -> bool:
    """Is jupyter-server-proxy installed where this kernel runs (usually Jupyter's own env)?"""
    return importlib.util.find_spec("jupyter_server_proxy") is not None


def with_language(query: str) -> str:
    """``query`` plus ``lang=`` when the kit speaks other than English.

    The page then speaks the lesson's language (a Chinese lesson embeds a
    Chinese page in an English browser), unless its reader chose one with the
    page's own switch. An explicit ``lang=`` in ``query`` is kept.
    """
    params = urllib.parse.parse_qsl(query, keep_blank_values=True)
    language = get_language()
    if language == "en" or any(key == "lang" for key, _value in params):
        return query
    return urllib.parse.urlencode([*params, ("lang", language)])


class PageLink(anywidget.AnyWidget):
    """The page of a kit server, linked (and embedded) so the learner's browser reaches it.

    Args:
        server: a running :class:`~labkit.runner.ServerHandle` with HTTP pages
            (``labkit.start(labkit.chat_app())``).
        embed: also show the page in a frame below the link.
        height: the frame's CSS height.
        label: the text before the link (default: "Open the page:", in the
            language the kit speaks).
        query: a query string for the page, without ``?`` (``name=visitor``).

    Every text the browser shows comes from here, translated in the kernel when
    the widget is made: the script in the browser has no words of its own.

    Attributes:
        url: the URL the browser computed (empty until the widget is shown).
    """

    _esm = _ESM
    port = traitlets.Int().tag(sync=True)
    secret_path = traitlets.Unicode("/").tag(sync=True)
    proxy = traitlets.Bool(False).tag(sync=True)
    fallback_base = traitlets.Unicode("").tag(sync=True)
    embed = traitlets.Bool(True).tag(sync=True)
    height = traitlets.Unicode("420px").tag(sync=True)
    label = traitlets.Unicode("").tag(sync=True)
    query = traitlets.Unicode("").tag(sync=True)
    #: The line shown instead of the link when this browser cannot reach the port.
    unreachable = traitlets.Unicode().tag(sync=True)
    #: The line shown while the kernel learns the browser's host name.
    waiting = traitlets.Unicode("…").tag(sync=True)
    #: The embedded frame's title (what a screen reader says).
    frame_title = traitlets.Unicode("").tag(sync=True)
    #: What the browser reports: its ``location.host`` and Jupyter's base URL.
    browser_host = traitlets.Unicode("").tag(sync=True)
    base_url = traitlets.Unicode("").tag(sync=True)
    #: The host name the kernel's servers now answer to (the browser waits for it).
    allowed_host = traitlets.Unicode("").tag(sync=True)
    url = traitlets.Unicode("").tag(sync=True)

    def __init__(
        self,
        server: Any,
        *,
        embed: bool = True,
        height: str = "420px",
        label: str | None = None,
        query: str = "",
        **kwargs: Any,
    ) -> None:
        super().__init__(
            port=server.port,
            secret_path=getattr(server.app, "secret_path", "/"),
            proxy=proxy_available(),
            fallback_base=os.environ.get("JUPYTERHUB_SERVICE_PREFIX", ""),
            embed=embed,
            height=height,
            label=_("Open the page:") if label is None else label,
            query=with_language(query),
            unreachable=_(
                "This browser cannot reach port {port} of the kernel's machine: "
                "install jupyter-server-proxy where Jupyter runs (pip install "
                "jupyter-server-proxy, then restart Jupyter), or forward the port."
            ).format(port=server.port),
            frame_title=_("labkit page"),
            **kwargs,
        )
        self.server = server

    @traitlets.observe("browser_host")
    def _learn_host(self, change: dict[str, Any]) -> None:
        host = str(change["new"]).strip()
        if not host:
            return
        if not is_loopback(host.rsplit(":", 1)[0].strip("[]")):
            # The comm is authenticated: only the logged-in learner's browser
            # talks to this kernel. Never learned from HTTP headers.
            allow_public_hosts([host])
        self.allowed_host = host
