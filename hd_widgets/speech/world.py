"""WORLD vocoder analysis and synthesis (pyworld), with the traps handled once.

WORLD splits speech into F0 (pitch), a spectral envelope (the vowel's timbre) and
aperiodicity (breathiness). The feature space edits only the envelope; F0 and
aperiodicity come from a reference speaker.

pyworld wants float64, C-contiguous arrays (edited envelopes need
``np.ascontiguousarray``); harvest is the slow, robust F0 tracker (about 250 ms per
second of audio), so analysis is done once and cached by ``space.py``.
"""
from __future__ import annotations

from dataclasses import dataclass
import warnings

import numpy as np

with warnings.catch_warnings():  # pyworld 0.3.5 imports pkg_resources, which warns
    warnings.simplefilter("ignore")
    import pyworld

__all__ = ["Analysis", "analyse", "synthesise", "stable_frames", "FRAME_PERIOD_MS"]

FRAME_PERIOD_MS = 5.0


@dataclass(frozen=True)
class Analysis:
    """WORLD parameters of one clip.

    Attributes
    ----------
    f0 : ndarray, shape (T,)      F0 per frame in Hz, 0 where unvoiced.
    sp : ndarray, shape (T, F)    spectral envelope (power), F = fft_size // 2 + 1.
    ap : ndarray, shape (T, F)    aperiodicity in [0, 1].
    fs : int                      sample rate.
    """

    f0: np.ndarray
    sp: np.ndarray
    ap: np.ndarray
    fs: int

    @property
    def voiced(self) -> np.ndarray:
        return self.f0 > 0

    def __repr__(self) -> str:
        return (f"Analysis(frames={len(self.f0)}, bins={self.sp.shape[1]}, fs={self.fs}, "
                f"voiced={self.voiced.mean():.0%}, "
                f"median_f0={np.median(self.f0[self.voiced]) if self.voiced.any() else 0:.0f} Hz)")


def analyse(x: np.ndarray, fs: int, *, frame_period: float = FRAME_PERIOD_MS,
            f0_floor: float = 60.0, f0_ceil: float = 600.0) -> Analysis:
    """Analyse a mono waveform with harvest, cheaptrick and d4c.

    Parameters
    ----------
    x : ndarray, shape (T,)
    fs : int
    """
    x = np.ascontiguousarray(x, dtype=np.float64)
    f0, t = pyworld.harvest(x, fs, f0_floor=f0_floor, f0_ceil=f0_ceil,
                            frame_period=frame_period)
    sp = pyworld.cheaptrick(x, f0, t, fs)
    ap = pyworld.d4c(x, f0, t, fs)
    return Analysis(f0, sp, ap, fs)


def synthesise(f0: np.ndarray, sp: np.ndarray, ap: np.ndarray, fs: int, *,
               frame_period: float = FRAME_PERIOD_MS) -> np.ndarray:
    """WORLD synthesis; returns a waveform of ``len(f0) * frame_period`` ms.

    Parameters
    ----------
    f0 : ndarray, shape (T,)
    sp, ap : ndarray, shape (T, F)
    """
    return pyworld.synthesize(np.ascontiguousarray(f0, dtype=np.float64),
                              np.ascontiguousarray(sp, dtype=np.float64),
                              np.ascontiguousarray(ap, dtype=np.float64),
                              fs, frame_period)


def stable_frames(f0: np.ndarray, *, keep: float = 0.6) -> np.ndarray:
    """Indices of the middle ``keep`` fraction of the voiced frames (onset and offset dropped).

    Returns an empty array when no frame is voiced.
    """
    voiced = np.flatnonzero(f0 > 0)
    if len(voiced) == 0:
        return voiced
    cut = int(round(len(voiced) * (1 - keep) / 2))
    return voiced[cut: len(voiced) - cut] if len(voiced) - 2 * cut > 0 else voiced
