"""Plotly views: every figure's data matches its inputs (headless, no browser).

Figures are checked as data, not pixels: marker positions equal the points, arrow
segments equal the scaled vectors, violins hold the ratings and their means, frames hold
the trajectory; the listening map is driven through ``listen`` and through the very
message the browser sends on a click.
"""
from __future__ import annotations

import ipywidgets as widgets
import numpy as np
import pytest

from hd_widgets.views.style import PALETTE
from hd_widgets.widgets.listening import ListeningMap
from hd_widgets.views.plane import Plane
from hd_widgets.views.fields import estimate_figure, gradient_figure
from hd_widgets.views.motion import langevin_animation
from hd_widgets.views.ratings import ratings_figure
from hd_widgets.views.samples import samples_figure
from hd_widgets.views.fields import quiver_xy
from hd_widgets.views.motion import isoline_xy
from hd_widgets.speech.space import FeatureSpace

RNG = np.random.default_rng(0)
X = RNG.standard_normal((30, 2))                       # real data
C = X + 0.5 * RNG.standard_normal((30, 2))             # periphery points
G = RNG.standard_normal((30, 2))                       # NES gradient
GR = G + 0.5 * (X - C)                                 # regularised


def D(x):
    return np.exp(-0.125 * np.sum(x ** 2, axis=1))


def field(x):
    return -0.5 * x * D(x)[:, None]


def arrows(trace):
    """Tails and tips (n, 2) of a quiver trace (7 coordinates per arrow)."""
    x, y = np.asarray(trace.x, dtype=float), np.asarray(trace.y, dtype=float)
    assert len(x) % 7 == 0 and np.isnan(x[2::7]).all() and np.isnan(x[6::7]).all()
    return np.column_stack([x[0::7], y[0::7]]), np.column_stack([x[1::7], y[1::7]])


def panel(fig, col):
    """Traces of subplot ``col`` (1-based)."""
    xaxis = "x" if col == 1 else f"x{col}"
    return [t for t in fig.data if (t.xaxis or "x") == xaxis]


def named(traces, prefix):
    out = [t for t in traces if (t.name or "").startswith(prefix)]
    assert len(out) == 1, [t.name for t in traces]
    return out[0]


# --------------------------------------------------------------------------- planes
def test_plane_projection_slice_and_labels():
    p = Plane(4, (0, 2))
    x = RNG.standard_normal((5, 4))
    assert np.array_equal(p.xy(x), x[:, [0, 2]])
    assert p.mode == "projection" and "projection onto PC1, PC3" in p.note()
    assert p.axis_titles() == ("PC1 of log spectral envelope (normalised)",
                               "PC3 of log spectral envelope (normalised)")
    s = Plane(4, (1, 3), base=np.array([0.5, 0, -1.0, 0]))
    lifted = s.lift([[2.0, 3.0]])
    assert np.array_equal(lifted, [[0.5, 2.0, -1.0, 3.0]])
    assert s.mode == "slice" and "PC1=0.5" in s.note() and "PC3=-1" in s.note()
    assert Plane(2).note() == "" and Plane(2).title("T") == "T"
    with pytest.raises(ValueError):
        Plane(3, (1, 1))
    with pytest.raises(ValueError):
        Plane(3, (0, 1), base=np.zeros(2))


def test_quiver_segments_are_the_scaled_vectors():
    x, y = quiver_xy(C, G, 0.25)
    seg = np.column_stack([x, y]).reshape(-1, 7, 2)
    assert np.allclose(seg[:, 0], C) and np.allclose(seg[:, 1] - seg[:, 0], 0.25 * G)
    assert np.allclose(seg[:, 4], seg[:, 1])                         # barbs meet at the tip
    barb = np.linalg.norm(seg[:, 3] - seg[:, 1], axis=1)
    assert np.allclose(barb, 0.3 * 0.25 * np.linalg.norm(G, axis=1))  # 30 % of the arrow


