"""Recording a class's voices: every refusal of a take, the class folder, the recorder widget.

Real WORLD on real signals: takes are shipped-corpus voices held for 2 s
(``recordings.hold``), scaled, clipped, cut, mixed or replaced by noise, and sent as the
WAV bytes a browser sends, through ``Recorder.receive`` and ``Recorder.keep``, the path
the browser's bytes take.
"""
from __future__ import annotations

import io
import json

import numpy as np
import pytest
import soundfile as sf
from traitlets import TraitError

from hd_widgets.speech.class_corpus import KEEP_LEVEL_DB, ClassRecordings, check_name
from hd_widgets.speech.corpus import DEFAULT_CORPUS, Corpus, read_audio
from hd_widgets.speech.recordings import (RecordingLimits, check_recording, decode_take,
                                          hold, to_wav)
from hd_widgets.speech.space import FeatureSpace
from hd_widgets.widgets.recorder import Recorder

SR = 16000


def take(name: str) -> np.ndarray:
    """A shipped voice held for 2 s, as a person at the microphone would give it."""
    return hold(read_audio(DEFAULT_CORPUS / f"{name}.flac"), SR)


def mixture(a: str, b: str) -> np.ndarray:
    """Two voices at the same level, singing at once."""
    xa, xb = take(a), take(b)
    return (xa + xb * np.sqrt(np.mean(xa ** 2) / np.mean(xb ** 2))) / 2


@pytest.fixture(scope="module")
def vowel():
    return take("woman05")


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """Analyses of test voices go to a cache of this test's own."""
    monkeypatch.setenv("HD_WIDGETS_CACHE", str(tmp_path / "cache"))


# --------------------------------------------------------------------------- the checks
@pytest.mark.parametrize("name", ["man03", "woman05", "child07"])
def test_a_held_vowel_passes_with_its_measures(name):
    r = check_recording(take(name), SR)
    assert r.ok and r.problem is None and r.message.startswith("Good take")
    assert r.seconds == 2.0 and -25 < r.level_db < -5 and r.clipped == 0
    assert r.voiced > 0.9 and r.harmonic > 0.7 and r.noisy <= 0.1 and 80 < r.f0_hz < 400
    assert "ok;" in repr(r) and f"F0 {r.f0_hz:.0f} Hz" in repr(r)
    json.dumps(r.to_dict())                                   # a widget trait can hold it


@pytest.mark.parametrize("gain_db", [-60.0, None])
def test_too_quiet(vowel, gain_db):
    x = vowel * 10 ** (gain_db / 20) if gain_db is not None else np.zeros_like(vowel)
    r = check_recording(x, SR)
    assert r.problem == "too_quiet" and not r.ok
    assert "Too quiet" in r.message and "closer to the microphone" in r.message
    assert ("silence" in r.message) == (gain_db is None)


def test_clipped(vowel):
    r = check_recording(np.clip(vowel * 4, -1, 1), SR)
    assert r.problem == "clipped" and r.clipped > 0.01
    assert "Too loud" in r.message and "Move back" in r.message


def test_too_short_is_reported_first(vowel):
    r = check_recording(vowel[:SR] * 1e-4, SR)                # short and quiet: short first
    assert r.problem == "too_short" and "1.0 s" in r.message and "hold the vowel" in r.message
    assert check_recording(vowel[:100], SR).problem == "too_short"      # not even analysed


def test_unvoiced_noise_is_not_a_voice():
    rng = np.random.default_rng(0)
    for x in (0.05 * rng.standard_normal(2 * SR),                        # hiss
              np.convolve(0.05 * rng.standard_normal(2 * SR), np.ones(8) / 8, "same")):   # whisper-like
        r = check_recording(x, SR)
        assert r.problem == "not_voiced" and r.voiced < 0.6
        assert "not whispered" in r.message


@pytest.mark.parametrize("a, b", [("man10", "child07"), ("man04", "woman12"), ("man10", "man17")])
def test_two_voices_at_once(a, b):
    r = check_recording(mixture(a, b), SR)
    assert r.problem == "more_than_one_voice" and r.harmonic < 0.7 and r.voiced >= 0.6
    assert "Record alone" in r.message
    assert check_recording(take(a), SR).ok and check_recording(take(b), SR).ok


def test_a_voice_drowned_in_noise(vowel):
    rng = np.random.default_rng(1)
    x = 0.25 * vowel
    r = check_recording(x + rng.standard_normal(len(x)) * np.sqrt(np.mean(x ** 2)), SR)  # 0 dB SNR
    assert r.problem == "noisy" and r.noisy > 0.1 and "quieter spot" in r.message


