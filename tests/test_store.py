"""The ratings store: durable, append-only, resumable, shared, strict — on both backends.

Every test that takes ``location`` (or ``store``) runs twice: on a SQLite file and on a
PostgreSQL server (a fresh schema; conftest.py). Network file systems are SQLite's alone."""
from __future__ import annotations

import csv
import math
import multiprocessing as mp
import signal
import sqlite3
import subprocess
import sys
import unicodedata

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st, HealthCheck

from hd_widgets.ratings.plan import Query, QueryPlan, evaluation_plan, nes_plan
from hd_widgets.ratings.store import Rating, RatingError, RatingsStore

from _backends import raw_execute


def small_plan(name: str = "nes", n_periphery: int = 4, n_pairs: int = 2, d: int = 2) -> QueryPlan:
    data = np.random.default_rng(1).standard_normal((5, d))
    return nes_plan(data, n_periphery=n_periphery, n_pairs=n_pairs, seed=2, name=name)


@pytest.fixture
def store(location):
    with RatingsStore(location, session="s1") as s:
        s.add_plan(small_plan())
        yield s


# ---------------------------------------------------------------------------- plans
def test_plan_round_trip_after_reopen(location):
    path = location
    nes = small_plan(d=3)
    ev = evaluation_plan({"real": np.eye(3), "generated": -np.eye(3) / 3}, n_pages=3,
                         per_page={"real": 2, "generated": 1}, seed=0)
    with RatingsStore(path) as s:
        assert s.add_plan(nes).fingerprint() == nes.fingerprint()
        s.add_plan(ev)
        s.add_plan(nes)                                   # idempotent
    with RatingsStore(path) as s:                         # a restarted kernel
        assert s.plan_names() == ["nes", "evaluation"]
        for original in (nes, ev):
            back = s.plan(original.name)
            assert back.fingerprint() == original.fingerprint()
            assert back.config == original.config
            for a, b in zip(back.queries, original.queries):
                assert a.index == b.index and a.kinds == b.kinds and a.meta == b.meta
                assert np.array_equal(a.points, b.points)          # exact, not rounded
        assert s.add_plan(nes).fingerprint() == nes.fingerprint()


def test_plan_name_clash_and_bad_plans(location, snapshot):
    with RatingsStore(location) as s:
        s.add_plan(small_plan())
        before = snapshot(s)
        with pytest.raises(RatingError, match="different plan"):
            s.add_plan(small_plan(n_pairs=3))
        q = Query(0, np.zeros((1, 2)), ("real",), {"source": np.int64(3)})
        with pytest.raises(RatingError, match="JSON"):
            s.add_plan(QueryPlan("numpy-meta", (q,)))
        q = Query(0, np.zeros((1, 2)), ("real",), {1: "int key"})
        with pytest.raises(RatingError, match="JSON"):
            s.add_plan(QueryPlan("int-key", (q,)))
        with pytest.raises(RatingError, match="no queries"):
            s.add_plan(QueryPlan("empty", ()))
        with pytest.raises(RatingError, match="QueryPlan"):
            s.add_plan("nes")
        assert snapshot(s) == before
        with pytest.raises(RatingError, match="unknown plan 'nope'"):
            s.plan("nope")


# ---------------------------------------------------------------------------- bad input
BAD_RATES = {
    "above one": dict(values=[0.5, 1.0000001]),
    "below zero": dict(values=[-1e-300, 0.5]),
    "nan": dict(values=[math.nan, 0.5]),
    "inf": dict(values=[0.5, math.inf]),
    "str values": dict(values="0.5"),
    "str element": dict(values=["0.5", 0.5]),
    "none": dict(values=None),
    "none element": dict(values=[None, 0.5]),
    "bool element": dict(values=[True, 0.5]),
    "numpy bool": dict(values=np.array([True, False])),
    "scalar": dict(values=0.5),
    "too short": dict(values=[0.5]),
    "too long": dict(values=[0.5, 0.5, 0.5]),
    "2-D array": dict(values=np.full((2, 1), 0.5)),
    "wrong length array": dict(values=np.full(3, 0.5)),
    "complex": dict(values=[0.5 + 0j, 0.5]),
    "unknown plan": dict(plan="nope"),
    "unknown query": dict(query=99),
    "negative query": dict(query=-1),
    "float query": dict(query=1.0),
    "bool query": dict(query=True),
    "empty rater": dict(rater=""),
    "blank rater": dict(rater="   "),
    "int rater": dict(rater=7),
    "none rater": dict(rater=None),
    "nul rater": dict(rater="a\x00b"),
    "empty session": dict(session=""),
}


