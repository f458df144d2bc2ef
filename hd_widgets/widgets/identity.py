"""Who rates on a rating page: the rater id, checked and resumed, from the box or from code.

The rater id is a trait; every change (typed into the card's "Rater id" box or set from
code) takes one path: it is stripped, checked by the store
(:func:`~hd_widgets.widgets.checks.rater_problem`) and resumes that rater's next page; an
empty or refused id is refused with a message and the old one kept. A page this rater
answered elsewhere (another tab, widget or kernel) moves on when Submit or Skip is refused
(:class:`~hd_widgets.widgets.paging.PlanPaging`); what Undo may take back is
:class:`~hd_widgets.widgets.ownership.OwnSubmissions`.
"""
from __future__ import annotations

from traitlets import HasTraits, TraitError, Unicode, observe, validate

from .checks import rater_problem

__all__ = ["RaterIdentity"]


class RaterIdentity(HasTraits):
    """The identity part of the rating page: the ``rater`` trait and its one path.

    Part of :class:`~hd_widgets.widgets.rating.RatingWidget`, whose ``store``, ``plan``,
    rater box (``_rater_box``), status line (``_say``) and ``_start`` it uses, and of
    :class:`~hd_widgets.widgets.evaluation.EvaluationWidget` (the ``rater`` trait and its
    check; no box, its own ``_start``).
    """

    rater = Unicode("", help="Rater id; ratings are stored under it. Set from code or a "
                    "Rater id box alike: spaces are stripped, the store checks the id, and the "
                    "widget resumes that rater's next page; an empty or refused id raises "
                    "TraitError (the status line says why) and the old id stays.")

    @validate("rater")
    def _valid_rater(self, proposal: dict) -> str:
        """The one path every rater change takes (box or code): strip, refuse, or accept."""
        rater = proposal["value"].strip()
        why = rater_problem(self.store, self.plan.name, rater)
        if why is not None:
            keep = f"still rating as {self.rater!r}" if self.rater else "enter another one"
            message = f"Rater id refused: {why}; {keep}."
            self._say(message, "error")
            if getattr(self, "_rater_box", None) is not None:
                self._rater_box.value = self.rater
            raise TraitError(message)
        return rater

    @observe("rater")
    def _rater_changed(self, change: dict) -> None:
        self._start(change["new"])

    def _on_rater(self, change: dict) -> None:
        try:
            self.rater = change["new"]            # validated and resumed like code's w.rater = ...
        except TraitError:
            return                                # refused: the status line says why
        if self._rater_box.value != self.rater:
            self._rater_box.value = self.rater    # shown stripped
