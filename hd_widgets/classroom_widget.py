"""The teacher's live view of a class rating together (ipywidgets).

Shows, for one plan in a shared store, who is rating, how many queries each has
answered, how recently, and how well each agrees with the rest of the class. It refreshes
on a timer (a background thread; widget updates from threads reach JupyterLab) or on
the Refresh button; :meth:`ClassroomDashboard.refresh` is the programmatic twin.
"""
from __future__ import annotations

import html
import threading

import ipywidgets as W
import numpy as np

from .classroom import class_status
from .store import RatingsStore

__all__ = ["ClassroomDashboard"]


class ClassroomDashboard(W.VBox):
    """Live table of raters for ``plan`` in ``store``; ``interval`` seconds between refreshes
    (``None``: only on the button or :meth:`refresh`)."""

    def __init__(self, store: RatingsStore, plan: str, *, interval: float | None = 5.0):
        self.store, self.plan_name = store, plan
        self._summary = W.HTML()
        self._table = W.HTML()
        button = W.Button(description="Refresh", icon="refresh")
        button.on_click(lambda _: self.refresh())
        super().__init__([W.HBox([button, self._summary]), self._table])
        self._stop = threading.Event()
        self.refresh()
        if interval:
            threading.Thread(target=self._loop, args=(float(interval),), daemon=True).start()

    def _loop(self, interval: float) -> None:
        while not self._stop.wait(interval):
            try:
                self.refresh()
            except Exception:  # a closed store ends the loop quietly
                return

    def stop(self) -> None:
        """Stop the automatic refresh."""
        self._stop.set()

    def refresh(self) -> list:
        """Re-read the store and redraw; returns the list of :class:`RaterStatus`."""
        rows = class_status(self.store, self.plan_name)
        done = sum(r.queries for r in rows)
        total = len(self.store.plan(self.plan_name))
        agr = [r.agreement for r in rows if not np.isnan(r.agreement)]
        mean_agr = f"{np.mean(agr):+.2f}" if agr else "n/a"
        self._summary.value = (f"<b>{len(rows)} raters</b>, {done} queries answered "
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
        return f"ClassroomDashboard(plan={self.plan_name!r}, raters={len(self.store.raters(self.plan_name))})"
