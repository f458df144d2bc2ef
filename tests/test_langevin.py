"""Langevin dynamics on known scores: it recovers a Gaussian, is seeded, and fails loudly."""
import numpy as np
import pytest
import torch

from hd_widgets.method.sampling import (LangevinDivergence, ThinProposals, init_from_data, langevin,
                                       resampled_starts)
from hd_widgets.method.score import numpy_score_fn


def gaussian_score(mu, cov):
    prec = torch.as_tensor(np.linalg.inv(cov), dtype=torch.float32)
    m = torch.as_tensor(mu, dtype=torch.float32)
    return lambda x: -(x - m) @ prec


@pytest.mark.parametrize("d", [2, 5])
def test_recovers_mean_and_covariance_of_a_gaussian(d):
    rng = np.random.default_rng(d)
    mu = rng.normal(size=d)
    a = rng.normal(size=(d, d)) * 0.4
    cov = a @ a.T + 0.5 * np.eye(d)
    res = langevin(gaussian_score(mu, cov), np.zeros((1, d)), n=4000, alpha=0.02,
                   n_steps=1500, seed=0)
    x = res.samples
    np.testing.assert_allclose(x.mean(0), mu, atol=0.06)
    np.testing.assert_allclose(np.cov(x, rowvar=False), cov, atol=0.1 * np.abs(cov).max())
    assert res.trajectory is None and "particles=4000" in repr(res)


def test_seeds_chunks_and_trajectory():
    f = gaussian_score(np.zeros(3), np.eye(3))
    x0 = np.random.default_rng(0).normal(size=(500, 3))
    a = langevin(f, x0, n_steps=50, seed=1, chunk=64, record_every=10)
    b = langevin(f, x0, n_steps=50, seed=1, chunk=500)
    c = langevin(f, x0, n_steps=50, seed=2)
    np.testing.assert_array_equal(a.samples, b.samples)       # blocks do not change the dynamics
    assert not np.allclose(a.samples, c.samples)
    assert a.trajectory.shape == (6, 500, 3) and a.steps.tolist() == [0, 10, 20, 30, 40, 50]
    np.testing.assert_allclose(a.trajectory[0], x0, atol=1e-6)
    np.testing.assert_allclose(a.trajectory[-1], a.samples, atol=1e-6)
    torch_x0 = torch.as_tensor(x0, dtype=torch.float32)
    np.testing.assert_array_equal(langevin(f, torch_x0, n_steps=50, seed=1).samples, a.samples)
    assert torch.equal(torch_x0, torch.as_tensor(x0, dtype=torch.float32))   # x0 left alone


def test_too_large_a_step_raises_a_clear_error():
    f = gaussian_score(np.zeros(2), 0.1 * np.eye(2))
    with pytest.raises(LangevinDivergence, match="diverged by step") as info:
        langevin(f, np.zeros((100, 2)), alpha=5.0, n_steps=200, seed=0)
    assert info.value.n_bad > 0 and info.value.n == 100 and info.value.step <= 200
    nan = lambda x: torch.full_like(x, float("nan"))
    with pytest.raises(LangevinDivergence):
        langevin(nan, np.zeros((10, 2)), n_steps=5)


def test_starting_points_and_numpy_scores():
    data = np.arange(12.0).reshape(6, 2)
    x0 = init_from_data(data, 100, seed=0)
    assert x0.shape == (100, 2) and set(map(tuple, x0)) <= set(map(tuple, data))
    f = numpy_score_fn(lambda x: -(x - 1.0))
    res = langevin(f, data, n=3000, n_steps=800, alpha=0.05, seed=0)
    assert res.samples.shape == (3000, 2)
    np.testing.assert_allclose(res.samples.mean(0), [1.0, 1.0], atol=0.08)
    np.testing.assert_allclose(res.samples.var(0), [1.0, 1.0], atol=0.1)
    with pytest.raises(ValueError):
        langevin(f, np.zeros(3))


