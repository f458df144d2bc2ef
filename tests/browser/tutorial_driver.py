"""Drive a tutorial in JupyterLab as a student does, and look at every figure it draws.

Not a test module: ``test_tutorials_browser.py`` and ``bench/notebooks.py`` use it. A
:class:`Student` opens a copy of a notebook in the server's root, clears its outputs, runs
its code cells one by one (select, Ctrl+Enter, wait for the prompt's number), rates pages
of a rating widget with the mouse (drags both sliders, clicks Submit) and a page of an
evaluation widget, and after every cell checks each Plotly figure the cell shows, in the
browser, for what a reader notices at a glance:

- a trace named like Plotly's default "trace 3" (a legend entry or hover that says nothing);
- an axis without a title;
- a title, a panel title or a tick label that runs past the figure's edge (it is cut);
- a title whose notes run into the plot or onto a panel's title;
- a legend box that overlaps an axis title or a tick label (they cannot both be read), or
  runs past the figure's edge; measured on the drawn SVG's bounding boxes.

Each figure is saved as a PNG under ``shots/<notebook>/``. The harness (a JupyterLab
server and its helpers) is ``conftest.py`` beside this file, loaded by path.
"""
from __future__ import annotations

from dataclasses import dataclass, field
import importlib.util
from pathlib import Path
import re
import shutil
import sys
import time

import nbformat

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
NOTEBOOKS = ROOT / "notebooks"
VIEWPORT = {"width": 1400, "height": 1000}
SLIDER_SPOTS = [(0.8, 0.3), (0.25, 0.7), (0.9, 0.6), (0.4, 0.15), (0.65, 0.85)]


def harness():
    """The browser harness (``conftest.py`` here) as a module of its own."""
    name = "hd_browser_harness"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, HERE / "conftest.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


FIGURE_PROBLEMS = """(gd) => {
    const problems = [];
    const fl = gd._fullLayout, svg = gd.querySelector('.main-svg');
    if (!fl || !svg) return ['figure not drawn'];
    (gd._fullData || []).forEach((t, i) => {
        if (/^trace \\d+$/.test(t.name || '')) problems.push(`trace ${i} is named "${t.name}"`);
    });
    for (const k of Object.keys(fl)) {
        if (!/^[xy]axis\\d*$/.test(k)) continue;
        const ax = fl[k];
        if (ax.visible === false) continue;
        if (!(ax.title && ax.title.text && ax.title.text.trim())) problems.push(`${k} has no title`);
    }
    const box = svg.getBoundingClientRect();
    const inside = (el, what) => {
        const r = el.getBoundingClientRect();
        if (r.width === 0) return;
        if (r.left < box.left - 2 || r.right > box.right + 2 || r.top < box.top - 2 ||
            r.bottom > box.bottom + 2)
            problems.push(`${what} "${el.textContent.slice(0, 60)}" runs past the figure ` +
                          `(${Math.round(r.left - box.left)}..${Math.round(r.right - box.left)} of ` +
                          `${Math.round(box.width)} px)`);
    };
    gd.querySelectorAll('.g-gtitle .gtitle').forEach(el => inside(el, 'title'));
    // the title (its notes included) ends above the plot area and above the panels' titles
    const tt = gd.querySelector('.g-gtitle .gtitle');
    if (tt && tt.textContent.trim()) {
        const r = tt.getBoundingClientRect(), top = box.top + fl._size.t;
        if (r.bottom > top + 1)
            problems.push(`title "${tt.textContent.slice(0, 60)}" runs into the plot (its ` +
                          `last line ends ${Math.round(r.bottom - top)} px below the plot's top)`);
        gd.querySelectorAll('.annotation-text').forEach(el => {
            const a = el.getBoundingClientRect();
            if (a.width > 0 && Math.min(a.right, r.right) - Math.max(a.left, r.left) > 1 &&
                Math.min(a.bottom, r.bottom) - Math.max(a.top, r.top) > 1)
                problems.push(`title overlaps the annotation "${el.textContent.slice(0, 40)}"`);
        });
    }
    gd.querySelectorAll('.annotation-text').forEach(el => inside(el, 'annotation'));
    gd.querySelectorAll('.xtick text, .ytick text').forEach(el => inside(el, 'tick label'));
    gd.querySelectorAll('.g-xtitle text, .g-ytitle text').forEach(el => inside(el, 'axis title'));
    // a legend box (every legend of the figure: legend, legend2, ...) on an axis title or
    // a tick label hides it; boxes that touch or share an edge (1 px) do not count
    const cross = (a, b) => Math.min(a.right, b.right) - Math.max(a.left, b.left) > 1 &&
                            Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 1;
    const words = (el) => `"${el.textContent.trim().slice(0, 60)}"`;
    gd.querySelectorAll('.infolayer > g[class^="legend"]').forEach(lg => {
        const bg = lg.querySelector('rect.bg');
        if (!bg) return;
        const r = bg.getBoundingClientRect();
        if (r.width === 0 || r.height === 0) return;
        const name = lg.getAttribute('class');
        if (r.left < box.left - 2 || r.right > box.right + 2 || r.top < box.top - 2 ||
            r.bottom > box.bottom + 2)
            problems.push(`${name} box runs past the figure (${Math.round(r.left - box.left)}..` +
                          `${Math.round(r.right - box.left)} x ${Math.round(r.top - box.top)}..` +
                          `${Math.round(r.bottom - box.top)} of ${Math.round(box.width)} x ` +
                          `${Math.round(box.height)} px)`);
        const hit = (sel) => [...gd.querySelectorAll(sel)].filter(el => {
            const t = el.getBoundingClientRect();
            return t.width > 0 && t.height > 0 && el.textContent.trim() && cross(r, t);
        });
        const report = (els, what) => {
            if (!els.length) return;
            const t = els[0].getBoundingClientRect();
            problems.push(`${name} box (${Math.round(r.top - box.top)}..` +
                          `${Math.round(r.bottom - box.top)} px from the top) overlaps ${what} ` +
                          els.slice(0, 4).map(words).join(', ') + (els.length > 4 ? ', ...' : '') +
                          ` (${Math.round(t.top - box.top)}..${Math.round(t.bottom - box.top)} px)`);
        };
        report(hit('g[class^="g-x"][class$="title"] text, g[class^="g-y"][class$="title"] text'),
               'axis title');
        report(hit('.xtick text, .ytick text'), 'tick labels');
    });
    return problems;
}"""

