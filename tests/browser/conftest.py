"""Real-browser harness: a JupyterLab server from this venv, driven by headless Chromium.

Shared by every ``@pytest.mark.browser`` test. Debian's ``chromium`` is driven through
Playwright's sync API (never ``playwright install``: no browser download reaches out).
What made JupyterLab reliable to drive is written up in /work/shared/NOTES.md.

Fixtures
--------
lab_server : LabServer (session)
    ``jupyter lab`` on a free port of 127.0.0.1 with a random token, rooted in a temp
    folder, with its own config/settings/workspace/IPython dirs (nothing leaks into the
    user's ~/.jupyter), the announcements pop-up disabled, autosave off and notebook
    windowing off (every cell stays in the DOM). Stopped by PID at teardown.
browser : playwright Browser (session)
    Headless Debian Chromium; audio may start without a user gesture.
chromium_args : list of str (function)
    Extra launch flags; ``[]`` unless a test module overrides the fixture (the recorder's
    test feeds a fake microphone from a WAV file this way). With flags, the test's page
    comes from a browser of its own, launched with ``CHROMIUM_ARGS`` plus them.
page : playwright Page (function)
    A fresh context (1280x900); browser console errors collected in ``page.console_errors``.
lab : JupyterLab (function)
    Helpers bound to ``page`` and ``lab_server``: write_notebook, open, run_all, run_cell,
    restart_kernel, cell_errors, stderr_texts, screenshot (into the test's ``tmp_path``),
    park_mouse, command. Its kernels are shut down at teardown; a failed test leaves
    ``tmp_path/failure.png``.

Example
-------
>>> @pytest.mark.browser
... def test_plot(lab):
...     lab.write_notebook("plot.ipynb", ["import hd_widgets", "fig = ...; fig"])
...     lab.open("plot.ipynb")          # waits until the kernel is ready
...     lab.run_all()                   # clears outputs, runs, waits until the run is over
...     assert lab.cell_errors() == []
...     lab.page.wait_for_selector(".js-plotly-plot")
...     lab.screenshot("plot")          # tmp_path/plot.png
"""
from __future__ import annotations

from dataclasses import dataclass, field
import json
import os
import re
from pathlib import Path
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import warnings

import nbformat
import pytest

CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    # let tests start <audio> by script or click without a prior user gesture
    "--autoplay-policy=no-user-gesture-required",
]

