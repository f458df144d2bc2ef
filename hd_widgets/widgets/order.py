"""The order a rating page shows a query's clips in: seeded, stable, exact to map back.

One query of a plan (for NES: the pair x~ + Delta, x~ - Delta) is one page. Its clips are
shown as "A", "B", ... in a random order seeded by (seed, rater, query), so a clip's
position cannot bias its rating and the mapping back to the query's own order is exact.
"""
from __future__ import annotations

import hashlib

import numpy as np

__all__ = ["display_order"]


def display_order(seed: int, rater: str, query: int, k: int) -> np.ndarray:
    """Presentation order of a query's clips: position ``j`` ("A", ...) shows clip ``order[j]``.

    Seeded by (seed, rater, query) through a stable hash, so the same person sees the same
    order after a restart, different people see different orders, and it is reproducible.

    Returns
    -------
    ndarray of int, shape (k,)
        A permutation of ``range(k)``.

    Examples
    --------
    >>> display_order(0, "ann", 3, 4)        # A shows clip 0, B clip 3, ... (every time)
    array([0, 3, 2, 1])
    """
    h = int.from_bytes(hashlib.sha256(rater.encode("utf-8")).digest()[:8], "little")
    return np.random.default_rng([int(seed), h, int(query)]).permutation(k)
