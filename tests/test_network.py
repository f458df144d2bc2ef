"""The score network: it fits known targets, is seeded, saves safely, and its fast score is exact."""
import copy

import numpy as np

from hd_widgets.method.far import far_points
import pytest
import torch

from hd_widgets.method.estimation import EstimateOptions, estimate
from hd_widgets.method.pairs import PairRatings
from hd_widgets.method.network import ScoreNet, ScoreNetConfig
from hd_widgets.method.training import train


def gaussian_estimate(d, P=400, seed=0, options=None):
    """Pairs rated by a noise-free D(x) = 0.9 exp(-|x|^2 / 4): score -x / 2 inside."""
    rng = np.random.default_rng(seed)
    data = rng.normal(size=(20, d)) * 0.5
    datum = np.arange(P) % 20
    centers = data[datum] + rng.normal(size=(P, d))
    deltas = 0.2 * rng.normal(size=(P, 1, d))
    D = lambda x: 0.9 * np.exp(-(x ** 2).sum(1) / 4)
    pairs = PairRatings(np.arange(P), np.zeros(P), D(centers + deltas[:, 0]), D(centers - deltas[:, 0]))
    opts = options or EstimateOptions(lam=0.0, censored=False, noise_sd=0.05)
    return estimate(centers, deltas, datum, data, pairs, sigma_p=1.0, sigma_nes=0.2, options=opts)


@pytest.mark.parametrize("d", [2, 5])
@pytest.mark.parametrize("g_loss", ["directional", "nes"])
def test_learns_a_known_score(d, g_loss):
    est = gaussian_estimate(d)
    cfg = ScoreNetConfig(d=d, steps=600, g_loss=g_loss,
                         consistency=1.0 if g_loss == "directional" else 0.0)
    net = train(est, cfg, progress=False)
    assert net.history_[-1] < 0.5 * net.history_[0]
    x = np.random.default_rng(1).normal(size=(200, d)) * 0.7
    s = net.score(x)
    cos = (s * -x).sum(1) / np.linalg.norm(s, axis=1) / np.linalg.norm(x, axis=1)
    assert np.median(cos) > 0.8                               # points home, like -x / 2
    D, g = net.predict(x)
    assert np.abs(D - 0.9 * np.exp(-(x ** 2).sum(1) / 4)).mean() < 0.08


def test_seeds_reproduce_and_differ():
    est = gaussian_estimate(2, P=100)
    cfg = ScoreNetConfig(d=2, steps=50)
    a, b = train(est, cfg, progress=False), train(est, cfg, progress=False)
    c = train(est, cfg.with_(seed=1), progress=False)
    x = torch.randn(50, 2)
    torch.testing.assert_close(a.score(x), b.score(x), rtol=0, atol=0)
    assert not torch.allclose(a.score(x), c.score(x))
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    ScoreNet(ScoreNetConfig(d=2))
    assert torch.rand(1) == before                            # init never touches the global RNG


def test_save_load_round_trip_is_exact_and_safe(tmp_path):
    net = train(gaussian_estimate(3, P=100), ScoreNetConfig(d=3, steps=30), progress=False)
    path = net.save(tmp_path / "net.pt")
    blob = torch.load(path, weights_only=True)                # plain tensors and values only
    assert blob["config"]["d"] == 3
    back = ScoreNet.load(path)
    x = torch.randn(64, 3)
    torch.testing.assert_close(back.score(x), net.score(x), rtol=0, atol=0)
    assert back.config == net.config and back.history_ == net.history_
    (tmp_path / "bad.pt").write_bytes(b"not a network")
    with pytest.raises(ValueError, match="is not a saved ScoreNet"):
        ScoreNet.load(tmp_path / "bad.pt")
    with pytest.raises(FileNotFoundError):
        ScoreNet.load(tmp_path / "missing.pt")
    torch.save({"format": "something else"}, tmp_path / "other.pt")
    with pytest.raises(ValueError):
        ScoreNet.load(tmp_path / "other.pt")


