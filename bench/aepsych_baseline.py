"""AEPsych's level-set estimation as a peer baseline at a fixed budget of ratings.

``aepsych_samples(data, rate, budget, n_samples, seed)`` spends ``budget`` ratings of
``rate`` the way AEPsych would (a Sobol phase, then a GP model of the rating with a
level-set acquisition at naturalness 0.5), then samples from p(x) proportional to
max(f(x) - floor, 0), f = the model's posterior mean of the rating clipped to [0, 1], as
the grid baseline samples its perception map (``hd_widgets.method.grid.PerceptionMap``:
rejection sampling over the data's bounding box widened by 2 on every side; the floor is
the mean of f over that box's outer shell, as the grid's is the mean of its shell nodes).

AEPsych is a benchmark-only extra and never enters the package's environment: ``pip
install aepsych`` pins SQLAlchemy 1.4, numpy 1.26 and scipy 1.14, which clash with the
package's SQLAlchemy 2 store (shared/NOTES.md). It lives in its own venv,
``bench/.aepsych-venv`` (git-ignored), made on first use (about 1 min here: torch's CPU
wheel lies on local disk) and reused afterwards. The AEPsych code runs there, in
``bench/_aepsych_worker.py``, as a subprocess; it asks this process for every rating
over JSON lines, so the benchmark's own listener object (and its noise stream) answers,
and the budget is counted here. One worker serves every run of a benchmark (the imports
cost about 3 s once), and is stopped at exit.

Model and acquisition (AEPsych 0.8.0, see the worker's docstring): ``GPRegressionModel``
(the model AEPsych has for continuous outcomes; ratings in [0, 1] are continuous, so
nothing is binarised) with ``MCLevelSetEstimation`` (the straddle, target 0.5,
beta 3.84, identity objective) maximised over 1024 fresh Sobol candidates
(``AcqfGridSearchGenerator``); the first 15 % of the budget is Sobol
(``SobolGenerator``). The probit look-ahead acquisitions (``EAVC``, ``GlobalMI``,
``LocalMI``, ``GlobalSUR``...) and ``BernoulliMCMutualInformation`` model binary outcomes
through a probit link, so they do not fit ratings. Speed (about 15-20 CPU s at 1000
ratings, d = 2 or 5): the acquisition picks ``batch`` = 6 points per model update
(kriging believer: each pick shrinks the candidates' variance around it); the GP's
hyperparameters are refitted whenever the ratings have grown by 25 % since the last fit
(about 10 fits a run) and the model is only conditioned on new ratings in between; torch
runs single-threaded.

If the venv cannot be made, :func:`ensure_venv` (and so :func:`aepsych_samples`) raises
a RuntimeError carrying pip's own error line, for the benchmark to print.

Smoke run (d = 2, budget 200, one seed; ``--dims``/``--budgets``/``--seeds`` for more):
``python bench/aepsych_baseline.py`` (``./dev bench`` runs it too); it prints ed2 (1000 x
the unbiased squared energy distance to exact samples of p_H) and the seconds. Where the
venv cannot be made it prints why and exits 0.
"""
from __future__ import annotations

import atexit
import fcntl
import json
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable

import numpy as np

__all__ = ["aepsych_samples", "ensure_venv", "VENV", "PINS"]

HERE = Path(__file__).resolve().parent
VENV = HERE / ".aepsych-venv"
WORKER = HERE / "_aepsych_worker.py"
# What `pip install "torch==2.13.0" aepsych` resolved to here (shared/NOTES.md), pinned
# so every machine builds the same venv; torch pinned to its CPU wheel (unpinned, pip
# pulls a CUDA build of several GB).
PINS = ["torch==2.13.0", "aepsych==0.8.0", "botorch==0.12.0", "gpytorch==1.13",
        "numpy==1.26.4", "scipy==1.14.1"]
MARGIN = 2.0   # the box: the data's bounding box widened by this on every side (as the grid)

_STAMP = VENV / ".ready"


def _python() -> Path:
    return VENV / "bin" / "python"


def _wipe() -> None:
    """Remove a half-built venv (everything in its folder but the lock file)."""
    for p in VENV.iterdir() if VENV.exists() else ():
        if p.name != ".lock":
            shutil.rmtree(p, ignore_errors=True) if p.is_dir() and not p.is_symlink() else p.unlink()


