"""Drive a real JupyterLab from tests: start it, run notebooks, poke at widgets.

Everything here talks to Lab the way a learner's browser does; nothing is
mocked. The functions are plain helpers so that any browser test can import
them (from a test module in this folder)::

    from .helpers import fill_and_click, run_notebook, wait_for_text
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    from playwright.sync_api import Page

__all__ = [
    "Lab",
    "LabStartError",
    "NotebookRun",
    "fill_and_click",
    "kernel_execute",
    "run_notebook",
    "start_lab",
    "wait_for_text",
]

#: Lab settings that make every run look the same: all cells attached to the
#: DOM (so each can be inspected), no autosave into the copies, and no news or
#: update prompts, which would need the network and pop up over the notebook.
USER_SETTINGS: dict[str, dict[str, Any]] = {
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    "@jupyterlab/apputils-extension/notification": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}


class LabStartError(RuntimeError):
    """JupyterLab did not come up (its log tail is in the message)."""


@dataclass
class Lab:
    """A running JupyterLab server on 127.0.0.1 without a token.

    Attributes:
        url: the server's base URL, ending in ``/`` (``lab.url + "lab"`` is the app).
        root_dir: the folder Lab serves, holding copies of the kit's notebooks.
        log_path: where the server's output goes.
        process: the ``jupyter lab`` process.
    """

    url: str
    root_dir: Path
    log_path: Path
    process: subprocess.Popen[bytes]
    _log: IO[bytes] | None = field(default=None, repr=False)

    def api(self, method: str, path: str, body: Any = None, timeout: float = 10.0) -> Any:
        """Call Lab's REST API (``path`` like ``"api/sessions"``) and decode the JSON answer."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
        return json.loads(raw) if raw else None

    def shutdown_kernels(self) -> None:
        """Stop every notebook session, so kernels (and their servers) never pile up."""
        for session in self.api("GET", "api/sessions"):
            self.api("DELETE", f"api/sessions/{session['id']}")

    def stop(self, timeout: float = 15.0) -> None:
        """Shut the server down: politely through the API, then terminate, then kill."""
        if self.process.poll() is None:
            # A server already going away may not answer; the signals below make sure.
            with contextlib.suppress(OSError, urllib.error.URLError):
                self.api("POST", "api/shutdown", timeout=5.0)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.terminate()
                try:
                    self.process.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(timeout=timeout)
        if self._log is not None:
            self._log.close()

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of the server log, for error messages."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def _write_user_settings(settings_dir: Path) -> None:
    for plugin, values in USER_SETTINGS.items():
        target = settings_dir / f"{plugin}.jupyterlab-settings"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values), encoding="utf-8")


