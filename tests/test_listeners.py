"""SimulatedListener: a known D(x), its exact gradient, score, samples and normaliser."""
import numpy as np
import pytest

from hd_widgets.ratings.answering import answer
from hd_widgets.ratings.listeners import Listener, SimulatedListener
from hd_widgets.ratings.plan import nes_plan


def clusters(d, seed=0):
    """Stand-in data: 3 Gaussian clusters of 20 points, normalised."""
    rng = np.random.default_rng(seed)
    means = 2.0 * rng.standard_normal((3, d))
    x = np.concatenate([m + 0.5 * rng.standard_normal((20, d)) for m in means])
    return (x - x.mean(0)) / x.std(0)


@pytest.fixture(scope="module", params=[2, 5])
def listener(request):
    return SimulatedListener.from_data(clusters(request.param), seed=1)


def far_points(d, n=50, radius=12.0, seed=0):
    u = np.random.default_rng(seed).standard_normal((n, d))
    return radius * u / np.linalg.norm(u, axis=1, keepdims=True)


def test_D_is_in_unit_interval_high_on_data_and_vanishes_far_away(listener):
    d = listener.d
    rng = np.random.default_rng(0)
    x = 4 * rng.standard_normal((2000, d))
    D = listener.D(x)
    assert D.shape == (2000,) and np.all((D >= 0) & (D <= listener.top))
    assert listener.D(listener.centers).mean() > 0.95
    far = far_points(d)
    assert listener.D(far).max() < 1e-8
    assert np.abs(listener.grad_D(far)).max() < 1e-8          # gradients vanish far away
    assert np.all(np.isfinite(listener.log_D(far)))


def test_analytic_gradient_matches_finite_differences(listener):
    d = listener.d
    x = listener.sample_pH(20, rng=3)
    h = 1e-6
    fd = np.stack([(listener.D(x + h * e) - listener.D(x - h * e)) / (2 * h) for e in np.eye(d)], 1)
    np.testing.assert_allclose(listener.grad_D(x), fd, atol=1e-7)
    # the score of p_H is grad log D
    np.testing.assert_allclose(listener.score(x), listener.grad_D(x) / listener.D(x)[:, None],
                               rtol=1e-8, atol=1e-10)


def test_pH_integrates_to_one_on_a_grid_in_2d():
    lis = SimulatedListener.from_data(clusters(2))
    axes, _ = lis.pH_grid(-7, 7, 301)
    mesh = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 2)
    cell = (14 / 300) ** 2
    assert lis.pH(mesh).sum() * cell == pytest.approx(1.0, abs=0.01)


def test_pH_integrates_to_one_by_monte_carlo_in_5d():
    lis = SimulatedListener.from_data(clusters(5))
    rng = np.random.default_rng(7)
    s = 2.5                                                    # a proposal unrelated to the listener's
    x = s * rng.standard_normal((400_000, 5))
    q = np.exp(-0.5 * (x ** 2).sum(1) / s ** 2) / (2 * np.pi * s ** 2) ** 2.5
    assert np.mean(lis.pH(x) / q) == pytest.approx(1.0, abs=0.03)


def test_exact_samples_follow_pH_and_spread_twice_the_data(listener):
    x = listener.sample_pH(20_000, rng=0)
    assert x.shape == (20_000, listener.d)
    ratio = x.var(0).sum() / listener.centers.var(0).sum()
    assert ratio == pytest.approx(2.0, abs=0.1)                # calibrated radius
    # self-normalised importance estimate of the mean under p_H agrees with the samples
    rng = np.random.default_rng(1)
    y = 3.0 * rng.standard_normal((200_000, listener.d))
    w = listener.D(y) * np.exp(0.5 * (y ** 2).sum(1) / 9.0)
    np.testing.assert_allclose(x.mean(0), (w[:, None] * y).sum(0) / w.sum(), atol=0.05)


def test_ratings_are_clipped_noisy_biased_and_seeded():
    lis = SimulatedListener.from_data(clusters(2), noise=0.2, seed=5)
    x = np.random.default_rng(0).normal(size=(500, 2)) * 2
    a = lis.rate(x)
    assert np.all((a >= 0) & (a <= 1)) and np.any(a == 0) and np.any(a == 1)
    np.testing.assert_array_equal(a, SimulatedListener.from_data(clusters(2), noise=0.2, seed=5).rate(x))
    assert not np.array_equal(a, lis.rate(x))                 # the generator moves on
    clean = lis.with_(noise=0.0)
    np.testing.assert_allclose(clean.rate(x), lis.D(x))
    strict = lis.with_(noise=0.0, bias=-0.3)
    assert strict.rate(x).mean() < clean.rate(x).mean() - 0.1
    crowd = lis.crowd(4, bias_sd=0.1, seed=0)
    assert len({c.name for c in crowd}) == 4 and len({c.bias for c in crowd}) == 4


def test_protocol_repr_and_validation():
    lis = SimulatedListener.from_data(clusters(2))
    assert isinstance(lis, Listener)
    text = repr(lis)
    assert text.startswith("SimulatedListener(") and "radius=" in text and "d=2" in text
    with pytest.raises(ValueError):
        SimulatedListener(np.zeros((3, 2)), radius=-1.0)
    with pytest.raises(ValueError):
        lis.D(np.zeros((4, 3)))


def test_answer_goes_through_the_store(tmp_path):
    store_mod = pytest.importorskip("hd_widgets.ratings.store")
    x = clusters(2)
    plan = nes_plan(x, n_periphery=6, n_pairs=2, seed=0, name="t")
    lis = SimulatedListener.from_data(x, seed=0, name="sim")
    with store_mod.RatingsStore(tmp_path / "r.db") as store:
        store.add_plan(plan)
        assert answer(lis, store, "t", limit=5) == 5
        assert store.progress("t", "sim") == (5, 12)
        assert answer(lis, store, "t") == 7
        assert answer(lis, store, "t") == 0
        table = store.table("t")
        assert len(table["value"]) == plan.n_ratings
        assert set(table["rater"]) == {"sim"}
