"""Corpus loading and the speech feature space: round trips, dimensions, bad input."""
from __future__ import annotations

import io
import shutil

import numpy as np
import pytest
import soundfile as sf

from hd_widgets.speech.corpus import DEFAULT_CORPUS, Corpus, CorpusError, read_audio
from hd_widgets.speech.space import LIMIT_CEIL, FeatureSpace, analyse_corpus
from hd_widgets.speech.world import analyse

SR = 16000


def harmonic(f0: float, seconds: float = 1.0, sr: int = SR, amp: float = 0.3) -> np.ndarray:
    """A buzzy vowel-like signal (harvest fails on pure sines, so many harmonics)."""
    t = np.arange(int(seconds * sr)) / sr
    x = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 20) if k * f0 < sr / 2)
    return amp * x / np.abs(x).max()


@pytest.fixture(scope="module")
def space2() -> FeatureSpace:
    return FeatureSpace.default(2)


@pytest.fixture()
def small_folder(tmp_path):
    """Six shipped voices (two per group) copied to a fresh folder with their labels."""
    names = ["man01", "man02", "woman01", "woman02", "child01", "child02"]
    for n in names:
        shutil.copy(DEFAULT_CORPUS / f"{n}.flac", tmp_path / f"{n}.flac")
    (tmp_path / "labels.csv").write_text(
        "file,group\n" + "".join(f"{n}.flac,{n.rstrip('0123456789')}\n" for n in names))
    return tmp_path


def test_default_corpus_has_three_groups_of_twenty():
    corpus = Corpus.default()
    groups, counts = np.unique(corpus.groups, return_counts=True)
    assert dict(zip(groups, counts)) == {"child": 20, "man": 20, "woman": 20}
    assert all(len(c.audio) == SR for c in corpus.clips)


