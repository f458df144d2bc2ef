"""Rated perturbation pairs: the ratings an estimate is made from, however they were given.

One row per answered pair (x~ + Delta, x~ - Delta) per rater, from a ratings store
(:meth:`PairRatings.from_table`, what the widget and :func:`~hd_widgets.ratings.answer`
write) or straight from a listener (:meth:`PairRatings.from_listener`, for benchmarks that
need no store).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

import numpy as np

from ..ratings import kinds
from ..ratings.plan import QueryPlan, nes_arrays

__all__ = ["PairRatings"]


@dataclass(frozen=True)
class PairRatings:
    """Ratings of perturbation pairs, one row per answered pair per rater.

    Attributes (all shape (m,))
    ---------------------------
    periphery, pair : int     which x~ and which Delta (indices into ``nes_arrays``).
    plus, minus : float       ratings of x~ + Delta and x~ - Delta, in [0, 1].
    rater : str
    """

    periphery: np.ndarray
    pair: np.ndarray
    plus: np.ndarray
    minus: np.ndarray
    rater: np.ndarray = field(default=None)

    def __post_init__(self) -> None:
        m = len(np.atleast_1d(self.periphery))
        sizes = {name: np.size(getattr(self, name))
                 for name in ("periphery", "pair", "plus", "minus")}
        if self.rater is not None:
            sizes["rater"] = np.size(self.rater)
        if set(sizes.values()) != {m}:
            raise ValueError(f"periphery, pair, plus, minus (and rater) must have one entry per "
                             f"rated pair; got lengths {sizes}")
        for name in ("periphery", "pair"):
            object.__setattr__(self, name,
                               np.asarray(getattr(self, name), dtype=np.int64).reshape(m))
        for name in ("plus", "minus"):
            v = np.asarray(getattr(self, name), dtype=np.float64).reshape(m)
            if np.any(~np.isfinite(v)) or np.any((v < 0) | (v > 1)):
                raise ValueError(f"{name} ratings must be finite and in [0, 1]")
            object.__setattr__(self, name, v)
        rater = (np.full(m, "r0") if self.rater is None
                 else np.asarray(self.rater, dtype=str).reshape(m))
        object.__setattr__(self, "rater", rater)

    def __len__(self) -> int:
        return len(self.periphery)

    @classmethod
    def from_table(cls, plan: QueryPlan, table: dict[str, np.ndarray], *,
                   raters: Iterable[str] | str | None = None) -> "PairRatings":
        """Pair up a store table (columns query, clip, kind, value, rater) of an NES plan.

        ``raters``: keep only the ratings of these raters (one name or several); None keeps
        everyone's. Pages of the same query by different raters count as separate pairs.
        """
        q, kind, val, rater = (np.asarray(table[k]) for k in ("query", "kind", "value", "rater"))
        if raters is not None:
            wanted = {raters} if isinstance(raters, str) else set(raters)
            keep = np.isin(rater, sorted(wanted))
            q, kind, val, rater = q[keep], kind[keep], val[keep], rater[keep]
        by_index = {qq.index: qq for qq in plan.queries}
        seen: dict[tuple[int, str], dict[str, float]] = {}
        for qi, k, v, r in zip(q.tolist(), kind.tolist(), val.tolist(), rater.tolist()):
            seen.setdefault((qi, r), {})[k] = v
        rows = [(by_index[qi].meta["periphery"], by_index[qi].meta["pair"], v[kinds.PLUS],
                 v[kinds.MINUS], r)
                for (qi, r), v in seen.items() if kinds.PLUS in v and kinds.MINUS in v]
        if not rows:
            return cls(np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0, dtype=str))
        p, r_, plus, minus, names = zip(*rows)
        return cls(np.array(p), np.array(r_), np.array(plus), np.array(minus), np.array(names))

    @classmethod
    def from_listener(cls, listener, plan: QueryPlan) -> "PairRatings":
        """Have ``listener`` rate every pair of an NES plan, bypassing the store (benchmarks)."""
        centers, deltas, _ = nes_arrays(plan)
        P, R, d = deltas.shape
        pts = np.concatenate([(centers[:, None] + deltas).reshape(-1, d),
                              (centers[:, None] - deltas).reshape(-1, d)])
        y = np.asarray(listener.rate(pts), dtype=np.float64).reshape(-1)
        if y.shape != (len(pts),):
            raise ValueError(f"listener {getattr(listener, 'name', listener)!r} returned "
                             f"{y.size} ratings for {len(pts)} clips")
        pp, rr = np.divmod(np.arange(P * R), R)
        return cls(pp, rr, y[:P * R], y[P * R:], np.full(P * R, getattr(listener, "name", "r0")))


