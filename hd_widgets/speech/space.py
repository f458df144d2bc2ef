"""The speech feature space: WORLD + PCA, from 2-D points to vowels you can hear.

Following the paper (docs/method.md, "The data space"): every corpus clip is analysed
with WORLD; its feature is the mean log spectral envelope over its stable voiced frames;
PCA of those features, first ``d`` components, normalised to zero mean and unit variance,
gives the space. A point maps back through the PCA (components beyond ``d`` taken from the
reference speaker) to a spectral envelope, held for 200 frames of 5 ms and synthesised
with the reference speaker's F0 contour and aperiodicity: one second of vowel.

Reference speaker (choice, as HumanGAN): the corpus voice nearest the origin of the
d-dim space, i.e. the most typical voice; pass ``reference=`` to pick another.

Loudness: one fixed gain, set when the space is fitted so that the reference voice
plays at ``level_db`` dBFS RMS, applies to every clip. Clips are never normalised one
by one, so a clip far from the data sounds as loud (or as harsh, or as faint) as its
envelope makes it. A hearing-safety limiter (:func:`limit`) then holds every sample of
every clip within ``LIMIT_CEIL``, whatever the input: points are pulled in to
``MAX_RADIUS`` from the origin before decoding (the envelope, clipped to the corpus range,
is saturated long before that), and a non-finite sample, should synthesis ever produce
one, becomes silence.

Saved spaces (:meth:`FeatureSpace.save`) are checked on :meth:`FeatureSpace.load`: every
array's shape and finiteness and every setting, so a truncated, tampered or foreign file
raises a ``ValueError`` naming the file.
"""
from __future__ import annotations

from functools import lru_cache
import io
import json
import math
import numbers
from pathlib import Path

import numpy as np
import soundfile as sf

from .analysis import CorpusAnalysis, analyse_corpus, cache_dir
from .corpus import Corpus
from .saved import read_saved
from .world import synthesise

__all__ = ["FeatureSpace", "CorpusAnalysis", "analyse_corpus", "cache_dir", "limit"]

RAMP_S = 0.010        # fade in/out so clips start and stop without a click
LOG_MARGIN = 10.0     # decoded log envelopes are kept within the corpus range +- this (~43 dB)
LIMIT_KNEE = 0.35     # hearing-safety limiter: samples below this are untouched ...
LIMIT_CEIL = 0.6      # ... and none ever exceeds this (-4.4 dBFS peak)
MAX_RADIUS = 1e6      # points farther from the origin sound as the point this far, same direction


