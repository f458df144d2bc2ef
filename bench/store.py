"""Does the ratings store lose nothing and refuse no one?

Crash trials: a child process rates in a loop and prints each rating id right after
``rate`` returns; the parent SIGKILLs it at a random (seeded) moment, reopens the store
and counts acknowledged ids that are missing or changed (``ratings_lost``). All trials
use one rater, so each child also resumes (``next_query``) where the killed one stopped.
Concurrency: 16 processes x 250 ratings into one store, all starting at the same instant.
``rate_ms_median``: one ``rate`` call (a 2-clip query, committed with fsync).

Goals: ratings_lost = 0, concurrent_written = concurrent_expected, concurrent_errors = 0.
"""
from pathlib import Path
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np

from hd_widgets.plan import Query, QueryPlan, nes_plan
from hd_widgets.store import RatingsStore

sys.path.insert(0, str(Path(__file__).parent))
from _store_writer import value  # noqa: E402

WRITER = str(Path(__file__).with_name("_store_writer.py"))
TRIALS, PROCS, PER_PROC = 30, 16, 250
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
print(f"crash_trials: {TRIALS}")
print(f"ratings_lost: {lost}")
print(f"concurrent_written: {written}")
print(f"concurrent_expected: {PROCS * PER_PROC}")
print(f"concurrent_errors: {errors}")
print(f"rate_ms_median: {ms:.3f}")
