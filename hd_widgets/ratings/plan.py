"""Query planning: which clips listeners are asked to rate, and what that costs.

A *query* is one page a listener answers: a few clips (points of the feature space),
each rated on its own slider in [0, 1]. HumanDiffusion's queries are antithetic
perturbation pairs around periphery points (docs/method.md, items 1-2):

    x~_{n,m} = x_n + sigma_p * eps          (periphery point, eps ~ N(0, I))
    clips:     x~ + Delta_r,  x~ - Delta_r  (Delta_r ~ N(0, sigma_nes^2 I))

The MUSHRA-style evaluation uses the same currency with more clips per query.
A plan is fixed before anyone listens, so its cost (``n_ratings``) is known up front,
and it is stored with its queries so a session can resume against the same plan.
"""
from __future__ import annotations

from dataclasses import dataclass, field
import json
import zlib

import numpy as np

from . import kinds

__all__ = ["Query", "QueryPlan", "nes_plan", "centered_plan", "nes_arrays", "evaluation_plan"]


@dataclass(frozen=True)
class Query:
    """One page to rate: ``k`` clips, each a point of the feature space.

    Attributes
    ----------
    index : int
        Position within its plan (0-based); the store keys ratings by (plan, index).
    points : ndarray, shape (k, d)
        The clips, as points of the normalised feature space.
    kinds : tuple of str, length k
        What each clip is: ``("plus", "minus")`` for a perturbation pair;
        ``"real"``, ``"generated"``, ``"reference"``, ``"anchor"``, ... for evaluation.
    meta : dict
        JSON-able facts about the query; NES pairs carry ``periphery`` (int),
        ``pair`` (int) and ``datum`` (int, index of the real point x_n).
    """

    index: int
    points: np.ndarray
    kinds: tuple[str, ...]
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        pts = np.ascontiguousarray(np.asarray(self.points, dtype=np.float64))
        if pts.ndim != 2 or pts.shape[0] != len(self.kinds):
            raise ValueError(
                f"Query {self.index}: points must have shape (k, d) with k = len(kinds) = "
                f"{len(self.kinds)}, got {pts.shape}")
        if not np.all(np.isfinite(pts)):
            raise ValueError(f"Query {self.index}: points must be finite")
        pts.setflags(write=False)
        object.__setattr__(self, "points", pts)
        object.__setattr__(self, "kinds", tuple(str(k) for k in self.kinds))

    @property
    def k(self) -> int:
        """Number of clips (ratings) in this query."""
        return self.points.shape[0]

    def __repr__(self) -> str:
        return (f"Query(index={self.index}, k={self.k}, d={self.points.shape[1]}, "
                f"kinds={self.kinds}, meta={self.meta})")


@dataclass(frozen=True)
class QueryPlan:
    """A fixed list of queries with a name and the settings that made it.

    ``name`` identifies the plan in a ratings store; two plans with the same name must
    be identical (the store refuses a different plan under an existing name).
    """

    name: str
    queries: tuple[Query, ...]
    config: dict = field(default_factory=dict)

    @property
    def n_ratings(self) -> int:
        """Ratings one listener spends to answer every query once."""
        return sum(q.k for q in self.queries)

    @property
    def d(self) -> int:
        """Dimension of the feature space."""
        return self.queries[0].points.shape[1] if self.queries else 0

    def __len__(self) -> int:
        return len(self.queries)

    def __getitem__(self, i: int) -> Query:
        return self.queries[i]

    def __iter__(self):
        return iter(self.queries)

    def per_rater(self, shared: int = 0) -> "QueryPlan":
        """The same plan, met in a different order by each rater (for a class).

        Every rater first answers the ``shared`` leading queries in plan order (common
        pages, so raters can be compared with each other), then the rest in a
        permutation seeded by the rater's name. A class of students who each rate a
        few pages then covers the whole plan instead of all rating its first pages.
        """
        if not 0 <= shared <= len(self.queries):
            raise ValueError(f"shared must be between 0 and {len(self.queries)}, got {shared}")
        return QueryPlan(self.name, self.queries,
                         {**self.config, "rater_order": {"shared": int(shared)}})

    def order_for(self, rater: str) -> list[int]:
        """Positions of the queries in the order ``rater`` meets them (see :meth:`per_rater`)."""
        positions = list(range(len(self.queries)))
        spec = self.config.get("rater_order")
        if not spec:
            return positions
        shared = int(spec["shared"])
        rng = np.random.default_rng(zlib.crc32(str(rater).encode("utf-8")))  # stable across runs
        return positions[:shared] + [int(i) for i in rng.permutation(positions[shared:])]

    def fingerprint(self) -> str:
        """A stable JSON description (config plus every point), used to detect clashes."""
        body = {"name": self.name, "config": self.config,
                "queries": [[q.index, q.points.round(12).tolist(), list(q.kinds), q.meta]
                            for q in self.queries]}
        return json.dumps(body, sort_keys=True)

    def __repr__(self) -> str:
        return (f"QueryPlan(name={self.name!r}, queries={len(self.queries)}, "
                f"n_ratings={self.n_ratings}, d={self.d}, config={self.config})")


