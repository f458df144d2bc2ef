"""Naturalness from clipped slider ratings: the D estimators and the censored-normal model.

Ratings come from sliders, so they clip at 0 and 1. The paper's D(x~) is the mode of a
kernel density estimate of a point's ratings (:func:`kde_mode`, reflected at both
bounds); the package's default models a rating as y = clip(y*, 0, 1) with
y* ~ N(mu, sigma^2) (Tobit): D(x~) is the censored maximum-likelihood mu
(:func:`tobit_mean`), and a clipped rating can be replaced by its expected latent value
before the NES difference (:func:`impute_latent`). docs/method.md, "Refinements".
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_ndtr
from scipy.stats import gaussian_kde

from .pairs import PairRatings

__all__ = ["kde_mode", "tobit_mean", "impute_latent", "estimate_noise_sd"]

_LOG_SQRT_2PI = 0.5 * np.log(2 * np.pi)


def kde_mode(values: np.ndarray, grid: int = 201) -> float:
    """Mode of a Gaussian KDE of ratings on [0, 1], reflected at 0 and 1 (paper's D).

    Falls back to the mean when the KDE is degenerate (fewer than 2 distinct values).
    """
    v = np.asarray(values, dtype=np.float64)
    if len(v) < 2 or np.ptp(v) < 1e-9:
        return float(v.mean())
    kde = gaussian_kde(v)
    f = lambda y: kde(y) + kde(-y) + kde(2 - y)             # reflection keeps mass in [0, 1]
    ys = np.linspace(0, 1, grid)
    i = int(np.argmax(f(ys)))
    lo, hi = ys[max(i - 1, 0)], ys[min(i + 1, grid - 1)]
    res = minimize_scalar(lambda y: -f(np.atleast_1d(y))[0], bounds=(lo, hi), method="bounded")
    return float(np.clip(res.x, 0, 1))


def _tobit_loglik_grad(mu: np.ndarray, y: np.ndarray, idx: np.ndarray, sigma: float) -> np.ndarray:
    """d/dmu of the censored-normal log-likelihood per group; y (m,), group idx (m,)."""
    m = mu[idx]
    lo, hi = y <= 0, y >= 1
    z = (y - m) / sigma
    g = z / sigma                                                    # interior ratings
    a = -m / sigma                                                   # P(y* <= 0) = Phi(a)
    b = (1 - m) / sigma                                              # P(y* >= 1) = Phi(-b)
    g = np.where(lo, -np.exp(-0.5 * a ** 2 - _LOG_SQRT_2PI - log_ndtr(a)) / sigma, g)
    g = np.where(hi, np.exp(-0.5 * b ** 2 - _LOG_SQRT_2PI - log_ndtr(-b)) / sigma, g)
    return np.bincount(idx, weights=g, minlength=len(mu))


def tobit_mean(values: np.ndarray, groups: np.ndarray, n_groups: int, sigma: float,
               bounds: tuple[float, float] = (0.0, 1.0), iters: int = 50) -> np.ndarray:
    """Censored-normal MLE of each group's latent mean, vectorised bisection.

    Ratings y = clip(y*, 0, 1) with y* ~ N(mu_g, sigma^2). The log-likelihood is concave
    in mu, so bisection on its derivative within ``bounds`` finds the constrained maximum.
    The default bounds are D's own range [0, 1]: when every rating of a group sits at a
    bound the unconstrained MLE runs off to infinity, and the constraint stops it there.

    Returns
    -------
    ndarray, shape (n_groups,)
    """
    y = np.asarray(values, dtype=np.float64)
    idx = np.asarray(groups, dtype=np.int64)
    lo = np.full(n_groups, bounds[0])
    hi = np.full(n_groups, bounds[1])
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        up = _tobit_loglik_grad(mid, y, idx, sigma) > 0
        lo = np.where(up, mid, lo)
        hi = np.where(up, hi, mid)
    return 0.5 * (lo + hi)


def impute_latent(y: np.ndarray, mu: np.ndarray, sigma: float) -> np.ndarray:
    """Replace clipped ratings by E[y* | censored] under N(mu, sigma^2); y, mu (m,)."""
    a = -mu / sigma
    b = (1 - mu) / sigma
    low = mu - sigma * np.exp(-0.5 * a ** 2 - _LOG_SQRT_2PI - log_ndtr(a))
    high = mu + sigma * np.exp(-0.5 * b ** 2 - _LOG_SQRT_2PI - log_ndtr(-b))
    return np.where(y <= 0, np.minimum(low, 0.0), np.where(y >= 1, np.maximum(high, 1.0), y))


def estimate_noise_sd(pairs: PairRatings, floor: float = 0.02) -> float:
    """Rough rating-noise sigma from pair differences (robust: median, interior pairs).

    For a pair, y+ - y- = 2 grad.Delta + noise with variance 2 sigma^2; the median of
    |y+ - y-| over pairs with both ratings inside (0, 1) is little moved by the minority
    of pairs on a steep edge. Clipping shrinks differences near the bounds, so this errs
    low; pass ``noise_sd`` to :class:`EstimateOptions` when the noise is known.
    """
    ok = (pairs.plus > 0) & (pairs.plus < 1) & (pairs.minus > 0) & (pairs.minus < 1)
    if ok.sum() < 5:
        return 0.1
    diff = np.abs(pairs.plus[ok] - pairs.minus[ok])
    return float(max(1.4826 * np.median(diff) / np.sqrt(2), floor))


