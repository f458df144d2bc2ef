"""NES gradients, D estimators, censoring, regularisation and partial data."""
import numpy as np

from hd_widgets.method.far import far_points
import pytest

from hd_widgets.method.estimation import EstimateOptions, default_lam, estimate, from_plan, pull
from hd_widgets.method.pairs import PairRatings
from hd_widgets.method.censored import estimate_noise_sd, kde_mode, tobit_mean
from hd_widgets.ratings.budget import plan_for_budget
from hd_widgets.ratings.listeners import SimulatedListener


class Bump:
    """A smooth known D(x) = 0.9 exp(-|x - c|^2 / 8), with its gradient."""

    name = "bump"

    def __init__(self, d):
        self.c = np.linspace(-0.5, 0.5, d)

    def rate(self, x):
        return 0.9 * np.exp(-((x - self.c) ** 2).sum(1) / 8)

    def grad(self, x):
        return -self.rate(x)[:, None] * (x - self.c) / 4


def rated_pairs(listener, centers, deltas):
    P, R, d = deltas.shape
    pts_p = (centers[:, None] + deltas).reshape(-1, d)
    pts_m = (centers[:, None] - deltas).reshape(-1, d)
    pp, rr = np.divmod(np.arange(P * R), R)
    return PairRatings(pp, rr, listener.rate(pts_p), listener.rate(pts_m))


def setup_points(d, P=40, R=8, sigma_nes=0.3, seed=0):
    rng = np.random.default_rng(seed)
    data = rng.normal(size=(10, d))
    datum = np.arange(P) % 10
    centers = data[datum] + 0.8 * rng.normal(size=(P, d))
    deltas = sigma_nes * rng.normal(size=(P, R, d))
    return data, datum, centers, deltas


@pytest.mark.parametrize("d", [2, 5])
def test_nes_converges_to_the_analytic_gradient(d):
    bump = Bump(d)
    opts = EstimateOptions(d_estimator="mean", censored=False, reuse=False, lam=0.0, noise_sd=0.1)
    errors = []
    for R in (4, 64, 1024):
        data, datum, centers, deltas = setup_points(d, R=R, sigma_nes=0.1, seed=1)
        est = estimate(centers, deltas, datum, data, rated_pairs(bump, centers, deltas),
                       sigma_p=0.8, sigma_nes=0.1, options=opts)
        errors.append(np.linalg.norm(est.grad - bump.grad(est.points), axis=1).mean())
    scale = np.linalg.norm(bump.grad(est.points), axis=1).mean()
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < 0.1 * scale
    np.testing.assert_allclose(est.target, est.grad)             # lam = 0: no pull


def test_kde_mode_finds_known_modes_and_respects_the_bounds():
    rng = np.random.default_rng(0)
    assert kde_mode(np.clip(rng.normal(0.3, 0.1, 400), 0, 1)) == pytest.approx(0.3, abs=0.04)
    high = np.clip(rng.normal(0.98, 0.1, 400), 0, 1)
    assert kde_mode(high) > high.mean() + 0.02                  # the mean is dragged down
    assert 0 <= kde_mode(np.zeros(6)) <= 1
    assert kde_mode(np.array([0.4])) == 0.4


def test_tobit_recovers_latent_means_the_plain_mean_misses():
    rng = np.random.default_rng(1)
    mus = np.array([0.0, 0.05, 0.5, 0.95, 1.0])
    y = np.clip(mus[:, None] + 0.1 * rng.normal(size=(5, 3000)), 0, 1)
    groups = np.repeat(np.arange(5), 3000)
    mu_hat = tobit_mean(y.ravel(), groups, 5, sigma=0.1)
    np.testing.assert_allclose(mu_hat, mus, atol=0.01)
    assert abs(y[0].mean() - mus[0]) > 0.03 and abs(y[4].mean() - mus[4]) > 0.03


def test_noise_sd_estimate_is_in_the_right_range():
    lis = SimulatedListener.from_data(np.random.default_rng(0).normal(size=(30, 2)), noise=0.1)
    data = lis.centers
    plan = plan_for_budget(data, 2000, sigma_p=1.0, seed=0)
    sd = estimate_noise_sd(PairRatings.from_listener(lis, plan))
    assert 0.05 < sd < 0.15


