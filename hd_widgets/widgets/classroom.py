"""The teacher's live view of a class rating together (ipywidgets).

Shows, for one plan in a shared store (or the round being rated of a study in rounds),
who is rating, how many queries each has answered, how recently, and how well each
agrees with the rest of the class; for a study also the round and how much of it the
class has rated together (the next round starts when every page of it is answered). It refreshes
on a timer (a background thread; widget updates from threads reach JupyterLab) or on
the Refresh button; :meth:`ClassroomDashboard.refresh` is the programmatic twin.
"""
from __future__ import annotations

import html
import threading

import ipywidgets as W
import numpy as np
from traitlets import List

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

    Examples
    --------
    >>> dash = ClassroomDashboard(store, plan.name, interval=None)
    >>> dash.refresh()          # what the timer and the Refresh button do
    >>> dash.status[0].agreement
    """

    status = List(help="One RaterStatus per rater (rater, queries, ratings, seconds since the "
                  "last rating, agreement), as of the last refresh: timer tick, Refresh "
                  "button or refresh().")

    def __init__(self, store: RatingsStore, plan, *, interval: float | None = 5.0):
        self.study = None if isinstance(plan, str) else plan
        self.store = store
        self.plan_name = plan if isinstance(plan, str) else plan.plans()[-1].name
        self._summary = W.HTML()
        self._table = W.HTML()
        self._button = W.Button(description="Refresh", icon="refresh",
                                tooltip="Re-read the store now")
        self._button.on_click(lambda _: self.refresh())
        super().__init__([W.HBox([self._button, self._summary]), self._table])
        self._stop = threading.Event()
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
        for w in (self._button, self._summary, self._table, *self.children):
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
        self._summary.value = (f"{head}<b>{len(rows)} raters</b>, {done} queries answered "
                               f"(plan has {total}), mean agreement {mean_agr}")
        body = "".join(
            f"<tr><td>{html.escape(r.rater)}</td><td>{r.queries}</td>"
            f"<td>{r.seconds_since_last:.0f} s ago</td>"
            f"<td style='color:{'#b00' if r.agreement < 0.3 else '#070'}'>"
            f"{'n/a' if np.isnan(r.agreement) else f'{r.agreement:+.2f}'}</td></tr>"
            for r in rows)
        self._table.value = ("<table><tr><th>rater</th><th>queries</th><th>last rating</th>"
                             f"<th>agreement</th></tr>{body}</table>")
        self.status = rows
        return rows

    def __repr__(self) -> str:
        timer = "stopped" if self._stop.is_set() else "running"
        return (f"ClassroomDashboard(plan={self.plan_name!r}, raters={len(self.status)}, "
                f"timer={timer})")