@pytest.mark.parametrize("case", list(BAD_RATES))
def test_bad_rate_is_refused_and_changes_nothing(store, snapshot, case):
    store.rate("nes", 0, [0.25, 0.75], rater="ada")
    before = snapshot(store)
    kwargs = dict(plan="nes", query=1, values=[0.5, 0.5], rater="ada", session=None)
    kwargs.update(BAD_RATES[case])
    with pytest.raises(RatingError):
        store.rate(kwargs.pop("plan"), kwargs.pop("query"), kwargs.pop("values"), **kwargs)
    assert snapshot(store) == before


def test_duplicate_refused_until_undone(store, snapshot):
    store.rate("nes", 0, [0.25, 0.75], rater="ada")
    store.rate("nes", 0, [0.5, 0.5], rater="bob")        # other raters may answer it too
    before = snapshot(store)
    with pytest.raises(RatingError, match="already answered"):
        store.rate("nes", 0, [0.3, 0.3], rater="ada")
    with pytest.raises(RatingError, match="already answered"):
        store.skip("nes", 0, rater="ada")
    assert snapshot(store) == before
    assert [r.value for r in store.undo(rater="ada")] == [0.25, 0.75]
    store.rate("nes", 0, [0.3, 0.4], rater="ada")        # allowed again after the undo
    assert [r.value for r in store.ratings(rater="ada")] == [0.3, 0.4]


def test_undo_with_nothing_to_undo(store, snapshot):
    before = snapshot(store)
    with pytest.raises(RatingError, match="nothing to undo"):
        store.undo(rater="ada")
    store.rate("nes", 0, [0.1, 0.2], rater="bob")
    before = snapshot(store)
    with pytest.raises(RatingError, match="nothing to undo"):
        store.undo(rater="ada")                          # bob's rating is not ada's to undo
    with pytest.raises(RatingError):
        store.undo(rater="")
    with pytest.raises(RatingError, match="unknown plan"):
        store.undo(rater="bob", plan="nope")
    assert snapshot(store) == before


def test_accepted_value_types(store):
    ids = [store.rate("nes", 0, (0, 1), rater="a"),
           store.rate("nes", 1, np.array([0.5, 0.25], dtype=np.float32), rater="a"),
           store.rate("nes", 2, [np.float64(0.1), np.int64(1)], rater="a"),
           store.rate("nes", np.int64(3), [-0.0, 0.5], rater="a")]
    assert [len(i) for i in ids] == [2, 2, 2, 2]
    vals = [r.value for r in store.ratings()]
    assert vals == [0.0, 1.0, 0.5, 0.25, 0.1, 1.0, 0.0, 0.5]
    assert all(type(v) is float for v in vals)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(bad=st.one_of(st.floats(allow_nan=True, allow_infinity=True).filter(
    lambda v: not (0.0 <= v <= 1.0)), st.sampled_from([math.nan, math.inf, -math.inf])))
def test_any_value_outside_unit_interval_is_refused(store, snapshot, bad):
    before = snapshot(store)
    for values in ([bad, 0.5], [0.5, bad], np.array([0.5, bad])):
        with pytest.raises(RatingError):
            store.rate("nes", 0, values, rater="ada")
    assert snapshot(store) == before


