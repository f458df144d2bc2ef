"""The rating page for raters without Jupyter (widgets/page.py) and its command,
``python -m hd_widgets rate-page``, without a browser (the browser test is in
tests/browser/test_rate_page_browser.py)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from hd_widgets import __main__ as cli
from hd_widgets.ratings.plan import nes_plan
from hd_widgets.ratings.store import RatingsStore
from hd_widgets.widgets.page import (PAGE_NOTEBOOK, RatingPage, page_problem,
                                     rater_from_query)
from hd_widgets.widgets.rating import RatingWidget


@pytest.fixture
def class_store(tmp_path, space):
    path = tmp_path / "class.sqlite"
    with RatingsStore(path) as s:
        s.add_plan(nes_plan(space.points, n_periphery=3, n_pairs=2, seed=0))
    return path


@pytest.mark.parametrize("query, rater", [("rater=alex", "alex"), ("", ""), (None, ""),
                                          ("x=1&rater=%20bea%20", "bea"), ("rater=", ""),
                                          ("rater=Jos%C3%A9&rater=other", "José")])
def test_the_rater_comes_from_the_address(query, rater):
    assert rater_from_query(query) == rater


@pytest.mark.parametrize("rater, problem", [("", "enter your rater id"),
                                            ("x" * 65, "at most 64"),
                                            ("a\x07b", "control characters"),
                                            ("alex", None)])
def test_page_rules_for_rater_ids(rater, problem):
    got = page_problem(rater)
    assert (got is None) if problem is None else (problem in got)


def test_a_rater_in_the_address_gets_the_widget(class_store, space):
    page = RatingPage(str(class_store), "nes", "rater=alex", space=space)
    assert isinstance(page.widget, RatingWidget) and page.widget in page.children
    assert page.widget.rater == "alex" and page.problem is None
    page.widget.close()


@pytest.mark.parametrize("query", ["", "rater=", "rater=%07", "rater=" + "y" * 70])
def test_no_or_a_bad_rater_gets_the_form(class_store, space, query):
    page = RatingPage(str(class_store), "nes", query, space=space)
    assert page.widget is None and page._box in page.children[1].children
    assert not page.start("z" * 80) and "at most 64" in page._note.value
    assert page.widget is None
    assert page.start(" cy ") and page.widget.rater == "cy"
    page.widget.close()


@pytest.mark.parametrize("store, plan, message", [
    ("missing.sqlite", "nes", "no ratings store there|cannot open"),
    (None, "nope", "unknown plan 'nope'"),
    (None, "", "no plan given"),
])
def test_a_store_or_plan_it_cannot_open_is_one_line(class_store, space, tmp_path, store,
                                                    plan, message, monkeypatch):
    monkeypatch.delenv("HD_WIDGETS_PLAN", raising=False)
    where = str(tmp_path / store) if store else str(class_store)
    if store:                              # a folder the page may not create a store in
        (tmp_path / store).mkdir()
    page = RatingPage(where, plan, "rater=alex", space=space)
    assert page.widget is None and page.problem.startswith("This rating page cannot open")
    import re
    assert re.search(message, page.problem), page.problem
    assert "\n" not in page.problem


def test_the_page_reads_its_settings_from_the_environment(class_store, space, monkeypatch):
    monkeypatch.setenv("HD_WIDGETS_STORE", str(class_store))
    monkeypatch.setenv("HD_WIDGETS_PLAN", "nes")
    monkeypatch.setenv("QUERY_STRING", "rater=dee")
    page = RatingPage(space=space)
    assert page.widget.rater == "dee"
    page.widget.close()


def test_the_packaged_notebook_is_one_hidden_cell():
    nb = json.loads(PAGE_NOTEBOOK.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert len(code) == 1 and "rating_page()" in "".join(code[0]["source"])


# ---------------------------------------------------------------------------- the command
def test_rate_page_refuses_bad_arguments_in_one_line(class_store, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("HD_WIDGETS_STORE", raising=False)
    cases = [(["--plan", "nes"], "give a store"),
             (["--plan", "nes", "--store", str(tmp_path / "none.sqlite")], "no ratings store"),
             (["--plan", "nope", "--store", str(class_store)], "unknown plan"),
             (["--plan", "nes", "--store", str(class_store), "--port", "0"], "--port"),
             (["--plan", "nes", "--store", str(class_store), "--space", "nope.npz"], "--space"),
             (["--plan", "nes", "--store", "postgresql+psycopg://u:s3cret@127.0.0.1:1/x"],
              "unreachable")]
    for args, message in cases:
        assert cli.main(["rate-page"] + args) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1 and "s3cret" not in err, err
    assert not (tmp_path / "none.sqlite").exists()


def test_rate_page_runs_voila_on_the_packaged_notebook(class_store, monkeypatch, capsys):
    """The command hands its process to Voila (os.execve); here the hand-over is caught."""
    import os
    seen = {}

    class HandedOver(Exception):
        pass

    def execve(path, cmd, env):
        seen.update(path=path, cmd=cmd, env=env)
        raise HandedOver
    monkeypatch.setattr(os, "execve", execve)
    with pytest.raises(HandedOver):
        cli.main(["rate-page", "--plan", "nes", "--store", str(class_store),
                  "--port", "8899", "--ip", "0.0.0.0"])
    assert seen["cmd"][1:4] == ["-m", "voila", str(PAGE_NOTEBOOK)]
    assert seen["path"] == seen["cmd"][0]
    assert "--port=8899" in seen["cmd"] and "--Voila.ip=0.0.0.0" in seen["cmd"]
    assert seen["env"]["HD_WIDGETS_STORE"] == str(class_store)
    assert seen["env"]["HD_WIDGETS_PLAN"] == "nes"
    assert "http://0.0.0.0:8899/?rater=ID" in capsys.readouterr().out
