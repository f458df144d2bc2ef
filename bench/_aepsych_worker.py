"""AEPsych level-set estimation, run inside bench/.aepsych-venv (never the package's venv).

Started by ``bench/aepsych_baseline.py`` as a subprocess; it talks JSON lines:

    worker -> parent   {"ready": {versions}}            once, after the imports
    parent -> worker   {"job": {...}}                   one run (see :func:`run`)
    worker -> parent   {"rate": [[x, ...], ...]}        points to rate (feature space)
    parent -> worker   {"y": [r, ...]}                  the parent listener's ratings
    worker -> parent   {"done": {"samples": ..., "info": ...}}  or  {"error": "..."}
    parent -> worker   {"quit": true}                   (or end of input) to stop

Every rating comes from the parent, so the listener (and its noise stream) is the one the
benchmark gives every method. The worker serves any number of jobs, so the imports (about
3 s) are paid once per benchmark.

The recipe, AEPsych 0.8.0's parts (a ``SequentialStrategy`` of two ``Strategy``s):
- the box (data's bounding box widened by 2) is mapped to the unit cube, where AEPsych's
  default priors live (lengthscale prior log-normal around sqrt(2) + log(d)/2);
- ``SobolGenerator`` for the first ``n_init`` ratings, asked as one batch;
- then ``GPRegressionModel`` (exact GP, constant mean, RBF ARD kernel, Gaussian noise:
  AEPsych's model for continuous outcomes) with ``MCLevelSetEstimation`` (the straddle:
  sqrt(beta) sd - |mean - target|, target 0.5, beta 3.84, an identity objective because
  the outcome is the rating itself, not a probit probability), maximised over ``samps``
  fresh Sobol candidates (``AcqfGridSearchGenerator``), ``batch`` points per model update
  (kriging believer, see ``_GridSearch``);
- hyperparameters refitted (L-BFGS on the marginal likelihood) whenever the ratings have
  grown by ``refit_growth`` since the last fit; in between the model is only conditioned
  on the new ratings (see ``_Model``);
- finally a full fit on all ratings; f = the posterior mean clipped to the rating scale
  [0, 1] (the unconstrained GP undershoots below 0 beyond the contour); floor = mean of f
  over the box's outer shell; rejection sampling of max(f - floor, 0) over the box.
"""
from __future__ import annotations

import json
import os
import sys
import time
import traceback


def _protocol():
    """(read, send): JSON lines on the original stdin/stdout; stdout is re-pointed at
    stderr so that nothing any library prints can corrupt the protocol."""
    out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    inp = sys.stdin

    def read() -> dict | None:
        line = inp.readline()
        return json.loads(line) if line.strip() else None

    def send(msg: dict) -> None:
        out.write(json.dumps(msg) + "\n")
        out.flush()

    return read, send


