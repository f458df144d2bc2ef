"""A listener that judges the synthesised audio itself, not the latent point.

:class:`AudioListener` renders each point to a waveform with the feature space and
hears only that waveform, so the whole speech path (decode, WORLD synthesis, limiter)
is exercised end to end, as with a person.

What it measures: the timbre of the clip as mel-frequency cepstral coefficients
(MFCC 1-12 of the long-term power spectrum: level-independent spectral shape) and
how hard the clip drives the hearing-safety limiter (the share of samples bent by it).
It hears pitch as well as timbre, so it is calibrated on the space's own renderings.
It learns (:meth:`AudioListener.fit`) the spread of the real voices' MFCCs (mean and a
shrunk covariance) from the corpus voices as the space renders them (each voice's own
point, through the same synthesis path, so "real" and "generated" clips differ only in
their envelope), and rates a clip by its Mahalanobis distance ``m`` to them:

    naturalness = 1 / (1 + exp((m - tolerance) / softness)) * (1 - distortion penalty)

so clips as typical as the corpus voices score near 1, a band somewhat beyond the real
voices still scores high (listeners accept more than they have heard), and scores fall
smoothly towards 0 — and flatten there — as the envelope drifts far from any voice.
Like a person it adds rating noise and a personal bias, and clips ratings to [0, 1].
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.fft import dct
from scipy.signal import welch

from ..speech.space import LIMIT_KNEE, FeatureSpace

__all__ = ["AudioListener", "mfcc_profile"]


def _mel_filterbank(n_mels: int, n_fft_bins: int, sr: int) -> np.ndarray:
    """Triangular mel filters, shape (n_mels, n_fft_bins)."""
    mel = lambda f: 2595 * np.log10(1 + f / 700)
    inv = lambda m: 700 * (10 ** (m / 2595) - 1)
    edges = inv(np.linspace(mel(50.0), mel(sr / 2 * 0.95), n_mels + 2))
    freqs = np.linspace(0, sr / 2, n_fft_bins)
    fb = np.zeros((n_mels, n_fft_bins))
    for i in range(n_mels):
        lo, mid, hi = edges[i:i + 3]
        fb[i] = np.clip(np.minimum((freqs - lo) / (mid - lo), (hi - freqs) / (hi - mid)), 0, None)
    return fb


def mfcc_profile(y: np.ndarray, sr: int, *, n_mels: int = 32, n_coef: int = 12) -> np.ndarray:
    """Long-term MFCC 1..n_coef of a waveform (c0, the level, dropped), shape (n_coef,).

    Parameters
    ----------
    y : ndarray, shape (T,)
    """
    f, pxx = welch(y, fs=sr, nperseg=512)
    fb = _mel_filterbank(n_mels, len(f), sr)
    mel = fb @ pxx
    logmel = np.log(mel + 1e-9 * mel.max() + 1e-300)  # relative floor keeps it level-free
    return dct(logmel, type=2, norm="ortho")[1:n_coef + 1]


@dataclass
class AudioListener:
    """Rates clips by how far their audio lies from the corpus voices.

    Parameters
    ----------
    space : FeatureSpace
        Renders points to audio; its corpus defines "natural".
    tolerance : float
        Mahalanobis distance at which naturalness falls to one half. Real voices sit
        around sqrt(12) ~ 3.5, so the default accepts a band beyond the data.
    softness : float
        Width of the fall-off.
    noise : float
        Standard deviation of the rating noise (before clipping to [0, 1]).
    bias : float
        This listener's constant offset (a lenient or a strict rater).
    seed : int or Generator
    reference_points : ndarray, shape (n, d), optional
        Points whose renderings define the natural voices; default ``space.points``.
    """

    space: FeatureSpace
    tolerance: float = 6.0
    softness: float = 1.0
    noise: float = 0.05
    bias: float = 0.0
    seed: int | np.random.Generator | None = 0
    reference_points: np.ndarray | None = field(default=None, repr=False)
    name: str = "audio"
    _rng: np.random.Generator = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._rng = np.random.default_rng(self.seed)

    def fit(self) -> "AudioListener":
        """Learn the natural voices: render ``reference_points`` (default the space's own
        voices) and fit the mean and a shrunk covariance of their MFCC profiles
        (``mean_``, ``precision_``). Returns ``self``."""
        ref = self.space.points if self.reference_points is None else self.reference_points
        prof = np.array([mfcc_profile(self.space.render(p), self.space.sample_rate)
                         for p in np.atleast_2d(ref)])
        if len(prof) < 2:
            raise ValueError("AudioListener.fit needs at least 2 reference voices")
        self.mean_ = prof.mean(axis=0)
        cov = np.cov(prof, rowvar=False)
        # shrink towards the diagonal: 60 voices estimate a 12x12 covariance poorly
        cov = 0.8 * cov + 0.2 * np.diag(np.diag(cov))
        self.precision_ = np.linalg.inv(cov)
        return self

    def distance(self, y: np.ndarray) -> float:
        """Mahalanobis distance of a waveform's MFCC profile to the corpus voices."""
        if not hasattr(self, "precision_"):
            raise RuntimeError("this AudioListener has not learnt the voices yet: call "
                               "AudioListener(space).fit() first")
        diff = mfcc_profile(y, self.space.sample_rate) - self.mean_
        return float(np.sqrt(diff @ self.precision_ @ diff))

    def naturalness(self, y: np.ndarray) -> float:
        """Noise-free naturalness of one waveform, in [0, 1]."""
        m = self.distance(y)
        timbre = 1.0 / (1.0 + np.exp((m - self.tolerance) / self.softness))
        limited = np.mean(np.abs(y) > LIMIT_KNEE)  # share of samples bent by the limiter
        return float(timbre * (1.0 - min(1.0, 20 * limited)))

    def rate_audio(self, waveforms: np.ndarray,
                   rng: np.random.Generator | None = None) -> np.ndarray:
        """Ratings of waveforms, shape (n, T) -> (n,), with noise and bias, in [0, 1].

        The noise is drawn from ``rng`` if given, else from the listener's own generator."""
        clean = np.array([self.naturalness(y) for y in np.atleast_2d(waveforms)])
        gen = self._rng if rng is None else rng
        noisy = clean + self.bias + self.noise * gen.standard_normal(len(clean))
        return np.clip(noisy, 0.0, 1.0)

    def rate(self, points: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        """Render each point and rate its audio: (n, d) -> (n,) in [0, 1] (noise from ``rng``)."""
        pts = np.atleast_2d(np.asarray(points, dtype=np.float64))
        return self.rate_audio(np.stack([self.space.render(p) for p in pts]), rng=rng)

    def __repr__(self) -> str:
        return (f"AudioListener(name={self.name!r}, tolerance={self.tolerance}, "
                f"softness={self.softness}, noise={self.noise}, bias={self.bias}, "
                f"space=FeatureSpace(d={self.space.d}))")
