"""One SQLite connection of the ratings store: opening it safely, and transactions that
neither a busy classmate nor a kernel interrupt can wedge.

Opening checks before it changes anything: the file must be a SQLite database that is
empty or already this store (:func:`~.schema.check_schema`), and it must pass SQLite's
``PRAGMA quick_check``; only then is it switched to write-ahead logging and given its
tables. ``readonly=True`` opens without writing a byte (for exports from a folder you
cannot write to; there, SQLite cannot create its ``-shm`` index next to a WAL store, so a
private snapshot copy, taken when the store is opened, is read instead).

Transactions (:meth:`Database.transaction`) are safe against interrupts:

- waiting for another writer happens in Python (a jittered back-off ``time.sleep``),
  never inside SQLite and never with a transaction open, so an interrupt while waiting
  holds nothing;
- from ``BEGIN`` to the end of ``COMMIT`` or ``ROLLBACK``, SIGINT (Ctrl-C, a Jupyter
  kernel interrupt) is held back and delivered as soon as the transaction is over, so a
  ``KeyboardInterrupt`` can never land between ``BEGIN`` and the code that ends it;
- any other exception rolls back in ``finally``, and a transaction somehow left open is
  rolled back before the next one begins.

So an interrupted call leaves no lock held for the other raters, and the same object
keeps working.

Why not SQLAlchemy's own SQLite engine here: its pysqlite dialect begins transactions
itself (a deferred ``BEGIN``, not ``BEGIN IMMEDIATE``, unless patched through events), runs
statements through cursors of a pooled connection, and waits for locks inside SQLite's busy
handler, where an interrupt cannot be held back. So files keep this ``sqlite3`` connection
and its transactions; what runs inside them is the store's one set of SQLAlchemy Core
statements (``statements.py``), compiled once for SQLite by :class:`SqliteSession`, the
same statements the PostgreSQL backend runs (``server.py``).
"""
from __future__ import annotations

import os
from pathlib import Path
import random
import shutil
import signal
import sqlite3
import tempfile
import threading
import time
from typing import Any, Callable
from urllib.parse import quote

from sqlalchemy.dialects import sqlite as _sqlite_dialect

from .schema import SCHEMA_VERSION, RatingError, check_schema, statements
from .statements import max_rating_id

__all__ = ["Database", "SqliteSession", "is_busy"]

_JITTER = random.Random()  # retry back-off only; never touches the global random state
_MAX_DELAY = 0.05          # longest single wait (s) between two tries for the write lock


def is_busy(exc: BaseException) -> bool:
    """SQLITE_BUSY / SQLITE_LOCKED: another connection holds the lock; worth retrying."""
    if not isinstance(exc, sqlite3.OperationalError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)  # Python >= 3.11
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    msg = str(exc).lower()
    return "locked" in msg or "busy" in msg


def _code(exc: BaseException) -> int:
    """The primary SQLite result code of an error (-1 if unknown)."""
    code = getattr(exc, "sqlite_errorcode", None)
    return -1 if code is None else code & 0xFF


class _SigintHeld:
    """Hold back SIGINT inside the block; deliver it to the original handler at its end.

    Only the main thread receives Python signal handlers, so elsewhere this does nothing
    (and nothing is needed). A handler installed outside Python is left alone.
    """

    __slots__ = ("previous", "pending")

    def __enter__(self) -> "_SigintHeld":
        self.previous, self.pending = None, False
        if threading.current_thread() is threading.main_thread():
            handler = signal.getsignal(signal.SIGINT)
            if handler is not None:
                try:
                    signal.signal(signal.SIGINT, self._hold)
                    self.previous = handler
                except ValueError:  # not the main interpreter
                    pass
        return self

    def _hold(self, signum: int, frame: Any) -> None:
        self.pending = True

    def __exit__(self, *exc: object) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
            if self.pending:
                signal.raise_signal(signal.SIGINT)  # raised here, after the transaction


_DIALECT = _sqlite_dialect.dialect(paramstyle="named")   # sqlite3 takes :name with a dict
_COMPILED: dict[tuple, tuple] = {}   # (id(statement), insert keys) -> (statement, compiled)


