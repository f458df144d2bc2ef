"""Every tutorial (00-09) as a newcomer meets it: JupyterLab in Chromium at 1400 x 1000.

Each notebook is opened from a fresh copy, its cells run one by one as a student runs them
(the kernels run with ``HD_WIDGETS_MODE=interactive``, so the notebooks with a widget wait
for a person: this test rates their pages with the mouse), and every figure is checked in
the browser and saved as a screenshot (``tutorial_driver.Student``). Two notebooks are
more than a test can do by hand, so their copy is edited (the committed files are not):

- 08 records the class's voices, which needs a microphone and a room of classmates: its
  copy sets ``HD_WIDGETS_MODE=simulated`` in its first cell, and it runs its own simulated
  path (shipped voices go through the recorder's receive and Keep, a simulated listener
  presses the rating widget's buttons);
- 09's study in rounds is 40 pages: the student rates the first pages of the StudyWidget
  with the mouse, then a cell the test adds below the widget lets a simulated listener
  answer the rest through the same widget, and the notebook goes on with a finished study.

The test fails on

- a cell that raised (a traceback in any output);
- a trace named like Plotly's default "trace N";
- an axis without a title;
- a title, panel title, tick label or axis title wider than its figure (cut);
- a title whose notes run into the plot or onto a panel's title;
- a legend box on an axis title or a tick label, or wider or taller than its figure;

and on the lessons' own promises: the widget counts toward the lesson's pages, and a
student's handful of pages (00, and the one-student class of 07) is not passed off as a
finding by the claims checker.

Screenshots are kept in ``tests/browser/screenshots/tutorials/<notebook>/`` (gitignored;
``HD_TUTORIAL_SHOTS`` moves them), so a person can look at what the test saw.
"""
from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest

from tutorial_driver import (NOTEBOOKS, VIEWPORT, Student, harness, problems_of,
                             slow_without_progress)

pytestmark = pytest.mark.browser

SHOTS = Path(os.environ.get("HD_TUTORIAL_SHOTS",
                            Path(__file__).resolve().parent / "screenshots" / "tutorials"))
TUTORIALS = sorted(p.name for p in NOTEBOOKS.glob("0[0-9]_*.ipynb"))
PAGES = {"00_start_here.ipynb": 2, "02_rating.ipynb": 2, "07_classroom.ipynb": 1}
SIMULATED = {"08_your_voices.ipynb"}      # no microphone here: the notebook's simulated path
MODE_LINE = ('import os; os.environ["HD_WIDGETS_MODE"] = "simulated"  '
             '# set by the browser test (no microphone)\n')
STUDY_PAGES = 2                           # 09: pages rated with the mouse, then handed over
HANDOVER = ("# added by the browser test: after the pages rated with the mouse, a simulated\n"
            "# listener rates the rest of the study through the widget above (its sliders\n"
            "# and Submit, as the mouse did)\n"
            'listener = hd.SimulatedListener.from_data(space.points, seed=1, name="you")\n'
            'print(f"the simulated listener answered {widget.answer_with(listener)} pages")')
WIDGET_TEST = {"08_your_voices.ipynb", "09_your_own_study.ipynb"}   # every widget shot too


def edit_copy(name: str):
    """What the test changes in its copy of notebook ``name`` (None: nothing)."""
    if name not in SIMULATED and name != "09_your_own_study.ipynb":
        return None

    def edit(nb):
        if name in SIMULATED:
            first = next(c for c in nb.cells if c.cell_type == "code")
            first.source = MODE_LINE + first.source
        if name == "09_your_own_study.ipynb":
            at = next(i for i, c in enumerate(nb.cells) if "hd.StudyWidget(" in c.source)
            nb.cells.insert(at + 1, nbformat.v4.new_code_cell(HANDOVER))
    return edit


@pytest.fixture(scope="module")
def tutorial_server(tmp_path_factory):
    """A JupyterLab of its own whose kernels run the tutorials small (CI) and interactive."""
    saved = {k: os.environ.get(k) for k in ("CI", "HD_WIDGETS_MODE")}
    os.environ.setdefault("CI", "true")
    os.environ["HD_WIDGETS_MODE"] = "interactive"
    try:
        server = harness().LabServer.start(tmp_path_factory.mktemp("tutorials-lab"))
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    yield server
    server.stop()


