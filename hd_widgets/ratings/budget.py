"""Plans that spend a budget of ratings known up front: HumanDiffusion's, and the grid's.

:func:`plan_for_budget` turns a number of ratings into an NES plan around the real data
(docs/method.md, items 1-2, and the refinement "many points, one pair each");
:func:`grid_plan` spends the same budget on the nodes of a regular grid, for the
directly rated baseline (:class:`~hd_widgets.method.grid.PerceptionMap`). Neither ever
costs more than its budget; a budget too small for the smallest plan is a ValueError.
"""
from __future__ import annotations

import numpy as np

from . import kinds
from .plan import Query, QueryPlan, nes_plan

__all__ = ["plan_for_budget", "grid_axes", "grid_plan", "grid_nodes"]


def plan_for_budget(data: np.ndarray, n_ratings: int, *, style: str = "refined",
                    n_pairs: int | None = None, sigma_p: float = 1.0, sigma_nes: float = 0.3,
                    seed: int | np.random.Generator | None = 0, name: str = "nes") -> QueryPlan:
    """An NES plan that spends about ``n_ratings`` ratings.

    ``style="refined"`` (default): one pair per periphery point, so P = n_ratings / 2
    points -- the network averages noise across neighbours better than NES averages it
    within a point. ``style="paper"``: five pairs per point (the paper's R = 5).
    ``n_pairs`` overrides either. Returns :func:`~hd_widgets.ratings.plan.nes_plan`'s plan, which
    never costs more than ``n_ratings``; a budget too small for one point is a ValueError.
    """
    if style not in ("refined", "paper"):
        raise ValueError("style must be 'refined' or 'paper'")
    R = n_pairs if n_pairs is not None else (1 if style == "refined" else 5)
    if R < 1:
        raise ValueError(f"n_pairs must be at least 1, got {R}")
    if int(n_ratings) != n_ratings or n_ratings < 2 * R:
        raise ValueError(f"a budget of {n_ratings!r} ratings cannot pay for one periphery point "
                         f"with {R} pair(s) ({2 * R} ratings)")
    P = int(n_ratings) // (2 * R)
    return nes_plan(data, n_periphery=P, n_pairs=R, sigma_p=sigma_p, sigma_nes=sigma_nes,
                    seed=seed, name=name)




def grid_axes(data: np.ndarray, n_ratings: int, *, margin: float = 2.0,
              min_per_axis: int = 2) -> tuple[list[np.ndarray], int]:
    """Grid axes spending at most ``n_ratings`` ratings, and how often each node is rated.

    k = floor(n_ratings ** (1 / d)) nodes per axis (at least ``min_per_axis``) spanning
    the data's bounding box widened by ``margin`` on every side; each of the k^d nodes
    is rated ``repeats = n_ratings // k^d`` times. A budget below ``min_per_axis ** d``
    cannot pay for the smallest grid and is a ValueError.

    Returns
    -------
    axes : list of d ndarrays, each (k,)
    repeats : int
    """
    data = np.asarray(data, dtype=np.float64)
    if data.ndim != 2 or len(data) == 0:
        raise ValueError(f"data must have shape (N, d) with N > 0, got {data.shape}")
    d = data.shape[1]
    if int(n_ratings) != n_ratings or n_ratings < min_per_axis ** d:
        raise ValueError(f"a grid of {min_per_axis} nodes per axis in d = {d} costs "
                         f"{min_per_axis ** d} ratings; a budget of {n_ratings!r} cannot pay "
                         f"for it")
    k = max(min_per_axis, int(np.floor(n_ratings ** (1 / d) + 1e-9)))
    lo, hi = data.min(0) - margin, data.max(0) + margin
    axes = [np.linspace(a, b, k) for a, b in zip(lo, hi)]
    return axes, int(n_ratings) // k ** d


def grid_nodes(axes: list[np.ndarray]) -> np.ndarray:
    """All grid nodes, shape (k^d, d), in C order of ``axes``."""
    return np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, len(axes))


def grid_plan(data: np.ndarray, n_ratings: int, *, margin: float = 2.0,
              seed: int | np.random.Generator | None = 0, name: str = "grid") -> QueryPlan:
    """A plan of one-clip queries at the grid nodes (each node ``repeats`` times), shuffled.

    Query meta holds ``node`` (flat index into the grid); the config holds the axes.
    """
    axes, repeats = grid_axes(data, n_ratings, margin=margin)
    nodes = grid_nodes(axes)
    order = np.random.default_rng(seed).permutation(np.repeat(np.arange(len(nodes)), repeats))
    queries = tuple(Query(i, nodes[j][None], (kinds.GRID,), {"node": int(j)})
                    for i, j in enumerate(order))
    config = {"kind": kinds.GRID, "axes": [a.tolist() for a in axes], "repeats": repeats,
              "margin": float(margin), "d": int(nodes.shape[1])}
    return QueryPlan(name, queries, config)


