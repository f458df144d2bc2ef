"""RatingWidget driven through its programmatic twins, with a real store and feature space.

No browser: every action goes through the same handlers a person's clicks and keys reach
(``Button.click()``, slider value changes, the ipyevents key handler).
"""
from __future__ import annotations

import math
import sqlite3
import threading

import numpy as np
import pytest

from hd_widgets.ratings.plan import nes_plan
from hd_widgets.ratings.store import RatingsStore
from hd_widgets.widgets.rating import RatingWidget, display_order


@pytest.fixture(scope="module")
def plan(space):
    return nes_plan(space.points, n_periphery=4, n_pairs=2, seed=0)    # 8 queries


@pytest.fixture
def make(space, store, plan):
    made = []

    def factory(rater="ann", *, st=None, sp=None, **kw):
        w = RatingWidget(sp or space, st or store, plan, rater, **kw)
        made.append(w)
        return w
    yield factory
    for w in made:
        w.close()


class Ramp:
    """A listener with a known answer: D(x) = clip(0.5 + 0.2 x_0, 0, 1)."""
    name = "ramp"

    def rate(self, points):
        return np.clip(0.5 + 0.2 * np.asarray(points)[:, 0], 0.0, 1.0)


def stored(store, plan, rater="ann"):
    """{query: {kind: value}} of the active ratings."""
    out: dict = {}
    for r in store.ratings(plan.name, rater=rater):
        out.setdefault(r.query, {})[r.kind] = r.value
    return out


def test_order_is_seeded_and_maps_back_exactly(make, store, plan, space):
    w = make()
    orders, given = set(), {}
    while w.query is not None:
        q, order = w.query, w._order
        assert np.array_equal(order, display_order(0, "ann", q.index, 2))
        orders.add(tuple(order))
        # the player labelled A plays the clip at order[0], at the space's own level
        assert w._players[0].value == space.render_wav(q.points[order[0]])
        assert w._players[0].format == "wav" and not w._players[0].autoplay
        a, b = 0.11 + 0.1 * q.index, 0.93 - 0.1 * q.index
        w.set_ratings(a, b)
        assert w.submit(), w.status
        given[q.index] = {q.kinds[order[0]]: a, q.kinds[order[1]]: b}
    assert orders == {(0, 1), (1, 0)}                    # both orders occur
    assert stored(store, plan) == given      # plus/minus exactly as set on A/B
    assert w.finished and "Finished" in w._title.value
    # the finished card keeps no last answer on show: blank, disabled sliders
    assert all(sl.disabled and sl.value == 0.5 for sl in w._sliders) and not any(w._touched)
    assert w.undo() and w.query is not None                # undo brings the last page back
    assert not any(sl.disabled for sl in w._sliders)
    assert sorted(sl.value for sl in w._sliders) == sorted(given[w.query.index].values())
    w.submit()
    assert not np.array_equal([display_order(0, r, 3, 2) for r in "abcdefgh"],
                              [display_order(0, "a", 3, 2)] * 8)


def test_submit_needs_every_slider_moved(make, store, plan):
    w = make()
    q0 = w.query.index
    assert w._buttons["submit"].disabled
    assert not w.submit()
    assert "A and B" in w.status and store.ratings(plan.name) == []
    w._sliders[0].value = 0.8                        # a person drags A only
    assert not w.submit() and "rate B" in w.status and w.query.index == q0
    assert w._sliders[0].readout and not w._sliders[1].readout
    w.set_ratings(0.8, 0.5)                          # B "moved" to 0.50 explicitly
    assert w.submit() and w.status.startswith("Saved")
    assert not w.submit()                            # a double-click: keep "Saved", no error
    assert w.status.startswith("Saved") and "ignored" in w.status
    assert len(store.ratings(plan.name)) == 2


def test_store_errors_show_keep_the_page_and_store_nothing(make, store, plan, monkeypatch):
    w = make()
    q0 = w.query.index

    def locked(*args, **kwargs):
        raise sqlite3.OperationalError("database is locked")
    monkeypatch.setattr(store, "rate", locked)
    w.set_ratings(0.3, 0.7)
    assert not w.submit()
    assert w.status.startswith("Not saved (OperationalError)") and "locked" in w.status
    assert w.query.index == q0 and [s.value for s in w._sliders] == [0.3, 0.7]
    assert store.ratings(plan.name) == []
    monkeypatch.undo()
    assert w.submit() and len(store.ratings(plan.name)) == 2     # the same page, kept
    with pytest.raises(ValueError):
        w.set_ratings(float("nan"), 0.5)
    with pytest.raises(ValueError):
        w.set_ratings(1.2, 0.5)


def test_no_rater_no_submission(make, store, plan):
    w = make(rater="")
    assert w.query is None and "rater id" in w.status
    assert not w.submit() and not w.skip() and not w.undo()
    assert "rater id" in w.status and store.ratings(plan.name) == []
    w._rater_box.value = "a\x00b"                   # the store refuses NUL characters
    assert w.rater == "" and w.status.startswith("Rater id refused") and w.query is None
    w._rater_box.value = "bo"                       # typed into the box
    assert w.rater == "bo" and w.query is not None and w.status == "Welcome, bo."