# --------------------------------------------------------------------------- Fig. 4
def test_gradient_figure_data_match_inputs():
    fig = gradient_figure(X, C, G, GR, field, D=D, scale=(0.5, 0.2, 2.0), n_arrows=9,
                          n_grid=20)
    assert len(fig.layout.annotations) >= 3
    titles = [a.text for a in fig.layout.annotations]
    assert "arrow = 0.5 \u00d7 vector" in titles[0] and "0.2" in titles[1] and "2" in titles[2]
    for col, vec, s in ((1, G, 0.5), (2, GR, 0.2)):
        tr = panel(fig, col)
        real = named(tr, "real data")
        assert np.array_equal(real.x, X[:, 0]) and np.array_equal(real.y, X[:, 1])
        per = named(tr, "periphery")
        assert np.array_equal(np.column_stack([per.x, per.y]), C)
        q = [t for t in tr if (t.meta or {}).get("kind") == "quiver"]
        assert len(q) == 1 and q[0].meta["scale"] == s
        tails, tips = arrows(q[0])
        assert np.allclose(tails, C) and np.allclose(tips - tails, s * vec)
    tr3 = panel(fig, 3)
    (q,) = [t for t in tr3 if (t.meta or {}).get("kind") == "quiver"]
    tails, tips = arrows(q)
    assert len(tails) == 81
    assert np.allclose(tips - tails, 2.0 * field(tails))
    # D underneath, evaluated on its grid; three panels x (fill + 0.5 line)
    contours = [t for t in fig.data if t.type in ("contour", "heatmap")]
    assert len(contours) == 6 and contours[0].type == "heatmap"   # the fill, then its 0.5 line
    gx, gy = np.meshgrid(contours[0].x, contours[0].y)
    want = D(np.column_stack([gx.ravel(), gy.ravel()])).reshape(gx.shape)
    assert np.allclose(np.asarray(contours[0].z, dtype=float), want, atol=1e-6)
    assert fig.layout.xaxis.title.text.replace("<br>", " ") == ("PC1 of log spectral envelope "
                                                              "(normalised)")
    assert fig.layout.yaxis.scaleanchor == "x"                       # 1:1, true directions


def test_gradient_figure_auto_scale_is_one_per_panel_and_nice():
    fig = gradient_figure(X, C, G, GR, field)
    for col in (1, 2, 3):
        (q,) = [t for t in panel(fig, col) if (t.meta or {}).get("kind") == "quiver"]
        s = q.meta["scale"]
        mantissa = s / 10 ** np.floor(np.log10(s))
        assert any(np.isclose(mantissa, m) for m in (1, 2, 2.5, 5))
        assert f"{s:g}" in fig.layout.annotations[col - 1].text


def test_gradient_figure_d3_projection_and_slice():
    rng = np.random.default_rng(1)
    X3, C3, G3 = (rng.standard_normal((20, 3)) for _ in range(3))
    calls = []

    def field3(x):
        calls.append(x.copy())
        return np.column_stack([x[:, 0], x[:, 1] + 1.0, -x[:, 2]])

    fig = gradient_figure(X3, C3, G3, G3, field3, dims=(0, 2), scale=1.0, n_arrows=5)
    assert "projection onto PC1, PC3 of 3 dims" in fig.layout.title.text
    assert fig.layout.yaxis.title.text.startswith("PC3 ")
    real = named(panel(fig, 1), "real data")
    assert np.array_equal(real.x, X3[:, 0]) and np.array_equal(real.y, X3[:, 2])
    tails, tips = arrows(named(panel(fig, 1), "NES"))
    assert np.allclose(tips - tails, G3[:, [0, 2]])
    assert np.all(calls[0][:, 1] == 0)                   # field on the slice through 0
    (q,) = [t for t in panel(fig, 3) if (t.meta or {}).get("kind") == "quiver"]
    tails, tips = arrows(q)                   # field3(u, 0, v) = (u, 1, -v) -> shown (u, -v)
    assert np.allclose(tips - tails, np.column_stack([tails[:, 0], -tails[:, 1]]))
    base = np.array([0.0, 0.7, 0.0])
    fig = gradient_figure(X3, C3, G3, G3, field3, dims=(0, 2), base=base, n_arrows=5)
    assert "slice PC1, PC3 of 3 dims at PC2=0.7" in fig.layout.title.text
    assert np.all(calls[-1][:, 1] == 0.7)


