"""The ratings store: every rating a person gives, kept safely in a SQLite file or on a
PostgreSQL server.

Ratings are the scarce thing here (a person's minutes), so the store is

- **durable**: a rating is committed (fsynced, on SQLite; by the server, on PostgreSQL)
  before :meth:`RatingsStore.rate` returns, so a kernel crash or restart loses nothing;
- **append-only**: nothing is ever updated or deleted (triggers refuse it, for every
  client). An undo is an *event* that points at the ratings it withdraws; "active"
  ratings are the ones no undo points at;
- **resumable**: :meth:`RatingsStore.next_query` picks up at the first query a rater has
  not answered yet (skipped queries come back after all others);
- **idempotent**: a submission carries an id (``rate(..., submission=...)``); sending it
  again, after a lost connection, returns the ratings already stored instead of storing
  them twice;
- **shared**: several raters in separate processes (a classroom) write at once; on a
  SQLite file each write is one ``BEGIN IMMEDIATE`` transaction, retried while the file is
  busy, and a kernel interrupt never leaves it open (``database.py``); on PostgreSQL,
  writers are serialised per rater by an advisory lock (``server.py``);
- **strict**: bad input raises :class:`RatingError` and leaves the store unchanged; so
  does a file or database that is not this store, is corrupted, or has an unknown schema.

All the logic (plans, rate, skip, undo, resume, progress, exports) is written once,
against a session that runs the Core statements of ``statements.py`` on either backend;
this class checks every argument first (``inputs.py``), then runs one transaction. The
plans a store holds are kept by ``stored_plans.py``, a rater's writes are ``writes.py``,
where a rater resumes is ``resume.py``; the tables are described in ``schema.py``, exports
(CSV, pandas, backup) in ``export.py``.
"""
from __future__ import annotations

from collections.abc import Sequence
import os
from pathlib import Path
from typing import Any
import uuid

import numpy as np

from . import statements as S
from . import writes
from .database import Database
from .export import (backup_file, check_target, dataframe, export_rows, fill_sqlite,
                     table_columns, write_csv)
from .filesystems import network_filesystem
from .inputs import rater_id, submission_id, text, timeout as _timeout, values as _values
from .locations import STORE_ENV, locate, masked
from .plan import Query, QueryPlan
from .resume import rater_state, resume_point
from .schema import SCHEMA_VERSION, TABLES, Rating, RatingError, StoreUnreachable
from .stored_plans import StoredPlans
from .writes import refuse_duplicate  # noqa: F401 - importable from here, as it was

__all__ = ["RatingError", "Rating", "RatingsStore", "StoreUnreachable", "SCHEMA_VERSION"]