def test_undo_records_an_event_and_returns_to_that_query(make, store, plan):
    w = make()
    assert not w.undo() and "nothing to undo" in w.status.lower()
    first = w.query.index
    w.set_ratings(0.2, 0.9)
    assert w.submit()
    second = w.query.index
    assert w.undo()
    assert w.query.index == first and "Undone" in w.status
    assert [s.value for s in w._sliders] == [0.2, 0.9] and all(w._touched)
    assert store.ratings(plan.name) == []
    with sqlite3.connect(store.path) as c:
        assert c.execute("SELECT kind, query FROM events").fetchall() == [("undo", first)]
        assert c.execute("SELECT COUNT(*) FROM ratings").fetchone()[0] == 2   # kept
    w.set_ratings(0.4, 0.6)
    assert w.submit() and w.query.index == second
    assert sorted(stored(store, plan)[first].values()) == pytest.approx([0.4, 0.6])


def test_skip_comes_back_last(make, store, plan):
    w = make()
    skipped = w.query.index
    assert w.skip() and "Skipped" in w.status and w.query.index != skipped
    seen = []
    while w.query is not None:
        seen.append(w.query.index)
        w.answer_with(Ramp(), n=1)
    assert seen[-1] == skipped and len(seen) == len(plan)
    assert w.finished and store.progress(plan.name, "ann") == (len(plan), len(plan))


def test_resume_with_a_new_widget(make, store, plan, space):
    w = make()
    assert w.answer_with(Ramp(), n=3) == 3
    expected = store.next_query(plan.name, "ann").index
    w.close()
    fresh = RatingsStore(store.path)                  # a restarted kernel
    w2 = make(st=fresh, sp=space)
    assert w2.query.index == expected and w2.status == "Welcome back, ann."
    assert w2._progress.value.startswith(f"3 of {len(plan)} rated")
    assert w2.answer_with(Ramp()) == len(plan) - 3 and w2.finished
    assert "finished" in repr(w2) and f"rated={len(plan)}/{len(plan)}" in repr(w2)
    fresh.close()


def test_answer_with_rates_like_the_listener(make, store, plan):
    w = make(rater="sim")
    assert w.answer_with(Ramp()) == len(plan)
    assert w.finished and w.answer_with(Ramp()) == 0
    truth = Ramp().rate
    for r in store.ratings(plan.name, rater="sim"):
        q = plan[r.query]
        assert r.value == pytest.approx(truth(q.points[[r.clip]])[0])
        assert r.kind == q.kinds[r.clip]


def test_progress_and_time_left_follow_own_pace(make, monkeypatch, plan):
    clock = [1000.0]
    monkeypatch.setattr("hd_widgets.widgets.rating.time.monotonic", lambda: clock[0])
    w = make()
    n = len(plan)
    assert w._progress.value == f"0 of {n} rated · time left shown after your first rating"
    for dt in (10.0, 12.0, 11.0):
        clock[0] += dt
        w.answer_with(Ramp(), n=1)
    assert w._bar.value == 3 and w._bar.max == n
    assert w._progress.value == f"3 of {n} rated · about {11 * (n - 3)} s left"


def test_keys_drive_the_same_handlers(make, store, plan):
    w = make()
    w.press("2")
    assert w._players[1].autoplay and not w._players[0].autoplay and w._selected == 1
    w.press("a"); w.press("a"); w.press("ArrowUp")
    assert w._sliders[1].value == pytest.approx(0.65) and w._touched == [False, True]
    w.press("1"); w.press("z")
    assert w._sliders[0].value == pytest.approx(0.45) and all(w._touched)
    w._on_key({"type": "keydown", "key": "Enter", "ctrlKey": True})    # Ctrl+Enter: ignored
    assert store.ratings(plan.name) == []
    w._on_key({"type": "keydown", "key": "Enter", "repeat": True})     # held key: ignored
    assert store.ratings(plan.name) == []
    w.press("Enter")
    assert len(store.ratings(plan.name)) == 2
    assert not any(p.autoplay for p in w._players)       # next page does not autoplay
    w.press("u")
    assert store.ratings(plan.name) == []
    w.press("s")
    assert "Skipped" in w.status


class CountingSpace:
    """Wraps a space; records which thread rendered each clip."""

    def __init__(self, space):
        self.space, self.threads = space, []

    def render_wav(self, point):
        self.threads.append(threading.current_thread().name)
        return self.space.render_wav(point)


