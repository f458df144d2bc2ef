"""A rating the store could not take yet: kept, and sent again under one submission id.

When the ratings server is unreachable (a PostgreSQL store during an outage) the rating
widget must not lose the person's page, and must not store it twice when the server
comes back after a resend that did reach it. :class:`Outbox` holds that one rating with a
submission id made at the first click; every resend uses the same id, and the store keeps
a submission once however often it arrives (``RatingsStore.rate(submission=...)``). A
timer sends it again after each of ``delays`` seconds (then every last delay) until the
store takes or refuses it. :class:`OutageResend` is the rating page's side of it: say
so, keep the page, and resend on that timer.

Written here rather than with a retry library: the resend must go through the widget's
own Submit path while the page is still shown (so the card moves on as after a click),
and a library's blocking retry loop would hold the kernel.
"""
from __future__ import annotations

import threading
from typing import Callable, Sequence
import uuid

from ..ratings.store import RatingError, StoreUnreachable

__all__ = ["Outbox", "OutageResend"]


class Outbox:
    """At most one unsent rating, and the timer that sends it again.

    Parameters
    ----------
    store : RatingsStore
    session : str    stored with each rating.
    """

    def __init__(self, store, session: str) -> None:
        self.store, self.session = store, session
        self._lock = threading.RLock()
        self._pending: tuple | None = None     # (plan, rater, query, values, submission id)
        self._timer: threading.Timer | None = None
        self._tries = 0

    @property
    def pending(self) -> tuple | None:
        """(rater, query, values, submission id) of the rating not yet stored, or None."""
        return None if self._pending is None else self._pending[1:]

    def holds(self, plan: str, rater: str, query: int) -> bool:
        """Is the rating kept here the one of this page (plan, rater, query)?"""
        return self._pending is not None and self._pending[:3] == (plan, rater, int(query))

    def send(self, plan: str, rater: str, query: int, values: Sequence[float]) -> list[int]:
        """Store one page's rating (of plan ``plan``); the ids the store gave it.

        A rating equal to the pending one (same plan, rater, page and values) is sent again
        under the pending submission id; any other gets a new id. :class:`StoreUnreachable`
        keeps it pending (to be sent again); any other error drops it (the store refused it:
        there is nothing to send again) and propagates.
        """
        with self._lock:
            mine = (plan, rater, int(query), tuple(float(v) for v in values))
            if self._pending is None or self._pending[:4] != mine:
                self._pending = mine + (uuid.uuid4().hex,)      # a new rating: a new id
            plan, rater, query, vals, key = self._pending
            try:
                ids = self.store.rate(plan, query, list(vals), rater=rater,
                                      session=self.session, submission=key)
            except StoreUnreachable:
                raise                                          # still pending
            except BaseException:
                self._pending = None                           # refused: nothing to resend
                raise
            self._pending, self._tries = None, 0
            self._cancel()
            return ids

    def send_pending(self) -> None:
        """Send the pending rating as it is (nobody is looking at its page any more), if
        there is one; a refusal drops it. Raises :class:`StoreUnreachable` while the server
        is still away (it stays pending)."""
        with self._lock:
            if self._pending is None:
                return
            try:
                self.send(*self._pending[:4])
            except RatingError:
                pass                                            # refused: dropped by send

    def retry_later(self, delays: Sequence[float], callback: Callable[[], None]) -> float:
        """Call ``callback`` (from a timer thread) after the next of ``delays``; returns
        that delay. Each call moves one step along ``delays`` and stays at the last."""
        with self._lock:
            delay = float(delays[min(self._tries, len(delays) - 1)])
            self._tries += 1
            self._cancel()
            self._timer = threading.Timer(delay, callback)
            self._timer.daemon = True
            self._timer.start()
            return delay

    def _cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def __repr__(self) -> str:
        if self._pending is None:
            return "Outbox(empty)"
        plan, rater, query = self._pending[:3]
        return f"Outbox(pending: plan {plan!r}, rater {rater!r}, query {query})"


class OutageResend:
    """The outage part of the rating page: a rating the server did not take is kept in the
    page's :class:`Outbox` (``_outbox``) and sent again by a timer.

    Part of :class:`~hd_widgets.widgets.rating.RatingWidget`, whose Submit path
    (``_on_submit``), status line (``_say``), ``plan``, ``rater`` and ``query`` it uses.
    """

    #: seconds before each automatic resend of a rating the server did not take (then the last)
    retry_delays = (3.0, 6.0, 12.0, 30.0)

    @property
    def pending(self) -> tuple | None:
        """The rating kept after an outage, not yet stored: (rater, query, values,
        submission id), or None (:class:`~hd_widgets.widgets.outbox.Outbox`)."""
        return self._outbox.pending

    def _keep_for_retry(self, error: Exception) -> None:
        """Say so, keep the page and its rating, and send it again later."""
        delay = self._outbox.retry_later(self.retry_delays, self._retry_pending)
        self._say("Not saved yet: the server is unreachable; your rating is kept and will be "
                  f"sent again (in {delay:g} s, or click Submit).", "error")

    def _retry_pending(self) -> None:
        """The timer's resend: the person's own Submit path while the page is still shown,
        else (they moved on, or the widget was closed) sent as it is."""
        if self._outbox.pending is None:
            return
        shown = getattr(self, "comm", None) is not None and self.query is not None
        if shown and self._outbox.holds(self.plan.name, self.rater, self.query.index):
            self._on_submit()
            return
        try:
            self._outbox.send_pending()
        except StoreUnreachable as e:
            self._keep_for_retry(e)