# --------------------------------------------------------------------------- Fig. 5
def test_samples_figure_markers_and_variance():
    gan, hd = 0.1 * X, 1.5 * X
    fig = samples_figure(X, gan, hd, humangan_initial=X + 1, humandiffusion_initial=X,
                         field_fn=field, D=D)
    left, right = panel(fig, 1), panel(fig, 2)
    for tr, kind, final in ((left, "HumanGAN", gan), (right, "HumanDiffusion", hd)):
        f = named(tr, f"{kind} final")
        assert np.array_equal(np.column_stack([f.x, f.y]), final)
        assert f.marker.color == PALETTE[kind.lower()]
        assert named(tr, f"{kind} initial").marker.symbol == "circle-open"
        assert np.array_equal(named(tr, "real data").x, X[:, 0])
        assert named(tr, "real data").marker.color == PALETTE["real"]
    titles = [a.text for a in fig.layout.annotations]
    assert "variance ratio 0.01" in titles[0] and "variance ratio 2.25" in titles[1]
    q = [t for t in fig.data if (t.meta or {}).get("kind") == "quiver"]
    assert len(q) == 2 and q[0].meta["scale"] == q[1].meta["scale"]   # one field, one scale


# --------------------------------------------------------------------------- Fig. 6
@pytest.mark.parametrize("columns", [False, True])
def test_ratings_figure_violins_and_means(columns):
    rng = np.random.default_rng(2)
    r = {"anchor": rng.uniform(0, .3, 7), "generated": rng.uniform(.3, 1, 12),
         "real": rng.uniform(.5, 1, 10), "humangan": rng.uniform(0, 1, 5)}
    data = r
    if columns:
        kinds = np.concatenate([[k] * len(v) for k, v in r.items()])
        data = {"kind": kinds, "value": np.concatenate(list(r.values())),
                "rater": np.array(["ann"] * len(kinds))}
    fig = ratings_figure(data)
    violins = [t for t in fig.data if t.type == "violin"]
    assert [v.meta["kind"] for v in violins] == ["real", "generated", "humangan", "anchor"]
    for v in violins:
        k = v.meta["kind"]
        assert np.array_equal(v.y, r[k]) and v.meta["n"] == len(r[k])
        assert v.meta["mean"] == pytest.approx(r[k].mean())
        assert v.line.color == PALETTE[k]
    (means,) = [t for t in fig.data if t.name == "mean"]
    assert np.allclose(means.y, [r[v.meta["kind"]].mean() for v in violins])
    assert list(means.x) == [v.x[0] for v in violins]
    assert f"mean {r['real'].mean():.2f}<br>n = 10" in violins[0].x[0]


def test_ratings_figure_order_and_unknown_kind():
    fig = ratings_figure({"real": [0.9, 0.8], "other": [0.1]}, order=["other", "real"])
    assert [t.meta["kind"] for t in fig.data if t.type == "violin"] == ["other", "real"]
    with pytest.raises(ValueError, match="no ratings"):
        ratings_figure({"real": [1.0]}, order=["anchor"])


# --------------------------------------------------------------------------- animation
def walk(T, n, d=2, seed=3):
    rng = np.random.default_rng(seed)
    return np.cumsum(0.1 * rng.standard_normal((T, n, d)), axis=0)


def test_animation_frames_match_trajectory():
    traj = walk(30, 50)
    steps = np.arange(30) * 10
    fig = langevin_animation(traj, points=X, steps=steps, max_frames=None, follow=[3, 7])
    assert len(fig.frames) == 30 and [f.name for f in fig.frames] == [str(s) for s in steps]
    cloud, trail, heads = fig.frames[0].traces
    assert fig.data[cloud].name.startswith("HumanDiffusion particles (50)")
    for t in (0, 17, 29):
        fr = fig.frames[t].data
        assert np.allclose(fr[0].x, traj[t, :, 0], atol=6e-4)      # 3 decimals, float32
        assert np.allclose(fr[0].y, traj[t, :, 1], atol=6e-4)
        assert np.allclose(fr[2].x, traj[t, [3, 7], 0], atol=6e-4)
        path = np.asarray(fr[1].x, dtype=float).reshape(2, t + 2)  # t+1 points and a gap
        assert np.allclose(path[:, :-1], traj[:t + 1, [3, 7], 0].T, atol=6e-4)
    assert len(fig.layout.sliders[0].steps) == 30
    assert [b.label for b in fig.layout.updatemenus[0].buttons] == ["\u25B6 play", "|| pause"]
    assert fig.layout.meta["followed"] == [3, 7]


