"""The recorder: record a sustained /a/ in the browser, hear it back, Keep or Retry.

What a person sees: their id and an optional group, a Record button with a 3-2-1
countdown and a level meter (:class:`~hd_widgets.widgets.mic.MicCapture`, in the page),
then the take's player, what the checks found, and Keep / Retry; below, their own kept
takes, each of which they can delete.

The path of a take: the page sends 16 kHz WAV bytes -> :meth:`Recorder.receive` decodes
and checks them (``speech.recordings.check_recording``) and shows the result; nothing is
stored. :meth:`Recorder.keep` (the Keep button) writes the take into the class folder
(``speech.class_corpus.ClassRecordings``, ``<folder>/<group>/<speaker>-<n>.wav``);
:meth:`Recorder.retry` drops it. A take that failed a check cannot be kept.
``receive`` is what the browser's bytes reach, so code and tests drive exactly the path a
person drives: ``recorder.receive(wav_bytes); recorder.keep()``.

State is in traits: ``status`` (ready, countdown, recording, checking, review, refused,
kept, error), ``message``, ``speaker``, ``group``, ``check`` (the last check's values),
``recordings`` (this speaker's kept takes), ``n_takes``.

The list of takes shows the folder's truth: the recorder watches its folder
(``ClassRecordings.watch``), so a take deleted in code (``voices.delete_all(ME)`` on
another ``ClassRecordings`` of the same folder) or kept by another recorder of this kernel
leaves or joins the list at once, and "Kept as ..." no longer stands once that take is
gone. Changes made outside this kernel (another student's kernel, a file manager) show on
:meth:`Recorder.refresh`, and whenever the recorder is used (Record, Keep, Delete).
"""
from __future__ import annotations

import html
from pathlib import Path

import ipywidgets as W
import numpy as np
from traitlets import Dict, Int, List, TraitError, Unicode, observe, validate

from ..speech.class_corpus import ClassRecordings, check_name
from ..speech.recordings import (SAMPLE_RATE, RecordingCheck, RecordingLimits,
                                 check_recording, decode_take, to_wav)
from .mic import MicCapture

__all__ = ["Recorder", "STATUSES"]

STATUSES = ("ready", "countdown", "recording", "checking", "review", "refused", "kept", "error")
_COLOURS = {"review": "#1b5e20", "kept": "#1b5e20", "refused": "#b00020", "error": "#b00020"}


