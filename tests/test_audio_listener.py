"""The audio listener hears waveforms: natural near the voices, falling off far away."""
import numpy as np
import pytest

from hd_widgets.ratings.audio_listener import AudioListener, mfcc_profile
from hd_widgets.speech.corpus import Corpus
from hd_widgets.speech.space import FeatureSpace


@pytest.fixture(scope="module")
def space():
    return FeatureSpace.default(2)


@pytest.fixture(scope="module")
def clean(space):
    return AudioListener(space, noise=0.0).fit()


def ring(radius, n=24, seed=0):
    th = np.random.default_rng(seed).uniform(0, 2 * np.pi, n)
    return radius * np.c_[np.cos(th), np.sin(th)]


def test_real_voices_sound_natural_and_far_points_do_not(space, clean):
    assert clean.rate(space.points).mean() > 0.9
    means = [clean.rate(ring(r)).mean() for r in [0.5, 2.0, 3.0, 5.0]]
    assert means[0] > 0.9 and means[-1] < 0.05
    assert all(a >= b - 0.02 for a, b in zip(means, means[1:]))  # falls with distance


def test_it_judges_audio_not_points(space, clean):
    """Same audio, same rating; a noise burst with no vowel in it is unnatural."""
    y = space.render(space.points[5])
    assert clean.rate_audio(y[None])[0] == pytest.approx(clean.rate(space.points[5:6])[0])
    hiss = 0.05 * np.random.default_rng(1).standard_normal(space.sample_rate)
    assert clean.rate_audio(hiss[None])[0] < 0.05
    # it hears pitch too: the original recordings, at their own pitch rather than the
    # reference voice's, are further from what it learnt than the re-synthesised voices
    orig = np.stack([c.audio for c in Corpus.default().clips[:6]])
    resyn = np.stack([space.render(p) for p in space.points[:6]])
    assert clean.rate_audio(orig).mean() < clean.rate_audio(resyn).mean()


def test_noise_bias_and_seed(space):
    pts = space.points[:8]
    a = AudioListener(space, noise=0.1, seed=3).fit().rate(pts)
    b = AudioListener(space, noise=0.1, seed=3).fit().rate(pts)
    np.testing.assert_array_equal(a, b)
    strict = AudioListener(space, noise=0.0, bias=-0.3).fit().rate(ring(1.0))
    lenient = AudioListener(space, noise=0.0).fit().rate(ring(1.0))
    np.testing.assert_allclose(strict, np.clip(lenient - 0.3, 0, 1))
    assert np.all((a >= 0) & (a <= 1))


def test_mfcc_profile_ignores_level(space):
    y = space.render(space.points[0])
    np.testing.assert_allclose(mfcc_profile(y, 16000), mfcc_profile(0.3 * y, 16000), atol=1e-6)


def test_works_in_five_dimensions():
    space5 = FeatureSpace.default(5)
    r = AudioListener(space5, noise=0.0).fit().rate(np.vstack([space5.points[:3], np.full((1, 5), 6.0)]))
    assert r[:3].min() > 0.5 and r[3] < 0.1


def test_rating_noise_can_come_from_a_given_generator():
    space = FeatureSpace.default(2)
    lis = AudioListener(space, seed=0, noise=0.1).fit()
    pts = space.points[:4] + 0.3
    a = lis.rate(pts, rng=np.random.default_rng(5))
    b = lis.rate(pts, rng=np.random.default_rng(5))
    c = lis.rate(pts, rng=np.random.default_rng(6))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