def test_animation_subsamples_frames_keeping_first_and_last():
    traj = walk(200, 10)
    fig = langevin_animation(traj, max_frames=50, follow=3, cloud=False)
    steps = fig.layout.meta["frame_steps"]
    assert len(fig.frames) == 50 and steps[0] == 0 and steps[-1] == 199
    assert len(fig.frames[0].traces) == 2                      # trails + heads only
    assert np.allclose(fig.frames[-1].data[1].x, traj[-1, [0, 4, 9], 0], atol=6e-4)


def test_animation_is_light():
    # its build time is a goal measured in bench/plots.py, not asserted here
    fig = langevin_animation(walk(200, 1000, seed=4), points=X)
    size = len(fig.to_json())
    assert size < 5e6, size


def test_isolines_lie_on_the_level():
    xs, ys = np.linspace(-3, 3, 61), np.linspace(-3, 3, 41)
    gx, gy = np.meshgrid(xs, ys)
    z = D(np.column_stack([gx.ravel(), gy.ravel()])).reshape(gx.shape)
    x, y = isoline_xy(xs, ys, z, 0.5)
    ok = ~np.isnan(x)
    assert np.isnan(x[2::3]).all() and ok.sum() == 2 * len(x) // 3
    assert np.allclose(np.hypot(x[ok], y[ok]), np.sqrt(8 * np.log(2)), atol=3e-3)
    assert len(isoline_xy(xs, ys, z, 2.0)[0]) == 0                  # never reached
    x, y = isoline_xy(xs, ys, gx * gy, 0.0)                          # saddles: the axes
    ok = ~np.isnan(x)
    assert np.allclose(np.minimum(np.abs(x[ok]), np.abs(y[ok])), 0, atol=1e-9)


def test_animation_keeps_d_as_scatter_lines():
    """With redraw=False plotly.js drops Contour layers on play: D must be Scatter lines."""
    fig = langevin_animation(walk(10, 20), points=X, D=D, field_fn=field)
    assert {t.type for t in fig.data} == {"scatter"}
    (line,) = [t for t in fig.data if t.name == "D = 0.5: edge of the acceptable region"]
    pts = np.column_stack([line.x, line.y]).astype(float)
    pts = pts[~np.isnan(pts[:, 0])]
    assert len(pts) > 20 and np.allclose(D(pts), 0.5, atol=5e-3)
    assert fig.layout.meta["moving"] == list(fig.frames[0].traces)


def test_animation_d3_slice_label():
    traj = walk(5, 10, d=3)
    fig = langevin_animation(traj, dims=(1, 2), base=np.zeros(3))
    assert "slice PC2, PC3 of 3 dims" in fig.layout.title.text
    assert np.allclose(fig.frames[4].data[0].x, traj[4, :, 1], atol=6e-4)


# --------------------------------------------------------------------------- listening map
@pytest.fixture(scope="module")
def space():
    return FeatureSpace.default(2)


def test_listen_plays_exactly_render_wav_and_marks_the_point(space):
    m = ListeningMap(space, D=D, samples={"HumanDiffusion": 1.2 * space.points[:5]})
    point = np.array([0.5, -1.0])
    assert np.array_equal(m.listen(point), point)
    audio = m.audio
    assert isinstance(audio, widgets.Audio) and audio.autoplay and audio.controls
    assert audio.value == space.render_wav(point)
    assert audio in m.widget.children[2].children
    star = m.figure.data[-1]
    assert (star.x, star.y) == ((0.5,), (-1.0,))
    m.listen([1.0, 1.0])
    hist = m.figure.data[-2]
    assert (hist.x, hist.y, hist.text) == ((0.5,), (-1.0,), ("1",))
    assert [b.description for b in m.widget.children[3].children] == ["1: (0.50, -1.00)"]
    assert m.figure.layout.xaxis.title.text.startswith("PC1 of log spectral envelope")
    assert "PC1" in m.caption() and "PC2" in m.caption()


