"""Rating widget latency: from a submit to the next pair being playable (server side).

Drives :class:`RatingWidget` through its programmatic twins (set the sliders, click
Submit) with the real feature space and a real SQLite store in a temp dir. Between
submits the "listener" waits until the background render of the next pair has finished
(a person spends seconds listening; rendering a pair takes about 50 ms). The clock runs
from ``submit()`` to its return, by which point the store has committed the ratings and
both players hold the next pair's WAV bytes.

Prints ``next_pair_ms_median``, ``next_pair_ms_p95`` and, measured interleaved in the
same run, ``render_pair_ms_median``: rendering the same pairs synchronously, which is what
every submit would cost without the prefetch. Goal: next_pair_ms_median < 40.

Then ``round_boundary_wait_ms_median`` and ``_p95``: a study in rounds rated through
:class:`~hd_widgets.widgets.study.StudyWidget`, the rater's wait between the last page of a
round and the first page of the next while the next round is fitted (planned in the
background over the round's last pages, on which the simulated rater spends 4 s each).
Goal: <= 1000 ms.
"""
from pathlib import Path
import tempfile
import time

import numpy as np

from hd_widgets.ratings.plan import nes_plan
from hd_widgets.speech.space import FeatureSpace
from hd_widgets.ratings.store import RatingsStore
from hd_widgets.widgets.rating import RatingWidget

N_WARMUP, N = 3, 60
space = FeatureSpace.default(2)
plan = nes_plan(space.points, n_periphery=N + N_WARMUP + 1, n_pairs=1, seed=0)
rng = np.random.default_rng(0)
with tempfile.TemporaryDirectory() as tmp:
    store = RatingsStore(Path(tmp) / "bench.sqlite")
    w = RatingWidget(space, store, plan, "bench")
    next_pair, render_pair = [], []
    for i in range(N + N_WARMUP):
        for fut in list(w._prefetch._futures.values()):   # the listener is still listening
            fut.result()
        w.set_ratings(*rng.uniform(0, 1, 2))
        t0 = time.perf_counter()
        assert w.submit(), w.status
        t1 = time.perf_counter()
        assert all(p.value for p in w._players)           # the next pair is loaded
        for p in w.query.points:                          # the same pair, rendered on demand
            space.render_wav(p)
        t2 = time.perf_counter()
        if i >= N_WARMUP:
            next_pair.append(t1 - t0)
            render_pair.append(t2 - t1)
    hits, misses = w._prefetch.hits, w._prefetch.misses
    w.close()
    store.close()
next_ms, render_ms = np.array(next_pair) * 1e3, np.array(render_pair) * 1e3
print(f"next_pair_ms_median: {np.median(next_ms):.2f}")
print(f"next_pair_ms_p95: {np.percentile(next_ms, 95):.2f}")
print(f"render_pair_ms_median: {np.median(render_ms):.2f}")
print(f"prefetch_hits: {hits} of {hits + misses} pages")

# ---------------------------------------------------------------------- round boundaries
# A study in rounds (StudyWidget): the rater's wait between the last page of a round and
# the first page of the next, while the next round is fitted. The next round is planned in
# the background over the round's last pages; the simulated rater spends PAGE_S seconds on
# each of those pages (people take about 4-6 s a page) and no time on the others.
from hd_widgets.ratings.listeners import SimulatedListener  # noqa: E402
from hd_widgets.study.rounds import RoundsConfig, RoundsStudy  # noqa: E402
from hd_widgets.widgets.study import StudyWidget  # noqa: E402

PAGE_S, STUDIES = 4.0, 3
listener = SimulatedListener.from_data(space.points, seed=1)
waits = []
with tempfile.TemporaryDirectory() as tmp:
    for s in range(STUDIES):
        store = RatingsStore(Path(tmp) / f"study{s}.sqlite")
        study = RoundsStudy(store, space.points, RoundsConfig(budget=300, seed=s))
        w = StudyWidget(space, study, "bench", poll_s=None)
        while w.query is not None:
            done, total = store.progress(w.plan.name)
            if total - done <= w.prepare_at:
                time.sleep(PAGE_S)                     # listening to one of the last pages
            w.answer_with(listener, n=1)
        waits += w.boundary_waits_ms
        w.close(); study.close(); store.close()
waits = np.array(waits)
print(f"round_boundaries: {len(waits)} ({STUDIES} studies of 300 ratings in 3 rounds, "
      f"{PAGE_S:.0f} s on each of the last pages of a round)")
print(f"round_boundary_wait_ms_median: {np.median(waits):.0f}")
print(f"round_boundary_wait_ms_p95: {np.percentile(waits, 95):.0f}")
