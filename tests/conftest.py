"""Fixtures shared by the unit tests: the shipped space, a fresh ratings store, and a
PostgreSQL server for the store's tests on both backends.

PostgreSQL: ``./dev test`` starts a throwaway server and exports its superuser URL as
``HD_WIDGETS_TEST_POSTGRES``; without it (plain ``pytest``) the session starts one itself
(:class:`~hd_widgets.ratings.local_server.LocalServer`) and stops it at the end. A
machine without PostgreSQL fails those tests; they are never skipped.
"""
from __future__ import annotations

import os
import sqlite3
import uuid

import pytest

from hd_widgets.ratings.store import RatingsStore
from hd_widgets.speech.space import FeatureSpace

from _backends import schema_url, table_rows

POSTGRES_ENV = "HD_WIDGETS_TEST_POSTGRES"
BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(autouse=True)
def _no_process_replacement(monkeypatch):
    """``rate-page`` hands its process to Voila with ``os.execve``; a test that reached it
    unpatched would replace pytest itself with a server that never ends. Tests that check
    the hand-over patch ``os.execve`` themselves, after this."""
    def refuse(path, args, env):
        raise AssertionError(f"a test tried to replace the test process with {args[:3]}")
    monkeypatch.setattr(os, "execve", refuse)


@pytest.fixture(scope="session")
def space() -> FeatureSpace:
    """The shipped corpus's space, d = 2 (analysed once, cached)."""
    return FeatureSpace.default(2)


@pytest.fixture
def store(tmp_path):
    """An empty SQLite ratings store in the test's own folder, closed afterwards."""
    s = RatingsStore(tmp_path / "ratings.sqlite")
    yield s
    s.close()


# ---------------------------------------------------------------------------- PostgreSQL
@pytest.fixture(scope="session")
def postgres_url():
    """A superuser's URL on a PostgreSQL server for this test session (never skipped)."""
    url = os.environ.get(POSTGRES_ENV, "").strip()
    if url:
        yield url
        return
    from hd_widgets.ratings.local_server import LocalServer, ServerError
    try:
        server = LocalServer.start()
    except ServerError as exc:
        pytest.fail(f"no PostgreSQL server for the store's tests ({exc}); ./dev test installs "
                    f"and starts one, or set {POSTGRES_ENV}", pytrace=False)
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def postgres_admin(postgres_url):
    """A SQLAlchemy engine for the superuser (no pool: nothing stays connected)."""
    import sqlalchemy as sa
    engine = sa.create_engine(postgres_url, poolclass=sa.pool.NullPool)
    yield engine
    engine.dispose()


@pytest.fixture
def pg_schema(postgres_admin, postgres_url):
    """A fresh, empty schema on the test server: (name, superuser URL into it); dropped
    afterwards."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    with postgres_admin.begin() as c:
        c.exec_driver_sql(f"CREATE SCHEMA {name}")
    yield name, schema_url(postgres_url, name)
    with postgres_admin.begin() as c:
        c.exec_driver_sql(f"DROP SCHEMA {name} CASCADE")


@pytest.fixture(params=BACKENDS)
def location(request, tmp_path):
    """Where a new store goes, once per backend: a SQLite path, or a PostgreSQL URL into a
    fresh schema."""
    if request.param == "sqlite":
        return str(tmp_path / "r.sqlite")
    return request.getfixturevalue("pg_schema")[1]


@pytest.fixture
def snapshot():
    """``snapshot(store)``: every row of every table, through a separate connection."""
    return table_rows