@pytest.fixture
def student(browser, tutorial_server, request):
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    lab = harness().JupyterLab(page, tutorial_server, SHOTS)
    yield Student(lab, SHOTS)
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        try:
            lab.screenshot(f"failure-{request.node.callspec.id}")
        except Exception:   # the page may be gone; the failure matters more
            pass
    context.close()
    tutorial_server.shutdown_kernels()


@pytest.mark.parametrize("name", TUTORIALS)
def test_a_student_runs_the_tutorial(student, name):
    nb = student.open(NOTEBOOKS / name, edit_copy(name))
    lab = student.lab
    rated = False
    widgets = {}                                        # what: cell index (08, 09)
    for i in student.code_cells():
        src = nb.cells[i].source
        run = student.run(i)
        errors = lab.cell_errors()
        assert errors == [], f"{name} cell {i} raised:\n{errors[0][-1500:]}"
        if name in WIDGET_TEST and student.shows_widget(i):
            student.screenshot_cell(i, "widget")
        if name in SIMULATED and i == student.code_cells()[0]:
            assert "MODE = 'simulated'" in run.text, run.text
        if "hd.RatingWidget(" in src and name in PAGES and not rated:
            rated = True
            student.figures(i, "-before")
            student.screenshot_cell(i, "widget")
            student.rate_pages(i, PAGES[name])
            text = student.text(i)
            assert "pages for this lesson" in text, text[:500]
            assert " of 500 " not in text and "min left" not in text.split("lesson")[0]
            student.screenshot_cell(i, "rated")
            student.figures(i, "-rated")               # the live gradient after the ratings
        elif "hd.EvaluationWidget(" in src:
            student.rate_evaluation_page(i)
            student.screenshot_cell(i, "rated")
        elif "hd.StudyWidget(" in src:
            # 09, interactive: the first pages with the mouse, the cloud still empty
            widgets["study"] = i
            student.figures(i, "-before")
            student.rate_pages(i, STUDY_PAGES)
            text = student.text(i)
            assert f"round 1 of 3 · {STUDY_PAGES} of " in text, text[:500]
            student.screenshot_cell(i, "rated")
            student.figures(i, "-rated")
        elif src == HANDOVER:
            # the listener has answered the rest: the widget and its cloud, study finished
            s = widgets["study"]
            assert "answered 38 pages" in run.text, run.text     # 40 pages, 2 by the mouse
            student.wait_text(s, "80 of 80 ratings in all")
            student.settle(s)
            student.screenshot_cell(s, "finished")
            run.figures += student.figures(s, "-finished")
        else:
            student.figures(i)
        if "hd.Recorder(" in src:
            widgets.setdefault("recorder", i)           # yours; later ones are classmates'
        if name in SIMULATED and "recorder.keep()" in src:
            # the stand-in for you was checked and kept through your own recorder
            assert "RecordingCheck(ok" in run.text, run.text
            student.settle(widgets["recorder"])
            student.screenshot_cell(widgets["recorder"], "kept")
        if name in SIMULATED and "widget.answer_with(listener" in src:
            student.screenshot_cell(next(k for k in student.code_cells()
                                         if "hd.RatingWidget(" in nb.cells[k].source), "rated")
        if name in SIMULATED and "voices.delete_all(ME)" in src:
            assert "yours still in it: False" in run.text, run.text
            student.screenshot_cell(widgets["recorder"], "deleted")
        if name == "09_your_own_study.ipynb" and "study.progress(" in src:
            assert "80 of 80 ratings given -- the study is finished" in run.text, run.text
        if name == "00_start_here.ipynb" and "raters=[\"you\"]" in src:
            assert "[DOES NOT HOLD] From your 2 pages (4 ratings)" in run.text, run.text
        if name == "07_classroom.ipynb" and "run_pipeline" in src:
            # one person with one page is the class here: no finding, and it says why
            assert "[DOES NOT HOLD] From teacher, 1 page (2 ratings)" in run.text, run.text
    assert lab.cell_errors() == []
    problems = problems_of(student.runs)
    assert problems == [], f"{name}: figures that do not read at a glance:\n" + "\n".join(problems)
    figures = [png for r in student.runs for png, _ in r.figures]
    assert all(p.stat().st_size > 5_000 for p in figures)
    slow = slow_without_progress(student.runs)
    total = sum(r.seconds for r in student.runs)
    print(f"{name}: {len(student.runs)} cells in {total:.0f} s, {len(figures)} figures "
          f"saved to {SHOTS / student.name}; slow cells without a progress bar: {slow or 'none'}")
