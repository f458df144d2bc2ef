"""What does a budget of ratings buy? HumanDiffusion in rounds against the fixed plan and peers.

One process runs, for d = 2 and d = 5 and budgets of about 200, 500 and 1000 ratings, over
``--seeds`` seeds (the same seeds, listeners and exact p_H samples for every method):

- hd-fixed   today's default: one plan around the real data, one network
             (``hd_widgets.study.pipeline.run_pipeline``);
- hd-rounds  the new default: a study in rounds (``hd_widgets.study.rounds``, 40/30/30 % of
             the budget, next points where the particles went, an ensemble of 3 networks
             in the final fit, on the long schedule from 50 rated pairs per dimension,
             chains started "auto": from the model's own D where the proposals carry it,
             else from the real data; that D the score's networks' where their
             proposals carry it, else from networks on the short schedule; the
             samples the chains' last step without its noise), rated through a real
             ratings store; ``hd-rounds-data`` and ``hd-rounds-resampled`` (on request) start
             every chain one way, ``hd-rounds-long-planning`` plans the rounds on the final
             fit's long-schedule rule, ``hd-rounds-share50`` gives round 0 half the
             budget (50/25/25 %);
- grid       the same budget rated directly on a grid, sampled from its thresholded map;
- aepsych    AEPsych's level-set estimation (a Gaussian-process model of the acceptable
             region with its adaptive acquisition) given the same budget and sampled from
             as the grid is (``bench/aepsych_baseline.py``, in a venv of its own);
- floor      Langevin with the true score (no ratings: the best a sampler can do).

Per (d, budget, method) one line
``budget d=D ratings=B method=M ed2_mean=… ed2_median=… ed2_worst=… lowD_worst=… variance_ratio=… escaped=…``:
``ed2`` is 1000 x the unbiased squared energy distance of a method's 5000 samples to
``--exact`` (20,000) exact samples of p_H (the same per seed for every method; a larger
reference than the 5000 of earlier runs, which put up to 1.6 of noise on one seed),
``lowD_worst`` the worst seed's share of samples where the true D < 0.1 (p_H itself has
about 1 %), ``variance_ratio`` the mean over seeds (p_H's own is about 2), ``escaped`` the
particles that left the space, summed over seeds. Then ``paired`` lines: hd-rounds minus
hd-fixed and minus grid, seed by seed, with 95 % t-intervals.
Two worker processes with one torch thread each. ``--quick``: d = 2, budgets 200 and 500,
3 seeds, no AEPsych. ``--first-seed K`` runs seeds K, K + 1, ... instead of 0, 1, ...: a
change chosen on the bench's own seeds is checked on others.
"""
from __future__ import annotations

import argparse
from concurrent.futures import ProcessPoolExecutor
from functools import lru_cache
import os
from pathlib import Path
import sys
import tempfile
import time

import numpy as np

METHODS = ["hd-fixed", "hd-rounds", "grid", "aepsych", "floor"]
# on request (--methods): the same study with every chain started one way (hd-rounds: "auto")
EXTRA = ["hd-rounds-data", "hd-rounds-resampled",
         "hd-rounds-long-planning",   # and the round-planning fits on the final fit's schedule rule
         "hd-rounds-share50"]         # and round 0 at half the budget (50/25/25 %)
SAMPLES = 5000          # each method's samples
EXACT = 20_000          # exact samples of p_H per seed (--exact)


def _init() -> None:
    import torch
    torch.set_num_threads(1)


def _world(d: int):
    from hd_widgets.ratings.listeners import SimulatedListener
    from hd_widgets.speech.space import FeatureSpace
    data = FeatureSpace.default(d).points
    return data, SimulatedListener.from_data(data, seed=0)


