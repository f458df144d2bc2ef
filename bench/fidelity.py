"""How close does each method get to the true p_H for a given number of ratings?

A SimulatedListener with a known D(x) (built from the real data; p_H = D / Z has about
twice the data's variance) rates every method's queries; every method gets the same
budget, seeds and sampler settings, and is scored against exact samples of p_H:

- hd        HumanDiffusion, package defaults (one pair per periphery point, Tobit
            censoring, reuse of ratings, gated pull, directional + consistency loss)
- hd-far    hd with the network's far prior (ScoreNetConfig.far_prior = 0.5): unrated
            points beyond the plan's reach taken as D = 0 (named option, off by default)
- hd-paper  the paper's version (five pairs per point, KDE mode, pull lam * D * ...,
            MSE to the NES target)
- floor     Langevin with the *true* score, same sampler settings (best possible)
- hgan-early / hgan-collapsed  HumanGAN on the hd network's score, stopped after
            25 ascent steps / run for 1000
- grid      rate a grid directly with the same budget, interpolate, threshold at the
            noise floor, sample

Energy = sqrt of the V-statistic energy distance (scipy's convention), 5000 samples a
side by default; variance_ratio = total variance / total variance of the data. The
V-statistic carries a noise bias of the same size for every method: two exact samples
of 5000 already lie about 0.03 apart, so at these sample sizes ``energy`` mostly
measures the noise and the floor sits on it. ``ed2_u`` (x 1000) is the unbiased
U-statistic of the squared energy distance on the same samples: 0 on average for a
perfect sampler, so it shows the gaps between methods that the noise hides.
``ran_away`` counts the seeds in which HumanGAN's generator ran away
(HumanGANDivergence) instead of collapsing. ``escaped`` counts particles that left the
space (max_i |x_i| > 8, where p_H has no mass): they are left out of the energy and
reported instead, for every method alike. ``paired`` lines compare each HumanDiffusion
variant with the grid seed by seed (the same exact samples of p_H, so their noise
cancels): the mean difference of ``ed2_u`` and its 95 % t-interval over seeds. The
``hd_vs_grid_paired`` verdict calls hd ahead or behind only where that interval excludes
0 ("level" otherwise): with few seeds most gaps in d = 2 are within the noise. Timing is
not the point here, so torch runs single-threaded (less noise on a shared machine). Run:
``python bench/fidelity.py`` (about 15 min on 2 cores; ``--seeds 6`` about 34 min) or
``--quick``.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
from scipy import stats
import torch

from hd_widgets.baselines import PerceptionMap
from hd_widgets.estimate import EstimateOptions, PairRatings, from_plan, plan_for_budget
from hd_widgets.humangan import HumanGAN, HumanGANConfig, HumanGANDivergence
from hd_widgets.langevin import langevin, numpy_score_fn
from hd_widgets.listeners import SimulatedListener
from hd_widgets.metrics import energy_distance, variance_ratio
from hd_widgets.network import ScoreNetConfig, train
from hd_widgets.space import FeatureSpace

ESCAPE = 8.0
sd = lambda a: a.std(ddof=1) if len(a) > 1 else 0.0   # spread over seeds
METHODS = ["hd", "hd-far", "hd-paper", "floor", "hgan-early", "hgan-collapsed", "grid"]


def score_samples(x: np.ndarray, truth: np.ndarray, data: np.ndarray) -> dict:
    far = np.abs(x).max(1) > ESCAPE
    if not np.all(np.isfinite(x[~far])):
        far |= ~np.isfinite(x).all(1)
    kept = x[~far]
    return {"energy": energy_distance(kept, truth) if len(kept) > 1 else np.inf,
            "ed2": 1000 * energy_distance(kept, truth, statistic="u", squared=True)
            if len(kept) > 1 else np.inf,
            "vr": variance_ratio(kept, data) if len(kept) > 1 else np.nan,
            "escaped": int(far.sum())}


def paired(a: list[dict], b: list[dict], key: str = "ed2") -> tuple[float, float, float]:
    """Mean of a - b over seeds and its 95 % t-interval, (mean, lo, hi)."""
    diff = np.array([ra[key] - rb[key] for ra, rb in zip(a, b)])
    if len(diff) < 2 or not np.all(np.isfinite(diff)):
        return float(diff.mean()), -np.inf, np.inf
    half = stats.t.ppf(0.975, len(diff) - 1) * diff.std(ddof=1) / np.sqrt(len(diff))
    return float(diff.mean()), float(diff.mean() - half), float(diff.mean() + half)


def climb(gan: HumanGAN, score, data=None) -> bool:
    """``gan.fit``; True if the generator ran away (HumanGANDivergence), which is counted
    and printed (``ran_away``) rather than stopping the bench; its samples are scored as is."""
    try:
        gan.fit(score, data, progress=False)
        return False
    except HumanGANDivergence:
        return True


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="d=2, budgets 200 and 1000, 2 seeds, 2000 samples")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--samples", type=int, default=5000)
    ap.add_argument("--steps", type=int, default=1000, help="Langevin steps")
    ap.add_argument("--alpha", type=float, default=0.01, help="Langevin step size")
    ap.add_argument("--budgets", type=int, nargs="+", default=[200, 500, 1000, 5000])
    ap.add_argument("--dims", type=int, nargs="+", default=[2, 5])
    args = ap.parse_args()
    if args.quick:
        args.seeds, args.samples, args.budgets, args.dims = 2, 2000, [200, 1000], [2]
    torch.set_num_threads(1)
    print(f"settings: seeds={args.seeds} samples={args.samples} langevin alpha={args.alpha} "
          f"steps={args.steps} particles={args.samples} from the data; torch threads=1")
    t_all = time.perf_counter()
    summary: dict = {}
    hd_vs_grid: dict = {}     # (d, B) -> 95 % interval of hd - grid (ed2_u), for the verdict
    for d in args.dims:
        data = FeatureSpace.default(d).points
        lis = SimulatedListener.from_data(data, seed=0)
        print(f"data d={d}: FeatureSpace.default({d}).points, N={len(data)}; listener {lis}")
        sampler = dict(n=args.samples, alpha=args.alpha, n_steps=args.steps, max_norm=float("inf"))
        truths, floors = {}, {}
        for s in range(args.seeds):
            truths[s] = lis.sample_pH(args.samples, rng=1000 + s)
            x = langevin(numpy_score_fn(lis.score), data, seed=s, **sampler).samples
            floors[s] = score_samples(x, truths[s], data)
        for B in args.budgets:
            rows = {m: [] for m in METHODS}
            times = {m: 0.0 for m in METHODS}
            for s in range(args.seeds):
                truth, rater = truths[s], lis.with_(seed=10_000 + s)
                rows["floor"].append(floors[s])
                # HumanDiffusion, package defaults
                t = time.perf_counter()
                plan = plan_for_budget(data, B, seed=s)
                est = from_plan(plan, PairRatings.from_listener(rater, plan), data)
                net = train(est, ScoreNetConfig.for_estimate(est, seed=s), progress=False)
                x = langevin(net.score_fn(), data, seed=s, **sampler).samples
                times["hd"] += time.perf_counter() - t
                rows["hd"].append(score_samples(x, truth, data))
                # the same ratings, with the far prior
                t = time.perf_counter()
                net_f = train(est, ScoreNetConfig.for_estimate(est, seed=s, far_prior=0.5), progress=False)
                x = langevin(net_f.score_fn(), data, seed=s, **sampler).samples
                times["hd-far"] += time.perf_counter() - t
                rows["hd-far"].append(score_samples(x, truth, data))
                # the paper's version
                t = time.perf_counter()
                plan_p = plan_for_budget(data, B, style="paper", seed=s)
                est_p = from_plan(plan_p, PairRatings.from_listener(rater.with_(seed=20_000 + s), plan_p),
                                  data, EstimateOptions.paper())
                net_p = train(est_p, ScoreNetConfig.paper(d=d, seed=s), progress=False)
                x = langevin(net_p.score_fn(), data, seed=s, **sampler).samples
                times["hd-paper"] += time.perf_counter() - t
                rows["hd-paper"].append(score_samples(x, truth, data))
                # HumanGAN on the hd network's score: early-stopped, then left to collapse
                # (seconds of hgan-collapsed are the extra steps only)
                t = time.perf_counter()
                gan = HumanGAN(HumanGANConfig(d=d, seed=s, early_stop=25))
                away = climb(gan, net.score_fn(), data)
                rows["hgan-early"].append({**score_samples(gan.sample(args.samples, seed=s), truth, data),
                                           "ran_away": int(away)})
                times["hgan-early"] += time.perf_counter() - t
                t = time.perf_counter()
                gan.config = gan.config.with_(early_stop=None, steps=1000 - 25)
                away = away or climb(gan, net.score_fn())
                rows["hgan-collapsed"].append({**score_samples(gan.sample(args.samples, seed=s), truth, data),
                                               "ran_away": int(away)})
                times["hgan-collapsed"] += time.perf_counter() - t
                # the grid, same budget
                t = time.perf_counter()
                pmap = PerceptionMap.from_listener(rater.with_(seed=30_000 + s), data, B)
                rows["grid"].append(score_samples(pmap.sample(args.samples, rng=s), truth, data))
                times["grid"] += time.perf_counter() - t
            for m in METHODS:
                e = np.array([r["energy"] for r in rows[m]])
                v = np.array([r["vr"] for r in rows[m]])
                u = np.array([r["ed2"] for r in rows[m]])
                esc = sum(r["escaped"] for r in rows[m])
                away = (f"ran_away={sum(r['ran_away'] for r in rows[m])} "
                        if "ran_away" in rows[m][0] else "")
                summary[d, B, m] = (e.mean(), v.mean(), esc, u.mean())
                print(f"fidelity d={d} budget={B} method={m} energy={e.mean():.4f} "
                      f"variance_ratio={v.mean():.2f} energy_sd={sd(e):.4f} "
                      f"ed2_u={u.mean():.2f} ed2_u_sd={sd(u):.2f} "
                      f"escaped={esc} {away}seconds={times[m]:.1f}", flush=True)
            for m in ("hd", "hd-far", "hd-paper"):
                mean, lo, hi = paired(rows[m], rows["grid"])
                if m == "hd":
                    hd_vs_grid[d, B] = (lo, hi)
                print(f"paired d={d} budget={B} method={m} vs=grid ed2_u_diff={mean:+.2f} "
                      f"ci95=[{lo:+.2f}, {hi:+.2f}]", flush=True)
    print(f"total_seconds: {time.perf_counter() - t_all:.0f}")
    for d in args.dims:
        ahead = [B for B in args.budgets if summary[d, B, "hd"][0] < summary[d, B, "grid"][0]]
        print(f"hd_ahead_of_grid d={d}: at budgets {ahead} of {args.budgets}")
        ahead_u = [B for B in args.budgets if summary[d, B, "hd"][3] < summary[d, B, "grid"][3]]
        print(f"hd_ahead_of_grid_ed2_u d={d}: at budgets {ahead_u} of {args.budgets}")
        verdict = {"ahead": [], "level": [], "behind": []}
        for B in args.budgets:
            lo, hi = hd_vs_grid[d, B]
            verdict["ahead" if hi < 0 else "behind" if lo > 0 else "level"].append(B)
        print(f"hd_vs_grid_paired d={d}: " + "; ".join(f"{k} at {v}" for k, v in verdict.items()))
    if (2, 1000, "hd") in summary:
        print(f"hd_vs_floor_at_1000: {summary[2, 1000, 'hd'][0] / summary[2, 1000, 'floor'][0]:.2f}")


if __name__ == "__main__":
    main()
