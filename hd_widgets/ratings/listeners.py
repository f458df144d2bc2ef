"""Listeners: anything that rates points of the feature space in [0, 1].

One small interface serves people and machines (docs/method.md, "Listeners"): a
:class:`Listener` has a ``name`` and ``rate(points) -> values``.
:func:`~hd_widgets.ratings.answering.answer` lets any listener work through a plan in a
ratings store along the very path the widget uses (``store.next_query`` then
``store.rate``), so everything downstream reads ratings from the store and never cares
who gave them.

:class:`SimulatedListener` is a listener with a *known* naturalness D(x), so tests and
benchmarks can measure the method against the truth. Its D is built from the real data:

    m2(x) = -2 s^2 log sum_n exp(-||x - x_n||^2 / (2 s^2))     (soft-min squared distance)
    D(x)  = top * sigmoid((rho^2 - m2(x)) / (2 rho w))

a plateau near 1 over every point within about ``radius`` rho of some real voice, a
smooth edge of width about ``edge`` w, and a tail that flattens to 0 far from the data,
so the gradient of D vanishes there (as real listeners' does). The radius is, by default,
calibrated so that p_H(x) = D(x) / Z has about twice the variance of the data, the
paper's premise that people accept more than they have heard. A rating is
``clip(D(x) + bias + noise * N(0, 1), 0, 1)``, like a slider.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from math import log, pi
from typing import Protocol, runtime_checkable

import numpy as np
from scipy.special import expit, log_expit

__all__ = ["Listener", "SimulatedListener"]

_CHUNK = 65536  # rows per block when evaluating D, so (n, N) distance blocks stay small


@runtime_checkable
class Listener(Protocol):
    """Anything with a name that rates points: ``(n, d) -> (n,)`` values in [0, 1]."""

    name: str

    def rate(self, points: np.ndarray) -> np.ndarray: ...


def _logsumexp_rows(a: np.ndarray) -> np.ndarray:
    """log sum_j exp(a_ij) per row, shape (n, N) -> (n,) (leaner than scipy's for big n)."""
    m = a.max(axis=1)
    return m + np.log(np.exp(a - m[:, None]).sum(axis=1))


@dataclass(repr=False)
class SimulatedListener:
    """A listener with a known naturalness D(x) over the normalised feature space.

    Build one from the real data with :meth:`from_data`; the constructor takes the
    shape parameters directly.

    Parameters
    ----------
    centers : ndarray, shape (N, d)
        The real data x_n the listener finds natural.
    radius : float
        rho: how far from a real voice D stays on its plateau (normalised units).
    edge : float
        w: width of the fall-off, in distance units at the plateau's edge.
    softness : float
        s: temperature of the soft-min distance; larger merges nearby voices smoothly.
    top : float
        Height of the plateau (D <= top <= 1).
    noise : float
        Standard deviation of the rating noise, before clipping to [0, 1].
    bias : float
        This listener's constant offset (lenient > 0, strict < 0).
    seed : int or Generator
        Randomness of the rating noise; ``rate`` draws from it in turn.
    name : str
        Rater name used in a store.
    """

    centers: np.ndarray
    radius: float
    edge: float = 0.2
    softness: float = 0.5
    top: float = 1.0
    noise: float = 0.1
    bias: float = 0.0
    seed: int | np.random.Generator | None = 0
    name: str = "simulated"
    _rng: np.random.Generator = field(init=False, repr=False)
    _norm: dict = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        c = np.ascontiguousarray(np.asarray(self.centers, dtype=np.float64))
        if c.ndim != 2 or len(c) == 0:
            raise ValueError(f"centers must have shape (N, d) with N > 0, got {c.shape}")
        if not (self.radius > 0 and self.edge > 0 and self.softness > 0 and 0 < self.top <= 1):
            raise ValueError("need radius, edge, softness > 0 and 0 < top <= 1")
        if self.noise < 0:
            raise ValueError("noise must be >= 0")
        self.centers = c
        self._rng = np.random.default_rng(self.seed)

    # ------------------------------------------------------------------ building
    @classmethod
    def from_data(cls, data: np.ndarray, *, variance_ratio: float | None = 2.0,
                  radius: float | None = None, edge: float = 0.2, softness: float = 0.5,
                  top: float = 1.0, noise: float = 0.1, bias: float = 0.0,
                  seed: int | np.random.Generator | None = 0,
                  name: str = "simulated") -> "SimulatedListener":
        """A listener whose acceptable region surrounds ``data``.

        Parameters
        ----------
        data : ndarray, shape (N, d)
            Real data in the normalised space.
        variance_ratio : float, optional
            Calibrate ``radius`` so that total variance of p_H / total variance of the
            data equals this (2.0: the paper's premise). Ignored if ``radius`` is given.
        radius : float, optional
            Set rho directly instead.
        edge, softness, top, noise, bias, seed, name
            As in the class.
        """
        data = np.asarray(data, dtype=np.float64)
        if radius is None:
            if variance_ratio is None:
                raise ValueError("give variance_ratio or radius")
            radius = _calibrate_radius(data, variance_ratio, edge=edge, softness=softness)
        return cls(data, float(radius), edge=edge, softness=softness, top=top, noise=noise,
                   bias=bias, seed=seed, name=name)

    def with_(self, **changes) -> "SimulatedListener":
        """A copy with some parameters changed (e.g. another ``bias``, ``seed``, ``name``)."""
        return replace(self, **changes)

    def crowd(self, n: int, *, bias_sd: float = 0.05,
              seed: int | np.random.Generator | None = 0) -> list["SimulatedListener"]:
        """``n`` listeners sharing this D, each with its own bias ~ N(0, bias_sd^2) and
        noise seed.
        """
        rng = np.random.default_rng(seed)
        biases = self.bias + bias_sd * rng.standard_normal(n)
        seeds = rng.integers(0, 2**31, n)
        return [self.with_(bias=float(b), seed=int(s), name=f"{self.name}{i}")
                for i, (b, s) in enumerate(zip(biases, seeds))]

    @property
    def d(self) -> int:
        """Dimension of the feature space."""
        return self.centers.shape[1]

    # ------------------------------------------------------------------ the truth
    def _sq(self, x: np.ndarray) -> np.ndarray:
        """Squared distances to every datum, shape (n, N)."""
        c = self.centers
        sq = (x * x).sum(1)[:, None] - 2 * x @ c.T + (c * c).sum(1)[None]
        return np.maximum(sq, 0.0)

    def _m2(self, x: np.ndarray) -> np.ndarray:
        """Soft-min squared distance m2, shape (n,)."""
        s2 = self.softness ** 2
        return -2 * s2 * _logsumexp_rows(-self._sq(x) / (2 * s2))

    def _u(self, m2: np.ndarray) -> np.ndarray:
        return (self.radius ** 2 - m2) / (2 * self.radius * self.edge)

    def _blocks(self, x: np.ndarray):
        x = np.atleast_2d(np.asarray(x, dtype=np.float64))
        if x.shape[-1] != self.d:
            raise ValueError(f"points must have shape (n, {self.d}), got {x.shape}")
        for i in range(0, len(x), _CHUNK):
            yield x[i:i + _CHUNK]

    def D(self, x: np.ndarray) -> np.ndarray:
        """True naturalness, shape (n, d) -> (n,), in [0, top]."""
        out = [self.top * expit(self._u(self._m2(b))) for b in self._blocks(x)]
        return np.concatenate(out) if out else np.zeros(0)

    def log_D(self, x: np.ndarray) -> np.ndarray:
        """log D(x), shape (n,), accurate far into the tail where D underflows."""
        out = [log(self.top) + log_expit(self._u(self._m2(b))) for b in self._blocks(x)]
        return np.concatenate(out) if out else np.zeros(0)

    def _grad_m2(self, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """m2 (n,) and its gradient 2 sum_n w_n (x - x_n) with soft-max weights w, (n, d)."""
        s2 = self.softness ** 2
        logits = -self._sq(b) / (2 * s2)                               # (n, N)
        m2 = -2 * s2 * _logsumexp_rows(logits)
        w = np.exp(logits + (m2 / (2 * s2))[:, None])                   # soft-max weights
        return m2, 2 * (b - w @ self.centers)

    def grad_D(self, x: np.ndarray) -> np.ndarray:
        """Analytic gradient of D, shape (n, d) -> (n, d)."""
        out = []
        for b in self._blocks(x):
            m2, gm2 = self._grad_m2(b)
            sig = expit(self._u(m2))
            out.append((self.top * sig * (1 - sig) / (2 * self.radius * self.edge))[:, None] * -gm2)
        return np.concatenate(out) if out else np.zeros((0, self.d))

    def score(self, x: np.ndarray) -> np.ndarray:
        """True score of p_H: grad log D(x), shape (n, d) -> (n, d)."""
        out = []
        for b in self._blocks(x):
            m2, gm2 = self._grad_m2(b)
            out.append((expit(-self._u(m2)) / (2 * self.radius * self.edge))[:, None] * -gm2)
        return np.concatenate(out) if out else np.zeros((0, self.d))

    # ------------------------------------------------------------------ rating
    def rate(self, points: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        """Noisy, biased, clipped ratings, shape (n, d) -> (n,) in [0, 1].

        Draws the noise from the listener's own generator (seeded by ``seed``) unless
        ``rng`` is given.
        """
        rng = self._rng if rng is None else rng
        clean = self.D(points)
        return np.clip(clean + self.bias + self.noise * rng.standard_normal(clean.shape), 0.0, 1.0)

    # ------------------------------------------------------------------ p_H = D / Z
    def _proposal(self) -> tuple[float, float]:
        """Gaussian-mixture proposal q = (1/N) sum_n N(x_n, tau^2 I) and log M with
        D(x) <= M q(x) everywhere.

        Bound: sigmoid(u) <= min(1, e^u) and m2 >= r^2 - 2 s^2 log N, where r is the
        distance to the nearest datum; q(x) >= N(r; 0, tau^2) / N. With a = rho^2 +
        2 s^2 log N and tau^2 >= rho w the ratio D / q peaks at r^2 = a, so
        log M = log(top N) + (d/2) log(2 pi tau^2) + a / (2 tau^2); tau^2 = max(a / d,
        rho w) minimises it.
        """
        N, d = self.centers.shape
        a = self.radius ** 2 + 2 * self.softness ** 2 * log(N)
        tau2 = max(a / d, self.radius * self.edge)
        log_m = log(self.top * N) + 0.5 * d * log(2 * pi * tau2) + a / (2 * tau2)
        return float(np.sqrt(tau2)), float(log_m)

    def _propose(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """n draws from the proposal and log q at each, shapes (n, d), (n,)."""
        N, d = self.centers.shape
        tau, _ = self._proposal()
        x = self.centers[rng.integers(0, N, n)] + tau * rng.standard_normal((n, d))
        log_q = np.concatenate([_logsumexp_rows(-self._sq(b) / (2 * tau ** 2))
                                for b in self._blocks(x)])
        return x, log_q - log(N) - 0.5 * d * log(2 * pi * tau ** 2)

    def sample_pH(self, n: int, rng: int | np.random.Generator | None = None) -> np.ndarray:
        """Exact samples of p_H(x) = D(x) / Z, shape (n, d), by rejection sampling.

        Proposal: a Gaussian mixture around the data (see ``_proposal`` for the bound
        D <= M q that makes this exact); accept with probability D / (M q).
        """
        rng = np.random.default_rng(rng)
        _, log_m = self._proposal()
        out, have = [], 0
        batch = max(8 * n, 8192)
        while have < n:
            x, log_q = self._propose(batch, rng)
            keep = np.log(rng.uniform(size=batch)) < self.log_D(x) - log_m - log_q
            out.append(x[keep]); have += int(keep.sum())
        return np.concatenate(out)[:n]

    def normaliser(self, n: int = 200_000, seed: int = 0) -> tuple[float, float]:
        """Z = integral of D over R^d by importance sampling, with its standard error.

        Z = E_q[D(x) / q(x)] under the Gaussian-mixture proposal (any d; D / q is
        bounded, so the estimate has finite variance). Cached per (n, seed).
        """
        key = (n, seed)
        if key not in self._norm:
            x, log_q = self._propose(n, np.random.default_rng(seed))
            f = np.exp(self.log_D(x) - log_q)
            self._norm[key] = (float(f.mean()), float(f.std() / np.sqrt(n)))
        return self._norm[key]

    @property
    def Z(self) -> float:
        """Normaliser of p_H (Monte Carlo, 200,000 points, seed 0)."""
        return self.normaliser()[0]

    def pH(self, x: np.ndarray) -> np.ndarray:
        """Density of the human-acceptable distribution, D(x) / Z, shape (n,)."""
        return self.D(x) / self.Z

    def pH_grid(self, lo: np.ndarray | float, hi: np.ndarray | float,
                n: int = 200) -> tuple[list[np.ndarray], np.ndarray]:
        """p_H normalised on a regular grid (any d; n points per axis, n**d in all).

        Returns the axes and the density on the grid, shape (n,) * d, scaled so that its
        Riemann sum over the box is 1 (so it includes only the mass inside the box).
        """
        lo = np.broadcast_to(np.asarray(lo, dtype=float), (self.d,))
        hi = np.broadcast_to(np.asarray(hi, dtype=float), (self.d,))
        axes = [np.linspace(a, b, n) for a, b in zip(lo, hi)]
        mesh = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, self.d)
        dens = self.D(mesh).reshape((n,) * self.d)
        cell = np.prod([(b - a) / (n - 1) for a, b in zip(lo, hi)])
        return axes, dens / (dens.sum() * cell)

    def __repr__(self) -> str:
        return (f"SimulatedListener(name={self.name!r}, d={self.d}, N={len(self.centers)}, "
                f"radius={self.radius:.3g}, edge={self.edge}, softness={self.softness}, "
                f"top={self.top}, noise={self.noise}, bias={self.bias})")


def _calibrate_radius(data: np.ndarray, target: float, *, edge: float, softness: float,
                      n: int = 40_000, seed: int = 12345) -> float:
    """rho such that tr Cov(p_H) / tr Cov(data) = target (bisection on fixed MC draws).

    One proposal, drawn for the largest radius tried, serves every candidate rho by
    importance weights D_rho(x) / q(x), so the bisection is smooth and deterministic.
    """
    if target <= 0:
        raise ValueError("variance_ratio must be > 0")
    data_var = data.var(axis=0).sum()
    hi = 6.0 * np.sqrt(max(data.var(axis=0).max(), 1e-12))
    probe = SimulatedListener(data, hi, edge=edge, softness=softness)
    x, log_q = probe._propose(n, np.random.default_rng(seed))
    m2 = np.concatenate([probe._m2(b) for b in probe._blocks(x)])

    def ratio(rho: float) -> float:
        lw = log_expit((rho ** 2 - m2) / (2 * rho * edge)) - log_q
        w = np.exp(lw - lw.max())
        w = w / w.sum()
        mu = w @ x
        return float((w @ ((x - mu) ** 2)).sum() / data_var)

    lo = 1e-3
    if ratio(hi) < target:
        raise ValueError(f"variance_ratio {target} is out of reach (max ~{ratio(hi):.2f})")
    for _ in range(50):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if ratio(mid) < target else (lo, mid)
    return 0.5 * (lo + hi)