def test_next_pair_is_prefetched(make, space):
    counting = CountingSpace(space)
    w = make(sp=counting)
    assert counting.threads[:2] == ["MainThread"] * 2        # the first pair, on demand
    for _ in range(3):
        for fut in list(w._prefetch._futures.values()):    # "listening" while it renders
            fut.result(timeout=10)
        w.answer_with(Ramp(), n=1)
    assert counting.threads.count("MainThread") == 2, counting.threads
    assert counting.threads.count("hd-prefetch_0") >= 6
    assert w._prefetch.hits == 3 and w._prefetch.misses == 1


def test_repr_and_close(make, plan):
    w = make()
    text = repr(w)
    assert text.startswith("RatingWidget(plan='nes', rater='ann'") and "rated=0/8" in text
    w.close()
    assert w.comm is None and all(s.comm is None for s in w._sliders)


# --------------------------------------------------------------------------- a study in rounds
@pytest.fixture(scope="module")
def finished_study(tmp_path_factory, space):
    """A small study (3 rounds, 40 pages) rated to the end through its widget; the widget
    and its cloud are checked at 0 ratings, after 3 pages and at the end."""
    from hd_widgets.ratings.listeners import SimulatedListener
    from hd_widgets.study.rounds import RoundsConfig, RoundsStudy
    from hd_widgets.widgets.study import StudyWidget
    store = RatingsStore(tmp_path_factory.mktemp("study") / "s.sqlite")
    study = RoundsStudy(store, space.points, RoundsConfig(budget=80, steps=200, particles=300,
                                                          final_networks=2), name="s")
    w = StudyWidget(space, study, "you", poll_s=None)
    seen = {"start": (w.cloud.n_rated, len(w.cloud.figure.data[1].x),
                      w.cloud.figure.layout.title.text, len(study.plans()[0]))}
    lis = SimulatedListener.from_data(space.points, seed=1, name="you")
    w.answer_with(lis, n=3)
    seen["three"] = (w.cloud.n_rated, w.cloud.rated(), w.cloud.figure.layout.title.text,
                     {r.query for r in store.ratings(study.plans()[0].name)})
    w.answer_with(lis)
    yield w, study, seen
    w.close()
    study.close()
    store.close()


def test_the_cloud_draws_only_the_pages_rated(finished_study):
    w, study, seen = finished_study
    n, drawn, title, planned = seen["start"]
    assert (n, drawn) == (0, 0) and planned > 0                # planned pages are not "rated"
    assert "0 pages rated" in title
    n, rated, title, answered = seen["three"]
    first = study.plans()[0]
    assert n == 3 and len(answered) == 3 and "3 pages rated" in title
    want = np.array([q.points.mean(axis=0) for q in first if q.index in answered])
    assert np.allclose(np.sort(rated, axis=0), np.sort(want, axis=0))   # each page's centre
    names = [t.name for t in w.cloud.figure.data]
    assert names == ["model's samples (cloud)", "pages rated so far", "real voices"]
    assert w.cloud.n_rated == sum(len(p) for p in study.plans()) == 40
    assert "40 pages rated" in w.cloud.figure.layout.title.text



def test_the_cloud_says_the_final_fit_is_to_come_then_draws_it(finished_study):
    """Every round rated, no final fit yet: the last round's cloud is not passed off as the
    result; after ``fit()`` the cloud is the final fit's."""
    w, study, _ = finished_study
    assert study.finished() and study.config.rounds not in study.clouds()   # not fitted yet
    w.cloud.update()
    title = w.cloud.figure.layout.title.text
    assert "after round 2" in title and "the final fit comes next" in title
    assert w.cloud.shown_round == 2
    study.fit(particles=300)
    w.cloud.update()
    title = w.cloud.figure.layout.title.text
    assert "after the final fit" in title and "where its samples go" in title
    assert w.cloud.shown_round == 3 and len(w.cloud.figure.data[0].x) == 300


def test_the_cloud_legend_is_under_the_axis_title(finished_study):
    from hd_widgets.views.style import AXIS_DEPTH_PX, LEGEND_GAP_PX, LEGEND_ROW_PX
    lay = finished_study[0].cloud.figure.layout
    plot = lay.height - lay.margin.t - lay.margin.b
    assert -lay.legend.y * plot == pytest.approx(AXIS_DEPTH_PX + LEGEND_GAP_PX)
    assert lay.margin.b >= AXIS_DEPTH_PX + LEGEND_GAP_PX + LEGEND_ROW_PX
    assert lay.legend.yanchor == "top"
    (x0, x1), (y0, y1) = lay.xaxis.range, lay.yaxis.range      # sized to its square plot:
    assert lay.width == math.ceil(lay.margin.l + plot * (x1 - x0) / (y1 - y0) + lay.margin.r)


def test_a_finished_study_says_so_of_the_whole_study(finished_study):
    w, study, _ = finished_study
    assert study.finished("you") and w.finished and w.query is None
    says = ("every round of the study is rated (3 rounds, 40 pages, 80 ratings)")
    assert says in w._title.value and "queries rated" not in w._title.value
    assert not w.submit() and says in w.status                  # Submit on a finished study
    assert "80 of 80 ratings in all" in w._progress.value
