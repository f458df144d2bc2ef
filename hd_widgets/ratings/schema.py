"""What the ratings store keeps: its tables, on SQLite and on PostgreSQL, and their version.

Tables (inspect them with any SQLite or PostgreSQL tool; ``active_ratings`` is a view)::

    plans(name, fingerprint, config, d, n_queries, time)
    queries(plan, position, idx, kinds, points, meta)        -- JSON columns, exact floats
    ratings(id, submission, plan, query, clip, kind, value, rater, session, time)
    events(id, kind in {'skip','undo'}, plan, query, rater, session, time)
    undone(rating, event)                                     -- which ratings an undo withdrew
    submissions(id, rating)       -- a client's submission id -> the first rating it stored

Every table refuses UPDATE and DELETE (and, on PostgreSQL, TRUNCATE) by triggers, for any
client and any role, the tables' owner included: the store only ever grows.

The columns are declared once, as SQLAlchemy Core tables (:data:`META`); every statement
the store runs is built from them (``statements.py``), for both backends. The DDL differs
where the databases do: SQLite keeps the hand-written schema of version 1 (existing files
keep working) plus the ``submissions`` table of version 2; PostgreSQL's tables are made
from :data:`META`, with triggers in PL/pgSQL and a ``store_schema`` table for the version.

Version: SQLite's ``user_version``; PostgreSQL's ``store_schema(application, version)``.
A database with some other application's tables, or a version this code does not know, is
refused before anything in it is changed (:func:`judge_schema`).
"""
from __future__ import annotations

from dataclasses import dataclass
import os
import sqlite3

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

__all__ = ["SCHEMA_VERSION", "TABLES", "RATING_COLS", "APPLICATION", "RatingError",
           "StoreUnreachable", "Rating", "META", "plans", "queries", "ratings", "events",
           "undone", "submissions", "store_schema", "active", "statements",
           "postgres_statements", "check_schema", "judge_schema"]

SCHEMA_VERSION = 2        # 2: the submissions table (idempotent retries); 1: the first
KNOWN = {"sqlite": (1, 2), "postgresql": (2,)}       # versions each backend can open
TABLES = ("plans", "queries", "ratings", "events", "undone", "submissions")
REQUIRED = {1: TABLES[:5], 2: TABLES}                # tables each version must have
RATING_COLS = "id, plan, query, clip, kind, value, rater, session, time"
APPLICATION = "hd_widgets ratings store"


class RatingError(ValueError):
    """Bad input to the ratings store (or a database it will not use); the store is unchanged."""


class StoreUnreachable(ConnectionError):
    """The database server could not be reached (down, restarting, network gone).

    Nothing is known about the call that failed: a write may or may not have been
    committed. A rating given with a submission id (``rate(..., submission=...)``) can be
    sent again safely once the server is back; it is stored once.
    """


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


# ---------------------------------------------------------------------------- the tables
META = sa.MetaData()
plans = sa.Table(
    "plans", META,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("fingerprint", sa.Text, nullable=False),
    sa.Column("config", sa.Text, nullable=False),
    sa.Column("d", sa.Integer, nullable=False),
    sa.Column("n_queries", sa.Integer, nullable=False),
    sa.Column("time", sa.Double, nullable=False),
    # insertion order: SQLite's implicit rowid; a real identity column on PostgreSQL
    sa.Column("rowid", sa.BigInteger, sa.Identity(always=True), nullable=False))
queries = sa.Table(
    "queries", META,
    sa.Column("plan", sa.Text, sa.ForeignKey("plans.name"), primary_key=True),
    sa.Column("position", sa.Integer, primary_key=True),
    sa.Column("idx", sa.Integer, nullable=False),
    sa.Column("kinds", sa.Text, nullable=False),
    sa.Column("points", sa.Text, nullable=False),
    sa.Column("meta", sa.Text, nullable=False),
    sa.UniqueConstraint("plan", "idx"))