def test_click_on_empty_space_goes_through_the_click_handler(space):
    m = ListeningMap(space, show_data=False, resolution=0.05)
    assert m.n_clicks == 0 and m.point == [] and m.source == ""
    played = m.click(0.512, -1.238)                  # nearest cell centre: (0.5, -1.25)
    audio = m.audio
    assert m.last["source"] == "map" and played is m.last["point"]
    assert np.allclose(played, [0.5, -1.25])
    assert m.point == pytest.approx([0.5, -1.25]) and m.source == "map" and m.n_clicks == 1
    assert audio.value == space.render_wav(m.last["point"])
    assert m.figure.data[-1].x == (0.5,)
    m.click(0.5, -1.25)                              # same point: a new player, plays again
    assert m.audio is not audio and m.audio.value == audio.value and m.n_clicks == 2
    m.listen([1.0, 1.0])                             # from code: not a click
    assert m.n_clicks == 2 and m.source == "code" and m.point == [1.0, 1.0]


def test_click_twin_calls_the_registered_handler_with_public_points(space, monkeypatch):
    """click() hands every trace a public plotly.callbacks.Points, as the FigureWidget does
    with the browser's message (the browser test clicks the real thing)."""
    from plotly.callbacks import Points
    m = ListeningMap(space, show_data=False)
    seen = []
    monkeypatch.setattr(m, "_on_click", lambda trace, points, state=None: seen.append(
        (trace, points)))
    assert m.click(0.0, 0.0) is None                  # the handler was replaced: nothing played
    assert [t for t, _ in seen] == list(m.figure.data)
    assert all(isinstance(p, Points) for _, p in seen)
    hit = [(t, p) for t, p in seen if p.point_inds]
    assert len(hit) == 1 and hit[0][0].meta["key"] == "catcher" and hit[0][1].trace_index == 0
    assert len(hit[0][1].point_inds[0]) == 2           # a heatmap cell: [row, column]


def test_click_on_a_voice_and_history_replays_exact_points(space):
    m = ListeningMap(space)
    voices = next(i for i, t in enumerate(m.figure.data) if (t.meta or {}).get("key", "")
                  .startswith("group:"))
    key = m.figure.data[voices].meta["key"]
    group = key[6:]
    idx = np.flatnonzero(space.groups == group)[2]
    played = m.click_point(voices, 2)
    assert np.array_equal(played, space.points[idx]) and m.source == key
    assert np.array_equal(m.last["point"], space.points[idx])
    assert m.audio.value == space.render_wav(space.points[idx])
    assert space.names[idx] in m._status.value
    assert np.array_equal(m.click_point(key, 2), space.points[idx]) and m.n_clicks == 2
    m.listen([2.0, 2.0])
    m.widget.children[3].children[0].click()        # history button 1: the voice again
    assert np.array_equal(m.last["point"], space.points[idx]) and m.last["source"] == "history"
    m.click_point("history", 0)                      # its marker on the map: [2, 2] again
    assert m.point == [2.0, 2.0] and m.source == "history"
    with pytest.raises(ValueError, match="no trace"):
        m.click_point("nothing", 0)
    with pytest.raises(ValueError, match="no point 99"):
        m.click_point(voices, 99)


def test_listening_map_is_a_widget_with_traits(space):
    m = ListeningMap(space)
    assert isinstance(m, widgets.VBox) and m.widget is m
    assert m.children[1] is m.figure and isinstance(m.figure, widgets.DOMWidget)
    for name in ("point", "source", "n_clicks"):
        assert m.trait_metadata(name, "help"), name
    changes = []
    m.observe(lambda c: changes.append(c["new"]), "n_clicks")
    m.click(1.0, 0.0)
    assert changes == [1]
    assert repr(m).startswith("ListeningMap(d=2") and "n_clicks=1" in repr(m)
    assert "last=(1.00, 0.00) from map" in repr(m)
    m.close()
    assert m.comm is None