def test_any_value_in_unit_interval_and_any_rater_stored_exactly(location):
    with RatingsStore(location) as s:
        s.add_plan(small_plan())
        unit = st.floats(min_value=0.0, max_value=1.0)
        rater_ids = st.text(min_size=1, max_size=20).filter(
            lambda r: r.strip() and "\x00" not in r)

        @settings(max_examples=80, deadline=None)
        @given(a=unit, b=unit, rater=rater_ids)
        def check(a, b, rater):
            if s.ratings("nes", rater=rater):
                s.undo(rater=rater)
            ids = s.rate("nes", 0, [a, b], rater=rater)
            got = {r.id: r for r in s.ratings("nes", rater=rater)}
            assert [got[i].value for i in ids] == [a, b]
            stored_as = unicodedata.normalize("NFC", rater.strip())   # one id per person
            assert got[ids[0]].rater == stored_as
            assert stored_as in s.raters("nes")
        check()


# ---------------------------------------------------------------------------- resume, skip, undo
def test_resume_after_reopen(location):
    path = location
    plan = small_plan()
    s = RatingsStore(path)
    s.add_plan(plan)
    for _ in range(3):
        q = s.next_query("nes", "ada")
        s.rate("nes", q.index, [0.5, 0.5], rater="ada")
    # not closed, as after a kernel crash; a new object is the restarted kernel
    s2 = RatingsStore(path)
    assert s2.session != s.session
    assert s2.next_query("nes", "ada").index == plan.queries[3].index
    assert s2.progress("nes", "ada") == (3, len(plan))
    assert s2.next_query("nes", "bob").index == plan.queries[0].index
    while (q := s2.next_query("nes", "ada")) is not None:
        s2.rate("nes", q.index, [0.1, 0.9], rater="ada")
    assert s2.progress("nes", "ada") == (len(plan), len(plan))
    assert s2.progress("nes") == (len(plan), len(plan))
    assert len({r.session for r in s2.ratings()}) == 2
    s2.close()
    s.close()


def test_skipped_queries_come_back_last(store):
    order = [q.index for q in store.plan("nes").queries]
    store.skip("nes", order[0], rater="ada")
    store.skip("nes", order[2], rater="ada")
    store.skip("nes", order[0], rater="ada")          # skipped again: now the latest skip
    seen = []
    while (q := store.next_query("nes", "ada")) is not None:
        seen.append(q.index)
        store.rate("nes", q.index, [0.5, 0.5], rater="ada")
    rest = [i for i in order if i not in (order[0], order[2])]
    assert seen == rest + [order[2], order[0]]
    assert store.next_query("nes", "bob").index == order[0]   # skips are per rater



def test_per_rater_order_shares_the_first_pages_then_spreads_a_class(location):
    plan = small_plan(n_periphery=10, n_pairs=2).per_rater(shared=3)     # 20 queries
    with RatingsStore(location) as s:
        s.add_plan(plan)
        seen = {}
        for rater in ("ada", "bob", "cy"):
            seen[rater] = []
            while (q := s.next_query("nes", rater)) is not None:
                seen[rater].append(q.index)
                s.rate("nes", q.index, [0.5, 0.5], rater=rater)
            assert sorted(seen[rater]) == sorted(q.index for q in plan)   # each query once
            assert seen[rater] == [plan[i].index for i in plan.order_for(rater)]
        first = [q.index for q in plan.queries[:3]]
        assert all(v[:3] == first for v in seen.values())
        assert len({tuple(v[3:8]) for v in seen.values()}) == 3        # then different pages
        assert s.plan("nes").order_for("bob") == plan.order_for("bob")  # stored with the plan
    assert small_plan().order_for("ada") == list(range(len(small_plan())))
    with pytest.raises(ValueError, match="shared"):
        small_plan().per_rater(shared=99)

def test_undo_is_an_event_not_a_delete(store, snapshot):
    ids = store.rate("nes", 0, [0.2, 0.8], rater="ada")
    store.rate("nes", 1, [0.3, 0.7], rater="bob")
    undone = store.undo(rater="ada")
    assert [r.id for r in undone] == ids and all(isinstance(r, Rating) for r in undone)
    raw = snapshot(store)
    assert [r[0] for r in raw["ratings"]] == ids + [ids[1] + 1, ids[1] + 2]   # rows remain
    assert [(e[1], e[2], e[3], e[4]) for e in raw["events"]] == [("undo", "nes", 0, "ada")]
    assert [u[0] for u in raw["undone"]] == ids
    assert [r.rater for r in store.ratings()] == ["bob", "bob"]
    assert store.raters() == ["bob"]
    assert store.progress("nes", "ada") == (0, len(store.plan("nes")))
    assert store.next_query("nes", "ada").index == 0
    for sql in ("DELETE FROM ratings", "UPDATE events SET rater = 'x'", "DELETE FROM undone",
                "DELETE FROM submissions"):
        with pytest.raises(Exception, match="append-only"):
            raw_execute(store, sql)
    assert snapshot(store) == raw


