"""How close is a sample to a target distribution? Energy distance and variance ratio.

Energy distance (Szekely & Rizzo), for samples X ~ F and Y ~ G in R^d:

    E(F, G) = 2 E|X - Y| - E|X - X'| - E|Y - Y'|   >= 0, and = 0 only if F = G,

with Euclidean norms. :func:`energy_distance` returns, by default, its square root
sqrt(E) -- a metric, and exactly what ``scipy.stats.energy_distance`` computes in 1-D --
estimated by the V-statistic (plain means over all pairs of the two empirical
distributions, as scipy does). ``squared=True`` gives E itself. Two estimators:

- ``"v"`` (default): V-statistic. Never negative; biased upward by about
  (E|X - X'| / n + E|Y - Y'| / m), the same for every method compared at equal sample
  sizes: it is the resolution limit of the test, so a ratio to a floor stays defined.
- ``"u"``: U-statistic, the within-sample means skip the i = j diagonal: unbiased for E
  (with ``squared=True``), and it may dip slightly below 0 when F = G (the square root
  is then taken of max(E, 0)).

The variance ratio is tr Cov(sample) / tr Cov(real data): above 1 means the sample
spreads wider than the data (HumanDiffusion's claim), near 0 means collapse (HumanGAN).

:func:`fidelity` is the score the benchmarks and the README's fidelity claims rest on:
``ed2`` = 1000 x the unbiased squared energy distance to exact samples of p_H (0 on
average for a perfect sampler, so it shows gaps the V-statistic's noise hides), with
particles that left the space counted as ``escaped`` and left out.
:func:`paired_difference` compares two methods seed by seed (the same exact samples of
p_H for both, so their noise cancels): the mean difference and its 95 % t-interval.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from scipy import stats
from scipy.spatial.distance import cdist

__all__ = ["energy_distance", "mean_distance", "variance_ratio", "fidelity",
           "paired_difference", "ESCAPE"]

ESCAPE = 8.0   # a particle beyond max_i |x_i| = this has left the space (p_H has no mass there)

_BLOCK = 2048  # rows per cdist block: a (2048, m) float64 block stays small


def mean_distance(x: np.ndarray, y: np.ndarray | None = None) -> float:
    """Mean Euclidean distance between rows of ``x`` (n, d) and ``y`` (m, d).

    With ``y=None`` it is the within-sample mean over pairs i != j (n >= 2).
    Computed in row blocks so memory stays O(block * m).
    """
    x = np.asarray(x, dtype=np.float64)
    same = y is None
    y = x if same else np.asarray(y, dtype=np.float64)
    total = 0.0
    for i in range(0, len(x), _BLOCK):
        total += cdist(x[i:i + _BLOCK], y).sum()
    if same:
        return total / (len(x) * (len(x) - 1))   # the diagonal is zero; skip it in the count
    return total / (len(x) * len(y))


def energy_distance(x: np.ndarray, y: np.ndarray, *, statistic: str = "v",
                    squared: bool = False, y_within: float | None = None) -> float:
    """Energy distance between two samples, any dimension d.

    Parameters
    ----------
    x : ndarray, shape (n, d)
    y : ndarray, shape (m, d)
    statistic : {"v", "u"}
        V-statistic (default, as scipy) or U-statistic; see the module docstring.
    squared : bool
        Return E = 2 E|X - Y| - E|X - X'| - E|Y - Y'| instead of sqrt(E).
    y_within : float, optional
        ``mean_distance(y)``, when it is already known: a large reference sample compared
        with many others computes its own O(m^2) term once.

    Returns
    -------
    float

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> a, b = rng.normal(size=(500, 2)), rng.normal(size=(500, 2)) + 1.0
    >>> energy_distance(a, b) > 0.5 > energy_distance(a, rng.normal(size=(500, 2)))
    True
    """
    x = np.atleast_2d(np.asarray(x, dtype=np.float64))
    y = np.atleast_2d(np.asarray(y, dtype=np.float64))
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"samples differ in dimension: {x.shape} vs {y.shape}")
    if len(x) < 2 or len(y) < 2:
        raise ValueError("need at least 2 points in each sample")
    if statistic not in ("u", "v"):
        raise ValueError("statistic must be 'u' or 'v'")
    xy = mean_distance(x, y)
    xx = mean_distance(x)
    yy = mean_distance(y) if y_within is None else float(y_within)
    if statistic == "v":
        xx *= (len(x) - 1) / len(x)
        yy *= (len(y) - 1) / len(y)
    e = float(2 * xy - xx - yy)
    return e if squared else float(np.sqrt(max(e, 0.0)))


def variance_ratio(sample: np.ndarray, data: np.ndarray) -> float:
    """Total variance of ``sample`` (n, d) over total variance of ``data`` (N, d).

    inf if the sample holds non-finite points (a sampler that diverged); a ValueError if
    the shapes disagree or the data have no variance to compare against.
    """
    sample = np.asarray(sample, dtype=np.float64)
    data = np.asarray(data, dtype=np.float64)
    if sample.ndim != 2 or data.ndim != 2 or sample.shape[1] != data.shape[1]:
        raise ValueError(f"sample and data must be (n, d) and (N, d) with the same d, "
                         f"got {sample.shape} and {data.shape}")
    if len(sample) < 2 or len(data) < 2:
        raise ValueError("need at least 2 points in the sample and in the data")
    if not np.all(np.isfinite(sample)):
        return float("inf")
    total = data.var(axis=0).sum()
    if not total > 0:
        raise ValueError("the data have zero variance (all points equal): no ratio to take")
    return float(sample.var(axis=0).sum() / total)


def fidelity(samples: np.ndarray, exact: np.ndarray, data: np.ndarray, *,
             escape: float = ESCAPE, exact_within: float | None = None) -> dict[str, float]:
    """How close ``samples`` are to p_H, given exact samples of it.

    Parameters
    ----------
    samples : ndarray, shape (n, d)    a method's samples.
    exact : ndarray, shape (m, d)      exact samples of p_H (independent of ``samples``).
    data : ndarray, shape (N, d)       the real data (for the variance ratio).
    escape : float                     particles beyond max_i |x_i| = this, or not finite,
                                       are counted as escaped and left out of the rest.
    exact_within : float, optional     ``mean_distance(exact)``, if already computed (the
                                       same exact sample scoring many methods).

    Returns
    -------
    dict
        ``energy`` (sqrt of the V-statistic), ``ed2`` (1000 x the unbiased squared energy
        distance), ``variance_ratio`` and ``escaped`` (a count); inf / NaN when fewer than
        two particles stay.
    """
    x = np.asarray(samples, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        far = ~np.isfinite(x).all(1) | (np.abs(np.nan_to_num(x, nan=np.inf)).max(1) > escape)
    kept = x[~far]
    ok = len(kept) > 1
    within = mean_distance(exact) if exact_within is None and ok else exact_within
    return {"energy": energy_distance(kept, exact, y_within=within) if ok else float("inf"),
            "ed2": 1000 * energy_distance(kept, exact, statistic="u", squared=True,
                                          y_within=within) if ok else float("inf"),
            "variance_ratio": variance_ratio(kept, data) if ok else float("nan"),
            "escaped": int(far.sum())}


def paired_difference(a: Sequence[float], b: Sequence[float]) -> tuple[float, float, float]:
    """Mean of a - b over paired runs (seeds) and its 95 % t-interval: (mean, lo, hi).

    The interval is (-inf, inf) with fewer than two pairs or a non-finite difference.
    """
    diff = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    if len(diff) < 2 or not np.all(np.isfinite(diff)):
        return float(diff.mean()) if len(diff) else float("nan"), -np.inf, np.inf
    half = stats.t.ppf(0.975, len(diff) - 1) * diff.std(ddof=1) / np.sqrt(len(diff))
    return float(diff.mean()), float(diff.mean() - half), float(diff.mean() + half)
