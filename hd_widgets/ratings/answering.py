"""Answering a plan: any listener, through the store, along the path the widget takes.

:func:`answer` asks ``store.next_query`` for the listener's next page and stores its
ratings with ``store.rate``, exactly as the rating widget does for a person, so a
simulated listener exercises the same resume point, durability and validation.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import numpy as np
from tqdm.auto import tqdm

from .listeners import Listener

if TYPE_CHECKING:  # the store is only passed in
    from .store import RatingsStore

__all__ = ["answer"]


def answer(listener: Listener, store: "RatingsStore", plan_name: str, *, rater: str | None = None,
           limit: int | None = None, session: str | None = None,
           seed: int | Sequence[int] | None = None, progress: bool = False) -> int:
    """Let ``listener`` answer the next unrated queries of a plan, one submission each.

    Goes through ``store.next_query`` and ``store.rate``, exactly as the rating widget
    does, so a simulated listener exercises the same path (resume point, durability,
    validation) as a person.

    Parameters
    ----------
    listener : Listener
    store : RatingsStore
    plan_name : str
        A plan already added to the store.
    rater : str, optional
        Name the ratings are stored under; default ``listener.name``.
    limit : int, optional
        Answer at most this many queries (default: all that remain).
    session : str, optional
        Passed on to ``store.rate``.
    seed : int or sequence of int, optional
        If given, the rating noise of query ``i`` is drawn from
        ``np.random.default_rng([*seed, i])`` (``listener.rate(points, rng=...)``), so a
        query's ratings do not depend on when it is answered: an interrupted and resumed
        run stores exactly what an uninterrupted one would. Default: the listener's own
        generator.
    progress : bool
        Show a progress bar (tqdm).

    Returns
    -------
    int
        Number of queries answered.
    """
    rater = listener.name if rater is None else rater
    stream = None if seed is None else [int(s) for s in np.atleast_1d(seed)]
    done = 0
    start, total = store.progress(plan_name, rater) if progress else (0, None)
    with tqdm(total=total, initial=start, desc=f"      {rater}", disable=not progress,
              leave=False) as bar:
        while limit is None or done < limit:
            q = store.next_query(plan_name, rater)
            if q is None:
                break
            if stream is None:
                values = listener.rate(q.points)
            else:
                values = listener.rate(q.points, rng=np.random.default_rng([*stream, q.index]))
            values = np.asarray(values, dtype=np.float64).reshape(-1)
            if len(values) != q.k:
                raise ValueError(f"listener {getattr(listener, 'name', listener)!r} returned "
                                 f"{len(values)} ratings for a page of {q.k} clips")
            store.rate(plan_name, q.index, values.tolist(), rater=rater, session=session)
            done += 1
            bar.update()
    return done
