"""Classroom: agreement against a known truth, status, pooling, the dashboard."""
import numpy as np
import pytest

from hd_widgets.study.classroom import agreement, class_status, pooled_table
from hd_widgets.widgets.classroom import ClassroomDashboard
from hd_widgets.ratings.plan import nes_plan
from hd_widgets.ratings.store import RatingsStore


def truth(points):
    return np.exp(-0.5 * np.sum(points ** 2, axis=1) / 4)


@pytest.fixture()
def class_store(tmp_path):
    plan = nes_plan(np.random.default_rng(0).standard_normal((10, 2)), n_periphery=10,
                    n_pairs=2, seed=0)
    store = RatingsStore(tmp_path / "class.sqlite")
    store.add_plan(plan)
    rng = np.random.default_rng(1)
    for i in range(6):  # five attentive students and one rating at random
        rater = f"s{i}" if i < 5 else "random"
        for q in list(plan)[:12]:
            v = truth(q.points) + 0.05 * rng.standard_normal(2) if i < 5 else rng.uniform(0, 1, 2)
            store.rate(plan.name, q.index, np.clip(v, 0, 1), rater=rater)
    return store, plan


def test_agreement_separates_attentive_from_random(class_store):
    store, plan = class_store
    agr = agreement(store, plan.name)
    assert min(agr[f"s{i}"] for i in range(5)) > 0.8
    assert agr["random"] < 0.5


def test_status_and_pooling(class_store):
    store, plan = class_store
    status = {s.rater: s for s in class_status(store, plan.name)}
    assert status["s0"].queries == 12 and status["s0"].ratings == 24
    assert status["s0"].seconds_since_last >= 0
    pooled = pooled_table(store, plan.name, min_agreement=0.5)
    assert "random" not in set(pooled["rater"]) and len(pooled["value"]) == 5 * 24
    assert len(pooled_table(store, plan.name)["value"]) == 6 * 24
    assert len(pooled_table(store, plan.name, exclude=["s0"])["value"]) == 5 * 24


def test_dashboard_refresh_shows_new_raters(class_store):
    store, plan = class_store
    dash = ClassroomDashboard(store, plan.name, interval=None)
    assert "6 raters" in dash._summary.value and "random" in dash._table.value
    store.rate(plan.name, plan[15].index, [0.5, 0.5], rater="late")
    dash.refresh()
    assert "7 raters" in dash._summary.value and "late" in dash._table.value
