"""Corpora of sustained vowels: read a folder of audio files into one sample rate.

A corpus is a list of clips, each one recording of one voice holding a vowel. Any folder
of WAV or FLAC files works (mono or stereo, any sample rate, any length of at least
``min_seconds``); the package ships a synthetic stand-in for the paper's JVPD corpus
(``Corpus.default()``, see ``scripts/make_corpus.py``).

Speaker groups (for colouring plots and checking the space) come from, in order:
the ``groups`` argument, a ``labels.csv`` (columns ``file,group``) in the folder, or the
name of the sub-folder each file sits in. Files without a group get ``""``.

A bad file never slips through silently: with ``errors="raise"`` (the default) the first
unreadable, non-audio, too short or silent file raises :class:`CorpusError` naming the
file and the reason; with ``errors="skip"`` bad files are left out and listed in
``Corpus.skipped``. Unvoiced files are caught later, at WORLD analysis (``space.py``).
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from math import gcd
from pathlib import Path
from typing import Mapping

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

__all__ = ["Clip", "Corpus", "CorpusError", "DEFAULT_CORPUS", "AUDIO_SUFFIXES"]

DEFAULT_CORPUS = Path(__file__).resolve().parent / "data" / "corpus_a"
AUDIO_SUFFIXES = (".wav", ".flac")
SILENCE_RMS = 1e-4  # -80 dBFS: below this a clip carries no usable voice


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
        folder = Path(folder)
        if not folder.is_dir():
            raise CorpusError(f"{folder}: not a folder")
        files = sorted(p for p in folder.rglob("*")
                       if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)
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
    try:
        x, sr = sf.read(path, dtype="float64", always_2d=True)
    except Exception as err:  # soundfile raises LibsndfileError, RuntimeError, TypeError...
        raise CorpusError(f"{path}: unreadable or not audio ({err})") from None
    if x.size == 0:
        raise CorpusError(f"{path}: empty file (no samples)")
    x = x.mean(axis=1)  # stereo -> mono
    if not np.all(np.isfinite(x)):
        raise CorpusError(f"{path}: contains NaN or infinite samples")
    if len(x) / sr < min_seconds:
        raise CorpusError(f"{path}: too short ({len(x) / sr:.3f} s < {min_seconds} s)")
    if sr != sample_rate:
        g = gcd(int(sr), int(sample_rate))
        x = resample_poly(x, sample_rate // g, int(sr) // g)
    rms = float(np.sqrt(np.mean(x ** 2)))
    if rms < SILENCE_RMS:
        raise CorpusError(f"{path}: silent (RMS {20 * np.log10(max(rms, 1e-12)):.0f} dBFS)")
    return np.ascontiguousarray(x)


def _read_labels(folder: Path) -> dict[str, str]:
    path = folder / "labels.csv"
    if not path.exists():
        return {}
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames or not {"file", "group"} <= set(reader.fieldnames):
            raise CorpusError(f"{path}: needs columns 'file' and 'group'")
        return {row["file"]: row["group"] for row in reader}
