"""The server goes away: connections killed (pg_terminate_backend), the server stopped and
started again. Nothing acknowledged is lost, nothing is stored twice, and the rating widget
keeps a rating it could not send and sends it again.

These tests stop their server, so they run on one of their own (started once for the
module), not on the session's.
"""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import sqlalchemy as sa

from hd_widgets.ratings.local_server import LocalServer
from hd_widgets.ratings.plan import nes_plan
from hd_widgets.ratings.store import RatingsStore, StoreUnreachable

from _backends import schema_url


@pytest.fixture(scope="module")
def server():
    s = LocalServer.start()
    yield s
    s.stop()


@pytest.fixture
def admin(server):
    engine = sa.create_engine(server.url, poolclass=sa.pool.NullPool)
    yield engine
    engine.dispose()


@pytest.fixture
def url(server, admin):
    """A fresh store (schema) with the NES plan on the module's server."""
    name = f"t_{time.monotonic_ns()}"
    with admin.begin() as c:
        c.exec_driver_sql(f"CREATE SCHEMA {name}")
    u = schema_url(server.url, name)
    with RatingsStore(u) as s:
        s.add_plan(plan())
    yield u
    if not (server.data / "postmaster.pid").exists():
        server.resume()
    with admin.begin() as c:
        c.exec_driver_sql(f"DROP SCHEMA {name} CASCADE")


def plan():
    return nes_plan(np.random.default_rng(1).standard_normal((5, 2)), n_periphery=4,
                    n_pairs=2, seed=2)


def terminate(admin, where: str = "") -> int:
    """pg_terminate_backend on the store's connections; how many were ended."""
    with admin.connect() as c:
        return c.exec_driver_sql(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            f"WHERE application_name = 'hd_widgets' {where}").scalar()


def stored(url: str) -> list:
    with RatingsStore(url) as s:
        return [(r.query, r.clip, r.value) for r in s.ratings()]


def test_an_idle_connection_killed_is_replaced(url, admin):
    with RatingsStore(url) as s:
        s.rate("nes", 0, [0.5, 0.5], rater="ada")
        assert terminate(admin) >= 1
        s.rate("nes", 1, [0.25, 0.25], rater="ada")   # the pool pings, reconnects, rates
        assert s.next_query("nes", "ada").index == 2
    assert len(stored(url)) == 4


def test_a_connection_lost_midway_is_sent_again_and_stored_once(url, admin):
    """The rating waits inside its transaction (another session holds ada's lock), its
    connection is killed there; the store sends it again on a fresh one, once."""
    with RatingsStore(url) as s:
        holder = admin.connect()
        holder.exec_driver_sql("SELECT pg_advisory_lock(hashtextextended('hd_widgets:rater:ada', 0))")
        out: list = []
        t = threading.Thread(target=lambda: out.append(
            s.rate("nes", 0, [0.5, 0.75], rater="ada", submission="click-1")))
        t.start()
        deadline = time.monotonic() + 10
        while terminate(admin, "AND wait_event_type = 'Lock'") == 0:
            assert time.monotonic() < deadline, "the rating never waited for the lock"
            time.sleep(0.05)
        time.sleep(0.2)
        holder.exec_driver_sql("SELECT pg_advisory_unlock_all()")
        holder.close()
        t.join(timeout=20)
        assert len(out) == 1 and len(out[0]) == 2
        assert s.rate("nes", 0, [0.5, 0.75], rater="ada", submission="click-1") == out[0]
    assert stored(url) == [(0, 0, 0.5), (0, 1, 0.75)]


