"""Does the ratings store lose nothing and refuse no one?

Crash trials: a child process rates in a loop and prints each rating id right after
``rate`` returns; the parent SIGKILLs it at a random (seeded) moment, reopens the store
and counts acknowledged ids that are missing or changed (``ratings_lost``). All trials
use one rater, so each child also resumes (``next_query``) where the killed one stopped.
Concurrency: 16 processes x 250 ratings into one store, all starting at the same instant.
``rate_ms_median``: one ``rate`` call (a 2-clip query, committed with fsync).
Interrupt trials: one child process rates through ``listeners.answer`` in a loop; the
parent sends it SIGINT (a kernel interrupt) at random (seeded) moments, in every other
trial while the child waits for a write lock that the parent holds. The child catches
the KeyboardInterrupt and stops; the parent, as another rater, must then write within
2 s (else ``interrupt_lockouts``); then the child's same store object must write again
(else ``interrupt_wedged``), and the child rates on. ``interrupt_ratings_lost`` counts
acknowledged ratings missing or changed at the end.

Goals: ratings_lost = 0, concurrent_written = concurrent_expected, concurrent_errors = 0,
interrupt_wedged = 0, interrupt_lockouts = 0, interrupt_ratings_lost = 0.
"""
from pathlib import Path
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

import numpy as np

from hd_widgets.ratings.plan import Query, QueryPlan, nes_plan
from hd_widgets.ratings.store import RatingsStore

sys.path.insert(0, str(Path(__file__).parent))
from _store_writer import value  # noqa: E402

WRITER = str(Path(__file__).with_name("_store_writer.py"))
TRIALS, PROCS, PER_PROC = 30, 16, 250
INTERRUPTS = 220                                       # half of them during a lock wait
rng = np.random.default_rng(0)


def single_clip_plan(name: str, n: int) -> QueryPlan:
    return QueryPlan(name, tuple(Query(i, np.array([[i / n, 0.0]]), ("real",)) for i in range(n)))


def crash_trials(path: Path) -> int:
    with RatingsStore(path) as store:
        store.add_plan(single_clip_plan("crash", 20000))
    acked: list[int] = []
    for _ in range(TRIALS):
        child = subprocess.Popen([sys.executable, WRITER, "crash", str(path), "k"],
                                 stdout=subprocess.PIPE, text=True)
        acked.append(int(child.stdout.readline()))        # it is up and writing
        time.sleep(rng.uniform(0.0, 0.25))
        child.send_signal(signal.SIGKILL)
        out, _ = child.communicate()
        assert child.returncode == -signal.SIGKILL, "the writer finished before it was killed"
        acked += [int(line) for line in out.splitlines()]
    with RatingsStore(path) as store:
        stored = {r.id: r for r in store.ratings("crash", rater="k")}
    return sum(i not in stored or stored[i].value != value(stored[i].query) for i in acked)


