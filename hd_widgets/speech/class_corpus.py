"""A class's own voices: kept takes in one folder that ``Corpus.from_folder`` reads.

Layout (one file per kept take, 16 kHz mono 16-bit PCM WAV)::

    <folder>/<group>/<speaker>-<n>.wav     a take with a group (the sub-folder is the group)
    <folder>/<speaker>-<n>.wav             a take without one (group "")

so ``FeatureSpace.fit(Corpus.from_folder(folder), d=2)`` builds the class's space and the
rest of the package works on it unchanged. ``n`` counts a speaker's takes (1, 2, ...).

Each file is written whole to a hidden temporary name in the same folder (not ending in
``.wav``, so a reader never sees it) and then moved into place in one step (a hard link,
which never replaces another take; where the file system has none, ``os.replace``), so a
reader sees either the whole take or nothing. Takes are stored at one loudness
(``level_db``, -20 dBFS RMS by default, peak at most 0.9): microphones and distances
differ from one laptop to the next, and the space should tell voices apart, not microphones.

The one delete in the package: ratings are append-only, but a voice is personal data its
owner may withdraw. :meth:`ClassRecordings.delete` removes one of a speaker's own files
(and any cached WORLD analysis that holds it, see ``space.cache_dir``); the next space
fitted on the folder no longer has it.

Watching the folder: :meth:`ClassRecordings.watch` registers a callback that runs after
every take added to or deleted from the folder by any ``ClassRecordings`` of this process
(folders are matched by their real path), so a widget that shows the folder (the
recorder's list of takes) follows a deletion made in code on another instance. Changes
made by other processes (a classmate's kernel, a file manager) are not announced: a
reader sees them the next time it lists the folder.

Speaker ids and groups become file and folder names, so they are checked
(:func:`check_name`): stripped, 1 to 40 characters, letters, digits, spaces and ``. _ + @ -``,
starting with a letter or digit: no path separators, no ``..``, nothing hidden.
"""
from __future__ import annotations

import inspect
import logging
import os
from pathlib import Path
import re
import secrets
import threading
from typing import Callable
import weakref

import numpy as np
import soundfile as sf

from .corpus import Corpus
from .recordings import SAMPLE_RATE, resample
from .space import cache_dir

__all__ = ["ClassRecordings", "check_name", "KEEP_LEVEL_DB"]

KEEP_LEVEL_DB = -20.0   # RMS level every kept take is stored at
KEEP_PEAK = 0.9         # ... unless that would put a sample above this (then less gain)
_NAME = re.compile(r"^[^\W_][\w .+@-]{0,39}$")
_FILE = re.compile(r"^(?P<speaker>.+)-(?P<n>[0-9]+)\.wav$")
_log = logging.getLogger(__name__)
# real path of a folder -> {token: callback, or a weak reference to a bound method}
_WATCHERS: dict[str, dict[int, object]] = {}
_WATCH_LOCK = threading.Lock()


def check_name(value: str, what: str = "speaker id") -> str:
    """``value`` stripped, if it can be a file or folder name; else ValueError saying why."""
    if not isinstance(value, str):
        raise ValueError(f"{what} must be text, got {type(value).__name__}")
    v = value.strip()
    if not v:
        raise ValueError(f"{what} is empty: type one (your name or a code)")
    if "/" in v or "\\" in v or ".." in v:
        raise ValueError(f"{what} {v!r} may not contain '/', '\\' or '..'")
    if not _NAME.match(v):
        raise ValueError(f"{what} {v!r} refused: use 1 to 40 letters, digits, spaces or "
                         "'. _ + @ -', starting with a letter or digit")
    return v