def _pip_error(out: str) -> str:
    """pip's own error line(s) from its output, else its last line."""
    lines = [ln.strip() for ln in out.splitlines() if ln.strip()]
    errs = [ln for ln in lines if ln.startswith("ERROR:")]
    return " | ".join(errs[:3]) if errs else (lines[-1] if lines else "no output")


def ensure_venv(*, timeout: float = 1200.0, quiet: bool = False) -> Path:
    """The AEPsych venv's python, creating the venv first if it is not there yet.

    Creation: ``python -m venv bench/.aepsych-venv`` then ``pip install`` of :data:`PINS`
    (one call, ``timeout`` seconds at most), then an import check; a stamp file marks a
    finished venv. A lock file keeps two processes from building it at once. Any failure
    removes the half-built venv and raises RuntimeError with the reason (pip's error line).
    """
    if _STAMP.exists() and _python().exists():
        return _python()
    VENV.mkdir(parents=True, exist_ok=True)
    with open(VENV / ".lock", "w") as lock:      # inside the venv's folder: git-ignored too
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _STAMP.exists() and _python().exists():
            return _python()
        _wipe()
        t0 = time.perf_counter()
        if not quiet:
            print(f"== creating {VENV.relative_to(HERE.parent)} for AEPsych "
                  f"(pip install {' '.join(PINS)}; about a minute)", file=sys.stderr, flush=True)

        def step(cmd: list[str], what: str, limit: float) -> str:
            try:
                p = subprocess.run(cmd, capture_output=True, text=True, timeout=limit)
            except subprocess.TimeoutExpired:
                _wipe()
                raise RuntimeError(f"AEPsych venv: {what} timed out after {limit:.0f} s") from None
            except OSError as e:
                _wipe()
                raise RuntimeError(f"AEPsych venv: {what} could not start: {e}") from None
            if p.returncode != 0:
                _wipe()
                raise RuntimeError(f"AEPsych venv: {what} failed (exit {p.returncode}): "
                                   f"{_pip_error(p.stdout + p.stderr)}")
            return p.stdout

        step([sys.executable, "-m", "venv", str(VENV)], "python -m venv", 300)
        step([str(_python()), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
              *PINS], "pip install " + " ".join(PINS), max(60.0, timeout - 60))
        versions = step([str(_python()), "-c",
                         "import json, aepsych, botorch, gpytorch, torch; "
                         "from importlib.metadata import version; print(json.dumps("
                         "{p: version(p) for p in ('aepsych', 'botorch', 'gpytorch', 'torch')}))"],
                        "import check (aepsych, botorch, gpytorch, torch)", 300)
        _STAMP.write_text(versions)
        if not quiet:
            print(f"== AEPsych venv ready in {time.perf_counter() - t0:.0f} s: {versions.strip()}",
                  file=sys.stderr, flush=True)
    return _python()