@lru_cache(maxsize=None)
def _exact(d: int, seed: int, n: int) -> tuple[np.ndarray, float]:
    """Seed ``seed``'s exact samples of p_H (n, d) and their own mean distance, once per
    worker: the O(n^2) term is the same for every method and budget."""
    from hd_widgets.method.metrics import mean_distance
    truth = _world(d)[1].sample_pH(n, rng=1000 + seed)
    return truth, mean_distance(truth)


def job(d: int, budget: int, seed: int, method: str, exact: int = EXACT) -> dict:
    """One method at one budget and seed: its fidelity to p_H, low-D share and seconds."""
    from hd_widgets.method.metrics import fidelity
    data, lis = _world(d)
    truth, within = _exact(d, seed, exact)
    rater = lis.with_(seed=10_000 + seed)
    t = time.perf_counter()
    info = ""
    if method == "hd-fixed":
        from hd_widgets.study.pipeline import PipelineConfig, run_pipeline
        x = run_pipeline(data, PipelineConfig(budget=budget, seed=seed, particles=SAMPLES,
                                              max_norm=float("inf"), humangan=False),
                         listener=rater).samples["humandiffusion"]
    elif method.startswith("hd-rounds"):
        from hd_widgets.ratings.store import RatingsStore
        from hd_widgets.study.rounds import RoundsConfig, RoundsStudy
        with tempfile.TemporaryDirectory() as tmp, RatingsStore(Path(tmp) / "study.sqlite") as store:
            config = RoundsConfig(budget=budget, seed=seed)
            if method == "hd-rounds-long-planning":
                config = config.with_(plan_long_per_dim=config.final_long_per_dim)
            elif method == "hd-rounds-share50":
                config = config.with_(shares=(0.5, 0.25, 0.25))
            elif method != "hd-rounds":
                config = config.with_(start=method.removeprefix("hd-rounds-"))
            study = RoundsStudy(store, data, config)
            study.rate_with(rater)
            fit = study.fit(particles=SAMPLES)
            x = fit.samples
            info = "final start: " + fit.start + ("" if fit.placed_by is None
                                                   else f", placed by the {fit.placed_by} D")
            study.close()
    elif method == "grid":
        from hd_widgets.method.grid import PerceptionMap
        x = PerceptionMap.from_listener(rater, data, budget).sample(SAMPLES, rng=seed)
    elif method == "aepsych":
        sys.path.insert(0, str(Path(__file__).parent))
        from aepsych_baseline import aepsych_samples
        x, meta = aepsych_samples(data, rater.rate, budget, SAMPLES, seed)
        info = str(meta.get("method", ""))
    elif method == "floor":
        from hd_widgets.method.sampling import langevin
        from hd_widgets.method.score import numpy_score_fn
        x = langevin(numpy_score_fn(lis.score), data, n=SAMPLES, alpha=0.01, n_steps=1000,
                     seed=seed, max_norm=float("inf")).samples
    else:
        raise ValueError(f"unknown method {method!r}")
    f = fidelity(x, truth, data, exact_within=within)
    finite = x[np.isfinite(x).all(1)]
    f["lowD"] = float(np.mean(lis.D(finite) < 0.1)) if len(finite) else 1.0
    f["seconds"] = time.perf_counter() - t
    f["info"] = info
    return f