def run(job: dict, ask) -> dict:
    """One AEPsych run. ``ask(points (n, d) in the unit cube) -> ratings tensor (n,)``."""
    import numpy as np
    import torch
    import gpytorch
    from aepsych.acquisition import MCLevelSetEstimation
    from aepsych.generators import AcqfGridSearchGenerator, SobolGenerator
    from aepsych.models import GPRegressionModel
    from aepsych.strategy import SequentialStrategy, Strategy
    from botorch.acquisition.objective import IdentityMCObjective
    from botorch.utils.sampling import draw_sobol_normal_samples

    class _Model(GPRegressionModel):
        """AEPsych's GP regression, refitted on a geometric schedule.

        A full fit (L-BFGS on the marginal likelihood, warm-started from the current
        hyperparameters) happens only once the data have grown by the factor ``growth``
        since the last one; otherwise the model is only conditioned on the data, with its
        hyperparameters kept (both for AEPsych's ``fit`` and its warm ``update``, which for
        a regression model would otherwise re-optimise after every rating).
        """

        growth: float = 1.25
        n_fit: int = 0
        fits: int = 0
        fit_seconds: float = 0.0

        def fit(self, train_x, train_y, force: bool = False, **kwargs):
            if force or len(train_y) >= self.growth * self.n_fit:
                t = time.perf_counter()
                super().fit(train_x, train_y, **kwargs)
                self.n_fit, self.fits = len(train_y), self.fits + 1
                self.fit_seconds += time.perf_counter() - t
            else:
                self.set_train_data(train_x, train_y)
                self.prediction_strategy = None   # drop gpytorch's cached solve

        update = fit

    class _GridSearch(AcqfGridSearchGenerator):
        """AcqfGridSearchGenerator for a batch of q points, chosen one at a time.

        One joint posterior over ``samps`` fresh Sobol candidates per batch (gpytorch's
        LOVE cache, ``fast_pred_var``); MCLevelSetEstimation's own ``acquisition`` is
        applied to MC samples mean + sd * z of each candidate's marginal (base samples z
        shared by the candidates, as its ``forward`` does for q = 1) and the best candidate
        is taken; then the batch's next point is chosen the same way after conditioning the
        candidates' covariance on that point (kriging believer: the mean stays, the
        variance shrinks around the point), so a batch spreads along the contour instead of
        piling up at one maximum. q = 1 is AEPsych's plain sequential grid search. (AEPsych
        itself evaluates q = 1 as a batch of 1-point posteriors, one kernel block per
        candidate: about 0.15 s a step for 1024 candidates.)
        """

        fast: bool = True
        z: torch.Tensor

        def _gen(self, num_points, model, fixed_features=None, **gen_options):
            model.eval()
            acqf = self._instantiate_acquisition_fn(model)
            X = self.grid_gen.gen(self.samps, model, fixed_features, **gen_options)
            with torch.no_grad(), gpytorch.settings.fast_pred_var(self.fast):
                post = model.posterior(X)
                mu = post.mean.reshape(1, -1)
                cov = post.distribution.covariance_matrix.clone()
                noise = model.likelihood.noise.reshape(-1)[0]
                picks = []
                for _ in range(num_points):
                    sd = torch.diagonal(cov).clamp_min(0).sqrt()[None, :]
                    samples = (mu + sd * self.z).unsqueeze(-1)      # (n_mc, m, 1)
                    vals = acqf.acquisition(acqf.objective(samples, X)).reshape(-1)
                    if picks:
                        vals[picks] = -torch.inf
                    i = int(torch.argmax(vals))
                    picks.append(i)
                    c = cov[:, i].clone()
                    cov -= torch.outer(c, c) / (c[i] + noise)
            return X[picks]

    t0, c0 = time.perf_counter(), time.process_time()
    d = int(job["d"])
    budget, n_samples, seed = int(job["budget"]), int(job["n_samples"]), int(job["seed"])
    n_init = int(job["n_init"])
    growth = float(job["refit_growth"])
    batch = int(job["batch"])
    samps = int(job["samps"])
    target, beta = float(job["target"]), float(job["beta"])
    if job.get("threads"):
        torch.set_num_threads(int(job["threads"]))
    torch.manual_seed(seed)
    lb, ub = torch.zeros(d, dtype=torch.float64), torch.ones(d, dtype=torch.float64)

    model = _Model(dim=d)
    model.growth = growth
    init = Strategy(generator=SobolGenerator(lb, ub, dim=d, seed=seed), lb=lb, ub=ub, dim=d,
                    outcome_types=["continuous"], min_asks=n_init, name="init")
    gen = _GridSearch(
        lb, ub, acqf=MCLevelSetEstimation,
        acqf_kwargs={"target": target, "beta": beta, "objective": IdentityMCObjective()},
        samps=samps, grid_generator=SobolGenerator(lb, ub, dim=d, seed=seed + 1))
    gen.fast = bool(job["fast_pred_var"])
    # MC base samples shared by the candidates (the samples are affine in z, so 128 Sobol
    # normals give the straddle's mean and variance to well under 1 %)
    gen.z = draw_sobol_normal_samples(1, 128, dtype=torch.float64, seed=seed + 3)  # (128, 1)
    opt = Strategy(generator=gen, lb=lb, ub=ub, dim=d, model=model,
                   outcome_types=["continuous"], min_asks=budget - n_init,
                   refit_every=1, name="opt")
    strat = SequentialStrategy([init, opt])

    t_fit = time.perf_counter()
    x = strat.gen(n_init)
    strat.add_data(x, ask(x))
    left = budget - n_init
    while left > 0:
        x = strat.gen(min(batch, left)).reshape(-1, d)
        strat.add_data(x, ask(x))
        left -= len(x)
    t_ask = time.perf_counter()
    model.fit(opt.x, opt.y, force=True)     # final full fit on every rating
    model.eval()
    t_final = time.perf_counter()

    clip = bool(job["clip"])

    def mean(u: np.ndarray) -> np.ndarray:
        out = []
        with torch.no_grad(), gpytorch.settings.skip_posterior_variances(True):
            for i in range(0, len(u), 8192):
                xb = torch.as_tensor(u[i:i + 8192], dtype=torch.float64)
                out.append(model.posterior(xb).mean.reshape(-1).numpy())
        f = np.concatenate(out) if out else np.zeros(0)
        return np.clip(f, 0.0, 1.0) if clip else f

    rng = np.random.default_rng(seed)
    sob = torch.quasirandom.SobolEngine(d, scramble=True, seed=seed + 2)
    # floor: the model's mean over the box's outer shell (each point pushed onto a face)
    shell = sob.draw(2048).numpy().astype(np.float64)
    face = np.arange(len(shell))
    shell[face, face % d] = (face // d) % 2
    f_shell = mean(shell)
    floors = {"shell-mean": float(f_shell.mean()), "shell-median": float(np.median(f_shell))}
    floor = floors[job["floor"]]
    probe = np.concatenate([sob.draw(16384).numpy().astype(np.float64),
                            model.train_inputs[0].numpy()])
    top = 1.05 * float(np.max(mean(probe)) - floor)
    lo, hi = np.asarray(job["lo"], dtype=np.float64), np.asarray(job["hi"], dtype=np.float64)

    drawn, accepted, raised = 0, 0, 0
    if not top > 0:        # a flat model carries no information: the box, uniformly
        u = rng.uniform(size=(n_samples, d))
    else:
        out, have = [], 0
        while have < n_samples and drawn < int(job["max_draws"]):
            u = rng.uniform(size=(16384, d))
            dens = np.maximum(mean(u) - floor, 0.0)
            if dens.max() > top:   # the probe missed the peak: raise the envelope, go on
                top, raised = 1.05 * float(dens.max()), raised + 1
            keep = rng.uniform(size=len(u)) * top < dens
            out.append(u[keep]); have += int(keep.sum()); drawn += len(u)
        accepted = have
        if have < n_samples:
            out.append(rng.uniform(size=(n_samples - have, d)))
        u = np.concatenate(out)[:n_samples]
    samples = lo + (hi - lo) * u

    from importlib.metadata import version
    covar = model.covar_module
    ls = covar.lengthscale.detach().reshape(-1).numpy() * (hi - lo)
    info = {
        "aepsych": version("aepsych"), "botorch": version("botorch"),
        "gpytorch": version("gpytorch"), "torch": version("torch"),
        "model": "aepsych.models.GPRegressionModel (exact GP, constant mean, RBF ARD, "
                 "Gaussian likelihood; AEPsych default priors, on the unit cube)",
        "acquisition": f"aepsych.acquisition.MCLevelSetEstimation(target={target}, "
                       f"beta={beta}, objective=IdentityMCObjective) via "
                       f"AcqfGridSearchGenerator(samps={samps}), batches of {batch} "
                       f"(kriging believer)",
        "n_init": n_init, "batch": batch, "refit_growth": growth, "fits": model.fits,
        "seconds_fitting": model.fit_seconds,
        "floor": floor, "floor_rule": job["floor"], "clip": clip, "floors": floors,
        "top": top, "proposals": drawn, "accepted": accepted, "envelope_raised": raised,
        "lengthscale": ls.tolist(), "noise_sd": float(model.likelihood.noise.sqrt().item()),
        "constant_mean": float(model.mean_module.constant.item()),
        "seconds_acquire": t_ask - t_fit, "seconds_final_fit": t_final - t_ask,
        "seconds_sample": time.perf_counter() - t_final,
        "seconds_worker": time.perf_counter() - t0,
        "cpu_seconds_worker": time.process_time() - c0,
    }
    return {"samples": samples.tolist(), "info": info}


def main() -> int:
    read, send = _protocol()
    import warnings
    warnings.filterwarnings("ignore")
    import numpy as np
    import torch
    import importlib
    import gpytorch
    for name in ("aepsych", "botorch"):   # fail here, visibly, if broken
        importlib.import_module(name)
    from importlib.metadata import version
    send({"ready": {**{p: version(p) for p in ("aepsych", "botorch", "gpytorch", "torch",
                                                "numpy", "scipy")},
                    "python": sys.version.split()[0]}})
    while True:
        msg = read()
        if msg is None or msg.get("quit"):
            return 0
        job = msg["job"]
        lo = np.asarray(job["lo"], dtype=np.float64)
        hi = np.asarray(job["hi"], dtype=np.float64)

        def ask(u):
            pts = lo + (hi - lo) * u.detach().cpu().numpy().reshape(-1, len(lo))
            send({"rate": pts.tolist()})
            reply = read()
            if reply is None or "y" not in reply:
                raise RuntimeError(f"parent sent no ratings: {reply!r}")
            y = torch.tensor(reply["y"], dtype=torch.float64).reshape(-1)
            if len(y) != len(pts):
                raise RuntimeError(f"asked {len(pts)} ratings, got {len(y)}")
            return y

        try:
            # exact (Cholesky) solves at every n used here; gpytorch switches to CG above 800
            with gpytorch.settings.max_cholesky_size(4096):
                result = run(job, ask)
        except Exception:
            send({"error": traceback.format_exc(limit=8)})
        else:
            send({"done": result})


if __name__ == "__main__":
    sys.exit(main())
