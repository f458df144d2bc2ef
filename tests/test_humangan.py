"""HumanGAN collapses onto the mode of D; early stopping is the heuristic; HumanDiffusion spreads."""
import numpy as np
import pytest

from hd_widgets.method.humangan import HumanGAN, HumanGANConfig
from hd_widgets.method.sampling import langevin
from hd_widgets.method.score import numpy_score_fn
from hd_widgets.ratings.listeners import SimulatedListener
from hd_widgets.method.metrics import variance_ratio


@pytest.fixture(scope="module")
def world():
    rng = np.random.default_rng(0)
    means = 2.0 * rng.standard_normal((3, 2))
    x = np.concatenate([m + 0.5 * rng.standard_normal((20, 2)) for m in means])
    x = (x - x.mean(0)) / x.std(0)
    return x, SimulatedListener.from_data(x, seed=0)


def test_collapse_versus_early_stop_versus_langevin(world):
    data, lis = world
    score = numpy_score_fn(lis.score)
    cfg = HumanGANConfig(d=2, init_steps=150, steps=300, seed=0)
    collapsed = HumanGAN(cfg).fit(score, data, progress=False)
    early = HumanGAN(cfg.with_(early_stop=10)).fit(score, data, progress=False)
    vr_collapsed = variance_ratio(collapsed.sample(2000), data)
    vr_early = variance_ratio(early.sample(2000), data)
    assert vr_collapsed < 0.3                                  # onto the mode of D
    assert vr_early > 2 * vr_collapsed and vr_early > 0.3      # stopped before it got there
    assert early.ascent_steps_ == 10 and collapsed.ascent_steps_ == 300
    # the generated points sit where D is high ...
    assert lis.D(collapsed.sample(500)).mean() > 0.9
    # ... while HumanDiffusion on the same score spreads wider than the data
    hd = langevin(score, data, n=2000, n_steps=600, alpha=0.02, seed=0).samples
    assert variance_ratio(hd, data) > 1.3


def test_seeded_and_repr(world):
    data, lis = world
    cfg = HumanGANConfig(d=2, init_steps=20, steps=20, seed=3)
    a = HumanGAN(cfg).fit(numpy_score_fn(lis.score), data, progress=False)
    b = HumanGAN(cfg).fit(numpy_score_fn(lis.score), data, progress=False)
    np.testing.assert_array_equal(a.sample(100, seed=1), b.sample(100, seed=1))
    assert not np.array_equal(a.sample(100, seed=1), a.sample(100, seed=2))
    assert repr(a).startswith("HumanGAN(d=2, z_dim=2, ascent_steps=20")


def test_nes_on_a_listener_spends_ratings_and_climbs(world):
    data, lis = world
    cfg = HumanGANConfig(d=2, init_steps=150, steps=30, batch=64, z_dim=3, lr=3e-3, seed=0)
    gan = HumanGAN(cfg).fit_data(1.7 * data, progress=False)   # start out on the edge of D
    before = lis.D(gan.sample(1000)).mean()
    assert 0.05 < before < 0.8
    gan.fit_listener(lis.with_(noise=0.05), n_pairs=2, progress=False)
    assert gan.ratings_used_ == 30 * 64 * 2 * 2
    assert lis.D(gan.sample(1000)).mean() > before + 0.1


def test_a_score_without_a_pull_back_makes_it_run_away_and_says_so(world):
    """A score pointing outward everywhere has no mode to collapse onto: the ascent stops
    with a clear error once generated points leave max_norm, and the generator is kept."""
    import torch
    from hd_widgets.method.humangan import HumanGANDivergence
    data, _ = world
    outward = lambda x: 3.0 * x / x.norm(dim=1, keepdim=True).clamp_min(1e-6)   # |s| = 3, away from 0
    gan = HumanGAN(HumanGANConfig(d=2, init_steps=50, steps=5000, max_norm=10.0, lr=1e-2, seed=0))
    with pytest.raises(HumanGANDivergence, match=r"ran away at ascent step \d+: \d+ of 256 generated "
                                                 r"points .* beyond \|x\| = 10\b") as info:
        gan.fit(outward, data, progress=False)
    err = info.value
    assert 0 < err.step == gan.ascent_steps_ < 5000 and 0 < err.n_bad <= err.n == 256
    x = gan.sample(2000, seed=0)                         # the runaway generator, as it was
    assert np.isfinite(x).all() and np.abs(x).max() > 5
    # the same score with the true pull back (the listener's) never trips the check
    ok = HumanGAN(HumanGANConfig(d=2, init_steps=50, steps=300, max_norm=10.0, lr=1e-2, seed=0))
    ok.fit(numpy_score_fn(world[1].score), data, progress=False)
    assert ok.ascent_steps_ == 300


@pytest.mark.parametrize("bad", [dict(d=0), dict(z_dim=0), dict(batch=0), dict(steps=-1),
                                 dict(early_stop=-1), dict(lr=0.0), dict(max_norm=0.0)])
def test_bad_settings_are_refused(bad):
    with pytest.raises(ValueError):
        HumanGANConfig(**bad)
    assert HumanGANConfig(early_stop=0).early_stop == 0      # no ascent at all is a valid lesson


def test_wrong_shapes_are_errors_not_broadcasts(world):
    data, _ = world
    gan = HumanGAN(HumanGANConfig(d=2, init_steps=2, steps=3))
    with pytest.raises(ValueError, match="must return"):
        gan.fit(numpy_score_fn(lambda x: -x[:, :1]), data, progress=False)   # (n, 1) score
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        gan.fit_data(np.zeros((10, 3)), progress=False)
    with pytest.raises(ValueError):
        gan.sample(-1)
    assert gan.sample(0).shape == (0, 2)
