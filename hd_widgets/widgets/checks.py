"""What a rating page checks before it shows anything: does the plan fit, is the rater id ok.

Both run before the store changes: :func:`check_plan` before a given plan is added to the
store (a plan the widget cannot show must not be left behind in a class's shared file),
and :func:`rater_problem` before a widget switches to a new rater id.
"""
from __future__ import annotations

from ..ratings.plan import QueryPlan
from ..ratings.store import RatingError, RatingsStore

__all__ = ["check_plan", "rater_problem"]


def check_plan(plan: QueryPlan, space, *, k_min: int, k_max: int | None, widget: str) -> int:
    """Refuse a plan ``widget`` cannot show on ``space``; return its clips per query, k.

    Parameters
    ----------
    plan : QueryPlan
    space : FeatureSpace, or any object with ``render_wav``; its ``d`` is checked if it has one.
    k_min, k_max : int
        Clips per query the widget can show (``k_max`` None: no upper limit).
    widget : str
        The widget's name, for the message.

    Raises
    ------
    ValueError
        Queries with different numbers of clips, too few or too many clips, or points of
        another dimension than ``space.d``.
    """
    if not isinstance(plan, QueryPlan):
        raise ValueError(f"{widget} needs a QueryPlan or a plan name, got {type(plan).__name__}")
    if not plan.queries:
        raise ValueError(f"{widget} cannot show plan {plan.name!r}: it has no queries")
    ks = sorted({q.k for q in plan})
    if len(ks) != 1:
        raise ValueError(f"{widget} cannot show plan {plan.name!r}: its queries have "
                         f"different numbers of clips ({ks}); every page needs the same k")
    k = ks[0]
    if k < k_min or (k_max is not None and k > k_max):
        span = f"{k_min} to {k_max}" if k_max is not None else f"at least {k_min}"
        raise ValueError(f"{widget} cannot show plan {plan.name!r}: its queries have {k} clips, "
                         f"this widget shows {span}")
    d = getattr(space, "d", None)
    if d is not None and plan.d != int(d):
        raise ValueError(f"{widget} cannot show plan {plan.name!r} on this space: its points have "
                         f"d = {plan.d} dimensions, the space has d = {int(d)}")
    return k


def rater_problem(store: RatingsStore, plan: str, rater: str) -> str | None:
    """Why ``rater`` (already stripped) cannot rate ``plan`` in ``store``; None if it can."""
    if not rater:
        return "it is empty"
    try:
        store.progress(plan, rater)          # the store's own id check, nothing written
    except RatingError as e:
        return str(e)
    return None
