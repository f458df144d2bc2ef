"""A class rating together: one shared store, live progress, agreement, pooling.

The teacher creates one :class:`~hd_widgets.ratings.store.RatingsStore` in a folder every
student's kernel can reach and adds one plan; each student opens a rating widget on the
same store and plan under their own rater id. The store takes concurrent writers (one
SQLite transaction per submission), so nothing here needs a server.

Agreement between raters is measured the way listening tests usually do it: each
rater's ratings are correlated with the mean of everyone else's ratings of the same
clips (rater-vs-rest Pearson correlation, over clips both have rated). A rater whose
correlation is low or negative is rating something else (or at random).

What a JupyterHub needs (see notebooks/07_classroom.ipynb): a folder readable and
writable by every student's server, on a *local* disk of the machine the servers run on
(SQLite's write-ahead log needs shared memory and file locks that network file systems
such as NFS do not reliably provide), e.g. ``/srv/class`` mounted into every
single-user server.
"""
from __future__ import annotations

from dataclasses import dataclass
import time

import numpy as np

from ..ratings.store import RatingsStore

__all__ = ["RaterStatus", "class_status", "agreement", "pooled_table"]


@dataclass(frozen=True)
class RaterStatus:
    """One rater's contribution so far."""

    rater: str
    queries: int            # queries answered (active submissions)
    ratings: int            # clip ratings
    seconds_since_last: float
    agreement: float        # rater-vs-rest correlation, NaN until there is overlap

    def __repr__(self) -> str:
        agr = "n/a" if np.isnan(self.agreement) else f"{self.agreement:+.2f}"
        return (f"RaterStatus({self.rater!r}: {self.queries} queries, last "
                f"{self.seconds_since_last:.0f} s ago, agreement {agr})")


def _clip_keys(t: dict[str, np.ndarray]) -> np.ndarray:
    return t["query"] * 1000 + t["clip"]


def agreement(store: RatingsStore, plan: str, *, min_overlap: int = 3) -> dict[str, float]:
    """Rater-vs-rest correlation per rater (NaN where fewer than ``min_overlap`` shared clips)."""
    t = store.table(plan)
    keys = _clip_keys(t)
    out = {}
    for rater in store.raters(plan):
        mine = t["rater"] == rater
        rest = ~mine
        common = np.intersect1d(keys[mine], keys[rest])
        if len(common) < min_overlap:
            out[rater] = float("nan")
            continue
        own = np.array([t["value"][mine & (keys == k)].mean() for k in common])
        others = np.array([t["value"][rest & (keys == k)].mean() for k in common])
        if own.std() == 0 or others.std() == 0:
            out[rater] = float("nan")
        else:
            out[rater] = float(np.corrcoef(own, others)[0, 1])
    return out


def class_status(store: RatingsStore, plan: str, *, now: float | None = None) -> list[RaterStatus]:
    """Who has rated, how much, how recently, and how well they agree with the rest."""
    t = store.table(plan)
    now = time.time() if now is None else now
    agr = agreement(store, plan)
    out = []
    for rater in store.raters(plan):
        mine = t["rater"] == rater
        out.append(RaterStatus(rater, int(len(np.unique(t["query"][mine]))), int(mine.sum()),
                               float(now - t["time"][mine].max()), agr[rater]))
    return out


def pooled_table(store: RatingsStore, plan: str, *, exclude: list[str] | tuple = (),
                 min_agreement: float | None = None) -> dict[str, np.ndarray]:
    """The plan's active ratings from every rater, optionally without some raters.

    Parameters
    ----------
    exclude : raters to leave out by name.
    min_agreement : leave out raters whose rater-vs-rest correlation is below this.
    """
    t = store.table(plan)
    drop = set(exclude)
    if min_agreement is not None:
        drop |= {r for r, a in agreement(store, plan).items() if not (a >= min_agreement)
                 and not np.isnan(a)}
    keep = ~np.isin(t["rater"], sorted(drop))
    return {k: v[keep] for k, v in t.items()}
