"""Paging through a plan: the page a rater resumes at, its clips shown in display order.

The store says which page comes next (``RatingsStore.next_query``: the first one the rater
has neither answered nor skipped, skipped ones last), so a restarted kernel or a second
widget resumes where the person stopped. A page's clips are put on the players in the
rater's :func:`~hd_widgets.widgets.order.display_order`, with fresh (untouched) sliders or,
after an Undo, the ratings taken back. While it is rated, the page the store will most
likely serve next is rendered ahead (:class:`~hd_widgets.widgets.prefetch.ClipPrefetcher`),
so the next page appears without waiting for the vocoder.
"""
from __future__ import annotations

import time

from ..ratings.plan import Query
from .order import display_order
from .progress import pace_of

__all__ = ["PlanPaging"]


class PlanPaging:
    """The paging part of the rating page: which page is shown, and showing it.

    Part of :class:`~hd_widgets.widgets.rating.RatingWidget`, whose ``store``, ``plan``,
    ``rater``, ``seed``, ``k``, page state (``query``, ``_order``, ``_touched``, ``_done``,
    ``_skipped``, ``_durations``), ``_prefetch`` and card it uses; a subclass that follows
    a study in rounds overrides :meth:`_next_page`.
    """

    def _next_page(self, rater: str | None = None) -> Query | None:
        """Where the rater resumes (the store's next unrated page); a subclass that follows
        a study in rounds moves on to the next round here."""
        return self.store.next_query(self.plan.name, self.rater if rater is None else rater)

    def _move_on(self, q: Query, what: str) -> None:
        """``q`` was answered elsewhere (another tab, widget or kernel), so Submit or Skip
        was refused: go to the next page instead of sticking on this one."""
        self._done.add(q.index)
        self._load(self._next_page(),
                   f"{what}: query #{q.index + 1} was already answered as {self.rater} "
                   "elsewhere (another tab, widget or kernel), so this page's ratings were not "
                   "stored; here is the next page.", kind="error")

    def _start(self, rater: str) -> None:
        """Show ``rater``'s next page (resume), or wait for a rater id if ``rater`` is ""."""
        self._rater_box.value = rater
        self._done, self._skipped, self._durations = set(), set(), []
        history = self.store.ratings(self.plan.name, rater=rater) if rater else []
        if rater:
            self._done = {r.query for r in history}
            self._durations = pace_of(history)
            self._load(self._next_page(rater),
                       f"Welcome{' back' if history else ''}, {rater}.")
        else:
            self._load(None, "Enter your rater id above to start.")

    def _load(self, query: Query | None, message: str = "",
              restore: dict[int, float] | None = None, kind: str = "ok") -> None:
        """Show ``query`` (None: finished or no rater), with fresh or restored sliders."""
        self._loading = True
        try:
            self.query = query
            if query is not None:
                self._order = display_order(self.seed, self.rater, query.index, self.k)
                wavs = self._prefetch.get(query.index, query.points)    # query order
                self._show_clips([wavs[c] for c in self._order])
                for j, s in enumerate(self._sliders):
                    s.value = restore[int(self._order[j])] if restore else 0.5
                    self._touched[j] = bool(restore)
                    self._mark(j, bool(restore))
                self._select(0)
                self._shown_at = time.monotonic()
                nxt = self._predict_next(query.index)
                if nxt is not None:
                    self._prefetch.request(nxt, self._by_index[nxt].points)
            else:                     # nothing to rate: no clips, blank disabled sliders
                self._show_clips([b""] * self.k)
                for j, s in enumerate(self._sliders):
                    s.value = 0.5
                    self._touched[j] = False
                    self._mark(j, False)
            for s in self._sliders:
                s.disabled = query is None
            self._refresh(message, kind)
        finally:
            self._loading = False

    def _predict_next(self, current: int) -> int | None:
        """The query the store will most likely serve next (a prefetch hint only)."""
        order = [q.index for q in self.plan]
        n, at = len(order), order.index(current)
        later = [order[(at + step) % n] for step in range(1, n)]
        fresh = [i for i in later if i not in self._done and i not in self._skipped]
        again = [i for i in later if i not in self._done]   # skipped ones come back last
        return (fresh or again or [None])[0]
