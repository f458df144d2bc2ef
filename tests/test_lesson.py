"""Lessons that tell the truth: a lesson-sized goal, figures that say whose ratings they
rest on, and a claims checker that refuses what the ratings cannot carry.

- the rating widget counts toward the lesson's ``target`` (not the study's plan), with the
  time left for it, and says when it is reached; the teacher's dashboard shows the pages
  per student and when the class has enough;
- every view prints whose ratings it rests on (``views.ratings_source``), and estimation
  from chosen raters draws only theirs;
- ``study.claims``: one student with four pages of a class plan does not make a finding,
  whatever the variance ratio says; a diverged run says what would help.
"""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from traitlets import TraitError

import hd_widgets as hd
from hd_widgets.ratings.listeners import SimulatedListener
from hd_widgets.ratings.plan import nes_plan
from hd_widgets.study import claims
from hd_widgets.views import (estimate_figure, langevin_animation, ratings_figure,
                              ratings_source, samples_figure)
from hd_widgets.widgets.classroom import ClassroomDashboard
from hd_widgets.widgets.listening import ListeningMap
from hd_widgets.widgets.live import LiveGradient
from hd_widgets.widgets.rating import RatingWidget


@pytest.fixture
def listener(space):
    return SimulatedListener.from_data(space.points, seed=1)


@pytest.fixture
def small_plan(space, store):
    return store.add_plan(nes_plan(space.points, n_periphery=8, n_pairs=1, seed=0, name="lesson"))


# --------------------------------------------------------------------------- the lesson's goal
def test_the_widget_counts_toward_the_lessons_target_not_the_plan(space, store, small_plan,
                                                                  listener):
    w = RatingWidget(space, store, small_plan.name, "ann", target=3)
    assert w.target == 3 and not w.target_reached
    assert w._progress.value.startswith("0 of 3 pages for this lesson")
    assert w._bar.max == 3 and w._bar.value == 0
    assert w.answer_with(listener, n=2) == 2
    assert w._progress.value.startswith("2 of 3 pages for this lesson · about")
    assert "left for the lesson" in w._progress.value and not w.target_reached
    assert w.answer_with(listener, n=1) == 1
    assert w.target_reached and "That is the 3 pages this lesson asks for" in w.status
    assert "3 of 3 pages for this lesson: done" in w._progress.value
    assert "3 of 8 pages of the study" in w._progress.value
    assert w.answer_with(listener, n=1) == 1 and not w.finished     # rating on is allowed
    assert w._bar.value == 3 and "4 of 8 pages of the study" in w._progress.value
    assert "target=3" in repr(w)
    w.target = 0                                                     # back to the whole plan
    assert w._progress.value.startswith("4 of 8 rated") and not w.target_reached
    with pytest.raises(TraitError, match="target"):
        w.target = -1
    assert w.trait_metadata("target", "help") and w.trait_metadata("target_reached", "help")
    w.close()


def test_a_resumed_rater_counts_earlier_pages_toward_the_target(space, store, small_plan,
                                                                listener):
    hd.answer(listener, store, small_plan.name, rater="bo", limit=2)
    w = RatingWidget(space, store, small_plan.name, "bo", target=2)
    assert w.target_reached and "2 of 2 pages for this lesson: done" in w._progress.value
    w.close()


def test_the_dashboard_shows_pages_per_student_and_when_the_class_has_enough(space, store,
                                                                             small_plan, listener):
    dash = ClassroomDashboard(store, small_plan.name, interval=None, target=2, needed=5)
    assert (dash.target, dash.needed, dash.enough) == (2, 5, False)
    hd.answer(listener, store, small_plan.name, rater="ann", limit=2)
    hd.answer(listener, store, small_plan.name, rater="bo", limit=1)
    dash.refresh()
    summary = dash._summary.value
    assert "Pages per student: <b>2</b>" in summary and "1 of 2 students have reached it" in summary
    assert "Not enough yet" in summary and "3 of the 5 pages" in summary and not dash.enough
    assert "2 / 2 \u2714" in dash._table.value and "1 / 2<" in dash._table.value
    hd.answer(listener, store, small_plan.name, rater="cy", limit=2)
    dash.refresh()
    assert dash.enough and "The class has enough" in dash._summary.value
    assert "2 of 3 students have reached it" in dash._summary.value
    assert "enough=True" in repr(dash)
    # by default a class needs as many pages as the claims checker asks ratings for
    default = ClassroomDashboard(store, small_plan.name, interval=None)
    assert default.needed == claims.MIN_RATINGS // 2 and "Pages per student" not in default._summary.value
    with pytest.raises(ValueError):
        ClassroomDashboard(store, small_plan.name, interval=None, target=-1)
    dash.close(), default.close()


# --------------------------------------------------------------------------- whose ratings
@pytest.fixture
def two_raters(space, store, listener):
    plan = store.add_plan(nes_plan(space.points, n_periphery=16, n_pairs=1, seed=0, name="tour"))
    hd.answer(listener, store, plan.name, rater="you", limit=3)
    mine = {r.query for r in store.ratings(plan.name, rater="you")}
    for q in plan:
        if q.index not in mine:
            store.rate(plan.name, q.index, listener.rate(q.points).tolist(), rater="simulated")
    return plan


def test_ratings_source_says_whose_pages(store, two_raters):
    names = {"simulated": "simulated listener"}
    yours = ratings_source(store, two_raters.name, raters="you", you="you")
    assert str(yours) == "your 3 pages" and (yours.pages, yours.ratings) == (3, 6)
    every = ratings_source(store, two_raters.name, you="you", names=names)
    assert str(every) == "simulated listener, 13 pages, and your 3 pages" and every.ratings == 32
    assert str(ratings_source(store, two_raters.name, raters=["simulated"], names=names)) == \
        "simulated listener, 13 pages"
    assert str(ratings_source(store, two_raters.name, raters="nobody")) == "no ratings yet (nobody)"


