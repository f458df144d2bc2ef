"""WORLD analysis of a whole corpus, once: what the feature space is fitted on.

Each clip is analysed with WORLD (harvest, about 0.3 s a clip, is the slow step); its
feature is the mean log spectral envelope over its stable voiced frames, and 200 frames
of its F0 and aperiodicity are kept for synthesis. The result is cached on disk
(:func:`cache_dir`), keyed by the audio itself.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
import hashlib
import os
from pathlib import Path

import numpy as np

from .corpus import Corpus, CorpusError
from .world import FRAME_PERIOD_MS, analyse, stable_frames

__all__ = ["CorpusAnalysis", "analyse_corpus", "cache_dir", "N_FRAMES", "MIN_VOICED"]

N_FRAMES = 200        # 200 frames x 5 ms = 1 s, as in HumanGAN
MIN_VOICED = 0.3      # a clip with fewer voiced frames than this fraction is "unvoiced"


def cache_dir() -> Path:
    """Where corpus analyses are cached: ``$HD_WIDGETS_CACHE`` or ``~/.cache/hd_widgets``."""
    return Path(os.environ.get("HD_WIDGETS_CACHE", Path.home() / ".cache" / "hd_widgets"))


@dataclass(frozen=True)
class CorpusAnalysis:
    """WORLD analysis of a corpus, reduced to what the space needs.

    Attributes
    ----------
    features : ndarray, shape (N, F)     mean log spectral envelope per clip.
    f0 : ndarray, shape (N, 200)         F0 contour of each clip's stable frames (Hz).
    ap : ndarray, shape (N, 200, F)      aperiodicity of the same frames (float16 on disk).
    level_db : ndarray, shape (N,)       clip loudness, dBFS RMS.
    """

    names: list[str]
    groups: np.ndarray
    features: np.ndarray
    f0: np.ndarray
    ap: np.ndarray = field(repr=False)
    level_db: np.ndarray
    sample_rate: int


def _to_frames(a: np.ndarray, n: int) -> np.ndarray:
    """Exactly ``n`` frames: cut the middle, or repeat back and forth when too short."""
    if len(a) >= n:
        start = (len(a) - n) // 2
        return a[start:start + n]
    reps = int(np.ceil(n / len(a)))
    idx = np.concatenate([np.arange(len(a)) if i % 2 == 0 else np.arange(len(a))[::-1]
                          for i in range(reps)])[:n]
    return a[idx]


def analyse_corpus(corpus: Corpus, *, use_cache: bool = True) -> CorpusAnalysis:
    """Analyse every clip once (harvest is slow, about 0.3 s each); cached on disk.

    Raises
    ------
    CorpusError
        naming the first clip that is unvoiced (too few voiced frames for a vowel).
    """
    h = hashlib.sha256(f"v1 {corpus.sample_rate} {FRAME_PERIOD_MS} {N_FRAMES}".encode())
    for c in corpus.clips:
        h.update(c.name.encode()); h.update(c.group.encode()); h.update(c.audio.tobytes())
    path = cache_dir() / f"analysis-{h.hexdigest()[:20]}.npz"
    if use_cache:
        cached = _read_cache(path, len(corpus.clips))
        if cached is not None:
            return cached
    feats, f0s, aps, levels = [], [], [], []
    for c in corpus.clips:
        a = analyse(c.audio, corpus.sample_rate)
        frames = stable_frames(a.f0)
        if a.voiced.mean() < MIN_VOICED or len(frames) < 10:
            where = corpus.folder / c.name if corpus.folder else c.name
            raise CorpusError(f"{where}: unvoiced (only {a.voiced.mean():.0%} of frames "
                              f"have a pitch; a sustained vowel is needed)")
        feats.append(np.log(a.sp[frames]).mean(axis=0))
        f0s.append(_to_frames(a.f0[frames], N_FRAMES))
        aps.append(_to_frames(a.ap[frames], N_FRAMES))
        levels.append(20 * np.log10(c.rms))
    # ap goes through float16 whether or not it is cached, so a fresh analysis and a
    # cached one give bit-identical spaces
    out = CorpusAnalysis(corpus.names, corpus.groups, np.array(feats), np.array(f0s),
                         np.array(aps).astype(np.float16).astype(np.float64),
                         np.array(levels), corpus.sample_rate)
    if use_cache:
        _write_cache(path, out)
    return out


def _read_cache(path: Path, n: int) -> CorpusAnalysis | None:
    """The cached analysis at ``path``, or None when there is none or it is damaged (a
    truncated or foreign file is a cache miss: the corpus is analysed again)."""
    try:
        with np.load(path, allow_pickle=False) as z:
            out = CorpusAnalysis(list(z["names"]), z["groups"], z["features"], z["f0"],
                                 z["ap"].astype(np.float64), z["level_db"], int(z["sr"]))
    except Exception:   # noqa: BLE001 - missing, zip, npy and key errors: no usable cache
        return None
    shapes_ok = (len(out.names) == n and out.features.ndim == 2 and len(out.features) == n
                 and out.f0.shape == (n, N_FRAMES) and out.ap.shape[:2] == (n, N_FRAMES)
                 and out.level_db.shape == (n,))
    finite = shapes_ok and all(np.isfinite(a).all() for a in (out.features, out.f0, out.ap))
    return out if finite else None


def _write_cache(path: Path, out: CorpusAnalysis) -> None:
    """Cache ``out`` at ``path`` (atomically); a cache folder that cannot be written only
    costs the next session another analysis."""
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(tmp, names=np.array(out.names), groups=out.groups,
                            features=out.features, f0=out.f0, ap=out.ap.astype(np.float16),
                            level_db=out.level_db, sr=out.sample_rate)
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