def test_bad_arguments_get_clear_errors_before_any_step():
    calls = []
    f = lambda x: calls.append(1) or -x
    x0 = np.zeros((4, 2))
    for kwargs, match in [(dict(n_steps=-1), "n_steps"), (dict(chunk=0), "chunk"),
                          (dict(check_every=0), "check_every"), (dict(record_every=-2), "record_every"),
                          (dict(n=0), "particles"), (dict(max_norm=0.0), "max_norm"),
                          (dict(alpha=float("nan")), "alpha"), (dict(noise=-1.0), "noise")]:
        with pytest.raises(ValueError, match=match):
            langevin(f, x0, **kwargs)
    with pytest.raises(ValueError, match="1 row"):
        langevin(f, np.array([[0.0, 0.0], [np.nan, 1.0]]))
    with pytest.raises(ValueError, match="n >= 1"):
        langevin(f, np.zeros((0, 2)))
    assert calls == []                                       # nothing ran
    assert langevin(f, x0, n_steps=0).samples.tolist() == x0.tolist()


def test_a_score_of_the_wrong_shape_is_an_error_not_a_broadcast():
    one_column = lambda x: -x[:, :1]                         # (m, 1) would broadcast onto (m, d)
    with pytest.raises(ValueError, match=r"returned shape \(5, 1\) for particles of shape \(5, 2\)"):
        langevin(one_column, np.zeros((5, 2)), n_steps=3)


def test_noise_scale_sharpens_the_density_analytically():
    # With noise c the chain targets p^(1/c^2): for N(mu, I) that is N(mu, c^2 I);
    # c = 0 is gradient ascent and gathers every particle at the mode.
    f = gaussian_score(np.array([1.0, -2.0]), np.eye(2))
    x0 = np.random.default_rng(0).normal(size=(3000, 2)) * 3
    half = langevin(f, x0, noise=0.5, alpha=0.05, n_steps=600, seed=0).samples
    np.testing.assert_allclose(half.var(0), [0.25, 0.25], atol=0.03)
    zero = langevin(f, x0, noise=0.0, alpha=0.05, n_steps=600, seed=0).samples
    np.testing.assert_allclose(zero, np.tile([1.0, -2.0], (3000, 1)), atol=1e-3)
    for bad in (dict(noise=-1.0), dict(noise=float("nan")), dict(alpha=0.0)):
        with pytest.raises(ValueError):
            langevin(f, x0, n_steps=1, **bad)


# ----------------------------------------------------------------------- resampled starts
def _two_bumps(w_left, d):
    """D: two Gaussian bumps at x0 = -2 and +2 (sd 0.5) holding w_left and 1 - w_left of
    the mass; returns D and its mass on the left."""
    c = np.zeros(d); c[0] = 2.0

    def D(x):
        left = np.exp(-0.5 * (((x + c) / 0.5) ** 2).sum(1))
        right = np.exp(-0.5 * (((x - c) / 0.5) ** 2).sum(1))
        return w_left * left + (1 - w_left) * right
    return D


@pytest.mark.parametrize("d", [2, 5])
def test_resampled_starts_give_each_region_its_mass_not_its_data_count(d):
    rng = np.random.default_rng(d)
    data = rng.normal(size=(60, d)) * 0.5
    data[:45, 0] -= 2.0            # three quarters of the voices on the left
    data[45:, 0] += 2.0
    D = _two_bumps(0.2, d)          # ... but only a fifth of the mass
    x = resampled_starts(D, data, 4000, seed=0)
    assert x.shape == (4000, d)
    left = np.mean(x[:, 0] < 0)
    assert abs(left - 0.2) < 0.03, left                                  # data start: 0.75
    # within a bump the points follow D: sd 0.5 along every axis
    np.testing.assert_allclose(x[x[:, 0] > 0].std(0), 0.5, rtol=0.1)
    np.testing.assert_allclose(x[x[:, 0] > 0, 0].mean(), 2.0, atol=0.05)


def test_resampled_starts_are_seeded_and_refuse_a_dead_model():
    rng = np.random.default_rng(0)
    data = rng.normal(size=(30, 2))
    D = _two_bumps(0.5, 2)
    np.testing.assert_array_equal(resampled_starts(D, data, 50, seed=3),
                                  resampled_starts(D, data, 50, seed=3))
    assert not np.array_equal(resampled_starts(D, data, 50, seed=3),
                              resampled_starts(D, data, 50, seed=4))
    with pytest.raises(ValueError, match="D = 0 at every"):
        resampled_starts(lambda x: np.zeros(len(x)), data, 50)
    with pytest.raises(ValueError, match="N > d"):
        resampled_starts(D, data[:2], 50)
    # negative or NaN model outputs count as "not natural", never as weight
    weird = lambda x: np.where(x[:, 0] > 0, np.nan, -1.0) + (np.abs(x[:, 1]) < 0.5) * 2.0
    x = resampled_starts(weird, data, 500, seed=0)
    assert (np.abs(x[:, 1]) < 0.5).all()