def _isolated_env(base: Path) -> dict[str, str]:
    """Environment with Jupyter's user folders in ``base``, so no personal config leaks in.

    The venv's ``share/jupyter`` stays on the data path (it is not a user
    folder), which is where the ``python3`` kernel of this venv lives.
    """
    env = dict(os.environ)
    for var, sub in (
        ("JUPYTER_CONFIG_DIR", "config"),
        ("JUPYTER_DATA_DIR", "data"),
        ("JUPYTER_RUNTIME_DIR", "runtime"),
        ("IPYTHONDIR", "ipython"),
    ):
        path = base / sub
        path.mkdir(parents=True, exist_ok=True)
        env[var] = str(path)
    env.pop("JUPYTER_PATH", None)
    env.pop("JUPYTER_CONFIG_PATH", None)
    env["JUPYTER_PREFER_ENV_PATH"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    return env


_KERNEL_PROBE = """
import json
from jupyter_client.kernelspec import KernelSpecManager
spec = KernelSpecManager().get_kernel_spec("python3")
print(json.dumps({"resource_dir": spec.resource_dir, "argv0": spec.argv[0]}))
"""


def _check_kernel(probe: subprocess.Popen[str]) -> None:
    """Fail unless the ``python3`` kernel Lab will launch is this venv's Python.

    ``jupyter_client`` replaces a bare ``python`` in a kernelspec with the
    server's own interpreter, which is ``sys.executable`` here.
    """
    out, err = probe.communicate(timeout=60)
    if probe.returncode != 0:
        raise LabStartError(f"cannot resolve the python3 kernel:\n{err}")
    spec = json.loads(out)
    argv0 = spec["argv0"]
    bare = {"python", f"python{sys.version_info[0]}", "python{}.{}".format(*sys.version_info)}
    executable = sys.executable if argv0 in bare else argv0
    if Path(executable).absolute() != Path(sys.executable).absolute():
        raise LabStartError(
            f"the python3 kernel runs {executable}, not {sys.executable} "
            f"(kernelspec in {spec['resource_dir']})"
        )


def start_lab(base: Path, notebooks_dir: Path, log_path: Path, *, timeout: float = 90.0) -> Lab:
    """Start ``jupyter lab`` on a free port over copies of the kit's notebooks.

    Args:
        base: an empty temporary folder for Lab's files and config.
        notebooks_dir: the repository's notebooks; they are copied, never served
            in place, so Lab can never write into the repository.
        log_path: file that receives the server's output.
        timeout: seconds to wait for ``/api/status`` to answer.

    Returns:
        The running :class:`Lab`; call :meth:`Lab.stop` when done.

    Raises:
        LabStartError: the server exited or did not answer in time.
    """
    root = base / "root"
    if notebooks_dir.is_dir():
        shutil.copytree(
            notebooks_dir,
            root,
            ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"),
        )
    else:
        root.mkdir(parents=True)
    settings_dir = base / "user-settings"
    _write_user_settings(settings_dir)
    env = _isolated_env(base)
    probe = subprocess.Popen(
        [sys.executable, "-c", _KERNEL_PROBE],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    command = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        "--ServerApp.port=0",  # the system picks a free port; read back from the runtime file
        "--ServerApp.port_retries=0",
        "--IdentityProvider.token=",
        "--ServerApp.password=",
        # No token means no XSRF cookie for the REST calls the tests make from Python.
        "--ServerApp.disable_check_xsrf=True",
        "--ServerApp.terminals_enabled=False",
        f"--ServerApp.root_dir={root}",
        "--LabApp.expose_app_in_browser=True",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        f"--LabApp.user_settings_dir={settings_dir}",
        f"--LabApp.workspaces_dir={base / 'workspaces'}",
        "--LabApp.extension_manager=readonly",  # never ask PyPI for extensions
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # containers often run as root
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = log_path.open("wb")
    process = subprocess.Popen(
        command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
    )
    lab = Lab(url="", root_dir=root, log_path=log_path, process=process, _log=log)
    try:
        _check_kernel(probe)
        lab.url = _wait_until_ready(lab, Path(env["JUPYTER_RUNTIME_DIR"]), timeout)
    except BaseException:
        lab.stop()
        raise
    return lab


def _wait_until_ready(lab: Lab, runtime_dir: Path, timeout: float) -> str:
    """Poll the runtime file for the port, then ``/api/status``, until the deadline.

    Between polls the wait is on the process itself, so a crash is noticed at once.
    """
    deadline = time.monotonic() + timeout
    url = ""
    while time.monotonic() < deadline:
        if not url:
            for info_file in runtime_dir.glob("jpserver-*.json"):
                try:
                    info = json.loads(info_file.read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    continue  # written but not flushed yet
                url = f"http://127.0.0.1:{info['port']}/"
        if url:
            try:
                with urllib.request.urlopen(url + "api/status", timeout=2) as response:
                    if response.status == 200:
                        return url
            except (OSError, urllib.error.URLError):
                pass  # not listening yet
        try:
            code = lab.process.wait(timeout=0.2)
        except subprocess.TimeoutExpired:
            continue
        raise LabStartError(f"jupyter lab exited with {code}:\n{lab.log_tail()}")
    raise LabStartError(f"jupyter lab did not answer within {timeout:.0f}s:\n{lab.log_tail()}")


@dataclass(frozen=True)
class NotebookRun:
    """What happened when a notebook ran top to bottom in Lab.

    Attributes:
        name: the notebook's path relative to Lab's root.
        cells: number of cells of any kind.
        code_cells: number of non-empty code cells.
        not_run: indexes of non-empty code cells left without an execution count.
        errors: one line per problem ("cell 3: ValueError: ...").
        seconds: wall time from opening the notebook to the last cell finishing.
        screenshot: the full-page screenshot saved after the run.
    """

    name: str
    cells: int
    code_cells: int
    not_run: tuple[int, ...]
    errors: tuple[str, ...]
    seconds: float
    screenshot: Path | None

    @property
    def ok(self) -> bool:
        """True when every code cell ran and nothing went wrong."""
        return not self.errors and not self.not_run


# Finds the notebook panel of a path among Lab's main-area widgets.
_FIND_PANEL = """
const findPanel = (path) => {
  const app = window.jupyterapp;
  if (!app || !app.shell) return null;
  for (const w of app.shell.widgets('main')) {
    if (w.context && w.context.path === path && w.content && w.sessionContext) return w;
  }
  return null;
};
"""

_READY = (
    "(path) => {"
    + _FIND_PANEL
    + """
  if (document.querySelector('.jp-Dialog')) return 'dialog';
  const panel = findPanel(path);
  if (!panel || !panel.context.isReady || !panel.sessionContext.isReady) return false;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  return !!kernel && kernel.status === 'idle' && kernel.connectionStatus === 'connected';
}"""
)

_RUN_ALL = (
    "(path) => {"
    + _FIND_PANEL
    + """
  const panel = findPanel(path);
  window.jupyterapp.shell.activateById(panel.id);
  window.__labkitRun = {done: false};
  window.jupyterapp.commands.execute('notebook:run-all-cells').then(
    (ok) => { window.__labkitRun = {done: true, ok: ok}; },
    (err) => { window.__labkitRun = {done: true, ok: false, error: String(err)}; });
}"""
)

_FINISHED = (
    "(path) => {"
    + _FIND_PANEL
    + """
  const run = window.__labkitRun;
  if (!run || !run.done) return false;
  const panel = findPanel(path);
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  if (!kernel || kernel.status !== 'idle') return false;
  for (const prompt of panel.node.querySelectorAll('.jp-CodeCell .jp-InputPrompt')) {
    if (prompt.textContent.includes('*')) return false;
  }
  // Widget views render after their output arrives: wait for them to settle.
  for (const out of panel.node.querySelectorAll('.jp-OutputArea-output')) {
    if (out.textContent.trim() === 'Loading widget...') return false;
  }
  return true;
}"""
)

_COLLECT = (
    "(path) => {"
    + _FIND_PANEL
    + """
  const panel = findPanel(path);
  const result = {cells: 0, code: 0, notRun: [], errors: []};
  if (window.__labkitRun && window.__labkitRun.error) {
    result.errors.push('run-all failed: ' + window.__labkitRun.error);
  }
  const lastLine = (text) => text.trim().split('\\n').filter((l) => l.trim()).pop() || '';
  panel.content.widgets.forEach((cell, i) => {
    result.cells += 1;
    if (cell.model.type !== 'code') return;
    const tags = cell.model.getMetadata('tags') || [];
    const expectError = tags.includes('raises-exception');
    if (cell.model.sharedModel.getSource().trim()) {
      result.code += 1;
      if (cell.model.executionCount === null) result.notRun.push(i);
    }
    const found = [];
    const outputs = cell.model.outputs;
    for (let j = 0; j < outputs.length; j++) {
      const out = outputs.get(j).toJSON();
      if (out.output_type === 'error' && !expectError) {
        found.push(`cell ${i}: ${out.ename}: ${out.evalue}`);
      }
    }
    const stderr = '.jp-RenderedText[data-mime-type="application/vnd.jupyter.stderr"]';
    for (const node of cell.node.querySelectorAll(stderr)) {
      // Catches tracebacks printed by threads and widget callbacks, not only cell errors.
      if (!expectError && found.length === 0 && node.textContent.includes('Traceback')) {
        found.push(`cell ${i}: traceback on stderr: ${lastLine(node.textContent)}`);
      }
    }
    for (const node of cell.node.querySelectorAll('.jp-OutputArea-output')) {
      if (node.textContent.includes('Error displaying widget')) {
        found.push(`cell ${i}: ${lastLine(node.textContent)}`);
      }
    }
    result.errors.push(...found);
  });
  return result;
}"""
)

# Window height at which the whole notebook fits: the bottom of the last cell,
# as if scrolled to the top, plus whatever Lab draws below the notebook.
_CONTENT_HEIGHT = (
    "(path) => {"
    + _FIND_PANEL
    + """
  const panel = findPanel(path);
  const notebook = panel.content.node;
  const scroller = notebook.querySelector('.jp-WindowedPanel-outer') || notebook;
  const cells = panel.content.widgets;
  if (!cells.length) return window.innerHeight;
  const bottom = cells[cells.length - 1].node.getBoundingClientRect().bottom + scroller.scrollTop;
  scroller.scrollTop = 0;  // the screenshot shows the notebook from its first cell
  return bottom + (window.innerHeight - scroller.getBoundingClientRect().bottom) + 24;
}"""
)

_NEXT_FRAME = "() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))"


def _ms(deadline: float) -> float:
    return max(1.0, (deadline - time.monotonic()) * 1000)


def run_notebook(
    page: Page,
    lab: Lab,
    name: str,
    timeout: float = 120.0,
    screenshot_dir: Path | None = None,
) -> NotebookRun:
    """Open a notebook in Lab, run all cells, and report what went wrong.

    The kernel is left running so the test can go on to drive the widgets;
    the ``lab`` fixture shuts kernels down after each test.

    Args:
        page: a Playwright page (the ``page`` fixture).
        lab: the running Lab (the ``lab`` fixture).
        name: notebook path relative to ``lab.root_dir``.
        timeout: seconds for the whole open-run-collect sequence.
        screenshot_dir: where to save ``<notebook stem>.png``; none if ``None``.

    Returns:
        A :class:`NotebookRun`; ``.ok`` is true when every code cell ran cleanly.
    """
    start = time.monotonic()
    deadline = start + timeout
    page.goto(lab.url + "lab/tree/" + quote(name) + "?reset", timeout=_ms(deadline))
    while True:
        state = page.wait_for_function(_READY, arg=name, timeout=_ms(deadline)).json_value()
        if state != "dialog":
            break
        # A notebook without a kernelspec asks which kernel to use; the default is python3.
        page.locator(".jp-Dialog .jp-mod-accept").click(timeout=_ms(deadline))
        page.locator(".jp-Dialog").wait_for(state="detached", timeout=_ms(deadline))
    page.evaluate(_RUN_ALL, name)
    page.wait_for_function(_FINISHED, arg=name, timeout=_ms(deadline), polling=100)
    seconds = time.monotonic() - start
    found = page.evaluate(_COLLECT, name)
    shot = None
    if screenshot_dir is not None:
        shot = screenshot_dir / f"{Path(name).stem}.png"
        _full_screenshot(page, name, shot)
    return NotebookRun(
        name=name,
        cells=found["cells"],
        code_cells=found["code"],
        not_run=tuple(found["notRun"]),
        errors=tuple(found["errors"]),
        seconds=seconds,
        screenshot=shot,
    )


def _full_screenshot(page: Page, name: str, path: Path) -> None:
    """Screenshot the whole notebook: Lab scrolls inside a fixed window, so grow the window."""
    size = page.viewport_size or {"width": 1280, "height": 900}
    height = min(int(page.evaluate(_CONTENT_HEIGHT, name)), 16000)
    if height > size["height"]:
        page.set_viewport_size({"width": size["width"], "height": height})
        page.evaluate(_NEXT_FRAME)
    page.screenshot(path=str(path), full_page=True)
    if height > size["height"]:
        page.set_viewport_size(size)
        page.evaluate(_NEXT_FRAME)


def fill_and_click(
    page: Page,
    container_selector: str,
    text: str,
    button: str | None = None,
    timeout: float = 10.0,
) -> None:
    """Type into the text box of a widget panel, then click one of its buttons.

    The panel is found by a CSS selector; ipywidgets' ``add_class("lk-chat")``
    puts that class on the widget's DOM node, so ``".lk-chat"`` finds it.

    Args:
        page: the Playwright page.
        container_selector: CSS selector of the panel (e.g. ``".lk-chat"``).
        text: what to type into the panel's first ``input`` or ``textarea``.
        button: the button's description (its visible text); the panel's only
            button when ``None``.
        timeout: seconds to wait for each element.
    """
    panel = page.locator(container_selector).first
    box = panel.locator("input[type=text], input:not([type]), textarea").first
    box.fill(text, timeout=timeout * 1000)
    buttons = panel.locator("button")
    target = buttons if button is None else buttons.filter(has_text=button)
    target.first.click(timeout=timeout * 1000)


def wait_for_text(page: Page, selector: str, text: str, timeout: float = 10.0) -> None:
    """Wait until an element matching ``selector`` contains ``text``.

    Raises:
        AssertionError: the text did not appear in time (Playwright says what it saw).
    """
    from playwright.sync_api import expect

    expect(page.locator(selector).filter(has_text=text).first).to_contain_text(
        text, timeout=timeout * 1000
    )


_EXECUTE = (
    "async ([path, code]) => {"
    + _FIND_PANEL
    + """
  const kernel = findPanel(path).sessionContext.session.kernel;
  const future = kernel.requestExecute({code, stop_on_error: true});
  let error = null;
  future.onIOPub = (msg) => {
    if (msg.header.msg_type === 'error') error = msg.content.ename + ': ' + msg.content.evalue;
  };
  const reply = await future.done;
  return error || reply.content.status;
}"""
)


def kernel_execute(page: Page, name: str, code: str) -> None:
    """Run ``code`` in the kernel of the open notebook ``name``, as a hidden cell would.

    Raises:
        AssertionError: the code raised in the kernel (its error is the message).
    """
    status = page.evaluate(_EXECUTE, [name, code])
    assert status == "ok", f"kernel code failed: {status}\n{code}"
