"""Every widget follows RatingWidget's convention: an ipywidgets widget, state in traitlets
with help, and a programmatic twin for each button, driving the handlers a person drives.

EvaluationWidget (traits, submit() -> bool, untouched sliders refused), ClassroomDashboard
(status as a trait), LiveGradient (a widget, ``follow`` through ``on_submit``).
"""
from __future__ import annotations

import time

import numpy as np
import pytest
import ipywidgets as W
from traitlets import TraitError

from hd_widgets.ratings.budget import plan_for_budget
from hd_widgets.ratings.plan import Query, QueryPlan, nes_plan
from hd_widgets.study.evaluation import mushra_plan
from hd_widgets.widgets.classroom import ClassroomDashboard
from hd_widgets.widgets.evaluation import EvaluationWidget
from hd_widgets.widgets.live import LiveGradient
from hd_widgets.widgets.rating import RatingWidget


@pytest.fixture
def eval_plan(space):
    gen = np.random.default_rng(1).standard_normal((20, 2))
    return mushra_plan(space.points, gen, space.reference_point(), n_pages=3, seed=3)


def helps(widget, *names):
    return all(widget.trait_metadata(n, "help") for n in names)


class Flat:
    name = "flat"

    def rate(self, points):
        return np.full(len(points), 0.5)          # exactly where the sliders start


