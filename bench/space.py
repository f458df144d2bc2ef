"""Does the 2-D space carry voice quality rather than loudness? The shipped corpus, and a
class's recordings made through the recorder.

Prints ``pc_explained`` (variance fraction of PC1, PC2), ``group_loo_accuracy``
(leave-one-out nearest-centroid classification of men / women / children in the 2-D
space) and ``level_correlation`` (|correlation| of PC1 with clip loudness in dB).
Goals: group_loo_accuracy >= 0.85, level_correlation < 0.9.

The same lines prefixed ``recorded_`` are for a space fitted on a class folder filled
the way the recorder fills it: 30 shipped voices (10 per group), each held for 2 s
(``speech.recordings.hold``), played through a "microphone" of its own gain (-18 to 0 dB),
sent as the 16 kHz WAV bytes the browser sends to ``Recorder.receive``, checked, and kept
with ``Recorder.keep``; then ``FeatureSpace.fit(Corpus.from_folder(folder), d=2)``. Its
``recorded_level_correlation`` is PC1 against the level each take arrived at (kept takes
are stored at one level, so the microphones' gains must not become an axis).
"""
import os
import tempfile
import time

import numpy as np

from hd_widgets.speech.corpus import Corpus
from hd_widgets.speech.recordings import hold, to_wav
from hd_widgets.speech.space import FeatureSpace
from hd_widgets.widgets.recorder import Recorder

PER_GROUP = 10


def report(space: FeatureSpace, level_db: np.ndarray, prefix: str = "") -> None:
    x, g = space.points, space.groups
    labels = np.unique(g)
    hits = 0
    for i in range(len(x)):
        rest = np.arange(len(x)) != i
        cents = np.stack([x[rest & (g == lab)].mean(axis=0) for lab in labels])
        hits += labels[np.argmin(np.linalg.norm(cents - x[i], axis=1))] == g[i]
    print(f"{prefix}pc_explained: {space.explained[0]:.3f}, {space.explained[1]:.3f}")
    print(f"{prefix}group_loo_accuracy: {hits / len(x):.3f}")
    print(f"{prefix}level_correlation: {abs(np.corrcoef(x[:, 0], level_db)[0, 1]):.3f}")


def recorded_space(folder: str, seed: int = 0) -> tuple[FeatureSpace, np.ndarray, int]:
    """Fill ``folder`` through the recorder's receive + keep path; fit its space."""
    rng = np.random.default_rng(seed)
    corpus = Corpus.default()
    rec = Recorder(folder)
    arrived: dict[str, float] = {}
    offered = 0
    for group in ("man", "woman", "child"):
        for clip in [c for c in corpus.clips if c.group == group][:PER_GROUP]:
            offered += 1
            gain = 10 ** (rng.uniform(-18.0, 0.0) / 20)             # this laptop's microphone
            rec.group, rec.speaker = group, clip.name.split(".")[0]
            check = rec.receive(to_wav(gain * hold(clip.audio, corpus.sample_rate)))
            path = rec.keep()
            if path is not None:
                arrived[path.relative_to(folder).as_posix()] = check.level_db
    space = FeatureSpace.fit(Corpus.from_folder(folder), d=2)
    return space, np.array([arrived[n] for n in space.names]), offered


space = FeatureSpace.default(2)
report(space, space.level_db)

t0 = time.perf_counter()
with tempfile.TemporaryDirectory() as tmp:
    os.environ["HD_WIDGETS_CACHE"] = os.path.join(tmp, "cache")   # these voices' analyses stay here
    rec_space, arrived_db, offered = recorded_space(os.path.join(tmp, "class"))
print(f"recorded_voices: {len(rec_space.names)} kept of {offered} takes "
      f"({time.perf_counter() - t0:.1f} s through receive + keep + fit)")
report(rec_space, arrived_db, prefix="recorded_")
