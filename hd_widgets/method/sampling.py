"""Unadjusted Langevin dynamics on a score function (docs/method.md, item 8).

    x_{t+1} = x_t + (alpha / 2) s(x_t) + noise * sqrt(alpha) z_t,     z_t ~ N(0, I)

``noise = 1`` is Langevin dynamics, which samples the density whose score is s;
``noise = 0`` is plain gradient ascent on log D, which gathers every particle at the
modes (the lesson of notebook 05).

The sampler sees only ``score_fn(x: Tensor (n, d)) -> Tensor (n, d)``, the one currency
between network and sampler (a trained :class:`~hd_widgets.method.network.ScoreNet` gives one
with ``net.score_fn()``, a known density with
:func:`~hd_widgets.method.score.numpy_score_fn`; the type is
:data:`~hd_widgets.method.score.ScoreFn`). Particles are
independent, so they are updated in blocks of ``chunk`` rows (bounded memory); the
update is in place, the noise buffer preallocated, float32, and no autograd is
recorded. Particles that leave ``max_norm`` or turn non-finite raise
:class:`LangevinDivergence` instead of returning NaN quietly.
"""
from __future__ import annotations

from dataclasses import dataclass
import math
import time
from typing import Callable

import numpy as np
import torch
from tqdm.auto import tqdm

from .score import ScoreFn

__all__ = ["LangevinDivergence", "LangevinResult", "langevin", "init_from_data",
           "resampled_starts", "ThinProposals"]


class ThinProposals(ValueError):
    """Too few of :func:`resampled_starts`' proposals carry the model's mass: the
    importance weights' effective sample size, as a fraction of the proposals
    (``ess``), is below the ``min_ess`` asked for."""

    def __init__(self, ess: float, min_ess: float) -> None:
        self.ess, self.min_ess = ess, min_ess
        super().__init__(f"only {ess:.1%} of the proposals carry the model's mass (effective "
                         f"sample size; {min_ess:.0%} asked for): the model's D is concentrated "
                         f"in a small part of the proposal, and resampling would rest on few "
                         f"points")


class LangevinDivergence(RuntimeError):
    """Particles left the space (non-finite, or beyond ``max_norm``).

    Attributes: ``step`` (the step at which it was seen), ``n_bad`` (particles out),
    ``n`` (all particles).
    """

    def __init__(self, step: int, n_bad: int, n: int, max_norm: float, alpha: float) -> None:
        self.step, self.n_bad, self.n = step, n_bad, n
        self.max_norm, self.alpha = max_norm, alpha
        super().__init__(
            f"Langevin diverged by step {step}: {n_bad} of {n} particles are non-finite or "
            f"beyond |x| = {max_norm:g} (step size alpha = {alpha:g}). What helps depends on "
            f"why: with few ratings (below a few hundred) the field far from the rated points "
            f"is a guess -- rate more, rate in rounds (hd.RoundsStudy), or train with the far "
            f"prior (ScoreNetConfig.for_estimate(est, far_prior=0.5)); with lam = 0 nothing "
            f"pulls the particles home -- use the default pull, EstimateOptions() (lam = "
            f"4 sqrt(2 / d)); with a large alpha each step overshoots -- use a smaller alpha "
            f"(0.01 held at every budget measured). hd_widgets.study.claims.diverged_claim "
            f"says which applies to a run.")


@dataclass(repr=False)
class LangevinResult:
    """Samples, and optionally the path that led to them.

    Attributes
    ----------
    samples : ndarray, shape (n, d)              final particles (float64).
    trajectory : ndarray, shape (K, n, d) or None  positions at ``steps`` (float32).
    steps : ndarray, shape (K,)                  the step index of each recorded frame.
    alpha : float ; n_steps : int ; seconds : float
    """

    samples: np.ndarray
    trajectory: np.ndarray | None
    steps: np.ndarray
    alpha: float
    n_steps: int
    seconds: float

    def __repr__(self) -> str:
        n, d = self.samples.shape
        traj = "none" if self.trajectory is None else f"{len(self.steps)} frames"
        rate = n * self.n_steps / max(self.seconds, 1e-12)
        return (f"LangevinResult(particles={n}, d={d}, alpha={self.alpha:g}, "
                f"n_steps={self.n_steps}, trajectory={traj}, seconds={self.seconds:.2f}, "
                f"particle_steps_per_s={rate:.3g})")


def init_from_data(data: np.ndarray, n: int,
                   seed: int | np.random.Generator | None = 0) -> np.ndarray:
    """``n`` starting points drawn from the rows of ``data`` with replacement, (n, d)."""
    data = np.asarray(data, dtype=np.float64)
    return data[np.random.default_rng(seed).integers(0, len(data), n)]