def test_limits_are_settings(vowel):
    strict = RecordingLimits(min_seconds=2.5)
    assert check_recording(vowel, SR, limits=strict).problem == "too_short"
    assert check_recording(vowel * 0.01, SR, limits=RecordingLimits(min_level_db=-80)).ok


def test_bad_arrays_are_errors_not_verdicts(vowel):
    with pytest.raises(ValueError, match="finite"):
        check_recording(np.full(SR, np.nan), SR)
    with pytest.raises(ValueError, match="1-D"):
        check_recording(np.zeros((2, SR)), SR)
    with pytest.raises(ValueError, match="sr"):
        check_recording(vowel, 0)


def test_decode_take_reads_what_a_browser_or_a_file_gives(vowel):
    stereo = io.BytesIO()
    sf.write(stereo, np.stack([vowel, vowel], axis=1), SR, format="WAV", subtype="FLOAT")
    y = decode_take(stereo.getvalue())
    assert y.shape == vowel.shape and np.allclose(y, vowel, atol=1e-6)
    at48 = io.BytesIO()
    sf.write(at48, np.repeat(vowel, 3), 48000, format="FLAC")
    assert len(decode_take(at48.getvalue())) == len(vowel)
    assert np.allclose(decode_take(to_wav(vowel)), vowel, atol=1 / 32767)
    with pytest.raises(ValueError, match="not audio"):
        decode_take(b"webm/opus is not read on the server")


# --------------------------------------------------------------------------- speaker ids
@pytest.mark.parametrize("bad", ["", "   ", "a/b", "a\\b", "..", "x..y", ".hidden", "-x",
                                 "x" * 41, "a:b", "tab\there", "nul\x00"])
def test_bad_speaker_ids_are_refused(bad, tmp_path):
    with pytest.raises(ValueError):
        check_name(bad)
    with pytest.raises(ValueError):
        ClassRecordings(tmp_path).add(bad, np.ones(SR) * 0.1)
    assert not any(tmp_path.rglob("*.wav"))


def test_good_ids_are_stripped():
    assert check_name("  Ana María ") == "Ana María"
    assert check_name("s12.b-3@x") == "s12.b-3@x"


def test_recorder_refuses_a_bad_id_and_keeps_the_old_one(tmp_path):
    with pytest.raises(TraitError):
        Recorder(tmp_path, speaker="../etc")
    rec = Recorder(tmp_path, speaker=" ana ")
    assert rec.speaker == "ana" and rec._speaker_box.value == "ana"
    with pytest.raises(TraitError):
        rec.speaker = "a/b"
    assert rec.speaker == "ana" and "Refused" in rec.message
    rec._speaker_box.value = ".."                           # typed into the box
    assert rec.speaker == "ana" and rec._speaker_box.value == "ana"
    with pytest.raises(TraitError):
        rec.group = "x/../y"
    rec.group = "  "
    assert rec.group == ""


# --------------------------------------------------------------------------- recorder + folder
def test_nothing_is_stored_until_keep(tmp_path, vowel):
    folder = tmp_path / "class"
    rec = Recorder(folder, speaker="ana", group="alto")
    assert rec.status == "ready" and rec.check == {}
    assert rec.keep() is None and "no take waiting" in rec.message
    result = rec.receive(to_wav(vowel))
    assert result.ok and rec.status == "review" and rec.check["ok"] is True
    assert not folder.exists()                              # checked, shown, not stored
    assert rec._player.value and not rec._keep.disabled and not rec._mic.armed
    path = rec.keep()
    assert path == folder / "alto" / "ana-1.wav" and rec.status == "kept"
    assert rec.recordings == ["alto/ana-1.wav"] and "Kept as alto/ana-1.wav" in rec.message
    assert rec._mic.armed and rec._keep.disabled
    assert rec.keep() is None                                # the take was used up
    info = sf.info(path)
    assert (info.samplerate, info.channels, info.subtype, info.frames) == (16000, 1, "PCM_16", 2 * SR)
    stored, _ = sf.read(path)
    assert 20 * np.log10(np.sqrt(np.mean(stored ** 2))) == pytest.approx(KEEP_LEVEL_DB, abs=0.1)
    assert [p.name for p in folder.rglob("*") if p.is_file()] == ["ana-1.wav"]   # no temp left
    assert repr(rec) == f"Recorder(speaker='ana', group='alto', status='kept', kept=1, folder='{folder}')"


