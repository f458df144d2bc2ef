"""Corpora of sustained vowels: read a folder of audio files into one sample rate.

A corpus is a list of clips, each one recording of one voice holding a vowel. Any folder
of WAV or FLAC files works (mono or stereo, any sample rate, any length of at least
``min_seconds``); the package ships a synthetic stand-in for the paper's JVPD corpus
(``Corpus.default()``, see ``scripts/make_corpus.py``).

Speaker groups (for colouring plots and checking the space) come from, in order:
the ``groups`` argument, a ``labels.csv`` (columns ``file,group``) in the folder, or the
name of the sub-folder each file sits in. Files without a group get ``""``.

A bad file never slips through silently: with ``errors="raise"`` (the default) the first
unreadable, non-audio, too short, too long, silent, clipped or beyond-full-scale file, and
any audio-named entry that is not a regular file (a dangling symlink, a FIFO, a device),
raises :class:`CorpusError` naming the file and the reason; with ``errors="skip"`` bad
files are left out and listed in ``Corpus.skipped``. Nothing is ever opened before it is
known to be a regular file, so a FIFO cannot hang the reader. ``labels.csv`` is read as
UTF-8 (a byte-order mark is fine). Unvoiced files are caught later, at WORLD analysis
(``space.py``).
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
import math
from math import gcd
import numbers
import os
from pathlib import Path
import stat
from typing import Any, Mapping

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

__all__ = ["Clip", "Corpus", "CorpusError", "DEFAULT_CORPUS", "AUDIO_SUFFIXES"]

DEFAULT_CORPUS = Path(__file__).resolve().parents[1] / "data" / "corpus_a"
AUDIO_SUFFIXES = (".wav", ".flac")
SILENCE_RMS = 1e-4  # -80 dBFS: below this a clip carries no usable voice
MAX_SECONDS = 60.0  # a sustained vowel lasts seconds; longer files are not vowels (or hostile)
CLIP_LEVEL = 0.999  # |sample| at or above this is at full scale ...
CLIP_FRACTION = 1e-3  # ... and a file with more than this fraction there is clipped


class CorpusError(ValueError):
    """A corpus file (or folder) cannot be used; the message names the file and why."""


@dataclass(frozen=True)
class Clip:
    """One recording, resampled to the corpus rate.

    Attributes
    ----------
    name : str
        File path relative to the corpus folder (unique within a corpus).
    audio : ndarray, shape (T,)
        Mono float64 waveform in [-1, 1] at the corpus sample rate.
    group : str
        Speaker group label, or ``""``.
    """

    name: str
    audio: np.ndarray = field(repr=False)
    group: str = ""

    @property
    def rms(self) -> float:
        """Root-mean-square level of the clip."""
        return float(np.sqrt(np.mean(self.audio ** 2)))


@dataclass
class Corpus:
    """Clips of sustained vowels at one sample rate.

    Use :meth:`from_folder` for your own recordings and :meth:`default` for the shipped
    /a/ corpus (60 synthetic voices: 20 men, 20 women, 20 children).
    """

    clips: list[Clip]
    sample_rate: int = 16000
    folder: Path | None = None
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, i: int) -> Clip:
        return self.clips[i]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.clips]

    @property
    def groups(self) -> np.ndarray:
        """Group label per clip, shape (N,)."""
        return np.array([c.group for c in self.clips], dtype=str)

    def __repr__(self) -> str:
        counts = {g: int(n) for g, n in zip(*np.unique(self.groups, return_counts=True))}
        where = f", folder='{self.folder}'" if self.folder else ""
        skipped = f", skipped={len(self.skipped)}" if self.skipped else ""
        return f"Corpus({len(self)} clips, {self.sample_rate} Hz, groups={counts}{where}{skipped})"

    @classmethod
    def default(cls) -> "Corpus":
        """The shipped synthetic corpus of sustained Japanese /a/."""
        return cls.from_folder(DEFAULT_CORPUS)

    @classmethod
    def from_folder(cls, folder: str | Path, *, groups: Mapping[str, str] | None = None,
                    sample_rate: int = 16000, min_seconds: float = 0.3,
                    errors: str = "raise") -> "Corpus":
        """Read every ``.wav`` / ``.flac`` file below ``folder``.

        Parameters
        ----------
        folder : path
            Folder searched recursively, in sorted order.
        groups : mapping of file name (relative path or bare name) -> group, optional
            Overrides ``labels.csv`` and sub-folder names.
        sample_rate : int
            Every clip is resampled to this rate (polyphase, scipy).
        min_seconds : float
            Shorter clips are rejected as too short.
        errors : {"raise", "skip"}
            What to do with a bad file: raise :class:`CorpusError`, or leave it out and
            record ``(name, reason)`` in ``Corpus.skipped``.
        """
        if errors not in ("raise", "skip"):
            raise ValueError(f"errors must be 'raise' or 'skip', got {errors!r}")
        sample_rate, min_seconds = _check_rate(sample_rate), _check_seconds(min_seconds)
        folder = Path(folder)
        if not folder.is_dir():
            raise CorpusError(f"{folder}: not a folder")
        # every audio-named entry except folders: dangling links and FIFOs too, so that
        # read_audio reports them instead of their silently going missing
        files = sorted(p for p in folder.rglob("*")
                       if p.suffix.lower() in AUDIO_SUFFIXES and not p.is_dir())
        if not files:
            raise CorpusError(f"{folder}: no .wav or .flac files found")
        labels = _read_labels(folder) if groups is None else dict(groups)
        clips, skipped = [], []
        for path in files:
            rel = path.relative_to(folder).as_posix()
            try:
                audio = read_audio(path, sample_rate, min_seconds=min_seconds)
            except CorpusError as err:
                if errors == "raise":
                    raise
                skipped.append((rel, str(err)))
                continue
            group = labels.get(rel, labels.get(path.name, path.parent.name
                                              if path.parent != folder else ""))
            clips.append(Clip(rel, audio, str(group)))
        if not clips:
            raise CorpusError(f"{folder}: no usable audio ({len(skipped)} files rejected: "
                              + "; ".join(f"{n}: {r}" for n, r in skipped[:5]) + ")")
        return cls(clips, sample_rate, folder, skipped)


def read_audio(path: str | Path, sample_rate: int = 16000, *,
               min_seconds: float = 0.3) -> np.ndarray:
    """Read one file as mono float64 at ``sample_rate``; raise :class:`CorpusError` if unusable.

    Returns
    -------
    ndarray, shape (T,)
    """
    path = Path(path)
    sample_rate, min_seconds = _check_rate(sample_rate), _check_seconds(min_seconds)
    with _open_regular(path) as fh:
        try:
            info = sf.info(fh)
            if info.frames > MAX_SECONDS * info.samplerate:
                raise CorpusError(f"{path}: too long ({info.frames / info.samplerate:.0f} s > "
                                  f"{MAX_SECONDS:.0f} s); a corpus clip is one held vowel")
            fh.seek(0)
            x, sr = sf.read(fh, dtype="float64", always_2d=True)
        except CorpusError:
            raise
        except Exception as err:  # soundfile raises LibsndfileError, RuntimeError, TypeError...
            raise CorpusError(f"{path}: unreadable or not audio ({err})") from None
    if x.size == 0:
        raise CorpusError(f"{path}: empty file (no samples)")
    if not np.all(np.isfinite(x)):
        raise CorpusError(f"{path}: contains NaN or infinite samples")
    peak = float(np.abs(x).max())
    if peak > 1.0:
        raise CorpusError(f"{path}: samples beyond full scale (peak {peak:.3g}, must be within "
                          "[-1, 1]); rescale the recording")
    at_full = float(np.mean(np.abs(x) >= CLIP_LEVEL))
    if len(x) > 1 and at_full > CLIP_FRACTION:
        raise CorpusError(f"{path}: clipped ({at_full:.1%} of samples at full scale); record "
                          "it again at a lower level")
    x = x.mean(axis=1)  # stereo -> mono
    if len(x) / sr < min_seconds:
        raise CorpusError(f"{path}: too short ({len(x) / sr:.3f} s < {min_seconds} s)")
    if sr != sample_rate:
        g = gcd(int(sr), int(sample_rate))
        x = resample_poly(x, sample_rate // g, int(sr) // g)
    rms = float(np.sqrt(np.mean(x ** 2)))
    if rms < SILENCE_RMS:
        raise CorpusError(f"{path}: silent (RMS {20 * np.log10(max(rms, 1e-12)):.0f} dBFS)")
    return np.ascontiguousarray(x)


def _open_regular(path: Path):
    """Open ``path`` for reading only if it is a regular file (never blocks on a FIFO)."""
    def refuse(mode: int) -> CorpusError:
        kind = ("a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
                else "a folder" if stat.S_ISDIR(mode) else "a device or special file")
        return CorpusError(f"{path}: not a regular file ({kind})")
    try:
        mode = os.stat(path).st_mode                       # through symlinks; never opens
        if not stat.S_ISREG(mode):
            raise refuse(mode)
        # O_NONBLOCK: should it have become a FIFO since, opening returns at once
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        what = "a dangling symlink" if path.is_symlink() else "missing"
        raise CorpusError(f"{path}: {what} (no file to read)") from None
    except OSError as err:
        raise CorpusError(f"{path}: cannot be opened ({err.strerror})") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise refuse(mode)
    if hasattr(os, "set_blocking"):
        os.set_blocking(fd, True)
    return open(fd, "rb")


def _check_rate(sample_rate: Any) -> int:
    if isinstance(sample_rate, (bool, np.bool_)) or not isinstance(sample_rate, numbers.Integral) \
            or not 1000 <= sample_rate <= 384000:
        raise ValueError(f"sample_rate must be an int number of Hz between 1000 and 384000, "
                         f"got {sample_rate!r}")
    return int(sample_rate)


def _check_seconds(min_seconds: Any) -> float:
    if isinstance(min_seconds, (bool, np.bool_)) or not isinstance(min_seconds, numbers.Real) \
            or not (math.isfinite(min_seconds) and 0 <= min_seconds <= MAX_SECONDS):
        raise ValueError(f"min_seconds must be a number of seconds in [0, {MAX_SECONDS:.0f}], "
                         f"got {min_seconds!r}")
    return float(min_seconds)


def _read_labels(folder: Path) -> dict[str, str]:
    """``labels.csv`` (columns ``file,group``, UTF-8 with or without BOM) as a dict."""
    path = folder / "labels.csv"
    if not path.exists() and not path.is_symlink():
        return {}
    labels: dict[str, str] = {}
    with _open_regular(path) as raw:
        try:
            text = raw.read().decode("utf-8-sig")
        except UnicodeDecodeError as err:
            raise CorpusError(f"{path}: not UTF-8 text ({err}); save it as UTF-8 CSV") from None
    try:
        reader = csv.DictReader(text.splitlines())
        if not reader.fieldnames or not {"file", "group"} <= set(reader.fieldnames):
            raise CorpusError(f"{path}: needs columns 'file' and 'group'")
        for row in reader:
            name, group = row["file"], row["group"]
            if not name or group is None:
                raise CorpusError(f"{path}, line {reader.line_num}: needs a file name and a "
                                  f"group, got {row!r}")
            if labels.get(name, group) != group:
                raise CorpusError(f"{path}, line {reader.line_num}: {name!r} is listed again "
                                  f"with another group ({labels[name]!r}, then {group!r})")
            labels[name] = group
    except csv.Error as err:
        raise CorpusError(f"{path}: not a valid CSV file ({err})") from None
    return labels
