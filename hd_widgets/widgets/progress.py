"""Where a rater stands: the rating page's progress line and bar, a lesson's goal, time left.

A lesson's goal (``target``): a study's plan has hundreds of pages, a lesson asks for a
few. With ``target=6`` the progress line counts toward the lesson ("2 of 6 pages for this
lesson · about 1 min left"), the bar fills toward it, and once it is reached the widget
says so ("you can stop here") and lets the rater go on if they like; ``target_reached``
turns True. Without a target the line counts the whole plan.

Time left is the rater's own median pace over their last ten pages; gaps longer than
:data:`BREAK_S` between two submissions are breaks, not pace. :class:`RatingProgress` is
the part of :class:`~hd_widgets.widgets.rating.RatingWidget` that says all this; the
store's count of the rater's pages is what it counts, so it is right after a restart too.
"""
from __future__ import annotations

import numpy as np
from traitlets import Bool, HasTraits, Int, TraitError, observe, validate

__all__ = ["RatingProgress", "pace_of", "BREAK_S"]

BREAK_S = 300.0       # gaps longer than this between submissions are breaks, not pace


def pace_of(history) -> list[float]:
    """Seconds between a rater's stored submissions (``history``: their ratings), breaks
    longer than :data:`BREAK_S` left out."""
    times = np.unique([r.time for r in history])
    return [float(t) for t in np.diff(times) if 0 < t < BREAK_S]


class RatingProgress(HasTraits):
    """The progress part of the rating page: the lesson's goal, the bar, the progress line,
    the title and which buttons may be clicked.

    Part of :class:`~hd_widgets.widgets.rating.RatingWidget`, whose ``store``, ``plan``,
    ``rater``, ``query``, ``_durations`` (seconds per page of late) and card controls
    (``_bar``, ``_progress``, ``_title``, ``_buttons``, ``_touched``, ``_say``) it reads.
    """

    finished = Bool(False, help="True once the rater has answered every query of the plan.")
    target = Int(0, help="Pages the lesson (the notebook or the teacher) asks of the rater; 0 "
                 "counts the whole plan. The progress line and bar count toward it, with the "
                 "time left for it, and say when it is reached (rating on is allowed).")
    target_reached = Bool(False, help="True once the rater has answered ``target`` pages "
                          "(False while there is no target).")

    @validate("target")
    def _valid_target(self, proposal: dict) -> int:
        value = proposal["value"]
        if value < 0:
            raise TraitError(f"target must be a number of pages >= 0 (0: the whole plan), "
                             f"got {value}")
        return value

    @observe("target")
    def _target_changed(self, change: dict) -> None:
        # not while __init__ builds the card
        if hasattr(self, "_keys") and hasattr(self, "_mine"):
            self._refresh(self.status)

    def _refresh(self, message: str, kind: str = "ok") -> None:
        q = self.query
        done, total = (self.store.progress(self.plan.name, self.rater) if self.rater
                       else (0, len(self.plan)))
        self.finished = bool(self.rater) and q is None and done >= total
        self.target_reached = bool(self.rater) and bool(self.target) and done >= self.target
        self._bar.max = self.target or total
        self._bar.value = min(done, self._bar.max)
        self._progress.value = self._progress_text(done, total)
        if q is not None:
            self._title.value = (f"<b>Query #{q.index + 1}</b> of plan <i>{self.plan.name}</i> — "
                                 "how natural is each clip? (0 = unnatural, 1 = natural)")
        elif self.finished:
            self._title.value = self._finished_title(total)
        else:
            self._title.value = f"<b>{self._idle_reason()}</b>"
        for name, b in self._buttons.items():
            b.disabled = (q is None and name != "undo") or not self.rater or (
                name == "submit" and not all(self._touched))
        self._say(message, kind)

    def _progress_text(self, done: int, total: int) -> str:
        if self.target and done >= self.target:
            return (f"<b>{done} of {self.target} pages for this lesson: done</b>, you can stop "
                    f"here (or rate on: {done} of {total} pages of the study)")
        if self.target:
            return (f"{done} of {self.target} pages for this lesson · "
                    f"{self._time_left(self.target - done, ' for the lesson')}")
        return f"{done} of {total} rated · {self._time_left(total - done)}"

    def _finished_title(self, total: int) -> str:
        """The card's title once the rater has answered every page of the plan (a study in
        rounds says that of the whole study instead)."""
        return f"<b>Finished</b>: all {total} queries rated. Thank you!"

    def _time_left(self, remaining: int, what: str = "") -> str:
        """"about 3 min left" (plus ``what``) at the rater's own median pace of late."""
        if remaining <= 0:
            return "done"
        if not self._durations:
            return "time left shown after your first rating"
        sec = float(np.median(self._durations[-10:])) * remaining
        left = f"about {sec / 60:.0f} min left" if sec >= 90 else f"about {max(sec, 1):.0f} s left"
        return left + what

    def _idle_reason(self) -> str:
        if not self.rater:
            return "Enter your rater id above to start."
        return "Finished: nothing left to rate." if self.finished else "No page to rate."
