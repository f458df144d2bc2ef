"""The speech feature space: WORLD + PCA, from 2-D points to vowels you can hear.

Following the paper (DESIGN.md section 2): every corpus clip is analysed with WORLD; its
feature is the mean log spectral envelope over its stable voiced frames; PCA of those
features, first ``d`` components, normalised to zero mean and unit variance, gives the
space. A point maps back through the PCA (components beyond ``d`` taken from the
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

from dataclasses import dataclass, field
from functools import lru_cache
import hashlib
import io
import json
import math
import numbers
import os
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from .corpus import Corpus, CorpusError
from .world import FRAME_PERIOD_MS, analyse, stable_frames, synthesise

__all__ = ["FeatureSpace", "CorpusAnalysis", "analyse_corpus", "cache_dir"]

N_FRAMES = 200        # 200 frames x 5 ms = 1 s, as in HumanGAN
RAMP_S = 0.010        # fade in/out so clips start and stop without a click
MIN_VOICED = 0.3      # a clip with fewer voiced frames than this fraction is "unvoiced"
LOG_MARGIN = 10.0     # decoded log envelopes are kept within the corpus range +- this (~43 dB)
LIMIT_KNEE = 0.35     # hearing-safety limiter: samples below this are untouched ...
LIMIT_CEIL = 0.6      # ... and none ever exceeds this (-4.4 dBFS peak)
MAX_RADIUS = 1e6      # points farther from the origin sound as the point this far, same direction


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
    if use_cache and path.exists():
        with np.load(path, allow_pickle=False) as z:
            return CorpusAnalysis(list(z["names"]), z["groups"], z["features"], z["f0"],
                                  z["ap"].astype(np.float64), z["level_db"], int(z["sr"]))
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
    out = CorpusAnalysis(corpus.names, corpus.groups, np.array(feats), np.array(f0s),
                         np.array(aps), np.array(levels), corpus.sample_rate)
    if use_cache:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez_compressed(tmp, names=np.array(out.names), groups=out.groups,
                            features=out.features, f0=out.f0, ap=out.ap.astype(np.float16),
                            level_db=out.level_db, sr=out.sample_rate)
        os.replace(tmp, path)
        # reload so a fresh analysis and a cached one give bit-identical spaces
        return analyse_corpus(corpus, use_cache=True)
    return out


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
                isinstance(reference, (bool, np.bool_)) or not isinstance(reference, numbers.Integral)
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
        """Points (n, d) -> log spectral envelopes (n, F), components beyond d from the reference."""
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
        meta, arrays = _read_saved(Path(path), cls._ARRAYS)
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
        y[over] = np.sign(y[over]) * (LIMIT_KNEE + room * np.tanh((a[over] - LIMIT_KNEE) / room))
    return np.clip(y, -LIMIT_CEIL, LIMIT_CEIL)


_META_TYPES = {"d": int, "names": list, "reference": int, "gain": float, "log_range": list,
               "sample_rate": int, "level_target_db": float, "format": int}


def _read_saved(path: Path, names: tuple[str, ...]) -> tuple[dict, dict]:
    """The checked settings and arrays of a saved space (constructor keywords)."""
    def bad(why: str) -> ValueError:
        return ValueError(f"{path}: not a valid saved FeatureSpace ({why})")

    if path.is_dir():
        raise bad("it is a folder")
    try:
        z = np.load(path, allow_pickle=False)
    except (FileNotFoundError, PermissionError):
        raise
    except Exception as exc:  # noqa: BLE001 - numpy / zipfile errors of a foreign or damaged file
        raise bad(f"unreadable: {type(exc).__name__}: {exc}") from None
    if not isinstance(z, np.lib.npyio.NpzFile):
        raise bad("a single .npy array, not the .npz that FeatureSpace.save writes")
    with z:
        missing = [k for k in ("meta",) + names if k not in z.files]
        if missing:
            raise bad(f"no {', '.join(missing)} array: not written by FeatureSpace.save")
        try:
            raw, arrays = z["meta"], {k: z[k] for k in names}
        except Exception as exc:  # noqa: BLE001 - truncated or tampered members
            raise bad(f"unreadable: {type(exc).__name__}: {exc}") from None
    if raw.shape != () or raw.dtype.kind != "U":
        raise bad(f"meta must be one JSON string, got an array {raw.dtype} {raw.shape}")
    try:
        meta = json.loads(str(raw))
    except ValueError as exc:
        raise bad(f"meta is not JSON: {exc}") from None
    if not isinstance(meta, dict):
        raise bad(f"meta must be a JSON object, got {type(meta).__name__}")
    if meta.get("format") != 1:
        raise bad(f"format {meta.get('format')!r}, this hd_widgets reads format 1")
    for key, kind in _META_TYPES.items():
        v = meta.get(key)
        ok = (isinstance(v, (int, float)) and not isinstance(v, bool)) if kind is float else \
            isinstance(v, kind) and not isinstance(v, bool)
        if not ok:
            raise bad(f"meta {key!r} must be {kind.__name__}, got {v!r}")
    meta.pop("format")
    _check_saved(meta, arrays, bad)
    meta["log_range"] = tuple(meta["log_range"])
    return meta, arrays


def _check_saved(meta: dict, arrays: dict[str, np.ndarray], bad) -> None:
    """Shapes, dtypes and values of a saved space, or ``bad(why)`` is raised."""
    for k, a in arrays.items():
        if a.dtype.kind not in ("U" if k == "groups" else "fiu"):
            raise bad(f"array {k!r} has dtype {a.dtype}")
        if k != "groups" and not np.all(np.isfinite(a)):
            raise bad(f"array {k!r} holds NaN or infinite values")
    comp = arrays["components"]
    if comp.ndim != 2 or comp.shape[0] < 1 or comp.shape[1] < 2:
        raise bad(f"components must have shape (K, F), got {comp.shape}")
    (K, F), N = comp.shape, len(meta["names"])
    T = len(arrays["ref_f0"]) if arrays["ref_f0"].ndim == 1 else -1
    shapes = {"mean": (F,), "scale": (K,), "scores": (N, K), "groups": (N,),
              "level_db": (N,), "ref_f0": (N_FRAMES,), "ref_ap": (T, F), "explained": (K,)}
    for k, shape in shapes.items():
        if arrays[k].shape != shape:
            raise bad(f"array {k!r} must have shape {shape}, got {arrays[k].shape}")
    if not all(isinstance(n, str) for n in meta["names"]):
        raise bad("names must be strings")
    if not np.all(arrays["scale"] > 0):
        raise bad("scale must be positive")
    if not 1 <= meta["d"] <= K or not 0 <= meta["reference"] < N:
        raise bad(f"d = {meta['d']} and reference = {meta['reference']} must lie in "
                  f"[1, {K}] and [0, {N})")
    lo_hi = meta["log_range"]
    if len(lo_hi) != 2 or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                  and math.isfinite(v) for v in lo_hi) or lo_hi[0] >= lo_hi[1]:
        raise bad(f"log_range must be two finite numbers lo < hi, got {lo_hi!r}")
    for key in ("gain", "level_target_db"):
        if not math.isfinite(meta[key]):
            raise bad(f"{key} must be finite, got {meta[key]!r}")
    if meta["gain"] <= 0:
        raise bad(f"gain must be positive, got {meta['gain']!r}")
    if not 1000 <= meta["sample_rate"] <= 384000:
        raise bad(f"sample_rate must be in [1000, 384000] Hz, got {meta['sample_rate']!r}")


@lru_cache(maxsize=8)
def _default_space(d: int) -> FeatureSpace:
    return FeatureSpace.fit(Corpus.default(), d)
