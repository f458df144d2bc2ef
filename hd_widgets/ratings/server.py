"""The ratings store on a PostgreSQL server: one SQLAlchemy engine (psycopg 3), and
transactions that run the store's Core statements (``statements.py``).

What the server adds to the SQLite guarantees, and how each one holds here:

- **committed before return**: a write is one transaction, committed (and so fsynced by
  the server) before :meth:`ServerDatabase.transaction` returns;
- **append-only for every client**: triggers refuse UPDATE, DELETE and TRUNCATE on every
  table (``schema.py``), whatever role connects, the owner included; and the raters' role
  is granted only SELECT and INSERT (:meth:`ServerDatabase.grant`);
- **writers serialised per rater**: a write takes a transaction-scoped advisory lock on its
  key (a rater id, or "plans"), so the checks it makes (already answered? last submission?)
  and its inserts see the same state, as ``BEGIN IMMEDIATE`` gives on SQLite; raters do not
  wait for each other. Rating ids come from a sequence. Reads run in one REPEATABLE READ,
  READ ONLY transaction (one snapshot; set as connection attributes, so no extra statement);
- **a lost connection is not a lost rating**: a transaction whose connection was lost
  before its COMMIT was sent (a pooled connection the server dropped, a restart between
  two clicks) runs again once on a fresh connection: the server rolled it back. One lost
  *during* COMMIT runs again only when it is safe to repeat (reads, and ratings, which
  carry a submission id the database stores once); otherwise, and when the server stays
  away, :class:`~hd_widgets.ratings.schema.StoreUnreachable` is raised;
- **nothing half-done by an interrupt**: a KeyboardInterrupt makes SQLAlchemy drop the
  connection, the server rolls its transaction back, and ``idle_in_transaction_session_timeout``
  ends any transaction a frozen client left open, so no rater's lock is held for long;
- **refusal before change**: an unreachable server, a refused login, a missing database,
  another application's tables or an unknown schema version are each one line, and nothing
  is written (:func:`open_problem`, :func:`~hd_widgets.ratings.schema.judge_schema`).

Passwords: the engine holds the URL; every message shows it masked.
"""
from __future__ import annotations

from functools import cache
import threading
from typing import Any, Callable

import sqlalchemy as sa

from .schema import (APPLICATION, TABLES, RatingError, StoreUnreachable, judge_schema,
                     postgres_statements, ratings, store_schema)

__all__ = ["ServerDatabase", "PostgresSession", "open_problem"]

POOL = dict(pool_size=1, max_overflow=1)   # a kernel needs one connection (+1 for a thread)
CONNECT_TIMEOUT_S = 5                       # a server that does not answer: give up this soon
IDLE_IN_TRANSACTION_MS = 60_000             # the server ends transactions a frozen client left


@cache
def _lock_stmt():
    return sa.select(sa.func.pg_advisory_xact_lock(
        sa.func.hashtextextended(sa.bindparam("key", type_=sa.Text), 0)))


@cache
def _ids_stmt():
    return sa.select(ratings.c.id.default.next_value()).select_from(
        sa.func.generate_series(1, sa.bindparam("k", type_=sa.Integer)))


class PostgresSession:
    """One open transaction on a SQLAlchemy connection to PostgreSQL."""

    dialect = "postgresql"

    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def rows(self, stmt: Any, params: dict | None = None) -> list[tuple]:
        return [tuple(r) for r in self.conn.execute(stmt, params or {})]

    def run(self, stmt: Any, params: dict | list[dict] | None = None) -> None:
        if isinstance(params, list) and not params:
            return
        self.conn.execute(stmt, params or {})

    def lock(self, key: str) -> None:
        self.conn.execute(_lock_stmt(), {"key": f"hd_widgets:{key}"})

    def rating_ids(self, k: int) -> list[int]:
        return sorted(r[0] for r in self.conn.execute(_ids_stmt(), {"k": k}))


# ---------------------------------------------------------------------------- errors
def _sqlstate(exc: BaseException) -> str | None:
    return getattr(getattr(exc, "orig", exc), "sqlstate", None)


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", exc)
    lines = [ln.strip() for ln in str(orig).splitlines() if ln.strip()]
    return lines[0] if lines else type(orig).__name__


def _disconnected(exc: BaseException) -> bool:
    """Did the connection (or the server) go away, rather than a statement fail?"""
    if isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated:
        return True
    state = _sqlstate(exc)
    if state is None:
        return isinstance(exc, (sa.exc.OperationalError, sa.exc.InterfaceError))
    return state.startswith("08") or state in ("57P01", "57P02", "57P03")


