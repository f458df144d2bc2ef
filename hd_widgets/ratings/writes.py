"""A rater's writes to the ratings store (rate, skip, undo), each the body of one
transaction, written once for both backends.

Each function is handed an open :class:`~hd_widgets.ratings.statements.Session` (a SQLite
file's or a PostgreSQL server's transaction) and values already checked (``inputs.py``),
and runs the store's Core statements (``statements.py``). The rules they keep:

- a write first takes its rater's lock (:meth:`Session.lock`), so the checks it makes and
  the rows it inserts see the same state;
- a rater has at most one active submission per query (:func:`refuse_duplicate`); an undo
  deletes nothing, it is an event pointing at the ratings it withdraws;
- a submission id is stored once: sent again with the same rating, :func:`submit` returns
  the ids stored the first time (:func:`replayed`), so it may run again after a lost
  connection.

Any exception rolls the whole transaction back: a refused write stores nothing.
"""
from __future__ import annotations

import time

from . import statements as S
from .plan import Query
from .schema import Rating, RatingError

__all__ = ["submit", "skip", "withdraw_last", "refuse_duplicate", "replayed"]


def submit(s: S.Session, plan: str, q: Query, vals: list[float], *, rater: str,
           session: str, key: str) -> list[int]:
    """Store one submission, ``vals`` (one per clip of ``q``), under submission id ``key``.

    Returns the new rating ids in clip order (or, for ``key`` seen before with the same
    rating, the ids stored then).
    """
    s.lock(f"rater:{rater}")
    stored = s.rows(S.submission_of(), {"id": key})
    if stored:
        return replayed(stored, key, plan, q.index, rater, vals)
    refuse_duplicate(s, plan, q.index, rater)
    ids, now = s.rating_ids(q.k), time.time()
    s.run(S.insert("ratings"), [dict(id=ids[j], submission=ids[0], plan=plan,
                                     query=q.index, clip=j, kind=q.kinds[j],
                                     value=vals[j], rater=rater, session=session,
                                     time=now) for j in range(q.k)])
    if not s.rows(S.record_submission(s.dialect), {"id": key, "rating": ids[0]}):
        raise RatingError(f"submission id {key!r} is already in use by another "
                          "submission; nothing was stored")
    return ids


def skip(s: S.Session, plan: str, query: int, *, rater: str, session: str) -> None:
    """Store a skip event: ``rater`` passed over ``query``, unanswered."""
    s.lock(f"rater:{rater}")
    refuse_duplicate(s, plan, query, rater)
    s.rows(S.insert_event(), dict(kind="skip", plan=plan, query=query, rater=rater,
                                  session=session, time=time.time()))


def withdraw_last(s: S.Session, *, rater: str, plan: str | None,
                  session: str) -> list[Rating]:
    """Store an undo event withdrawing ``rater``'s last active submission (in ``plan``, if
    not None); returns the ratings withdrawn (RatingError if there are none)."""
    s.lock(f"rater:{rater}")
    last = S.first(s, S.last_submission(plan is not None), {"rater": rater, "plan": plan})
    if last is None:
        scope = "" if plan is None else f" in plan {plan!r}"
        raise RatingError(f"nothing to undo: rater {rater!r} has no active ratings{scope}")
    rows = s.rows(S.submission_rows(), {"submission": last[0]})
    event = s.rows(S.insert_event(), dict(kind="undo", plan=rows[0][1], query=rows[0][2],
                                          rater=rater, session=session,
                                          time=time.time()))[0][0]
    s.run(S.insert("undone"), [dict(rating=r[0], event=event) for r in rows])
    return [Rating(*r) for r in rows]


def refuse_duplicate(s: S.Session, plan: str, query: int, rater: str) -> None:
    """RatingError if ``rater`` has an active submission (or must undo one) for ``query``."""
    if S.first(s, S.answered(), {"plan": plan, "rater": rater, "query": query}):
        raise RatingError(f"rater {rater!r} already answered plan {plan!r} query {query}; "
                          "undo that submission first to rate it again")


def replayed(stored: list[tuple], key: str, plan: str, query: int, rater: str,
             vals: list[float]) -> list[int]:
    """A submission id seen before: its ids if it is the same rating, else RatingError."""
    same = ([(r[1], r[2], r[3]) for r in stored] == [(plan, query, rater)] * len(stored)
            and [r[4] for r in stored] == vals)
    if not same:
        raise RatingError(f"submission id {key!r} was already used for another rating "
                          f"(plan {stored[0][1]!r} query {stored[0][2]}, rater {stored[0][3]!r}); "
                          "nothing was stored")
    return [r[0] for r in stored]