class SqliteSession:
    """One open transaction on the store's sqlite3 connection, running Core statements.

    Each statement shape is compiled for SQLite once; the statement objects come from the
    cached builders of ``statements.py``, so the cache stays small. The write lock is the
    whole file's, taken by ``BEGIN IMMEDIATE``, so :meth:`lock` has nothing to add.
    """

    dialect = "sqlite"

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def _compiled(self, stmt: Any, keys: tuple | None):
        hit = _COMPILED.get((id(stmt), keys))
        if hit is None or hit[0] is not stmt:
            compiled = stmt.compile(dialect=_DIALECT,
                                    column_keys=list(keys) if keys is not None else None)
            hit = _COMPILED[(id(stmt), keys)] = (stmt, compiled)
        return hit[1]

    def rows(self, stmt: Any, params: dict | None = None) -> list[tuple]:
        params = params or {}
        keys = tuple(params) if getattr(stmt, "is_insert", False) else None
        c = self._compiled(stmt, keys)
        return self.conn.execute(str(c), c.construct_params(params)).fetchall()

    def run(self, stmt: Any, params: dict | list[dict] | None = None) -> None:
        if isinstance(params, list):
            if not params:
                return
            keys = tuple(params[0]) if getattr(stmt, "is_insert", False) else None
            c = self._compiled(stmt, keys)
            self.conn.executemany(str(c), [c.construct_params(p) for p in params])
        else:
            self.rows(stmt, params)

    def lock(self, key: str) -> None:
        """Nothing to do: BEGIN IMMEDIATE already holds the file's write lock."""

    def rating_ids(self, k: int) -> list[int]:
        base = self.rows(max_rating_id())[0][0]
        return list(range(base + 1, base + 1 + k))


def _rollback(conn: sqlite3.Connection) -> None:
    """End whatever transaction is open; a failed ROLLBACK is tried again."""
    interrupt: BaseException | None = None
    for _ in range(3):
        try:
            if conn.in_transaction:
                conn.rollback()
            break
        except sqlite3.Error:  # an I/O error, say; the next transaction tries again
            continue
        except BaseException as exc:  # noqa: BLE001 - finish the rollback, then re-raise
            interrupt = interrupt or exc
    if interrupt is not None:
        raise interrupt