def nes_plan(data: np.ndarray, *, n_periphery: int, n_pairs: int, sigma_p: float = 0.5,
             sigma_nes: float = 0.3, seed: int | np.random.Generator | None = 0,
             name: str = "nes", shuffle: bool = True) -> QueryPlan:
    """Plan antithetic NES perturbation pairs around periphery points of real data.

    Parameters
    ----------
    data : ndarray, shape (N, d)
        Real data x_n in the normalised feature space.
    n_periphery : int
        Total number of periphery points P (spread round-robin over the data, so each
        datum gets about P / N of them; the paper's M per datum is P = N * M).
    n_pairs : int
        Perturbation pairs R per periphery point. Each costs two ratings.
    sigma_p, sigma_nes : float
        Standard deviations of the periphery offset and of the NES perturbation.
    seed : int or Generator
        Randomness for periphery offsets, perturbations and the presentation order.
    shuffle : bool
        Present queries in random order (so a partly answered plan still covers the
        space evenly); the ``index`` still identifies each query.

    Returns
    -------
    QueryPlan
        ``P * R`` queries of kinds ``("plus", "minus")``; it costs ``2 * P * R`` ratings.
    """
    data = np.asarray(data, dtype=np.float64)
    if data.ndim != 2 or len(data) == 0:
        raise ValueError(f"data must have shape (N, d) with N > 0, got {data.shape}")
    if n_periphery < 1 or n_pairs < 1:
        raise ValueError("n_periphery and n_pairs must be at least 1")
    if sigma_p < 0 or sigma_nes <= 0:
        raise ValueError("sigma_p must be >= 0 and sigma_nes > 0")
    rng = np.random.default_rng(seed)
    n, d = data.shape
    datum = np.arange(n_periphery) % n                                   # (P,)
    centers = data[datum] + sigma_p * rng.standard_normal((n_periphery, d))  # (P, d)
    return centered_plan(centers, datum, n_data=n, n_pairs=n_pairs, sigma_p=sigma_p,
                         sigma_nes=sigma_nes, seed=rng, name=name, shuffle=shuffle)


