"""Child process for bench/store.py: writes ratings into a shared store.

    python bench/_store_writer.py crash DB RATER
        rate the plan "crash" as RATER (resuming via next_query) until killed; print each
        acknowledged rating id, flushed, right after ``rate`` returns.
    python bench/_store_writer.py concurrent DB RATER N START
        wait until time.time() >= START (so all writers collide), rate N queries of the
        plan "many" as RATER, print ``errors: E``.
    python bench/_store_writer.py interrupt DB RATER
        rate the plan "intr" as RATER in a loop, through ``hd_widgets.ratings.answering.answer`` (one query
        per call), printing ``ack ID`` after each acknowledged rating. On SIGINT print
        ``interrupted`` and wait for a line on stdin: ``go`` -> probe (one more rating
        with the same store object; print ``probe ok`` or ``probe wedged ...``) and rate
        on; end of input -> exit.
"""
import signal
import sys
import time

import numpy as np

from hd_widgets.ratings.answering import answer
from hd_widgets.ratings.store import RatingsStore


def value(index: int) -> float:
    """The value the writer gives query ``index``, so the parent can check it exactly."""
    return (index % 997) / 996


def crash(path: str, rater: str) -> None:
    store = RatingsStore(path)
    while (q := store.next_query("crash", rater)) is not None:
        ids = store.rate("crash", q.index, [value(q.index)], rater=rater)
        print(ids[0], flush=True)


def concurrent(path: str, rater: str, n: int, start: float) -> None:
    store = RatingsStore(path)
    errors = 0
    time.sleep(max(0.0, start - time.time()))
    for _ in range(n):
        try:
            q = store.next_query("many", rater)
            store.rate("many", q.index, [value(q.index)], rater=rater)
        except Exception as exc:  # noqa: BLE001 - every failure is what we count
            errors += 1
            print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
    print(f"errors: {errors}", flush=True)


class _Acking:
    """A store whose ``rate`` prints each acknowledged rating id (for the parent's count)."""

    def __init__(self, store: RatingsStore) -> None:
        self.store = store

    def next_query(self, *args, **kwargs):
        return self.store.next_query(*args, **kwargs)

    def rate(self, *args, **kwargs) -> list[int]:
        ids = self.store.rate(*args, **kwargs)
        sys.stdout.write(f"ack {ids[0]}\n")
        sys.stdout.flush()
        return ids


class _Fixed:
    """A listener that gives each clip ``value(query index)``: checkable afterwards."""

    name = "fixed"

    def __init__(self, store: RatingsStore, plan: str) -> None:
        self.points = {tuple(q.points[0]): q.index for q in store.plan(plan).queries}

    def rate(self, points: np.ndarray) -> np.ndarray:
        return np.array([value(self.points[tuple(p)]) for p in points])


def interrupt(path: str, rater: str) -> None:
    # Ctrl-C raises KeyboardInterrupt, as in a terminal or a Jupyter kernel, even when the
    # bench runs as a background job (which starts every process with SIGINT ignored)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    store = RatingsStore(path, timeout=10.0)
    listener, acking = _Fixed(store, "intr"), _Acking(store)
    print("ready", flush=True)
    while True:
        try:
            while True:
                try:
                    answer(listener, acking, "intr", rater=rater, limit=1)
                except Exception as exc:  # noqa: BLE001 - a wedged store: report, go on
                    sys.stdout.write(f"error {type(exc).__name__}: {exc}\n")
                    sys.stdout.flush()
                    time.sleep(0.01)
        except KeyboardInterrupt:
            sys.stdout.write("interrupted\n")
            sys.stdout.flush()
        if sys.stdin.readline().strip() != "go":
            return
        try:
            answer(listener, acking, "intr", rater=rater, limit=1)
            sys.stdout.write("probe ok\n")
        except Exception as exc:  # noqa: BLE001 - this is what the parent counts
            sys.stdout.write(f"probe wedged {type(exc).__name__}: {exc}\n")
        sys.stdout.flush()


if __name__ == "__main__":
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "crash":
        crash(args[0], args[1])
    elif mode == "interrupt":
        interrupt(args[0], args[1])
    else:
        concurrent(args[0], args[1], int(args[2]), float(args[3]))