def test_history_is_bounded_and_most_recent_first(space):
    m = ListeningMap(space, history=2)
    for k in range(4):
        m.listen([k / 2, 0.0])
    assert [p[0] for p in m.history] == [1.5, 1.0, 0.5]
    m.listen([1.0, 0.0])                              # heard again: moves to the front
    assert [p[0] for p in m.history] == [1.0, 1.5, 0.5]


def test_listening_map_d3_slice_through_base():
    space3 = FeatureSpace.default(3)
    base = np.array([0.0, 0.0, 0.8])
    m = ListeningMap(space3, dims=(0, 1), base=base)
    played = m.listen([0.3, -0.4])                   # plane coordinates -> lifted
    assert np.array_equal(played, [0.3, -0.4, 0.8])
    assert m.audio.value == space3.render_wav(np.array([0.3, -0.4, 0.8]))
    assert "slice PC1, PC2 of 3 dims at PC3=0.8" in m.figure.layout.title.text
    assert "held at [0.8]" in m.caption()
    m.click(1.0, 1.0)
    assert np.allclose(m.last["point"], [1.0, 1.0, 0.8])
    with pytest.raises(ValueError):
        m.listen([1.0, 2.0, 3.0, 4.0])


# --------------------------------------------------------------------------- engine objects
def test_engine_objects_plug_in_by_duck_typing():
    from types import SimpleNamespace
    est = SimpleNamespace(points=C, grad=G, target=GR)
    net = SimpleNamespace(predict=lambda x: (D(x), field(x)))
    fig = estimate_figure(est, net, data=X, scale=1.0, n_arrows=5)
    tails, tips = arrows([t for t in panel(fig, 2) if (t.meta or {}).get("kind") == "quiver"][0])
    assert np.allclose(tips - tails, GR)
    tails, tips = arrows([t for t in panel(fig, 3) if (t.meta or {}).get("kind") == "quiver"][0])
    assert np.allclose(tips - tails, field(tails))
    assert len([t for t in fig.data if t.type in ("contour", "heatmap")]) == 6   # D from the D head
    traj = walk(12, 8)
    run = SimpleNamespace(trajectory=traj.astype(np.float32), steps=np.arange(12) * 50)
    fig = langevin_animation(run)
    assert fig.layout.meta["frame_steps"] == list(range(0, 600, 50))
    with pytest.raises(ValueError, match="record_every"):
        langevin_animation(SimpleNamespace(trajectory=None, steps=np.arange(1)))


# --------------------------------------------------------------------------- read at a glance
def test_dense_arrow_fields_are_thinned_evenly_and_say_so():
    rng = np.random.default_rng(5)
    centers = 1.5 * rng.standard_normal((2500, 2))
    grad = rng.standard_normal((2500, 2))
    fig = gradient_figure(X, centers, grad, grad, field, D=D)
    for col in (1, 2):
        tails, _ = arrows([t for t in panel(fig, col) if (t.meta or {}).get("kind") == "quiver"][0])
        assert 50 <= len(tails) <= 150                                  # at most MAX_ARROWS
        # every drawn arrow is one of the inputs, unchanged
        i = [int(np.argmin(np.abs(centers - p).sum(1))) for p in tails]
        assert np.allclose(centers[i], tails)
    n = len(arrows([t for t in panel(fig, 1) if (t.meta or {}).get("kind") == "quiver"][0])[0])
    assert f"arrows at {n} of 2500 rated points, evenly spread" in fig.layout.title.text
    from hd_widgets.views.fields import thin_evenly
    assert len(thin_evenly(centers, None, ((-5, 5), (-5, 5)))) == 2500