# ipywidgets' renderer is a panel, without the data-mime-type text and HTML outputs carry
# (a Plotly figure's output has neither)
WIDGET_VIEW = ".jp-OutputArea-output.lm-Panel:not([data-mime-type])"

PROMPT_DONE = """(i) => { const c = document.querySelectorAll('.jp-NotebookPanel .jp-Cell')[i];
                      const p = c && c.querySelector('.jp-InputPrompt');
                      return !p || /\\[\\d+\\]/.test(p.textContent); }"""


@dataclass
class CellRun:
    """One code cell as run: how long it took, its text output, its figures' problems."""

    index: int
    seconds: float
    text: str = ""
    figures: list = field(default_factory=list)     # [(png path, [problem, ...]), ...]
    source: str = ""


class Student:
    """A student at a JupyterLab page (``lab``, the harness's helper): open, run, rate, look."""

    def __init__(self, lab, shots: Path):
        self.lab, self.page, self.shots = lab, lab.page, Path(shots)
        self.nb = None
        self.name = ""
        self.runs: list[CellRun] = []

    # ------------------------------------------------------------------ notebook
    def open(self, notebook: Path, edit=None) -> nbformat.NotebookNode:
        """Copy ``notebook`` into the server root (autosave must not touch ours), open it in
        a fresh workspace, wait for the kernel, and clear every output (prompts to [ ]).

        ``edit(nb)``, if given, changes the copy (not the committed file) before it is
        opened, e.g. a line setting the notebook's mode or a cell the test adds; cell
        indices are then those of the edited copy (what the page shows)."""
        notebook = Path(notebook)
        self.nb = nbformat.read(notebook, as_version=4)
        if edit is None:
            shutil.copy(notebook, self.lab.server.root / notebook.name)
        else:
            edit(self.nb)
            nbformat.write(self.nb, self.lab.server.root / notebook.name)
        self.name = notebook.stem
        self.lab.open(notebook.name, timeout=90)
        self.lab.command("Edit", "editmenu:clear-all")
        self.page.wait_for_function(
            """() => [...document.querySelectorAll('.jp-NotebookPanel .jp-InputPrompt')]
                     .every(p => !/\\[\\d+\\]/.test(p.textContent))""")
        return self.nb

    def cell(self, i: int):
        return self.page.locator(".jp-NotebookPanel .jp-Cell").nth(i)

    def code_cells(self) -> list[int]:
        return [i for i, c in enumerate(self.nb.cells) if c.cell_type == "code"]

    def run(self, i: int, *, timeout: float = 240.0) -> CellRun:
        """Run code cell ``i`` as a student does (select it, Ctrl+Enter) and wait until done."""
        t0 = time.monotonic()
        self.cell(i).locator(".jp-InputArea-prompt").click()
        self.page.keyboard.press("Control+Enter")
        self.lab.park_mouse()
        self.page.wait_for_function(PROMPT_DONE, arg=i, timeout=timeout * 1e3)
        self.lab.wait_idle(timeout=timeout)
        run = CellRun(i, time.monotonic() - t0, source=self.nb.cells[i].source)
        run.text = self.text(i)
        self.runs.append(run)
        return run

    def text(self, i: int) -> str:
        return "\n".join(self.cell(i).locator(".jp-OutputArea-output").all_inner_texts())

    def wait_text(self, i: int, text: str, timeout: float = 30.0) -> None:
        self.page.wait_for_function(
            """([i, t]) => { const c = document.querySelectorAll('.jp-NotebookPanel .jp-Cell')[i];
                             return c && c.innerText.includes(t); }""",
            arg=[i, text], timeout=timeout * 1e3)

    # ------------------------------------------------------------------ figures
    def figures(self, i: int, tag: str = "") -> list:
        """Check and save every Plotly figure in cell ``i``'s output; returns
        ``[(png, problems)]`` and adds them to the cell's run."""
        out = []
        plots = self.cell(i).locator(".js-plotly-plot")
        for k in range(plots.count()):
            gd = plots.nth(k)
            gd.scroll_into_view_if_needed()
            self.page.wait_for_function(
                "(gd) => gd._fullLayout && gd.querySelector('.main-svg')",
                arg=gd.element_handle(), timeout=30_000)
            self.page.wait_for_timeout(300)                # let transitions settle
            problems = gd.evaluate(FIGURE_PROBLEMS)
            png = self.shots / self.name / f"cell{i:02d}-fig{k}{tag}.png"
            png.parent.mkdir(parents=True, exist_ok=True)
            gd.screenshot(path=str(png))
            out.append((png, problems))
        if self.runs and self.runs[-1].index == i:
            self.runs[-1].figures += out
        return out

    def shows_widget(self, i: int) -> bool:
        """True if cell ``i``'s output holds a Jupyter widget (waits until it is drawn)."""
        views = self.cell(i).locator(WIDGET_VIEW)
        if views.count() == 0:
            return False
        self.settle(i)
        return True

    def settle(self, i: int, timeout: float = 30.0) -> None:
        """Wait until every widget view of cell ``i`` is drawn and its Plotly figures are in
        place: a FigureWidget inside a widget is drawn after the cell has finished, so the
        count of figures must hold still for a moment before they are looked at."""
        self.page.wait_for_function(
            """([i, sel]) => { const c = document.querySelectorAll('.jp-NotebookPanel .jp-Cell')[i];
                               return [...c.querySelectorAll(sel)].every(v => v.querySelector(
                                   '.jupyter-widgets, .js-plotly-plot, .lm-Widget')); }""",
            arg=[i, WIDGET_VIEW], timeout=timeout * 1e3)
        plots = self.cell(i).locator(".js-plotly-plot")
        seen, same, t0 = -1, 0, time.monotonic()
        while same < 3 and time.monotonic() - t0 < timeout:
            n = plots.count()
            same, seen = (same + 1, n) if n == seen else (0, n)
            self.page.wait_for_timeout(300)

    def screenshot_cell(self, i: int, tag: str) -> Path:
        """Save cell ``i``'s whole output as ``cellNN-tag.png``. An output taller than the
        notebook's window (a widget with its figure below) would be cut by the window and
        overlaid by the toolbar and status bar: for the shot the page is made taller (same
        width, so nothing reflows) and the output scrolled to the window's top."""
        png = self.shots / self.name / f"cell{i:02d}-{tag}.png"
        png.parent.mkdir(parents=True, exist_ok=True)
        area = self.cell(i).locator(".jp-OutputArea")
        area.scroll_into_view_if_needed()
        height = area.bounding_box()["height"]
        window = self.page.locator(".jp-NotebookPanel .jp-WindowedPanel-outer").first
        room = window.bounding_box()["height"] if window.count() else 0
        viewport = self.page.viewport_size
        if room and height > room - 20:
            self.page.set_viewport_size({"width": viewport["width"],
                                         "height": int(viewport["height"] + height - room + 60)})
        try:
            if room and height > room - 20:
                area.evaluate("(e) => e.scrollIntoView({block: 'start'})")
                self.page.wait_for_timeout(300)            # let the layout settle
            area.screenshot(path=str(png))
        finally:
            if self.page.viewport_size != viewport:
                self.page.set_viewport_size(viewport)
                self.page.wait_for_timeout(200)
        return png

    # ------------------------------------------------------------------ rating with the mouse
    def _drag(self, cell, j: int, fraction: float) -> None:
        """Drag slider ``j`` of ``cell`` to ``fraction`` of its track with the mouse."""
        handle = cell.locator(".widget-slider .noUi-handle").nth(j)
        track = cell.locator(".widget-slider .noUi-target").nth(j)
        handle.scroll_into_view_if_needed()
        h, t = handle.bounding_box(), track.bounding_box()
        x, y = h["x"] + h["width"] / 2, h["y"] + h["height"] / 2
        self.page.mouse.move(x, y)
        self.page.mouse.down()
        self.page.mouse.move(t["x"] + fraction * t["width"], y, steps=6)
        self.page.mouse.up()

    def _click_enabled(self, cell, name: str) -> None:
        # the icon adds to the accessible name; the words must be exactly these
        button = cell.get_by_role("button", name=re.compile(rf"^\W*{re.escape(name)}\W*$"))
        self.page.wait_for_function("(b) => !b.disabled", arg=button.element_handle(),
                                    timeout=15_000)
        button.click()

    def rate_pages(self, i: int, n: int, *, seed: int = 0) -> float:
        """Rate ``n`` pages of the rating widget in cell ``i`` with the mouse: drag A and B,
        click Submit, wait until the widget says it saved. Returns the seconds until the
        first page was saved. A study's widget counts the pages of its round (rate fewer
        pages than its first round has)."""
        cell = self.cell(i)
        cell.locator(".widget-slider .noUi-handle").nth(1).wait_for(timeout=30_000)
        first = None
        t0 = time.monotonic()
        for page_no in range(1, n + 1):
            # never 0.5: a slider left where it started counts as not rated
            a, b = SLIDER_SPOTS[(seed + page_no) % len(SLIDER_SPOTS)]
            self._drag(cell, 0, a)
            self._drag(cell, 1, b)
            self._click_enabled(cell, "Submit")
            self.wait_text(i, f"Saved query")
            self.page.wait_for_function(
                """([i, n]) => { const c = document.querySelectorAll('.jp-NotebookPanel .jp-Cell')[i];
                                 return new RegExp('(^|\\\\D)' + n + ' of \\\\d+ (pages for this lesson|'
                                                   + 'pages of this round|rated)').test(c.innerText); }""",
                arg=[i, page_no], timeout=30_000)
            if first is None:
                first = time.monotonic() - t0
        self.lab.park_mouse()
        return first

    def rate_evaluation_page(self, i: int) -> None:
        """Rate one page of the evaluation widget in cell ``i``: every slider, then Submit page."""
        cell = self.cell(i)
        handles = cell.locator(".widget-slider .noUi-handle")
        handles.first.wait_for(timeout=30_000)
        for j in range(handles.count()):
            self._drag(cell, j, (0.2, 0.4, 0.8, 0.95)[j % 4])
        self._click_enabled(cell, "Submit page")
        self.wait_text(i, "Saved.")
        self.lab.park_mouse()


def problems_of(runs: list[CellRun]) -> list[str]:
    """Every figure problem of a list of runs, as "cell N, fig.png: problem"."""
    return [f"cell {r.index}, {png.name}: {p}" for r in runs for png, ps in r.figures for p in ps]


def slow_without_progress(runs: list[CellRun], seconds: float = 5.0) -> list[str]:
    """Cells that took longer than ``seconds`` and show no progress bar (tqdm / progress=True)."""
    shows = re.compile(r"progress=True|tqdm|interval=")
    return [f"cell {r.index} ({r.seconds:.1f} s)" for r in runs
            if r.seconds > seconds and not shows.search(r.source)]