def test_resampled_starts_refuse_when_few_proposals_carry_the_mass():
    rng = np.random.default_rng(0)
    data = rng.normal(size=(60, 3))
    broad = lambda x: np.exp(-0.5 * (x ** 2).sum(1) / 2)          # about the proposal itself
    narrow = lambda x: np.exp(-0.5 * ((x - 1.5) ** 2).sum(1) / 0.01)   # a speck off-centre
    resampled_starts(broad, data, 100, min_ess=0.5, seed=0)        # most proposals count
    with pytest.raises(ThinProposals, match="carry the model's mass") as err:
        resampled_starts(narrow, data, 100, min_ess=0.25, seed=0)
    assert 0 < err.value.ess < 0.01
    assert resampled_starts(narrow, data, 100, seed=0).shape == (100, 3)   # min_ess=0: it goes on


@pytest.mark.parametrize("d", [2, 5])
def test_truncated_weights_make_the_starts_and_their_effective_share_steady(d):
    """A D wider than the proposal (a Gaussian of variance 9 against a kernel density of
    about 2) gives importance weights of infinite variance: a few proposals in the
    kernel's tail carry the draw, so many starts pile on one point, and the effective share
    is small and (d = 2) swings with the proposal draw. Capped weights (truncated
    importance sampling) keep it steady; min_ess=1 makes every draw report its share."""
    data = np.random.default_rng(0).normal(size=(60, d))
    wide = lambda x: np.exp(-0.5 * (x ** 2).sum(1) / 9.0)

    def share(truncate, seed):
        with pytest.raises(ThinProposals) as err:
            resampled_starts(wide, data, 100, min_ess=1.0, truncate=truncate, seed=seed)
        return err.value.ess

    def most_repeated(truncate):
        x = resampled_starts(wide, data, 4000, truncate=truncate, seed=0)
        return np.unique(x, axis=0, return_counts=True)[1].max()

    raw = np.array([share(False, s) for s in range(8)])
    capped = np.array([share(True, s) for s in range(8)])
    assert (capped >= raw).all() and capped.min() > 3 * raw.min()
    assert capped.max() < 3 * capped.min()
    assert most_repeated(False) > 100 and most_repeated(True) < 40      # of 4000 starts


def test_denoise_is_tweedies_mean_given_the_last_steps_noise():
    """For N(mu, I) the score is mu - x, so x + noise^2 alpha s(x) is known in closed form;
    the chain's own variance under these steps is 1 / (1 - alpha / 4), and the denoised
    particles' is (1 - alpha)^2 times it: a little narrower than the density."""
    mu = np.array([0.5, -1.0, 2.0])
    f = gaussian_score(mu, np.eye(3))
    x0 = np.random.default_rng(0).normal(size=(6000, 3))
    for noise, alpha in ((1.0, 0.05), (0.5, 0.02)):
        plain = langevin(f, x0, alpha=alpha, n_steps=300, noise=noise, seed=3, record_every=100)
        den = langevin(f, x0, alpha=alpha, n_steps=300, noise=noise, seed=3, record_every=100,
                       chunk=1000, denoise=True)
        c = noise ** 2 * alpha
        np.testing.assert_allclose(den.samples, plain.samples + c * (mu - plain.samples),
                                   atol=1e-5)
        np.testing.assert_array_equal(den.trajectory, plain.trajectory)   # the chain's own
    v = np.var(langevin(f, x0, alpha=0.05, n_steps=300, seed=3, denoise=True).samples, axis=0)
    np.testing.assert_allclose(v, (1 - 0.05) ** 2 / (1 - 0.05 / 4), rtol=0.06)
    still = langevin(f, x0, n_steps=20, noise=0.0, seed=3)
    np.testing.assert_array_equal(langevin(f, x0, n_steps=20, noise=0.0, seed=3,
                                           denoise=True).samples, still.samples)
