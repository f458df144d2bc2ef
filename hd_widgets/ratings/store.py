"""The ratings store: every rating a person gives, kept safely in one SQLite file.

Ratings are the scarce thing here (a person's minutes), so the store is

- **durable**: a rating is committed (and fsynced) before :meth:`RatingsStore.rate`
  returns, so a kernel crash or restart loses nothing;
- **append-only**: nothing is ever updated or deleted (triggers refuse it). An undo is
  an *event* that points at the ratings it withdraws; "active" ratings are the ones no
  undo points at;
- **resumable**: :meth:`RatingsStore.next_query` picks up at the first query a rater has
  not answered yet (skipped queries come back after all others);
- **shared**: several raters in separate processes (a classroom) write to one file at
  once; each write is one ``BEGIN IMMEDIATE`` transaction, retried while the file is busy,
  and a kernel interrupt never leaves it open (``database.py``);
- **strict**: bad input raises :class:`RatingError` and leaves the file unchanged; so
  does a file that is not this store, or is corrupted.

The tables are described in ``schema.py``; exports (CSV, pandas, backup) in ``export.py``.
"""
from __future__ import annotations

from collections.abc import Sequence
import numbers
import os
from pathlib import Path
import threading
import time
from typing import Any
import uuid

import numpy as np

from .database import Database
from .export import (backup_file, check_target, dataframe, export_rows, table_columns,
                     write_csv)
from .filesystems import network_filesystem
from .plan import Query, QueryPlan
from .schema import (RATING_COLS, SCHEMA_VERSION, Rating, RatingError, plan_from_rows,
                     plan_rows, rater_id, refuse_duplicate, text, timeout as _timeout,
                     values as _values)

__all__ = ["RatingError", "Rating", "RatingsStore", "SCHEMA_VERSION"]


