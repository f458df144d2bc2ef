"""A class beyond one machine: 60 raters at once, on PostgreSQL and on SQLite.

Each rater is a separate process (as each student's kernel is: ``_classroom_rater.py``)
that rates 100 pages of one plan into one store, thinking about THINK seconds between
pages (default 0.5, exponential; people take 5 s or more, so this is a class in fast motion). All
start together: each imports and opens the store, then waits for "go".

``classroom``: expected = raters x pages submissions; written = active submissions in the
store; duplicates = submissions beyond one per (rater, page); errors = failed ``rate``
calls (each is sent again with the same submission id) plus raters that did not finish;
submit_ms = one ``rate`` call as a rater saw it (committed: fsynced by SQLite, or by the
server), p50 and p95 over every submission.

``classroom_kill``: the same, with 10 raters SIGKILLed at random moments (after a random
number of pages, at a random instant between two, often inside ``rate``) and started
again; they resume where the store says. acknowledged_lost = submissions a rater printed
as acknowledged that the store does not hold with the values given.

The PostgreSQL server is a throwaway one started here (``LocalServer``, default settings,
fsync on); SQLite is a file on the local disk. Goals: written = expected, duplicates = 0,
errors = 0, acknowledged_lost = 0 on both; PostgreSQL submit_ms_p95 <= 50 on this machine.
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

from hd_widgets.ratings import statements as S
from hd_widgets.ratings.local_server import LocalServer
from hd_widgets.ratings.plan import nes_plan
from hd_widgets.ratings.store import RatingsStore

sys.path.insert(0, str(Path(__file__).parent))
from _classroom_rater import PLAN, value  # noqa: E402

RATER = str(Path(__file__).with_name("_classroom_rater.py"))


class Rater:
    """One rater process; its stdout is read by a thread of its own."""

    def __init__(self, location: str, name: str, pages: int, think: float, seed: int) -> None:
        self.name, self.acks, self.errors, self.finished = name, [], [], False
        self.ready, self.proc = threading.Event(), subprocess.Popen(
            [sys.executable, RATER, name, str(pages), str(think), str(seed)],
            env={**os.environ, "HD_WIDGETS_STORE": location}, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            word, _, rest = line.strip().partition(" ")
            if word == "ack":
                q, first, ms = rest.split()
                self.acks.append((int(q), int(first), float(ms)))
            elif word == "err":
                self.errors.append(rest)
            elif word == "ready":
                self.ready.set()
            elif word == "done":
                self.finished = True
        self.ready.set()

    def go(self) -> None:
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def wait(self, timeout: float) -> None:
        self.proc.wait(timeout)
        self.reader.join(10)


def new_store(location: str, pages: int) -> None:
    data = np.random.default_rng(0).standard_normal((8, 2))
    plan = nes_plan(data, n_periphery=(pages + 1) // 2, n_pairs=2, seed=0, name=PLAN)
    with RatingsStore(location) as store:
        store.add_plan(plan.per_rater(shared=5))


def start(location: str, names: list[str], pages: int, think: float, seed: int) -> list[Rater]:
    """Start raters a few at a time (60 Python start-ups on 2 cores), then let all go."""
    raters = []
    for i, name in enumerate(names):
        raters.append(Rater(location, name, pages, think, seed + i))
        if i % 6 == 5:
            for r in raters[-6:]:
                r.ready.wait(120)
    for r in raters:
        r.ready.wait(120)
        if r.proc.poll() is not None:
            raise RuntimeError(f"rater {r.name} did not start: {r.proc.stderr.read()[-1500:]}")
    for r in raters:
        r.go()
    return raters


def count(location: str) -> tuple[int, int, dict]:
    """(active submissions, duplicates, {(rater, query): {first id: values}}), grouped by
    the store's own submission column (ids from a server's sequence need not be adjacent)."""
    cols = ("rater", "query", "submission", "value")
    with RatingsStore(location) as store:
        rows = store._transaction(
            lambda s: s.rows(S.active_rows(cols, True, False), {"plan": PLAN}), write=False)
    subs: dict[tuple, dict] = {}
    for rater, query, submission, v in rows:
        subs.setdefault((rater, query), {}).setdefault(submission, []).append(v)
    written = sum(len(v) for v in subs.values())
    duplicates = sum(len(v) - 1 for v in subs.values())
    return written, duplicates, subs


def classroom(backend: str, location: str, n: int, pages: int, think: float) -> None:
    new_store(location, pages)
    raters = start(location, [f"r{i:02d}" for i in range(n)], pages, think, seed=1)
    for r in raters:
        r.wait(timeout=pages * think * 20 + 300)
    written, duplicates, _ = count(location)
    ms = np.array([a[2] for r in raters for a in r.acks])
    errors = sum(len(r.errors) for r in raters) + sum(
        not r.finished or r.proc.returncode != 0 for r in raters)
    for r in raters:
        for e in r.errors[:2]:
            print(f"  {r.name}: {e}", file=sys.stderr)
    print(f"classroom backend={backend} raters={n} expected={n * pages} written={written} "
          f"duplicates={duplicates} errors={errors} submit_ms_p50={np.percentile(ms, 50):.1f} "
          f"submit_ms_p95={np.percentile(ms, 95):.1f}", flush=True)


def classroom_kill(backend: str, location: str, n: int, pages: int, think: float,
                   killed: int, seed: int = 7) -> None:
    new_store(location, pages)
    rng = random.Random(seed)
    names = [f"r{i:02d}" for i in range(n)]
    raters = start(location, names, pages, think, seed=100)
    victims = rng.sample(range(n), killed)
    plan_at = {i: rng.randint(max(1, pages // 20), max(1, pages * 9 // 10)) for i in victims}
    acked: list[tuple[str, int, int]] = []
    done_kills = 0
    while done_kills < killed:
        for i in list(plan_at):
            r = raters[i]
            if len(r.acks) >= plan_at[i]:
                time.sleep(rng.uniform(0, think))                  # often inside rate()
                r.proc.send_signal(signal.SIGKILL)
                r.wait(30)
                acked += [(r.name, q, first) for q, first, _ in r.acks]
                raters[i] = Rater(location, r.name, pages, think, seed=500 + i)
                raters[i].ready.wait(120)
                raters[i].go()
                del plan_at[i]
                done_kills += 1
        time.sleep(0.02)
    for r in raters:
        r.wait(timeout=pages * think * 20 + 300)
        acked += [(r.name, q, first) for q, first, _ in r.acks]
    written, duplicates, subs = count(location)
    lost = 0
    for name, q, first in acked:
        got = subs.get((name, q), {}).get(first)
        lost += got is None or got != [value(q, j) for j in range(len(got))]
    print(f"classroom_kill backend={backend} killed={killed} acknowledged_lost={lost} "
          f"duplicates={duplicates}", flush=True)
    if written != n * pages:
        print(f"  (written={written} of {n * pages})", file=sys.stderr)


def fresh_schema(url: str, name: str) -> str:
    import sqlalchemy as sa
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.begin() as c:
        c.exec_driver_sql(f"CREATE SCHEMA {name}")
    engine.dispose()
    return f"{url}?options=-csearch_path%3D{name}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--raters", type=int, default=60)
    ap.add_argument("--pages", type=int, default=100)
    ap.add_argument("--think", type=float, default=0.5, help="mean seconds between pages")
    ap.add_argument("--killed", type=int, default=10)
    ap.add_argument("--backends", nargs="+", default=["postgresql", "sqlite"])
    args = ap.parse_args()
    server = LocalServer.start() if "postgresql" in args.backends else None
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for backend in args.backends:
                for phase in ("classroom", "kill"):
                    t = time.monotonic()
                    if backend == "postgresql":                 # a fresh schema per phase
                        location = fresh_schema(server.url, phase)
                    else:
                        location = str(Path(tmp) / f"{phase}.sqlite")
                    if phase == "classroom":
                        classroom(backend, location, args.raters, args.pages, args.think)
                    else:
                        classroom_kill(backend, location, args.raters, args.pages, args.think,
                                       args.killed)
                    print(f"  ({backend} {phase}: {time.monotonic() - t:.0f} s)", file=sys.stderr)
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