def open_problem(exc: BaseException, where: str) -> Exception:
    """The one-line error for a failure to connect: RatingError for a refused login or a
    missing database (retrying will not help), StoreUnreachable for everything else."""
    msg, state = _first_line(exc), _sqlstate(exc)
    low = str(getattr(exc, "orig", exc)).lower()
    detail = msg.split("failed: ", 1)[-1]
    if state in ("28P01", "28000") or "password authentication failed" in low or \
            "no password supplied" in low or ("role" in low and "does not exist" in low):
        return RatingError(f"{where}: the server refused the login ({detail}); check the user "
                           "name and password in the store URL")
    if state == "3D000" or ("database" in low and "does not exist" in low):
        return RatingError(f"{where}: no such database on that server ({detail}); create it "
                           "first (createdb) or fix the URL")
    return StoreUnreachable(f"{where}: the database server is unreachable ({detail}); is it "
                            "running, and are the host and port in the URL right?")


def _refused(exc: BaseException, where: str) -> Exception | None:
    """A database refusal that is about rights, as a RatingError (None for others)."""
    if _sqlstate(exc) == "42501":
        return RatingError(f"{where}: the database refused this for this role "
                           f"({_first_line(exc)}); nothing was stored (the store's owner lets "
                           "a role rate with store.grant(role))")
    return None


