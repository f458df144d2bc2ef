"""Fixtures shared by the unit tests: the shipped space and a fresh ratings store."""
from __future__ import annotations

import pytest

from hd_widgets.ratings.store import RatingsStore
from hd_widgets.speech.space import FeatureSpace


@pytest.fixture(scope="session")
def space() -> FeatureSpace:
    """The shipped corpus's space, d = 2 (analysed once, cached)."""
    return FeatureSpace.default(2)


@pytest.fixture
def store(tmp_path):
    """An empty SQLite ratings store in the test's own folder, closed afterwards."""
    s = RatingsStore(tmp_path / "ratings.sqlite")
    yield s
    s.close()