def test_undo_takes_the_last_submission_in_plan(store):
    store.add_plan(small_plan("other"))
    store.rate("nes", 0, [0.1, 0.1], rater="ada")
    store.rate("other", 0, [0.2, 0.2], rater="ada")
    store.rate("nes", 1, [0.3, 0.3], rater="ada")
    assert [r.value for r in store.undo(rater="ada", plan="other")] == [0.2, 0.2]
    assert [r.value for r in store.undo(rater="ada")] == [0.3, 0.3]
    assert [r.value for r in store.undo(rater="ada")] == [0.1, 0.1]
    with pytest.raises(RatingError):
        store.undo(rater="ada")


# ---------------------------------------------------------------------------- export
def test_table_csv_and_dataframe(store, tmp_path):
    plan = store.plan("nes")
    store.rate("nes", 2, [0.125, 1 / 3], rater="ada")
    store.rate("nes", 0, [0.0, 1.0], rater="bob", session="lab")
    store.rate("nes", 1, [0.5, 0.5], rater="ada")
    store.undo(rater="ada")
    tab = store.table("nes")
    assert list(tab["query"]) == [2, 2, 0, 0] and list(tab["clip"]) == [0, 1, 0, 1]
    assert list(tab["value"]) == [0.125, 1 / 3, 0.0, 1.0]
    assert list(tab["rater"]) == ["ada", "ada", "bob", "bob"]
    assert list(tab["session"]) == ["s1", "s1", "lab", "lab"]
    assert list(tab["kind"]) == ["plus", "minus", "plus", "minus"]
    pts = np.stack([tab["x0"], tab["x1"]], axis=1)
    assert np.array_equal(pts, np.concatenate([plan.queries[2].points, plan.queries[0].points]))

    path = store.to_csv(tmp_path / "out.csv")
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["id", "plan", "query", "clip", "kind", "value", "rater",
                             "session", "time", "x0", "x1"]
    assert [float(r["value"]) for r in rows] == [0.125, 1 / 3, 0.0, 1.0]      # exact
    assert [float(r["x1"]) for r in rows] == list(tab["x1"])
    assert [r["plan"] for r in rows] == ["nes"] * 4

    df = store.to_dataframe("nes")
    assert list(df.columns) == list(rows[0])
    assert df["value"].tolist() == [0.125, 1 / 3, 0.0, 1.0]
    assert df["x0"].tolist() == list(tab["x0"]) and df["rater"].tolist() == list(tab["rater"])
    assert df["time"].dtype == np.float64 and df["query"].dtype == np.int64
    assert repr(store) == f"RatingsStore({store.where!r}, plans=['nes'], ratings=4)"