@pytest.mark.parametrize("d", [2, 5])
def test_regularisation_pulls_far_points_home(d):
    rng = np.random.default_rng(2)
    data = rng.normal(size=(20, d))
    lis = SimulatedListener.from_data(data, seed=0)
    datum = np.arange(40) % 20
    centers = data[datum] + rng.normal(size=(40, d)) * 6.0      # mostly far, where D ~ 0
    deltas = 0.3 * rng.normal(size=(40, 2, d))
    pairs = rated_pairs(lis, centers, deltas)
    far = lis.D(centers) < 1e-3
    assert far.sum() > 20
    for opts in (EstimateOptions(lam=1.0), EstimateOptions(lam=1.0, reg="convex", reg_gate=True)):
        est = estimate(centers, deltas, datum, data, pairs, sigma_p=1.0, sigma_nes=0.3, options=opts)
        home = est.anchor - est.points
        f = far[est.periphery]
        cos = (est.score_target * home).sum(1) / np.linalg.norm(est.score_target, axis=1) / np.linalg.norm(home, axis=1)
        assert np.median(cos[f]) > 0.9                          # the score points home
        assert np.median(np.linalg.norm(est.score_target[f], axis=1)) > 1.0
    none = estimate(centers, deltas, datum, data, pairs, sigma_p=1.0, sigma_nes=0.3,
                    options=EstimateOptions(lam=0.0))
    np.testing.assert_allclose(none.target, none.grad)           # without it: only noise far away
    paper = estimate(centers, deltas, datum, data, pairs, sigma_p=1.0, sigma_nes=0.3,
                     options=EstimateOptions.paper(lam=1.0))
    assert np.abs(paper.target[far[paper.periphery] & (paper.D == 0)]).max() < 1e-12 or \
        (paper.D > 0).all()                                       # paper's letter: pull scaled by D


def test_the_default_pull_keeps_its_size_as_the_dimension_grows():
    """lam = 4 sqrt(2 / d): 4 in d = 2 (where it was chosen), and the pull at a periphery
    point sigma_p away from its datum in each coordinate is as strong (root mean square)
    in d = 8 as in 2."""
    def rms(v):
        return float(np.sqrt(np.mean((v ** 2).sum(axis=1))))
    assert default_lam(2) == 4.0 and default_lam(5) == pytest.approx(4 * np.sqrt(0.4))
    sizes = {}
    for d in (2, 5, 8):
        rng = np.random.default_rng(d)
        anchor = np.zeros((20000, d))
        pts = rng.normal(size=(20000, d))                     # sigma_p = 1 around the datum
        D = np.zeros(20000)                                   # where D ~ 0: the pull is whole
        sizes[d] = rms(pull(D, pts, anchor, 1.0, EstimateOptions()))
        assert sizes[d] == pytest.approx(rms(pull(D, pts, anchor, 1.0, EstimateOptions(lam=default_lam(d)))))
    assert sizes[5] == pytest.approx(sizes[2], rel=0.03) and sizes[8] == pytest.approx(sizes[2], rel=0.03)
    # a fixed lam grows with sqrt(d)
    fixed = {d: rms(pull(np.zeros(20000), np.random.default_rng(d).normal(size=(20000, d)),
                         np.zeros((20000, d)), 1.0, EstimateOptions(lam=4.0))) for d in (2, 8)}
    assert fixed[8] / fixed[2] == pytest.approx(2.0, rel=0.03)
    # an estimate carries the lam it used; a lam given is kept
    data = np.random.default_rng(0).normal(size=(30, 5))
    plan = plan_for_budget(data, 200, seed=0)
    pairs = PairRatings.from_listener(SimulatedListener.from_data(data, seed=0), plan)
    assert from_plan(plan, pairs, data).options.lam == default_lam(5)
    assert from_plan(plan, pairs, data, EstimateOptions(lam=1.5)).options.lam == 1.5
    with pytest.raises(ValueError, match="convex mix needs lam"):
        EstimateOptions(reg="convex")


