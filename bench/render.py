"""Clip render latency: one 1 s clip from a random point, against bare WORLD synthesis.

Prints ``render_ms_median``, ``render_ms_p95`` (FeatureSpace.render_wav: decode, synthesis,
limiter, WAV encoding; analysis cached) and ``world_synth_ms_median`` (pyworld.synthesize
alone on the same envelope), measured interleaved in one run, and their ratio.
Goal: render within 1.3x of bare synthesis and under 25 ms median.
"""
import time

import numpy as np

from hd_widgets.speech.space import FeatureSpace
from hd_widgets.speech.world import synthesise

space = FeatureSpace.default(2)
rng = np.random.default_rng(0)
render, bare = [], []
for i in range(200):
    p = rng.standard_normal(2) * 1.5
    sp = np.ascontiguousarray(np.broadcast_to(space.envelope(p), space.ref_ap.shape))
    t0 = time.perf_counter()
    synthesise(space.ref_f0, sp, space.ref_ap, space.sample_rate)
    t1 = time.perf_counter()
    space.render_wav(p)
    t2 = time.perf_counter()
    if i >= 10:  # warm-up
        bare.append(t1 - t0)
        render.append(t2 - t1)
render_ms, bare_ms = np.array(render) * 1e3, np.array(bare) * 1e3
print(f"render_ms_median: {np.median(render_ms):.2f}")
print(f"render_ms_p95: {np.percentile(render_ms, 95):.2f}")
print(f"world_synth_ms_median: {np.median(bare_ms):.2f}")
print(f"render_over_synth: {np.median(render_ms) / np.median(bare_ms):.3f}")
