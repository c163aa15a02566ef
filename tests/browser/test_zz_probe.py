"""THROWAWAY harness probe (to be removed)."""

from __future__ import annotations
import time
import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from playwright.sync_api import expect
from .helpers import fill_and_click, run_notebook, wait_for_text

KS = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}

GOOD = [
    new_markdown_cell("# probe"),
    new_code_cell("""import threading, ipywidgets as W
slider = W.IntSlider(value=3, description='n')
label = W.Label('waiting')
label.add_class('lk-probe-label')
ev = threading.Event()
def worker():
    if ev.wait(20):
        label.value = 'set from thread'
threading.Thread(target=worker, daemon=True).start()
W.VBox([slider, label])"""),
    new_code_cell("ev.set()"),
    new_code_cell(""),
    new_code_cell("""text = W.Text()
btn = W.Button(description='Send')
log = W.Label('')
btn.on_click(lambda b: setattr(log, 'value', 'got ' + text.value))
form = W.HBox([text, btn, log]).add_class('lk-probe-form')
form"""),
    new_code_cell("import warnings; warnings.warn('just a warning')"),
    new_code_cell("raise RuntimeError('expected')", metadata={"tags": ["raises-exception"]}),
    new_code_cell("print('after the expected error')"),
]
BAD = [
    new_code_cell("""from IPython.display import display
display({'application/vnd.jupyter.widget-view+json': {'model_id': 'nope', 'version_major': 2, 'version_minor': 0}}, raw=True)"""),
    new_code_cell("""import threading
t = threading.Thread(target=lambda: 1/0); t.start(); t.join()"""),
    new_code_cell("raise ValueError('boom')"),
    new_code_cell("print('never')"),
]


def _write(lab, name, cells):
    nb = new_notebook(cells=cells, metadata={"kernelspec": KS})
    nbformat.write(nb, lab.root_dir / name)


def test_good(page, lab, artifacts_dir):
    _write(lab, "probe_good.ipynb", GOOD)
    t0 = time.monotonic()
    run = run_notebook(page, lab, "probe_good.ipynb", screenshot_dir=artifacts_dir)
    print("good run", run, "total", time.monotonic() - t0)
    assert run.ok, run
    assert run.code_cells == 6 and run.cells == 8
    wait_for_text(page, ".lk-probe-label", "set from thread")
    expect(page.locator(".widget-slider").first).to_be_visible()
    expect(page.locator(".jupyter-widgets.widget-label").first).to_be_visible()
    assert page.get_by_text("Error displaying widget").count() == 0
    fill_and_click(page, ".lk-probe-form", "hello", "Send")
    wait_for_text(page, ".lk-probe-form", "got hello")


def test_bad(page, lab, artifacts_dir):
    _write(lab, "probe_bad.ipynb", BAD)
    run = run_notebook(page, lab, "probe_bad.ipynb", screenshot_dir=artifacts_dir)
    print("bad run", run)
    assert not run.ok
    assert run.not_run == (3,)
    assert any("ValueError: boom" in e for e in run.errors), run.errors
    assert any("Error displaying widget" in e for e in run.errors), run.errors
    assert any("cell 1" in e and "ZeroDivisionError" in e for e in run.errors), run.errors


def test_sessions_cleaned(lab):
    assert lab.api("GET", "api/sessions") == []


def test_no_kernelspec_and_many_cells(page, lab):
    nb = new_notebook(cells=[new_code_cell(f"print({i})\n" * 8) for i in range(60)])
    nbformat.write(nb, lab.root_dir / "nokernel.ipynb")
    run = run_notebook(page, lab, "nokernel.ipynb", screenshot_dir=None)
    print(run)
    assert run.ok and run.code_cells == 60
    assert page.locator(".jp-CodeCell .jp-OutputArea-output").count() == 60


def test_settings(page, lab):
    t = lab.api("GET", "lab/api/settings/@jupyterlab/notebook-extension:tracker")
    n = lab.api("GET", "lab/api/settings/@jupyterlab/apputils-extension:notification")
    print(t["settings"].get("windowingMode"), n["settings"])
    assert t["settings"]["windowingMode"] == "none"
