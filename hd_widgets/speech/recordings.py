"""Is this take usable? The checks a recording of a sustained /a/ passes before it is kept.

A person records about two seconds of /a/ in the browser (``widgets.recorder``); the take
arrives as WAV bytes (:func:`decode_take`), and :func:`check_recording` measures it and
says what, if anything, is wrong, in words that tell the person what to do. Nothing here
stores anything; keeping a take is ``class_corpus.ClassRecordings.add``.

The checks, in the order they are reported (the first one that fails is the problem;
every value is measured anyway). Thresholds live in :class:`RecordingLimits`.

================  ==============================================================
``too_short``     duration below ``min_seconds`` (1.5 s)
``too_quiet``     RMS level of the whole take below ``min_level_db`` (-45 dBFS)
``clipped``       more than ``max_clipped`` (0.1 %) of samples at ``|x| >= 0.98``
``not_voiced``    WORLD (harvest) finds F0 in fewer than ``min_voiced`` (60 %) of the
                  5 ms frames
``more_than_one_  the *harmonic fraction* is below ``min_harmonic`` (0.70): per voiced
voice``           frame (every 20 ms, 50 ms Hann window), the share of the power between
                  60 Hz and 2.5 kHz that lies within min(25 Hz, F0/4) of a harmonic of
                  the frame's F0 (refined within +-3 %); median over frames. One voice
                  puts its power on its own harmonics; a second voice at another pitch
                  puts its power between them.
``noisy``         more than ``max_noisy`` (10 %) of the voiced frames have a mean WORLD
                  aperiodicity (d4c) above -20 dB between 100 Hz and 1 kHz, where a
                  clean vowel sits near -48 dB: those frames are mostly noise.
================  ==============================================================

How the thresholds were set (on the shipped corpus, each clip held for 2 s with
:func:`hold`): all 60 voices pass, with harmonic fractions from 0.745 (rough male voices)
to 0.97, at most 4 % noisy frames and at least 92 % voiced. Of 40 random equal-level
two-voice mixtures, 16 fail ``not_voiced`` and 18 of the other 24 fail
``more_than_one_voice``; what passes is two voices at nearly the same pitch, which no
pitch-based measure can tell from one. With white noise added at 5 dB signal-to-noise
ratio all 10 voices tried are refused (9 as ``noisy``); at 10 dB they still pass.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
import io
import math
from math import gcd

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from .world import analyse

__all__ = ["RecordingCheck", "RecordingLimits", "check_recording", "decode_take", "to_wav",
           "hold", "resample", "PROBLEMS", "SAMPLE_RATE"]

SAMPLE_RATE = 16000   # takes are checked and kept at the corpus rate
PROBLEMS = ("too_short", "too_quiet", "clipped", "not_voiced", "more_than_one_voice", "noisy")
_FRAME_S = 0.005      # WORLD's frame period (world.FRAME_PERIOD_MS)


@dataclass(frozen=True)
class RecordingLimits:
    """What a take must meet to be kept (see the module docstring for how they were set)."""

    min_seconds: float = 1.5      # the recorder takes 2 s; less means the take was cut short
    min_level_db: float = -45.0   # RMS dBFS; quieter takes are mostly the microphone's hiss
    clip_level: float = 0.98      # |sample| at or above this counts as at full scale ...
    max_clipped: float = 0.001    # ... and more than this fraction of samples there is clipped
    min_voiced: float = 0.6       # fraction of WORLD frames with an F0
    min_harmonic: float = 0.70    # median share of power on the harmonics of one pitch
    max_noisy: float = 0.10       # fraction of voiced frames whose low-band aperiodicity > -20 dB


@dataclass(frozen=True)
class RecordingCheck:
    """The verdict on one take, with everything measured.

    Attributes
    ----------
    ok : bool                 True when the take may be kept.
    problem : str or None     the first failed check, one of :data:`PROBLEMS`.
    message : str             what to tell the person (what is wrong and what to do).
    seconds : float           duration.
    level_db : float          RMS level, dBFS (-inf for digital silence).
    clipped : float           fraction of samples at full scale.
    voiced : float            fraction of WORLD frames with an F0 (nan if not analysed).
    f0_hz : float             median F0 of the voiced frames (nan if none).
    harmonic : float          median harmonic fraction of the voiced frames (nan if none).
    noisy : float             fraction of voiced frames that are mostly noise (nan if none).
    """

    ok: bool
    problem: str | None
    message: str
    seconds: float
    level_db: float
    clipped: float
    voiced: float
    f0_hz: float
    harmonic: float
    noisy: float

    def to_dict(self) -> dict:
        """Plain JSON-able values (non-finite numbers as None), e.g. for a widget trait."""
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                for k, v in asdict(self).items()}

    def __repr__(self) -> str:
        head = "ok" if self.ok else f"refused: {self.problem}"
        parts = [f"{self.seconds:.2f} s", f"{self.level_db:.0f} dBFS",
                 f"clipped {self.clipped:.2%}"]
        for name, v, fmt in (("voiced", self.voiced, "{:.0%}"), ("F0", self.f0_hz, "{:.0f} Hz"),
                             ("harmonic", self.harmonic, "{:.2f}"),
                             ("noisy", self.noisy, "{:.0%}")):
            if math.isfinite(v):
                parts.append(f"{name} " + fmt.format(v))
        return f"RecordingCheck({head}; {', '.join(parts)})"


def check_recording(audio: np.ndarray, sr: int = SAMPLE_RATE, *,
                    limits: RecordingLimits = RecordingLimits()) -> RecordingCheck:
    """Measure a take and say whether it can be kept, and if not, why and what to do.

    Parameters
    ----------
    audio : ndarray, shape (T,)
        Mono waveform in [-1, 1] (values beyond are counted as clipped).
    sr : int
        Its sample rate; WORLD analysis runs at 16 kHz (the take is resampled).
    limits : RecordingLimits

    Returns
    -------
    RecordingCheck

    Raises
    ------
    ValueError
        If ``audio`` is not a 1-D array of finite numbers or ``sr`` is not a positive int.

    Examples
    --------
    >>> check_recording(np.zeros(32000), 16000).problem
    'too_quiet'
    """
    x = np.asarray(audio, dtype=np.float64)
    if x.ndim != 1 or not np.all(np.isfinite(x)):
        raise ValueError(f"audio must be a 1-D array of finite samples, got shape {x.shape}")
    if isinstance(sr, bool) or not isinstance(sr, (int, np.integer)) or sr <= 0:
        raise ValueError(f"sr must be a positive int number of Hz, got {sr!r}")
    seconds = len(x) / sr
    rms = float(np.sqrt(np.mean(x ** 2))) if len(x) else 0.0
    level = 20 * math.log10(rms) if rms > 0 else -math.inf
    clipped = float(np.mean(np.abs(x) >= limits.clip_level)) if len(x) else 0.0
    voiced = f0 = harmonic = noisy = math.nan
    if seconds >= 0.2 and rms > 0:
        y = resample(x, sr, SAMPLE_RATE)
        voiced, f0, harmonic, noisy = _voice_measures(y, SAMPLE_RATE)
    L = limits
    if seconds < L.min_seconds:
        problem, msg = "too_short", (
            f"Too short: {seconds:.1f} s of sound, at least {L.min_seconds:.1f} s needed. "
            "Press Record and hold the vowel until the bar has run out.")
    elif not level >= L.min_level_db:
        shown = "silence" if rms == 0 else f"{level:.0f} dBFS"
        problem, msg = "too_quiet", (
            f"Too quiet ({shown}; at least {L.min_level_db:.0f} dBFS needed). Move closer to "
            "the microphone or sing a little louder, and check that the browser uses the "
            "right microphone.")
    elif clipped > L.max_clipped:
        problem, msg = "clipped", (
            f"Too loud: {clipped:.1%} of the samples hit the top of the range (clipped). "
            "Move back from the microphone or sing a little softer, then record again.")
    elif not voiced >= L.min_voiced:
        problem, msg = "not_voiced", (
            f"No steady voice found: a pitch was heard in only {_pct(voiced)} of the take "
            f"({L.min_voiced:.0%} needed). Hold one 'aaah' with your voice (not whispered, "
            "not spoken) from start to end, alone.")
    elif not harmonic >= L.min_harmonic:
        problem, msg = "more_than_one_voice", (
            f"More than one voice? Only {_pct(harmonic)} of the sound lies on the harmonics "
            f"of one pitch ({L.min_harmonic:.0%} needed). Record alone, with nobody "
            "speaking or singing nearby, and hold one steady pitch.")
    elif not noisy <= L.max_noisy:
        problem, msg = "noisy", (
            f"Too noisy: {_pct(noisy)} of the voiced part is mostly noise (at most "
            f"{L.max_noisy:.0%}). Find a quieter spot, move closer to the microphone, and "
            "do not breathe onto it.")
    else:
        problem, msg = None, (
            f"Good take: {seconds:.1f} s, {level:.0f} dBFS, pitch {f0:.0f} Hz. Listen to it, "
            "then Keep it or Retry.")
    return RecordingCheck(problem is None, problem, msg, seconds, level, clipped,
                          voiced, f0, harmonic, noisy)


def _pct(v: float) -> str:
    return "none" if not math.isfinite(v) else f"{v:.0%}"


def _voice_measures(y: np.ndarray, sr: int) -> tuple[float, float, float, float]:
    """(voiced fraction, median F0, harmonic fraction, noisy fraction) of a 16 kHz take."""
    an = analyse(y, sr)
    v = an.voiced
    if not v.any():
        return float(v.mean()), math.nan, math.nan, math.nan
    f0 = float(np.median(an.f0[v]))
    freqs = np.arange(an.ap.shape[1]) * sr / (2 * (an.ap.shape[1] - 1))     # (F,)
    low = (freqs >= 100) & (freqs <= 1000)
    ap_db = 20 * np.log10(np.maximum(an.ap[v][:, low].mean(axis=1), 1e-12))  # (n_voiced,)
    noisy = float(np.mean(ap_db > -20.0))
    return float(v.mean()), f0, _harmonic_fraction(y, an.f0, sr), noisy


def _harmonic_fraction(y: np.ndarray, f0: np.ndarray, sr: int, *, win_s: float = 0.05,
                       delta_hz: float = 25.0, fmax: float = 2500.0, step: int = 4,
                       search: float = 0.03, nfft: int = 8192) -> float:
    """Median over voiced frames of the share of power on the harmonics of the frame's F0.

    Every ``step``-th voiced frame: a ``win_s`` Hann window, the power between 60 Hz and
    ``fmax``; "on a harmonic" is within min(``delta_hz``, F0/4) of k F0 (k >= 1), with F0
    taken as the best of 7 values within +-``search`` of WORLD's.
    """
    w = np.hanning(int(win_s * sr))
    half = len(w) // 2
    centres = np.flatnonzero(f0 > 0)[::step]
    centres = centres[(centres * _FRAME_S * sr >= half)
                      & (centres * _FRAME_S * sr + len(w) - half <= len(y))]
    if len(centres) == 0:
        return math.nan
    starts = (centres * _FRAME_S * sr).astype(int) - half
    frames = y[starts[:, None] + np.arange(len(w))] * w                         # (n, W)
    freqs = np.fft.rfftfreq(nfft, 1 / sr)
    band = (freqs >= 60) & (freqs <= fmax)
    P = np.abs(np.fft.rfft(frames, nfft, axis=1))[:, band] ** 2                 # (n, B)
    fb = freqs[band]                                                            # (B,)
    cand = f0[centres][:, None] * np.linspace(1 - search, 1 + search, 7)       # (n, 7)
    r = fb[None, None, :] % cand[..., None]                                     # (n, 7, B)
    dist = np.minimum(r, cand[..., None] - r)
    near = (dist <= np.minimum(delta_hz, cand / 4)[..., None]) & (fb >= cand[..., None] / 2)
    total = P.sum(axis=1)                                                       # (n,)
    share = (near * P[:, None, :]).sum(axis=2).max(axis=1) / np.maximum(total, 1e-30)
    return float(np.median(share[total > 0])) if np.any(total > 0) else math.nan


# --------------------------------------------------------------------------- audio in/out
def resample(x: np.ndarray, sr: int, target: int) -> np.ndarray:
    """Polyphase resampling (as ``Corpus`` does), shape (T,) -> (T * target / sr,)."""
    if sr == target:
        return np.ascontiguousarray(x, dtype=np.float64)
    g = gcd(int(sr), int(target))
    return np.ascontiguousarray(resample_poly(x, target // g, int(sr) // g))


def decode_take(data: bytes, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """The bytes of an audio file (the browser sends 16 kHz 16-bit WAV) as mono float64.

    Any file soundfile reads works (WAV, FLAC, any rate, stereo is averaged).

    Returns
    -------
    ndarray, shape (T,), at ``sample_rate``

    Raises
    ------
    ValueError
        If the bytes are not audio soundfile can read, or hold no samples.
    """
    try:
        x, sr = sf.read(io.BytesIO(bytes(data)), dtype="float64", always_2d=True)
    except Exception as err:  # soundfile raises LibsndfileError, RuntimeError, TypeError...
        raise ValueError(f"not audio that can be read ({err})") from None
    if x.size == 0:
        raise ValueError("the recording holds no samples")
    return resample(x.mean(axis=1), sr, sample_rate)


def to_wav(audio: np.ndarray, sr: int = SAMPLE_RATE) -> bytes:
    """``audio`` (T,) as the bytes of a mono 16-bit PCM WAV file (what the browser sends)."""
    buf = io.BytesIO()
    sf.write(buf, np.clip(np.asarray(audio, dtype=np.float64), -1.0, 1.0), int(sr),
             format="WAV", subtype="PCM_16")
    return buf.getvalue()


def hold(audio: np.ndarray, sr: int = SAMPLE_RATE, seconds: float = 2.0, *,
         trim_s: float = 0.03) -> np.ndarray:
    """A short vowel clip held for ``seconds``: a stand-in for a person at the microphone.

    The sounding part of the clip (frames within 30 dB of its loudest), cut ``trim_s`` in
    from each end (no fade), is played forward and backward in turn until it lasts
    ``seconds``; the turns join without a jump. The shipped corpus clips sound for about
    0.6 s, the recorder takes 2 s: tests, the lesson's smoke run and ``bench/space.py``
    make "recordings" from them this way.

    Returns
    -------
    ndarray, shape (round(seconds * sr),)
    """
    x = np.asarray(audio, dtype=np.float64)
    hop = max(1, int(0.01 * sr))
    env = np.array([np.sqrt(np.mean(x[i:i + hop] ** 2)) for i in range(0, len(x) - hop + 1, hop)])
    if len(env) == 0 or env.max() == 0:
        raise ValueError("the clip is silent: nothing to hold")
    on = np.flatnonzero(env > env.max() * 10 ** (-30 / 20))
    trim = int(trim_s * sr)
    seg = x[on[0] * hop + trim:(on[-1] + 1) * hop - trim]
    if len(seg) < hop:
        raise ValueError("the clip's sounding part is too short to hold")
    n = int(round(seconds * sr))
    reps = -(-n // len(seg))
    return np.concatenate([seg if k % 2 == 0 else seg[::-1] for k in range(reps)])[:n]
