"""Where a rater resumes a plan: the first query neither answered nor skipped, then the
skipped ones, least recently skipped first; None when all are done.

The store reads what the rater has done in one read transaction (:func:`rater_state`),
and :func:`resume_point` picks the query from it, in plan order or, for a
:meth:`~hd_widgets.ratings.plan.QueryPlan.per_rater` plan, in the rater's own order. So a
restarted kernel, or the same rater on another machine, picks up right after the last
committed rating, and a skipped page comes back only once all others are answered.
"""
from __future__ import annotations

from . import statements as S
from .plan import Query, QueryPlan

__all__ = ["rater_state", "resume_point"]


def rater_state(s: S.Session, plan: str, rater: str) -> tuple[set[int], dict[int, int]]:
    """(indices of the queries ``rater`` has an active answer to, query index -> id of
    the rater's latest skip of it), for one plan."""
    args = {"plan": plan, "rater": rater}
    return ({r[0] for r in s.rows(S.done_queries(), args)},
            dict(s.rows(S.skipped(), args)))


def resume_point(plan: QueryPlan, rater: str, done: set[int],
                 skipped: dict[int, int]) -> Query | None:
    """The query ``rater`` meets next, given :func:`rater_state`'s ``done`` and ``skipped``."""
    later: tuple[int, Query] | None = None
    for q in (plan.queries[i] for i in plan.order_for(rater)):
        if q.index in done:
            continue
        if q.index not in skipped:
            return q
        if later is None or skipped[q.index] < later[0]:
            later = (skipped[q.index], q)
    return None if later is None else later[1]