def test_fast_score_fn_matches_the_module():
    net = train(gaussian_estimate(2, P=100), ScoreNetConfig(d=2, steps=30), progress=False)
    fast, plain = net.score_fn(), net.score_fn(fast=False)
    for n in (7, 300, 5):                                     # buffers grow and are reused
        x = torch.randn(n, 2) * 3
        torch.testing.assert_close(fast(x), plain(x), rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(fast(x), net.score(x), rtol=1e-5, atol=1e-5)


def test_config_and_repr():
    assert ScoreNetConfig.paper().g_loss == "nes" and ScoreNetConfig.paper().consistency == 0
    with pytest.raises(ValueError):
        ScoreNetConfig(g_loss="other")
    net = ScoreNet(ScoreNetConfig(d=4))
    assert "untrained" in repr(net) and "d=4" in repr(net)
    with pytest.raises(ValueError):
        train(gaussian_estimate(2, P=20), ScoreNetConfig(d=3), progress=False)
    for bad in (dict(lr=0.0), dict(lr=float("nan")), dict(eps=0.0), dict(eps=1.0), dict(batch=0),
                dict(obs_weight=-1.0), dict(consistency=float("inf")), dict(hidden=0)):
        with pytest.raises(ValueError):
            ScoreNetConfig(**bad)
    for x in (torch.zeros(3, 5), torch.zeros(4)):            # points of the wrong dimension
        with pytest.raises(ValueError, match=r"shape \(n, 4\)"):
            net.score(x)
        with pytest.raises(ValueError, match=r"shape \(n, 4\)"):
            net.score_fn()(x)


def test_default_schedule_follows_the_number_of_rated_pairs():
    from hd_widgets.method.network import LONG_SCHEDULE_PAIRS
    few = gaussian_estimate(3, P=LONG_SCHEDULE_PAIRS - 1)
    many = gaussian_estimate(3, P=LONG_SCHEDULE_PAIRS)
    short, long = ScoreNetConfig.for_estimate(few), ScoreNetConfig.for_estimate(many)
    assert (short.steps, short.lr) == (1000, 3e-3) and (long.steps, long.lr) == (2000, 1e-2)
    assert short.d == long.d == 3 and short.eps == few.options.eps
    assert ScoreNetConfig.for_estimate(many, seed=4, steps=7).steps == 7      # overrides win
    assert ScoreNetConfig.for_estimate(many, schedule="short") == short
    assert ScoreNetConfig.for_estimate(few, schedule="long") == long
    with pytest.raises(ValueError, match="schedule must be"):
        ScoreNetConfig.for_estimate(few, schedule="longer")
    net = train(few, ScoreNetConfig.for_estimate(few, steps=5), progress=False)
    assert len(net.history_) == 5
    assert train(gaussian_estimate(2, P=30), progress=False).config == \
        ScoreNetConfig.for_estimate(gaussian_estimate(2, P=30))             # train's default


def test_far_prior_is_validated_seeded_and_fits_d_zero_beyond_the_plan():
    est = gaussian_estimate(2, P=100, options=EstimateOptions(noise_sd=0.05))
    with pytest.raises(ValueError, match="far_prior"):
        ScoreNetConfig(far_prior=-0.5)
    assert ScoreNetConfig().far_prior == 0 and ScoreNetConfig.paper().far_prior == 0
    cfg = ScoreNetConfig(d=2, steps=400, far_prior=0.5)
    a, b = train(est, cfg, progress=False), train(est, cfg, progress=False)
    for pa, pb in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(pa, pb, rtol=0, atol=0)
    x, _ = far_points(est, 200, seed=123)                       # fresh points out there
    D_far, _ = a.predict(x)
    D_plain, _ = train(est, cfg.with_(far_prior=0.0), progress=False).predict(x)
    assert np.median(D_far) < 0.05 and np.median(D_far) < np.median(D_plain)
    home = est.anchor[np.argmin(((x[:, None] - est.anchor[None]) ** 2).sum(-1), 1)] - x
    assert ((a.score(x) * home).sum(1) > 0).mean() > 0.9       # and the score points home


def reference_fit(net, est, c):
    """The loss of hd_widgets.method.training written out for one network with its own
    module and optimiser, as the package trained networks before several could train in
    one loop: the reference fit_networks must reproduce, network by network."""
    from hd_widgets.method.training import training_data
    gen = torch.Generator().manual_seed(c.seed)
    t = training_data(est, c, gen)
    P, Q = len(t.X), len(t.obs_X)
    bp, bq = min(c.batch, P), min(c.batch, Q)
    sn2, gs = est.sigma_nes ** 2, est.grad_scale
    opt = torch.optim.Adam(net.parameters(), lr=c.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=c.steps, eta_min=c.lr / 20)
    for _ in range(c.steps):
        if c.g_loss == "nes":
            i = torch.randint(P, (bp,), generator=gen)
            D, g = net(t.X[i])
            loss = (t.W[i] * ((D - t.D[i]) ** 2 + ((g - t.G[i]) ** 2).sum(-1))).mean()
        else:
            k = torch.randint(len(t.pair_point), (bp,), generator=gen)
            i = t.pair_point[k]
            D, g = net(t.X[i])
            slope = ((g - t.R[i]) * t.pair_delta[k]).sum(-1) / gs
            loss = ((D - t.D[i]) ** 2).mean() + ((slope - t.pair_slope[k]) ** 2).mean() / sn2
        if c.consistency > 0:
            xi = t.X[i].clone().requires_grad_(True)
            Dc, gc = net(xi)
            dD = torch.autograd.grad(Dc.sum(), xi, create_graph=True)[0]
            loss = loss + c.consistency * (((gc - t.R[i]) / gs - dD) ** 2).sum(-1).mean()
        if Q:
            j = torch.randint(Q, (bq,), generator=gen)
            loss = loss + c.obs_weight * ((net(t.obs_X[j])[0] - t.obs_y[j]) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    return net.eval()


@pytest.mark.parametrize("cfg", [ScoreNetConfig(d=3, steps=150),
                                 ScoreNetConfig(d=3, steps=150, far_prior=0.3, lr=1e-2),
                                 ScoreNetConfig.paper(d=3, steps=150)],
                         ids=["directional", "far-prior", "paper"])
def test_networks_trained_together_train_as_each_would_alone(cfg):
    from hd_widgets.method.training import fit_networks
    est = gaussian_estimate(3, P=120, options=EstimateOptions(noise_sd=0.05, eps=cfg.eps))
    cfgs = [cfg.with_(seed=s) for s in (3, 4, 9)]
    warm = train(est, cfgs[2].with_(steps=20), progress=False)        # one starts trained
    nets = [ScoreNet(cfgs[0]), ScoreNet(cfgs[1]), warm]
    before = [copy.deepcopy(n) for n in nets]
    together = fit_networks(nets, est, cfgs, progress=False)
    x = torch.randn(300, 3) * 1.5
    for alone, net, c in zip(before, together, cfgs):
        ref = reference_fit(alone, est, c)
        torch.testing.assert_close(net.score(x), ref.score(x), rtol=1e-4, atol=1e-4)
        assert len(net.history_) == c.steps + (20 if net is warm else 0)
    a, b = together[0].score(x), together[1].score(x)
    assert not torch.allclose(a, b, atol=1e-3)                        # seeds differ


def test_networks_trained_together_must_share_their_settings():
    from hd_widgets.method.training import fit_networks
    est = gaussian_estimate(2, P=40)
    cfg = ScoreNetConfig(d=2, steps=3)
    with pytest.raises(ValueError, match="share their architecture"):
        fit_networks([ScoreNet(cfg), ScoreNet(cfg.with_(seed=1))], est,
                     [cfg, cfg.with_(seed=1, lr=1e-2)], progress=False)
    with pytest.raises(ValueError, match="share their architecture"):
        fit_networks([ScoreNet(cfg), ScoreNet(cfg.with_(hidden=8))], est, progress=False)
    with pytest.raises(ValueError, match="one config each"):
        fit_networks([ScoreNet(cfg)], est, [cfg, cfg], progress=False)
    with pytest.raises(ValueError, match="one config each"):
        fit_networks([], est, progress=False)
