"""The grid baseline: rate a grid of points directly (HumanGAN's perception map).

With the same budget of ratings as HumanDiffusion, rate the nodes of a regular grid
over the data's bounding box (plus a margin; :func:`~hd_widgets.ratings.budget.grid_plan`),
average repeated ratings per node, interpolate the map
(``scipy.interpolate.RegularGridInterpolator``, any d), and sample from p(x) proportional
to max(map(x) - floor, 0), where ``floor`` is the map's noise floor (what ratings of
hopeless clips average to, since clipped noise is not 0). In 2-D this is a strong
baseline; with k nodes per axis it costs k^d ratings, so it thins out fast as d grows
(docs/method.md, "Refinements").
"""
from __future__ import annotations

from dataclasses import dataclass
import warnings

import numpy as np
from scipy.interpolate import RegularGridInterpolator

from ..ratings.budget import grid_axes, grid_nodes

__all__ = ["PerceptionMap"]


@dataclass(repr=False)
class PerceptionMap:
    """Mean rating per grid node, interpolated, thresholded at its noise floor.

    Parameters
    ----------
    axes : list of d ndarrays, each (k,)
    values : ndarray, shape (k,) * d      mean rating at each node.
    floor : float, optional               noise floor; default: estimated from the
                                          outermost shell of nodes (:meth:`noise_floor`).
    """

    axes: list
    values: np.ndarray
    floor: float | None = None

    def __post_init__(self) -> None:
        self.axes = [np.asarray(a, dtype=np.float64) for a in self.axes]
        self.values = np.asarray(self.values, dtype=np.float64)
        if self.values.shape != tuple(len(a) for a in self.axes):
            raise ValueError("values must have shape (len(axis) for axis in axes)")
        if self.floor is None:
            self.floor = self.noise_floor(self.values)
        self._interp = RegularGridInterpolator(self.axes, self.values, method="linear",
                                               bounds_error=False, fill_value=0.0)

    @property
    def d(self) -> int:
        return len(self.axes)

    @staticmethod
    def noise_floor(values: np.ndarray) -> float:
        """Mean of the outermost shell of nodes.

        The box reaches beyond the acceptable region, so its shell is rated at the noise
        floor: what ratings of hopeless clips average to (clipped noise averages above 0).
        """
        v = np.asarray(values)
        inner = np.zeros(v.shape, dtype=bool)
        inner[tuple(slice(1, -1) for _ in v.shape)] = True
        return float(v[~inner].mean())

    @classmethod
    def from_ratings(cls, axes: list, node: np.ndarray, values: np.ndarray,
                     floor: float | None = None) -> "PerceptionMap":
        """Average ratings per node (flat indices ``node`` (m,), ratings ``values`` (m,)).
        Nodes never rated take the noise floor of the rated ones (0 if none)."""
        shape = tuple(len(a) for a in axes)
        size = int(np.prod(shape))
        s = np.bincount(node, weights=values, minlength=size)
        c = np.bincount(node, minlength=size)
        mean = np.where(c > 0, s / np.maximum(c, 1), np.nan)
        fill = np.nanmin(mean) if np.any(c > 0) else 0.0
        return cls(axes, np.where(np.isnan(mean), fill, mean).reshape(shape), floor)

    @classmethod
    def from_listener(cls, listener, data: np.ndarray, n_ratings: int, *,
                      margin: float = 2.0) -> "PerceptionMap":
        """Spend ``n_ratings`` ratings of ``listener`` on the grid and build the map."""
        axes, repeats = grid_axes(data, n_ratings, margin=margin)
        nodes = grid_nodes(axes)
        idx = np.repeat(np.arange(len(nodes)), repeats)
        return cls.from_ratings(axes, idx, np.asarray(listener.rate(nodes[idx]), dtype=np.float64))

    @classmethod
    def from_store(cls, store, plan_name: str) -> "PerceptionMap":
        """Build the map from a :func:`grid_plan` answered in a ratings store."""
        plan = store.plan(plan_name)
        t = store.table(plan_name)
        node_of = {q.index: q.meta["node"] for q in plan.queries}
        node = np.array([node_of[int(q)] for q in t["query"]], dtype=np.int64)
        return cls.from_ratings(plan.config["axes"], node, t["value"])

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Interpolated map at points (n, d) -> (n,); 0 outside the box."""
        return self._interp(np.atleast_2d(np.asarray(x, dtype=np.float64)))

    def density(self, x: np.ndarray) -> np.ndarray:
        """Unnormalised sampling density max(map - floor, 0), shape (n,)."""
        return np.maximum(self(x) - self.floor, 0.0)

    @property
    def flat(self) -> bool:
        """True when the map never rises above its noise floor: it carries no information,
        and :meth:`sample` draws uniformly from the box."""
        return float(np.max(self.values) - self.floor) <= 0

    def sample(self, n: int, rng: int | np.random.Generator | None = 0,
               max_draws: int = 50_000_000) -> np.ndarray:
        """n points from p proportional to max(map - floor, 0), by rejection over the box.

        A :attr:`flat` map gives points drawn uniformly from the box; so do the points
        still missing when fewer than n are accepted within ``max_draws`` proposals,
        with a warning.
        """
        rng = np.random.default_rng(rng)
        lo = np.array([a[0] for a in self.axes]); hi = np.array([a[-1] for a in self.axes])
        box = lambda m: lo + (hi - lo) * rng.uniform(size=(m, self.d))
        top = float(np.max(self.values) - self.floor)
        if self.flat:
            return box(n)
        out, have, drawn = [], 0, 0
        batch = max(4 * n, 4096)
        while have < n and drawn < max_draws:
            x = box(batch)
            keep = rng.uniform(size=batch) * top < self.density(x)
            out.append(x[keep]); have += int(keep.sum()); drawn += batch
        if have < n:
            warnings.warn(f"PerceptionMap.sample: only {have} of {n} points accepted in "
                          f"{drawn} proposals; the rest are drawn uniformly from the box",
                          stacklevel=2)
            out.append(box(n - have))
        return np.concatenate(out)[:n]

    def __repr__(self) -> str:
        shape = "x".join(str(len(a)) for a in self.axes)
        return (f"PerceptionMap(d={self.d}, grid={shape}, floor={self.floor:.3f}, "
                f"max={self.values.max():.3f})")
