"""2-D views of a d-dimensional space: the plane a figure shows, its extent and grids.

The feature space may have d > 2 dimensions; 2-D views then show a :class:`Plane`: either
a *projection* onto two principal components (points keep only those coordinates) or a
*slice* through a fixed base point (the other coordinates held at the base). Vector
fields and D, which are functions, are always evaluated on a slice (through the origin
for a projection); the figure says which.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from .style import NOTE_SEP, axis_title, titled

__all__ = ["Plane", "FieldFn", "extent_of", "grid", "evaluate_d"]

FieldFn = Callable[[np.ndarray], np.ndarray]   # points (n, d) -> vectors (n, d)


@dataclass(frozen=True)
class Plane:
    """A 2-D view of a d-dim space: components ``dims``, and ``base`` for the rest.

    Parameters
    ----------
    d : int
        Dimension of the space.
    dims : (int, int)
        The two components shown (0-based), horizontal then vertical.
    base : ndarray, shape (d,), optional
        None: a *projection* (points keep coordinates ``dims``, the others are dropped;
        functions are evaluated on the slice through the origin). Given: a *slice* through
        ``base`` (functions and the listening map set the other coordinates from it; points
        are still drawn projected, since scattered points never lie on a slice).
    """

    d: int
    dims: tuple[int, int] = (0, 1)
    base: np.ndarray | None = None

    def __post_init__(self) -> None:
        i, j = (int(k) for k in self.dims)
        if not (0 <= i < self.d and 0 <= j < self.d and i != j):
            raise ValueError(f"dims must be two different components in 0..{self.d - 1}, "
                             f"got {self.dims}")
        object.__setattr__(self, "dims", (i, j))
        if self.base is not None:
            b = np.asarray(self.base, dtype=np.float64)
            if b.shape != (self.d,):
                raise ValueError(f"base must have shape ({self.d},), got {b.shape}")
            object.__setattr__(self, "base", b)

    @property
    def mode(self) -> str:
        """"plane" for d == 2 (the whole space), else "projection" or "slice"."""
        if self.d == 2:
            return "plane"
        return "projection" if self.base is None else "slice"

    def origin(self) -> np.ndarray:
        """The point the plane passes through, shape (d,) (zeros for a projection)."""
        return np.zeros(self.d) if self.base is None else self.base.copy()

    def xy(self, x: np.ndarray) -> np.ndarray:
        """Points (n, d) -> their plane coordinates (n, 2)."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.d:
            raise ValueError(f"expected points of shape (n, {self.d}), got {x.shape}")
        return x[:, list(self.dims)]

    def lift(self, xy: np.ndarray) -> np.ndarray:
        """Plane coordinates (n, 2) -> points (n, d) on the slice through :meth:`origin`."""
        xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        out = np.repeat(self.origin()[None, :], len(xy), axis=0)
        out[:, list(self.dims)] = xy
        return out

    def axis_titles(self, wrap: bool = False) -> tuple[str, str]:
        return axis_title(self.dims[0], wrap=wrap), axis_title(self.dims[1], wrap=wrap)

    def note(self) -> str:
        """What the view shows, for d > 2 (empty for the plain 2-D space): which plane, and
        what is drawn on it, two parts joined by NOTE_SEP (a stacked title puts each on a
        line of its own: :func:`~hd_widgets.views.style.titled`)."""
        a, b = (f"PC{k + 1}" for k in self.dims)
        if self.mode == "plane":
            return ""
        if self.mode == "projection":
            return NOTE_SEP.join((f"projection onto {a}, {b} of {self.d} dims",
                                  "points projected, fields on the slice through 0"))
        others = ", ".join(f"PC{k + 1}={self.base[k]:.2g}" for k in range(self.d)
                           if k not in self.dims)
        return NOTE_SEP.join((f"slice {a}, {b} of {self.d} dims at {others}",
                              "points projected"))

    def title(self, title: str, *notes: str | None, stacked: bool = False) -> str:
        """``title`` plus, on smaller lines below it, the plane's note when d > 2 and any
        other ``notes`` given (e.g. whose ratings the figure rests on); empty notes are
        left out; ``stacked``: one line per note (:func:`~hd_widgets.views.style.titled`)."""
        return titled(title, self.note(), *notes, stacked=stacked)


def extent_of(*arrays: np.ndarray | None, pad: float = 0.12,
              minimum: float = 2.5) -> tuple[tuple[float, float], tuple[float, float]]:
    """Axis ranges covering the bulk of some (n, 2) arrays: 0.5-99.5 percentiles, padded.

    A few diverged particles do not blow the view up; the range is at least
    ``[-minimum, minimum]`` wide so small data sets still show their surroundings.
    """
    pts = [np.asarray(a, dtype=np.float64).reshape(-1, 2) for a in arrays if a is not None]
    pts = np.concatenate(pts) if pts else np.zeros((1, 2))
    pts = pts[np.all(np.isfinite(pts), axis=1)]
    if not len(pts):
        pts = np.zeros((1, 2))
    out = []
    for k in range(2):
        lo, hi = np.percentile(pts[:, k], [0.5, 99.5])
        lo, hi = min(lo, -minimum), max(hi, minimum)
        span = hi - lo
        out.append((float(lo - pad * span), float(hi + pad * span)))
    return out[0], out[1]


def grid(extent, n: int | Sequence[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A regular grid over ``extent``: xs (nx,), ys (ny,), and its points (ny * nx, 2),
    row-major (x fastest)."""
    nx, ny = (n, n) if np.isscalar(n) else n
    xs = np.linspace(*extent[0], int(nx))
    ys = np.linspace(*extent[1], int(ny))
    gx, gy = np.meshgrid(xs, ys)                    # (ny, nx)
    return xs, ys, np.column_stack([gx.ravel(), gy.ravel()])


def evaluate_d(D, plane: Plane, extent, n: int = 80):
    """D underneath a view: ``D`` a callable (m, d) -> (m,), or a precomputed grid
    ``(xs (nx,), ys (ny,), z (ny, nx))`` in plane coordinates. Returns xs, ys, z."""
    if callable(D):
        xs, ys, pts = grid(extent, n)
        z = np.asarray(D(plane.lift(pts)), dtype=np.float64).reshape(len(ys), len(xs))
        return xs, ys, z
    xs, ys, z = (np.asarray(a, dtype=np.float64) for a in D)
    if z.shape != (len(ys), len(xs)):
        raise ValueError(f"D grid: z must have shape (len(ys), len(xs)) = "
                         f"{(len(ys), len(xs))}, got {z.shape}")
    return xs, ys, z