class ClassRecordings:
    """The folder of a class's kept takes: add, list and delete one speaker's recordings.

    Parameters
    ----------
    folder : path
        Created on the first :meth:`add`.
    level_db : float or None
        RMS level (dBFS) takes are stored at; None stores them as given.

    Examples
    --------
    >>> voices = ClassRecordings("class_voices")
    >>> voices.add("alex", audio, 16000, group="tenors")     # -> class_voices/tenors/alex-1.wav
    >>> voices.list("alex")
    ['tenors/alex-1.wav']
    >>> voices.delete("alex", "tenors/alex-1.wav")
    >>> space = FeatureSpace.fit(voices.corpus(), d=2)       # = Corpus.from_folder(folder)
    >>> stop = voices.watch(print)    # told of every add and delete in the folder
    """

    def __init__(self, folder: str | Path, *, level_db: float | None = KEEP_LEVEL_DB):
        self.folder = Path(folder)
        self.level_db = level_db
        self._key = os.path.realpath(self.folder)       # what watchers of the folder share

    # ------------------------------------------------------------------ watching
    def watch(self, callback: Callable[[dict], None]) -> Callable[[], None]:
        """Call ``callback(change)`` after every take added to or deleted from this folder
        by any ``ClassRecordings`` of this process (the same folder by its real path).

        ``change`` is ``{"action": "added" or "deleted", "speaker": str, "name": str}``
        (``name`` relative to the folder). A bound method is held weakly (a widget that
        is garbage-collected stops being called); any other callable strongly. An
        exception in a callback is logged and does not undo the change.

        Returns
        -------
        A function that stops the watching (idempotent).
        """
        held = weakref.WeakMethod(callback) if inspect.ismethod(callback) else callback
        token = id(held)
        with _WATCH_LOCK:
            _WATCHERS.setdefault(self._key, {})[token] = held

        def unwatch() -> None:
            with _WATCH_LOCK:
                watchers = _WATCHERS.get(self._key, {})
                watchers.pop(token, None)
                if not watchers:
                    _WATCHERS.pop(self._key, None)
        return unwatch

    def _announce(self, action: str, speaker: str, name: str) -> None:
        with _WATCH_LOCK:
            watchers = list(_WATCHERS.get(self._key, {}).items())
        change = {"action": action, "speaker": speaker, "name": name}
        for token, held in watchers:
            callback = held() if isinstance(held, weakref.WeakMethod) else held
            if callback is None:                     # its widget is gone
                with _WATCH_LOCK:
                    _WATCHERS.get(self._key, {}).pop(token, None)
                continue
            try:
                callback(change)
            except Exception:     # noqa: BLE001 - a display's error must not undo a delete
                _log.exception("a watcher of %s failed on %s", self.folder, change)

    # ------------------------------------------------------------------ reading
    def _takes(self) -> list[tuple[str, str, int]]:
        """(name relative to the folder, speaker, n) of every take, sorted by name."""
        if not self.folder.is_dir():
            return []
        out = []
        for path in sorted(self.folder.rglob("*.wav")):
            rel = path.relative_to(self.folder)
            m = _FILE.match(path.name)
            if m and len(rel.parts) <= 2 and path.is_file() and not path.is_symlink():
                out.append((rel.as_posix(), m["speaker"], int(m["n"])))
        return out

    def list(self, speaker: str | None = None) -> list[str]:
        """Names (relative to the folder) of ``speaker``'s takes, or of every take."""
        who = None if speaker is None else check_name(speaker)
        return [name for name, s, _ in self._takes() if who is None or s == who]

    def speakers(self) -> dict[str, int]:
        """Number of takes per speaker."""
        counts: dict[str, int] = {}
        for _, s, _ in self._takes():
            counts[s] = counts.get(s, 0) + 1
        return counts

    def corpus(self, **kwargs) -> Corpus:
        """``Corpus.from_folder(folder, **kwargs)``: the class's voices, groups from sub-folders."""
        return Corpus.from_folder(self.folder, **kwargs)

    def __len__(self) -> int:
        return len(self._takes())

    def __repr__(self) -> str:
        takes = self._takes()
        groups = sorted({n.split("/")[0] if "/" in n else "" for n, _, _ in takes})
        return (f"ClassRecordings('{self.folder}', {len(takes)} takes, "
                f"{len({s for _, s, _ in takes})} speakers, groups={groups})")

    # ------------------------------------------------------------------ writing
    def add(self, speaker: str, audio: np.ndarray, sr: int = SAMPLE_RATE, *,
            group: str = "") -> Path:
        """Store one take as ``<folder>/<group>/<speaker>-<n>.wav`` (16 kHz mono PCM_16).

        Parameters
        ----------
        speaker : str
            Checked with :func:`check_name` (stripped).
        audio : ndarray, shape (T,)
            The take (checked beforehand by ``check_recording``; it is not checked here).
        sr : int
            Its sample rate; stored resampled to 16 kHz.
        group : str
            Optional group (checked like a speaker id); "" stores it at the top level.

        Returns
        -------
        Path of the new file.
        """
        who = check_name(speaker)
        grp = check_name(group, "group") if group.strip() else ""
        x = resample(np.asarray(audio, dtype=np.float64), int(sr), SAMPLE_RATE)
        if x.ndim != 1 or len(x) == 0 or not np.all(np.isfinite(x)):
            raise ValueError("audio must be a non-empty 1-D array of finite samples")
        x = self._level(x)
        where = self.folder / grp if grp else self.folder
        where.mkdir(parents=True, exist_ok=True)
        n = max((k for _, s, k in self._takes() if s == who), default=0) + 1
        tmp = where / f".{who}-{secrets.token_hex(4)}.wav.tmp"
        with open(tmp, "wb") as fh:
            sf.write(fh, x, SAMPLE_RATE, format="WAV", subtype="PCM_16")
            fh.flush()
            os.fsync(fh.fileno())
        try:
            while True:
                final = where / f"{who}-{n}.wav"
                try:
                    os.link(tmp, final)          # atomic, and never replaces another take
                    break
                except FileExistsError:
                    n += 1
                except OSError:                  # no hard links here: replace when free
                    if final.exists():
                        n += 1
                        continue
                    os.replace(tmp, final)
                    break
        finally:
            tmp.unlink(missing_ok=True)
        self._announce("added", who, final.relative_to(self.folder).as_posix())
        return final

    def _level(self, x: np.ndarray) -> np.ndarray:
        if self.level_db is None:
            return np.clip(x, -1.0, 1.0)
        rms = float(np.sqrt(np.mean(x ** 2)))
        if rms == 0:
            return x
        gain = min(10 ** (self.level_db / 20) / rms, KEEP_PEAK / float(np.abs(x).max()))
        return x * gain

    def delete(self, speaker: str, name: str) -> None:
        """Delete one of ``speaker``'s own takes (a name from :meth:`list`).

        Also removes cached WORLD analyses (``space.cache_dir()``) that include a take of
        that name, so no pitch or envelope of it stays behind.

        Raises
        ------
        ValueError
            If ``name`` is not one of ``speaker``'s takes in this folder.
        """
        mine = self.list(speaker)
        if name not in mine:
            raise ValueError(f"{name!r} is not one of {check_name(speaker)!r}'s recordings "
                             f"here (theirs: {mine or 'none'})")
        path = self.folder / name
        path.unlink()
        if path.parent != self.folder:
            try:
                path.parent.rmdir()                 # only if the group folder is now empty
            except OSError:
                pass
        _forget_analyses(name)
        self._announce("deleted", check_name(speaker), name)

    def delete_all(self, speaker: str) -> list[str]:
        """Delete every take of ``speaker``; returns the names deleted."""
        names = self.list(speaker)
        for name in names:
            self.delete(speaker, name)
        return names


def _forget_analyses(name: str) -> None:
    """Remove cached corpus analyses whose clip names include ``name`` (a cache: rebuilt on use)."""
    folder = cache_dir()
    if not folder.is_dir():
        return
    for path in folder.glob("analysis-*.npz"):
        try:
            with np.load(path, allow_pickle=False) as z:
                hit = name in set(z["names"].tolist())
        except Exception:     # noqa: BLE001 - a damaged cache file is not ours to judge
            continue
        if hit:
            path.unlink(missing_ok=True)