def centered_plan(centers: np.ndarray, datum: np.ndarray, *, n_data: int, n_pairs: int,
                  sigma_p: float, sigma_nes: float,
                  seed: int | np.random.Generator | None = 0, name: str = "nes",
                  shuffle: bool = True, config: dict | None = None) -> QueryPlan:
    """Antithetic NES pairs around given periphery points (a later round of a study).

    Parameters
    ----------
    centers : ndarray, shape (P, d)     the periphery points x~.
    datum : ndarray of int, shape (P,)  the real datum each is pulled towards (its
                                        regularisation anchor), an index into the data.
    n_data : int                        rows of the data ``datum`` indexes.
    n_pairs, sigma_p, sigma_nes, seed, name, shuffle : as :func:`nes_plan` (``sigma_p`` is
                                        the pull's scale in the estimate).
    config : dict, optional             more JSON facts stored with the plan (e.g. a study's
                                        round and lineage).
    """
    centers = np.asarray(centers, dtype=np.float64)
    datum = np.asarray(datum, dtype=np.int64)
    if centers.ndim != 2 or len(centers) == 0 or datum.shape != (len(centers),):
        raise ValueError(f"centers (P, d) and datum (P,) disagree: {centers.shape}, {datum.shape}")
    if datum.min() < 0 or datum.max() >= n_data:
        raise ValueError(f"datum indices must lie in 0..{n_data - 1}")
    rng = np.random.default_rng(seed)
    n_periphery, d = centers.shape
    deltas = sigma_nes * rng.standard_normal((n_periphery, n_pairs, d))      # (P, R, d)
    order = np.arange(n_periphery * n_pairs)
    if shuffle:
        order = rng.permutation(order)
    queries = []
    for qi, flat in enumerate(order):
        p, r = divmod(int(flat), n_pairs)
        pts = np.stack([centers[p] + deltas[p, r], centers[p] - deltas[p, r]])
        queries.append(Query(qi, pts, (kinds.PLUS, kinds.MINUS),
                             {"periphery": p, "pair": r, "datum": int(datum[p])}))
    base = {"kind": "nes", "n_periphery": int(n_periphery), "n_pairs": int(n_pairs),
            "sigma_p": float(sigma_p), "sigma_nes": float(sigma_nes), "n_data": int(n_data),
            "d": int(d)}
    return QueryPlan(name, tuple(queries), {**base, **(config or {})})


def nes_arrays(plan: QueryPlan) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Recover the periphery points, perturbations and data indices of an NES plan.

    Returns
    -------
    centers : ndarray, shape (P, d)
    deltas : ndarray, shape (P, R, d)
    datum : ndarray of int, shape (P,)
    """
    cfg = plan.config
    if cfg.get("kind") != "nes":
        raise ValueError(f"plan {plan.name!r} is not an NES plan")
    P, R, d = cfg["n_periphery"], cfg["n_pairs"], cfg["d"]
    centers = np.empty((P, d))
    deltas = np.empty((P, R, d))
    datum = np.empty(P, dtype=int)
    for q in plan.queries:
        p, r = q.meta["periphery"], q.meta["pair"]
        centers[p] = 0.5 * (q.points[0] + q.points[1])
        deltas[p, r] = 0.5 * (q.points[0] - q.points[1])
        datum[p] = q.meta["datum"]
    return centers, deltas, datum


def evaluation_plan(groups: dict[str, np.ndarray], *, per_page: dict[str, int],
                    n_pages: int, seed: int | np.random.Generator | None = 0,
                    name: str = "evaluation") -> QueryPlan:
    """Plan a MUSHRA-style test: each page holds clips of several kinds, shuffled.

    Parameters
    ----------
    groups : dict of kind -> ndarray, shape (n_kind, d)
        Pools of points to draw clips from, e.g. ``{"real": X, "generated": S,
        "reference": X, "anchor": far}``.
    per_page : dict of kind -> int
        How many clips of each kind on one page.
    n_pages : int
        Number of pages (queries).
    """
    rng = np.random.default_rng(seed)
    d = {g.shape[1] for g in groups.values()}
    if len(d) != 1:
        raise ValueError("all groups must share one dimension d")
    queries = []
    for page in range(n_pages):
        pts, kinds, src = [], [], []
        for kind, count in per_page.items():
            pool = np.asarray(groups[kind], dtype=np.float64)
            idx = rng.choice(len(pool), size=count, replace=len(pool) < count)
            pts.extend(pool[idx]); kinds.extend([kind] * count); src.extend(int(i) for i in idx)
        order = rng.permutation(len(kinds))
        queries.append(Query(page, np.stack(pts)[order], tuple(kinds[i] for i in order),
                             {"source": [src[i] for i in order]}))
    config = {"kind": "evaluation", "per_page": dict(per_page), "n_pages": int(n_pages),
              "d": int(d.pop())}
    return QueryPlan(name, tuple(queries), config)
