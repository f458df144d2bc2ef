"""Helpers for the store's tests on both backends (imported by conftest.py and tests)."""
from __future__ import annotations

import sqlite3

from hd_widgets.ratings.store import RatingsStore

TABLES = ("plans", "queries", "ratings", "events", "undone", "submissions")


def schema_url(url: str, schema: str) -> str:
    """``url`` with the store in ``schema`` (libpq's options: search_path)."""
    from sqlalchemy.engine import make_url
    return make_url(url).update_query_dict({"options": f"-csearch_path={schema}"}) \
        .render_as_string(hide_password=False)


def _engine_of(store: RatingsStore):
    """A separate engine to the server of ``store`` (cached on it; never its own pool)."""
    import sqlalchemy as sa
    engine = getattr(store, "_test_engine", None)
    if engine is None:
        engine = sa.create_engine(store._db.engine().url, poolclass=sa.pool.NullPool)
        store._test_engine = engine
    return engine


def table_rows(store: RatingsStore) -> dict[str, list]:
    """Every row of every table of ``store``, read through a separate connection."""
    if store.backend == "sqlite":
        with sqlite3.connect(store.path) as c:
            names = {r[0] for r in c.execute("SELECT name FROM sqlite_master")}
            return {t: c.execute(f"SELECT * FROM {t} ORDER BY rowid").fetchall()
                    for t in TABLES if t in names}
    with _engine_of(store).connect() as c:
        order = {"plans": "rowid"}
        return {t: [tuple(r) for r in c.exec_driver_sql(
                    f"SELECT * FROM {t} ORDER BY {order.get(t, '1, 2')}")] for t in TABLES}


def raw_execute(store: RatingsStore, sql: str) -> None:
    """Run ``sql`` on the store's database through a separate connection and commit."""
    if store.backend == "sqlite":
        with sqlite3.connect(store.path) as c:
            c.execute(sql)
        return
    with _engine_of(store).begin() as c:
        c.exec_driver_sql(sql)