def test_censoring_reduces_bias_at_the_plateau():
    data = np.random.default_rng(3).normal(size=(30, 2))
    lis = SimulatedListener.from_data(data, noise=0.15, seed=1)
    plan = plan_for_budget(data, 3000, n_pairs=5, sigma_p=0.3, seed=1)
    pairs = PairRatings.from_listener(lis, plan)
    tob = from_plan(plan, pairs, data, EstimateOptions(noise_sd=0.15))
    mean = from_plan(plan, pairs, data, EstimateOptions(d_estimator="mean", censored=False))
    truth = lis.D(tob.points)
    top = truth > 0.97
    assert top.sum() > 50
    assert abs((tob.D - truth)[top].mean()) < 0.5 * abs((mean.D - truth)[top].mean())


def test_partial_data_and_uncertainty():
    data, datum, centers, deltas = setup_points(2, P=20, R=6)
    bump = Bump(2)
    full = rated_pairs(bump, centers, deltas)
    keep = (full.periphery < 10) | (full.pair < 2)               # points 10.. have 2 of 6 pairs
    part = PairRatings(full.periphery[keep], full.pair[keep], full.plus[keep], full.minus[keep])
    est = estimate(centers, deltas, datum, data, part, sigma_p=0.8, sigma_nes=0.3)
    assert len(est) == 20
    np.testing.assert_array_equal(est.n_pairs, np.where(np.arange(20) < 10, 6, 2))
    assert est.grad_se[10:].mean() > 1.5 * est.grad_se[:10].mean()
    assert est.D_se[10:].mean() > est.D_se[:10].mean()
    assert est.weights[:10].mean() > est.weights[10:].mean()
    only = PairRatings(full.periphery[full.periphery == 3], full.pair[full.periphery == 3],
                       full.plus[full.periphery == 3], full.minus[full.periphery == 3])
    one = estimate(centers, deltas, datum, data, only, sigma_p=0.8, sigma_nes=0.3)
    assert len(one) == 1 and one.periphery[0] == 3


def test_reuse_returns_every_rating_as_an_observation():
    data, datum, centers, deltas = setup_points(2, P=10, R=3)
    pairs = rated_pairs(Bump(2), centers, deltas)
    on = estimate(centers, deltas, datum, data, pairs, sigma_p=0.8, sigma_nes=0.3)
    off = estimate(centers, deltas, datum, data, pairs, sigma_p=0.8, sigma_nes=0.3,
                   options=EstimateOptions.paper())
    assert on.obs_points.shape == (60, 2) and on.obs_values.shape == (60,)
    assert off.obs_points.shape == (0, 2)
    np.testing.assert_allclose(on.obs_values, Bump(2).rate(on.obs_points))   # not clipped: as rated
    assert on.pair_delta.shape == (30, 2) and on.pair_slope.shape == (30,)


def test_budget_plans_and_options():
    data = np.random.default_rng(0).normal(size=(60, 3))
    refined = plan_for_budget(data, 1000)
    paper = plan_for_budget(data, 1000, style="paper")
    assert refined.n_ratings == 1000 and refined.config["n_pairs"] == 1
    assert paper.n_ratings == 1000 and paper.config["n_pairs"] == 5
    assert plan_for_budget(data, 1001).n_ratings == 1000      # never more than the budget
    assert plan_for_budget(data, 2).n_ratings == 2
    for budget, style in [(1, "refined"), (0, "refined"), (-4, "refined"), (9, "paper"), (2.5, "refined")]:
        with pytest.raises(ValueError, match="cannot pay"):
            plan_for_budget(data, budget, style=style)
    assert EstimateOptions.paper().d_estimator == "mode"
    with pytest.raises(ValueError):
        EstimateOptions(reg="multiplicative")
    with pytest.raises(ValueError):
        EstimateOptions(lam=2.0, reg="convex")
    with pytest.raises(ValueError):
        PairRatings([0], [0], [1.2], [0.3])
    with pytest.raises(ValueError, match="one entry per rated pair"):
        PairRatings([0, 1], [0], [0.5], [0.5])
    data2, datum, centers, deltas = setup_points(2, P=5, R=2)
    est = estimate(centers, deltas, datum, data2, rated_pairs(Bump(2), centers, deltas),
                   sigma_p=0.8, sigma_nes=0.3)
    assert repr(est).startswith("Estimate(points=5, d=2")
    with pytest.raises(ValueError, match="disagree"):                      # data of another d
        estimate(centers, deltas, datum, np.zeros((len(data2), 3)),
                 rated_pairs(Bump(2), centers, deltas), sigma_p=0.8, sigma_nes=0.3)