# JupyterLab user settings written into the server's private settings dir.
LAB_SETTINGS = {
    # the notebook under test is not rewritten behind the test's back
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    # JupyterLab 4 virtualises long notebooks; keep every cell and output in the DOM
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    # no "Kernel idle / would you like to..." style pop-ups in the way
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false",
                                                     "checkForUpdates": False},
}
TRACEBACK = re.compile(r"Traceback \(most recent call last\)|^\s*\w*(Error|Exception)\b", re.M)
DISABLED_EXTENSIONS = {"@jupyterlab/apputils-extension:announcements": True}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LabServer:
    """A running ``jupyter lab`` (start with :meth:`start`, stop with :meth:`stop`).

    Attributes: ``url`` (http://127.0.0.1:port), ``token``, ``root`` (the folder it
    serves; notebooks are written here), ``log`` (server log file), ``process``.
    """

    url: str
    token: str
    root: Path
    log: Path
    process: subprocess.Popen = field(repr=False)

    @classmethod
    def start(cls, base: Path, *, timeout: float = 90.0) -> "LabServer":
        base = Path(base)
        root, cfg = base / "root", base / "config"
        for sub in (root, cfg / "labconfig", base / "settings", base / "workspaces",
                    base / "ipython", base / "runtime"):
            sub.mkdir(parents=True, exist_ok=True)
        (cfg / "labconfig" / "page_config.json").write_text(
            json.dumps({"disabledExtensions": DISABLED_EXTENSIONS}))
        for plugin, values in LAB_SETTINGS.items():
            p = base / "settings" / (plugin + ".jupyterlab-settings")
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(json.dumps(values))
        token, port = secrets.token_hex(16), _free_port()
        exe = Path(sys.executable).with_name("jupyter-lab")
        cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "jupyterlab"]
        cmd += ["--no-browser", f"--ServerApp.token={token}", "--ServerApp.ip=127.0.0.1",
                f"--port={port}", "--port-retries=0", "--allow-root",
                f"--ServerApp.root_dir={root}"]
        env = dict(os.environ, JUPYTER_CONFIG_DIR=str(cfg),
                   JUPYTERLAB_SETTINGS_DIR=str(base / "settings"),
                   JUPYTERLAB_WORKSPACES_DIR=str(base / "workspaces"),
                   IPYTHONDIR=str(base / "ipython"), JUPYTER_RUNTIME_DIR=str(base / "runtime"),
                   PYDEVD_DISABLE_FILE_VALIDATION="1")
        log = base / "server.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        server = cls(f"http://127.0.0.1:{port}", token, root, log, proc)
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"jupyter lab exited ({proc.returncode}):\n"
                                   f"{server.log_tail()}")
            try:
                server.api("status")
                return server
            except (urllib.error.URLError, ConnectionError, OSError):
                if time.monotonic() > deadline:
                    server.stop()
                    raise RuntimeError(f"jupyter lab did not answer /api/status in {timeout} s:\n"
                                       f"{server.log_tail()}")
                time.sleep(0.25)

    def api(self, path: str, method: str = "GET"):
        """Call the server's REST API (``path`` after /api/); returns the decoded JSON or None."""
        req = urllib.request.Request(f"{self.url}/api/{path}", method=method,
                                     headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=10) as r:
            body = r.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self) -> None:
        """Shut down every kernel this server runs (between tests)."""
        try:
            for k in self.api("kernels"):
                self.api(f"kernels/{k['id']}", "DELETE")
        except (urllib.error.URLError, OSError):
            pass

    def lab_url(self, notebook: str | None = None) -> str:
        """URL of JupyterLab (optionally opening ``notebook``, relative to root), fresh workspace."""
        tree = f"/tree/{notebook}" if notebook else ""
        return f"{self.url}/lab{tree}?reset&token={self.token}"

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def stop(self) -> None:
        """Shut kernels down, then stop the server by its PID (SIGTERM, then SIGKILL)."""
        if self.process.poll() is None:
            self.shutdown_kernels()
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def write_notebook(path: Path, cells: list) -> Path:
    """Write a notebook: each cell a string of code, or ``("markdown", text)``."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                 "language": "python"}
    for c in cells:
        if isinstance(c, tuple) and c[0] == "markdown":
            nb.cells.append(nbformat.v4.new_markdown_cell(c[1]))
        else:
            nb.cells.append(nbformat.v4.new_code_cell(c))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


class JupyterLab:
    """Drive JupyterLab in ``page``: open notebooks, run them, restart kernels, screenshots.

    Selectors and commands used here were checked against JupyterLab 4.6.
    """

    def __init__(self, page, server: LabServer, shots: Path):
        self.page, self.server, self.shots = page, server, Path(shots)
        self.page.set_default_timeout(30_000)

    # -- files ---------------------------------------------------------------------------
    def write_notebook(self, name: str, cells: list) -> Path:
        """Write ``name`` (relative to the server root) afresh; returns its path."""
        return write_notebook(self.server.root / name, cells)

    # -- navigation ----------------------------------------------------------------------
    def open(self, name: str, *, timeout: float = 60.0) -> None:
        """Open a notebook in a fresh workspace and wait until its kernel is ready."""
        self.page.goto(self.server.lab_url(name))
        self.page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=timeout * 1e3)
        self.wait_kernel(timeout=timeout)

    def wait_kernel(self, *, timeout: float = 60.0) -> None:
        """Wait until the toolbar names the kernel and the kernel is idle."""
        self.page.wait_for_function(
            """() => { const k = document.querySelector('.jp-NotebookPanel .jp-KernelName');
                       return k && /python/i.test(k.textContent); }""", timeout=timeout * 1e3)
        self.wait_idle(timeout=timeout)

    def wait_idle(self, *, timeout: float = 60.0) -> None:
        """Wait until the notebook's kernel status reads idle."""
        self.page.wait_for_selector(
            ".jp-NotebookPanel .jp-Notebook-ExecutionIndicator[data-status='idle']",
            state="attached", timeout=timeout * 1e3)

    def command(self, menu: str, command: str) -> None:
        """Click a main-menu item: ``menu`` is the bar label ("Run"), ``command`` its id."""
        self.park_mouse()
        self.page.click(f"#jp-MainMenu .lm-MenuBar-itemLabel:text-is('{menu}')")
        self.page.click(f".lm-Menu-item[data-command='{command}']")

    def park_mouse(self) -> None:
        """Move the pointer onto the top bar, away from any widget.

        ipyevents captures every key while the pointer is over a widget it watches, so
        move the pointer away before using JupyterLab's own keys.
        """
        self.page.mouse.move(5, 5)

    # -- running -------------------------------------------------------------------------
    def run_all(self, *, timeout: float = 120.0) -> None:
        """Clear all outputs, Run > Run All Cells, and wait until the run has finished.

        Clearing first resets every prompt to ``[ ]``, so a finished run is told apart
        from an earlier one (after a kernel restart the counts start again at 1).
        """
        self.command("Edit", "editmenu:clear-all")
        self.command("Run", "runmenu:run-all")
        self.wait_executed(timeout=timeout)

    def run_cell(self, index: int, *, timeout: float = 60.0) -> None:
        """Clear the output of the cell at ``index``, run it with Ctrl+Enter, wait until done."""
        cell = self.page.locator(".jp-NotebookPanel .jp-Cell").nth(index)
        prompt = cell.locator(".jp-InputArea-prompt")
        prompt.click()                              # select it, in command mode
        self.command("Edit", "editmenu:clear-current")   # prompt back to [ ]
        prompt.click()
        self.page.keyboard.press("Control+Enter")
        self.park_mouse()
        self.page.wait_for_function(
            """(i) => { const c = document.querySelectorAll('.jp-NotebookPanel .jp-Cell')[i];
                        const p = c && c.querySelector('.jp-InputPrompt');
                        return !p || /\\[\\d+\\]/.test(p.textContent); }""",
            arg=index, timeout=timeout * 1e3)
        self.wait_idle(timeout=timeout)

    def wait_executed(self, *, timeout: float = 120.0) -> None:
        """Wait until no cell is queued or running and at least one has run.

        Expects cleared prompts (``[ ]``) beforehand, as :meth:`run_all` makes them. After
        an error JupyterLab leaves the later cells unrun (``[ ]``); see :meth:`cell_errors`.
        """
        self.page.wait_for_function(
            """() => { const ps = [...document.querySelectorAll(
                           '.jp-NotebookPanel .jp-CodeCell .jp-InputPrompt')].map(p => p.textContent);
                       return !ps.some(t => t.includes('*')) && ps.some(t => /\\[\\d+\\]/.test(t)); }""",
            timeout=timeout * 1e3)
        self.wait_idle(timeout=timeout)

    def restart_kernel(self, *, timeout: float = 60.0) -> None:
        """Kernel > Restart Kernel…, confirm, and wait until the new kernel is idle."""
        self.command("Kernel", "kernelmenu:restart")
        self.page.click(".jp-Dialog .jp-Dialog-button.jp-mod-accept")
        self.page.wait_for_selector(".jp-Dialog", state="detached")
        try:   # the old kernel's "idle" may still show for a moment
            self.page.wait_for_selector(".jp-NotebookPanel .jp-Notebook-ExecutionIndicator"
                                        ":not([data-status='idle'])", state="attached",
                                        timeout=3000)
        except Exception:   # playwright's TimeoutError: the restart was quicker than that
            pass
        self.wait_idle(timeout=timeout)

    def cell_errors(self) -> list[str]:
        """Text of every traceback shown in the notebook (empty when all cells ran clean).

        JupyterLab renders tracebacks and stderr alike (mime ``application/vnd.jupyter.stderr``),
        so a traceback is told by its text; warnings on stderr are not errors.
        """
        return [t for t in self.stderr_texts() if TRACEBACK.search(t)]

    def stderr_texts(self) -> list[str]:
        """Text of every stderr output (warnings, logs and tracebacks)."""
        return self.page.locator(".jp-NotebookPanel .jp-OutputArea-output[data-mime-type="
                                 "'application/vnd.jupyter.stderr']").all_inner_texts()

    def screenshot(self, name: str) -> Path:
        """Full-page screenshot saved as ``shots/name`` (``.png`` added if missing)."""
        path = self.shots / (name if name.endswith(".png") else name + ".png")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(path), full_page=True)
        return path


