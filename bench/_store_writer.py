"""Child process for bench/store.py: writes ratings into a shared store.

    python bench/_store_writer.py crash DB RATER
        rate the plan "crash" as RATER (resuming via next_query) until killed; print each
        acknowledged rating id, flushed, right after ``rate`` returns.
    python bench/_store_writer.py concurrent DB RATER N START
        wait until time.time() >= START (so all writers collide), rate N queries of the
        plan "many" as RATER, print ``errors: E``.
"""
import sys
import time

from hd_widgets.store import RatingsStore


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


if __name__ == "__main__":
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "crash":
        crash(args[0], args[1])
    else:
        concurrent(args[0], args[1], int(args[2]), float(args[3]))
