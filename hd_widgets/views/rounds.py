"""A study in rounds at a glance: the model's cloud after each round, and where it asked next.

One panel per round rated (:meth:`~hd_widgets.study.rounds.RoundsStudy.clouds`, which a
restarted kernel reads from the store): the particles of the model fitted on the rounds
so far, the pages already rated, and the pages that cloud placed for the next round --
at its edge and away from what was rated (docs/method.md, "Rounds"). A last panel shows
the final fit when :meth:`~hd_widgets.study.rounds.RoundsStudy.fit` has run in this
process. A student sees the cloud spread from round to round, and a phantom region,
once asked about, gone in the next panel.
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .plane import Plane, extent_of
from .samples import thin_random
from .style import PALETTE, apply_look, legend_below

__all__ = ["rounds_figure", "page_centres"]


def page_centres(study, plan, *, answered: bool = True) -> np.ndarray:
    """Centres of the pages of ``plan`` (a round of ``study``; each page's pair of clips
    averaged): shape (n, d); with ``answered`` only the pages someone has rated."""
    done = {r.query for r in study.store.ratings(plan.name)} if answered else None
    pts = [np.mean(q.points, axis=0) for q in plan if done is None or q.index in done]
    return np.array(pts, dtype=np.float64).reshape(-1, study.data.shape[1])


def rounds_figure(study, *, dims: tuple[int, int] = (0, 1), n_show: int = 400,
                  width: int = 940, panel_height: int | None = None,
                  title: str = "The model's cloud after each round, and where it asked next"
                  ) -> go.Figure:
    """The cloud after each round of ``study`` (a RoundsStudy), one panel per round.

    Parameters
    ----------
    study : RoundsStudy
    dims : (int, int)      the two components shown when d > 2 (projected).
    n_show : int           particles drawn per panel at most.
    width : int            pixels (940: a JupyterLab cell at a laptop's width).
    panel_height : int     pixels of each panel's plot area (None: as tall as it is wide,
                           for the data's aspect, within 260-560).

    Returns
    -------
    plotly.graph_objects.Figure
        Raises ValueError when no round has been rated yet (no cloud to draw).
    """
    plans = study.plans()
    clouds = study.clouds(plans)
    if not clouds:
        raise ValueError("no cloud yet: the first cloud is fitted when round 1 is rated")
    rounds = study.config.rounds
    keys = sorted(clouds)
    plane = Plane(study.data.shape[1], dims, None)
    voices = plane.xy(study.data)
    rated = [plane.xy(page_centres(study, p)) for p in plans]                  # per round
    asked = [plane.xy(page_centres(study, p, answered=False)) for p in plans]
    titles = [("final fit" if k >= rounds else f"after round {k}")
              + f" ({2 * sum(len(r) for r in rated[:k])} ratings)" for k in keys]
    fig = make_subplots(rows=1, cols=len(keys), subplot_titles=titles,
                        horizontal_spacing=0.1)
    shown_xy = [voices]
    for col, k in enumerate(keys, start=1):
        first = col == 1
        cloud = thin_random(clouds[k][np.isfinite(clouds[k]).all(1)], n_show, seed=k)
        xy = plane.xy(cloud)
        shown_xy.append(xy)
        fig.add_trace(go.Scatter(
            x=xy[:, 0], y=xy[:, 1], mode="markers", name="the model's samples (cloud)",
            legendgroup="cloud", showlegend=first,
            marker=dict(color=PALETTE["humandiffusion"], size=4, opacity=0.35),
            hovertemplate="a sample of the model<br>(%{x:.2f}, %{y:.2f})<extra></extra>"),
            row=1, col=col)
        before = np.concatenate(rated[:k]) if k else np.zeros((0, 2))
        fig.add_trace(go.Scatter(
            x=before[:, 0], y=before[:, 1], mode="markers", name="pages rated before",
            legendgroup="rated", showlegend=first,
            marker=dict(color=PALETTE["periphery"], size=6, symbol="x"),
            hovertemplate="a page rated here<br>(%{x:.2f}, %{y:.2f})<extra></extra>"),
            row=1, col=col)
        if k < len(plans):                                # the round this cloud placed
            fig.add_trace(go.Scatter(
                x=asked[k][:, 0], y=asked[k][:, 1], mode="markers",
                name="pages it placed (the next round)",
                legendgroup="placed", showlegend=k == keys[0],
                marker=dict(color=PALETTE["clicked"], size=9, symbol="circle-open",
                            line=dict(width=2)),
                hovertemplate="a page of the next round<br>(%{x:.2f}, %{y:.2f})<extra></extra>"),
                row=1, col=col)
        fig.add_trace(go.Scatter(
            x=voices[:, 0], y=voices[:, 1], mode="markers", name="real voices",
            legendgroup="voices", showlegend=first,
            marker=dict(color=PALETTE["real"], size=7, line=dict(width=1, color="white")),
            hovertemplate="a real voice<br>(%{x:.2f}, %{y:.2f})<extra></extra>"),
            row=1, col=col)
    ext = extent_of(*shown_xy, pad=0.05)
    # every page asked about stays in view (the cloud's far particles may be cut)
    pages = np.concatenate(asked)
    ext = tuple((min(lo, float(pages[:, i].min()) - 0.3), max(hi, float(pages[:, i].max()) + 0.3))
                for i, (lo, hi) in enumerate(ext))
    a, b = plane.axis_titles(wrap=True)
    for col in range(1, len(keys) + 1):           # every panel has both titles: read alone
        fig.update_xaxes(range=list(ext[0]), title_text=a, row=1, col=col)
        fig.update_yaxes(range=list(ext[1]), title_text=b, row=1, col=col)
    apply_look(fig, plane.title(title), width=int(width))
    left, right = 80, 30
    if panel_height is None:          # one unit is as long on both axes (no distortion)
        panel_w = (width - left - right) * (1 - 0.1 * (len(keys) - 1)) / len(keys)
        aspect = (ext[1][1] - ext[1][0]) / (ext[0][1] - ext[0][0])
        panel_height = int(np.clip(panel_w * aspect, 260, 560))
    legend_below(fig, width=int(width), height=0, top=fig.layout.margin.t, left=left, right=right,
                 plot_height=int(panel_height), axis_lines=2)
    return fig
