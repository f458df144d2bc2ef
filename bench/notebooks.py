"""Time every tutorial notebook in smoke mode (as CI runs them), and what a newcomer meets first.

Prints ``notebook_s NAME: X`` per notebook and ``notebooks_total_s: T``. Goal: the whole
notebooks suite under 5 minutes on these 2-core machines. The reference, measured in the
same run, is ``kernel_start_s``: a notebook that only imports hd_widgets and numpy
(the fixed cost every notebook pays, and a gauge of how loaded the machine is). Notebooks are executed in
memory with nbclient (the committed files are not touched).

Then, in JupyterLab driven by headless Chromium at 1400 x 1000 (as ``tests/browser/``
drives it, through ``tests/browser/tutorial_driver.py``):

- ``first_rated_pair_s``: from opening ``00_start_here`` (the server already running) to
  the first rating stored, running its cells one by one as a student does and rating one
  page with the mouse (the widget says "Saved" only once the store has committed).
  Goal <= 30 s. (``lab_start_s``, the server's own start, is printed as context.)
- ``report_mb``: ``report.html`` of ``python -m hd_widgets reproduce`` at the default
  budget (5000 ratings; ``report_reproduce_s`` is how long that took). Goal <= 2 MB.
- ``report_open_s``: loading that file in Chromium until all three figures are drawn.
  Goal <= 2 s.

``python bench/notebooks.py 00 05`` times only those notebooks; ``--no-browser`` skips the
browser part, ``--browser-only`` the notebooks.
"""
from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("CI", "true")
GOALS = {"first_rated_pair_s": 30.0, "report_mb": 2.0, "report_open_s": 2.0}


def run(nb: nbformat.NotebookNode, folder: Path) -> float:
    t0 = time.perf_counter()
    NotebookClient(nb, timeout=900, kernel_name="python3",
                   resources={"metadata": {"path": str(folder)}}).execute()
    return time.perf_counter() - t0


def smoke_notebooks(only: list[str]) -> None:
    empty = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import numpy, hd_widgets")])
    print(f"kernel_start_s: {run(empty, ROOT):.1f}", flush=True)
    total = 0.0
    for path in sorted((ROOT / "notebooks").glob("[0-9]*.ipynb")):
        if only and not any(a in path.name for a in only):
            continue
        dt = run(nbformat.read(path, as_version=4), path.parent)
        total += dt
        print(f"notebook_s {path.stem}: {dt:.1f}", flush=True)
    print(f"notebooks_total_s: {total:.1f}")


def _driver():
    spec = importlib.util.spec_from_file_location(
        "hd_tutorial_driver", ROOT / "tests" / "browser" / "tutorial_driver.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module          # dataclasses look their module up while defined
    spec.loader.exec_module(module)
    return module


def _line(name: str, value: float, unit_fmt: str = "{:.1f}") -> None:
    goal = GOALS.get(name)
    verdict = "" if goal is None else f"  (goal <= {goal:g}: {'met' if value <= goal else 'NOT MET'})"
    print(f"{name}: {unit_fmt.format(value)}{verdict}", flush=True)


def browser_lines() -> None:
    exe = shutil.which("chromium")
    if exe is None:
        print("first_rated_pair_s: skipped (no chromium on PATH)")
        return
    from playwright.sync_api import sync_playwright
    driver = _driver()
    H = driver.harness()
    work = Path(tempfile.mkdtemp(prefix="hd-bench-notebooks-"))
    os.environ["HD_WIDGETS_MODE"] = "interactive"        # the kernels wait for a person
    t0 = time.monotonic()
    server = H.LabServer.start(work / "lab")
    _line("lab_start_s", time.monotonic() - t0)
    pw = sync_playwright().start()
    browser = pw.chromium.launch(executable_path=exe, headless=True, args=H.CHROMIUM_ARGS)
    try:
        page = browser.new_context(viewport=driver.VIEWPORT).new_page()
        student = driver.Student(H.JupyterLab(page, server, work / "shots"), work / "shots")
        t0 = time.monotonic()
        nb = student.open(driver.NOTEBOOKS / "00_start_here.ipynb")
        for i in student.code_cells():
            student.run(i)
            if "hd.RatingWidget(" in nb.cells[i].source:
                break
        student.rate_pages(i, 1)
        _line("first_rated_pair_s", time.monotonic() - t0)
        server.shutdown_kernels()

        out = work / "report"
        t0 = time.monotonic()
        subprocess.run([sys.executable, "-m", "hd_widgets", "reproduce", "--out", str(out),
                        "--quiet"], check=True, cwd=work)
        _line("report_reproduce_s", time.monotonic() - t0)
        _line("report_mb", (out / "report.html").stat().st_size / 1e6, "{:.2f}")
        opened = []
        for _ in range(3):                                  # median of three fresh pages
            tab = browser.new_context(viewport=driver.VIEWPORT).new_page()
            t0 = time.monotonic()
            tab.goto((out / "report.html").as_uri())
            tab.wait_for_function(
                """() => { const g = [...document.querySelectorAll('.js-plotly-plot')];
                           return g.length >= 3 && g.every(x => x._fullLayout &&
                                                           x.querySelector('.main-svg')); }""",
                timeout=60_000)
            opened.append(time.monotonic() - t0)
            tab.context.close()
        _line("report_open_s", sorted(opened)[1], "{:.2f}")
    finally:
        browser.close()
        pw.stop()
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if "--browser-only" not in sys.argv:
        smoke_notebooks(args)
    if "--no-browser" not in sys.argv:
        browser_lines()