class RatingsStore:
    """An append-only store of ratings, safe for several raters at once: a SQLite file or
    a PostgreSQL server, behind one API.

    Parameters
    ----------
    path : str, PathLike or database URL
        A SQLite file (created, with its folder, if missing; an existing file must be a
        ratings store, or empty, and pass SQLite's quick integrity check), also written
        ``sqlite:///path``; or a PostgreSQL URL, ``postgresql+psycopg://user:pw@host/db``
        (needs ``pip install 'hd_widgets[postgres]'``; an empty database gets the store's
        tables, one with other tables is refused). See docs/classroom_at_scale.md.
    timeout : float
        Seconds (finite, >= 0) a write waits for other writers before giving up.
    session : str, optional
        Id recorded with every rating and event of this object; a fresh uuid by default,
        so each kernel run (each ``RatingsStore(...)``) is its own session.
    readonly : bool
        Open without writing anything, e.g. a store in a folder you may only read. Reads
        and exports work; :meth:`rate`, :meth:`skip`, :meth:`undo` and adding a new plan
        raise :class:`RatingError`.

    Attributes
    ----------
    path : Path or None
        The SQLite file (None on a server).
    url : str or None
        The server's URL with its password masked (None for a file).
    backend : str
        ``"sqlite"`` or ``"postgresql"``.

    Notes
    -----
    Rater ids are normalised (surrounding white space stripped, Unicode NFC) by every
    method that takes one, so ``"ada"`` and ``"ada "`` are the same rater.

    **Backups.** While a SQLite store is in use, recent ratings live in ``<path>-wal`` as
    well as in ``<path>``; copying ``<path>`` alone silently loses them. Make copies with
    :meth:`backup`, which writes one self-contained, consistent SQLite file (SQLite's backup
    API; one snapshot of the server's tables) even while others are rating; open a copy
    with ``RatingsStore(copy_path)``.

    Examples
    --------
    A file of one's own, or the class's (``from_env``: the store HD_WIDGETS_STORE names, if
    it is set, else the file):

    >>> store = RatingsStore("ratings.sqlite")                       # doctest: +SKIP
    >>> store = RatingsStore.from_env("ratings.sqlite")              # doctest: +SKIP
    >>> store.add_plan(nes_plan(space.points, n_periphery=20, n_pairs=2))  # doctest: +SKIP
    >>> q = store.next_query("nes", "ada")                            # doctest: +SKIP
    >>> store.rate("nes", q.index, [0.8, 0.3], rater="ada")           # doctest: +SKIP
    >>> store.backup("ratings-monday.sqlite")                         # doctest: +SKIP
    """

    def __init__(self, path: str | os.PathLike, *, timeout: float = 30.0,
                 session: str | None = None, readonly: bool = False) -> None:
        self.timeout = _timeout(timeout)
        self.session = uuid.uuid4().hex if session is None else text(session, "session")
        self.readonly = bool(readonly)
        self.backend, where = locate(path)
        self._plans = StoredPlans(self._transaction)
        if self.backend == "postgresql":
            from .server import ServerDatabase
            self.path, self._file = None, None
            self._db = ServerDatabase(where, timeout=self.timeout, readonly=self.readonly)
            self.url = self._db.where
            return
        self.path, self.url = where, None
        if not self.readonly:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fs = network_filesystem(self.path)
            if fs is not None:
                raise RatingError(f"{self.path} is on a network file system ({fs}); SQLite's "
                                  "write-ahead log is not safe there. Put the store on a local "
                                  "disk of the machine the notebooks run on, or use a PostgreSQL "
                                  "server (docs/classroom_at_scale.md).")
        self._db = Database(self.path, timeout=self.timeout, readonly=self.readonly)
        self._file = Path(os.path.realpath(self.path))     # what exports must never overwrite

    @classmethod
    def from_env(cls, default: str | os.PathLike | None = None, **kwargs: Any) -> "RatingsStore":
        """The class's store: the location in the ``HD_WIDGETS_STORE`` environment variable
        (set once by the teacher, e.g. a PostgreSQL URL), else ``default``."""
        location = os.environ.get(STORE_ENV, "").strip() or default
        if location is None:
            raise RatingError(f"no store given: set {STORE_ENV} (a path or a database URL) "
                              "or pass a default")
        return cls(location, **kwargs)

    @property
    def where(self) -> str:
        """The store's location as it may be shown: the path, or the URL without password."""
        return str(self.path) if self.path is not None else self.url

    def _transaction(self, fn, *, write: bool = True, replay_safe: bool = False) -> Any:
        return self._db.transaction(fn, write=write, replay_safe=replay_safe)

    # ------------------------------------------------------------------ plans
    def add_plan(self, plan: QueryPlan) -> QueryPlan:
        """Store a plan (idempotent). Same name with different content -> RatingError.

        Returns
        -------
        QueryPlan
            The plan as stored; ``store.plan(name)`` returns an identical one later.
        """
        return self._plans.add(plan, readonly=self.readonly, where=self.where)

    def plan(self, name: str) -> QueryPlan:
        """The stored plan called ``name`` (RatingError if there is none)."""
        return self._plans.get(name)

    def plan_names(self) -> list[str]:
        """Names of the stored plans, in the order they were added."""
        return self._plans.names()

    def _writable(self, what: str) -> None:
        if self.readonly:
            raise RatingError(f"cannot {what}: {self.where} was opened read-only (readonly=True)")

    # ------------------------------------------------------------------ writing
    def rate(self, plan: str, query: int, values: Sequence[float], *, rater: str,
             session: str | None = None, submission: str | None = None) -> list[int]:
        """Store one submission: one value in [0, 1] per clip of the query, all or nothing.

        The ratings are committed before this returns. A rater may have one active
        submission per query; :meth:`undo` it to rate the query again.

        Parameters
        ----------
        submission : str, optional
            The submission's own id, made when the rating was given (a widget makes one when
            the person clicks Submit, e.g. ``uuid.uuid4().hex``). Sent again, after a lost
            connection or a crash, it is recognised: the ids stored the first time are
            returned and nothing is stored twice. The same id with other values (or from
            another rater) is refused. A fresh one is made per call by default.

        Returns
        -------
        list of int, length k
            The new rating ids, in clip order.
        """
        self._writable("rate")
        rater = rater_id(rater)
        session = self.session if session is None else text(session, "session")
        key = uuid.uuid4().hex if submission is None else submission_id(submission)
        q = self._plans.query(plan, query)
        vals = _values(values, q.k, f"plan {plan!r} query {q.index}")
        return self._transaction(lambda s: writes.submit(s, plan, q, vals, rater=rater,
                                                         session=session, key=key),
                                 replay_safe=True)

    def skip(self, plan: str, query: int, *, rater: str, session: str | None = None) -> None:
        """Record that ``rater`` skipped a query; it comes back after all unskipped ones."""
        self._writable("skip")
        rater = rater_id(rater)
        session = self.session if session is None else text(session, "session")
        q = self._plans.query(plan, query)
        self._transaction(lambda s: writes.skip(s, plan, q.index, rater=rater, session=session))

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
        return self._transaction(lambda s: writes.withdraw_last(s, rater=rater, plan=plan,
                                                                session=self.session))

    # ------------------------------------------------------------------ reading
    def next_query(self, plan: str, rater: str) -> Query | None:
        """Where ``rater`` resumes: the first query neither answered nor skipped (in plan
        order, or the rater's own order for a :meth:`QueryPlan.per_rater` plan); then
        skipped ones, least recently skipped first; None when all are done."""
        p, rater = self.plan(plan), rater_id(rater)
        done, skipped = self._transaction(lambda s: rater_state(s, p.name, rater), write=False)
        return resume_point(p, rater, done, skipped)

    def progress(self, plan: str, rater: str | None = None) -> tuple[int, int]:
        """(queries answered, total queries); answered by ``rater``, or by anyone if None."""
        p = self.plan(plan)
        args = {"plan": p.name, "rater": None if rater is None else rater_id(rater)}
        stmt = S.count_done(rater is not None)
        n = self._transaction(lambda s: s.rows(stmt, args)[0][0], write=False)
        return n, len(p.queries)

    def _select(self, cols: tuple[str, ...], plan: str | None, rater: str | None) -> list[tuple]:
        args = {"plan": None if plan is None else self.plan(plan).name,
                "rater": None if rater is None else rater_id(rater)}
        stmt = S.active_rows(cols, plan is not None, rater is not None)
        return self._transaction(lambda s: s.rows(stmt, args), write=False)

    def ratings(self, plan: str | None = None, *, rater: str | None = None) -> list[Rating]:
        """Active (not undone) ratings, in the order they were given."""
        return [Rating(*r) for r in self._select(S.RATING_COLUMNS, plan, rater)]

    def raters(self, plan: str | None = None) -> list[str]:
        """Raters with at least one active rating, in order of their first rating."""
        return list(dict.fromkeys(r[0] for r in self._select(("rater",), plan, None)))

    def table(self, plan: str) -> dict[str, np.ndarray]:
        """Active ratings of one plan as columns, each of shape (n,).

        Keys: ``id``, ``query``, ``clip`` (int64), ``kind``, ``rater``, ``session`` (str),
        ``value``, ``time`` (float64), and ``x0`` .. ``x{d-1}`` (float64), the coordinates
        of each rated clip (so ``pandas.DataFrame(store.table(name))`` just works).
        """
        p = self.plan(plan)
        return table_columns(p, self._plans.positions(p.name),
                             self._select(S.RATING_COLUMNS, p.name, None))

    # ------------------------------------------------------------------ export
    def _export_rows(self, plan: str | None) -> tuple[list[str], list[list]]:
        names = [self.plan(plan).name] if plan is not None else self.plan_names()
        plans = {n: (self.plan(n), self._plans.positions(n)) for n in names}
        return export_rows(self._select(S.RATING_COLUMNS, plan, None), plans)

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
        A server's store is copied into a SQLite file the same way.
        """
        target = check_target(path, self._file, "backup")
        if self.backend == "sqlite":
            backup_file(target, self._db.backup)
        else:
            tables = self._transaction(lambda s: {t: s.rows(S.dump(t)) for t in TABLES},
                                       write=False)
            backup_file(target, lambda dest: fill_sqlite(dest, tables))
        return Path(path).expanduser()

    def grant(self, role: str) -> None:
        """PostgreSQL: let database role ``role`` (the students') rate: read every table and
        insert into the store's tables; never update or delete (docs/classroom_at_scale.md).
        Run it with the owner's (teacher's) URL."""
        if self.backend != "postgresql":
            raise RatingError(f"{self.where} is a SQLite file: who may rate is decided by the "
                              "file's permissions, not by grants")
        self._db.grant(text(role, "role"))

    # ------------------------------------------------------------------ lifetime
    def close(self) -> None:
        """Close the connection (every rating is already committed)."""
        self._db.close()

    def __enter__(self) -> RatingsStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        if self._db.closed:
            return f"RatingsStore({self.where!r}, closed)"
        n = self._transaction(lambda s: s.rows(S.count_active())[0][0], write=False)
        ro = ", readonly" if self.readonly else ""
        return f"RatingsStore({self.where!r}, plans={self.plan_names()}, ratings={n}{ro})"

