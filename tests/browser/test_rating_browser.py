"""The rating widget in a real JupyterLab + Chromium: play, rate, submit, restart, resume.

The notebook under test is written afresh into the server's temp root by the test (the
JupyterLab autosave would otherwise write into a committed file), with its ratings store
in the same temp dir; the test opens that SQLite file itself to check what was stored.
"""
from __future__ import annotations

import time

import pytest

from hd_widgets.ratings.plan import nes_plan
from hd_widgets.speech.space import FeatureSpace
from hd_widgets.ratings.store import RatingsStore
from hd_widgets.widgets.rating import display_order

pytestmark = pytest.mark.browser

RATER = "browser-rater"
N_PERIPHERY, N_PAIRS = 3, 2                         # 6 queries
# arrow presses on slider A and B for each of the three submissions (start: 0.50, step 0.01)
PRESSES = [(+7, -12), (-20, +4), (+3, +15)]


def notebook_cells(db: str) -> list:
    return [
        ("markdown", "# Rating session (browser test)"),
        "from hd_widgets.ratings.plan import nes_plan\n"
        "from hd_widgets.speech.space import FeatureSpace\n"
        "from hd_widgets.ratings.store import RatingsStore\n"
        "from hd_widgets.widgets.rating import RatingWidget\n"
        "space = FeatureSpace.default(2)\n"
        f"store = RatingsStore({db!r})\n"
        f"plan = nes_plan(space.points, n_periphery={N_PERIPHERY}, n_pairs={N_PAIRS}, seed=0)",
        f"w = RatingWidget(space, store, plan, {RATER!r})\nw",
    ]


def card_text(page) -> str:
    return page.locator(".jp-NotebookPanel .jp-OutputArea-output").last.inner_text()


def wait_text(page, text: str, timeout: float = 20.0) -> None:
    page.wait_for_function(
        """(t) => [...document.querySelectorAll('.jp-NotebookPanel .jp-OutputArea-output')]
                  .some(o => o.innerText.includes(t))""", arg=text, timeout=timeout * 1e3)


def slider_value(page, j: int) -> float:
    return float(page.locator(".widget-slider .noUi-handle").nth(j).get_attribute("aria-valuetext"))


def test_rate_three_restart_and_resume(lab, tmp_path):
    t_start = time.monotonic()
    db = lab.server.root / "ratings.sqlite"
    lab.write_notebook("rating_session.ipynb", notebook_cells(str(db)))
    lab.open("rating_session.ipynb")
    lab.run_all()
    page = lab.page
    wait_text(page, f"Welcome, {RATER}.")
    handles = page.locator(".widget-slider .noUi-handle")
    assert handles.count() == 2
    assert lab.cell_errors() == []
    lab.screenshot("1-opened")

    # play A with the player's own control; it must really play
    audio = page.locator(".jp-OutputArea-output audio")
    assert audio.count() == 2
    a = audio.nth(0)
    box = a.bounding_box()
    page.mouse.click(box["x"] + 18, box["y"] + box["height"] / 2)     # the play button
    page.wait_for_function("(a) => !a.paused && a.currentTime > 0.05", arg=a.element_handle())
    # play B with the "2" key (pointer over B's player): the kernel re-arms its autoplay
    audio.nth(1).hover()
    page.keyboard.press("2")
    page.wait_for_function("(a) => !a.paused && a.currentTime > 0.05",
                           arg=audio.nth(1).element_handle())
    lab.screenshot("2-playing")

    given = []
    for n, presses in enumerate(PRESSES, start=1):
        values = []
        for j, count in enumerate(presses):
            h = handles.nth(j)
            h.hover()                  # pointer on the slider: its own arrow keys work
            h.focus()
            for _ in range(abs(count)):
                page.keyboard.press("ArrowRight" if count > 0 else "ArrowLeft")
            expected = round(0.5 + 0.01 * count, 2)
            page.wait_for_function(
                "([h, v]) => Math.abs(parseFloat(h.getAttribute('aria-valuetext')) - v) < 1e-9",
                arg=[h.element_handle(), expected])
            values.append(slider_value(page, j))
        if n == 1:   # other keys on a focused slider must not reach JupyterLab's command mode
            cells = page.locator(".jp-NotebookPanel .jp-Cell")
            for key in ("a", "b", "1", "m", "d", "d"):
                page.keyboard.press(key)
            time.sleep(0.3)
            assert cells.count() == 3 and page.locator(".jp-NotebookPanel .jp-CodeCell").count() == 2
            assert slider_value(page, 1) == values[1]
        given.append(values)
        if n < 3:
            page.get_by_role("button", name="Submit").click()
        else:                          # the Enter shortcut, pointer over the buttons
            page.get_by_role("button", name="Undo").hover()
            page.keyboard.press("Enter")
        # the kernel sends the progress line and the status line as separate widget updates,
        # so wait for each: queries come in plan order, and the status echoes what was given
        wait_text(page, f"{n} of 6 rated")
        wait_text(page, f"Saved query #{n} (A {values[0]:.2f}, B {values[1]:.2f}).")
    lab.screenshot("3-rated-three")

    with RatingsStore(db) as store:    # the test process reads the kernel's store
        assert len(store.ratings("nes", rater=RATER)) == 6

    lab.restart_kernel()
    lab.run_all()
    wait_text(page, f"Welcome back, {RATER}.")
    text = card_text(page)
    assert "3 of 6 rated" in text and "Query #4" in text, text
    assert lab.cell_errors() == []
    lab.screenshot("4-resumed")
    # Undo in the new kernel's widget: the three pages were submitted by the old kernel's
    # widget, so it says so and withdraws nothing
    page.get_by_role("button", name="Undo").click()
    wait_text(page, "Nothing to undo here")
    assert "3 of 6 rated" in card_text(page)

    space = FeatureSpace.default(2)
    plan = nes_plan(space.points, n_periphery=N_PERIPHERY, n_pairs=N_PAIRS, seed=0)
    with RatingsStore(db) as store:
        ratings = store.ratings("nes", rater=RATER)
        assert store.next_query("nes", RATER).index == 3
    assert len(ratings) == 6 and sorted({r.query for r in ratings}) == [0, 1, 2]
    for r in ratings:
        order = list(display_order(0, RATER, r.query, 2))
        position = order.index(r.clip)             # where the person saw this clip
        assert r.value == pytest.approx(given[r.query][position], abs=1e-9)
        assert r.kind == plan[r.query].kinds[r.clip]
    # a figure, not a goal: timing belongs to bench/, and wait_text's timeout catches a hang
    print(f"rate_three_restart_resume_s: {time.monotonic() - t_start:.1f}")