def test_empty_table_and_mixed_dimensions(store, tmp_path):
    tab = store.table("nes")
    assert all(len(v) == 0 for v in tab.values()) and "x1" in tab
    store.add_plan(small_plan("three", d=3))
    store.rate("three", 0, [0.5, 0.5], rater="ada")
    store.rate("nes", 0, [0.5, 0.5], rater="ada")
    with open(store.to_csv(tmp_path / "all.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["x2"] != "" for r in rows] == [True, True, False, False]


def test_dataframe_without_pandas(store, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match="needs pandas"):
        store.to_dataframe()


def test_closed_store(location):
    s = RatingsStore(location)
    s.close()
    s.close()
    assert "closed" in repr(s)
    with pytest.raises(ValueError, match="closed"):
        s.plan_names()


# ---------------------------------------------------------------------------- processes
def _writer(path: str, rater: str, n: int, out) -> None:
    errors = 0
    with RatingsStore(path) as s:
        for _ in range(n):
            try:
                q = s.next_query("many", rater)
                s.rate("many", q.index, [0.5], rater=rater)
            except Exception:               # noqa: BLE001 - counted, the test expects none
                errors += 1
    out.put(errors)


def _racer(path: str, barrier, out) -> None:
    with RatingsStore(path) as s:
        barrier.wait()
        try:
            s.rate("nes", 0, [0.5, 0.5], rater="same")
            out.put("ok")
        except RatingError:
            out.put("refused")


def _many_plan(n: int) -> QueryPlan:
    return QueryPlan("many", tuple(Query(i, np.array([[i, 0.0]]), ("real",)) for i in range(n)))


def test_concurrent_writers(location):
    path = location
    with RatingsStore(path) as s:
        s.add_plan(_many_plan(30))
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(path, f"r{i}", 30, out)) for i in range(4)]
    for p in procs:
        p.start()
    errors = [out.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert errors == [0] * 4
    with RatingsStore(path) as s:
        assert len(s.ratings("many")) == 120
        assert all(s.progress("many", f"r{i}") == (30, 30) for i in range(4))


def test_racing_duplicate_submissions_exactly_one_wins(store, location):
    ctx = mp.get_context("spawn")
    barrier, out = ctx.Barrier(4), ctx.Queue()
    procs = [ctx.Process(target=_racer, args=(location, barrier, out)) for _ in range(4)]
    for p in procs:
        p.start()
    results = sorted(out.get(timeout=60) for _ in procs)
    for p in procs:
        p.join(timeout=60)
    assert results == ["ok", "refused", "refused", "refused"]
    assert len(store.ratings(rater="same")) == 2


def test_sigkill_loses_no_acknowledged_rating(location):
    path = location
    with RatingsStore(path) as s:
        s.add_plan(_many_plan(5000))
    code = ("import sys\nfrom hd_widgets.ratings.store import RatingsStore\n"
            "s = RatingsStore(sys.argv[1])\n"
            "for i in range(5000):\n"
            "    ids = s.rate('many', i, [0.5], rater='k')\n"
            "    print(ids[0], flush=True)\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(path)], stdout=subprocess.PIPE,
                            text=True)
    acked = [int(proc.stdout.readline()) for _ in range(50)]   # killed while still writing
    proc.send_signal(signal.SIGKILL)
    rest, _ = proc.communicate()
    acked += [int(line) for line in rest.splitlines() if line.strip()]
    assert proc.returncode == -signal.SIGKILL
    with RatingsStore(path) as s:
        stored = {r.id for r in s.ratings("many")}
        assert set(acked) <= stored
        assert s.next_query("many", "k").index == len(stored)


def test_network_file_systems_are_recognised_and_refused(tmp_path, monkeypatch):
    from hd_widgets.ratings import filesystems, store as store_module
    mounts = ("/dev/sda1 / ext4 rw 0 0\n"
              "server:/export /srv/class nfs4 rw,relatime 0 0\n"
              "/dev/sdb1 /srv/class/local ext4 rw 0 0\n"
              "//nas/share /mnt/my\\040share cifs rw 0 0\n"
              "//nas/ñ /mnt/Übung\\040ñ smb3 rw 0 0\n")
    nfs = filesystems.network_filesystem
    assert nfs("/srv/class/ratings.sqlite", mounts) == "nfs4"
    assert nfs("/srv/class", mounts) == "nfs4"
    assert nfs("/srv/class/local/r.sqlite", mounts) is None      # deepest mount decides
    assert nfs("/srv/classroom/r.sqlite", mounts) is None         # a prefix is not a parent
    assert nfs("/mnt/my share/r.sqlite", mounts) == "cifs"
    assert nfs("/mnt/Übung ñ/r.sqlite", mounts) == "smb3"            # non-ASCII paths as written
    assert nfs("/home/alex/r.sqlite", mounts) is None
    assert nfs(tmp_path / "r.sqlite") is None                     # this machine's real mounts
    monkeypatch.setattr(store_module, "network_filesystem", lambda path: "nfs4")
    with pytest.raises(RatingError, match="network file system"):
        RatingsStore(tmp_path / "shared.sqlite")
    assert not (tmp_path / "shared.sqlite").exists()
