"""What may go into the ratings store: every value is checked before any transaction.

Each check raises :class:`~hd_widgets.ratings.schema.RatingError` naming the problem, so a
bad call leaves the store unchanged (on either backend: these checks run before the
database is touched at all).
"""
from __future__ import annotations

from collections.abc import Sequence
import hashlib
import json
import math
import numbers
from typing import Any
import unicodedata

import numpy as np

from .plan import Query, QueryPlan
from .schema import RatingError

__all__ = ["text", "rater_id", "submission_id", "values", "timeout", "plain_json", "plan_rows",
           "plan_from_rows"]

def text(value: Any, what: str) -> str:
    """A non-empty str that SQLite stores and compares exactly."""
    if not isinstance(value, str) or not value.strip():
        raise RatingError(f"{what} must be a non-empty str, got {value!r}")
    if "\x00" in value:
        raise RatingError(f"{what} must not contain NUL characters, got {value!r}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise RatingError(f"{what} must be valid Unicode (no lone surrogates), "
                          f"got {value!r}") from None
    return value


def rater_id(value: Any) -> str:
    """A rater id as the store keeps it: surrounding white space stripped, Unicode NFC.

    So ``"ada"``, ``" ada\\n"`` and the two spellings of ``"José"`` (precomposed é, or
    e + combining accent) are one rater, whichever method they are passed to.
    """
    return unicodedata.normalize("NFC", text(value, "rater").strip())


MAX_SUBMISSION_ID = 200    # characters; a uuid4 hex is 32


def submission_id(value: Any) -> str:
    """A submission id: the client's own name for one submission, so a retry (after a
    lost connection) is recognised and stored once. Any non-empty str, e.g. a uuid."""
    value = text(value, "submission")
    if len(value) > MAX_SUBMISSION_ID:
        raise RatingError(f"submission must be at most {MAX_SUBMISSION_ID} characters, "
                          f"got {len(value)}")
    return value


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