class Database:
    """The store's connection to one SQLite file.

    Parameters
    ----------
    path : Path
        The SQLite file; created if missing (unless ``readonly``).
    timeout : float
        Seconds a transaction waits for other writers before raising
        ``sqlite3.OperationalError`` ("database is locked").
    readonly : bool
        Open without writing anything; write transactions raise :class:`RatingError`.
    """

    def __init__(self, path: Path, *, timeout: float, readonly: bool = False) -> None:
        self.path, self.timeout, self.readonly = path, timeout, readonly
        self._lock = threading.RLock()
        self._snapshot: Path | None = None   # private copy read when the folder is read-only
        self._conn: sqlite3.Connection | None = None
        try:
            self._conn = self._open_readonly() if readonly else self._open()
        except BaseException:
            self.close()
            raise

    # ------------------------------------------------------------------ opening
    def _connect(self, target: str, uri: bool = False) -> sqlite3.Connection:
        # timeout=0: SQLite never waits for a lock itself; transaction() waits in Python.
        # isolation_level=None: we issue BEGIN / COMMIT ourselves.
        try:
            self._conn = sqlite3.connect(target, timeout=0, isolation_level=None,
                                         check_same_thread=False, uri=uri)
        except sqlite3.Error as exc:
            raise RatingError(f"{self.path}: SQLite cannot open it ({exc}); is it a folder, "
                              "or in a folder you cannot read?") from None
        return self._conn

    def _open(self) -> sqlite3.Connection:
        folder = self.path.parent
        if (self.path.exists() and not os.access(self.path, os.W_OK)) or \
                not os.access(folder, os.W_OK | os.X_OK):
            raise RatingError(f"{self.path}: you cannot write to this file or its folder "
                              f"{folder} (SQLite needs both, for its -wal and -shm files). To "
                              "read or export the ratings, open it with "
                              "RatingsStore(path, readonly=True).")
        c = self._connect(str(self.path))
        self._inspect(c)
        # WAL: readers never block the writer, and a commit is one append to the WAL file.
        # synchronous=FULL fsyncs the WAL on every commit. WAL + NORMAL would already survive
        # a killed process (the commit sits in the OS page cache when COMMIT returns), but a
        # power cut or kernel panic could lose the last ratings; FULL costs a few ms per
        # rating, nothing next to the seconds a person spends listening, so we pay it.
        mode = self._retry(lambda: self._guard(
            lambda: c.execute("PRAGMA journal_mode=WAL").fetchone()[0]))
        if mode != "wal":
            raise RatingError(f"{self.path}: SQLite could not switch to WAL mode (got {mode!r}); "
                              "is it on a network file system?")
        c.execute("PRAGMA synchronous=FULL")
        c.execute("PRAGMA foreign_keys=ON")

        def create(s: SqliteSession) -> None:
            if check_schema(s.conn, self.path) < SCHEMA_VERSION:   # new, or version 1
                for statement in statements():
                    s.conn.execute(statement)
                s.conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        self.transaction(create)
        return c

    def _open_readonly(self) -> sqlite3.Connection:
        if not self.path.is_file():
            raise RatingError(f"{self.path}: no ratings store there to open read-only")
        try:
            c = self._connect(_uri(self.path, "mode=ro"), uri=True)
            self._inspect(c, new_ok=False)
        except RatingError as exc:
            if not isinstance(exc.__cause__, sqlite3.OperationalError) or \
                    _code(exc.__cause__) not in (sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_READONLY):
                raise
            # A WAL store in a folder we cannot write: SQLite cannot create its -shm index
            # there. Read a private snapshot: a copy of the file and its -wal, if any.
            self._conn.close()
            self._snapshot = Path(tempfile.mkdtemp(prefix="hd_widgets-store-"))
            target = self._snapshot / self.path.name
            shutil.copyfile(self.path, target)
            if Path(f"{self.path}-wal").exists():
                shutil.copyfile(f"{self.path}-wal", f"{target}-wal")
            c = self._connect(str(target))
            self._inspect(c, new_ok=False)
        c.execute("PRAGMA query_only=ON")
        return c

    def _inspect(self, c: sqlite3.Connection, new_ok: bool = True) -> None:
        """Refuse (reading only) a file that is not this store, or that is corrupted."""
        version = self._retry(lambda: self._guard(lambda: check_schema(c, self.path)))
        if version == 0 and not new_ok:
            raise RatingError(f"{self.path}: an empty SQLite file, not a ratings store")
        if version == 0:
            return
        problems = self._retry(lambda: self._guard(
            lambda: [r[0] for r in c.execute("PRAGMA quick_check(5)")]))
        if problems != ["ok"]:
            raise RatingError(_corrupt(self.path, "; ".join(problems)[:300]))

    def _guard(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn``, turning SQLite's "not a database" / "corrupt" / "read-only" errors
        into a :class:`RatingError` naming the file (busy errors pass, to be retried)."""
        try:
            return fn()
        except sqlite3.DatabaseError as exc:
            if is_busy(exc):
                raise
            code = _code(exc)
            if code == sqlite3.SQLITE_NOTADB or "not a database" in str(exc):
                msg = (f"{self.path} is not a SQLite database (SQLite: {exc}); it was left "
                       "unchanged. Choose a new file name for the store.")
            elif code == sqlite3.SQLITE_CORRUPT or "malformed" in str(exc):
                msg = _corrupt(self.path, str(exc))
            elif code in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN):
                msg = (f"{self.path}: SQLite cannot write there ({exc}). To read or export "
                       "the ratings, open it with RatingsStore(path, readonly=True).")
            else:
                msg = f"{self.path}: SQLite error while opening the store: {exc}"
            raise RatingError(msg) from exc

    # ------------------------------------------------------------------ transactions
    def _retry(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` again (with jittered back-off) while SQLite reports BUSY/LOCKED.

        Nothing is held during the sleep, so an interrupt there is harmless.
        """
        deadline = time.monotonic() + self.timeout
        delay = 0.001
        while True:
            try:
                return fn()
            except sqlite3.OperationalError as exc:
                if not is_busy(exc) or time.monotonic() > deadline:
                    raise
            time.sleep(delay * (0.5 + _JITTER.random()))
            delay = min(2 * delay, _MAX_DELAY)

    def transaction(self, fn: Callable[[SqliteSession], Any], *, write: bool = True,
                    replay_safe: bool = False) -> Any:
        """Run ``fn(session)`` in one transaction: BEGIN IMMEDIATE for writes (the write lock
        is taken up front, so checks and inserts see the same state), a deferred BEGIN
        (one consistent snapshot) for reads. Any exception rolls everything back; a busy
        file is retried (``fn`` runs again from scratch) until ``timeout``.
        (``replay_safe`` matters to the server backend only: here a retry never follows a
        COMMIT that may have happened.)"""
        if write and self.readonly:
            raise RatingError(f"{self.path} was opened read-only (readonly=True): nothing can "
                              "be written through this RatingsStore")
        conn = self.connection()

        def attempt() -> Any:
            with self._lock, _SigintHeld():
                try:
                    if conn.in_transaction:   # left open by an exception we could not stop
                        conn.rollback()
                    conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                    result = fn(SqliteSession(conn))
                    conn.execute("COMMIT")
                    return result
                finally:
                    _rollback(conn)
        return self._retry(attempt)

    def backup(self, target: sqlite3.Connection) -> None:
        """Copy the whole database (WAL content included) into ``target``, consistently."""
        conn = self.connection()

        def copy() -> None:
            with self._lock, _SigintHeld():
                conn.backup(target)
        self._retry(copy)

    def connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise ValueError(f"the ratings store {str(self.path)!r} is closed")
        return self._conn

    @property
    def closed(self) -> bool:
        return self._conn is None

    def close(self) -> None:
        """Close the connection (every committed rating is already on disk)."""
        with self._lock, _SigintHeld():
            if self._conn is not None:
                _rollback(self._conn)
                self._conn.close()
                self._conn = None
            if self._snapshot is not None:
                shutil.rmtree(self._snapshot, ignore_errors=True)
                self._snapshot = None


def _uri(path: Path, query: str) -> str:
    return f"file:{quote(str(path.absolute()))}?{query}"


def _corrupt(path: Path, problem: str) -> str:
    return (f"{path} is corrupted (SQLite's quick_check: {problem}). It was not changed. "
            "Restore the last copy made with RatingsStore.backup(), or keep this file aside "
            "for repair (sqlite3 's .recover command) and start a new store.")
