"""Every statement the ratings store runs, once, as SQLAlchemy Core, for both backends.

:class:`~hd_widgets.ratings.store.RatingsStore` holds the logic (plans, rate, skip, undo,
resume, progress, exports; with ``stored_plans.py``, ``writes.py`` and ``resume.py``) and
speaks only to a :class:`Session`: one open transaction on either backend, which runs
these statements. The SQLite session (``database.py``) compiles each one once for SQLite
and runs it on its own ``sqlite3`` connection; the PostgreSQL session (``server.py``) runs
it through a SQLAlchemy connection. Where the databases differ, the session says how
(:meth:`Session.lock`, :meth:`Session.rating_ids`, and :func:`insert_ignoring` for an
idempotent insert).

Builders are cached (one statement object per shape), so the SQLite session compiles
each shape once; values travel as bound parameters, never as SQL text.
"""
from __future__ import annotations

from functools import cache
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from .schema import (RATING_COLS, TABLES, active, events, plans, queries, ratings, submissions,
                     undone)

__all__ = ["Session", "RATING_COLUMNS", "insert_ignoring", "plan_fingerprint", "plan_head",
           "plan_queries", "plan_names", "answered", "skipped", "done_queries", "count_done",
           "active_rows", "last_submission", "submission_rows", "submission_of", "max_rating_id",
           "insert", "insert_event", "record_submission", "count_active", "first", "dump",
           "DUMP_COLUMNS"]

RATING_COLUMNS = tuple(RATING_COLS.split(", "))
P = sa.bindparam


class Session(Protocol):
    """One open transaction on a backend (what a store's transaction function receives)."""

    dialect: str                                   # "sqlite" or "postgresql"

    def rows(self, stmt: Any, params: dict | None = None) -> list[tuple]:
        """Run a statement that returns rows (SELECT, or INSERT ... RETURNING)."""

    def run(self, stmt: Any, params: dict | list[dict] | None = None) -> None:
        """Run a statement; a list of dicts runs it once per dict (executemany)."""

    def lock(self, key: str) -> None:
        """Serialise writers that share ``key`` until this transaction ends."""

    def rating_ids(self, k: int) -> list[int]:
        """``k`` fresh rating ids for one submission."""


def first(session: Session, stmt: Any, params: dict | None = None) -> tuple | None:
    rows = session.rows(stmt, params)
    return rows[0] if rows else None


def insert_ignoring(dialect: str, table: sa.Table, returning: sa.Column):
    """INSERT ... ON CONFLICT (primary key) DO NOTHING RETURNING ``returning``: the rows
    returned are the ones this statement stored (none if the key was there already)."""
    return _insert_ignoring(dialect, table.name, returning.name)


@cache
def _insert_ignoring(dialect: str, table: str, col: str):
    t = {"submissions": submissions}[table]
    make = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}[dialect]
    keys = [c.name for c in t.primary_key.columns]
    return make(t).on_conflict_do_nothing(index_elements=keys).returning(t.c[col])


# ---------------------------------------------------------------------------- plans
@cache
def plan_fingerprint():
    return sa.select(plans.c.fingerprint).where(plans.c.name == P("name"))


@cache
def plan_head():
    return sa.select(plans.c.config, plans.c.d).where(plans.c.name == P("name"))


@cache
def plan_queries():
    return (sa.select(queries.c.idx, queries.c.kinds, queries.c.points, queries.c.meta)
            .where(queries.c.plan == P("name")).order_by(queries.c.position))


@cache
def plan_names():
    return sa.select(plans.c.name).order_by(plans.c.rowid)


# ---------------------------------------------------------------------------- reading ratings
@cache
def answered():
    """One row if ``rater`` has an active answer to ``query`` of ``plan``."""
    return (sa.select(sa.literal(1)).select_from(active)
            .where(active.c.plan == P("plan"), active.c.rater == P("rater"),
                   active.c.query == P("query")).limit(1))


@cache
def done_queries():
    return (sa.select(active.c.query).distinct()
            .where(active.c.plan == P("plan"), active.c.rater == P("rater")))


@cache
def skipped():
    """(query, id of its latest skip) for one rater in one plan."""
    return (sa.select(events.c.query, sa.func.max(events.c.id))
            .where(events.c.plan == P("plan"), events.c.rater == P("rater"),
                   events.c.kind == "skip").group_by(events.c.query))


@cache
def count_done(by_rater: bool):
    stmt = (sa.select(sa.func.count(sa.distinct(active.c.query)))
            .where(active.c.plan == P("plan")))
    return stmt.where(active.c.rater == P("rater")) if by_rater else stmt


@cache
def count_active():
    return sa.select(sa.func.count()).select_from(active)


@cache
def active_rows(cols: tuple[str, ...], by_plan: bool, by_rater: bool):
    stmt = sa.select(*[active.c[c] for c in cols])
    if by_plan:
        stmt = stmt.where(active.c.plan == P("plan"))
    if by_rater:
        stmt = stmt.where(active.c.rater == P("rater"))
    return stmt.order_by(active.c.id)


@cache
def last_submission(by_plan: bool):
    stmt = sa.select(active.c.submission).where(active.c.rater == P("rater"))
    if by_plan:
        stmt = stmt.where(active.c.plan == P("plan"))
    return stmt.order_by(active.c.id.desc()).limit(1)


@cache
def submission_rows():
    """The active rating rows (``RATING_COLUMNS``) of one submission, in clip order."""
    return (sa.select(*[active.c[c] for c in RATING_COLUMNS])
            .where(active.c.submission == P("submission")).order_by(active.c.id))


@cache
def submission_of():
    """The ratings a submission id stored (any, undone ones too), in clip order."""
    return (sa.select(ratings.c.id, ratings.c.plan, ratings.c.query, ratings.c.rater,
                      ratings.c.value)
            .join(submissions, submissions.c.rating == ratings.c.submission)
            .where(submissions.c.id == P("id")).order_by(ratings.c.clip))


@cache
def max_rating_id():
    return sa.select(sa.func.coalesce(sa.func.max(ratings.c.id), 0))


# ---------------------------------------------------------------------------- writing
@cache
def insert(table: str):
    """A plain INSERT into ``table``, run with one dict per row (keys: column names)."""
    return sa.insert({"plans": plans, "queries": queries, "ratings": ratings,
                      "undone": undone}[table])


@cache
def insert_event():
    return sa.insert(events).returning(events.c.id)


def record_submission(dialect: str):
    return insert_ignoring(dialect, submissions, submissions.c.id)


# ---------------------------------------------------------------------------- copying
_TABLE = dict(zip(TABLES, (plans, queries, ratings, events, undone, submissions)))
DUMP_COLUMNS = {t: tuple(c.name for c in table.columns if c.name != "rowid")
                for t, table in _TABLE.items()}


@cache
def dump(table: str):
    """Every row of ``table`` (columns ``DUMP_COLUMNS[table]``), in insertion order."""
    t = _TABLE[table]
    order = t.c.rowid if table == "plans" else list(t.primary_key.columns)
    return sa.select(*[t.c[c] for c in DUMP_COLUMNS[table]]).order_by(
        *(order if isinstance(order, list) else [order]))