def test_a_submission_during_an_outage_is_stored_once_when_the_server_is_back(url, server):
    with RatingsStore(url) as s:
        first = s.rate("nes", 0, [0.5, 0.5], rater="ada")
        server.pause()
        t = time.monotonic()
        with pytest.raises(StoreUnreachable, match="unreachable|lost") as err:
            s.rate("nes", 1, [0.25, 0.75], rater="ada", submission="click-2")
        assert time.monotonic() - t < 8 and "\n" not in str(err.value)
        with pytest.raises(StoreUnreachable):
            s.next_query("nes", "ada")                   # reads say so too
        server.resume()
        again = s.rate("nes", 1, [0.25, 0.75], rater="ada", submission="click-2")
        # an acknowledgement lost after the commit: the same click arrives once more
        assert s.rate("nes", 1, [0.25, 0.75], rater="ada", submission="click-2") == again
        assert again[0] > first[-1]
        assert s.next_query("nes", "ada").index == 2
    assert stored(url) == [(0, 0, 0.5), (0, 1, 0.5), (1, 0, 0.25), (1, 1, 0.75)]


# ---------------------------------------------------------------------------- the widget
@pytest.fixture
def widget(url, space):
    from hd_widgets.widgets.rating import RatingWidget
    store = RatingsStore(url)
    w = RatingWidget(space, store, "nes", "ada")
    yield w
    w.close()
    store.close()


def test_the_widget_keeps_a_rating_through_an_outage_and_sends_it_once(widget, url, server):
    w = widget
    w.retry_delays = (60.0,)                           # this test clicks again itself
    page = w.query.index
    w.set_ratings(0.8, 0.3)
    server.pause()
    assert not w.submit()
    assert "the server is unreachable; your rating is kept and will be sent again" in w.status
    assert w.query.index == page and w.pending is not None and w.pending[1] == page
    assert not w.submit()                              # still down: still kept
    server.resume()
    assert w.submit(), w.status                        # the next click sends it
    assert w.status.startswith("Saved") and w.pending is None and w.query.index != page
    assert len(stored(url)) == 2


def test_the_widget_sends_a_kept_rating_again_by_itself(widget, url, server):
    w = widget
    w.retry_delays = (0.3,)
    page = w.query.index
    w.set_ratings(0.6, 0.4)
    server.pause()
    assert not w.submit() and w.pending is not None
    server.resume()
    deadline = time.monotonic() + 20
    while not w.status.startswith("Saved"):            # the timer's thread clicks
        assert time.monotonic() < deadline, w.status
        time.sleep(0.1)
    assert w.pending is None and w.query.index != page
    assert len(stored(url)) == 2


def test_a_kept_rating_is_sent_even_after_its_widget_is_closed(widget, url, server):
    """The person closes the tab (the widget) during the outage: the kept rating still
    goes to the store once the server is back, once."""
    w = widget
    w.retry_delays = (0.3,)
    w.set_ratings(0.7, 0.2)
    server.pause()
    assert not w.submit() and w.pending is not None
    w.close()
    server.resume()
    deadline = time.monotonic() + 20
    while w.pending is not None:                       # the timer sends it by itself
        assert time.monotonic() < deadline
        time.sleep(0.1)
    time.sleep(0.5)                                    # no second send comes after
    assert len(stored(url)) == 2


def test_a_lost_acknowledgement_is_not_stored_twice(widget, url, monkeypatch):
    """The server committed the rating but the answer never came back: the widget keeps
    it, the next click sends the same submission, and the store recognises it."""
    w = widget
    w.retry_delays = (60.0,)
    real = w.store.rate
    calls = []

    def commit_then_lose(*args, **kwargs):
        calls.append(kwargs["submission"])
        ids = real(*args, **kwargs)
        if len(calls) == 1:
            raise StoreUnreachable("the connection to the database server was lost")
        return ids
    monkeypatch.setattr(w.store, "rate", commit_then_lose)
    w.set_ratings(0.9, 0.1)
    assert not w.submit() and "kept" in w.status
    assert w.submit() and w.status.startswith("Saved")
    assert calls[0] == calls[1]                        # one submission id, sent twice
    assert len(stored(url)) == 2                       # stored once
