"""Drive a real JupyterLab from tests: run notebooks and cells, poke at widgets.

Everything here talks to Lab the way a learner's browser does; nothing is
mocked. The functions are plain helpers so that any browser test can import
them (from a test module in this folder)::

    from .helpers import fill_and_click, run_notebook, wait_for_text
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

# Starting Lab lives in lab.py; its names stay importable from here.
from .lab import (  # noqa: F401
    _KERNEL_PROBE,
    USER_SETTINGS,
    Lab,
    LabStartError,
    _check_kernel,
    _isolated_env,
    _write_user_settings,
    start_lab,
)

if TYPE_CHECKING:
    from playwright.sync_api import Page

__all__ = [
    "Lab",
    "LabStartError",
    "NotebookRun",
    "code_cell_index",
    "fill_and_click",
    "kernel_execute",
    "restart_kernel",
    "run_cell",
    "run_notebook",
    "screenshot_notebook",
    "start_lab",
    "wait_for_text",
]


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
    "([path, until]) => {"
    + _FIND_PANEL
    + """
  const panel = findPanel(path);
  window.jupyterapp.shell.activateById(panel.id);
  window.__labkitRun = {done: false};
  let command = 'notebook:run-all-cells';
  if (until !== null) {  // every cell above that one
    panel.content.activeCellIndex = until;
    command = 'notebook:run-all-above';
  }
  window.jupyterapp.commands.execute(command).then(
    (ok) => { window.__labkitRun = {done: true, ok: ok}; },
    (err) => { window.__labkitRun = {done: true, ok: false, error: String(err)}; });
}"""
)

_RUN_CELL = (
    "([path, index]) => {"
    + _FIND_PANEL
    + """
  const panel = findPanel(path);
  window.jupyterapp.shell.activateById(panel.id);
  panel.content.activeCellIndex = index;
  window.__labkitRun = {done: false};
  window.jupyterapp.commands.execute('notebook:run-cell').then(
    (ok) => { window.__labkitRun = {done: true, ok: ok}; },
    (err) => { window.__labkitRun = {done: true, ok: false, error: String(err)}; });
}"""
)

_CODE_CELL_INDEX = (
    "([path, needle]) => {"
    + _FIND_PANEL
    + """
  const cells = findPanel(path).content.widgets;
  return cells.findIndex((cell) =>
    cell.model.type === 'code' && cell.model.sharedModel.getSource().includes(needle));
}"""
)

_RESTART = (
    "async (path) => {"
    + _FIND_PANEL
    + """
  await findPanel(path).sessionContext.restartKernel();
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
    "([path, until]) => {"
    + _FIND_PANEL
    + """
  const panel = findPanel(path);
  const result = {cells: 0, code: 0, notRun: [], errors: []};
  if (window.__labkitRun && window.__labkitRun.error) {
    result.errors.push('run-all failed: ' + window.__labkitRun.error);
  }
  const lastLine = (text) => text.trim().split('\\n').filter((l) => l.trim()).pop() || '';
  panel.content.widgets.forEach((cell, i) => {
    if (until !== null && i >= until) return;
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
    until: str | None = None,
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
        until: run only the cells above the first code cell whose source holds
            this text (a clean-up cell, say); the report covers those cells.

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
    stop = None
    if until is not None:
        stop = code_cell_index(page, name, until)
        assert stop >= 0, f"{name} has no code cell holding {until!r}"
    page.evaluate(_RUN_ALL, [name, stop])
    page.wait_for_function(_FINISHED, arg=name, timeout=_ms(deadline), polling=100)
    seconds = time.monotonic() - start
    found = page.evaluate(_COLLECT, [name, stop])
    shot = None
    if screenshot_dir is not None:
        shot = screenshot_dir / f"{Path(name).stem}.png"
        screenshot_notebook(page, name, shot)
    return NotebookRun(
        name=name,
        cells=found["cells"],
        code_cells=found["code"],
        not_run=tuple(found["notRun"]),
        errors=tuple(found["errors"]),
        seconds=seconds,
        screenshot=shot,
    )


def code_cell_index(page: Page, name: str, needle: str) -> int:
    """The index of the first code cell of notebook ``name`` whose source holds ``needle``."""
    return int(page.evaluate(_CODE_CELL_INDEX, [name, needle]))


def run_cell(page: Page, name: str, needle: str, timeout: float = 60.0) -> None:
    """Run one cell of the open notebook as a learner does (select it, Shift+Enter).

    Args:
        needle: text in the cell's source (see :func:`code_cell_index`).

    Raises:
        AssertionError: the cell is not there, or it left an error output.
    """
    index = code_cell_index(page, name, needle)
    assert index >= 0, f"{name} has no code cell holding {needle!r}"
    page.evaluate(_RUN_CELL, [name, index])
    page.wait_for_function(_FINISHED, arg=name, timeout=timeout * 1000, polling=100)
    found = page.evaluate(_COLLECT, [name, index + 1])
    errors = [e for e in found["errors"] if e.startswith(f"cell {index}:")]
    assert not errors, errors


def restart_kernel(page: Page, name: str) -> None:
    """Restart the notebook's kernel (Kernel → Restart, without the dialog)."""
    page.evaluate(_RESTART, name)


def screenshot_notebook(page: Page, name: str, path: Path) -> None:
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