class Child:
    """The interrupted writer: a child process of ``_store_writer.py interrupt``."""

    def __init__(self, path: Path) -> None:
        self.proc = subprocess.Popen([sys.executable, WRITER, "interrupt", str(path), "kid"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.acked: list[int] = []
        self.read_until("ready")

    def read_until(self, word: str) -> str | None:
        """Lines up to the first starting with ``word`` (None if the child exited)."""
        while line := self.proc.stdout.readline():
            if line.startswith("ack "):
                self.acked.append(int(line.split()[1]))
            elif line.startswith(word):
                return line.strip()
        return None

    def stop(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def interrupt_trials(path: Path) -> tuple[int, int, int, int, int]:
    """(wedged, lockouts, ratings lost, child exits, SIGINTs during a lock wait) over
    ``INTERRUPTS`` SIGINTs."""
    with RatingsStore(path) as store:
        store.add_plan(single_clip_plan("intr", 50000))
    other = RatingsStore(path, timeout=2.0)                 # another rater, another process
    holder = sqlite3.connect(path, timeout=2.0, isolation_level=None)
    child, acked = Child(path), []
    wedged = lockouts = exits = waits = 0
    for trial in range(INTERRUPTS):
        waiting = trial % 2 == 1
        if waiting:                                         # the child will wait for this lock
            try:
                holder.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError:                # a wedged child holds it (counted)
                waiting = False
        if waiting:
            time.sleep(rng.uniform(0.002, 0.03))
        else:
            time.sleep(rng.uniform(0.0, 0.03))
        child.proc.send_signal(signal.SIGINT)
        waits += waiting
        if waiting:
            time.sleep(rng.uniform(0.0, 0.005))
            holder.execute("COMMIT")
        ok = child.read_until("interrupted") is not None
        try:
            other.rate("intr", trial, [value(trial)], rater="other")
        except sqlite3.OperationalError:
            lockouts += 1
        if ok:
            child.proc.stdin.write("go\n")
            child.proc.stdin.flush()
            probe = child.read_until("probe")
            ok = probe is not None
            wedged += ok and probe != "probe ok"
        if not ok:                                          # died: count it, start another
            exits += 1
            acked += child.acked
            child.proc.wait(timeout=30)
            child = Child(path)
    child.proc.send_signal(signal.SIGINT)
    child.read_until("interrupted")
    child.stop()
    acked += child.acked
    holder.close()
    other.close()
    with RatingsStore(path) as store:
        stored = {r.id: r for r in store.ratings("intr", rater="kid")}
    lost = sum(i not in stored or stored[i].value != value(stored[i].query) for i in acked)
    return wedged, lockouts, lost, exits, waits


def concurrency(path: Path) -> tuple[int, int]:
    with RatingsStore(path) as store:
        store.add_plan(single_clip_plan("many", PER_PROC))
    start = time.time() + 5.0                              # every writer up and waiting
    children = [subprocess.Popen([sys.executable, WRITER, "concurrent", str(path), f"r{i}",
                                  str(PER_PROC), str(start)],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for i in range(PROCS)]
    errors = 0
    for child in children:
        out, err = child.communicate(timeout=120)
        ok = child.returncode == 0 and out.startswith("errors: ")
        errors += int(out.split()[1]) if ok else PER_PROC
        if err.strip():
            print(err.strip()[:500], file=sys.stderr)
    with RatingsStore(path) as store:
        return len(store.ratings("many")), errors


def rate_ms(path: Path, n: int = 200) -> float:
    plan = nes_plan(np.zeros((1, 2)), n_periphery=n, n_pairs=1, seed=0)
    times = []
    with RatingsStore(path) as store:
        store.add_plan(plan)
        for q in plan.queries:
            t0 = time.perf_counter()
            store.rate("nes", q.index, [0.25, 0.75], rater="t")
            times.append(time.perf_counter() - t0)
    return 1e3 * float(np.median(times))


with tempfile.TemporaryDirectory() as tmp:
    lost = crash_trials(Path(tmp) / "crash.sqlite")
    written, errors = concurrency(Path(tmp) / "many.sqlite")
    ms = rate_ms(Path(tmp) / "rate.sqlite")
    t0 = time.perf_counter()
    wedged, lockouts, interrupt_lost, exits, waits = interrupt_trials(Path(tmp) / "intr.sqlite")
    interrupt_s = time.perf_counter() - t0
print(f"crash_trials: {TRIALS}")
print(f"ratings_lost: {lost}")
print(f"concurrent_written: {written}")
print(f"concurrent_expected: {PROCS * PER_PROC}")
print(f"concurrent_errors: {errors}")
print(f"rate_ms_median: {ms:.3f}")
print(f"interrupt_trials: {INTERRUPTS}")
print(f"interrupt_during_lock_wait: {waits}")
print(f"interrupt_wedged: {wedged}")
print(f"interrupt_lockouts: {lockouts}")
print(f"interrupt_ratings_lost: {interrupt_lost}")
print(f"interrupt_child_exits: {exits}")
print(f"interrupt_seconds: {interrupt_s:.1f}")