# -- fixtures ----------------------------------------------------------------------------
@pytest.fixture(scope="session")
def lab_server(tmp_path_factory):
    server = LabServer.start(tmp_path_factory.mktemp("jupyterlab"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def _playwright():
    """Playwright's driver and the path of Debian's chromium (skips when there is none)."""
    exe = shutil.which("chromium")
    if exe is None:
        warnings.warn("BROWSER TESTS SKIPPED: no `chromium` on PATH", pytest.PytestWarning)
        pytest.skip("BROWSER TESTS SKIPPED: no `chromium` on PATH. Install Debian's chromium "
                    "(`apt-get install -y chromium`; `./dev test` does it) to run them.")
    from playwright.sync_api import sync_playwright
    pw = sync_playwright().start()
    yield pw, exe
    pw.stop()


@pytest.fixture(scope="session")
def browser(_playwright):
    pw, exe = _playwright
    b = pw.chromium.launch(executable_path=exe, headless=True, args=CHROMIUM_ARGS)
    yield b
    b.close()


@pytest.fixture
def chromium_args():
    """Extra Chromium flags for one test (override this fixture in a test module).

    ``[]`` (the default): the test's page comes from the shared session ``browser``. Flags
    (e.g. a fake microphone fed from a file) start a browser of its own for that test,
    with ``CHROMIUM_ARGS`` plus these, closed after it.
    """
    return []


@pytest.fixture
def page(request, chromium_args):
    own = None
    if chromium_args:
        pw, exe = request.getfixturevalue("_playwright")
        own = pw.chromium.launch(executable_path=exe, headless=True,
                                 args=CHROMIUM_ARGS + list(chromium_args))
        context = own.new_context(viewport={"width": 1280, "height": 900})
    else:
        context = request.getfixturevalue("browser").new_context(
            viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.console_errors = []
    pg.on("console", lambda m: m.type == "error" and pg.console_errors.append(m.text))
    yield pg
    context.close()
    if own is not None:
        own.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)   # lets fixtures see a failed call


@pytest.fixture
def lab(page, lab_server, tmp_path, request):
    """JupyterLab helpers; screenshots go to ``tmp_path``; kernels shut down after the test."""
    helper = JupyterLab(page, lab_server, tmp_path)
    yield helper
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        try:
            helper.screenshot("failure")
        except Exception:   # the page may be gone; the failure itself matters more
            pass
    lab_server.shutdown_kernels()
