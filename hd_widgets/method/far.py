"""Beyond the reach of the ratings (docs/method.md, "Far prior" and "Home beyond the reach").

A plan asks only about points near the real voices. With few ratings the network can
extrapolate "natural" into an empty corner, which Langevin then fills, or a field that
points outward, which carries particles away. Two remedies use the estimate's own target
for a point nobody rated, far from every voice (D = 0, so only the pull home is left):

- the far prior (``ScoreNetConfig.far_prior``, off by default) trains the network on it:
  :func:`far_points` draws such points and that target;
- :func:`home_beyond_reach` uses it in place of the network's score where no rating
  reaches, when sampling (a study in rounds does, ``RoundsConfig.home_beyond_reach``);
  :func:`within_reach` is the same blend as a weight, which keeps resampled starts off
  the network's D out there.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
from scipy.spatial import cKDTree

from .estimation import Estimate, pull
from .score import ScoreFn, score_from_heads

__all__ = ["far_points", "home_beyond_reach", "rated_reach", "within_reach"]


def far_points(est: Estimate, n: int, seed: int | np.random.Generator | None = 0,
               quantile: float = 0.99) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points beyond the region ``est``'s plan explored, and the regularised target there.

    The target is the one the estimate gives a point of D = 0: the pull
    lam * w(0) * (x_n - x) / sigma_p^2 towards its nearest datum. "Beyond" is measured from
    the plan itself, not from any truth: a point is far when its distance to the nearest
    datum exceeds the ``quantile`` of that distance for periphery points drawn as the plan
    draws them (datum + sigma_p * N(0, I)). Candidates come from datum + 2 sigma_p * N(0, I).

    Returns
    -------
    points : ndarray, shape (n, d)
    target : ndarray, shape (n, d)
    """
    rng = np.random.default_rng(seed)
    anchors = _anchors(est)                                           # (N', d)
    tree, d = cKDTree(anchors), est.d

    def draw(m: int, scale: float) -> np.ndarray:
        return anchors[rng.integers(0, len(anchors), m)] + \
            scale * est.sigma_p * rng.standard_normal((m, d))

    radius = float(np.quantile(tree.query(draw(20_000, 1.0))[0], quantile))
    kept: list[np.ndarray] = []
    have = 0
    for _ in range(100):                                              # ~20-60 % are kept
        if have >= n:
            break
        cand = draw(max(4 * n, 256), 2.0)
        cand = cand[tree.query(cand)[0] > radius]
        kept.append(cand); have += len(cand)
    pts = np.concatenate(kept)[:n] if kept else np.zeros((0, d))
    if len(pts) < n:
        raise RuntimeError(f"found only {len(pts)} of {n} points beyond radius {radius:.3g}")
    near = anchors[tree.query(pts)[1]]
    return pts, pull(np.zeros(n), pts, near, est.sigma_p, est.options)


def rated_reach(est: Estimate, quantile: float = 0.99) -> float:
    """How far the rated points reach: the ``quantile`` of their distances to the nearest
    real datum (the estimate's anchors)."""
    return float(np.quantile(cKDTree(_anchors(est)).query(est.points)[0], quantile))


def _anchors(est: Estimate) -> np.ndarray:
    """The real data the estimate's points are pulled to, once each: (N', d)."""
    return np.unique(est.anchor, axis=0)


def _reach_and_width(est: Estimate, width: float | None, quantile: float) -> tuple[float, float]:
    """Where the blend into the pull home starts (:func:`rated_reach`) and how wide it is."""
    width = float(est.sigma_p if width is None else width)
    if not width > 0:
        raise ValueError(f"width must be > 0, got {width!r}")
    return rated_reach(est, quantile), width


def within_reach(est: Estimate, *, width: float | None = None,
                 quantile: float = 0.99) -> Callable[[np.ndarray], np.ndarray]:
    """How much of the network's field :func:`home_beyond_reach` keeps at a point, as a
    function (m, d) -> (m,): 1 within :func:`rated_reach` of the nearest datum, 0 from one
    ``width`` (default sigma_p) beyond it, linear between.

    Weighting the network's D by it keeps importance-resampled starts
    (:func:`~hd_widgets.method.sampling.resampled_starts`) off the far tail of the
    proposal, where nobody rated and the D head extrapolates: a sigmoid never quite
    reaches 0, and a small D over a tiny proposal density outweighs thousands of
    proposals near the voices (docs/method.md, "Where the chains start").
    """
    reach, width = _reach_and_width(est, width, quantile)
    tree = cKDTree(_anchors(est))

    def weight(x: np.ndarray) -> np.ndarray:
        dmin = tree.query(np.asarray(x, dtype=np.float64))[0]
        return 1.0 - np.clip((dmin - reach) / width, 0.0, 1.0)

    return weight


def home_beyond_reach(score_fn: ScoreFn, est: Estimate, *, width: float | None = None,
                      quantile: float = 0.99) -> ScoreFn:
    """``score_fn`` where the ratings reach, and the pull home beyond it.

    Within :func:`rated_reach` of the nearest datum the score is ``score_fn``'s; from
    there it blends linearly, over ``width`` (default sigma_p), into the score the
    estimate's target gives a point of D = 0: the pull toward the nearest datum x_n,
    lam * w(0) * (x_n - x) / sigma_p^2 over max(0, eps). Nobody rated anything out there,
    so the network's field is an extrapolation; a softplus network's grows linearly with
    distance and may point outward, carrying particles away (escapes). The true p_H has
    no mass there once the rounds have asked beyond its edge.

    Parameters
    ----------
    score_fn : ScoreFn     (n, d) float32 tensor -> (n, d).
    est : Estimate         its anchors, rated points, options and sigma_p.
    width : float          blend width (distance units); default ``est.sigma_p``.
    quantile : float       of the rated points' distances that sets the reach.

    Returns
    -------
    ScoreFn
    """
    import torch

    reach, width = _reach_and_width(est, width, quantile)
    # the D = 0 score per unit of (x_n - x), from the estimate's own formulas
    unit = np.eye(1, est.d)
    home_target = pull(np.zeros(1), np.zeros((1, est.d)), unit, est.sigma_p, est.options)
    gain = float(score_from_heads(np.zeros(1), home_target, est.options.eps)[0, 0])
    A = torch.as_tensor(_anchors(est), dtype=torch.float32)            # (N', d)

    def score(x: torch.Tensor) -> torch.Tensor:
        s = score_fn(x)
        a = A.to(x.dtype)
        dmin, near = torch.cdist(x, a).min(dim=1)                        # (n,)
        beta = ((dmin - reach) / width).clamp_(0.0, 1.0)
        if not bool((beta > 0).any()):
            return s
        return s + beta[:, None] * (gain * (a[near] - x) - s)

    return score
