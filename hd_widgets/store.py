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
  once; each write is one ``BEGIN IMMEDIATE`` transaction, retried while the file is busy;
- **strict**: bad input raises :class:`RatingError` and leaves the file unchanged.

Tables (inspect them with any SQLite tool; ``active_ratings`` is a view)::

    plans(name, fingerprint, config, d, n_queries, time)
    queries(plan, position, idx, kinds, points, meta)        -- JSON columns, exact floats
    ratings(id, submission, plan, query, clip, kind, value, rater, session, time)
    events(id, kind in {'skip','undo'}, plan, query, rater, session, time)
    undone(rating, event)                                     -- which ratings an undo withdrew
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
import csv
import hashlib
import json
import math
import numbers
import os
from pathlib import Path
import random
import sqlite3
import threading
import time
from typing import Any, Callable
import uuid

import numpy as np

from .filesystems import network_filesystem
from .plan import Query, QueryPlan

__all__ = ["RatingError", "Rating", "RatingsStore"]

SCHEMA_VERSION = 1
_TABLES = ("plans", "queries", "ratings", "events", "undone")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS plans (
    name TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, config TEXT NOT NULL,
    d INTEGER NOT NULL, n_queries INTEGER NOT NULL, time REAL NOT NULL);
CREATE TABLE IF NOT EXISTS queries (
    plan TEXT NOT NULL REFERENCES plans(name), position INTEGER NOT NULL,
    idx INTEGER NOT NULL, kinds TEXT NOT NULL, points TEXT NOT NULL, meta TEXT NOT NULL,
    PRIMARY KEY (plan, position), UNIQUE (plan, idx));
CREATE TABLE IF NOT EXISTS ratings (
    id INTEGER PRIMARY KEY, submission INTEGER NOT NULL,
    plan TEXT NOT NULL REFERENCES plans(name), query INTEGER NOT NULL,
    clip INTEGER NOT NULL, kind TEXT NOT NULL,
    value REAL NOT NULL CHECK (value >= 0.0 AND value <= 1.0),
    rater TEXT NOT NULL, session TEXT NOT NULL, time REAL NOT NULL);
CREATE INDEX IF NOT EXISTS ratings_by_rater ON ratings(plan, rater, query);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY, kind TEXT NOT NULL CHECK (kind IN ('skip', 'undo')),
    plan TEXT NOT NULL REFERENCES plans(name), query INTEGER NOT NULL,
    rater TEXT NOT NULL, session TEXT NOT NULL, time REAL NOT NULL);
CREATE INDEX IF NOT EXISTS events_by_rater ON events(plan, rater, kind);
CREATE TABLE IF NOT EXISTS undone (
    rating INTEGER PRIMARY KEY REFERENCES ratings(id),
    event INTEGER NOT NULL REFERENCES events(id));
CREATE VIEW IF NOT EXISTS active_ratings AS
    SELECT * FROM ratings r WHERE NOT EXISTS (SELECT 1 FROM undone u WHERE u.rating = r.id);
