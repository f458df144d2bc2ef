"""The teacher's live view of a class rating together (ipywidgets).

Shows, for one plan in a shared store (or the round being rated of a study in rounds),
who is rating, how many queries each has answered, how recently, and how well each
agrees with the rest of the class; for a study also the round and how much of it the
class has rated together (the next round starts when every page of it is answered). It refreshes
on a timer (a background thread; widget updates from threads reach JupyterLab) or on
the Refresh button; :meth:`ClassroomDashboard.refresh` is the programmatic twin.

The lesson's goal: ``target`` is the pages the teacher asks of each student (the same
number the students' widgets show, ``RatingWidget(..., target=...)``); the table marks who
has reached it, and the summary says how many have. ``needed`` is the pages the class must
rate in all before pooling them supports a conclusion (by default what the claims
checker asks for, :data:`~hd_widgets.study.claims.MIN_RATINGS` ratings); the summary says
how far the class is from it and, once there, that the class has enough (``enough``).
"""
from __future__ import annotations

import html
import math
import threading

import ipywidgets as W
import numpy as np
from traitlets import Bool, Int, List

from ..study.claims import MIN_RATINGS
from ..study.classroom import class_status
from ..ratings.store import RatingsStore

__all__ = ["ClassroomDashboard"]


class ClassroomDashboard(W.VBox):
    """Live table of raters for ``plan`` in ``store``.

    Parameters
    ----------
    store : RatingsStore
        The class's shared store.
    plan : str or RoundsStudy
        The plan the class rates, or a study in rounds (the dashboard follows its rounds).
    interval : float or None
        Seconds between automatic refreshes (a background thread); ``None``: only on the
        Refresh button or :meth:`refresh`.
    target : int
        Pages asked of each student (0: no per-student goal shown).
    needed : int, optional
        Pages the class must rate in all before a pooled result means something (default:
        enough pages for :data:`~hd_widgets.study.claims.MIN_RATINGS` ratings).

    Examples
    --------
    >>> dash = ClassroomDashboard(store, plan.name, interval=None, target=12)
    >>> dash.refresh()          # what the timer and the Refresh button do
    >>> dash.status[0].agreement
    """

    status = List(help="One RaterStatus per rater (rater, queries, ratings, seconds since the "
                  "last rating, agreement), as of the last refresh: timer tick, Refresh "
                  "button or refresh().")
    target = Int(0, help="Pages asked of each student (0: none); the table marks who has "
                 "reached it and the summary counts them.")
    needed = Int(0, help="Pages the class must rate in all before a pooled result means "
                 "something (set from MIN_RATINGS ratings unless given).")
    enough = Bool(False, help="True once the class has rated ``needed`` pages, as of the last "
                  "refresh.")

    def __init__(self, store: RatingsStore, plan, *, interval: float | None = 5.0,
                 target: int = 0, needed: int | None = None):
        self._stop = threading.Event()              # first: close() may run on a refused start
        self.study = None if isinstance(plan, str) else plan
        self.store = store
        self.plan_name = plan if isinstance(plan, str) else plan.plans()[-1].name
        if int(target) < 0 or (needed is not None and int(needed) < 1):
            raise ValueError(f"target must be >= 0 and needed >= 1, got {target} and {needed}")
        self.target = int(target)
        per_page = (len(store.plan(self.plan_name)[0].kinds) if len(store.plan(self.plan_name))
                    else 2)
        self.needed = int(needed) if needed is not None else math.ceil(MIN_RATINGS / per_page)
        self._summary = W.HTML()
        self._table = W.HTML()
        self._button = W.Button(description="Refresh", icon="refresh",
                                tooltip="Re-read the store now")
        self._button.on_click(lambda _: self.refresh())
        super().__init__([W.HBox([self._button, self._summary]), self._table])
        self.refresh()
        if interval:
            threading.Thread(target=self._loop, args=(float(interval),), daemon=True,
                             name="hd-classroom").start()

    def _loop(self, interval: float) -> None:
        while not self._stop.wait(interval):
            try:
                self.refresh()
            except Exception:  # a closed store ends the loop quietly
                return

    def stop(self) -> None:
        """Stop the automatic refresh (the button and :meth:`refresh` keep working)."""
        self._stop.set()

    def close(self) -> None:
        """Stop the timer and close the dashboard and its controls."""
        self.stop()
        parts = [getattr(self, n, None) for n in ("_button", "_summary", "_table")]
        for w in [w for w in parts if w is not None] + list(self.children):   # () if refused
            w.close()
        super().close()

    def refresh(self) -> list:
        """Re-read the store and redraw (the timer's tick and the Refresh button's click);
        returns the list of :class:`RaterStatus`, also kept in :attr:`status`."""
        head = ""
        if self.study is not None:
            self.study.advance()            # the class may have finished the round
            self.plan_name = self.study.plans()[-1].name
            p = self.study.progress()
            head = (f"<b>Round {p['round'] + 1} of {p['rounds']}</b>: {p['round_pages_done']} of "
                    f"{p['round_pages']} pages rated by the class; {p['ratings']} of "
                    f"{p['budget']} ratings in all. ")
        rows = class_status(self.store, self.plan_name)
        done = sum(r.queries for r in rows)
        total = len(self.store.plan(self.plan_name))
        agr = [r.agreement for r in rows if not np.isnan(r.agreement)]
        mean_agr = f"{np.mean(agr):+.2f}" if agr else "n/a"
        self.enough = done >= self.needed
        self._summary.value = (f"{head}<b>{len(rows)} raters</b>, {done} pages answered "
                               f"(plan has {total}), mean agreement {mean_agr}"
                               + self._goal_html(rows, done))
        mark = (lambda r: f" / {self.target} \u2714" if r.queries >= self.target
                else f" / {self.target}") if self.target else (lambda r: "")
        body = "".join(
            f"<tr><td>{html.escape(r.rater)}</td><td>{r.queries}{mark(r)}</td>"
            f"<td>{r.seconds_since_last:.0f} s ago</td>"
            f"<td style='color:{'#b00' if r.agreement < 0.3 else '#070'}'>"
            f"{'n/a' if np.isnan(r.agreement) else f'{r.agreement:+.2f}'}</td></tr>"
            for r in rows)
        self._table.value = ("<table><tr><th>rater</th><th>pages</th><th>last rating</th>"
                             f"<th>agreement</th></tr>{body}</table>")
        self.status = rows
        return rows

    def _goal_html(self, rows: list, done: int) -> str:
        """The lesson's goal in words: who reached the pages per student, and whether the
        class has enough pages in all."""
        out = ""
        if self.target:
            reached = sum(r.queries >= self.target for r in rows)
            out += (f"<br>Pages per student: <b>{self.target}</b> \u2014 {reached} of "
                    f"{len(rows)} student{'s' if len(rows) != 1 else ''} have reached it.")
        if self.enough:
            out += (f"<br><b style='color:#070'>The class has enough</b>: {done} pages, at "
                    f"least the {self.needed} a pooled result needs. Pool and train below "
                    "(students may rate on).")
        else:
            out += (f"<br><b style='color:#b00'>Not enough yet</b>: {done} of the {self.needed} "
                    f"pages a pooled result needs; keep rating.")
        return out

    def __repr__(self) -> str:
        timer = "stopped" if self._stop.is_set() else "running"
        return (f"ClassroomDashboard(plan={self.plan_name!r}, raters={len(self.status)}, "
                f"target={self.target}, needed={self.needed}, enough={self.enough}, "
                f"timer={timer})")