def test_a_refused_take_cannot_be_kept_and_retry_drops_it(tmp_path, vowel):
    rec = Recorder(tmp_path, speaker="ben")
    rec.receive(to_wav(vowel * 1e-3))
    assert rec.status == "refused" and rec.check["problem"] == "too_quiet"
    assert rec._keep.disabled and not rec._retry.disabled and "Retry" in rec.message
    assert rec.keep() is None and "failed a check" in rec.message
    rec.retry()
    assert rec.status == "ready" and rec.take is None and not list(tmp_path.rglob("*.wav"))
    assert rec.receive(b"junk") is None and rec.status == "error" and rec.n_takes == 2


def test_keep_needs_a_speaker(tmp_path, vowel):
    rec = Recorder(tmp_path)
    rec.receive(to_wav(vowel))
    assert rec.keep() is None and "type your id" in rec.message and rec.status == "review"
    rec._speaker_box.value = "cleo"
    assert rec.keep() == tmp_path / "cleo-1.wav"


def test_the_page_messages_take_the_same_path(tmp_path, vowel):
    rec = Recorder(tmp_path, speaker="dan")
    rec._on_mic(rec._mic, {"type": "phase", "phase": "countdown"}, [])
    assert rec.status == "countdown" and not rec._mic.armed
    rec._on_mic(rec._mic, {"type": "phase", "phase": "decoding"}, [])
    assert rec.status == "checking" and rec._mic.state == "checking"
    rec._on_mic(rec._mic, {"type": "take"}, [memoryview(to_wav(vowel))])
    assert rec.status == "review" and rec.n_takes == 1
    rec._keep.click()
    assert rec.recordings == ["dan-1.wav"]
    rec._on_mic(rec._mic, {"type": "error", "message": "NotAllowedError: Permission denied"}, [])
    assert rec.status == "error" and "Permission denied" in rec.message and rec._mic.armed


def test_list_and_delete_own_recordings_and_the_space_forgets(tmp_path):
    folder = tmp_path / "class"
    rec = Recorder(folder)
    for speaker, group, voice in [("ana", "alto", "woman05"), ("ben", "bass", "man03"),
                                  ("cleo", "child", "child07"), ("dan", "bass", "man10")]:
        rec.group, rec.speaker = group, speaker
        assert rec.receive(to_wav(take(voice))).ok and rec.keep() is not None
    voices = ClassRecordings(folder)
    assert voices.list("ben") == ["bass/ben-1.wav"] and len(voices) == 4
    assert voices.speakers() == {"ana": 1, "ben": 1, "cleo": 1, "dan": 1}
    space = FeatureSpace.fit(Corpus.from_folder(folder), d=2)
    assert "bass/ben-1.wav" in space.names and set(space.groups) == {"alto", "bass", "child"}
    with pytest.raises(ValueError, match="not one of 'ana'"):
        voices.delete("ana", "bass/ben-1.wav")               # only one's own
    assert rec.delete("alto/ana-1.wav") is False              # the widget is dan's now
    assert (folder / "alto" / "ana-1.wav").exists()
    voices.delete("ben", "bass/ben-1.wav")
    assert not (folder / "bass" / "ben-1.wav").exists() and voices.list("ben") == []
    cached = [np.load(p)["names"].tolist() for p in (tmp_path / "cache").glob("analysis-*.npz")]
    assert not any("bass/ben-1.wav" in names for names in cached)   # no analysis of it left
    again = FeatureSpace.fit(Corpus.from_folder(folder), d=2)
    assert "bass/ben-1.wav" not in again.names and len(again.names) == 3
    rec.speaker = "cleo"
    assert rec.recordings == ["child/cleo-1.wav"] and rec.delete("child/cleo-1.wav")
    assert not (folder / "child").exists()                    # the empty group folder too
    assert voices.delete_all("dan") == ["bass/dan-1.wav"] and voices.list() == ["alto/ana-1.wav"]
    assert "1 takes, 1 speakers" in repr(voices)


def test_a_new_take_never_replaces_another(tmp_path, monkeypatch, vowel):
    voices = ClassRecordings(tmp_path)
    first = voices.add("eve", vowel)
    second = voices.add("eve", vowel)
    assert (first.name, second.name) == ("eve-1.wav", "eve-2.wav")
    before = first.read_bytes()
    monkeypatch.setattr(ClassRecordings, "_takes", lambda self: [])   # as if a race hid them
    third = voices.add("eve", vowel * 0.5)
    assert third.name == "eve-3.wav" and first.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["eve-1.wav", "eve-2.wav", "eve-3.wav"]