def test_a_collapsed_set_is_one_large_marker_with_a_note_and_clouds_are_light():
    rng = np.random.default_rng(6)
    hd_samples = 1.4 * rng.standard_normal((5000, 2))
    collapsed = np.tile([[0.3, -0.2]], (5000, 1)) + 1e-4 * rng.standard_normal((5000, 2))
    fig = samples_figure(X, collapsed, hd_samples, D=D, D_label="true D")
    spot = named(panel(fig, 1), "HumanGAN final: all 5000 here")
    assert spot.marker.size >= 20 and np.allclose([spot.x[0], spot.y[0]], [0.3, -0.2], atol=1e-3)
    assert any("all 5000 samples here" in a.text for a in fig.layout.annotations)
    cloud = named(panel(fig, 2), "HumanDiffusion final (1000 of 5000 drawn)")
    assert len(cloud.x) == 1000 and cloud.marker.size <= 5 and cloud.marker.opacity < 1
    # the region's edge is drawn above the cloud, so the cloud never hides it
    order = [t.name for t in panel(fig, 2)]
    assert order.index("D = 0.5: edge of the acceptable region") > order.index(cloud.name)
    # the early-stopped and the trained-on HumanGAN side by side in one panel
    fig = samples_figure(X, 0.3 * X, hd_samples, humangan_collapsed=collapsed)
    names = [t.name for t in panel(fig, 1)]
    assert "HumanGAN final, early-stopped" in names and "HumanGAN final, trained on: all 5000 here" in names


def test_every_figure_has_axis_titles_and_named_traces():
    figs = [gradient_figure(X, C, G, GR, field, D=D), samples_figure(X, 0.1 * X, 1.5 * X, D=D),
            ratings_figure({"real": [0.9, 0.8], "humangan_collapsed": [0.5]}),
            langevin_animation(walk(5, 10), points=X, D=D)]
    for fig in figs:
        for key in [k for k in fig.layout if k.startswith(("xaxis", "yaxis"))]:
            assert fig.layout[key].title.text, key
        assert all(t.name for t in fig.data)
    labels = figs[2].data[1].x[0]
    assert "HumanGAN<br>collapsed" in labels and figs[2].layout.xaxis.tickangle == 0


def test_report_helpers_lighten_and_spell_out_the_command():
    from hd_widgets.views.report import full_command, lighten, _command_html
    fig = gradient_figure(X, C, G, GR, field, D=D)
    lighten(fig)
    assert all(np.asarray(t.x).dtype == np.float32 for t in fig.data if len(t.x) > 8)
    result = {"command": "python -m hd_widgets reproduce --budget 400 --out out",
              "config": {"budget": 400, "seed": 0, "listener": "simulated", "d": 2,
                         "rounds": 3, "corpus": None, "alpha": 0.01, "steps": 1000,
                         "particles": 800}}
    assert full_command(result) == ("python -m hd_widgets reproduce --budget 400 --seed 0 "
                                    "--listener simulated --d 2 --rounds 3 --alpha 0.01 "
                                    "--steps 1000 --out out")
    html = _command_html(result)
    assert "options that differ from the defaults: --budget" in html
    assert "settings changed in code: particles = 800" in html


# --------------------------------------------------------------------------- listening map: layers
def _keys(m):
    return [(t.meta or {}).get("key", "") for t in m.figure.data]


def test_samples_are_drawn_over_the_real_voices_and_outlined(space):
    """A sample on a real voice (your own take is one of the class's voices) must show."""
    mine = space.points[[3]]
    m = ListeningMap(space, samples={"you": mine, "HumanDiffusion": 1.2 * space.points})
    keys = _keys(m)
    last_voice = max(i for i, k in enumerate(keys) if k.startswith("group:"))
    you, hd = keys.index("samples:you"), keys.index("samples:HumanDiffusion")
    assert you > last_voice and hd > last_voice              # on top of every voice trace
    assert keys[-2:] == ["history", "playing"]                # the points heard stay on top
    one = m.figure.data[you].marker
    voice = m.figure.data[last_voice].marker
    assert one.opacity == 1.0 and one.line.width >= 2 and one.size >= 10   # a few: large, rimmed
    assert one.line.color != "white" and one.line.color.upper() != one.color.upper()
    cloud = m.figure.data[hd].marker
    assert cloud.line.width > 0 and cloud.size < voice.size   # a cloud: small, thin dark rim
    assert cloud.color == PALETTE["humandiffusion"]
    assert one.color != cloud.color
    assert np.allclose(m.figure.data[you].x, mine[:, 0])      # drawn where the voice is
    assert np.array_equal(m.click_point("samples:you", 0), mine[0])   # and plays that point


