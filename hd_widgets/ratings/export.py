"""Getting ratings out of the store: CSV, pandas, and a consistent backup copy.

Every file is written atomically: into a temporary file in the target's folder, fsynced,
then renamed over the target, so a failure midway leaves the old file (or none), never
half a file. No export may land on the store itself or its ``-wal`` / ``-shm`` /
``-journal`` files (:func:`check_target`).

CSV cells of text (plans, kinds, raters, sessions) that a spreadsheet would run as a
formula (starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return) get a leading
single quote, as OWASP advises against CSV injection; :meth:`RatingsStore.table` and
``to_dataframe`` keep the text as stored.
"""
from __future__ import annotations

import csv
import os
from pathlib import Path
import sqlite3
from typing import Any, Callable, TextIO
import uuid

import numpy as np

from .plan import QueryPlan
from .schema import RATING_COLS, SCHEMA_VERSION, RatingError, statements

__all__ = ["FORMULA_START", "csv_cell", "check_target", "table_columns", "export_rows",
           "write_csv", "dataframe", "backup_file", "fill_sqlite"]

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_SIDE_FILES = ("-wal", "-shm", "-journal")


def csv_cell(value: Any) -> Any:
    """One CSV cell: None -> "", formula-like text quoted, numbers unchanged."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def check_target(path: str | os.PathLike, store: Path | None, what: str) -> Path:
    """Where an export of ``store`` (a SQLite file; None for a server) may be written: the
    resolved target path.

    Raises
    ------
    RatingError
        if ``path`` is (or links to) the store file or one of its side files, is a
        folder, or sits in a folder that does not exist.
    """
    given = Path(path).expanduser()
    target = Path(os.path.realpath(given))                     # through any symlinks
    own = None if store is None else Path(os.path.realpath(store))
    own_files = [] if own is None else [own] + [own.with_name(own.name + s) for s in _SIDE_FILES]
    same = target in own_files or any(
        target.exists() and f.exists() and os.path.samefile(target, f) for f in own_files)
    if same:
        raise RatingError(f"refusing to write the {what} to {given}: that is the ratings store "
                          f"{store} itself (or its {'/'.join(_SIDE_FILES)} file); writing "
                          "there would destroy it. Choose another file name.")
    if target.is_dir():
        raise RatingError(f"cannot write the {what} to {given}: it is a folder")
    if not target.parent.is_dir():
        raise RatingError(f"cannot write the {what} to {given}: folder {target.parent} "
                          "does not exist")
    return target


def _atomic(target: Path, write: Callable[[Path], None]) -> None:
    """``write(tmp)`` into a fresh file next to ``target``, then rename it over ``target``."""
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        write(tmp)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:  # make the rename itself durable (best effort: not every platform can)
        fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass


def table_columns(plan: QueryPlan, positions: dict[int, int],
                  rows: list[tuple]) -> dict[str, np.ndarray]:
    """Rating rows (``RATING_COLS``) of one plan as the columns of ``RatingsStore.table``."""
    cols = list(zip(*rows)) if rows else [()] * 9
    out = {"id": np.array(cols[0], dtype=np.int64), "query": np.array(cols[2], dtype=np.int64),
           "clip": np.array(cols[3], dtype=np.int64), "kind": np.array(cols[4], dtype=str),
           "value": np.array(cols[5], dtype=np.float64), "rater": np.array(cols[6], dtype=str),
           "session": np.array(cols[7], dtype=str), "time": np.array(cols[8], dtype=np.float64)}
    points = np.array([plan.queries[positions[r[2]]].points[r[3]] for r in rows],
                      dtype=np.float64).reshape(len(rows), plan.d)        # (n, d)
    out.update({f"x{i}": points[:, i].copy() for i in range(plan.d)})
    return out


def export_rows(rows: list[tuple], plans: dict[str, tuple[QueryPlan, dict[int, int]]]
                ) -> tuple[list[str], list[list]]:
    """Header and rows for CSV / pandas: each rating row followed by its clip's point.

    ``plans`` maps each plan name to (plan, query index -> position); a plan of lower
    dimension than the widest leaves its missing coordinates as None.
    """
    d = max((p.d for p, _ in plans.values()), default=0)
    header = RATING_COLS.split(", ") + [f"x{i}" for i in range(d)]
    out = []
    for r in rows:
        p, positions = plans[r[1]]
        x = p.queries[positions[r[2]]].points[r[3]].tolist()
        out.append(list(r) + x + [None] * (d - len(x)))
    return header, out


def write_csv(target: Path, header: list[str], rows: list[list]) -> None:
    """Write ``header`` and ``rows`` as UTF-8 CSV, formula-like text quoted, atomically."""
    def write(tmp: Path) -> None:
        # O_EXCL: never follow or reuse an existing file; mode 0o666 & ~umask, as open() would
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as f:
            _rows(f, header, rows)
    _atomic(target, write)


def _rows(f: TextIO, header: list[str], rows: list[list]) -> None:
    writer = csv.writer(f)
    writer.writerow(header)
    writer.writerows([[csv_cell(v) for v in row] for row in rows])


def dataframe(header: list[str], rows: list[list]):
    """The rows as a pandas DataFrame with integer / float columns typed (text as stored)."""
    try:
        import pandas as pd
    except ImportError as exc:
        raise ImportError("RatingsStore.to_dataframe needs pandas (pip install pandas); "
                          "to_csv() and table() work without it") from exc
    df = pd.DataFrame(rows, columns=header)
    return df.astype({"id": "int64", "query": "int64", "clip": "int64",
                      "value": "float64", "time": "float64"})


def backup_file(target: Path, copy: Callable[[sqlite3.Connection], None]) -> None:
    """Write a single-file SQLite copy to ``target``: ``copy(conn)`` fills a fresh database,
    which is checked (quick_check, schema version) before it replaces ``target``."""
    for side in _SIDE_FILES:
        if Path(f"{target}{side}").exists():
            raise RatingError(f"cannot write the backup to {target}: {target}{side} exists, so "
                              "a SQLite database there is open or was not closed cleanly; "
                              "replacing it could corrupt it. Choose another file name.")

    def write(tmp: Path) -> None:
        dest = sqlite3.connect(tmp, isolation_level=None)
        try:
            copy(dest)
            dest.execute("PRAGMA journal_mode=DELETE")     # one self-contained file
            ok = dest.execute("PRAGMA quick_check").fetchall() == [("ok",)]
            version = dest.execute("PRAGMA user_version").fetchone()[0]
        finally:
            dest.close()
        if not ok or not 1 <= version <= SCHEMA_VERSION:
            raise RatingError(f"the backup copy in {tmp} failed its check; {target} "
                              "was not written")
    _atomic(target, write)


def fill_sqlite(dest: sqlite3.Connection, tables: dict[str, list[tuple]]) -> None:
    """Make ``dest`` (an empty SQLite database) a ratings store holding ``tables``: table
    name -> rows with the columns of ``statements.DUMP_COLUMNS`` (a server's store, copied)."""
    from .statements import DUMP_COLUMNS
    dest.execute("BEGIN")
    for statement in statements():
        dest.execute(statement)
    for name, rows in tables.items():
        cols = DUMP_COLUMNS[name]
        dest.executemany(f"INSERT INTO {name} ({', '.join(cols)}) "
                         f"VALUES ({', '.join('?' * len(cols))})", rows)
    dest.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    dest.execute("COMMIT")