@pytest.mark.parametrize("d", [2, 5])
def test_far_points_lie_beyond_what_the_plan_explored(d):
    """The network's far prior: points farther from every datum than the plan's periphery
    points reach, with the estimate's target for D = 0 there (the pull home)."""
    from scipy.spatial import cKDTree
    data = np.random.default_rng(3).normal(size=(30, d))
    lis = SimulatedListener.from_data(data, seed=0)
    plan = plan_for_budget(data, 400, seed=0)
    est = from_plan(plan, PairRatings.from_listener(lis, plan), data)
    pts, target = far_points(est, 300, seed=1)
    assert pts.shape == target.shape == (300, d)
    tree = cKDTree(data)
    dist, near = tree.query(pts)
    reach = tree.query(est.points)[0]                              # where the plan asked
    assert dist.min() > np.quantile(reach, 0.95)
    assert lis.D(pts).max() < 0.05                                 # indeed unnatural there
    home = data[near] - pts                                        # pull lam * eps * home / sigma_p^2
    o = est.options
    np.testing.assert_allclose(target, o.lam * o.eps * home / est.sigma_p ** 2)
    again, _ = far_points(est, 300, seed=1)
    np.testing.assert_array_equal(pts, again)                      # seeded
    assert not np.array_equal(pts, far_points(est, 300, seed=2)[0])


@pytest.mark.parametrize("d", [2, 5])
def test_beyond_the_reach_of_the_ratings_the_score_is_the_pull_home(d):
    """home_beyond_reach: the network's score within the rated points' reach, the score of
    the estimate's D = 0 target (lam (x_n - x) / sigma_p^2) one width beyond it, a straight
    blend between; and Langevin with an outward field no longer runs away."""
    import torch
    from scipy.spatial import cKDTree
    from hd_widgets.method.far import home_beyond_reach, rated_reach, within_reach
    from hd_widgets.method.sampling import LangevinDivergence, langevin
    data = np.random.default_rng(3).normal(size=(30, d))
    lis = SimulatedListener.from_data(data, seed=0)
    plan = plan_for_budget(data, 400, seed=0)
    est = from_plan(plan, PairRatings.from_listener(lis, plan), data)
    reach = rated_reach(est)
    tree = cKDTree(data)
    assert np.quantile(tree.query(est.points)[0], 0.99) == pytest.approx(reach)

    def outward(x):                                    # a field that carries particles away
        return 3.0 * x

    score = home_beyond_reach(outward, est)
    rng = np.random.default_rng(0)
    y = rng.normal(size=(4000, d)) * 4
    dist, near = tree.query(y)
    got = score(torch.as_tensor(y, dtype=torch.float32)).numpy()
    inside, outside = dist <= reach, dist >= reach + est.sigma_p
    assert inside.sum() > 100 and outside.sum() > 100
    np.testing.assert_allclose(got[inside], 3.0 * y[inside], rtol=1e-5, atol=1e-5)
    home = est.options.lam * (data[near] - y) / est.sigma_p ** 2   # w(0) = eps, over max(0, eps)
    np.testing.assert_allclose(got[outside], home[outside], rtol=1e-4, atol=1e-4)
    mid = ~inside & ~outside
    beta = (dist[mid] - reach) / est.sigma_p
    np.testing.assert_allclose(got[mid], (1 - beta)[:, None] * 3.0 * y[mid] + beta[:, None] * home[mid],
                               rtol=1e-4, atol=1e-4)
    kept = within_reach(est)(y)                        # the same blend, as a weight
    assert (kept[inside] == 1).all() and (kept[outside] == 0).all()
    np.testing.assert_allclose(kept[mid], 1 - beta, rtol=1e-12)
    # the outward field alone diverges; with the pull home beyond the reach it stays in the space
    run = langevin(score, data, n=500, n_steps=500, alpha=0.01, seed=0, max_norm=float("inf")).samples
    assert np.isfinite(run).all() and tree.query(run)[0].max() < reach + 2 * est.sigma_p
    with pytest.raises(LangevinDivergence):
        langevin(outward, data, n=500, n_steps=500, alpha=0.01, seed=0)