def _infos(rs: list[dict]) -> str:
    """What the runs said about themselves, with counts: " (final start: data x7, ...)"."""
    from collections import Counter
    said = Counter(r["info"] for r in rs if r.get("info"))
    return (" (" + ", ".join(f"{k} x{v}" for k, v in sorted(said.items())) + ")") if said else ""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--first-seed", type=int, default=0,
                    help="seeds first-seed .. first-seed + seeds - 1 (other seeds than the "
                         "bench's own, to check a change out of sample)")
    ap.add_argument("--budgets", type=int, nargs="+", default=[200, 500, 1000])
    ap.add_argument("--dims", type=int, nargs="+", default=[2, 5])
    ap.add_argument("--methods", nargs="+", default=METHODS, choices=METHODS + EXTRA)
    ap.add_argument("--exact", type=int, default=EXACT, help="exact samples of p_H per seed")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", type=Path, default=None, help="also write every run's figures here")
    args = ap.parse_args()
    if args.quick:
        args.seeds, args.budgets, args.dims = 3, [200, 500], [2]
        args.methods = [m for m in args.methods if m != "aepsych"]
    t_all = time.perf_counter()
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    print(f"settings: seeds={seeds.start}-{seeds.stop - 1} budgets={args.budgets} dims={args.dims} "
          f"methods={args.methods} samples={SAMPLES} exact={args.exact} workers={args.workers} torch threads=1",
          flush=True)
    from hd_widgets.method.metrics import paired_difference
    jobs = [(d, b, s, m) for d in args.dims for b in args.budgets for m in args.methods
            for s in seeds if not (m == "floor" and b != args.budgets[0])]
    # the slowest first, so the two workers finish together
    order = {"hd-rounds": 0, "hd-rounds-data": 0, "hd-rounds-resampled": 0,
             "hd-rounds-long-planning": 0, "hd-rounds-share50": 0,
             "aepsych": 1, "hd-fixed": 2, "floor": 3, "grid": 4}
    jobs.sort(key=lambda j: (order[j[3]], -j[1]))
    with ProcessPoolExecutor(args.workers, initializer=_init) as pool:
        futures = {j: pool.submit(job, *j, args.exact) for j in jobs}
        results = {}
        for n, (j, fut) in enumerate(futures.items(), start=1):
            try:
                results[j] = fut.result()
            except Exception as exc:   # noqa: BLE001 - a method that cannot run is reported, not hidden
                results[j] = {"error": f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"}
            print(f"  [{n}/{len(jobs)}] d={j[0]} ratings={j[1]} seed={j[2]} {j[3]}: "
                  + (f"ed2={results[j]['ed2']:.2f}" if "ed2" in results[j] else results[j]["error"]),
                  file=sys.stderr, flush=True)
    if args.json is not None:
        import json
        args.json.write_text(json.dumps([{"d": j[0], "ratings": j[1], "seed": j[2], "method": j[3], **r}
                                         for j, r in results.items()], indent=1))
    for d in args.dims:
        for b in args.budgets:
            rows = {}
            for m in args.methods:
                key = (d, args.budgets[0] if m == "floor" else b)
                rs = [results[(*key, s, m)] for s in seeds]
                errors = [r["error"] for r in rs if "error" in r]
                if errors:
                    print(f"budget d={d} ratings={b} method={m} unavailable: {errors[0]}", flush=True)
                    continue
                rows[m] = rs
                e = np.array([r["ed2"] for r in rs])
                print(f"budget d={d} ratings={b} method={m} ed2_mean={e.mean():.2f} "
                      f"ed2_median={np.median(e):.2f} ed2_worst={e.max():.2f} "
                      f"lowD_worst={100 * max(r['lowD'] for r in rs):.1f}% "
                      f"variance_ratio={np.mean([r['variance_ratio'] for r in rs]):.2f} "
                      f"escaped={sum(r['escaped'] for r in rs)} "
                      f"seconds_per_run={np.mean([r['seconds'] for r in rs]):.1f}"
                      + _infos(rs), flush=True)
            for other in ("hd-fixed", "grid", "aepsych", *EXTRA):
                if "hd-rounds" in rows and other in rows:
                    mean, lo, hi = paired_difference([r["ed2"] for r in rows["hd-rounds"]],
                                                     [r["ed2"] for r in rows[other]])
                    verdict = "ahead" if hi < 0 else "behind" if lo > 0 else "level"
                    print(f"paired d={d} ratings={b} hd-rounds vs {other}: ed2_diff={mean:+.2f} "
                          f"ci95=[{lo:+.2f}, {hi:+.2f}] {verdict}", flush=True)
    print(f"total_seconds: {time.perf_counter() - t_all:.0f}")


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
