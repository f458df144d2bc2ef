"""A figure that grows while you rate: the gradient your own ratings imply.

:class:`LiveGradient` is a Plotly ``FigureWidget`` over the 2-D space (a plane of it for
d > 2) with the real voices and, for every periphery point the rater has rated, the NES
estimate of the naturalness gradient from *their* pairs alone (DESIGN.md item 3, no
regularisation). Connect it to a rating widget with ``widget.on_submit(live.update)``.
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from .estimate import EstimateOptions, PairRatings, from_plan
from .plots_fields import auto_scale, quiver_xy
from .plots_style import PALETTE, Plane, apply_look, extent_of
from .space import FeatureSpace
from .store import RatingsStore

__all__ = ["LiveGradient"]


class LiveGradient:
    """The rater's own NES gradients, redrawn on every :meth:`update`.

    Parameters
    ----------
    space : FeatureSpace
    store : RatingsStore
    plan : str          an NES plan in the store
    rater : str         whose ratings to show
    dims : (int, int)   the two components shown when d > 2
    """

    def __init__(self, space: FeatureSpace, store: RatingsStore, plan: str, rater: str, *,
                 dims: tuple[int, int] = (0, 1)):
        self.space, self.store, self.plan_name, self.rater = space, store, plan, rater
        self.plan = store.plan(plan)
        self.plane = Plane(space.d, dims, None)
        pts = self.plane.xy(space.points)
        self.extent = extent_of(pts, pad=0.35)
        fig = go.Figure([
            go.Scatter(x=pts[:, 0], y=pts[:, 1], mode="markers", name="real voices",
                       marker=dict(color=PALETTE["real"], size=9)),
            go.Scatter(x=[], y=[], mode="markers", name="points you rated",
                       marker=dict(color=PALETTE["periphery"], size=7)),
            go.Scatter(x=[], y=[], mode="lines", name="your gradient",
                       line=dict(color=PALETTE["arrow"], width=2.5)),
        ])
        apply_look(fig, self._title(0), width=640, height=560,
                   legend=dict(orientation="h", yanchor="top", y=-0.12, x=0))
        fig.update_xaxes(range=list(self.extent[0]))
        fig.update_yaxes(range=list(self.extent[1]), scaleanchor="x", scaleratio=1)
        self.figure = go.FigureWidget(fig)
        self.n_points = 0
        self.update()

    def arrows(self) -> tuple[np.ndarray, np.ndarray]:
        """The rater's periphery points (P, d) and NES gradients (P, d) so far."""
        t = self.store.table(self.plan_name)
        mine = {k: v[t["rater"] == self.rater] for k, v in t.items()}
        pairs = PairRatings.from_table(self.plan, mine)
        if len(pairs) == 0:
            d = self.space.d
            return np.zeros((0, d)), np.zeros((0, d))
        # the raw NES average: the paper's estimator, no refinement, no regularisation
        est = from_plan(self.plan, pairs, self.space.points,
                        EstimateOptions.paper(lam=0.0, noise_sd=0.1))
        return est.points, est.grad

    def update(self, *_) -> int:
        """Re-read the store and redraw; returns how many points carry an arrow."""
        pts, grad = self.arrows()
        xy, g = self.plane.xy(pts), grad[:, list(self.plane.dims)]
        spacing = min(e[1] - e[0] for e in self.extent) / 12
        scale = auto_scale(g, spacing) if len(g) else 1.0
        ax, ay = quiver_xy(xy, g, scale, head_max=0.04 * spacing * 12)
        with self.figure.batch_update():
            self.figure.data[1].x, self.figure.data[1].y = xy[:, 0], xy[:, 1]
            self.figure.data[2].x, self.figure.data[2].y = ax, ay
            self.figure.data[2].name = f"your gradient (arrow = {scale:g} \u00d7 vector)"
            self.figure.layout.title.text = self._title(len(xy))
        self.n_points = len(xy)
        return self.n_points

    def _title(self, n: int) -> str:
        rated = f"{n} point{'s' if n != 1 else ''} rated" if n else "rate a page to draw an arrow"
        return self.plane.title(f"The naturalness gradient your ratings imply: {rated}")

    def __repr__(self) -> str:
        return (f"LiveGradient(plan={self.plan_name!r}, rater={self.rater!r}, "
                f"points={self.n_points})")
