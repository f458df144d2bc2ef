"""Where the next round asks: the sampler's particles at the model's edge, away from what
is rated (docs/method.md, "Rounds")."""
from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

__all__ = ["choose_centres"]


def choose_centres(particles: np.ndarray, D: np.ndarray, rated: np.ndarray, n: int, *,
                   floor: float = 0.1, rng: np.random.Generator) -> np.ndarray:
    """Indices of ``n`` particles to ask about next (k-means++-style weighted sampling).

    Parameters
    ----------
    particles : ndarray, shape (m, d)   candidate points (the sampler's particles).
    D : ndarray, shape (m,)             the model's naturalness there.
    rated : ndarray, shape (r, d)       points already asked about.
    n : int                             how many to choose (n <= m).
    floor : float                       weight left to points where the model is sure.
    rng : Generator

    Each pick is drawn with probability proportional to (4 D (1 - D) + floor) times the
    squared distance to the nearest rated or already chosen point, so the picks favour
    the edge of the acceptable region (where D is neither 0 nor 1) and places nobody has
    rated, and spread out among themselves.

    Returns
    -------
    ndarray of int, shape (n,)
    """
    x = np.asarray(particles, dtype=np.float64)
    if n > len(x):
        raise ValueError(f"cannot choose {n} of {len(x)} particles")
    band = 4 * D * (1 - D) + floor                                       # (m,)
    near = cKDTree(rated).query(x)[0] ** 2 if len(rated) else np.full(len(x), np.inf)
    chosen = []
    for _ in range(n):
        w = band * near
        w = np.where(np.isfinite(w), w, band)
        total = w.sum()
        i = int(rng.choice(len(x), p=w / total)) if total > 0 else int(rng.integers(len(x)))
        chosen.append(i)
        near = np.minimum(near, ((x - x[i]) ** 2).sum(1))
        near[i] = 0.0
    return np.array(chosen, dtype=np.int64)
