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
reported instead, for every method alike (``hd_widgets.method.metrics.fidelity``). Every
HumanDiffusion variant runs through ``hd_widgets.study.pipeline.run_pipeline``; the
seconds of ``hgan-early`` are both HumanGAN phases (``hgan-collapsed`` prints 0).
``paired`` lines compare each HumanDiffusion variant with the grid seed by seed (the same exact samples of p_H, so their noise
cancels): the mean difference of ``ed2_u`` and its 95 % t-interval over seeds. The
``hd_vs_grid_paired`` verdict calls hd ahead or behind only where that interval excludes
0 ("level" otherwise): with few seeds most gaps in d = 2 are within the noise. Timing is
not the point here, so torch runs single-threaded (less noise on a shared machine). Run:
``python bench/fidelity.py`` (about 15 min on 2 cores; ``--seeds 6`` about 34 min) or
``--quick``.
"""
from __future__ import annotations

import time

import numpy as np
import torch

from hd_widgets.method.grid import PerceptionMap
from hd_widgets.method.metrics import fidelity, paired_difference
from hd_widgets.method.sampling import langevin
from hd_widgets.method.score import numpy_score_fn
from hd_widgets.ratings.listeners import SimulatedListener
from hd_widgets.speech.space import FeatureSpace
from hd_widgets.study.pipeline import PipelineConfig, run_pipeline

from _args import fidelity_parser

sd = lambda a: a.std(ddof=1) if len(a) > 1 else 0.0   # spread over seeds
METHODS = ["hd", "hd-far", "hd-paper", "floor", "hgan-early", "hgan-collapsed", "grid"]


def paired(a: list[dict], b: list[dict], key: str = "ed2") -> tuple[float, float, float]:
    """Mean of a - b over seeds and its 95 % t-interval, (mean, lo, hi)."""
    return paired_difference([r[key] for r in a], [r[key] for r in b])


def main() -> None:
    ap = fidelity_parser(__doc__, seeds=3, budgets=[200, 500, 1000, 5000], dims=[2, 5])
    ap.add_argument("--quick", action="store_true", help="d=2, budgets 200 and 1000, 2 seeds, 2000 samples")
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
            floors[s] = fidelity(x, truths[s], data)
        for B in args.budgets:
            rows = {m: [] for m in METHODS}
            times = {m: 0.0 for m in METHODS}
            for s in range(args.seeds):
                truth, rater = truths[s], lis.with_(seed=10_000 + s)
                rows["floor"].append(floors[s])
                run = dict(budget=B, seed=s, particles=args.samples, alpha=args.alpha,
                           steps=args.steps, max_norm=float("inf"))
                # HumanDiffusion, package defaults, and HumanGAN on its network's score:
                # early-stopped after 25 ascent steps, then left to collapse (1000 in all)
                hd = run_pipeline(data, PipelineConfig(**run), listener=rater)
                times["hd"] += sum(v for k, v in hd.seconds.items() if k != "humangan")
                rows["hd"].append(fidelity(hd.samples["humandiffusion"], truth, data))
                for m, kind in (("hgan-early", "humangan_early"), ("hgan-collapsed", "humangan_collapsed")):
                    rows[m].append({**fidelity(hd.samples[kind], truth, data),
                                    "ran_away": int(kind in hd.ran_away)})
                times["hgan-early"] += hd.seconds["humangan"]     # both phases
                # the same ratings (the same rater seed), with the far prior
                far = run_pipeline(data, PipelineConfig(**run, humangan=False,
                                                        network_changes={"far_prior": 0.5}),
                                   listener=lis.with_(seed=10_000 + s))
                times["hd-far"] += sum(far.seconds.values())
                rows["hd-far"].append(fidelity(far.samples["humandiffusion"], truth, data))
                # the paper's version
                paper = run_pipeline(data, PipelineConfig.paper(**run, humangan=False),
                                     listener=rater.with_(seed=20_000 + s))
                times["hd-paper"] += sum(paper.seconds.values())
                rows["hd-paper"].append(fidelity(paper.samples["humandiffusion"], truth, data))
                # the grid, same budget
                t = time.perf_counter()
                pmap = PerceptionMap.from_listener(rater.with_(seed=30_000 + s), data, B)
                rows["grid"].append(fidelity(pmap.sample(args.samples, rng=s), truth, data))
                times["grid"] += time.perf_counter() - t
            for m in METHODS:
                e = np.array([r["energy"] for r in rows[m]])
                v = np.array([r["variance_ratio"] for r in rows[m]])
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
