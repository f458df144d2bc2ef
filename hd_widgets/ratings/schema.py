"""What the ratings store keeps, and the checks every value passes before it is kept.

Tables (inspect them with any SQLite tool; ``active_ratings`` is a view)::

    plans(name, fingerprint, config, d, n_queries, time)
    queries(plan, position, idx, kinds, points, meta)        -- JSON columns, exact floats
    ratings(id, submission, plan, query, clip, kind, value, rater, session, time)
    events(id, kind in {'skip','undo'}, plan, query, rater, session, time)
    undone(rating, event)                                     -- which ratings an undo withdrew

Every table refuses UPDATE and DELETE (triggers), so the file only ever grows. The
schema version is SQLite's ``user_version``; a file with some other application's tables
(or none of ours) is refused before anything in it is changed (:func:`check_schema`).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
import hashlib
import json
import math
import numbers
import os
import sqlite3
from typing import Any
import unicodedata

import numpy as np

from .plan import Query, QueryPlan

__all__ = ["SCHEMA_VERSION", "TABLES", "RATING_COLS", "RatingError", "Rating", "statements",
           "check_schema", "text", "rater_id", "values", "timeout", "plain_json",
           "refuse_duplicate", "plan_rows", "plan_from_rows"]

SCHEMA_VERSION = 1
TABLES = ("plans", "queries", "ratings", "events", "undone")
RATING_COLS = "id, plan, query, clip, kind, value, rater, session, time"
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
    for t in TABLES for op in ("update", "delete"))


class RatingError(ValueError):
    """Bad input to the ratings store (or a file it will not use); the store is unchanged."""


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


def statements() -> list[str]:
    """The schema as single statements (``executescript`` would COMMIT our transaction)."""
    out, buf = [], ""
    for line in _SCHEMA.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            out.append(buf.strip()); buf = ""
    return out


def check_schema(conn: sqlite3.Connection, path: os.PathLike | str) -> int:
    """The schema version of the store in ``conn``: 0 for an empty file (a new store).

    Reads only. Raises :class:`RatingError` for a newer schema, for a SQLite file of
    another application (objects but no version), and for a version without our tables.
    """
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    if version > SCHEMA_VERSION:
        raise RatingError(f"{path} has schema version {version}; this hd_widgets reads up to "
                          f"{SCHEMA_VERSION}, please upgrade")
    if version <= 0:
        if names:
            shown = ", ".join(sorted(names)[:5]) + (", ..." if len(names) > 5 else "")
            raise RatingError(f"{path} is a SQLite database of some other application (it holds "
                              f"{shown}), not a ratings store; it was left unchanged. Choose a "
                              "new file name for the store.")
        return 0
    missing = [t for t in TABLES if t not in names]
    if missing:
        raise RatingError(f"{path} claims to be a ratings store (schema version {version}) but "
                          f"has no table {', '.join(missing)}; it is damaged or not a ratings "
                          "store. It was left unchanged; restore it from a backup.")
    return version


# ---------------------------------------------------------------------------- input checks
def text(value: Any, what: str) -> str:
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


def rater_id(value: Any) -> str:
    """A rater id as the store keeps it: surrounding white space stripped, Unicode NFC.

    So ``"ada"``, ``" ada\\n"`` and the two spellings of ``"José"`` (precomposed é, or
    e + combining accent) are one rater, whichever method they are passed to.
    """
    return unicodedata.normalize("NFC", text(value, "rater").strip())


def values(vals: Any, k: int, where: str) -> list[float]:
    """Check one submission: exactly ``k`` finite real numbers in [0, 1], as float64."""
    if isinstance(vals, np.ndarray) or (not isinstance(vals, (Sequence, str, bytes))
                                        and hasattr(vals, "__array__")):
        arr = np.asarray(vals)
        if arr.ndim != 1 or arr.dtype.kind not in "fiuO":
            raise RatingError(f"{where}: values must be a 1-D array of {k} numbers (one per "
                              f"clip), got an array of shape {arr.shape} and dtype {arr.dtype}")
        items = arr.tolist()
    elif isinstance(vals, Sequence) and not isinstance(vals, (str, bytes)):
        items = list(vals)
    else:
        raise RatingError(f"{where}: values must be a sequence of {k} numbers in [0, 1] (one "
                          f"per clip), got {type(vals).__name__} {vals!r}")
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


def timeout(value: Any) -> float:
    """Seconds to wait for other writers: a finite real number >= 0."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise RatingError(f"timeout must be a number of seconds, got {type(value).__name__} "
                          f"{value!r}")
    t = float(value)
    if not (math.isfinite(t) and t >= 0.0):
        raise RatingError(f"timeout must be a finite number of seconds >= 0, got {t!r}")
    return t


def plain_json(obj: Any) -> bool:
    """True if ``obj`` survives ``json.loads(json.dumps(obj))`` as an equal object."""
    if isinstance(obj, dict):
        return all(isinstance(k, str) and plain_json(v) for k, v in obj.items())
    if isinstance(obj, list):
        return all(map(plain_json, obj))
    return obj is None or type(obj) in (str, int, float, bool)


def refuse_duplicate(c: sqlite3.Connection, plan: str, query: int, rater: str) -> None:
    """RatingError if ``rater`` has an active submission (or must undo one) for ``query``."""
    if c.execute("SELECT 1 FROM active_ratings WHERE plan = ? AND rater = ? AND query = ? "
                 "LIMIT 1", (plan, rater, query)).fetchone():
        raise RatingError(f"rater {rater!r} already answered plan {plan!r} query {query}; "
                          "undo that submission first to rate it again")


def plan_rows(plan: Any) -> tuple[str, str, list[tuple], str, QueryPlan]:
    """A plan checked and serialised for the ``plans`` and ``queries`` tables.

    Returns
    -------
    (name, config JSON, query rows, fingerprint digest, the plan as it will read back)
    """
    if not isinstance(plan, QueryPlan):
        raise RatingError(f"add_plan expects a QueryPlan, got {type(plan).__name__}")
    name = text(plan.name, "plan name")
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
    if not all(map(plain_json, [plan.config] + [q.meta for q in plan.queries])):
        raise RatingError(f"plan {name!r}: config and meta must be plain JSON so they read "
                          "back unchanged (dicts with str keys, lists not tuples)")
    fingerprint = plan.fingerprint()
    stored = plan_from_rows(name, config, plan.d, [r[2:] for r in rows])
    assert stored.fingerprint() == fingerprint, "plan changed on its way through JSON"
    return name, config, rows, hashlib.sha256(fingerprint.encode()).hexdigest(), stored


def plan_from_rows(name: str, config: str, d: int, rows: list[tuple]) -> QueryPlan:
    """Rebuild a QueryPlan from its stored JSON columns (idx, kinds, points, meta)."""
    queries = tuple(Query(idx, np.array(json.loads(points), dtype=np.float64).reshape(-1, d),
                          tuple(json.loads(kinds)), json.loads(meta))
                    for idx, kinds, points, meta in rows)
    return QueryPlan(name, queries, json.loads(config))
