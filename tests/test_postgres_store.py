"""The ratings store on PostgreSQL: roles, refusals at opening, masked passwords, read-only
opening, interrupts, and the forms a store URL may take.

The guarantees both backends share are tested in test_store.py (parametrised); these are
the server's own. The server is the test session's (conftest.py), never skipped.
"""
from __future__ import annotations

import logging
import socket
import time
import uuid

import numpy as np
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from hd_widgets.ratings.plan import nes_plan
from hd_widgets.ratings.schema import SCHEMA_VERSION
from hd_widgets.ratings.server import PostgresSession
from hd_widgets.ratings.store import RatingError, RatingsStore, StoreUnreachable

from _backends import schema_url, table_rows


def small_plan(name: str = "nes"):
    data = np.random.default_rng(1).standard_normal((5, 2))
    return nes_plan(data, n_periphery=4, n_pairs=2, seed=2, name=name)


def one_line(exc: BaseException) -> str:
    text = str(exc)
    assert "\n" not in text and len(text) < 400, text
    return text


@pytest.fixture
def roles(postgres_admin, postgres_url):
    """A teacher role owning an empty schema, and a students' role with no rights yet:
    (teacher URL, student URL, student role name, schema)."""
    tag = uuid.uuid4().hex[:8]
    teacher, student, schema = f"teacher_{tag}", f"students_{tag}", f"class_{tag}"
    pw_t, pw_s = uuid.uuid4().hex, uuid.uuid4().hex
    with postgres_admin.begin() as c:
        c.exec_driver_sql(f"CREATE ROLE {teacher} LOGIN PASSWORD '{pw_t}'")
        c.exec_driver_sql(f"CREATE ROLE {student} LOGIN PASSWORD '{pw_s}'")
        c.exec_driver_sql(f"CREATE SCHEMA {schema} AUTHORIZATION {teacher}")
    base = make_url(postgres_url)
    url = lambda user, pw: schema_url(base.set(username=user, password=pw)  # noqa: E731
                                      .render_as_string(hide_password=False), schema)
    yield url(teacher, pw_t), url(student, pw_s), student, schema
    with postgres_admin.begin() as c:
        c.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        for role in (student, teacher):
            c.exec_driver_sql(f"DROP OWNED BY {role}")
            c.exec_driver_sql(f"DROP ROLE {role}")