# ---------------------------------------------------------------------------- the database
class ServerDatabase:
    """The store's connection pool to one PostgreSQL database (schema).

    Parameters
    ----------
    url : sqlalchemy.engine.URL
        ``postgresql+psycopg://...``; a ``?options=-csearch_path%3Dname`` puts the store
        in schema ``name`` (default: the role's first schema, usually ``public``).
    timeout : float
        Seconds a write waits for the same rater's other writes (an advisory lock), and
        for a free connection in the pool.
    readonly : bool
        Reads only; the store's tables must exist.
    """

    def __init__(self, url: sa.URL, *, timeout: float, readonly: bool = False) -> None:
        try:
            import psycopg  # noqa: F401
        except ImportError:
            raise RatingError(f"{url.render_as_string(hide_password=True)}: a PostgreSQL "
                              "store needs psycopg 3: pip install 'hd_widgets[postgres]'") from None
        self.where = url.render_as_string(hide_password=True)
        self.timeout, self.readonly = timeout, readonly
        self._lock = threading.Lock()
        # No pre-ping (a round trip per transaction): a connection found dead is replaced
        # and the transaction run again on it (_run), which covers the same ground.
        self._engine: sa.Engine | None = sa.create_engine(
            url, pool_timeout=max(timeout, 1.0), hide_parameters=True, **POOL)
        sa.event.listen(self._engine, "do_connect", self._connect_params)
        try:
            self.version = self._open()
        except BaseException:
            self.close()
            raise

    def _connect_params(self, dialect, conn_rec, cargs, cparams) -> None:
        """Defaults for every new connection (a URL's own settings win)."""
        cparams.setdefault("connect_timeout", CONNECT_TIMEOUT_S)
        cparams.setdefault("application_name", "hd_widgets")
        for k, v in {"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5,
                     "keepalives_count": 3, "tcp_user_timeout": 20_000}.items():
            cparams.setdefault(k, v)
        ours = (f"-c lock_timeout={int(self.timeout * 1000)} "
                f"-c idle_in_transaction_session_timeout={IDLE_IN_TRANSACTION_MS}")
        cparams["options"] = f"{cparams.get('options', '')} {ours}".strip()

    # ------------------------------------------------------------------ opening
    def _inspect(self, conn: sa.Connection) -> tuple[str | None, int]:
        """(schema the store lives in, its version; 0 if empty). Reads only."""
        schema = conn.exec_driver_sql("SELECT current_schema()").scalar()
        if schema is None:
            raise RatingError(f"{self.where}: no schema this role may use for the store (the "
                              "search_path names none that exists and is granted to it); the "
                              "teacher opens the store once first, with the owner's URL, and "
                              "grants the students' role")
        names = {r[0] for r in conn.exec_driver_sql(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'v', 'm', 'p', 'f')")}
        version = None
        if "store_schema" in names:
            rows = conn.execute(sa.select(store_schema.c.application,
                                          store_schema.c.version)).fetchall()
            if len(rows) != 1 or rows[0][0] != APPLICATION:
                raise RatingError(f"{self.where}: its table store_schema is not a ratings "
                                  "store's (some other application's?); it was left unchanged")
            version = rows[0][1]
        return schema, judge_schema(version, names, f"{self.where} (schema {schema})",
                                    "postgresql")

    def _open(self) -> int:
        def look(conn: sa.Connection) -> int:
            return self._inspect(conn)[1]
        version = self._run(look, write=False)
        if version:
            return version
        if self.readonly:
            raise RatingError(f"{self.where}: no ratings store there to open read-only")

        def create(conn: sa.Connection) -> int:
            PostgresSession(conn).lock("schema")            # two teachers at once: one creates
            schema, again = self._inspect(conn)
            if again:
                return again
            with conn.connection.dbapi_connection.cursor() as cur:   # no parameters: '%' as is
                for statement in postgres_statements():
                    cur.execute(statement)
            return self._inspect(conn)[1]
        try:
            return self._run(create, write=True)
        except RatingError as exc:
            if "refused this for this role" in str(exc):
                raise RatingError(f"{self.where}: the store's tables do not exist yet and this "
                                  "role may not create them; the teacher opens the store once "
                                  "first, with the owner's URL") from None
            raise

    # ------------------------------------------------------------------ transactions
    def _run(self, fn: Callable[[sa.Connection], Any], *, write: bool,
             replay_safe: bool = False) -> Any:
        """Run ``fn(conn)`` in one transaction, on a fresh connection once more if the first
        was lost: always when it was lost before COMMIT was sent (the server rolled that
        transaction back), and during COMMIT only when ``fn`` is safe to repeat."""
        engine = self.engine()
        for attempt in range(2):
            stage = "connect"
            try:
                with engine.connect() as conn:
                    if not write:      # attributes of the connection: no extra round trip
                        conn = conn.execution_options(isolation_level="REPEATABLE READ",
                                                      postgresql_readonly=True)
                    stage = "work"
                    with conn.begin():
                        result = fn(conn)
                        stage = "commit"                   # __exit__ sends COMMIT
                    return result
            except sa.exc.DBAPIError as exc:
                if stage == "connect":                     # no connection to be had
                    raise open_problem(exc, self.where) from None
                if not _disconnected(exc):
                    refused = _refused(exc, self.where)
                    if refused is not None:
                        raise refused from None
                    raise
                if attempt == 0 and (stage == "work" or replay_safe or not write):
                    continue                               # a fresh connection, same work
                unknown = " (whether this last write was stored is unknown)" \
                    if stage == "commit" and write and not replay_safe else ""
                raise StoreUnreachable(f"{self.where}: the connection to the database server "
                                       f"was lost ({_first_line(exc)}){unknown}") from None

    def transaction(self, fn: Callable[[PostgresSession], Any], *, write: bool = True,
                    replay_safe: bool = False) -> Any:
        """Run ``fn(session)`` in one transaction (see the module notes); ``replay_safe``
        says ``fn`` may run again after a connection was lost midway (it is idempotent)."""
        if write and self.readonly:
            raise RatingError(f"{self.where} was opened read-only (readonly=True): nothing "
                              "can be written through this RatingsStore")
        return self._run(lambda conn: fn(PostgresSession(conn)), write=write,
                         replay_safe=replay_safe)

    def grant(self, role: str) -> None:
        """Let ``role`` rate: read every table, insert into the store's tables, nothing else."""
        def run(conn: sa.Connection) -> None:
            q = conn.dialect.identifier_preparer.quote
            schema = conn.exec_driver_sql("SELECT current_schema()").scalar()
            r, s = q(role), q(schema)
            conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA {s} TO {r}")
            conn.exec_driver_sql(f"GRANT SELECT ON ALL TABLES IN SCHEMA {s} TO {r}")
            conn.exec_driver_sql(f"GRANT INSERT ON {', '.join(TABLES)} TO {r}")
            conn.exec_driver_sql(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA {s} TO {r}")
        self._run(run, write=True)

    def engine(self) -> sa.Engine:
        if self._engine is None:
            raise ValueError(f"the ratings store {self.where!r} is closed")
        return self._engine

    @property
    def closed(self) -> bool:
        return self._engine is None

    def close(self) -> None:
        """Close the pool's connections (every committed rating is on the server)."""
        with self._lock:
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None
