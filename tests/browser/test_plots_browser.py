"""Plotly views in a real JupyterLab: every figure renders, and the listening map plays a click.

One notebook shows Fig. 4, Fig. 5, Fig. 6, the Langevin animation and the listening map;
each output is saved as a screenshot under the test's ``tmp_path``. Then the test clicks
an empty spot of the listening map (no voice within reach), and checks that the kernel
heard the click (the point it played), that an audio player for that point appeared, and
that it plays.
"""
from __future__ import annotations

import numpy as np
import pytest

from hd_widgets.speech.space import FeatureSpace

pytestmark = pytest.mark.browser

SETUP = """\
import numpy as np
from hd_widgets.speech.space import FeatureSpace
from hd_widgets.views.fields import gradient_figure
from hd_widgets.views.samples import samples_figure
from hd_widgets.views.ratings import ratings_figure
from hd_widgets.views.motion import langevin_animation
from hd_widgets.widgets.listening import ListeningMap
space = FeatureSpace.default(2)
rng = np.random.default_rng(0)
X = space.points
D = lambda x: np.exp(-0.125 * np.sum(x ** 2, axis=1))
field = lambda x: -0.25 * x * D(x)[:, None]
C = X + 0.5 * rng.standard_normal(X.shape)
G = field(C) + 0.02 * rng.standard_normal(C.shape)
x = X[rng.integers(0, len(X), 300)]
traj = [x]
for _ in range(59):
    x = x + 0.5 * 0.05 * (-x / 1.5) + np.sqrt(0.05) * rng.standard_normal(x.shape)
    traj.append(x)
traj = np.array(traj)
"""
CELLS = {
    "fig4": "gradient_figure(X, C, G, G + 0.5 * (X - C), field, D=D)",
    "fig5": "samples_figure(X, 0.1 * X, 1.4 * X, humangan_initial=rng.standard_normal(X.shape), "
            "humandiffusion_initial=X, field_fn=field, D=D)",
    "fig6": "ratings_figure({'real': rng.beta(6, 2, 40), 'generated': rng.beta(5, 2.5, 40), "
            "'humangan': rng.beta(3, 3, 40), 'anchor': rng.beta(1, 6, 40)})",
    "animation": "langevin_animation(traj, points=X, D=D, field_fn=field, follow=5)",
    "listening_map": "m = ListeningMap(space, D=D)\nm",
}

PIXEL_OF = """([cell, x, y]) => {
    const c = document.querySelectorAll('.jp-NotebookPanel .jp-Cell')[cell];
    const gd = c.querySelector('.js-plotly-plot');
    const r = gd.getBoundingClientRect(), xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
    return [r.left + xa._offset + xa.d2p(x), r.top + ya._offset + ya.d2p(y)];
}"""


def empty_spot(points: np.ndarray) -> tuple[float, float]:
    """A grid point (multiple of 0.05) inside the map, at least 0.6 from every voice."""
    cand = np.array([(u, v) for u in np.arange(-2.5, 2.51, 0.25)
                     for v in np.arange(-2.5, 2.51, 0.25)])
    dist = np.min(np.linalg.norm(cand[:, None] - points[None], axis=2), axis=1)
    u, v = cand[np.argmax(dist > 0.6)] if np.any(dist > 0.6) else cand[np.argmax(dist)]
    return round(float(u), 2), round(float(v), 2)


