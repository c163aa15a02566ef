"""Interop tests: labkit's servers driven by an independent Node.js client.

The client is the ``ws`` npm package (``package.json`` pins it, ``package-lock.json``
locks it), which shares no code with labkit or with the Python ``websockets``
library. Each suite (``echo_suite.mjs``, ``chat_suite.mjs``) runs all its cases
against one server URL and prints one JSON object::

    {"cases": [{"name": "text_echo", "ok": true, "detail": "..."}, ...]}

How to run::

    make setup            # runs `npm ci` in tests/interop
    .venv/bin/python -m pytest tests/interop -q

Without ``node`` or ``tests/interop/node_modules`` the tests are skipped, except
when ``CI=true``, where that is a failure (a green run must mean the client ran).

Fixtures:
    ``node_suite`` (session): a :class:`NodeSuite` that runs a suite against a URL
    and returns its :class:`SuiteReport`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

__all__ = ["INTEROP_DIR", "CaseResult", "NodeSuite", "SuiteReport", "node_suite"]

#: This folder: the suites, package.json and (after ``make setup``) node_modules.
INTEROP_DIR = Path(__file__).resolve().parent

_UNAVAILABLE = "Node interop client unavailable"
_INSTALL_HINT = "run `make setup` (needs Node.js 18+ and npm)"


@dataclass(frozen=True)
class CaseResult:
    """One case as the Node suite reported it."""

    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class SuiteReport:
    """Every case of one suite run, by name."""

    script: str
    url: str
    cases: dict[str, CaseResult]

    def assert_ok(self, name: str) -> None:
        """Fail with the suite's own detail unless case ``name`` ran and passed."""
        case = self.cases.get(name)
        if case is None:
            pytest.fail(f"{self.script} did not report case {name!r} against {self.url}")
        if not case.ok:
            pytest.fail(f"{self.script} {name} against {self.url}: {case.detail}", pytrace=False)


@dataclass(frozen=True)
class NodeSuite:
    """Runs ``node <script> <url> ...`` in this folder and parses its report."""

    node: str

    def run(self, script: str, *args: str, timeout: float = 90.0) -> SuiteReport:
        """Run one suite to completion.

        Args:
            script: file name of the suite in this folder, e.g. ``"echo_suite.mjs"``.
            *args: command-line arguments; the first is the server URL.
            timeout: seconds before the run is killed. The suites carry their own
                watchdog, so this only catches a Node process that will not exit.

        Returns:
            The parsed report. Failing cases are not raised here: each test
            asserts its own case, so a failure names the case.
        """
        command = [self.node, str(INTEROP_DIR / script), *args]
        try:
            done = subprocess.run(
                command, cwd=INTEROP_DIR, capture_output=True, text=True, timeout=timeout
            )
        except subprocess.TimeoutExpired as exc:
            pytest.fail(f"{script} did not finish within {timeout} s: {exc.stderr!r}")
        lines = [line for line in done.stdout.splitlines() if line.strip()]
        try:
            raw = json.loads(lines[-1])["cases"]
        except (IndexError, KeyError, TypeError, ValueError):
            pytest.fail(
                f"{script} exited {done.returncode} without a JSON report; "
                f"stdout={done.stdout[-2000:]!r} stderr={done.stderr[-2000:]!r}"
            )
        cases = {
            item["name"]: CaseResult(item["name"], bool(item["ok"]), str(item["detail"]))
            for item in raw
        }
        return SuiteReport(script=script, url=args[0] if args else "", cases=cases)


@pytest.fixture(scope="session")
def node_suite() -> NodeSuite:
    """The Node runner, or a skip (a failure when ``CI=true``) saying what is missing."""
    node = shutil.which("node")
    if node is None:
        reason = f"{_UNAVAILABLE}: `node` not found on PATH; {_INSTALL_HINT}"
    elif not (INTEROP_DIR / "node_modules" / "ws" / "package.json").is_file():
        reason = f"{_UNAVAILABLE}: tests/interop/node_modules missing; {_INSTALL_HINT}"
    else:
        return NodeSuite(node)
    if os.environ.get("CI") == "true":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)