ratings = sa.Table(
    "ratings", META,
    # ids are given by the store (SQLite: max + 1 under the write lock; PostgreSQL: this
    # sequence), so one submission knows its ids, and its first id, before it inserts
    sa.Column("id", sa.BigInteger, sa.Sequence("ratings_id_seq"), primary_key=True,
              autoincrement=False),
    sa.Column("submission", sa.BigInteger, nullable=False),
    sa.Column("plan", sa.Text, sa.ForeignKey("plans.name"), nullable=False),
    sa.Column("query", sa.Integer, nullable=False),
    sa.Column("clip", sa.Integer, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("value", sa.Double, sa.CheckConstraint("value >= 0.0 AND value <= 1.0"),
              nullable=False),
    sa.Column("rater", sa.Text, nullable=False),
    sa.Column("session", sa.Text, nullable=False),
    sa.Column("time", sa.Double, nullable=False),
    sa.Index("ratings_by_rater", "plan", "rater", "query"))
events = sa.Table(
    "events", META,
    sa.Column("id", sa.BigInteger, primary_key=True),          # SQLite rowid / BIGSERIAL
    sa.Column("kind", sa.Text, sa.CheckConstraint("kind IN ('skip', 'undo')"), nullable=False),
    sa.Column("plan", sa.Text, sa.ForeignKey("plans.name"), nullable=False),
    sa.Column("query", sa.Integer, nullable=False),
    sa.Column("rater", sa.Text, nullable=False),
    sa.Column("session", sa.Text, nullable=False),
    sa.Column("time", sa.Double, nullable=False),
    sa.Index("events_by_rater", "plan", "rater", "kind"))
undone = sa.Table(
    "undone", META,
    sa.Column("rating", sa.BigInteger, sa.ForeignKey("ratings.id"), primary_key=True,
              autoincrement=False),
    sa.Column("event", sa.BigInteger, sa.ForeignKey("events.id"), nullable=False))
submissions = sa.Table(
    "submissions", META,
    sa.Column("id", sa.Text, primary_key=True),                 # the client's submission id
    sa.Column("rating", sa.BigInteger, sa.ForeignKey("ratings.id"), nullable=False))
store_schema = sa.Table(                                         # PostgreSQL only
    "store_schema", META,
    sa.Column("application", sa.Text, nullable=False),
    sa.Column("version", sa.Integer, nullable=False))
active = sa.table("active_ratings", *[sa.column(c.name, c.type) for c in ratings.columns])

# ---------------------------------------------------------------------------- SQLite DDL
_SQLITE = """
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
CREATE TABLE IF NOT EXISTS submissions (
    id TEXT PRIMARY KEY, rating INTEGER NOT NULL REFERENCES ratings(id));
CREATE VIEW IF NOT EXISTS active_ratings AS
    SELECT * FROM ratings r WHERE NOT EXISTS (SELECT 1 FROM undone u WHERE u.rating = r.id);
""" + "".join(
    f"CREATE TRIGGER IF NOT EXISTS {t}_no_{op} BEFORE {op.upper()} ON {t} "
    f"BEGIN SELECT RAISE(ABORT, 'the ratings store is append-only'); END;\n"
    for t in TABLES for op in ("update", "delete"))


def statements() -> list[str]:
    """SQLite's schema as single statements (``executescript`` would COMMIT our
    transaction). All are ``IF NOT EXISTS``, so a version-1 file gains what version 2 adds."""
    out, buf = [], ""
    for line in _SQLITE.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            out.append(buf.strip()); buf = ""
    return out


# ---------------------------------------------------------------------------- PostgreSQL DDL
_PG_GUARD = """
CREATE FUNCTION hd_widgets_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the ratings store is append-only: % on table % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END $$"""


def postgres_statements() -> list[str]:
    """PostgreSQL's schema, in order, for one transaction in an empty schema: the tables
    (from :data:`META`), the view, the append-only triggers and the version row."""
    dialect = postgresql.dialect()
    out = [str(sa.schema.CreateSequence(ratings.c.id.default).compile(dialect=dialect))]
    for table in META.sorted_tables:
        out.append(str(sa.schema.CreateTable(table).compile(dialect=dialect)).strip())
        out += [str(sa.schema.CreateIndex(i).compile(dialect=dialect)) for i in table.indexes]
    out.append("CREATE VIEW active_ratings AS SELECT * FROM ratings r "
               "WHERE NOT EXISTS (SELECT 1 FROM undone u WHERE u.rating = r.id)")
    out.append(_PG_GUARD.strip())
    for t in TABLES + ("store_schema",):
        # statement-level: refused even when no row matches, and TRUNCATE too
        out.append(f"CREATE TRIGGER {t}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {t} "
                   "FOR EACH STATEMENT EXECUTE FUNCTION hd_widgets_append_only()")
    out.append(f"INSERT INTO store_schema (application, version) "
               f"VALUES ('{APPLICATION}', {SCHEMA_VERSION})")
    return out


# ---------------------------------------------------------------------------- versions
def judge_schema(version: int | None, names: set[str], where: str, backend: str) -> int:
    """The schema version of a store, or RatingError naming what is wrong with it.

    ``version`` is what the database says (SQLite's user_version, PostgreSQL's
    store_schema row; None where there is none) and ``names`` its tables and views.
    0 means empty: a new store may be made there.
    """
    what = "a SQLite database" if backend == "sqlite" else "a database (schema)"
    if version is not None and version > SCHEMA_VERSION:
        raise RatingError(f"{where} has schema version {version}; this hd_widgets reads up to "
                          f"{SCHEMA_VERSION}, please upgrade")
    if not version or version <= 0:
        if names:
            shown = ", ".join(sorted(names)[:5]) + (", ..." if len(names) > 5 else "")
            raise RatingError(f"{where} is {what} of some other application (it holds "
                              f"{shown}), not a ratings store; it was left unchanged. Choose a "
                              "new file name for the store." if backend == "sqlite" else
                              f"{where} is {what} of some other application (it holds "
                              f"{shown}), not a ratings store; it was left unchanged. Give the "
                              "store an empty database or schema of its own.")
        return 0
    if version not in KNOWN[backend]:
        raise RatingError(f"{where} has schema version {version}, which this hd_widgets does "
                          f"not know for {backend} "
                          f"(it knows {', '.join(map(str, KNOWN[backend]))}); "
                          "it was left unchanged")
    missing = [t for t in REQUIRED[version] if t not in names]
    if missing:
        raise RatingError(f"{where} claims to be a ratings store (schema version {version}) but "
                          f"has no table {', '.join(missing)}; it is damaged or not a ratings "
                          "store. It was left unchanged; restore it from a backup.")
    return version


def check_schema(conn: sqlite3.Connection, path: os.PathLike | str) -> int:
    """The schema version of the SQLite store in ``conn``: 0 for an empty file (a new store).

    Reads only. Raises :class:`RatingError` for a newer schema, for a SQLite file of
    another application (objects but no version), and for a version without our tables.
    """
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    return judge_schema(version, names, str(path), "sqlite")