class FeatureSpace:
    """A d-dimensional PCA space of vowel timbre, with synthesis back to audio.

    Build with :meth:`default` (the shipped corpus) or :meth:`fit` (any corpus).

    Attributes
    ----------
    d : int                           dimension of the space.
    points : ndarray, shape (N, d)    the corpus voices, normalised (zero mean, unit variance).
    groups : ndarray of str, (N,)     speaker group of each voice.
    names : list of str, (N,)         clip names.
    explained : ndarray, (K,)         fraction of feature variance per principal component.
    level_db : ndarray, (N,)          loudness of each corpus clip (dBFS RMS).
    sample_rate : int

    Examples
    --------
    >>> space = FeatureSpace.default(d=2)
    >>> wav = space.render_wav(space.points[0])        # bytes of a 1 s WAV file
    >>> y = space.render(np.array([4.0, -4.0]))         # far from the data: a buzzier vowel
    """

    def __init__(self, *, d: int, mean: np.ndarray, components: np.ndarray,
                 scale: np.ndarray, scores: np.ndarray, names: list[str], groups: np.ndarray,
                 level_db: np.ndarray, reference: int, ref_f0: np.ndarray,
                 ref_ap: np.ndarray, gain: float, log_range: tuple[float, float],
                 sample_rate: int, explained: np.ndarray, level_target_db: float):
        self.d = int(d)
        self.mean = mean                    # (F,)
        self.components = components        # (K, F), rows orthonormal
        self.scale = scale                  # (K,) std of the PCA scores
        self.scores = scores                # (N, K) PCA scores of the corpus
        self.names = [str(n) for n in names]
        self.groups = np.asarray(groups, dtype=str)
        self.level_db = np.asarray(level_db, dtype=np.float64)
        self.reference = int(reference)
        self.ref_f0 = np.ascontiguousarray(ref_f0, dtype=np.float64)   # (200,)
        self.ref_ap = np.ascontiguousarray(ref_ap, dtype=np.float64)   # (200, F)
        self.gain = float(gain)
        self.log_range = (float(log_range[0]), float(log_range[1]))
        self.sample_rate = int(sample_rate)
        self.explained = explained
        self.level_target_db = float(level_target_db)
        self.points = self.scores[:, :self.d] / self.scale[:self.d]   # (N, d)
        self._ref_rest = self.scores[self.reference, self.d:] @ self.components[self.d:]  # (F,)

    # ------------------------------------------------------------------ building
    @classmethod
    def fit(cls, corpus: Corpus | CorpusAnalysis, d: int = 2, *, reference: int | str | None = None,
            level_db: float = -26.0) -> "FeatureSpace":
        """Fit the space on a corpus.

        Parameters
        ----------
        corpus : Corpus or CorpusAnalysis
        d : int
            Dimension (number of principal components kept), 1 <= d < number of clips.
        reference : int or str, optional
            Index or name of the reference voice; default the voice nearest the origin.
        level_db : float
            RMS level (dBFS) at which the reference voice plays; sets the one fixed gain.
        """
        n = len(corpus.names)
        if isinstance(d, (bool, np.bool_)) or not isinstance(d, numbers.Integral) or not 1 <= d < n:
            raise ValueError(f"d must be an int between 1 and {n - 1} for {n} clips, got {d!r}")
        d = int(d)
        if isinstance(level_db, (bool, np.bool_)) or not isinstance(level_db, numbers.Real) \
                or not (math.isfinite(level_db) and level_db <= 0):
            raise ValueError(f"level_db must be a finite RMS level in dBFS, <= 0, got {level_db!r}")
        if reference is not None and not isinstance(reference, str) and (
                isinstance(reference, (bool, np.bool_))
                or not isinstance(reference, numbers.Integral)
                or not 0 <= reference < n):
            raise ValueError(f"reference must be a clip name or an index in [0, {n}), "
                             f"got {reference!r}")
        if isinstance(reference, str) and reference not in corpus.names:
            raise ValueError(f"reference {reference!r} is not a clip of the corpus")
        an = analyse_corpus(corpus) if isinstance(corpus, Corpus) else corpus
        mean = an.features.mean(axis=0)
        u, s, vt = np.linalg.svd(an.features - mean, full_matrices=False)
        # fix the sign of each component so the space does not flip between machines
        signs = np.sign(vt[np.arange(len(vt)), np.abs(vt).argmax(axis=1)])
        vt, u = vt * signs[:, None], u * signs[None, :]
        keep = s > s[0] * 1e-10
        vt, u, s = vt[keep], u[:, keep], s[keep]
        scores = u * s                                                 # (N, K)
        scale = scores.std(axis=0)
        points = scores[:, :d] / scale[:d]
        if reference is None:
            ref = int(np.argmin(np.linalg.norm(points, axis=1)))
        elif isinstance(reference, str):
            ref = an.names.index(reference)
        else:
            ref = int(reference)
        lo, hi = an.features.min() - LOG_MARGIN, an.features.max() + LOG_MARGIN
        space = cls(d=d, mean=mean, components=vt, scale=scale, scores=scores,
                    names=an.names, groups=an.groups, level_db=an.level_db, reference=ref,
                    ref_f0=an.f0[ref], ref_ap=an.ap[ref], gain=1.0, log_range=(lo, hi),
                    sample_rate=an.sample_rate, explained=s ** 2 / np.sum(s ** 2),
                    level_target_db=level_db)
        y = space._synth(space.points[ref])
        space.gain = 10 ** (level_db / 20) / np.sqrt(np.mean(y ** 2))
        return space

    @classmethod
    def default(cls, d: int = 2) -> "FeatureSpace":
        """The space of the shipped corpus (analysis cached on disk, space in memory)."""
        return _default_space(int(d))

    # ------------------------------------------------------------------ mapping
    def encode(self, features: np.ndarray) -> np.ndarray:
        """Log-envelope features (n, F) -> points (n, d)."""
        f = np.atleast_2d(features)
        return ((f - self.mean) @ self.components[:self.d].T) / self.scale[:self.d]

    def decode(self, points: np.ndarray) -> np.ndarray:
        """Points (n, d) -> log spectral envelopes (n, F), components beyond d from the
        reference.
        """
        p = np.atleast_2d(np.asarray(points, dtype=np.float64))
        if p.shape[-1] != self.d:
            raise ValueError(f"points must have {self.d} coordinates, got shape {p.shape}")
        return self.mean + (p * self.scale[:self.d]) @ self.components[:self.d] + self._ref_rest

    def envelope(self, point: np.ndarray) -> np.ndarray:
        """The (power) spectral envelope synthesised for one point, shape (F,).

        A point beyond ``MAX_RADIUS`` is first pulled in to that distance (same direction),
        so even ``[1e307, 1e307]`` decodes without overflow to a saturated envelope.
        """
        p = np.asarray(point, dtype=np.float64)
        big = float(np.abs(p).max(initial=0.0))
        if big > 0:
            u = p / big                                 # |u| <= 1: its norm cannot overflow
            n_u = float(np.linalg.norm(u))              # |p| = big * n_u
            if n_u > MAX_RADIUS / big:
                p = u * (MAX_RADIUS / n_u)
        log_env = np.clip(self.decode(p)[0], *self.log_range)
        return np.exp(log_env)

    def render(self, point: np.ndarray) -> np.ndarray:
        """Synthesise 1 s of vowel for one point.

        Parameters
        ----------
        point : ndarray, shape (d,)
            Any finite point, inside or far outside the data.

        Returns
        -------
        ndarray, shape (sample_rate,)
            float64 waveform in [-1, 1], at the space's fixed gain.
        """
        return limit(self._synth(point))

    def _synth(self, point: np.ndarray) -> np.ndarray:
        """Synthesis at the fixed gain with fades, before the limiter; shape (sample_rate,)."""
        point = np.asarray(point, dtype=np.float64)
        if point.shape != (self.d,) or not np.all(np.isfinite(point)):
            raise ValueError(f"point must be a finite array of shape ({self.d},), got {point!r}")
        sp = np.ascontiguousarray(np.broadcast_to(self.envelope(point), self.ref_ap.shape))
        y = synthesise(self.ref_f0, sp, self.ref_ap, self.sample_rate)
        n = self.sample_rate
        y = np.pad(y[:n], (0, max(0, n - len(y)))) * self.gain
        r = int(RAMP_S * self.sample_rate)
        ramp = np.linspace(0.0, 1.0, r)
        y[:r] *= ramp
        y[-r:] *= ramp[::-1]
        return y

    def render_wav(self, point: np.ndarray) -> bytes:
        """The clip of :meth:`render` as the bytes of a 16-bit PCM WAV file."""
        buf = io.BytesIO()
        sf.write(buf, self.render(point), self.sample_rate, format="WAV", subtype="PCM_16")
        return buf.getvalue()

    def reference_point(self) -> np.ndarray:
        """The reference voice's own point, shape (d,)."""
        return self.points[self.reference].copy()

    # ------------------------------------------------------------------ persistence
    _ARRAYS = ("mean", "components", "scale", "scores", "groups", "level_db", "ref_f0",
               "ref_ap", "explained")

    def save(self, path: str | Path) -> Path:
        """Save to one ``.npz`` file (no pickle); :meth:`load` gives identical clips."""
        path = Path(path)
        meta = {"d": self.d, "names": self.names, "reference": self.reference,
                "gain": self.gain, "log_range": list(self.log_range),
                "sample_rate": self.sample_rate, "level_target_db": self.level_target_db,
                "format": 1}
        with open(path, "wb") as fh:
            np.savez_compressed(fh, meta=np.array(json.dumps(meta)),
                                **{k: getattr(self, k) for k in self._ARRAYS})
        return path

    @classmethod
    def load(cls, path: str | Path) -> "FeatureSpace":
        """A space saved by :meth:`save`.

        Raises
        ------
        ValueError
            naming the file, if it is not a saved FeatureSpace (another ``.npz``, a
            score-network file, text), is truncated, or holds arrays or settings of the
            wrong shape, type or value (NaN gain, say); a missing file raises
            FileNotFoundError.
        """
        meta, arrays = read_saved(Path(path), cls._ARRAYS)
        return cls(**meta, **arrays)

    def __repr__(self) -> str:
        counts = {str(g): int(n) for g, n in zip(*np.unique(self.groups, return_counts=True))}
        ex = ", ".join(f"{e:.0%}" for e in self.explained[:self.d])
        return (f"FeatureSpace(d={self.d}, voices={len(self.names)} {counts}, "
                f"explained=[{ex}], reference={self.names[self.reference]!r}, "
                f"{self.sample_rate} Hz)")


def limit(y: np.ndarray) -> np.ndarray:
    """Hearing-safety limiter: identity below ``LIMIT_KNEE``, smooth (tanh) up to ``LIMIT_CEIL``.

    Holds for every input: infinities go to ``+-LIMIT_CEIL``, NaN to silence (0).

    Parameters
    ----------
    y : ndarray, shape (T,)

    Returns
    -------
    ndarray, shape (T,), every sample finite and within ``[-LIMIT_CEIL, LIMIT_CEIL]``
    """
    y = np.where(np.isnan(y), 0.0, np.asarray(y, dtype=np.float64))
    a = np.abs(y)
    over = a > LIMIT_KNEE
    if over.any():
        room = LIMIT_CEIL - LIMIT_KNEE
        with np.errstate(over="ignore"):                # 1e308 / room -> inf -> tanh 1
            y[over] = np.sign(y[over]) * (LIMIT_KNEE
                                          + room * np.tanh((a[over] - LIMIT_KNEE) / room))
    return np.clip(y, -LIMIT_CEIL, LIMIT_CEIL)


@lru_cache(maxsize=8)
def _default_space(d: int) -> FeatureSpace:
    return FeatureSpace.fit(Corpus.default(), d)