class RatingsStore:
    """An append-only SQLite store of ratings, safe for several raters at once.

    Parameters
    ----------
    path : str or PathLike
        The SQLite file; created (with its folder) if missing. An existing file must be a
        ratings store (or empty) and pass SQLite's quick integrity check.
    timeout : float
        Seconds (finite, >= 0) a write waits for other writers before giving up.
    session : str, optional
        Id recorded with every rating and event of this object; a fresh uuid by default,
        so each kernel run (each ``RatingsStore(...)``) is its own session.
    readonly : bool
        Open without writing anything, e.g. a store in a folder you may only read. Reads
        and exports work; :meth:`rate`, :meth:`skip`, :meth:`undo` and adding a new plan
        raise :class:`RatingError`.

    Notes
    -----
    Rater ids are normalised (surrounding white space stripped, Unicode NFC) by every
    method that takes one, so ``"ada"`` and ``"ada "`` are the same rater.

    **Backups.** While the store is in use, recent ratings live in ``<path>-wal`` as well
    as in ``<path>``; copying ``<path>`` alone silently loses them. Make copies with
    :meth:`backup`, which writes one self-contained, consistent file (SQLite's backup
    API) even while others are rating; open a copy with ``RatingsStore(copy_path)``.

    Examples
    --------
    >>> store = RatingsStore("ratings.sqlite")                       # doctest: +SKIP
    >>> store.add_plan(nes_plan(space.points, n_periphery=20, n_pairs=2))  # doctest: +SKIP
    >>> q = store.next_query("nes", "ada")                            # doctest: +SKIP
    >>> store.rate("nes", q.index, [0.8, 0.3], rater="ada")           # doctest: +SKIP
    >>> store.backup("ratings-monday.sqlite")                         # doctest: +SKIP
    """

    def __init__(self, path: str | os.PathLike, *, timeout: float = 30.0,
                 session: str | None = None, readonly: bool = False) -> None:
        self.path = Path(path).expanduser()
        self.timeout = _timeout(timeout)
        self.session = uuid.uuid4().hex if session is None else text(session, "session")
        self.readonly = bool(readonly)
        self._lock = threading.RLock()
        self._plans: dict[str, QueryPlan] = {}
        self._positions: dict[str, dict[int, int]] = {}   # plan -> Query.index -> position
        if not self.readonly:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fs = network_filesystem(self.path)
            if fs is not None:
                raise RatingError(f"{self.path} is on a network file system ({fs}); SQLite's "
                                  "write-ahead log is not safe there. Put the store on a local "
                                  "disk of the machine the notebooks run on (see the README's "
                                  "classroom section).")
        self._db = Database(self.path, timeout=self.timeout, readonly=self.readonly)
        self._file = Path(os.path.realpath(self.path))     # what exports must never overwrite

    def _transaction(self, fn, *, write: bool = True) -> Any:
        return self._db.transaction(fn, write=write)

    # ------------------------------------------------------------------ plans
    def add_plan(self, plan: QueryPlan) -> QueryPlan:
        """Store a plan (idempotent). Same name with different content -> RatingError.

        Returns
        -------
        QueryPlan
            The plan as stored; ``store.plan(name)`` returns an identical one later.
        """
        name, config, rows, digest, stored = plan_rows(plan)

        def insert(c) -> None:
            row = c.execute("SELECT fingerprint FROM plans WHERE name = ?", (name,)).fetchone()
            if row is not None:
                if row[0] != digest:
                    raise RatingError(f"a different plan named {name!r} is already stored; "
                                      "give this one a new name")
                return
            if self.readonly:
                raise RatingError(f"{self.path} was opened read-only (readonly=True): plan "
                                  f"{name!r} is not stored and cannot be added")
            c.execute("INSERT INTO plans VALUES (?, ?, ?, ?, ?, ?)",
                      (name, digest, config, plan.d, len(plan.queries), time.time()))
            c.executemany("INSERT INTO queries VALUES (?, ?, ?, ?, ?, ?)", rows)
        self._transaction(insert, write=not self.readonly)   # read-only: just check it
        return self._cache(stored)

    def plan(self, name: str) -> QueryPlan:
        """The stored plan called ``name`` (RatingError if there is none)."""
        name = text(name, "plan name")
        if name in self._plans:
            return self._plans[name]

        def load(c):
            head = c.execute("SELECT config, d FROM plans WHERE name = ?", (name,)).fetchone()
            rows = c.execute("SELECT idx, kinds, points, meta FROM queries WHERE plan = ? "
                             "ORDER BY position", (name,)).fetchall()
            return head, rows
        head, rows = self._transaction(load, write=False)
        if head is None:
            known = ", ".join(map(repr, self.plan_names())) or "none"
            raise RatingError(f"unknown plan {name!r} (stored plans: {known})")
        return self._cache(plan_from_rows(name, head[0], head[1], rows))

    def _cache(self, plan: QueryPlan) -> QueryPlan:
        with self._lock:
            self._plans.setdefault(plan.name, plan)
            self._positions.setdefault(
                plan.name, {q.index: pos for pos, q in enumerate(plan.queries)})
            return self._plans[plan.name]

    def plan_names(self) -> list[str]:
        """Names of the stored plans, in the order they were added."""
        return [r[0] for r in self._transaction(
            lambda c: c.execute("SELECT name FROM plans ORDER BY rowid").fetchall(), write=False)]

    def _query(self, plan: str, query: Any) -> Query:
        """Validated (plan, query index) -> the Query, before any transaction."""
        p = self.plan(plan)
        if isinstance(query, (bool, np.bool_)) or not isinstance(query, numbers.Integral):
            raise RatingError(f"query must be an int index, got {type(query).__name__} {query!r}")
        pos = self._positions[p.name].get(int(query))
        if pos is None:
            raise RatingError(f"plan {p.name!r} has no query {int(query)} "
                              f"({len(p.queries)} queries)")
        return p.queries[pos]

    def _writable(self, what: str) -> None:
        if self.readonly:
            raise RatingError(f"cannot {what}: {self.path} was opened read-only (readonly=True)")

    # ------------------------------------------------------------------ writing
    def rate(self, plan: str, query: int, values: Sequence[float], *, rater: str,
             session: str | None = None) -> list[int]:
        """Store one submission: one value in [0, 1] per clip of the query, all or nothing.

        The ratings are committed to disk before this returns. A rater may have one active
        submission per query; :meth:`undo` it to rate the query again.

        Returns
        -------
        list of int, length k
            The new rating ids, in clip order.
        """
        self._writable("rate")
        rater = rater_id(rater)
        session = self.session if session is None else text(session, "session")
        q = self._query(plan, query)
        vals = _values(values, q.k, f"plan {plan!r} query {q.index}")

        def insert(c) -> list[int]:
            refuse_duplicate(c, plan, q.index, rater)
            base = c.execute("SELECT COALESCE(MAX(id), 0) FROM ratings").fetchone()[0]
            now = time.time()
            ids = list(range(base + 1, base + 1 + q.k))
            c.executemany("INSERT INTO ratings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                          [(ids[j], ids[0], plan, q.index, j, q.kinds[j], vals[j], rater,
                            session, now) for j in range(q.k)])
            return ids
        return self._transaction(insert)

    def skip(self, plan: str, query: int, *, rater: str, session: str | None = None) -> None:
        """Record that ``rater`` skipped a query; it comes back after all unskipped ones."""
        self._writable("skip")
        rater = rater_id(rater)
        session = self.session if session is None else text(session, "session")
        q = self._query(plan, query)

        def insert(c) -> None:
            refuse_duplicate(c, plan, q.index, rater)
            c.execute("INSERT INTO events (kind, plan, query, rater, session, time) "
                      "VALUES ('skip', ?, ?, ?, ?, ?)", (plan, q.index, rater, session, time.time()))
        self._transaction(insert)

    def undo(self, *, rater: str, plan: str | None = None) -> list[Rating]:
        """Withdraw ``rater``'s last active submission (in ``plan``, if given).

        Nothing is deleted: an undo event is stored that points at the withdrawn ratings.

        Returns
        -------
        list of Rating
            The ratings withdrawn (one per clip of that query).
        """
        self._writable("undo")
        rater = rater_id(rater)
        if plan is not None:
            plan = self.plan(plan).name
        where, args = "rater = ?", [rater]
        if plan is not None:
            where, args = where + " AND plan = ?", args + [plan]

        def withdraw(c) -> list[Rating]:
            last = c.execute(f"SELECT submission FROM active_ratings WHERE {where} "
                             "ORDER BY id DESC LIMIT 1", args).fetchone()
            if last is None:
                scope = "" if plan is None else f" in plan {plan!r}"
                raise RatingError(f"nothing to undo: rater {rater!r} has no active ratings{scope}")
            rows = c.execute(f"SELECT {RATING_COLS} FROM active_ratings WHERE submission = ? "
                             "ORDER BY id", last).fetchall()
            event = c.execute("INSERT INTO events (kind, plan, query, rater, session, time) "
                              "VALUES ('undo', ?, ?, ?, ?, ?)",
                              (rows[0][1], rows[0][2], rater, self.session, time.time())).lastrowid
            c.executemany("INSERT INTO undone VALUES (?, ?)", [(r[0], event) for r in rows])
            return [Rating(*r) for r in rows]
        return self._transaction(withdraw)

    # ------------------------------------------------------------------ reading
    def next_query(self, plan: str, rater: str) -> Query | None:
        """Where ``rater`` resumes: the first query neither answered nor skipped (in plan
        order, or the rater's own order for a :meth:`QueryPlan.per_rater` plan); then
        skipped ones, least recently skipped first; None when all are done."""
        p, rater = self.plan(plan), rater_id(rater)

        def read(c):
            done = {r[0] for r in c.execute("SELECT DISTINCT query FROM active_ratings "
                                            "WHERE plan = ? AND rater = ?", (p.name, rater))}
            skipped = dict(c.execute("SELECT query, MAX(id) FROM events WHERE plan = ? AND "
                                     "rater = ? AND kind = 'skip' GROUP BY query", (p.name, rater)))
            return done, skipped
        done, skipped = self._transaction(read, write=False)
        later: tuple[int, Query] | None = None
        for q in (p.queries[i] for i in p.order_for(rater)):
            if q.index in done:
                continue
            if q.index not in skipped:
                return q
            if later is None or skipped[q.index] < later[0]:
                later = (skipped[q.index], q)
        return None if later is None else later[1]

    def progress(self, plan: str, rater: str | None = None) -> tuple[int, int]:
        """(queries answered, total queries); answered by ``rater``, or by anyone if None."""
        p = self.plan(plan)
        sql, args = "SELECT COUNT(DISTINCT query) FROM active_ratings WHERE plan = ?", [p.name]
        if rater is not None:
            sql, args = sql + " AND rater = ?", args + [rater_id(rater)]
        n = self._transaction(lambda c: c.execute(sql, args).fetchone()[0], write=False)
        return n, len(p.queries)

    def _select(self, cols: str, plan: str | None, rater: str | None) -> list[tuple]:
        clauses, args = [], []
        if plan is not None:
            clauses.append("plan = ?"); args.append(self.plan(plan).name)
        if rater is not None:
            clauses.append("rater = ?"); args.append(rater_id(rater))
        where = " WHERE " + " AND ".join(clauses) if clauses else ""
        return self._transaction(lambda c: c.execute(
            f"SELECT {cols} FROM active_ratings{where} ORDER BY id", args).fetchall(), write=False)

    def ratings(self, plan: str | None = None, *, rater: str | None = None) -> list[Rating]:
        """Active (not undone) ratings, in the order they were given."""
        return [Rating(*r) for r in self._select(RATING_COLS, plan, rater)]

    def raters(self, plan: str | None = None) -> list[str]:
        """Raters with at least one active rating, in order of their first rating."""
        return list(dict.fromkeys(r[0] for r in self._select("rater", plan, None)))

    def table(self, plan: str) -> dict[str, np.ndarray]:
        """Active ratings of one plan as columns, each of shape (n,).

        Keys: ``id``, ``query``, ``clip`` (int64), ``kind``, ``rater``, ``session`` (str),
        ``value``, ``time`` (float64), and ``x0`` .. ``x{d-1}`` (float64), the coordinates
        of each rated clip (so ``pandas.DataFrame(store.table(name))`` just works).
        """
        p = self.plan(plan)
        return table_columns(p, self._positions[p.name], self._select(RATING_COLS, p.name, None))

    # ------------------------------------------------------------------ export
    def _export_rows(self, plan: str | None) -> tuple[list[str], list[list]]:
        names = [self.plan(plan).name] if plan is not None else self.plan_names()
        plans = {n: (self.plan(n), self._positions[n]) for n in names}
        return export_rows(self._select(RATING_COLS, plan, None), plans)

    def to_csv(self, path: str | os.PathLike, plan: str | None = None) -> Path:
        """Write the active ratings (of one plan, or all) to a CSV file; returns its path.

        Columns: id, plan, query, clip, kind, value, rater, session, time, x0 .. x{d-1}.
        Floats are written with ``repr``, so they read back exactly. Text that a
        spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``, tab,
        CR) is written with a leading ``'``. The file is replaced atomically; writing onto
        the store's own files is refused (:class:`RatingError`).
        """
        target = check_target(path, self._file, "CSV export")
        header, rows = self._export_rows(plan)
        write_csv(target, header, rows)
        return Path(path).expanduser()

    def to_dataframe(self, plan: str | None = None):
        """The active ratings as a pandas DataFrame (same columns as :meth:`to_csv`, text
        exactly as stored)."""
        return dataframe(*self._export_rows(plan))

    def backup(self, path: str | os.PathLike) -> Path:
        """Copy the whole store (every plan, rating and event, undone ones too) into one
        self-contained SQLite file at ``path``; returns its path.

        The copy is consistent (a snapshot taken inside one read transaction, WAL content
        included) and safe while others are rating; it is checked, then renamed into
        place, so an existing file at ``path`` is only ever replaced by a complete copy.
        """
        target = check_target(path, self._file, "backup")
        backup_file(target, self._db.backup)
        return Path(path).expanduser()

    # ------------------------------------------------------------------ lifetime
    def close(self) -> None:
        """Close the connection (every rating is already on disk)."""
        self._db.close()

    def __enter__(self) -> RatingsStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        if self._db.closed:
            return f"RatingsStore({str(self.path)!r}, closed)"
        n = self._transaction(
            lambda c: c.execute("SELECT COUNT(*) FROM active_ratings").fetchone()[0], write=False)
        ro = ", readonly" if self.readonly else ""
        return f"RatingsStore({str(self.path)!r}, plans={self.plan_names()}, ratings={n}{ro})"