def test_sample_colours_name_the_method_and_never_repeat():
    from hd_widgets.views.style import sample_colors
    c = sample_colors(["your HumanDiffusion", "HumanGAN", "you", "them"])
    assert c["your HumanDiffusion"] == PALETTE["humandiffusion"]
    assert c["HumanGAN"] == PALETTE["humangan"]
    assert len(set(c.values())) == 4                           # two other sets: two colours


def test_a_collapsed_set_stays_under_the_voices(space):
    m = ListeningMap(space, samples={"HumanGAN": np.tile([[0.3, 0.2]], (50, 1))})
    keys = _keys(m)
    first_voice = min(i for i, k in enumerate(keys) if k.startswith("group:"))
    assert keys.index("samples:HumanGAN") < first_voice       # one large marker hides no voice
    assert m.figure.data[keys.index("samples:HumanGAN")].name == "HumanGAN: all 50 here"


def test_legend_rows_wrap_like_plotly():
    from hd_widgets.views.style import legend_rows
    assert legend_rows([], 600) == 1
    assert legend_rows(["a" * 10] * 3, 600) == 1
    assert legend_rows(["a" * 40] * 3, 600) == 3               # one long entry per row
    assert legend_rows(["x <b>y</b>"], 50) == 1                 # tags take no room
    # without legend groups Plotly sets entries that do not fit in one row in columns as
    # wide as the widest: a short entry no longer fills the gap beside a long one
    names = ["a" * 5, "a" * 5, "a" * 30]
    assert legend_rows(names, 400) == 2 and legend_rows(names, 400, grouped=False) == 3


def test_a_square_plot_fills_its_figure_and_a_long_title_stacks_its_notes():
    import math
    import plotly.graph_objects as go
    from hd_widgets.views.style import fit_square_plot, title_px
    fig = go.Figure([go.Scatter(x=[0], y=[0], name="a point")])
    extent = ((-2.0, 2.0), (-4.0, 4.0))                        # twice as tall as wide
    assert not fit_square_plot(fig, extent, height=600, title="T", notes=("n",),
                               axis_titles=("x", "y"))
    lay = fig.layout
    plot = lay.height - lay.margin.t - lay.margin.b
    assert lay.width == math.ceil(lay.margin.l + plot / 2 + lay.margin.r)   # no white band
    assert lay.yaxis.scaleanchor == "x" and lay.xaxis.constrain == "domain"
    notes = ("a note long enough to need a line of its own", "and a second one like it")
    assert fit_square_plot(fig, extent, height=600, title="T", notes=notes, axis_titles=("x", "y"))
    text = fig.layout.title.text                               # one note a line, and it fits
    assert text.count("<br>") == 2 and title_px(text) <= 0.98 * fig.layout.width


@pytest.mark.parametrize("samples", [None, {"you": np.zeros((1, 2))},
                                     {"your HumanDiffusion": np.ones((40, 2)),
                                      "HumanGAN": -np.ones((40, 2))}])
def test_the_legend_sits_below_the_axis_title_with_room_for_every_row(space, samples):
    from hd_widgets.views.style import (AXIS_DEPTH_PX, LEGEND_GAP_PX, LEGEND_ROW_PX,
                                              legend_rows)
    m = ListeningMap(space, samples=samples, D=D)
    lay = m.figure.layout
    plot = lay.height - lay.margin.t - lay.margin.b
    names = [t.name for t in m.figure.data if t.type == "scatter" or t.showlegend]
    rows = legend_rows([n for n in names if n != "click anywhere"], lay.width - lay.margin.l
                       - lay.margin.r)
    assert lay.legend.yanchor == "top" and lay.legend.orientation == "h"
    assert -lay.legend.y * plot == pytest.approx(AXIS_DEPTH_PX + LEGEND_GAP_PX)  # px under the axis
    assert lay.margin.b >= AXIS_DEPTH_PX + LEGEND_GAP_PX + rows * LEGEND_ROW_PX  # every row fits
    assert plot >= 390                                          # more rows: a taller figure