def test_points_are_normalised(space2):
    assert space2.points.shape == (60, 2)
    np.testing.assert_allclose(space2.points.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(space2.points.std(axis=0), 1, atol=1e-12)


def test_round_trip_envelope_of_a_corpus_clip(space2):
    """A voice's own point re-synthesises to an envelope close to its analysed one."""
    an = analyse_corpus(Corpus.default())
    f, ref = an.features, space2.reference
    # moving to a voice's own 2-D point brings the envelope closer than the reference's
    closer = [np.linalg.norm(space2.decode(space2.points[i])[0] - f[i])
              < np.linalg.norm(f[ref] - f[i]) for i in range(len(f)) if i != ref]
    assert np.mean(closer) > 0.9
    # with every component kept, each voice's point decodes to its own envelope exactly
    full = FeatureSpace.fit(an, d=len(f) - 1)
    np.testing.assert_allclose(full.decode(full.points), f, atol=1e-8)
    # the reference voice's point decodes to its own envelope exactly
    np.testing.assert_allclose(space2.decode(space2.reference_point())[0],
                               an.features[space2.reference], atol=1e-9)
    # and re-analysing its synthesised audio gives back that envelope (WORLD round trip)
    y = space2.render(space2.reference_point()) / space2.gain
    re = analyse(y, SR)
    mid = re.f0 > 0
    log_re = np.log(re.sp[mid][20:-20]).mean(axis=0)
    band = slice(10, 400)  # up to 6 kHz, where the vowel's energy is
    r = np.corrcoef(log_re[band], an.features[space2.reference][band])[0, 1]
    assert r > 0.95


def test_encode_inverts_decode_in_d5():
    space = FeatureSpace.default(5)
    assert space.points.shape == (60, 5)
    p = np.random.default_rng(0).standard_normal((4, 5))
    np.testing.assert_allclose(space.encode(space.decode(p)), p, atol=1e-9)
    y = space.render(p[0])
    assert y.shape == (SR,) and np.all(np.isfinite(y))


@pytest.mark.parametrize("d", [2, 5])
def test_render_any_point(d):
    space = FeatureSpace.default(d)
    for p in [np.zeros(d), np.full(d, 3.0), np.full(d, -40.0), np.full(d, 1e6)]:
        y = space.render(p)
        assert y.shape == (SR,) and np.all(np.isfinite(y)) and np.abs(y).max() <= LIMIT_CEIL


def test_loudness_is_not_normalised_per_clip(space2):
    """Corpus voices differ in level and far points are louder: one fixed gain for all."""
    rms = lambda y: np.sqrt(np.mean(y ** 2))
    near = [rms(space2.render(p)) for p in space2.points[:10]]
    assert np.std(20 * np.log10(near)) > 0.3
    assert rms(space2.render(np.array([4.0, -4.0]))) > 2 * np.median(near)
    assert rms(space2.render(space2.reference_point())) == pytest.approx(10 ** (-26 / 20), rel=1e-6)


def test_render_rejects_bad_points(space2):
    for bad in [np.zeros(3), np.array([np.nan, 0.0]), np.array([np.inf, 0.0])]:
        with pytest.raises(ValueError):
            space2.render(bad)


def test_render_wav_is_a_16bit_wav(space2):
    data = space2.render_wav(space2.points[3])
    y, sr = sf.read(io.BytesIO(data))
    assert sr == SR and len(y) == SR
    np.testing.assert_allclose(y, space2.render(space2.points[3]), atol=1 / 32767)


def test_save_and_load_give_identical_clips(space2, tmp_path):
    path = space2.save(tmp_path / "space.npz")
    back = FeatureSpace.load(path)
    assert repr(back) == repr(space2)
    for p in [space2.points[7], np.array([2.5, -1.0]), np.array([9.0, 9.0])]:
        assert back.render_wav(p) == space2.render_wav(p)


def test_folder_with_stereo_and_other_rates(small_folder, tmp_path):
    # a 44.1 kHz stereo copy of one voice must land in the same place as the original
    y, sr = sf.read(small_folder / "man01.flac")
    from scipy.signal import resample_poly
    y441 = resample_poly(y, 441, 160)
    sf.write(small_folder / "man01.flac", np.stack([y441, y441], axis=1), 44100)
    corpus = Corpus.from_folder(small_folder)
    assert len(corpus) == 6 and corpus.sample_rate == SR
    assert list(corpus.groups) == ["child", "child", "man", "man", "woman", "woman"]
    assert abs(len(corpus[2].audio) - SR) <= 1
    space = FeatureSpace.fit(corpus, d=2)
    assert space.points.shape == (6, 2)


def test_groups_from_subfolders(tmp_path):
    for g in ["low", "high"]:
        (tmp_path / g).mkdir()
        for f0 in [100, 110] if g == "low" else [220, 240]:
            sf.write(tmp_path / g / f"v{f0}.wav", harmonic(f0), SR)
    corpus = Corpus.from_folder(tmp_path)
    assert sorted(corpus.groups) == ["high", "high", "low", "low"]
    assert "high/v220.wav" in corpus.names


@pytest.mark.parametrize("case, reason", [
    ("silent", "silent"), ("short", "too short"), ("text", "unreadable or not audio"),
    ("empty", "unreadable or not audio"), ("nan", "NaN"),
])
def test_bad_files_raise_naming_file_and_reason(small_folder, case, reason):
    bad = small_folder / f"bad_{case}.wav"
    if case == "silent":
        sf.write(bad, np.zeros(SR), SR)
    elif case == "short":
        sf.write(bad, harmonic(120, seconds=0.1), SR)
    elif case == "text":
        bad.write_text("this is not audio")
    elif case == "empty":
        bad.write_bytes(b"")
    elif case == "nan":
        x = harmonic(120)
        x[100] = np.nan
        sf.write(bad, x, SR, subtype="FLOAT")
    with pytest.raises(CorpusError) as err:
        Corpus.from_folder(small_folder)
    assert bad.name in str(err.value) and reason in str(err.value)
    # errors="skip" keeps the good clips and lists the bad one
    corpus = Corpus.from_folder(small_folder, errors="skip")
    assert len(corpus) == 6 and corpus.skipped[0][0] == bad.name


def test_unvoiced_file_is_rejected_at_analysis(small_folder, tmp_path):
    noise = np.random.default_rng(0).standard_normal(SR) * 0.1
    sf.write(small_folder / "whisper.wav", noise, SR)
    corpus = Corpus.from_folder(small_folder)
    with pytest.raises(CorpusError, match=r"whisper\.wav: unvoiced"):
        FeatureSpace.fit(analyse_corpus(corpus, use_cache=False))


def test_empty_or_missing_folder(tmp_path):
    with pytest.raises(CorpusError, match="no .wav or .flac"):
        Corpus.from_folder(tmp_path)
    with pytest.raises(CorpusError, match="not a folder"):
        Corpus.from_folder(tmp_path / "nope")
    (tmp_path / "a.wav").write_text("junk")
    with pytest.raises(CorpusError, match="no usable audio"):
        Corpus.from_folder(tmp_path, errors="skip")


def test_read_audio_mono_float64():
    x = read_audio(DEFAULT_CORPUS / "woman01.flac")
    assert x.dtype == np.float64 and x.ndim == 1 and x.flags.c_contiguous


# ---------------------------------------------------------------------------- issue 15: hearing safety
@pytest.mark.parametrize("point", [[1e307, 1e307], [1e307, -1e307], [-1.7e308, 1.7e308],
                                   [1e6, -3e9], [5e-324, 0.0]])
def test_huge_finite_points_stay_within_the_limiter(space2, point):
    """[1e307, 1e307] used to overflow to NaN inside synthesis: 16000 samples of -32768."""
    y = space2.render(np.array(point))
    assert y.shape == (SR,) and np.all(np.isfinite(y)) and np.abs(y).max() <= LIMIT_CEIL
    wav, _ = sf.read(io.BytesIO(space2.render_wav(point)), dtype="int16")
    assert np.abs(wav.astype(np.int64)).max() <= np.ceil(LIMIT_CEIL * 32768)
    assert np.ptp(wav.astype(np.int64)) > 0                  # a sound, not a stuck sample


def test_limiter_holds_for_any_samples():
    from hd_widgets.speech.space import LIMIT_KNEE, limit
    y = limit(np.array([np.nan, np.inf, -np.inf, 1e308, -1e308, 0.1, -LIMIT_KNEE, 0.5]))
    assert np.all(np.isfinite(y)) and np.abs(y).max() <= LIMIT_CEIL
    assert y[0] == 0.0 and y[1] == LIMIT_CEIL and y[2] == -LIMIT_CEIL
    assert y[5] == 0.1 and y[6] == -LIMIT_KNEE and LIMIT_KNEE < y[7] < LIMIT_CEIL


def test_load_refuses_a_saved_space_with_a_nan_gain(space2, tmp_path):
    import json
    path = space2.save(tmp_path / "space.npz")
    with np.load(path) as z:
        content = {k: z[k] for k in z.files}
    meta = json.loads(str(content["meta"]))
    meta["gain"] = float("nan")
    content["meta"] = np.array(json.dumps(meta))
    np.savez(path, **content)
    before = path.read_bytes()
    with pytest.raises(ValueError, match="gain must be finite") as err:
        FeatureSpace.load(path)
    assert str(path) in str(err.value) and path.read_bytes() == before


@pytest.mark.parametrize("damage", ["truncated", "foreign", "wrong shapes"])
def test_a_damaged_analysis_cache_is_analysed_again_and_repaired(small_folder, tmp_path,
                                                                 monkeypatch, damage):
    monkeypatch.setenv("HD_WIDGETS_CACHE", str(tmp_path / "cache"))
    corpus = Corpus.from_folder(small_folder)
    fresh = FeatureSpace.fit(analyse_corpus(corpus), d=2)
    (cached,) = (tmp_path / "cache").glob("analysis-*.npz")
    good = cached.read_bytes()
    if damage == "truncated":
        cached.write_bytes(good[: len(good) // 2])
    elif damage == "foreign":
        cached.write_text("not an analysis")
    else:
        np.savez(cached, names=np.array(["x"]), groups=np.array(["man"]),
                 features=np.zeros((1, 3)), f0=np.zeros((1, 5)), ap=np.zeros((1, 5, 3)),
                 level_db=np.zeros(1), sr=16000)
    again = FeatureSpace.fit(analyse_corpus(corpus), d=2)
    np.testing.assert_array_equal(again.points, fresh.points)
    assert cached.read_bytes() == good                         # the cache is whole again


def test_an_unwritable_analysis_cache_costs_only_time(small_folder, tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("")                                     # the cache "folder" is a file
    monkeypatch.setenv("HD_WIDGETS_CACHE", str(blocker / "cache"))
    corpus = Corpus.from_folder(small_folder)
    uncached = FeatureSpace.fit(analyse_corpus(corpus), d=2)
    monkeypatch.setenv("HD_WIDGETS_CACHE", str(tmp_path / "cache"))
    cached = FeatureSpace.fit(analyse_corpus(corpus), d=2)
    np.testing.assert_array_equal(uncached.points, cached.points)
    np.testing.assert_array_equal(uncached.render_wav(uncached.points[0]),
                                  cached.render_wav(cached.points[0]))