def test_views_render_and_listening_map_plays_a_click(lab, tmp_path):
    x, y = empty_spot(FeatureSpace.default(2).points)
    names = list(CELLS)
    lab.write_notebook("plots.ipynb", [SETUP, *CELLS.values(),
                                       "(m.last['point'].round(2).tolist(), m.n_clicks, m.source) "
                                       "if m.last else None"])
    lab.open("plots.ipynb")
    lab.run_all(timeout=120)
    assert lab.cell_errors() == []
    page = lab.page
    cells = page.locator(".jp-NotebookPanel .jp-Cell")
    for i, name in enumerate(names, start=1):
        cells.nth(i).locator(".js-plotly-plot").first.wait_for(timeout=30_000)
    page.wait_for_timeout(500)                                       # let plots settle
    for i, name in enumerate(names, start=1):
        cells.nth(i).locator(".jp-OutputArea").screenshot(path=str(tmp_path / f"{name}.png"))
    # animation: play moves the slider on, pause stops it
    anim = cells.nth(names.index("animation") + 1)
    step = anim.locator(".slider-group > text.slider-label")     # the "current value" text
    assert step.text_content().strip() == "Langevin step 0"
    anim.scroll_into_view_if_needed()
    layers = anim.locator(".scatterlayer .trace").count()
    anim.locator(".updatemenu-button", has_text="play").click()
    page.wait_for_function("(el) => /step [1-9]/.test(el.textContent)",
                           arg=step.element_handle(), timeout=10_000)
    anim.locator(".updatemenu-button", has_text="pause").click()
    page.wait_for_timeout(300)
    paused = step.text_content()
    page.wait_for_timeout(500)
    assert step.text_content() == paused
    assert anim.locator(".scatterlayer .trace").count() == layers    # D lines, field, data stay
    anim.locator(".jp-OutputArea").screenshot(path=str(tmp_path / "animation_playing.png"))

    # click an empty spot of the listening map
    k = names.index("listening_map") + 1
    cells.nth(k).scroll_into_view_if_needed()
    px, py = page.evaluate(PIXEL_OF, [k, x, y])
    page.mouse.move(px, py)
    page.wait_for_timeout(300)
    page.mouse.click(px, py)
    label = f"PC1 = {x:.2f}, PC2 = {y:.2f}"
    out = cells.nth(k)
    out.locator(f".widget-html:has-text('{label}')").wait_for(timeout=15_000)
    audio = out.locator("audio")
    audio.wait_for(state="attached", timeout=10_000)
    assert audio.count() == 1
    page.wait_for_function(
        """(el) => el.currentTime > 0.05 || (!el.paused && el.readyState >= 2)""",
        arg=audio.element_handle(), timeout=10_000)
    assert audio.evaluate("el => el.autoplay && el.controls")
    out.locator(".jp-OutputArea").screenshot(path=str(tmp_path / "listening_map_clicked.png"))

    # the kernel played exactly that point
    lab.run_cell(len(names) + 1)
    result = cells.nth(len(names) + 1).locator(".jp-OutputArea-output").inner_text()
    assert result.strip() == f"([{x}, {y}], 1, 'map')"     # the traits saw the real click
    for name in names + ["animation_playing", "listening_map_clicked"]:
        assert (tmp_path / f"{name}.png").stat().st_size > 10_000


def test_stacked_titles_end_above_the_plot(page, tmp_path):
    """A square plot's title with one to five note lines stacked (a d = 5 study's cloud has
    four) ends above the plot, as the tutorials' figure check reads it in Chromium; and
    the check itself sees a title whose notes run into the plot."""
    import plotly.graph_objects as go
    from tutorial_driver import FIGURE_PROBLEMS
    from hd_widgets.views.style import fit_square_plot

    def problems(fig, name):
        path = tmp_path / f"{name}.html"
        fig.write_html(path, include_plotlyjs=True, auto_play=False)
        page.goto(path.as_uri())
        gd = page.locator(".js-plotly-plot").first
        gd.wait_for(timeout=30_000)
        page.wait_for_timeout(300)
        page.screenshot(path=str(tmp_path / f"{name}.png"))
        return gd.evaluate(FIGURE_PROBLEMS)

    def square(n, **layout):
        fig = go.Figure([go.Scatter(x=[-1, 1], y=[-1, 1], mode="markers", name="two points")])
        fit_square_plot(fig, ((-2, 2), (-2, 2)), height=600, title="The model's cloud",
                        notes=tuple(f"a note long enough to need a line of its own, {k}"
                                    for k in range(n)), axis_titles=("x", "y"))
        fig.update_layout(**layout)
        return fig

    for n in range(1, 6):
        assert problems(square(n), f"notes{n}") == [], n
    # the title stood on the plot's top edge: its notes hang into the plot
    broken = problems(square(5, title_pad_b=0), "broken")
    assert any("runs into the plot" in p for p in broken), broken