def test_many_raters_are_counted(space, store, listener):
    plan = store.add_plan(nes_plan(space.points, n_periphery=6, n_pairs=1, seed=0, name="class"))
    for i in range(5):
        hd.answer(listener, store, plan.name, rater=f"s{i}", limit=2)
    assert str(ratings_source(store, plan.name, you="s0")) == "5 raters, 10 pages (your 2 pages among them)"


def test_estimates_from_chosen_raters_and_every_view_names_them(space, store, two_raters,
                                                                 listener):
    yours = ratings_source(store, two_raters.name, raters="you", you="you")
    est = hd.from_store(store, two_raters.name, space.points, raters="you")
    assert len(est) == 3                                        # only your three points
    fig = estimate_figure(est, data=space.points, source=yours)
    assert "ratings: your 3 pages" in fig.layout.title.text
    x = space.points
    fig = samples_figure(x, np.zeros_like(x), 1.5 * x, source=yours,
                         D=listener.D, D_label="true D of the simulated listener")
    assert "ratings: your 3 pages" in fig.layout.title.text
    assert any("true D of the simulated listener" in (t.name or "") for t in fig.data)
    fig = ratings_figure({"real": [0.9, 0.8]}, source="5 listeners, 60 pages")
    assert "ratings: 5 listeners, 60 pages" in fig.layout.title.text
    fig = langevin_animation(np.stack([x, 1.1 * x]), points=x, source=yours)
    assert "ratings: your 3 pages" in fig.layout.title.text
    m = ListeningMap(space, samples={"HumanDiffusion": 1.5 * x}, source=yours)
    assert "ratings: your 3 pages" in m.figure.layout.title.text
    m.close()
    live = LiveGradient(space, store, two_raters.name, "you")
    assert "from your 3 pages alone" in live.figure.layout.title.text
    live.close()


# --------------------------------------------------------------------------- the claims checker
def test_one_student_with_four_pages_does_not_make_a_finding(space, store, listener):
    """Notebook 7 with one student: the pooled run's variance ratio is above 1, and the
    claim must still not hold (eight ratings cannot show where people stop accepting)."""
    plan = store.add_plan(hd.plan_for_budget(space.points, 400, seed=0, name="class").per_rater(shared=4))
    hd.answer(listener, store, plan.name, rater="alex", limit=4)
    pooled = ratings_source(store, plan.name)
    assert str(pooled) == "alex, 4 pages" and pooled.ratings == 8
    config = hd.PipelineConfig(particles=500, steps=300, humangan=False)
    try:
        run = hd.run_pipeline(space.points, config, store=store, plan=plan, raters=["alex"])
        claim = claims.rated_spread_claim(run.samples["humandiffusion"], space.points,
                                          ratings=pooled.ratings, whose=pooled,
                                          rated=run.estimate.points)
        assert "8 ratings are too few to show it" in claim.text
    except hd.LangevinDivergence as err:
        claim = claims.diverged_claim(err, ratings=pooled.ratings, whose=pooled)
        assert "more ratings" in claim.text
    assert claim.holds is False
    assert claims.stated(claim).startswith("[DOES NOT HOLD] From alex, 4 pages (8 ratings): ")


def test_a_spread_the_ratings_support_holds(space, listener):
    exact = listener.sample_pH(2000, np.random.default_rng(0))
    rated = space.points + np.random.default_rng(1).standard_normal((400, 2))[:60]
    claim = claims.rated_spread_claim(exact, space.points, ratings=800, whose="a class",
                                      rated=rated, exact=listener.sample_pH(2000))
    assert claim.holds, claim.text
    assert claims.stated(claim).startswith("[holds] From a class (800 ratings): HumanDiffusion")
    flung = np.vstack([exact[:1800], np.full((200, 2), 5.0)])  # a tenth of them where nobody rated
    far = claims.rated_spread_claim(flung, space.points, ratings=800, rated=rated)
    assert not far.holds and "where nobody was asked" in far.text


def test_a_diverged_run_is_told_what_helps_whichever_applies():
    err = SimpleNamespace(step=40, n_bad=12, n=1000)
    few = claims.diverged_claim(err, ratings=8, whose="your 4 pages")
    assert few.holds is False and "Langevin diverged by step 40 (12 of 1000 particles" in few.text
    assert "more ratings (8 is below 200" in few.text and "far prior" in few.text
    assert "smaller step" not in few.text
    big_step = claims.diverged_claim(err, ratings=5000, far_prior=0.5, alpha=2.0)
    assert "more ratings" not in big_step.text and "far prior" not in big_step.text
    assert "a smaller step than alpha = 2" in big_step.text
    no_pull = claims.diverged_claim(err, ratings=5000, far_prior=0.5, lam=0.0)
    assert "regularisation" in no_pull.text
    assert "smaller step" in claims.diverged_claim(err, ratings=5000, far_prior=0.5).text
    assert not claims.no_ratings_claim("the class").holds


def test_order_and_collapse_claims(space):
    ok = claims.order_claim("the noise spreads the samples", {"without": 1.0, "with": 1.9})
    assert ok.holds and ok.text == "the noise spreads the samples: without 1.00 < with 1.90."
    bad = claims.order_claim("the noise spreads the samples", {"without": 2.0, "with": 1.9})
    assert not bad.holds and "not in this order" in bad.text
    one = np.repeat(space.points[:1], 100, axis=0)
    assert claims.sample_collapse_claim(one, space.points).holds
    assert not claims.sample_collapse_claim(space.points, space.points).holds