class _Worker:
    """The AEPsych subprocess; JSON lines on its stdin/stdout, stderr to a log file."""

    def __init__(self, python: Path, ready_timeout: float = 300.0):
        self.log = open(VENV / "worker.log", "w+")
        env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONWARNINGS="ignore")
        t0 = time.perf_counter()
        self.proc = subprocess.Popen([str(python), str(WORKER)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.log, text=True,
                                     env=env, bufsize=1, cwd=VENV)   # AEPsych writes logs/ in its cwd
        self.lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()
        self.versions = self.recv(ready_timeout)["ready"]
        self.startup = time.perf_counter() - t0

    def _pump(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def _tail(self) -> str:
        try:
            self.log.flush(); self.log.seek(0)
            lines = [ln for ln in self.log.read().splitlines() if ln.strip()]
            return " | ".join(lines[-3:])
        except (OSError, ValueError):
            return ""

    def send(self, msg: dict) -> None:
        try:
            self.proc.stdin.write(json.dumps(msg) + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise RuntimeError(f"AEPsych worker died: {self._tail()}") from None

    def recv(self, timeout: float) -> dict:
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            self.kill()
            raise RuntimeError(f"AEPsych worker sent nothing for {timeout:.0f} s; killed it") from None
        if line is None:
            self.proc.wait()
            raise RuntimeError(f"AEPsych worker exited ({self.proc.returncode}): {self._tail()}")
        return json.loads(line)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        if self.alive():
            self.proc.kill()
            self.proc.wait()

    def close(self) -> None:
        if self.alive():
            try:
                self.send({"quit": True})
                self.proc.wait(timeout=10)
            except (RuntimeError, subprocess.TimeoutExpired):
                self.kill()
        self.log.close()


_worker: _Worker | None = None


def _get_worker() -> _Worker:
    global _worker
    if _worker is None or not _worker.alive():
        _worker = _Worker(ensure_venv())
        atexit.register(_worker.close)
    return _worker


def aepsych_samples(data: np.ndarray, rate: Callable[[np.ndarray], np.ndarray], budget: int,
                    n_samples: int, seed: int, *, init_fraction: float = 0.15,
                    refit_growth: float = 1.25, samps: int = 1024, target: float = 0.5,
                    beta: float = 3.84, margin: float = MARGIN, batch: int = 6,
                    floor: str = "shell-mean", clip: bool = True,
                    fast_pred_var: bool = True, threads: int | None = 1, step_timeout: float = 300.0) -> tuple[np.ndarray, dict]:
    """Spend ``budget`` ratings on AEPsych's level-set estimation; sample its model.

    Parameters
    ----------
    data : ndarray, shape (N, d)      the real data (normalised space); sets the box.
    rate : callable                   points (n, d) -> ratings (n,) in [0, 1]; called here,
                                      in this process, for every rating the worker asks.
    budget : int                      ratings AEPsych may ask for (all are used).
    n_samples : int                   samples returned.
    seed : int                        seeds the Sobol phases, the MC sampler and the
                                      rejection sampler (the listener's noise is its own).
    init_fraction : float             share of the budget in the initial Sobol phase.
    refit_growth : float              refit the GP hyperparameters whenever the ratings have
                                      grown by this factor since the last refit.
    samps : int                       Sobol candidates the acquisition is maximised over.
    target, beta : float              level-set target (naturalness) and straddle width.
    margin : float                    the box: data's bounding box widened by this.
    batch : int                       points chosen per model update (kriging believer).
    floor : {"shell-mean", "shell-median"}   how the floor is read off f on the box's shell.
    clip : bool                       clip f to the rating scale [0, 1] before sampling.
    fast_pred_var : bool              LOVE posterior variances (gpytorch) in the acquisition.
    threads : int, optional           torch threads in the worker (default 1: steadier on a
                                      shared machine; None: torch's default).
    step_timeout : float              seconds the worker may stay silent before it is killed.

    Returns
    -------
    samples : ndarray, shape (n_samples, d)
    info : dict    ``seconds`` (this call's wall time, including the worker's start-up
                   when it had to start), ``ratings``, versions, ``model``,
                   ``acquisition`` and the fit's details.

    Raises
    ------
    RuntimeError   the venv cannot be made, or the worker failed (the reason inside).
    """
    t0 = time.perf_counter()
    data = np.asarray(data, dtype=np.float64)
    if data.ndim != 2 or len(data) == 0:
        raise ValueError(f"data must have shape (N, d) with N > 0, got {data.shape}")
    d = data.shape[1]
    budget, n_samples = int(budget), int(n_samples)
    n_init = min(budget, max(d + 1, int(round(init_fraction * budget))))
    if budget < 2 or n_samples < 1 or batch < 1:
        raise ValueError("need budget >= 2, n_samples >= 1 and batch >= 1")
    if floor not in ("shell-mean", "shell-median"):
        raise ValueError(f"floor must be 'shell-mean' or 'shell-median', got {floor!r}")
    lo, hi = data.min(0) - margin, data.max(0) + margin
    fresh = _worker is None or not _worker.alive()
    w = _get_worker()
    job = {"d": d, "lo": lo.tolist(), "hi": hi.tolist(), "budget": budget,
           "n_samples": n_samples, "seed": int(seed), "n_init": n_init,
           "refit_growth": float(refit_growth), "samps": int(samps), "target": float(target),
           "beta": float(beta), "threads": threads, "max_draws": 50_000_000,
           "fast_pred_var": bool(fast_pred_var), "batch": int(batch), "clip": bool(clip),
           "floor": str(floor)}
    w.send({"job": job})
    try:
        msg, used, t_rate = _serve(w, rate, d, budget, step_timeout)
    except BaseException:
        w.kill()            # mid-run, the worker waits for ratings: never reuse it
        raise
    samples = np.asarray(msg["done"]["samples"], dtype=np.float64).reshape(n_samples, d)
    info = dict(msg["done"]["info"])
    info.update(method="aepsych", seconds=time.perf_counter() - t0, ratings=used,
                budget=budget, seconds_rating=t_rate,
                seconds_startup=w.startup if fresh else 0.0, venv=str(VENV))
    return samples, info


def _serve(w: _Worker, rate: Callable, d: int, budget: int,
           step_timeout: float) -> tuple[dict, int, float]:
    """Answer the worker's rating requests until it is done: (done message, ratings, s)."""
    used, t_rate = 0, 0.0
    while True:
        msg = w.recv(step_timeout)
        if "rate" in msg:
            pts = np.asarray(msg["rate"], dtype=np.float64).reshape(-1, d)
            if used + len(pts) > budget:
                raise RuntimeError(f"AEPsych worker asked for more than {budget} ratings")
            t1 = time.perf_counter()
            y = np.asarray(rate(pts), dtype=np.float64).reshape(-1)
            t_rate += time.perf_counter() - t1
            if len(y) != len(pts) or not np.all(np.isfinite(y)):
                raise ValueError(f"rate returned {y.shape} values (finite: "
                                 f"{bool(np.all(np.isfinite(y)))}) for {len(pts)} points")
            used += len(pts)
            w.send({"y": y.tolist()})
        elif "done" in msg:
            return msg, used, t_rate
        elif "error" in msg:
            raise RuntimeError("AEPsych run failed in the worker:\n" + msg["error"])
        else:
            raise RuntimeError(f"AEPsych worker sent an unknown message: {list(msg)}")


def _smoke(dims: list[int], budgets: list[int], seeds: list[int], n_samples: int) -> None:
    """Score aepsych_samples against exact samples of p_H (ed2 as in bench/fidelity.py)."""
    here = str(HERE.parent)
    if here not in sys.path:
        sys.path.insert(0, here)
    from hd_widgets.method.metrics import fidelity
    from hd_widgets.ratings.listeners import SimulatedListener
    from hd_widgets.speech.space import FeatureSpace

    for d in dims:
        data = FeatureSpace.default(d).points
        for budget in budgets:
            for seed in seeds:
                listener = SimulatedListener.from_data(data, seed=seed)
                samples, info = aepsych_samples(data, listener.rate, budget, n_samples, seed)
                f = fidelity(samples, listener.sample_pH(5000, rng=1), data)
                print(f"aepsych d={d} budget={budget} seed={seed}: ed2={f['ed2']:.3f} "
                      f"energy={f['energy']:.4f} var_ratio={f['variance_ratio']:.2f} "
                      f"seconds={info['seconds']:.1f} (worker CPU "
                      f"{info['cpu_seconds_worker']:.1f}, startup {info['seconds_startup']:.1f}, "
                      f"acquire {info['seconds_acquire']:.1f}, sample "
                      f"{info['seconds_sample']:.1f}) ratings={info['ratings']} "
                      f"floor={info['floor']:.3f} aepsych {info['aepsych']}", flush=True)


if __name__ == "__main__":
    import argparse
    ap = argparse.ArgumentParser(description="Smoke run of the AEPsych baseline.")
    ap.add_argument("--dims", type=int, nargs="+", default=[2])
    ap.add_argument("--budgets", type=int, nargs="+", default=[200])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--samples", type=int, default=5000)
    a = ap.parse_args()
    try:
        ensure_venv()
    except RuntimeError as e:   # not the package's failure: say why, and let ./dev bench go on
        print(f"AEPsych baseline skipped: {e}", file=sys.stderr)
        sys.exit(0)
    _smoke(a.dims, a.budgets, a.seeds, a.samples)
