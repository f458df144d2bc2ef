"""The MUSHRA-style evaluation: plan, page widget, rater screening, results."""
import numpy as np
import pytest

from hd_widgets.study.evaluation import anchor_points, mushra_plan, evaluation_results, screen_raters
from hd_widgets.widgets.evaluation import EvaluationWidget
from hd_widgets.speech.space import FeatureSpace
from hd_widgets.ratings.store import RatingsStore


class DistanceListener:
    """Rates by distance from the origin: the reference (near 0) high, anchors (r=6) low."""
    name = "distance"

    def rate(self, points):
        return np.clip(1.2 - 0.25 * np.linalg.norm(points, axis=1), 0, 1)


class Careless:
    name = "careless"

    def rate(self, points):
        return np.ones(len(points))


@pytest.fixture(scope="module")
def space():
    return FeatureSpace.default(2)


@pytest.fixture()
def setup(space, tmp_path):
    gen = np.random.default_rng(1).standard_normal((50, 2)) * 1.4
    plan = mushra_plan(space.points, gen, space.reference_point(), n_pages=4, seed=3)
    store = RatingsStore(tmp_path / "eval.sqlite")
    store.add_plan(plan)
    return store, plan


def test_plan_pages_hold_every_kind_in_shuffled_order(space, setup):
    _, plan = setup
    assert len(plan) == 4 and plan.n_ratings == 4 * 6
    for q in plan:
        assert sorted(q.kinds) == ["anchor", "generated", "generated", "real", "real", "reference"]
        ref = q.points[q.kinds.index("reference")]
        np.testing.assert_array_equal(ref, space.reference_point())
        anc = q.points[q.kinds.index("anchor")]
        assert np.linalg.norm(anc) == pytest.approx(6.0)
    assert len({q.kinds for q in plan}) > 1  # positions differ between pages


def test_several_methods_on_one_page(space):
    plan = mushra_plan(space.points, {"humandiffusion": np.zeros((5, 2)), "humangan": np.ones((5, 2))},
                       space.reference_point(), n_pages=2, per_page={"real": 1, "generated": 2,
                                                                       "reference": 1, "anchor": 1})
    assert sorted(plan[0].kinds) == ["anchor", "humandiffusion", "humandiffusion", "humangan",
                                     "humangan", "real", "reference"]


def test_widget_pages_store_ratings_and_resume(space, setup):
    store, plan = setup
    w = EvaluationWidget(space, store, plan.name, "ana")
    assert "Page 1 of 4" in w._title.value
    w.set_ratings([0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    w.submit()
    t = store.table(plan.name)
    np.testing.assert_array_equal(t["value"], [0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    np.testing.assert_array_equal(t["kind"], plan[0].kinds)
    again = EvaluationWidget(space, store, plan.name, "ana")  # a restarted kernel
    assert "Page 2 of 4" in again._title.value
    with pytest.raises(ValueError):
        again.set_ratings([0.5] * 3)
    assert again.answer_with(DistanceListener()) == 3
    assert "finished" in again._title.value and store.progress(plan.name, "ana") == (4, 4)



def test_widget_rater_changes_take_the_rating_pages_path(space, setup):
    """The same rule as the rating page (RaterIdentity): stripped, checked by the store,
    resumed; a refused id raises, says why and keeps the old one."""
    from traitlets import TraitError
    store, plan = setup
    with pytest.raises(ValueError, match="rater id refused"):
        EvaluationWidget(space, store, plan.name, "a\x00b")
    w = EvaluationWidget(space, store, plan.name, "ana")
    w.answer_with(DistanceListener(), n=1)
    w.rater = "  bo "
    assert w.rater == "bo" and w.status == "Welcome, bo." and "Page 1 of 4" in w._title.value
    for bad in ("", "a\x00b"):
        with pytest.raises(TraitError, match="Rater id refused"):
            w.rater = bad
        assert w.rater == "bo" and "still rating as 'bo'" in w.status
    w.rater = "ana"
    assert w.status == "Welcome back, ana." and "Page 2 of 4" in w._title.value
    assert store.progress(plan.name, "bo") == (0, 4)

def test_screening_flags_a_careless_rater(space, setup):
    store, plan = setup
    EvaluationWidget(space, store, plan.name, "good").answer_with(DistanceListener())
    EvaluationWidget(space, store, plan.name, "careless").answer_with(Careless())
    s = screen_raters(store, plan.name)
    assert not s["good"].flagged and s["good"].reference_mean > 0.9
    assert s["careless"].flagged and "anchor" in s["careless"].reason
    res = evaluation_results(store, plan.name)
    assert set(res) == {"real", "generated", "reference", "anchor"}
    assert len(res["real"]) == 4 * 2  # only the good rater's 4 pages
    assert res["anchor"].max() < 0.1
    assert len(evaluation_results(store, plan.name, exclude_flagged=False)["real"]) == 16


def test_anchor_points_any_dimension():
    a = anchor_points(5, 10, radius=4.0, seed=0)
    assert a.shape == (10, 5)
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 4.0)
