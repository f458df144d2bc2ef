"""The plans a ratings store holds: each stored once under its name, read back once per
store object, and the way from a query's index to the query itself.

A stored plan never changes (:meth:`StoredPlans.add` refuses a different plan under a name
already taken), so a store object keeps every plan it has read and never asks the database
again: later calls and the threads of one kernel share that one copy (kept under a lock,
the first copy wins). Both transactions run through the store's backend (``database.py``
on a SQLite file, ``server.py`` on PostgreSQL) with the statements of ``statements.py``.
"""
from __future__ import annotations

import numbers
import threading
import time
from typing import Any, Callable

import numpy as np

from . import statements as S
from .inputs import plan_from_rows, plan_rows, text
from .plan import Query, QueryPlan
from .schema import RatingError

__all__ = ["StoredPlans"]


class StoredPlans:
    """The plans of one ratings store, read once and kept.

    Parameters
    ----------
    transaction : callable
        The store's ``transaction(fn, write=True)``: runs ``fn(session)`` in one
        transaction and returns its result.
    """

    def __init__(self, transaction: Callable[..., Any]) -> None:
        self._transaction = transaction
        self._lock = threading.RLock()
        self._plans: dict[str, QueryPlan] = {}
        self._positions: dict[str, dict[int, int]] = {}   # plan -> Query.index -> position

    def add(self, plan: QueryPlan, *, readonly: bool, where: str) -> QueryPlan:
        """Store ``plan`` (idempotent) and return it as stored; see ``RatingsStore.add_plan``.

        ``readonly``: only check that it is stored already (``where`` names the store in
        the refusal if it is not).
        """
        name, config, rows, digest, stored = plan_rows(plan)

        def insert(s) -> None:
            if not readonly:
                s.lock("plans")
            row = S.first(s, S.plan_fingerprint(), {"name": name})
            if row is not None:
                if row[0] != digest:
                    raise RatingError(f"a different plan named {name!r} is already stored; "
                                      "give this one a new name")
                return
            if readonly:
                raise RatingError(f"{where} was opened read-only (readonly=True): plan "
                                  f"{name!r} is not stored and cannot be added")
            s.run(S.insert("plans"), [dict(name=name, fingerprint=digest, config=config,
                                           d=plan.d, n_queries=len(plan.queries),
                                           time=time.time())])
            s.run(S.insert("queries"), [dict(zip(("plan", "position", "idx", "kinds", "points",
                                                  "meta"), r)) for r in rows])
        self._transaction(insert, write=not readonly)   # read-only: just check it
        return self._keep(stored)

    def get(self, name: str) -> QueryPlan:
        """The stored plan called ``name`` (RatingError if there is none)."""
        name = text(name, "plan name")
        if name in self._plans:
            return self._plans[name]

        def load(s):
            return (S.first(s, S.plan_head(), {"name": name}),
                    s.rows(S.plan_queries(), {"name": name}))
        head, rows = self._transaction(load, write=False)
        if head is None:
            known = ", ".join(map(repr, self.names())) or "none"
            raise RatingError(f"unknown plan {name!r} (stored plans: {known})")
        return self._keep(plan_from_rows(name, head[0], head[1], rows))

    def _keep(self, plan: QueryPlan) -> QueryPlan:
        with self._lock:
            self._plans.setdefault(plan.name, plan)
            self._positions.setdefault(
                plan.name, {q.index: pos for pos, q in enumerate(plan.queries)})
            return self._plans[plan.name]

    def names(self) -> list[str]:
        """Names of the stored plans, in the order they were added."""
        return [r[0] for r in self._transaction(lambda s: s.rows(S.plan_names()), write=False)]

    def positions(self, name: str) -> dict[int, int]:
        """Query index -> position in its plan, for a plan already read (:meth:`get`)."""
        return self._positions[name]

    def query(self, plan: str, query: Any) -> Query:
        """Validated (plan, query index) -> the Query, before any transaction."""
        p = self.get(plan)
        if isinstance(query, (bool, np.bool_)) or not isinstance(query, numbers.Integral):
            raise RatingError(f"query must be an int index, got {type(query).__name__} {query!r}")
        pos = self._positions[p.name].get(int(query))
        if pos is None:
            raise RatingError(f"plan {p.name!r} has no query {int(query)} "
                              f"({len(p.queries)} queries)")
        return p.queries[pos]
