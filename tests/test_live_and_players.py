"""The live gradient (the rater's own NES arrows) and rows of players."""
import math

import numpy as np
import pytest

from hd_widgets.ratings.budget import plan_for_budget
from hd_widgets.widgets.live import LiveGradient
from hd_widgets.widgets.player_row import players
from hd_widgets.speech.space import FeatureSpace
from hd_widgets.ratings.store import RatingsStore


@pytest.fixture(scope="module")
def space():
    return FeatureSpace.default(2)


def test_live_gradient_draws_the_raters_own_nes_arrows(space, tmp_path):
    store = RatingsStore(tmp_path / "live.sqlite")
    plan = store.add_plan(plan_for_budget(space.points, 40, seed=0))
    live = LiveGradient(space, store, plan.name, "you")
    assert live.n_points == 0 and "rate a page" in live.figure.layout.title.text
    q = store.next_query(plan.name, "you")
    store.rate(plan.name, q.index, [0.9, 0.4], rater="you")
    store.rate(plan.name, plan[5].index, [0.2, 0.2], rater="someone else")  # not drawn
    assert live.update() == 1 and "from your 1 page alone" in live.figure.layout.title.text
    # the arrow is the antithetic NES estimate from this one pair:
    # (y+ - y-) Delta / (2 sigma^2), Delta = (plus - minus) / 2
    delta = (q.points[0] - q.points[1]) / 2
    expected = (0.9 - 0.4) * delta / (2 * plan.config["sigma_nes"] ** 2)
    pts, grad = live.arrows()
    np.testing.assert_allclose(pts[0], q.points.mean(axis=0))
    np.testing.assert_allclose(grad[0], expected)
    x = np.asarray(live.figure.data[2].x, dtype=float)
    assert len(x) == 7  # one arrow: tail, tip, gap, barb, tip, barb, gap


def test_live_gradient_is_sized_to_its_square_plot(space, tmp_path):
    """No white band beside the plot, and the widest title a redraw writes still fits."""
    from hd_widgets.views.style import title_px
    store = RatingsStore(tmp_path / "live.sqlite")
    plan = store.add_plan(plan_for_budget(space.points, 40, seed=0))
    live = LiveGradient(space, store, plan.name, "you")
    lay = live.figure.layout
    plot = lay.height - lay.margin.t - lay.margin.b
    (x0, x1), (y0, y1) = lay.xaxis.range, lay.yaxis.range
    assert lay.width == math.ceil(lay.margin.l + plot * (x1 - x0) / (y1 - y0) + lay.margin.r)
    assert lay.yaxis.scaleanchor == "x" and lay.xaxis.constrain == "domain"
    assert title_px(live._title(1000, 0.0025)) <= 0.98 * lay.width


def test_players_play_exact_renders(space):
    row = players(space, space.points[:2], ["one", "two"])
    audio = row.children[1].children[1]
    assert audio.value == space.render_wav(space.points[1])
    assert audio.autoplay is False
    with pytest.raises(ValueError):
        players(space, space.points[:2], ["only one"])
