"""End to end at a small budget: plan -> simulated listener -> store -> estimate -> train ->
Langevin, against the exact p_H; the grid baseline through the same store; and the
teaching point that without regularisation the sampler does not converge."""
import numpy as np
import pytest

from hd_widgets.method.grid import PerceptionMap
from hd_widgets.ratings.budget import grid_plan
from hd_widgets.method.estimation import EstimateOptions, from_plan, from_store
from hd_widgets.method.pairs import PairRatings
from hd_widgets.ratings.budget import plan_for_budget
from hd_widgets.method.sampling import LangevinDivergence, init_from_data, langevin
from hd_widgets.ratings.answering import answer
from hd_widgets.ratings.listeners import SimulatedListener
from hd_widgets.method.metrics import energy_distance, variance_ratio
from hd_widgets.method.network import ScoreNetConfig
from hd_widgets.method.training import train

store_mod = pytest.importorskip("hd_widgets.ratings.store")


def clusters(d=2, seed=0):
    rng = np.random.default_rng(seed)
    means = 2.0 * rng.standard_normal((3, d))
    x = np.concatenate([m + 0.5 * rng.standard_normal((20, d)) for m in means])
    return (x - x.mean(0)) / x.std(0)


@pytest.fixture(scope="module")
def world():
    data = clusters()
    lis = SimulatedListener.from_data(data, seed=0, name="sim")
    return data, lis, lis.sample_pH(3000, rng=1)


def test_small_budget_through_the_store(world, tmp_path):
    data, lis, truth = world
    plan = plan_for_budget(data, 400, seed=0, name="nes400")
    with store_mod.RatingsStore(tmp_path / "ratings.db") as store:
        store.add_plan(plan)
        assert answer(lis, store, "nes400") == len(plan) == 200
        est = from_store(store, "nes400", data)
    assert len(est) == 200 and int(est.n_pairs.sum()) == 200 and len(est.obs_values) == 400
    net = train(est, ScoreNetConfig(d=2, steps=600, seed=0), progress=False)
    res = langevin(net.score_fn(), data, n=3000, n_steps=1000, seed=0)
    hd = res.samples
    baseline = energy_distance(init_from_data(data, 3000, seed=0), truth)   # "just the data"
    e = energy_distance(hd, truth)
    assert e < 0.15 and e < 0.6 * baseline
    assert 1.3 < variance_ratio(hd, data) < 3.0              # wider than the data, like p_H


def test_the_store_and_the_arrays_agree(world, tmp_path):
    data, lis, _ = world
    plan = plan_for_budget(data, 60, seed=1, name="p")
    with store_mod.RatingsStore(tmp_path / "r.db") as store:
        store.add_plan(plan)
        answer(lis.with_(noise=0.0), store, "p")
        via_store = from_store(store, "p", data)
    via_arrays = from_plan(plan, PairRatings.from_listener(lis.with_(noise=0.0), plan), data)
    np.testing.assert_array_equal(via_store.periphery, via_arrays.periphery)
    for name in ("points", "D", "grad", "target"):
        np.testing.assert_allclose(getattr(via_store, name), getattr(via_arrays, name), atol=1e-12)
    np.testing.assert_allclose(np.sort(via_store.obs_values), np.sort(via_arrays.obs_values))


def test_without_regularisation_the_sampler_diverges(world):
    data, lis, _ = world
    plan = plan_for_budget(data, 400, seed=0)
    pairs = PairRatings.from_listener(lis.with_(seed=0), plan)
    cfg = ScoreNetConfig(d=2, steps=600, seed=2)
    bare = train(from_plan(plan, pairs, data, EstimateOptions(lam=0.0)), cfg, progress=False)
    with pytest.raises(LangevinDivergence):
        langevin(bare.score_fn(), data, n=2000, n_steps=3000, seed=0, max_norm=20)
    held = train(from_plan(plan, pairs, data), cfg, progress=False)
    x = langevin(held.score_fn(), data, n=2000, n_steps=3000, seed=0, max_norm=20).samples
    assert np.abs(x).max() < 6 and variance_ratio(x, data) < 3


def test_grid_baseline_through_the_store(world, tmp_path):
    data, lis, truth = world
    plan = grid_plan(data, 400, name="grid")
    assert plan.n_ratings <= 400 and plan.config["repeats"] >= 1
    with store_mod.RatingsStore(tmp_path / "g.db") as store:
        store.add_plan(plan)
        answer(lis, store, "grid")
        pmap = PerceptionMap.from_store(store, "grid")
    assert pmap.values.shape == (20, 20) and 0 <= pmap.floor < 0.2
    x = pmap.sample(3000, rng=0)
    assert energy_distance(x, truth) < 0.15
    direct = PerceptionMap.from_listener(lis.with_(seed=0), data, 400)
    assert "grid=20x20" in repr(direct)
    flat = PerceptionMap(direct.axes, np.zeros_like(direct.values))
    assert flat.sample(10).shape == (10, 2) and flat.flat
    assert grid_plan(data, 4).n_ratings == 4                 # the smallest 2-D grid, 2 x 2
    for budget in (3, 0, -1):                                # would cost more than the budget
        with pytest.raises(ValueError, match="cannot pay"):
            grid_plan(data, budget)
        with pytest.raises(ValueError, match="cannot pay"):
            PerceptionMap.from_listener(lis, data, budget)


def test_far_prior_keeps_a_small_budget_from_a_phantom_region():
    """200 ratings on the shipped space, a seed where the network, asked nothing beyond
    the plan's reach, extrapolates D ~ 0.9 into an empty corner and Langevin fills it;
    the far prior (ScoreNetConfig.far_prior) marks that corner unnatural and the
    samples stay in the acceptable region."""
    from hd_widgets.speech.space import FeatureSpace
    data = FeatureSpace.default(2).points
    lis = SimulatedListener.from_data(data, seed=0)
    plan = plan_for_budget(data, 200, seed=8)
    est = from_plan(plan, PairRatings.from_listener(lis.with_(seed=10_008), plan), data)
    outside = {}
    for far in (0.0, 0.5):
        net = train(est, ScoreNetConfig.for_estimate(est, seed=8, far_prior=far), progress=False)
        x = langevin(net.score_fn(), data, n=3000, n_steps=1000, seed=8).samples
        outside[far] = float((lis.D(x) < 0.05).mean())           # mass where D is ~0
    # measured: 0.19 without, 0.03 with the prior; exact p_H puts 0.004 there
    assert outside[0.5] < 0.06 and outside[0.0] > 0.12
