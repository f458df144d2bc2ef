"""A figure that grows while you rate: the gradient your own ratings imply.

:class:`LiveGradient` is a Plotly ``FigureWidget`` over the 2-D space (a plane of it for
d > 2) with the real voices and, for every periphery point the rater has rated, the NES
estimate of the naturalness gradient from *their* pairs alone (docs/method.md, item 3, no
regularisation). It is an ipywidgets ``VBox`` (the figure under a caption) whose state is
its traits (``rater``, ``n_points``). Connect it to a rating widget with
``live.follow(widget)`` (the same as ``widget.on_submit(live.update)``): it redraws after
every submission the store has saved. An undo shows at the next redraw. The figure is
sized to its square plot (:func:`~hd_widgets.views.style.fit_square_plot`).
"""
from __future__ import annotations

import ipywidgets as W
import numpy as np
import plotly.graph_objects as go
from traitlets import Int, TraitError, Unicode, observe, validate

from ..method.estimation import EstimateOptions, from_plan
from ..method.pairs import PairRatings
from ..views.fields import auto_scale, quiver_xy
from ..views.plane import Plane, extent_of
from ..views.style import PALETTE, fit_square_plot
from ..speech.space import FeatureSpace
from ..ratings.store import RatingsStore
from .checks import rater_problem

__all__ = ["LiveGradient"]

TITLE = "Your gradient of naturalness"


class LiveGradient(W.VBox):
    """The rater's own NES gradients, redrawn on every :meth:`update`.

    Parameters
    ----------
    space : FeatureSpace
    store : RatingsStore
    plan : str          an NES plan in the store
    rater : str         whose ratings to show
    dims : (int, int)   the two components shown when d > 2

    Attributes
    ----------
    figure : plotly.graph_objects.FigureWidget     the figure (also the second child).

    Examples
    --------
    >>> live = LiveGradient(space, store, plan.name, "ann").follow(widget)
    >>> ipywidgets.VBox([widget, live])     # rate on top, watch the arrows grow below
    >>> live.n_points                        # periphery points with an arrow so far
    """

    rater = Unicode("", help="Whose ratings are drawn; spaces are stripped, the store checks "
                    "the id, and a change redraws.")
    n_points = Int(0, help="Periphery points of this rater that carry an arrow, as of the "
                   "last update(); each needs at least one rated pair.")

    def __init__(self, space: FeatureSpace, store: RatingsStore, plan: str, rater: str, *,
                 dims: tuple[int, int] = (0, 1)):
        self.space, self.store, self.plan_name = space, store, plan
        self.plan = store.plan(plan)
        self.plane = Plane(space.d, dims, None)
        pts = self.plane.xy(space.points)
        self.extent = extent_of(pts, pad=0.35)
        fig = go.Figure([
            go.Scatter(x=pts[:, 0], y=pts[:, 1], mode="markers", name="real voices",
                       marker=dict(color=PALETTE["real"], size=9)),
            go.Scatter(x=[], y=[], mode="markers", name="points you rated",
                       marker=dict(color=PALETTE["periphery"], size=7)),
            go.Scatter(x=[], y=[], mode="lines", name="your gradient at each point",
                       line=dict(color=PALETTE["arrow"], width=2.5)),
        ])
        # trace names never change after this (the arrow scale goes in the title), so a
        # redraw of a FigureWidget never leaves a legend entry to Plotly's "trace N"; the
        # figure is sized to its square plot once, for the widest title a redraw writes
        self._stacked = fit_square_plot(fig, self.extent, height=600, title=TITLE,
                                        notes=(self.plane.note(), *self._notes(1000, 0.0025)),
                                        axis_titles=self.plane.axis_titles())
        fig.layout.title.text = self._title(0, 1.0)
        self.figure = go.FigureWidget(fig)
        self._caption = W.HTML("<small>Each arrow is the NES estimate of the naturalness "
                               "gradient at one periphery point, from your own rated pairs "
                               "alone (no smoothing): it points to where the clips sounded "
                               "more natural to you.</small>")
        super().__init__([self._caption, self.figure])
        self.rater = rater                 # validated; draws the first time

    def follow(self, widget, remove: bool = False) -> "LiveGradient":
        """Redraw after every submission ``widget`` saves (``widget.on_submit(self.update)``).

        ``widget`` is a :class:`~hd_widgets.widgets.rating.RatingWidget` (or anything with
        ``on_submit`` and ``plan``) rating the same plan; ``remove=True`` stops following.
        Returns ``self``, so ``LiveGradient(...).follow(widget)`` can end a cell.
        """
        name = getattr(getattr(widget, "plan", None), "name", self.plan_name)
        if name != self.plan_name:
            raise ValueError(f"the widget rates plan {name!r}; this figure shows plan "
                             f"{self.plan_name!r}")
        widget.on_submit(self.update, remove=remove)
        return self

    @validate("rater")
    def _valid_rater(self, proposal: dict) -> str:
        rater = proposal["value"].strip()
        why = rater_problem(self.store, self.plan_name, rater)
        if why is not None:
            raise TraitError(f"rater id refused: {why}")
        return rater

    @observe("rater")
    def _rater_changed(self, change: dict) -> None:
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
        """Re-read the store and redraw; returns how many points carry an arrow.

        Extra arguments are ignored, so it serves as a callback of ``on_submit`` (the
        widget), ``observe`` (the change) or ``on_click`` (the button) alike."""
        pts, grad = self.arrows()
        xy, g = self.plane.xy(pts), grad[:, list(self.plane.dims)]
        spacing = min(e[1] - e[0] for e in self.extent) / 12
        scale = auto_scale(g, spacing) if len(g) else 1.0
        ax, ay = quiver_xy(xy, g, scale, head_max=0.04 * spacing * 12)
        pages = self.store.progress(self.plan_name, self.rater)[0] if self.rater else 0
        with self.figure.batch_update():
            self.figure.data[1].x, self.figure.data[1].y = xy[:, 0], xy[:, 1]
            self.figure.data[2].x, self.figure.data[2].y = ax, ay
            self.figure.layout.title.text = self._title(pages, scale)
        self.n_points = len(xy)
        return self.n_points

    def _title(self, pages: int, scale: float) -> str:
        """The title, and under it whose pages and the arrow scale (or what to do first),
        its notes on one line or stacked as the figure was sized for."""
        notes = self._notes(pages, scale) if pages else ("rate a page to draw an arrow",)
        return self.plane.title(TITLE, *notes, stacked=self._stacked)

    @staticmethod
    def _notes(pages: int, scale: float) -> tuple[str, str]:
        return (f"from your {pages} page{'s' if pages != 1 else ''} alone",
                f"arrow = {scale:g} \u00d7 vector")

    def close(self) -> None:
        """Close the figure, the caption and this box."""
        for w in self.children:             # () if __init__ stopped early
            w.close()
        super().close()

    def __repr__(self) -> str:
        return (f"LiveGradient(plan={self.plan_name!r}, rater={self.rater!r}, "
                f"n_points={self.n_points}, dims={self.plane.dims})")