class Recorder(W.VBox):
    """Record, check and keep takes of a sustained /a/ into a class folder.

    Parameters
    ----------
    folder : path or ClassRecordings
        The class folder (created on the first Keep).
    speaker : str
        The person's id (checked: no path separators, no '..', 1-40 characters);
        "" waits for one typed into the box.
    group : str
        Optional group (a sub-folder of the class folder, and the colour on the map).
    seconds : float
        Length of a take.
    countdown : int
        Seconds counted down before recording.
    limits : RecordingLimits
        The checks' thresholds.

    Examples
    --------
    >>> rec = Recorder("class_voices", speaker="alex", group="tenors")
    >>> rec                                  # in a notebook: Record, listen, Keep or Retry
    >>> rec.receive(wav_bytes)               # what the page's bytes reach (checks the take)
    RecordingCheck(ok; 2.00 s, -21 dBFS, ...)
    >>> rec.keep()                           # the Keep button: writes tenors/alex-1.wav
    >>> rec.recordings, rec.delete("tenors/alex-1.wav")
    >>> rec.refresh()                        # re-read the folder (changed by another kernel)
    """

    status = Unicode("ready", help="What the recorder is doing: 'ready' (press Record), "
                     "'countdown', 'recording', 'checking' (the page is decoding or the kernel "
                     "checking), 'review' (a good take waits for Keep or Retry), 'refused' (the "
                     "take failed a check: Retry), 'kept', 'error' (no microphone, unreadable "
                     "bytes).")
    message = Unicode("", help="The line the person reads: what the checks found and what to "
                      "do, or what went wrong.")
    speaker = Unicode("", help="Speaker id the takes are kept under (the file name's start). "
                      "Set from code or the box alike: stripped and checked (no '/', '\\' or "
                      "'..', 1-40 letters, digits, spaces or '. _ + @ -'); a refused id raises "
                      "TraitError, the message says why and the old id stays. '' = none yet.")
    group = Unicode("", help="Optional group (the sub-folder the takes go into), checked like "
                    "the speaker id; '' keeps takes at the top of the folder.")
    check = Dict(help="The last take's check (RecordingCheck.to_dict(): ok, problem, message, "
                 "seconds, level_db, clipped, voiced, f0_hz, harmonic, noisy); {} before one.")
    recordings = List(Unicode(), help="This speaker's kept takes in the folder (names relative "
                      "to it), as the folder has them: updated after every take added or "
                      "deleted through any ClassRecordings of this kernel, on refresh(), and "
                      "when the recorder is used.")
    n_takes = Int(0, help="Takes received (from the page or receive()).")

    def __init__(self, folder: str | Path | ClassRecordings, speaker: str = "", group: str = "",
                 *, seconds: float = 2.0, countdown: int = 3,
                 limits: RecordingLimits = RecordingLimits()):
        self.voices = folder if isinstance(folder, ClassRecordings) else ClassRecordings(folder)
        self.limits = limits
        self.take: np.ndarray | None = None          # the take under review, 16 kHz
        self.last_check: RecordingCheck | None = None
        self._kept: str | None = None                # the take "Kept as ..." is about
        self._seen: set[str] = set()                 # takes the list has shown
        self._mic = MicCapture(seconds=float(seconds), countdown=int(countdown),
                               sample_rate=SAMPLE_RATE)
        self._mic.on_msg(self._on_mic)
        style = {"description_width": "7em"}
        self._speaker_box = W.Text(description="Your id", placeholder="your name or a code",
                                   continuous_update=False, style=style)
        self._group_box = W.Text(description="Group", placeholder="optional, e.g. tenors",
                                 continuous_update=False, style=style)
        self._status = W.HTML()
        self._player = W.Audio(format="wav", autoplay=False, loop=False, controls=True,
                               layout=W.Layout(width="300px"))
        self._keep = W.Button(description="Keep", button_style="success", icon="check",
                              tooltip="Store this take in the class folder", disabled=True)
        self._retry = W.Button(description="Retry", icon="redo", disabled=True,
                               tooltip="Drop this take and record again")
        self._mine = W.Dropdown(description="Your takes", options=[], style=style,
                                layout=W.Layout(width="320px"))
        self._delete = W.Button(description="Delete", button_style="danger", icon="trash",
                                tooltip="Delete the selected take from the class folder")
        self._keep.on_click(lambda _: self.keep())
        self._retry.on_click(lambda _: self.retry())
        self._delete.on_click(lambda _: self._mine.value and self.delete(self._mine.value))
        self._speaker_box.observe(lambda c: self._from_box("speaker", c["new"]), "value")
        self._group_box.observe(lambda c: self._from_box("group", c["new"]), "value")
        title = W.HTML(f"<b>Record your voice</b>: a steady &ldquo;aaah&rdquo; for "
                       f"{seconds:g} s, alone, in a quiet spot.")
        self._take_row = W.HBox([self._player, self._keep, self._retry],
                                layout=W.Layout(align_items="center", display="none"))
        self._takes_row = W.HBox([self._mine, self._delete], layout=W.Layout(display="none"))
        super().__init__([title, W.HBox([self._speaker_box, self._group_box]), self._mic,
                          self._status, self._take_row, self._takes_row],
                         layout=W.Layout(width="fit-content", padding="6px",
                                         border="1px solid #ccc"))
        self.add_class("hd-recorder")
        self._unwatch = self.voices.watch(self._folder_changed)
        for name, value in (("speaker", speaker), ("group", group)):
            if str(value).strip():
                setattr(self, name, value)           # a bad id given in code raises here
        self._set("ready", "Type your id, then press Record." if not self.speaker
                  else "Press Record, wait for the countdown, then hold “aaah”.")

    # ------------------------------------------------------------------ programmatic twins
    def receive(self, data: bytes) -> RecordingCheck | None:
        """Check a take (the bytes of an audio file; the page sends 16 kHz WAV) and show it.

        What the page's bytes reach. Nothing is stored; a good take waits for
        :meth:`keep`. Unreadable bytes set status 'error' and return None.
        """
        self.n_takes += 1
        self._set("checking", "Checking the take…")
        try:
            audio = decode_take(data, SAMPLE_RATE)
        except ValueError as err:
            self.take = None
            self._show_take(None)
            self._set("error", f"The recording could not be read ({err}). Press Record again.")
            return None
        result = check_recording(audio, SAMPLE_RATE, limits=self.limits)
        self.take, self.last_check = audio, result
        self.check = result.to_dict()
        self._show_take(audio)
        self._set("review" if result.ok else "refused", result.message if result.ok else
                  f"Not kept: {result.message} Then press Retry.")
        return result

    def keep(self) -> Path | None:
        """Store the take under review in the class folder (the Keep button).

        Returns the new file's path, or None (status says why) when there is no good take
        waiting or no speaker id yet.
        """
        if self.status != "review" or self.take is None:
            why = ("this take failed a check; press Retry" if self.status == "refused"
                   else "there is no take waiting; press Record first")
            self._set(self.status, f"Nothing kept: {why}.")
            return None
        if not self.speaker:
            self._set("review", "Nothing kept yet: type your id first, then press Keep.")
            return None
        path = self.voices.add(self.speaker, self.take, SAMPLE_RATE, group=self.group)
        name = path.relative_to(self.voices.folder).as_posix()
        self.take = None
        self._kept = name
        self._show_take(None)
        self._refresh()
        self._set("kept", f"Kept as {name} in {self.voices.folder}. Record another take, or "
                  "go on.")
        return path

    def retry(self) -> None:
        """Drop the take (kept or not, nothing is stored) and get ready again (Retry)."""
        self.take = None
        self._show_take(None)
        self._set("ready", "Press Record, wait for the countdown, then hold “aaah”.")

    def delete(self, name: str) -> bool:
        """Delete one of this speaker's kept takes (the Delete button); False if not theirs
        (or already gone: then the list is brought up to date and the message says so)."""
        self.refresh()
        after = self.status if self.status in ("review", "refused") else "ready"
        if self.speaker and name not in self.recordings and name in self._seen:
            self._set(after, f"{name} is already gone from the class folder (deleted "
                      "elsewhere).")
            return False
        try:
            self.voices.delete(self.speaker, name)
        except ValueError as err:
            self._set(self.status, f"Not deleted: {err}")
            return False
        self._refresh()
        self._set(after, f"Deleted {name}: it is gone from the class folder.")
        return True

    def refresh(self) -> list[str]:
        """Re-read this speaker's takes from the folder and show them (what the recorder
        does by itself after a change made in this kernel; call it after a change made
        elsewhere). A take that "Kept as ..." spoke of and that is gone is said to be gone.
        Returns :attr:`recordings`."""
        self._refresh()
        if self._kept is not None and self._kept not in self.recordings:
            gone, self._kept = self._kept, None
            if self.status == "kept":
                self._set("ready", f"{gone} was deleted from the class folder. "
                          + (f"Your takes there: {', '.join(self.recordings)}. "
                             if self.recordings else "You have no takes there now. ")
                          + "Press Record to record a new one.")
        return self.recordings

    def _folder_changed(self, change: dict) -> None:
        """A take was added to or deleted from the folder in this kernel (any ClassRecordings)."""
        if self.speaker and change.get("speaker") == self.speaker:
            self.refresh()

    # ------------------------------------------------------------------ identity
    @validate("speaker", "group")
    def _valid_name(self, proposal) -> str:
        name = proposal["trait"].name
        value = proposal["value"]
        if name == "group" and not value.strip():
            return ""
        try:
            return check_name(value, "speaker id" if name == "speaker" else "group")
        except ValueError as err:
            self._say(f"Refused: {err}.", "error")
            box = self._speaker_box if name == "speaker" else self._group_box
            box.value = getattr(self, name)
            raise TraitError(str(err)) from None

    @observe("speaker", "group")
    def _name_changed(self, change) -> None:
        box = self._speaker_box if change["name"] == "speaker" else self._group_box
        if box.value != change["new"]:
            box.value = change["new"]
        if change["name"] == "speaker":
            self._kept = None
            self._refresh()
            if self.status in ("ready", "kept"):
                self._set(self.status, f"Recording as {change['new']}: press Record, wait for "
                          "the countdown, then hold “aaah”.")

    def _from_box(self, name: str, value: str) -> None:
        try:
            setattr(self, name, value)
        except TraitError:
            pass                     # the message says why; the box shows the old value

    # ------------------------------------------------------------------ page and display
    def _on_mic(self, _widget, content: dict, buffers: list) -> None:
        kind = content.get("type")
        if kind == "phase":
            phase = content.get("phase")
            if phase == "countdown":
                self.refresh()                 # the folder may have changed elsewhere
            self._set("checking" if phase == "decoding" else phase,
                      {"countdown": "Get ready: take a breath and start “aaah” "
                                    "as the count ends.",
                       "recording": "The microphone is on: keep the “aaah” steady until the "
                                    "time runs out.",
                       "decoding": "Checking the take…"}.get(phase, ""))
        elif kind == "take" and buffers:
            self.receive(bytes(buffers[0]))
        elif kind == "error":
            self._set("error", f"No recording: {content.get('message', 'unknown error')}. "
                      "Allow this page to use the microphone (the icon in the address bar), "
                      "check it is plugged in, and press Record again.")

    def _set(self, status: str, message: str) -> None:
        if status not in STATUSES:
            return
        self.status = status
        self._mic.state = status
        self._mic.armed = status in ("ready", "kept", "error")
        self._keep.disabled = status != "review"
        self._retry.disabled = status not in ("review", "refused")
        self._say(message, "error" if status in ("refused", "error") else "ok")

    def _say(self, message: str, kind: str) -> None:
        self.message = message
        colour = "#b00020" if kind == "error" else _COLOURS.get(self.status, "#333")
        self._status.value = (f"<div style='max-width:640px;color:{colour};line-height:1.35'>"
                              f"{html.escape(message)}</div>")

    def _show_take(self, audio: np.ndarray | None) -> None:
        if audio is None:
            self._take_row.layout.display = "none"
            self._player.value = b""
        else:
            self._player.value = to_wav(audio, SAMPLE_RATE)   # what was received, as is
            self._take_row.layout.display = None

    def _refresh(self) -> None:
        self.recordings = self.voices.list(self.speaker) if self.speaker else []
        self._seen.update(self.recordings)
        self._mine.options = self.recordings
        self._mine.value = self.recordings[-1] if self.recordings else None   # the newest
        self._takes_row.layout.display = None if self.recordings else "none"

    def close(self) -> None:
        """Close the recorder and every control in it (and stop watching the folder)."""
        if hasattr(self, "_unwatch"):
            self._unwatch()
        for w in (self._mic, self._speaker_box, self._group_box, self._status, self._player,
                  self._keep, self._retry, self._mine, self._delete, self._take_row,
                  self._takes_row, *self.children):
            w.close()
        super().close()

    def __repr__(self) -> str:
        grp = f", group={self.group!r}" if self.group else ""
        return (f"Recorder(speaker={self.speaker!r}{grp}, status={self.status!r}, "
                f"kept={len(self.recordings)}, folder='{self.voices.folder}')")
