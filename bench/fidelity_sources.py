"""Where does HumanDiffusion's error come from? A diagnosis for bench/fidelity.py, no goal.

bench/fidelity.py finds HumanDiffusion behind a directly rated grid in d = 2 at small
budgets. This bench swaps the parts of the package default for the truth one at a time,
with bench/fidelity.py's seeds, plans, ratings and sampler settings, and prints, per
method, budget and dimension, ``ed2_u`` (x 1000, the unbiased squared energy distance to
exact samples of p_H: 0 on average for a perfect sampler) and ``low_D``, the fraction of
samples where the true D < 0.1:

- floor               Langevin on the true score grad log D.
- exact-target        the score the network is trained towards, from the truth:
                      (grad D + pull) / max(D, eps), the pull averaged over the data a
                      periphery point may have been drawn around (its expectation given x~).
                      What the regularised target itself costs.
- exact-target/net-D  that numerator over the network's max(D_phi, eps): the D head's share.
- net-g/true-D        the network's g over the true max(D, eps): the g head's share.
- hd                  the package default, g_phi / max(D_phi, eps).
- hd-noise-free       hd on ratings without rating noise (same plan; the Tobit model is
                      given a noise sd of 0.02, since it needs one).
- hd-mean-pull        hd with each point's pull towards that expectation instead of its
                      own datum (the paper's target averaged exactly over the datum).
- net-D-density       no score at all: p proportional to the network's D head itself, sampled
                      by Metropolis-adjusted Langevin (the network's score as the proposal
                      drift, accepted by D_phi), as the grid samples its rated map. Can the
                      D head replace the g head?
- grid                bench/fidelity.py's grid at the same budget.

``d_head_edge`` says how sharp the D head is at the edge of the acceptable region: its
mean over points (a cloud 1.5x wider than p_H) where the true D is between 0.02 and 0.1.
``paired`` lines give each method minus hd, seed by seed: the mean and its 95 % t-interval.
Run: ``python bench/fidelity_sources.py`` (d = 2, 500 and 1000 ratings, 3 seeds: 8-12 min
on 2 cores).
"""
from __future__ import annotations

from dataclasses import replace
import time

import numpy as np
import torch

from hd_widgets.method.estimation import Estimate, EstimateOptions, from_plan, pull
from hd_widgets.method.grid import PerceptionMap
from hd_widgets.method.metrics import fidelity, paired_difference
from hd_widgets.method.network import ScoreNet, ScoreNetConfig
from hd_widgets.method.pairs import PairRatings
from hd_widgets.method.sampling import langevin
from hd_widgets.method.score import numpy_score_fn, score_from_heads
from hd_widgets.method.training import train
from hd_widgets.ratings.budget import plan_for_budget
from hd_widgets.ratings.listeners import SimulatedListener
from hd_widgets.speech.space import FeatureSpace

from _args import fidelity_parser

METHODS = ["floor", "exact-target", "exact-target/net-D", "net-g/true-D", "hd",
           "hd-noise-free", "hd-mean-pull", "net-D-density", "grid"]