def langevin(score_fn: ScoreFn, x0: np.ndarray | torch.Tensor, *, alpha: float = 0.01,
             n_steps: int = 1000, n: int | None = None, noise: float = 1.0, record_every: int = 0,
             chunk: int = 16384, max_norm: float = 100.0, check_every: int = 10,
             seed: int | torch.Generator | None = 0, progress: bool = False,
             denoise: bool = False) -> LangevinResult:
    """Run Langevin dynamics from ``x0`` for ``n_steps`` steps.

    Parameters
    ----------
    score_fn : callable
        Tensor (m, d) float32 -> Tensor (m, d); called on blocks of at most ``chunk`` rows.
    x0 : ndarray or Tensor, shape (m, d)
        Starting points (real data, or samples of any initial sampler).
    alpha : float
        Step size.
    n_steps : int
        Number of steps T.
    n : int, optional
        Number of particles; if given and != len(x0), ``n`` rows of x0 are drawn with
        replacement (so ``langevin(f, data, n=10_000)`` starts from the data).
    noise : float
        Scale of the injected noise: 1 samples the density (Langevin), 0 is gradient
        ascent (collapses onto modes), values between sample a sharpened density.
    record_every : int
        Keep the positions every this many steps (and the start); 0 keeps none.
    chunk : int
        Particles per block, bounding the memory of one score call. (Smaller, cache-sized
        blocks did not pay on the 2-core test machine; any size gives the same samples.)
    max_norm : float
        A particle with max_i |x_i| beyond this (or non-finite) is a divergence; 100
        standard deviations from the data in the normalised space.
    check_every : int
        Check for divergence every this many steps (and after the last).
    seed : int or torch.Generator
        Noise (and the draw of starting points when ``n`` is given).
    progress : bool
        Show a tqdm progress bar.
    denoise : bool
        Return, instead of the last particles x_T, their Tweedie mean given the last
        step's noise (variance ``noise ** 2 * alpha``): x_T + noise^2 alpha s(x_T), one more
        score call. It removes that noise, which with an exact score is slightly too much
        (the particles come out a little narrower than the density); a learned score's
        edge that is too soft it tightens (docs/method.md, "The last step's noise"). The
        trajectory's frames are the chain's own.

    Returns
    -------
    LangevinResult

    Raises
    ------
    LangevinDivergence
        When particles explode; the message says when and how many.
    ValueError
        For bad arguments: non-finite starting points, a score of the wrong shape,
        non-positive step size, negative counts.
    """
    if not (math.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise must be a finite number >= 0, got {noise!r}")
    if not (math.isfinite(alpha) and alpha > 0):
        raise ValueError(f"alpha (step size) must be a finite number > 0, got {alpha!r}")
    for name, value, least in (("n_steps", n_steps, 0), ("chunk", chunk, 1),
                               ("check_every", check_every, 1), ("record_every", record_every, 0)):
        if int(value) != value or value < least:
            raise ValueError(f"{name} must be a whole number >= {least}, got {value!r}")
    if n is not None and (int(n) != n or n < 1):
        raise ValueError(f"n (particles) must be a whole number >= 1, got {n!r}")
    if not max_norm > 0:
        raise ValueError(f"max_norm must be > 0, got {max_norm!r}")
    gen = seed if isinstance(seed, torch.Generator) else torch.Generator().manual_seed(
        0 if seed is None else int(seed))
    x = torch.as_tensor(x0).detach().to(torch.float32)
    if x.ndim != 2 or len(x) == 0:
        raise ValueError(f"x0 must have shape (n, d) with n >= 1, got {tuple(x.shape)}")
    bad = ~torch.isfinite(x).all(1)
    if bool(bad.any()):
        raise ValueError(f"x0 has {int(bad.sum())} row(s) with NaN or infinite values "
                         f"(first: row {int(bad.nonzero()[0])}); starting points must be finite")
    if n is not None and n != len(x):
        x = x[torch.randint(len(x), (n,), generator=gen)]
    x = x.clone().contiguous()                                   # (n, d), updated in place
    m, d = x.shape
    z = torch.empty(m, d)                                       # noise buffer, reused
    half, root = 0.5 * alpha, noise * math.sqrt(alpha)
    frames, at = [], []
    if record_every:
        frames.append(x.clone()); at.append(0)
    t0 = time.perf_counter()
    with torch.inference_mode():
        for t in tqdm(range(1, n_steps + 1), desc="Langevin", disable=not progress, leave=False):
            torch.randn(m, d, generator=gen, out=z)
            for s in range(0, m, chunk):
                xc = x[s:s + chunk]
                sc = score_fn(xc)
                if sc.shape != xc.shape:       # would broadcast silently, e.g. (m, 1) onto (m, d)
                    raise ValueError(f"score_fn returned shape {tuple(sc.shape)} for particles "
                                     f"of shape {tuple(xc.shape)}; it must return (m, d)")
                xc.add_(sc, alpha=half).add_(z[s:s + chunk], alpha=root)
            if t % check_every == 0 or t == n_steps:
                bad = ~torch.isfinite(x).all(1) | (x.abs().amax(1) > max_norm)
                if bool(bad.any()):
                    raise LangevinDivergence(t, int(bad.sum()), m, max_norm, alpha)
            if record_every and t % record_every == 0:
                frames.append(x.clone()); at.append(t)
        if denoise and noise > 0 and n_steps > 0:
            out = x.clone()
            for s in range(0, m, chunk):
                out[s:s + chunk].add_(score_fn(x[s:s + chunk]), alpha=noise ** 2 * alpha)
            x = out
    seconds = time.perf_counter() - t0
    traj = torch.stack(frames).numpy() if frames else None
    return LangevinResult(x.numpy().astype(np.float64), traj, np.asarray(at, dtype=np.int64),
                          float(alpha), int(n_steps), seconds)


def resampled_starts(D: Callable[[np.ndarray], np.ndarray], data: np.ndarray, n: int, *,
                     spread: float = 1.0, proposals: int = 50_000, min_ess: float = 0.0,
                     truncate: bool = True,
                     seed: int | np.random.Generator | None = 0) -> np.ndarray:
    """``n`` starting points drawn from the model's own p_H ~ D by importance resampling
    (docs/method.md, "Where the chains start").

    Langevin from the real data puts each region's particles where its voices are; a
    chain of practical length (1000 steps) does not carry enough of them across to the
    regions the real voices leave thin, so the masses of the voice groups under p_H are
    decided by where the chains started rather than by the ratings. Here ``proposals``
    points are drawn from a Gaussian kernel density around the data (the data's own
    covariance times ``spread ** 2``: :class:`scipy.stats.gaussian_kde`), weighted by
    D(y) / q(y), and ``n`` of them drawn by those weights; a short Langevin run from
    them then shapes the edges with the score.

    Where D stays above 0 in the kernel's far tail, a handful of proposals there carry
    most of the weight: the draw piles many starts on one point, and whether it does
    depends on the proposal draw. ``truncate`` caps each weight at sqrt(proposals) times
    their mean (truncated importance sampling, Ionides 2008, J. Comput. Graph. Stat.
    17:295): no one proposal takes more than a small share of the starts, and the
    effective sample size no longer swings with the draw, for a small bias toward the
    kernel where the weights were capped.

    Parameters
    ----------
    D : callable, (m, d) -> (m,)   the model's naturalness (a network's D head); values
                                   below 0 count as 0.
    data : ndarray, shape (N, d)   the real data, N > d.
    n : int                        starting points wanted.
    spread : float                 kernel width, in units of the data's covariance.
    proposals : int                points proposed (more: closer to p_H, slower).
    min_ess : float                refuse (:class:`ThinProposals`) when the weights' effective
                                   sample size is below this fraction of the proposals.
    truncate : bool                cap the weights (above) before both.
    seed : int or Generator

    Returns
    -------
    ndarray, shape (n, d), float64
    """
    from scipy.stats import gaussian_kde
    data = np.asarray(data, dtype=np.float64)
    if data.ndim != 2 or len(data) <= data.shape[1]:
        raise ValueError(f"data must be (N, d) with N > d, got {data.shape}")
    if not spread > 0 or int(proposals) < n:
        raise ValueError(f"spread must be > 0 and proposals >= n, got {spread!r}, {proposals!r}")
    rng = np.random.default_rng(seed)
    kde = gaussian_kde(data.T, bw_method=float(spread))
    y = kde.resample(int(proposals), seed=rng).T                           # (m, d)
    d_y = np.clip(np.nan_to_num(np.asarray(D(y), dtype=np.float64), nan=0.0), 0.0, None)
    if not d_y.any():
        raise ValueError("the model gives D = 0 at every proposed point; nothing to start from")
    with np.errstate(divide="ignore"):                  # D = 0: weight 0 (log -inf)
        logw = np.log(d_y) - kde.logpdf(y.T)
    w = np.exp(logw - logw.max())
    w /= w.sum()
    if truncate:        # written out: scipy has no truncated importance weights
        w = np.minimum(w, np.sqrt(len(w)) * w.mean())
        w /= w.sum()
    ess = float(1.0 / (len(w) * (w ** 2).sum()))
    if ess < min_ess:
        raise ThinProposals(ess, min_ess)
    return y[rng.choice(len(y), size=int(n), p=w)]
