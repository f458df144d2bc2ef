"""The recorder in a real JupyterLab + Chromium, with a fake microphone fed from a WAV file.

Chromium's fake capture device plays a file as the microphone (it loops it). The vowel
file is a shipped-corpus voice held for 8 s (``speech.recordings.hold``) at 48 kHz, as a
microphone would deliver it. The test presses Record with the mouse, waits for the
countdown, the recording, the page's own decoding (webm/opus -> 16 kHz WAV) and the
kernel's checks, presses Keep, and reads the kept file from the class folder: a 16 kHz
mono 16-bit WAV of about 2 s whose median F0 (WORLD harvest) is within 5 % of the file's.
Silence instead is refused as too quiet and nothing is kept.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from hd_widgets.speech.corpus import DEFAULT_CORPUS, read_audio
from hd_widgets.speech.recordings import hold, resample
from hd_widgets.speech.world import analyse

pytestmark = pytest.mark.browser

VOICE = "woman05.flac"          # a voice harvest tracks without octave jumps
SPEAKER, GROUP = "browser-voice", "test"
SHOTS = Path("/tmp/recorder_screens")


def source_vowel() -> np.ndarray:
    """The voice the fake microphone plays, at 16 kHz (8 s)."""
    return hold(read_audio(DEFAULT_CORPUS / VOICE), 16000, seconds=8.0)


@pytest.fixture
def fake_mic(request, tmp_path) -> Path:
    """A 48 kHz 16-bit WAV for the fake microphone: the held vowel, or silence."""
    if request.param == "vowel":
        x = resample(source_vowel(), 16000, 48000)
    else:
        x = np.zeros(48000 * 8)
    path = tmp_path / f"mic-{request.param}.wav"
    sf.write(path, x, 48000, subtype="PCM_16")
    return path


@pytest.fixture
def chromium_args(fake_mic):
    return ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={fake_mic}"]


def notebook_cells(folder: Path) -> list:
    return [
        ("markdown", "# Recorder (browser test)"),
        "from hd_widgets.widgets.recorder import Recorder\n"
        f"rec = Recorder({str(folder)!r}, speaker={SPEAKER!r}, group={GROUP!r})\nrec",
    ]


def wait_text(page, text: str, timeout: float = 30.0) -> None:
    page.wait_for_function(
        """(t) => [...document.querySelectorAll('.jp-NotebookPanel .jp-OutputArea-output')]
                  .some(o => o.innerText.includes(t))""", arg=text, timeout=timeout * 1e3)


def record(lab, folder: Path, shot: str | None = None):
    page = lab.page
    page.context.grant_permissions(["microphone"])
    page.set_viewport_size({"width": 1400, "height": 1000})
    lab.write_notebook("recorder.ipynb", notebook_cells(folder))
    lab.open("recorder.ipynb")
    lab.run_all()
    assert lab.cell_errors() == []
    button = page.locator(".hd-mic-record")
    button.wait_for()
    wait_text(page, "Press Record")
    box = button.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_selector(".hd-mic-countdown")          # 3, 2, 1
    if shot:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / shot))
    page.wait_for_selector(".hd-mic-recording", timeout=10_000)
    return page


@pytest.mark.parametrize("fake_mic", ["vowel"], indirect=True)
def test_record_a_vowel_and_keep_it(lab, fake_mic):
    folder = lab.server.root / "class_voices"
    page = record(lab, folder, "0-countdown.png")
    page.wait_for_function(                               # the level meter moves
        "() => parseFloat(document.querySelector('.hd-mic-level').style.width) > 30")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "1-recording.png"))
    wait_text(page, "Good take")
    assert page.locator(".jp-OutputArea-output audio").count() == 1
    assert page.locator(".hd-mic-record").is_disabled()   # Keep or Retry first
    page.screenshot(path=str(SHOTS / "2-review.png"))
    assert not list(folder.rglob("*.wav"))                # nothing stored before Keep
    page.get_by_role("button", name="Keep").click()
    wait_text(page, f"Kept as {GROUP}/{SPEAKER}-1.wav")
    page.wait_for_selector(".jp-OutputArea-output select option", state="attached")   # listed
    page.screenshot(path=str(SHOTS / "3-kept.png"))
    files = list(folder.rglob("*.wav"))
    assert [f.relative_to(folder).as_posix() for f in files] == [f"{GROUP}/{SPEAKER}-1.wav"]
    info = sf.info(files[0])
    assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
    assert 1.9 <= info.duration <= 2.05, info.duration
    kept, _ = sf.read(files[0], dtype="float64")
    got = analyse(kept, 16000)
    want = analyse(source_vowel(), 16000)
    f0_got, f0_want = np.median(got.f0[got.voiced]), np.median(want.f0[want.voiced])
    print(f"median F0 kept {f0_got:.1f} Hz, file {f0_want:.1f} Hz")
    assert abs(f0_got / f0_want - 1) < 0.05
    assert page.locator(".hd-mic-record").is_enabled()    # ready for another take


@pytest.mark.parametrize("fake_mic", ["silence"], indirect=True)
def test_silence_is_refused_and_nothing_kept(lab, fake_mic):
    folder = lab.server.root / "class_voices_silent"
    page = record(lab, folder)
    wait_text(page, "Too quiet")
    page.screenshot(path=str(SHOTS / "4-too-quiet.png"))
    assert page.get_by_role("button", name="Keep").is_disabled()
    page.get_by_role("button", name="Keep").click(force=True)   # a disabled button does nothing
    page.get_by_role("button", name="Retry").click()
    wait_text(page, "Press Record")
    assert not folder.exists() or not list(folder.rglob("*.wav"))