# --------------------------------------------------------------------------- evaluation
def test_evaluation_state_is_traits_and_submit_returns_bool(space, store, eval_plan):
    page = EvaluationWidget(space, store, eval_plan, " ana ")   # a plan: checked, then stored
    assert eval_plan.name in store.plan_names()
    assert helps(page, "rater", "status", "n_done", "n_pages", "finished")
    assert (page.rater, page.n_done, page.n_pages, page.finished) == ("ana", 0, 3, False)
    assert page.status == "Welcome, ana."
    seen = []
    page.observe(lambda c: seen.append(c["new"]), "n_done")
    page.set_ratings([0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    assert page.submit() is True and page.status == "Saved." and page.n_done == 1 and seen == [1]
    assert page.submit() is False and "rate clip 1" in page.status    # fresh page, untouched
    assert page.answer_with(Flat()) == 2 and page.finished and page.n_done == 3
    assert page.submit() is False and "nothing left" in page.status
    assert "pages 3 of 3" in repr(page) and "finished" in repr(page)
    page.close()
    assert page.comm is None


def test_evaluation_refuses_untouched_sliders_hidden_reference_included(space, store, eval_plan):
    page = EvaluationWidget(space, store, eval_plan, "ben")
    kinds = page.query.kinds
    ref = kinds.index("reference")
    assert page._submit.disabled and not any(s.readout for s in page._sliders)
    assert page.submit() is False and store.ratings(eval_plan.name) == []
    assert page.status.startswith("Not saved: rate clip 1, clip 2")
    for i, s in enumerate(page._sliders):            # a person drags every slider but one
        if i != ref:
            s.value = 0.7
    assert page.submit() is False and f"rate clip {ref + 1} first" in page.status
    assert store.ratings(eval_plan.name) == [] and page._submit.disabled
    page._sliders[ref].value = 1.0                    # the hidden reference too
    assert not page._submit.disabled and page._sliders[ref].readout
    assert page.submit() is True
    values = {r.kind: r.value for r in store.ratings(eval_plan.name)}
    assert values["reference"] == 1.0
    with pytest.raises(ValueError, match="must be in"):
        page.set_ratings([0.5] * 5 + [1.5])


def test_evaluation_set_ratings_at_the_start_value_counts_as_moved(space, store, eval_plan):
    page = EvaluationWidget(space, store, eval_plan, "cat")
    page.set_ratings([0.5] * 6)                       # the twin's intent is explicit
    assert page.submit() and {r.value for r in store.ratings(eval_plan.name)} == {0.5}


def test_evaluation_rater_changes_like_rating_widget(space, store, eval_plan):
    page = EvaluationWidget(space, store, eval_plan, "dan")
    page.answer_with(Flat(), n=1)
    page.rater = "eve "
    assert page.rater == "eve" and page.n_done == 0 and "Page 1 of 3" in page._title.value
    page.rater = "dan"
    assert page.n_done == 1 and page.status == "Welcome back, dan."
    with pytest.raises(TraitError):
        page.rater = ""
    assert page.rater == "dan" and page.status.startswith("Rater id refused")
    with pytest.raises(ValueError, match="rater id refused"):
        EvaluationWidget(space, store, eval_plan, " ")


def test_evaluation_page_answered_elsewhere_moves_on(space, store, eval_plan):
    one, two = (EvaluationWidget(space, store, eval_plan, "fay") for _ in range(2))
    one.answer_with(Flat(), n=1)
    two.set_ratings([0.9] * 6)
    assert two.submit() is False and "already answered" in two.status
    assert two.query.index == one.query.index and two.n_done == 1
    assert {r.value for r in store.ratings(eval_plan.name)} == {0.5}


def test_evaluation_refuses_a_plan_it_cannot_show_before_storing_it(space, store, eval_plan):
    no_ref = QueryPlan("noref", (Query(0, np.zeros((3, 2)), ("a", "b", "c")),))
    with pytest.raises(ValueError, match="reference"):
        EvaluationWidget(space, store, no_ref, "gil")
    wrong_d = mushra_plan(np.zeros((4, 3)), np.ones((4, 3)), np.zeros(3), n_pages=1, name="d3")
    with pytest.raises(ValueError, match="d = 3"):
        EvaluationWidget(space, store, wrong_d, "gil")
    assert store.plan_names() == []


# --------------------------------------------------------------------------- classroom
def test_dashboard_status_is_a_trait_updated_by_refresh(store, space):
    plan = store.add_plan(nes_plan(space.points, n_periphery=2, n_pairs=2, seed=0))
    store.rate(plan.name, 0, [0.5, 0.5], rater="s0")
    dash = ClassroomDashboard(store, plan.name, interval=None)
    assert helps(dash, "status") and [s.rater for s in dash.status] == ["s0"]
    seen = []
    dash.observe(lambda c: seen.append([s.rater for s in c["new"]]), "status")
    store.rate(plan.name, 1, [0.5, 0.5], rater="s1")
    assert dash.status[-1].rater == "s0"              # nothing changes until a refresh
    dash._button.click()                              # the Refresh button ...
    assert seen == [["s0", "s1"]] and "2 raters" in dash._summary.value
    rows = dash.refresh()                             # ... and its twin
    assert rows == dash.status and len(seen) == 2
    dash.stop()
    assert "timer=stopped" in repr(dash) and "raters=2" in repr(dash)
    dash.close()


def test_dashboard_timer_refreshes_until_stopped(store, space):
    plan = store.add_plan(nes_plan(space.points, n_periphery=2, n_pairs=2, seed=0))
    dash = ClassroomDashboard(store, plan.name, interval=0.05)
    assert dash.status == []
    store.rate(plan.name, 0, [0.5, 0.5], rater="late")
    deadline = time.monotonic() + 10
    while not dash.status and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [s.rater for s in dash.status] == ["late"]
    dash.close()                                      # stops the timer too
    assert "timer=stopped" in repr(dash)


# --------------------------------------------------------------------------- live gradient
def test_live_gradient_is_a_widget_that_follows_a_rating_widget(space, store):
    plan = store.add_plan(plan_for_budget(space.points, 40, seed=0))
    widget = RatingWidget(space, store, plan.name, "you")
    live = LiveGradient(space, store, plan.name, "you")
    assert isinstance(live, W.VBox) and live.figure in live.children
    assert helps(live, "n_points", "rater") and live.n_points == 0
    assert live.follow(widget) is live
    counts = []
    live.observe(lambda c: counts.append(c["new"]), "n_points")
    widget.set_ratings(0.9, 0.3)
    assert widget.submit()
    assert live.n_points == 1 and counts == [1] and "from your 1 page alone" in live.figure.layout.title.text
    widget.skip()                                      # not a submission: no redraw needed
    live.follow(widget, remove=True)
    widget.set_ratings(0.2, 0.6)
    assert widget.submit() and live.n_points == 1      # no longer following
    assert live.update() == 2 and live.n_points == 2
    assert repr(live) == "LiveGradient(plan='nes', rater='you', n_points=2, dims=(0, 1))"
    live.rater = "someone else"                        # a trait: redraws for that rater
    assert live.n_points == 0
    with pytest.raises(TraitError):
        live.rater = ""
    other = store.add_plan(nes_plan(space.points, n_periphery=2, n_pairs=1, seed=5, name="other"))
    with pytest.raises(ValueError, match="plan"):
        live.follow(RatingWidget(space, store, other.name, "you"))
    widget.close()
    live.close()
    assert live.comm is None and live.figure.comm is None
