"""The rating page for raters without Jupyter, in a real browser: Voilà serves the packaged
notebook (``python -m hd_widgets rate-page``) from a store on the test PostgreSQL server;
two raters, each in a Chromium context of their own, rate three pages with the mouse, and
the store then holds exactly their twelve ratings under their two ids. A third visitor
without a rater id gets the form (not a traceback), is refused an id that is too long,
and starts with a good one.
"""
from __future__ import annotations

import os
from pathlib import Path
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from hd_widgets.ratings.plan import nes_plan
from hd_widgets.ratings.store import RatingsStore
from hd_widgets.speech.space import FeatureSpace

pytestmark = pytest.mark.browser

RATERS = ("alex", "bea")
DRAGS = [(60, -45), (-70, 30), (25, 80)]     # pixels each slider handle (A, B) is dragged


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def page_server(pg_schema, tmp_path):
    """The rating page served for plan 'nes' of a fresh store; yields (base URL, store URL)."""
    _, url = pg_schema
    space = FeatureSpace.default(2)
    with RatingsStore(url) as store:                      # the teacher's set-up
        store.add_plan(nes_plan(space.points, n_periphery=3, n_pairs=2, seed=0))
    port = _free_port()
    home = tmp_path / "jupyter"
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(home / "config"),
               JUPYTER_RUNTIME_DIR=str(home / "runtime"), IPYTHONDIR=str(home / "ipython"),
               JUPYTER_DATA_DIR=str(home / "data"), PYDEVD_DISABLE_FILE_VALIDATION="1")
    env.pop("HD_WIDGETS_STORE", None)
    log = tmp_path / "voila.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "hd_widgets", "rate-page", "--store", url,
                                 "--plan", "nes", "--port", str(port)], env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        assert proc.poll() is None, log.read_text()[-3000:]
        try:
            urllib.request.urlopen(f"{base}/voila/static/", timeout=2)
            break
        except urllib.error.HTTPError:
            break                                          # it answers
        except OSError:
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.3)
    yield base, url, log
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def _open(browser, address: str):
    context = browser.new_context(viewport={"width": 1000, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(address)
    return context, page


def _drag(page, handle, dx: float) -> None:
    box = handle.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + dx / 2, y, steps=4)
    page.mouse.move(x + dx, y, steps=4)
    page.mouse.up()


def _wait_text(page, text: str, timeout: float = 60.0) -> None:
    page.wait_for_function("(t) => document.body.innerText.includes(t)", arg=text,
                           timeout=timeout * 1e3)


def test_two_raters_rate_three_pages_each_on_the_page(page_server, browser, tmp_path):
    base, url, log = page_server
    opened = [_open(browser, f"{base}/?rater={r}") for r in RATERS]
    try:
        for (_, page), rater in zip(opened, RATERS):
            _wait_text(page, f"Welcome, {rater}.", timeout=90)
            assert "Traceback" not in page.inner_text("body")
        for n, (da, db) in enumerate(DRAGS, start=1):
            for (_, page), rater in zip(opened, RATERS):   # the two raters take turns
                handles = page.locator(".widget-slider .noUi-handle")
                assert handles.count() == 2
                _drag(page, handles.nth(0), da)
                _drag(page, handles.nth(1), db)
                submit = page.get_by_role("button", name="Submit")
                page.wait_for_function("(b) => !b.disabled", arg=submit.element_handle())
                submit.click()
                _wait_text(page, f"Saved query #{n}")
        for (_, page), rater in zip(opened, RATERS):
            page.screenshot(path=str(tmp_path / f"{rater}.png"), full_page=True)
            assert "3 of 6" in page.inner_text("body")
    finally:
        for context, _ in opened:
            context.close()
    with RatingsStore(url) as store:
        ratings = store.ratings("nes")
    assert len(ratings) == 12, log.read_text()[-2000:]
    assert sorted({r.rater for r in ratings}) == sorted(RATERS)
    for rater in RATERS:
        mine = [r for r in ratings if r.rater == rater]
        assert sorted({r.query for r in mine}) == [0, 1, 2] and len(mine) == 6
        assert all(r.value != 0.5 for r in mine)          # every slider was moved by the mouse


def test_a_visitor_without_a_rater_id_gets_the_form(page_server, browser):
    base, _, _ = page_server
    context, page = _open(browser, f"{base}/")
    try:
        box = page.get_by_placeholder("your rater id")
        box.wait_for(timeout=90_000)
        assert page.locator(".widget-slider").count() == 0
        box.fill("x" * 80)
        page.get_by_role("button", name="Start").click()
        _wait_text(page, "at most 64 characters")
        box.fill("cy")
        page.get_by_role("button", name="Start").click()
        _wait_text(page, "Welcome, cy.")
        assert "Traceback" not in page.inner_text("body")
    finally:
        context.close()
