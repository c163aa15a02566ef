"""Start a real JupyterLab for the browser tests, isolated from any personal setup.

:func:`start_lab` runs ``jupyter lab`` on 127.0.0.1 over *copies* of the
notebooks, with its own config, data, runtime and IPython folders;
:class:`Lab` is its handle. ``tests/browser/helpers.py`` drives it.
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
from typing import IO, Any

__all__ = ["USER_SETTINGS", "Lab", "LabStartError", "start_lab"]

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


def _write_user_settings(settings_dir: Path, locale: str | None = None) -> None:
    settings = dict(USER_SETTINGS)
    if locale is not None:
        # What Settings → Language writes; the language pack must be installed.
        settings["@jupyterlab/translation-extension/plugin"] = {"locale": locale}
    for plugin, values in settings.items():
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


def start_lab(
    base: Path,
    notebooks_dir: Path,
    log_path: Path,
    *,
    timeout: float = 90.0,
    base_url: str = "/",
    token: str = "",
    public_host: str | None = None,
    locale: str | None = None,
) -> Lab:
    """Start ``jupyter lab`` on a free port over copies of the kit's notebooks.

    Args:
        base: an empty temporary folder for Lab's files and config.
        notebooks_dir: the repository's notebooks; they are copied, never served
            in place, so Lab can never write into the repository.
        log_path: file that receives the server's output.
        timeout: seconds to wait for ``/api/status`` to answer.
        base_url: Jupyter's base URL, as a hub gives its single-user servers
            (``/user/learner/``).
        token: the login token; none by default (then XSRF checks are off too,
            for the REST calls the tests make from Python).
        public_host: the name the browser will use instead of 127.0.0.1
            (remote access is switched on, as on a hub); ``Lab.url`` uses it.
        locale: JupyterLab's own language (``"zh_CN"``: its menus in Chinese,
            from jupyterlab-language-pack-zh-CN); English by default.

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
    _write_user_settings(settings_dir, locale)
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
        f"--IdentityProvider.token={token}",
        "--ServerApp.password=",
        f"--ServerApp.base_url={base_url}",
        "--ServerApp.terminals_enabled=False",
        f"--ServerApp.root_dir={root}",
        "--LabApp.expose_app_in_browser=True",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        f"--LabApp.user_settings_dir={settings_dir}",
        f"--LabApp.workspaces_dir={base / 'workspaces'}",
        "--LabApp.extension_manager=readonly",  # never ask PyPI for extensions
    ]
    if not token:
        # No token means no XSRF cookie for the REST calls the tests make from Python.
        command.append("--ServerApp.disable_check_xsrf=True")
    if public_host is not None:
        command.append("--ServerApp.allow_remote_access=True")
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
        port = _wait_until_ready(lab, Path(env["JUPYTER_RUNTIME_DIR"]), timeout, base_url, token)
        lab.url = f"http://{public_host or '127.0.0.1'}:{port}{base_url}"
    except BaseException:
        lab.stop()
        raise
    return lab


def _wait_until_ready(
    lab: Lab, runtime_dir: Path, timeout: float, base_url: str = "/", token: str = ""
) -> int:
    """Poll the runtime file for the port, then ``/api/status``, until ready; return the port.

    Between polls the wait is on the process itself, so a crash is noticed at once.
    """
    deadline = time.monotonic() + timeout
    url = ""
    port = 0
    while time.monotonic() < deadline:
        if not url:
            for info_file in runtime_dir.glob("jpserver-*.json"):
                try:
                    info = json.loads(info_file.read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    continue  # written but not flushed yet
                url = f"http://127.0.0.1:{info['port']}{base_url}"
                port = int(info["port"])
        if url:
            try:
                status = url + "api/status" + (f"?token={token}" if token else "")
                with urllib.request.urlopen(status, timeout=2) as response:
                    if response.status == 200:
                        return port
            except (OSError, urllib.error.URLError):
                pass  # not listening yet
        try:
            code = lab.process.wait(timeout=0.2)
        except subprocess.TimeoutExpired:
            continue
        raise LabStartError(f"jupyter lab exited with {code}:\n{lab.log_tail()}")
    raise LabStartError(f"jupyter lab did not answer within {timeout:.0f}s:\n{lab.log_tail()}")