def _try(url: str, sql: str) -> str:
    """Run ``sql`` as the URL's role; the database's refusal (first line), or "done"."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as c:
            c.exec_driver_sql(sql)
        return "done"
    except sa.exc.DBAPIError as exc:
        return str(exc.orig).splitlines()[0]
    finally:
        engine.dispose()


# ---------------------------------------------------------------------------- roles
CHANGES = ["UPDATE ratings SET value = 0", "DELETE FROM ratings", "TRUNCATE ratings CASCADE",
           "UPDATE events SET rater = 'bob'", "DELETE FROM undone", "DELETE FROM submissions",
           "UPDATE plans SET d = 3", "DELETE FROM queries", "UPDATE store_schema SET version = 1"]


def test_students_insert_and_read_and_can_change_nothing(roles):
    teacher_url, student_url, student, schema = roles
    with RatingsStore(teacher_url) as teacher:
        teacher.add_plan(small_plan())
        teacher.grant(student)
        teacher.rate("nes", 0, [0.5, 0.5], rater="teacher-demo")
    with RatingsStore(student_url) as s:             # what a student's kernel does
        s.rate("nes", 0, [0.25, 0.75], rater="alex")
        s.rate("nes", 1, [0.5, 0.5], rater="alex")
        s.skip("nes", 2, rater="alex")
        assert {r.query for r in s.undo(rater="alex")} == {1}   # an undo is an insert too
        assert s.add_plan(small_plan()).name == "nes"             # already there: a read
        before = table_rows(s)
        assert len(before["ratings"]) == 6 and len(before["undone"]) == 2
        for sql in CHANGES:                           # their own rows included
            assert "permission denied" in _try(student_url, sql), sql
        for sql in (f"ALTER TABLE ratings DISABLE TRIGGER ratings_append_only",
                    "DROP TABLE ratings CASCADE", "CREATE TABLE notes (x int)",
                    "INSERT INTO store_schema VALUES ('x', 1)"):
            assert "denied" in _try(student_url, sql) or "must be owner" in _try(student_url, sql)
        with RatingsStore(teacher_url) as teacher:    # the owner: the triggers refuse
            for sql in CHANGES:
                assert "append-only" in _try(teacher_url, sql), sql
            # a misconfigured grant: the triggers still refuse the students
            _try(teacher_url, f"GRANT UPDATE, DELETE, TRUNCATE ON ratings, undone TO {student}")
            for sql in ("UPDATE ratings SET value = 0", "DELETE FROM ratings", "TRUNCATE undone",
                        "DELETE FROM undone"):
                assert "append-only" in _try(student_url, sql), sql
            assert table_rows(teacher) == before


def test_a_student_cannot_create_the_store(roles):
    _, student_url, _, schema = roles
    with pytest.raises(RatingError, match="teacher opens the store once first") as err:
        RatingsStore(student_url)
    one_line(err.value)
    assert _try(student_url, "SELECT 1 FROM plans") .startswith("relation")   # nothing made


# ---------------------------------------------------------------------------- opening
def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _with(url: str, **parts) -> str:
    return make_url(url).set(**parts).render_as_string(hide_password=False)


def test_a_server_that_is_down(postgres_url):
    url = _with(postgres_url, port=_closed_port(), password="s3cret-pw")
    t = time.monotonic()
    with pytest.raises(StoreUnreachable, match="database server is unreachable") as err:
        RatingsStore(url)
    assert time.monotonic() - t < 8
    assert "s3cret-pw" not in one_line(err.value) and "***" in str(err.value)


def test_a_wrong_password(postgres_url):
    with pytest.raises(RatingError, match="refused the login.*password authentication") as err:
        RatingsStore(_with(postgres_url, password="wrong-pw-123"))
    assert "wrong-pw-123" not in one_line(err.value)


def test_a_database_that_does_not_exist(postgres_url):
    with pytest.raises(RatingError, match="no such database") as err:
        RatingsStore(_with(postgres_url, database="no_such_db"))
    one_line(err.value)


def _foreign(c):
    c.exec_driver_sql("CREATE TABLE orders (id int, item text)")
    c.exec_driver_sql("INSERT INTO orders VALUES (1, 'tea')")


def _foreign_version_table(c):
    c.exec_driver_sql("CREATE TABLE store_schema (application text, version int)")
    c.exec_driver_sql("INSERT INTO store_schema VALUES ('billing', 2)")


def _newer(c):
    c.exec_driver_sql("ALTER TABLE store_schema DISABLE TRIGGER store_schema_append_only")
    c.exec_driver_sql("UPDATE store_schema SET version = 99")


def _unknown(c):
    c.exec_driver_sql("ALTER TABLE store_schema DISABLE TRIGGER store_schema_append_only")
    c.exec_driver_sql("UPDATE store_schema SET version = 1")


def _damaged(c):
    c.exec_driver_sql("DROP TABLE submissions")


BAD_DATABASES = {
    "another application": (False, _foreign, "some other application.*orders"),
    "another application's store_schema": (False, _foreign_version_table, "not a ratings store"),
    "a newer schema version": (True, _newer, "schema version 99; this hd_widgets reads up to"),
    "an unknown schema version": (True, _unknown, "schema version 1, which this hd_widgets does not know"),
    "a damaged store": (True, _damaged, "has no table submissions"),
}


@pytest.mark.parametrize("case", list(BAD_DATABASES))
def test_a_database_that_is_not_a_sound_store_is_refused_unchanged(pg_schema, postgres_admin,
                                                                   case):
    name, url = pg_schema
    ours, make, message = BAD_DATABASES[case]
    if ours:
        with RatingsStore(url) as s:
            s.add_plan(small_plan())
            s.rate("nes", 0, [0.5, 0.5], rater="ada")
    with postgres_admin.begin() as c:
        c.exec_driver_sql(f"SET search_path = {name}")
        make(c)

    def contents():
        with postgres_admin.connect() as c:
            tables = [r[0] for r in c.exec_driver_sql(
                "SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY 1", (name,))]
            return {t: sorted(map(tuple, c.exec_driver_sql(f"SELECT * FROM {name}.{t}")),
                              key=repr) for t in tables}
    before = contents()
    with pytest.raises(RatingError, match=message) as err:
        RatingsStore(url)
    one_line(err.value)
    assert contents() == before


# ---------------------------------------------------------------------------- passwords
def test_passwords_never_shown(roles, tmp_path, caplog):
    teacher_url, _, _, _ = roles
    secret = make_url(teacher_url).password
    caplog.set_level(logging.DEBUG)                   # SQLAlchemy's engine and pool too
    with RatingsStore(teacher_url) as s:
        s.add_plan(small_plan())
        s.rate("nes", 0, [0.5, 0.5], rater="ada")
        shown = [repr(s), str(s), s.url, s.where, repr(s._db.engine()), str(s._db.engine().url)]
        csv, copy = s.to_csv(tmp_path / "out.csv"), s.backup(tmp_path / "copy.sqlite")
    down = _with(teacher_url, port=_closed_port())
    with pytest.raises(StoreUnreachable) as err:
        RatingsStore(down)
    shown.append(str(err.value))
    shown += [r.getMessage() for r in caplog.records] + [caplog.text]
    assert all(secret not in text for text in shown)
    assert secret.encode() not in csv.read_bytes() + copy.read_bytes()
    assert "***" in repr(s) and "ratings=1" not in repr(s)   # closed: "closed"


# ---------------------------------------------------------------------------- modes
def test_readonly_on_a_server(pg_schema):
    _, url = pg_schema
    with pytest.raises(RatingError, match="no ratings store there"):
        RatingsStore(url, readonly=True)
    with RatingsStore(url) as s:
        s.add_plan(small_plan())
        s.rate("nes", 0, [0.5, 0.5], rater="ada")
    with RatingsStore(url, readonly=True) as ro:
        assert len(ro.ratings()) == 2 and ro.next_query("nes", "ada").index == 1
        for call in (lambda: ro.rate("nes", 1, [0.5, 0.5], rater="ada"),
                     lambda: ro.undo(rater="ada"), lambda: ro.add_plan(small_plan("new"))):
            with pytest.raises(RatingError, match="read-only"):
                call()
        assert repr(ro).endswith("ratings=2, readonly)")


def test_an_interrupt_inside_a_transaction_leaves_nothing_held(pg_schema, postgres_admin,
                                                               monkeypatch):
    _, url = pg_schema
    with RatingsStore(url) as s, RatingsStore(url, timeout=2.0) as other:
        s.add_plan(small_plan())
        s.rate("nes", 0, [0.5, 0.5], rater="ada")
        real = PostgresSession.run

        def interrupted(self, stmt, params=None):
            real(self, stmt, params)
            if getattr(stmt, "is_insert", False) and stmt.table.name == "ratings":
                raise KeyboardInterrupt               # a Ctrl-C after the insert ran
        monkeypatch.setattr(PostgresSession, "run", interrupted)
        with pytest.raises(KeyboardInterrupt):
            s.rate("nes", 1, [0.25, 0.25], rater="ada")
        monkeypatch.setattr(PostgresSession, "run", real)
        assert [r.query for r in other.ratings()] == [0, 0]           # rolled back
        other.rate("nes", 1, [0.75, 0.75], rater="ada")   # ada's lock is not held
        s.rate("nes", 2, [0.5, 0.5], rater="ada")         # the same object keeps working
        with postgres_admin.connect() as c:
            stuck = c.exec_driver_sql("SELECT count(*) FROM pg_stat_activity WHERE "
                                      "state LIKE 'idle in transaction%%'").scalar()
        assert stuck == 0


def test_store_urls(tmp_path, postgres_url, pg_schema, monkeypatch):
    _, url = pg_schema
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    with RatingsStore(plain) as s:                    # as hosting services print them
        assert s.backend == "postgresql" and s.url.startswith("postgresql+psycopg://")
    with RatingsStore(f"sqlite:///{tmp_path}/u.sqlite") as s:   # a file, the SQLite path
        assert s.backend == "sqlite" and s.path == tmp_path / "u.sqlite"
        assert s._db.__class__.__name__ == "Database"
    for bad, message in [("sqlite://", "must be a file"), ("mysql://u:pw@h/db", "not on mysql"),
                         ("postgresql+psycopg2://u:pw@h/db", "psycopg 3")]:
        with pytest.raises(RatingError, match=message) as err:
            RatingsStore(bad)
        assert ":pw@" not in str(err.value)
    monkeypatch.setenv("HD_WIDGETS_STORE", url)
    with RatingsStore.from_env(tmp_path / "unused.sqlite") as s:
        assert s.backend == "postgresql"
    monkeypatch.delenv("HD_WIDGETS_STORE")
    with RatingsStore.from_env(tmp_path / "fallback.sqlite") as s:
        assert s.path == tmp_path / "fallback.sqlite"
    assert SCHEMA_VERSION == 2
