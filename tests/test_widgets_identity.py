"""Who rates and whose submission it is: RatingWidget's identity rules, through its twins.

Rater changes from code take the path the Rater id box takes; two widgets rating as the
same person (two tabs in one kernel) do not undo each other's pages or get stuck on a
page answered elsewhere; a plan the widget cannot show never reaches the store.
"""
from __future__ import annotations

import numpy as np
import pytest
from traitlets import TraitError

from hd_widgets.ratings.plan import Query, QueryPlan, nes_plan
from hd_widgets.widgets.rating import RatingWidget


@pytest.fixture(scope="module")
def plan(space):
    return nes_plan(space.points, n_periphery=3, n_pairs=2, seed=0)     # 6 queries


@pytest.fixture
def make(space, store, plan):
    made = []

    def factory(rater="ann", **kw):
        w = RatingWidget(space, store, plan, rater, **kw)
        made.append(w)
        return w
    yield factory
    for w in made:
        w.close()


class Half:
    name = "half"

    def rate(self, points):
        return np.full(len(points), 0.5)


def test_rater_set_from_code_is_stripped_checked_and_resumes(make, store, plan):
    w = make()
    w.answer_with(Half(), n=2)
    w.rater = "  bo "                                  # from code: the box's path
    assert w.rater == "bo" and w._rater_box.value == "bo"
    assert w.status == "Welcome, bo." and w.query.index == store.next_query(plan.name, "bo").index
    assert w._progress.value.startswith("0 of 6 rated")
    w.rater = "ann"                                    # back: resumes ann's third page
    assert w.status == "Welcome back, ann." and w.query.index == 2
    for bad in ("", "   ", "a\x00b"):
        with pytest.raises(TraitError, match="Rater id refused"):
            w.rater = bad
        assert w.rater == "ann" and w.query.index == 2 and w._rater_box.value == "ann"
        assert w.status.startswith("Rater id refused") and "still rating as 'ann'" in w.status
    w._rater_box.value = " "                           # typed into the box: same rule
    assert w.rater == "ann" and w._rater_box.value == "ann" and "empty" in w.status
    w._rater_box.value = " cy "
    assert w.rater == "cy" and w._rater_box.value == "cy" and w.status == "Welcome, cy."
    assert store.ratings(plan.name, rater="bo") == [] and store.ratings(plan.name, rater="cy") == []


def test_a_refused_id_at_start_waits_for_a_valid_one(make):
    w = make(rater="a\x00b")
    assert w.rater == "" and w.query is None and w.status.startswith("Rater id refused")
    assert not w.submit()
    w.rater = "dee"
    assert w.query is not None and w.status == "Welcome, dee."


def test_two_widgets_same_rater_neither_stuck_nor_undoing_the_other(make, store, plan):
    one, two = make(), make()                          # two tabs, one kernel, one person
    assert one.query.index == two.query.index == 0
    one.set_ratings(0.2, 0.8)
    assert one.submit() and one.query.index == 1
    two.set_ratings(0.9, 0.1)
    assert not two.submit()                            # page 0 was answered in the other tab
    assert "already answered" in two.status and "next page" in two.status
    assert two.query.index == 1 and not two._touched[0]   # moved on, fresh sliders
    assert sorted(r.value for r in store.ratings(plan.name)) == [0.2, 0.8]   # one's only
    two.set_ratings(0.6, 0.6)
    assert two.submit() and two.query.index == 2
    one.set_ratings(0.3, 0.3)
    assert not one.submit() and one.query.index == 2   # page 1 answered by two: move on
    # one's Undo must not withdraw two's page 1, the rater's last submission
    assert not one.undo()
    assert "made elsewhere" in one.status and "query #2" in one.status
    assert {r.query for r in store.ratings(plan.name)} == {0, 1}
    assert two.undo() and two.query.index == 1        # its own: page 1 back, its values
    assert [s.value for s in two._sliders] == [0.6, 0.6]
    assert not two.undo() and "Nothing to undo here" in two.status   # page 0 is one's
    assert {r.query for r in store.ratings(plan.name)} == {0}
    assert one.undo() and one.query.index == 0         # now one's page 0 is the last: ok
    assert store.ratings(plan.name) == []
    assert not one.undo() and one.status == "Nothing to undo."


def test_answer_with_passes_pages_answered_elsewhere(make, store, plan):
    one, two = make(), make()
    one.answer_with(Half(), n=1)
    assert two.answer_with(Half(), n=2) == 2           # page 0 passed, pages 1 and 2 saved
    assert store.progress(plan.name, "ann") == (3, 6)


def test_a_new_widget_does_not_undo_an_earlier_kernels_page(make, store, plan):
    make().answer_with(Half(), n=1)
    again = make()                                      # a restarted kernel
    assert not again.undo() and "Nothing to undo here" in again.status
    assert store.progress(plan.name, "ann")[0] == 1


def test_skip_of_a_page_answered_elsewhere_moves_on(make, store, plan):
    one, two = make(), make()
    one.answer_with(Half(), n=1)
    assert not two.skip() and "already answered" in two.status and two.query.index == 1


def test_on_submit_runs_after_each_saved_submission(make):
    w = make()
    calls = []
    w.on_submit(lambda widget: calls.append((widget, widget.status, widget.query.index)))
    w._buttons["submit"].click()                       # refused (sliders untouched): no call
    assert calls == []
    w.set_ratings(0.4, 0.6)
    assert w.submit()
    assert calls == [(w, w.status, 1)] and calls[0][1].startswith("Saved query #1")
    w.skip(); w.undo()                                 # neither calls it
    assert len(calls) == 1

    def broken(widget):
        raise RuntimeError("a callback bug")
    w.on_submit(broken)
    w.set_ratings(0.1, 0.2)
    assert w.submit() and len(calls) == 2               # saved despite the broken callback
    w.on_submit(broken, remove=True)
    w.on_submit(calls.append, remove=True)              # never registered: a no-op
    assert len(w._submit_handlers.callbacks) == 1


def three_clip_plan(name="three"):
    pts = np.zeros((3, 2))
    return QueryPlan(name, (Query(0, pts, ("a", "b", "c")), Query(1, pts, ("a", "b", "c"))))


@pytest.mark.parametrize("bad, match", [
    (QueryPlan("mixed", (Query(0, np.zeros((2, 2)), ("plus", "minus")),
                         Query(1, np.zeros((3, 2)), ("a", "b", "c")))), "different numbers"),
    (QueryPlan("one", (Query(0, np.zeros((1, 2)), ("a",)),)), "1 clips"),
    (QueryPlan("ten", (Query(0, np.zeros((10, 2)), tuple("abcdefghij")),)), "2 to 9"),
    (QueryPlan("threed", (Query(0, np.zeros((2, 3)), ("plus", "minus")),)), "d = 3"),
])
def test_a_plan_it_cannot_show_is_refused_before_it_is_stored(space, store, bad, match):
    with pytest.raises(ValueError, match=match):
        RatingWidget(space, store, bad, "ann")
    assert bad.name not in store.plan_names()


def test_a_stored_plan_of_another_dimension_is_refused_by_name(space, store):
    store.add_plan(QueryPlan("threed", (Query(0, np.zeros((2, 3)), ("plus", "minus")),)))
    with pytest.raises(ValueError, match="d = 3 dimensions, the space has d = 2"):
        RatingWidget(space, store, "threed", "ann")
    w = RatingWidget(space, store, three_clip_plan(), "ann")     # k = 3 is fine
    assert w.letters == ["A", "B", "C"] and "three" in store.plan_names()
    w.close()