# --------------------------------------------------------------------------- the folder's truth
def test_the_recorder_shows_a_deletion_made_in_code_at_once(tmp_path, vowel):
    """Notebook 8: the recorder kept your take, then ``voices.delete_all(ME)`` (another
    ClassRecordings of the same folder, named by another path) removes it."""
    folder = tmp_path / "class"
    rec = Recorder(folder, speaker="you", group="woman")
    rec.receive(to_wav(vowel))
    rec.keep()
    rec.receive(to_wav(vowel))
    rec.keep()
    assert rec.recordings == ["woman/you-1.wav", "woman/you-2.wav"] and rec.status == "kept"
    voices = ClassRecordings(tmp_path / "." / "class" / ".." / "class")   # the same folder
    voices.delete("you", "woman/you-1.wav")
    assert rec.recordings == ["woman/you-2.wav"]                   # at once, no interaction
    assert rec._mine.options == ("woman/you-2.wav",) and rec.status == "kept"
    assert "Kept as woman/you-2.wav" in rec.message                # that one is still there
    assert voices.delete_all("you") == ["woman/you-2.wav"]
    assert rec.recordings == [] and rec._mine.options == ()
    assert rec._takes_row.layout.display == "none"                 # no takes row, no Delete
    assert rec.status == "ready" and "Kept as" not in rec.message
    assert "woman/you-2.wav was deleted from the class folder" in rec.message
    assert "no takes there now" in rec.message
    ClassRecordings(folder).add("you", vowel, group="woman")       # a take added in code
    assert rec.recordings == ["woman/you-1.wav"]


def test_others_takes_leave_the_list_alone(tmp_path, vowel):
    rec = Recorder(tmp_path, speaker="ana")
    rec.receive(to_wav(vowel))
    rec.keep()
    message = rec.message
    voices = ClassRecordings(tmp_path)
    voices.add("ben", vowel)
    voices.delete_all("ben")
    assert rec.recordings == ["ana-1.wav"] and rec.message == message


def test_refresh_and_delete_see_changes_made_elsewhere(tmp_path, vowel, monkeypatch):
    """A change no ClassRecordings of this kernel announced (another kernel, a file manager)
    shows on refresh(), on Record and on Delete."""
    rec = Recorder(tmp_path, speaker="cleo")
    rec.receive(to_wav(vowel))
    rec.keep()
    (tmp_path / "cleo-1.wav").unlink()                    # behind the recorder's back
    assert rec.recordings == ["cleo-1.wav"]               # not announced: not seen yet
    assert rec.delete("cleo-1.wav") is False              # the Delete button on a stale list
    assert "already gone" in rec.message and rec.recordings == [] and rec.status == "ready"
    ClassRecordings(tmp_path, level_db=None)              # (a fresh instance changes nothing)
    sf.write(tmp_path / "cleo-2.wav", vowel, SR, subtype="PCM_16")   # copied in by hand
    assert rec.refresh() == ["cleo-2.wav"] and rec._mine.value == "cleo-2.wav"
    (tmp_path / "cleo-2.wav").unlink()
    rec._on_mic(rec._mic, {"type": "phase", "phase": "countdown"}, [])   # Record pressed
    assert rec.recordings == [] and rec.status == "countdown"
    assert rec.delete("nobody-1.wav") is False and "not one of 'cleo'" in rec.message


def test_watchers_are_told_and_a_closed_recorder_is_not(tmp_path, vowel):
    voices = ClassRecordings(tmp_path)
    seen = []
    stop = voices.watch(seen.append)
    path = voices.add("dan", vowel)
    voices.delete("dan", "dan-1.wav")
    assert seen == [{"action": "added", "speaker": "dan", "name": "dan-1.wav"},
                    {"action": "deleted", "speaker": "dan", "name": "dan-1.wav"}]
    stop()
    stop()                                                 # idempotent
    voices.add("dan", vowel)
    assert len(seen) == 2 and path.exists()
    rec = Recorder(tmp_path, speaker="dan")
    rec.close()
    voices.delete_all("dan")
    assert rec.recordings == ["dan-1.wav"]                 # closed: no longer follows


def test_a_failing_watcher_does_not_undo_a_delete(tmp_path, vowel, caplog):
    voices = ClassRecordings(tmp_path)
    voices.add("eve", vowel)

    def broken(change):
        raise RuntimeError("display gone")
    stop = voices.watch(broken)
    voices.delete("eve", "eve-1.wav")
    stop()
    assert voices.list("eve") == [] and "display gone" in caplog.text
