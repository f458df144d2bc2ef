"""Whose ratings a figure or a summary rests on, in words: "your 13 pages", "simulated
listener, 487 pages", "20 raters, 480 pages".

A figure drawn from an estimate cannot tell by itself whether it shows one student's
thirteen pages or a simulated listener's five hundred; every view therefore takes a
``source`` (a string or a :class:`RatingsSource`) and prints it under its title, and
the claims checker (:mod:`hd_widgets.study.claims`) states it in front of a conclusion.
:func:`ratings_source` reads it from the store, for the raters an estimate used
(``hd.from_store(..., raters=...)``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping

import numpy as np

__all__ = ["RatingsSource", "ratings_source", "source_text"]

LISTED = 3   # up to this many raters are named one by one; more are counted


@dataclass(frozen=True)
class RatingsSource:
    """Whose ratings, and how many: ``str(source)`` is the phrase a figure prints.

    Attributes
    ----------
    text : str                 e.g. "your 13 pages" or "simulated listener, 487 pages".
    raters : tuple of str      the rater ids counted.
    pages : int                pages (queries) answered, summed over those raters.
    ratings : int              clip ratings (two per page of a perceptual-gradient plan).
    """

    text: str
    raters: tuple[str, ...]
    pages: int
    ratings: int

    def __str__(self) -> str:
        return self.text


def _pages(n: int) -> str:
    return f"{n} page{'s' if n != 1 else ''}"


def ratings_source(store, plan: str, raters: Iterable[str] | str | None = None, *,
                   you: str | None = None, names: Mapping[str, str] | None = None) -> RatingsSource:
    """Describe the active ratings of ``raters`` (default: everyone's) in ``plan``.

    Parameters
    ----------
    store : RatingsStore
    plan : str                         a plan name in the store.
    raters : str or iterable of str, optional
        The raters an estimate used (as given to ``from_store(..., raters=...)``).
    you : str, optional
        The rater id of the person reading the figure: their share reads "your N pages".
    names : mapping rater id -> label, optional
        How to call a rater (e.g. ``{"simulated": "simulated listener"}``).

    Returns
    -------
    RatingsSource

    Examples
    --------
    >>> str(ratings_source(store, "start-here", raters="you", you="you"))
    'your 13 pages'
    >>> str(ratings_source(store, "start-here", you="you"))
    'simulated listener, 487 pages, and your 13 pages'
    """
    t = store.table(plan)
    wanted = None if raters is None else ({raters} if isinstance(raters, str) else set(raters))
    order = [r for r in dict.fromkeys(t["rater"].tolist()) if wanted is None or r in wanted]
    pages = {r: int(len(np.unique(t["query"][t["rater"] == r]))) for r in order}
    ratings = int(np.isin(t["rater"], order).sum()) if order else 0
    label = dict(names or {})
    total = sum(pages.values())
    if not order:
        who = "nobody" if wanted is None else ", ".join(sorted(wanted))
        text = f"no ratings yet ({who})"
    elif len(order) <= LISTED:
        parts = [f"your {_pages(pages[r])}" if r == you
                 else f"{label.get(r, r)}, {_pages(pages[r])}"
                 for r in sorted(order, key=lambda r: (r == you, order.index(r)))]
        text = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + ", and " + parts[-1]
    else:
        text = f"{len(order)} raters, {_pages(total)}"
        if you in pages:
            text += f" (your {_pages(pages[you])} among them)"
    return RatingsSource(text, tuple(order), total, ratings)


def source_text(source) -> str:
    """The phrase under a figure's title: "from the ratings of: <source>" ('' for None)."""
    return "" if source is None or str(source) == "" else f"ratings: {source}"
