"""Energy distance (checked against scipy in 1-D and the defining formula) and variance ratio."""
import numpy as np
import pytest
from scipy.spatial.distance import cdist
from scipy.stats import energy_distance as scipy_energy

from hd_widgets.method import metrics
from hd_widgets.method.metrics import energy_distance, mean_distance, variance_ratio


def test_matches_scipy_in_one_dimension():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=300), 1.3 * rng.normal(size=200) + 0.2
    assert energy_distance(a[:, None], b[:, None]) == pytest.approx(scipy_energy(a, b), rel=1e-12)


@pytest.mark.parametrize("d", [2, 5])
def test_matches_the_formula_and_blocks_do_not_matter(d, monkeypatch):
    rng = np.random.default_rng(d)
    x, y = rng.normal(size=(300, d)), rng.normal(size=(250, d)) + 0.3
    xy, xx, yy = cdist(x, y).mean(), cdist(x, x).mean(), cdist(y, y).mean()
    v = 2 * xy - xx - yy
    assert energy_distance(x, y, squared=True) == pytest.approx(v, rel=1e-10)
    assert energy_distance(x, y) == pytest.approx(np.sqrt(v), rel=1e-10)
    n, m = len(x), len(y)
    u = 2 * xy - xx * n / (n - 1) - yy * m / (m - 1)
    assert energy_distance(x, y, statistic="u", squared=True) == pytest.approx(u, rel=1e-10)
    monkeypatch.setattr(metrics, "_BLOCK", 7)                  # many small blocks
    assert energy_distance(x, y, squared=True) == pytest.approx(v, rel=1e-10)
    assert mean_distance(x) == pytest.approx(cdist(x, x).sum() / (n * (n - 1)), rel=1e-10)


def test_a_reference_samples_own_term_given_once_changes_nothing():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(200, 3)), 1.2 * rng.normal(size=(400, 3))
    within = mean_distance(y)
    for stat in ("u", "v"):
        assert energy_distance(x, y, statistic=stat, squared=True, y_within=within) == \
            pytest.approx(energy_distance(x, y, statistic=stat, squared=True), rel=1e-12)
    data = rng.normal(size=(50, 3))
    assert metrics.fidelity(x, y, data, exact_within=within) == \
        pytest.approx(metrics.fidelity(x, y, data))
    # a wrong value is used as given (it is the caller's cache, not re-checked)
    assert energy_distance(x, y, squared=True, y_within=within + 1.0) == \
        pytest.approx(energy_distance(x, y, squared=True) - 1.0 * 399 / 400, rel=1e-9)


def test_separates_same_from_different_distributions():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(2000, 3)), rng.normal(size=(2000, 3))
    same = energy_distance(a, b, statistic="u", squared=True)
    assert abs(same) < 0.01
    assert energy_distance(a, b + 0.5) > 3 * energy_distance(a, b)
    assert energy_distance(a, 2 * b) > 3 * energy_distance(a, b)
    with pytest.raises(ValueError):
        energy_distance(a, b[:, :2])


def test_variance_ratio():
    rng = np.random.default_rng(2)
    data = rng.normal(size=(500, 4))
    assert variance_ratio(data, data) == pytest.approx(1.0)
    assert variance_ratio(np.sqrt(2) * data, data) == pytest.approx(2.0)
    assert variance_ratio(np.zeros((10, 4)), data) == 0.0
    assert variance_ratio(np.full((3, 4), np.nan), data) == float("inf")
    with pytest.raises(ValueError, match="zero variance"):
        variance_ratio(data, np.ones((5, 4)))
    with pytest.raises(ValueError, match="same d"):
        variance_ratio(data, data[:, :3])
    with pytest.raises(ValueError, match="at least 2"):
        variance_ratio(data[:1], data)
