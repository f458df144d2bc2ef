"""One rater of bench/classroom.py: a separate process, as a student's kernel is.

``python _classroom_rater.py RATER PAGES THINK_S SEED``: opens the store named by
``HD_WIDGETS_STORE`` (a URL's password stays out of the process list), prints
``ready``, waits for ``go`` on stdin, then rates until it has answered PAGES pages (resuming
where a killed predecessor stopped), thinking THINK_S seconds on average between pages.
After each submission the store acknowledged it prints ``ack QUERY FIRST_ID MS`` (MS: the
``rate`` call in milliseconds); a failed call prints ``err ...`` and is sent again with the
same submission id, as the widget does. Ends with ``done``.
"""
import random
import sys
import time
import uuid

from hd_widgets.ratings.store import RatingsStore

PLAN = "classroom"


def value(query: int, clip: int) -> float:
    """The rating a rater gives (checked by the parent after a crash)."""
    return ((query * 7 + clip * 3) % 11) / 10


def main(rater: str, pages: int, think: float, seed: int) -> None:
    rng = random.Random(seed)
    store = RatingsStore.from_env(timeout=120)
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        return
    time.sleep(rng.uniform(0, think))              # not all at once
    done = store.progress(PLAN, rater)[0]
    while done < pages:
        q = store.next_query(PLAN, rater)
        if q is None:
            break
        vals = [value(q.index, j) for j in range(q.k)]
        submission = uuid.uuid4().hex                # made when the person clicks Submit
        while True:
            t = time.perf_counter()
            try:
                ids = store.rate(PLAN, q.index, vals, rater=rater, submission=submission)
                break
            except Exception as exc:  # noqa: BLE001 - counted by the parent
                print(f"err {type(exc).__name__}: {' '.join(str(exc).split())[:200]}", flush=True)
                time.sleep(0.5)
        print(f"ack {q.index} {ids[0]} {(time.perf_counter() - t) * 1e3:.2f}", flush=True)
        done += 1
        time.sleep(rng.expovariate(1 / think))
    store.close()
    print("done", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]))
