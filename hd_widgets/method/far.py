"""Points beyond the plan's reach, for the network's far prior (docs/method.md, "Far prior").

A plan asks only about points near the real voices. With few ratings the network can
extrapolate "natural" into an empty corner, which Langevin then fills. The far prior
(``ScoreNetConfig.far_prior``, off by default) tells the network that what nobody was
asked about, far from every voice, is unnatural: :func:`far_points` draws such points
and the target the estimate gives a point of D = 0 there.
"""
from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from .estimation import Estimate, pull

__all__ = ["far_points"]


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
    anchors = np.unique(est.anchor, axis=0)                           # (N', d)
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