def mala_on_D(net: ScoreNet, data: np.ndarray, n: int, alpha: float, n_steps: int,
              seed: int) -> tuple[np.ndarray, float]:
    """Samples (n, d) of p proportional to the network's D_phi, and the acceptance rate.

    Metropolis-adjusted Langevin: propose y = x + alpha / 2 s(x) + sqrt(alpha) z with the
    network's score s, accept with min(1, D(y) q(x | y) / (D(x) q(y | x))). Written here
    because the package's sampler is the paper's unadjusted one; this is a diagnosis.
    """
    gen = torch.Generator().manual_seed(seed)
    x = torch.as_tensor(data, dtype=torch.float32)[torch.randint(len(data), (n,), generator=gen)]
    eps = net.config.eps

    def log_d_and_score(z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        D, g = net(z)
        return torch.log(D.clamp_min(1e-30)), score_from_heads(D, g, eps)

    accepted = 0.0
    with torch.inference_mode():
        lp, s = log_d_and_score(x)
        for _ in range(n_steps):
            z = torch.randn(x.shape, generator=gen)
            y = x + alpha / 2 * s + np.sqrt(alpha) * z
            lpy, sy = log_d_and_score(y)
            back = x - y - alpha / 2 * sy                       # log q(x | y) - log q(y | x)
            log_ratio = lpy - lp - (back ** 2).sum(1) / (2 * alpha) + (z ** 2).sum(1) / 2
            ok = torch.log(torch.rand(n, generator=gen)) < log_ratio
            accepted += float(ok.float().mean())
            x = torch.where(ok[:, None], y, x)
            lp, s = torch.where(ok, lpy, lp), torch.where(ok[:, None], sy, s)
    return x.numpy().astype(np.float64), accepted / max(n_steps, 1)


def expected_anchor(x: np.ndarray, data: np.ndarray, sigma_p: float) -> np.ndarray:
    """E[x_n | x~ = x] when x~ = x_n + sigma_p * N(0, I) with x_n uniform over the data, (n, d)."""
    logw = -((x[:, None, :] - data[None]) ** 2).sum(-1) / (2 * sigma_p ** 2)   # (n, N)
    w = np.exp(logw - logw.max(1, keepdims=True))
    return (w / w.sum(1, keepdims=True)) @ data


def with_meanpull(est: Estimate, data: np.ndarray) -> Estimate:
    """``est`` with every point's pull aimed at :func:`expected_anchor` instead of its datum."""
    anchor = expected_anchor(est.points, data, est.sigma_p)
    reg = pull(est.D, est.points, anchor, est.sigma_p, est.options)
    target = est.grad_scale * est.grad + reg
    return replace(est, anchor=anchor, reg=reg, target=target,
                   score_target=score_from_heads(est.D, target, est.options.eps))


def main() -> None:
    ap = fidelity_parser(__doc__, seeds=3, budgets=[500, 1000], dims=[2])
    args = ap.parse_args()
    torch.set_num_threads(1)
    t_all = time.perf_counter()
    for d in args.dims:
        data = FeatureSpace.default(d).points
        lis = SimulatedListener.from_data(data, seed=0)
        opts = EstimateOptions()
        sampler = dict(n=args.samples, alpha=args.alpha, n_steps=args.steps, max_norm=float("inf"))
        low_D = lambda x: float(np.mean(lis.D(x) < 0.1))
        exact_low = low_D(lis.sample_pH(20_000, rng=1))                          # p_H's own low_D
        cloud = lis.sample_pH(20_000, rng=2) * 1.5                               # wider than p_H
        D_cloud = lis.D(cloud)
        edge = cloud[(D_cloud >= 0.02) & (D_cloud < 0.1)]        # the acceptable region's edge
        for B in args.budgets:
            rows = {m: [] for m in METHODS}
            edge_rows: list[float] = []
            for s in range(args.seeds):
                truth = lis.sample_pH(args.samples, rng=1000 + s)
                plan = plan_for_budget(data, B, seed=s)
                sigma_p = plan.config["sigma_p"]
                est = from_plan(plan, PairRatings.from_listener(lis.with_(seed=10_000 + s), plan), data, opts)
                net = train(est, ScoreNetConfig.for_estimate(est, seed=s), progress=False)

                def exact_num(x: np.ndarray) -> np.ndarray:   # grad D + pull, from the truth
                    D = lis.D(x)
                    return lis.grad_D(x) + pull(D, x, expected_anchor(x, data, sigma_p), sigma_p, opts)

                scores = {
                    "floor": numpy_score_fn(lis.score),
                    "exact-target": numpy_score_fn(lambda x: score_from_heads(lis.D(x), exact_num(x), opts.eps)),
                    "exact-target/net-D": numpy_score_fn(lambda x: score_from_heads(net.predict(x)[0], exact_num(x), opts.eps)),
                    "net-g/true-D": numpy_score_fn(lambda x: score_from_heads(lis.D(x), net.predict(x)[1], opts.eps)),
                    "hd": net.score_fn(),
                }
                est_nf = from_plan(plan, PairRatings.from_listener(lis.with_(seed=10_000 + s, noise=0.0), plan),
                                   data, opts.with_(noise_sd=0.02))
                scores["hd-noise-free"] = train(est_nf, ScoreNetConfig.for_estimate(est_nf, seed=s),
                                                progress=False).score_fn()
                est_mp = with_meanpull(est, data)
                scores["hd-mean-pull"] = train(est_mp, ScoreNetConfig.for_estimate(est_mp, seed=s),
                                               progress=False).score_fn()
                for m, f in scores.items():
                    x = langevin(f, data, seed=s, **sampler).samples
                    rows[m].append({**fidelity(x, truth, data), "low_D": low_D(x)})
                edge_rows.append(float(net.predict(edge)[0].mean()))
                x, acc = mala_on_D(net, data, args.samples, args.alpha, args.steps, seed=s)
                rows["net-D-density"].append({**fidelity(x, truth, data), "acceptance": acc,
                                              "low_D": low_D(x)})
                pmap = PerceptionMap.from_listener(lis.with_(seed=30_000 + s), data, B)
                x = pmap.sample(args.samples, rng=s)
                rows["grid"].append({**fidelity(x, truth, data), "low_D": low_D(x)})
            for m in METHODS:
                u = np.array([r["ed2"] for r in rows[m]])
                low = np.mean([r["low_D"] for r in rows[m]])
                esc = sum(r["escaped"] for r in rows[m])
                print(f"source d={d} budget={B} method={m} ed2_u={u.mean():.2f} "
                      f"ed2_u_sd={u.std(ddof=1) if len(u) > 1 else 0.0:.2f} low_D={low:.4f} "
                      f"(p_H: {exact_low:.4f}) escaped={esc}"
                      + (f" acceptance={np.mean([r['acceptance'] for r in rows[m]]):.3f}"
                         if "acceptance" in rows[m][0] else ""), flush=True)
            print(f"d_head_edge d={d} budget={B}: where the true D is in [0.02, 0.1) (mean "
                  f"{lis.D(edge).mean():.3f}) the network's D reads "
                  f"{np.mean(edge_rows):.3f}", flush=True)
            for m in METHODS:
                if m != "hd":
                    mean, lo, hi = paired_difference([r["ed2"] for r in rows[m]],
                                                     [r["ed2"] for r in rows["hd"]])
                    print(f"paired d={d} budget={B} method={m} vs=hd ed2_u_diff={mean:+.2f} "
                          f"ci95=[{lo:+.2f}, {hi:+.2f}]", flush=True)
    print(f"total_seconds: {time.perf_counter() - t_all:.0f}")


if __name__ == "__main__":
    main()