""" + "".join(
    f"CREATE TRIGGER IF NOT EXISTS {t}_no_{op} BEFORE {op.upper()} ON {t} "
    f"BEGIN SELECT RAISE(ABORT, 'the ratings store is append-only'); END;\n"
    for t in _TABLES for op in ("update", "delete"))
_RATING_COLS = "id, plan, query, clip, kind, value, rater, session, time"
_JITTER = random.Random()  # retry back-off only; never touches the global random state


class RatingError(ValueError):
    """Bad input to the ratings store; the store is unchanged."""


@dataclass(frozen=True)
class Rating:
    """One stored rating: the value one rater gave one clip of one query."""

    id: int
    plan: str
    query: int
    clip: int
    kind: str
    value: float
    rater: str
    session: str
    time: float


def _text(value: Any, what: str) -> str:
    """A non-empty str that SQLite stores and compares exactly."""
    if not isinstance(value, str) or not value.strip():
        raise RatingError(f"{what} must be a non-empty str, got {value!r}")
    if "\x00" in value:
        raise RatingError(f"{what} must not contain NUL characters, got {value!r}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise RatingError(f"{what} must be valid Unicode (no lone surrogates), got {value!r}") from None
    return value


def _values(values: Any, k: int, where: str) -> list[float]:
    """Check one submission: exactly ``k`` finite real numbers in [0, 1], as float64."""
    if isinstance(values, np.ndarray) or (not isinstance(values, (Sequence, str, bytes))
                                          and hasattr(values, "__array__")):
        arr = np.asarray(values)
        if arr.ndim != 1 or arr.dtype.kind not in "fiuO":
            raise RatingError(f"{where}: values must be a 1-D array of {k} numbers (one per "
                              f"clip), got an array of shape {arr.shape} and dtype {arr.dtype}")
        items = arr.tolist()
    elif isinstance(values, Sequence) and not isinstance(values, (str, bytes)):
        items = list(values)
    else:
        raise RatingError(f"{where}: values must be a sequence of {k} numbers in [0, 1] (one "
                          f"per clip), got {type(values).__name__} {values!r}")
    if len(items) != k:
        raise RatingError(f"{where}: expected {k} values (one per clip), got {len(items)}")
    out = []
    for i, v in enumerate(items):
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real):
            raise RatingError(f"{where}: value {i} must be a real number in [0, 1], "
                              f"got {type(v).__name__} {v!r}")
        f = float(v)
        if not (math.isfinite(f) and 0.0 <= f <= 1.0):
            raise RatingError(f"{where}: value {i} must be a finite number in [0, 1], got {f!r}")
        out.append(f + 0.0)  # -0.0 -> 0.0 (equal; SQLite would drop the sign anyway)
    return out


def _is_busy(exc: BaseException) -> bool:
    """SQLITE_BUSY / SQLITE_LOCKED: another connection holds the lock; worth retrying."""
    if not isinstance(exc, sqlite3.OperationalError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)  # Python >= 3.11
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    msg = str(exc).lower()
    return "locked" in msg or "busy" in msg


class RatingsStore:
    """An append-only SQLite store of ratings, safe for several raters at once.

    Parameters
    ----------
    path : str or PathLike
        The SQLite file; created (with its folder) if missing.
    timeout : float
        Seconds a write waits for other writers before giving up.
    session : str, optional
        Id recorded with every rating and event of this object; a fresh uuid by default,
        so each kernel run (each ``RatingsStore(...)``) is its own session.

    Examples
    --------
    >>> store = RatingsStore("ratings.sqlite")                       # doctest: +SKIP
    >>> store.add_plan(nes_plan(space.points, n_periphery=20, n_pairs=2))  # doctest: +SKIP
    >>> q = store.next_query("nes", "ada")                            # doctest: +SKIP
    >>> store.rate("nes", q.index, [0.8, 0.3], rater="ada")           # doctest: +SKIP
    """

    def __init__(self, path: str | os.PathLike, *, timeout: float = 30.0,
                 session: str | None = None) -> None:
        self.path = Path(path).expanduser()
        self.timeout = float(timeout)
        self.session = uuid.uuid4().hex if session is None else _text(session, "session")
        self._lock = threading.RLock()
        self._plans: dict[str, QueryPlan] = {}
        self._positions: dict[str, dict[int, int]] = {}   # plan -> Query.index -> position
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fs = network_filesystem(self.path)
        if fs is not None:
            raise RatingError(f"{self.path} is on a network file system ({fs}); SQLite's "
                              "write-ahead log is not safe there. Put the store on a local "
                              "disk of the machine the notebooks run on (see the README's "
                              "classroom section).")
        # isolation_level=None: we issue BEGIN IMMEDIATE / COMMIT ourselves.
        self._conn: sqlite3.Connection | None = sqlite3.connect(
            str(self.path), timeout=self.timeout, isolation_level=None, check_same_thread=False)
        try:
            self._open()
        except BaseException:
            self._conn.close()
            self._conn = None
            raise

    def _open(self) -> None:
        c = self._conn
        # WAL: readers never block the writer, and a commit is one append to the WAL file.
        # synchronous=FULL fsyncs the WAL on every commit. WAL + NORMAL would already survive
        # a killed process (the commit sits in the OS page cache when COMMIT returns), but a
        # power cut or kernel panic could lose the last ratings; FULL costs a few ms per
        # rating, nothing next to the seconds a person spends listening, so we pay it.
        mode = self._retry(lambda: c.execute("PRAGMA journal_mode=WAL").fetchone()[0])
        if mode != "wal" and str(self.path) != ":memory:":
            raise RatingError(f"{self.path}: SQLite could not switch to WAL mode (got {mode!r}); "
                              "is it on a network file system?")
        c.execute("PRAGMA synchronous=FULL")
        c.execute("PRAGMA foreign_keys=ON")

        def create(c: sqlite3.Connection) -> None:
            version = c.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise RatingError(f"{self.path} has schema version {version}; this hd_widgets "
                                  f"reads up to {SCHEMA_VERSION}, please upgrade")
            if version < SCHEMA_VERSION:
                for statement in _statements():
                    c.execute(statement)
                c.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        self._transaction(create)

    # ------------------------------------------------------------------ transactions
    def _retry(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` again (with jittered back-off) while SQLite reports BUSY/LOCKED."""
        deadline = time.monotonic() + self.timeout
        delay = 0.002
        while True:
            try:
                return fn()
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or time.monotonic() > deadline:
                    raise
            time.sleep(delay * (0.5 + _JITTER.random()))
            delay = min(2 * delay, 0.1)

    def _transaction(self, fn: Callable[[sqlite3.Connection], Any], *,
                     write: bool = True) -> Any:
        """Run ``fn(conn)`` in one transaction: BEGIN IMMEDIATE for writes (the write lock
        is taken up front, so checks and inserts see the same state), a deferred BEGIN
        (one consistent snapshot) for reads. Any exception rolls everything back."""
        conn = self._connection()

        def attempt() -> Any:
            with self._lock:
                conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                try:
                    result = fn(conn)
                    conn.execute("COMMIT")
                    return result
                finally:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
        return self._retry(attempt)

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise ValueError(f"{self!r} is closed")
        return self._conn

    # ------------------------------------------------------------------ plans
    def add_plan(self, plan: QueryPlan) -> QueryPlan:
        """Store a plan (idempotent). Same name with different content -> RatingError.

        Returns
        -------
        QueryPlan
            The plan as stored; ``store.plan(name)`` returns an identical one later.
        """
        if not isinstance(plan, QueryPlan):
            raise RatingError(f"add_plan expects a QueryPlan, got {type(plan).__name__}")
        name = _text(plan.name, "plan name")
        if not plan.queries:
            raise RatingError(f"plan {name!r} has no queries")
        if len({int(q.index) for q in plan.queries}) != len(plan.queries):
            raise RatingError(f"plan {name!r}: query indices must be unique")
        if len({q.points.shape[1] for q in plan.queries}) != 1:
            raise RatingError(f"plan {name!r}: all queries must share one dimension d")
        try:
            config = json.dumps(plan.config)
            rows = [(name, pos, int(q.index), json.dumps(list(q.kinds)),
                     json.dumps(q.points.tolist()), json.dumps(q.meta))
                    for pos, q in enumerate(plan.queries)]
        except (TypeError, ValueError) as exc:
            raise RatingError(f"plan {name!r}: config and meta must be plain JSON "
                              f"(str keys, int/float/str/bool/None, lists): {exc}") from None
        if not all(map(_plain_json, [plan.config] + [q.meta for q in plan.queries])):
            raise RatingError(f"plan {name!r}: config and meta must be plain JSON so they read "
                              "back unchanged (dicts with str keys, lists not tuples)")
        fingerprint = plan.fingerprint()
        stored = _plan_from_rows(name, config, plan.d, [r[2:] for r in rows])
        assert stored.fingerprint() == fingerprint, "plan changed on its way through JSON"
        digest = hashlib.sha256(fingerprint.encode()).hexdigest()

        def insert(c: sqlite3.Connection) -> None:
            row = c.execute("SELECT fingerprint FROM plans WHERE name = ?", (name,)).fetchone()
            if row is not None:
                if row[0] != digest:
                    raise RatingError(f"a different plan named {name!r} is already stored; "
                                      "give this one a new name")
                return
            c.execute("INSERT INTO plans VALUES (?, ?, ?, ?, ?, ?)",
                      (name, digest, config, plan.d, len(plan.queries), time.time()))
            c.executemany("INSERT INTO queries VALUES (?, ?, ?, ?, ?, ?)", rows)
        self._transaction(insert)
        return self._cache(stored)

    def plan(self, name: str) -> QueryPlan:
        """The stored plan called ``name`` (RatingError if there is none)."""
        name = _text(name, "plan name")
        if name in self._plans:
            return self._plans[name]

        def load(c: sqlite3.Connection):
            head = c.execute("SELECT config, d FROM plans WHERE name = ?", (name,)).fetchone()
            rows = c.execute("SELECT idx, kinds, points, meta FROM queries WHERE plan = ? "
                             "ORDER BY position", (name,)).fetchall()
            return head, rows
        head, rows = self._transaction(load, write=False)
        if head is None:
            known = ", ".join(map(repr, self.plan_names())) or "none"
            raise RatingError(f"unknown plan {name!r} (stored plans: {known})")
        return self._cache(_plan_from_rows(name, head[0], head[1], rows))

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
        rater = _text(rater, "rater")
        session = self.session if session is None else _text(session, "session")
        q = self._query(plan, query)
        vals = _values(values, q.k, f"plan {plan!r} query {q.index}")

        def insert(c: sqlite3.Connection) -> list[int]:
            self._refuse_duplicate(c, plan, q.index, rater)
            base = c.execute("SELECT COALESCE(MAX(id), 0) FROM ratings").fetchone()[0]
            now = time.time()
            ids = list(range(base + 1, base + 1 + q.k))
            c.executemany("INSERT INTO ratings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                          [(ids[j], ids[0], plan, q.index, j, q.kinds[j], vals[j], rater,
                            session, now) for j in range(q.k)])
            return ids
        return self._transaction(insert)

    @staticmethod
    def _refuse_duplicate(c: sqlite3.Connection, plan: str, query: int, rater: str) -> None:
        if c.execute("SELECT 1 FROM active_ratings WHERE plan = ? AND rater = ? AND query = ? "
                     "LIMIT 1", (plan, rater, query)).fetchone():
            raise RatingError(f"rater {rater!r} already answered plan {plan!r} query {query}; "
                              "undo that submission first to rate it again")

    def skip(self, plan: str, query: int, *, rater: str, session: str | None = None) -> None:
        """Record that ``rater`` skipped a query; it comes back after all unskipped ones."""
        rater = _text(rater, "rater")
        session = self.session if session is None else _text(session, "session")
        q = self._query(plan, query)

        def insert(c: sqlite3.Connection) -> None:
            self._refuse_duplicate(c, plan, q.index, rater)
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
        rater = _text(rater, "rater")
        if plan is not None:
            plan = self.plan(plan).name
        where, args = "rater = ?", [rater]
        if plan is not None:
            where, args = where + " AND plan = ?", args + [plan]

        def withdraw(c: sqlite3.Connection) -> list[Rating]:
            last = c.execute(f"SELECT submission FROM active_ratings WHERE {where} "
                             "ORDER BY id DESC LIMIT 1", args).fetchone()
            if last is None:
                scope = "" if plan is None else f" in plan {plan!r}"
                raise RatingError(f"nothing to undo: rater {rater!r} has no active ratings{scope}")
            rows = c.execute(f"SELECT {_RATING_COLS} FROM active_ratings WHERE submission = ? "
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
        p, rater = self.plan(plan), _text(rater, "rater")

        def read(c: sqlite3.Connection):
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
            sql, args = sql + " AND rater = ?", args + [_text(rater, "rater")]
        n = self._transaction(lambda c: c.execute(sql, args).fetchone()[0], write=False)
        return n, len(p.queries)

    def _select(self, cols: str, plan: str | None, rater: str | None) -> list[tuple]:
        clauses, args = [], []
        if plan is not None:
            clauses.append("plan = ?"); args.append(self.plan(plan).name)
        if rater is not None:
            clauses.append("rater = ?"); args.append(_text(rater, "rater"))
        where = " WHERE " + " AND ".join(clauses) if clauses else ""
        return self._transaction(lambda c: c.execute(
            f"SELECT {cols} FROM active_ratings{where} ORDER BY id", args).fetchall(), write=False)

    def ratings(self, plan: str | None = None, *, rater: str | None = None) -> list[Rating]:
        """Active (not undone) ratings, in the order they were given."""
        return [Rating(*r) for r in self._select(_RATING_COLS, plan, rater)]

    def raters(self, plan: str | None = None) -> list[str]:
        """Raters with at least one active rating, in order of their first rating."""
        seen = dict.fromkeys(r[0] for r in self._select("rater", plan, None))
        return list(seen)

    def table(self, plan: str) -> dict[str, np.ndarray]:
        """Active ratings of one plan as columns, each of shape (n,).

        Keys: ``id``, ``query``, ``clip`` (int64), ``kind``, ``rater``, ``session`` (str),
        ``value``, ``time`` (float64), and ``x0`` .. ``x{d-1}`` (float64), the coordinates
        of each rated clip (so ``pandas.DataFrame(store.table(name))`` just works).
        """
        p = self.plan(plan)
        rows = self._select(_RATING_COLS, p.name, None)
        cols = list(zip(*rows)) if rows else [()] * 9
        out = {"id": np.array(cols[0], dtype=np.int64), "query": np.array(cols[2], dtype=np.int64),
               "clip": np.array(cols[3], dtype=np.int64), "kind": np.array(cols[4], dtype=str),
               "value": np.array(cols[5], dtype=np.float64), "rater": np.array(cols[6], dtype=str),
               "session": np.array(cols[7], dtype=str), "time": np.array(cols[8], dtype=np.float64)}
        pos = self._positions[p.name]
        points = np.array([p.queries[pos[r[2]]].points[r[3]] for r in rows],
                          dtype=np.float64).reshape(len(rows), p.d)        # (n, d)
        out.update({f"x{i}": points[:, i].copy() for i in range(p.d)})
        return out

    # ------------------------------------------------------------------ export
    def _export_rows(self, plan: str | None) -> tuple[list[str], list[list]]:
        names = [self.plan(plan).name] if plan is not None else self.plan_names()
        d = max((self.plan(n).d for n in names), default=0)
        header = _RATING_COLS.split(", ") + [f"x{i}" for i in range(d)]
        rows = []
        for r in self._select(_RATING_COLS, plan, None):
            p = self.plan(r[1])
            x = p.queries[self._positions[p.name][r[2]]].points[r[3]].tolist()
            rows.append(list(r) + x + [None] * (d - len(x)))
        return header, rows

    def to_csv(self, path: str | os.PathLike, plan: str | None = None) -> Path:
        """Write the active ratings (of one plan, or all) to a CSV file; returns its path.

        Columns: id, plan, query, clip, kind, value, rater, session, time, x0 .. x{d-1}.
        Floats are written with ``repr``, so they read back exactly.
        """
        header, rows = self._export_rows(plan)
        path = Path(path).expanduser()
        with open(path, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(header)
            writer.writerows([["" if v is None else v for v in row] for row in rows])
        return path

    def to_dataframe(self, plan: str | None = None):
        """The active ratings as a pandas DataFrame (same columns as :meth:`to_csv`)."""
        try:
            import pandas as pd
        except ImportError as exc:
            raise ImportError("RatingsStore.to_dataframe needs pandas (pip install pandas); "
                              "to_csv() and table() work without it") from exc
        header, rows = self._export_rows(plan)
        df = pd.DataFrame(rows, columns=header)
        return df.astype({"id": "int64", "query": "int64", "clip": "int64",
                          "value": "float64", "time": "float64"})

    # ------------------------------------------------------------------ lifetime
    def close(self) -> None:
        """Close the connection (every rating is already on disk)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> RatingsStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        if self._conn is None:
            return f"RatingsStore({str(self.path)!r}, closed)"
        n = self._transaction(
            lambda c: c.execute("SELECT COUNT(*) FROM active_ratings").fetchone()[0], write=False)
        return f"RatingsStore({str(self.path)!r}, plans={self.plan_names()}, ratings={n})"


def _statements() -> list[str]:
    """The schema as single statements (``executescript`` would COMMIT our transaction)."""
    out, buf = [], ""
    for line in _SCHEMA.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            out.append(buf.strip()); buf = ""
    return out


def _plain_json(obj: Any) -> bool:
    """True if ``obj`` survives ``json.loads(json.dumps(obj))`` as an equal object."""
    if isinstance(obj, dict):
        return all(isinstance(k, str) and _plain_json(v) for k, v in obj.items())
    if isinstance(obj, list):
        return all(map(_plain_json, obj))
    return obj is None or type(obj) in (str, int, float, bool)


def _plan_from_rows(name: str, config: str, d: int, rows: list[tuple]) -> QueryPlan:
    """Rebuild a QueryPlan from its stored JSON columns (idx, kinds, points, meta)."""
    queries = tuple(Query(idx, np.array(json.loads(points), dtype=np.float64).reshape(-1, d),
                          tuple(json.loads(kinds)), json.loads(meta))
                    for idx, kinds, points, meta in rows)
    return QueryPlan(name, queries, json.loads(config))
