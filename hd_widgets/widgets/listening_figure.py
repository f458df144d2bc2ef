"""The listening map's figure: what it draws, in which order, and how large.

How clicks anywhere work: Plotly fires click events on traces only (``layout.clickanywhere``
exists in plotly.js 3 but the FigureWidget forwards only the points of a click, not its
coordinates). So the first trace is an invisible heatmap covering the view, one cell per
``resolution`` units: a click on empty space lands on a cell, and its centre is the point
heard. Clicks on a real voice, a sample or a history marker play that exact point
(for d > 2 its own full coordinates); Plotly gives markers within 20 px priority over the
heatmap cell.

Drawing order: the click-catching heatmap, D's region, the real voices, then the samples
on top of them (outlined in a dark shade of their colour, so one that sits on a real voice,
such as your own take among the class's voices, still shows), then the points heard. A
set of samples that has collapsed onto one spot is one large marker under the voices.

Size: one unit is as long across as up, so the plot is as wide as its extent makes it at
its height, and the figure is that plot plus its margins (no white band beside it); it is
wider only where a title line, the x-axis title or a legend entry needs the room, and then
the title's notes go one to a line first. The legend sits below the x-axis title, with the
room it needs kept free (:func:`~hd_widgets.views.style.fit_square_plot`, which the live
gradient and the study's cloud share).
"""
from __future__ import annotations

import html

import numpy as np
import plotly.graph_objects as go

from ..views.fields import region_traces
from ..views.samples import collapsed
from ..views.source import source_text
from ..views.style import (GROUP_COLORS, GROUP_SYMBOLS, PALETTE, axis_title, dark_shade,
                           fit_square_plot, sample_colors)

__all__ = ["map_figure", "explained_share", "FEW_SAMPLES"]

FEW_SAMPLES = 30          # a set this small is drawn as large, opaque, outlined markers


def explained_share(space, k: int) -> float | None:
    """The share of variance of component ``k`` (0-based), if the space knows it."""
    ex = getattr(space, "explained", None)
    return float(ex[k]) if ex is not None and k < len(ex) else None


def map_figure(space, plane, extent, *, samples: dict[str, np.ndarray], D=None,
               D_label: str | None = None, show_data: bool = True, resolution: float = 0.05,
               height: int = 640, title: str = "", source=None
               ) -> tuple[go.FigureWidget, dict[str, np.ndarray]]:
    """The listening map's figure, its traces in drawing order, sized to fit its plot.

    Parameters
    ----------
    space, plane, extent, D, D_label, show_data, resolution, height, title, source
        As :class:`~hd_widgets.widgets.listening.ListeningMap` takes them (``plane`` the
        :class:`~hd_widgets.views.plane.Plane` shown, ``extent`` its view ranges).
    samples : dict name -> ndarray (m, d)
        The sets of samples drawn (full points).

    Returns
    -------
    figure : plotly.graph_objects.FigureWidget
        Every trace carries ``meta={"key": ...}`` ("catcher", "group:<group>",
        "samples:<name>", "history", "playing"); the last two are empty and last.
    points : dict key -> ndarray (m, d)
        The full points behind the markers of each clickable trace, in marker order.
    """
    points: dict[str, np.ndarray] = {}

    def markers(key: str, pts, *, name: str, color: str, size: float,
                symbol: str = "circle") -> go.Scatter:
        pts = np.asarray(pts, dtype=np.float64)
        points[key] = pts
        xy = plane.xy(pts)
        return go.Scatter(x=xy[:, 0], y=xy[:, 1], mode="markers", name=name, meta={"key": key},
                          marker=dict(size=size, color=color, symbol=symbol,
                                      line=dict(width=1.2, color="white")),
                          hovertemplate=f"{html.escape(name)}<br>(%{{x:.2f}}, %{{y:.2f}})"
                                        "<extra></extra>")

    def voices(group: str) -> go.Scatter:
        sel = np.asarray(space.groups, dtype=str) == group
        names = np.asarray(space.names, dtype=str)[sel]
        tr = markers(f"group:{group}", np.asarray(space.points)[sel],
                     name=f"real voices: {group}", color=GROUP_COLORS.get(group, PALETTE["real"]),
                     size=13, symbol=GROUP_SYMBOLS.get(group, "circle"))
        tr.customdata = np.column_stack([names, np.full(len(names), group)])
        tr.hovertemplate = ("<b>%{customdata[0]}</b> (%{customdata[1]})<br>"
                            "(%{x:.2f}, %{y:.2f})<br>click to hear this voice<extra></extra>")
        return tr

    def sample_set(name: str, pts: np.ndarray, color: str, *, one_spot: bool) -> go.Scatter:
        """A collapsed set as one large black-rimmed marker; a few (your takes) as large
        opaque markers with a thick dark rim, which show even on top of a real voice; a
        cloud as small translucent ones with a thin dark rim, so the region stays visible
        and the legend's dot reads on white."""
        few = len(pts) <= FEW_SAMPLES
        size = 22 if one_spot else 10 if few else 7
        tr = markers(f"samples:{name}", pts,
                     name=f"{name}: all {len(pts)} here" if one_spot else name,
                     color=color, size=size)
        tr.marker.opacity = 1.0 if one_spot or few else 0.6
        tr.marker.line = (dict(width=3, color="#111111") if one_spot else
                          dict(width=2 if few else 0.75, color=dark_shade(color)))
        return tr

    fig = go.FigureWidget()
    fig.add_trace(_catcher(plane, extent, resolution))
    if D is not None:
        fig.add_traces(region_traces(D, plane, extent, showscale=False, label=D_label))
    colors = sample_colors(samples)
    spots = {name: collapsed(plane.xy(pts), extent) for name, pts in samples.items()}
    for name, pts in samples.items():       # a collapsed set: one large marker, under
        if spots[name]:                     # the voices so it hides none of them
            fig.add_trace(sample_set(name, pts, colors[name], one_spot=True))
    if show_data:
        for g in dict.fromkeys(np.asarray(space.groups, dtype=str)):
            fig.add_trace(voices(g))
    for name, pts in samples.items():       # on top of the voices, outlined
        if not spots[name]:
            fig.add_trace(sample_set(name, pts, colors[name], one_spot=False))
    fig.add_trace(go.Scatter(x=[], y=[], mode="markers+text", name="heard before",
                             meta={"key": "history"}, textposition="top center",
                             textfont=dict(size=14, color="#7A5200"),
                             marker=dict(size=16, color="rgba(230,159,0,0.35)",
                                         line=dict(width=2, color=PALETTE["clicked"])),
                             hovertemplate="heard before: (%{x:.2f}, %{y:.2f})<br>"
                                           "click to hear again<extra></extra>"))
    fig.add_trace(go.Scatter(x=[], y=[], mode="markers", name="playing",
                             meta={"key": "playing"}, hoverinfo="skip",
                             marker=dict(symbol="star", size=26, color=PALETTE["clicked"],
                                         line=dict(width=2, color="#222222"))))
    notes = (source_text(source), f"shading: {D_label}" if D_label and D is not None else "")
    (i, j), ex = plane.dims, (explained_share(space, k) for k in plane.dims)
    fit_square_plot(fig, extent, height=height, title=title, notes=(plane.note(), *notes),
                    axis_titles=(axis_title(i, next(ex)),          # up: two lines, never
                                 axis_title(j, next(ex), wrap=True)),   # taller than the plot
                    hovermode="closest")
    return fig, points


def _catcher(plane, extent, resolution: float) -> go.Heatmap:
    """The invisible heatmap that turns a click on empty space into a point."""
    r = resolution
    (x0, x1), (y0, y1) = extent
    xs = np.round(r * np.arange(np.ceil(x0 / r), np.floor(x1 / r) + 1), 10)   # (nx,)
    ys = np.round(r * np.arange(np.ceil(y0 / r), np.floor(y1 / r) + 1), 10)   # (ny,)
    a, b = (f"PC{k + 1}" for k in plane.dims)
    return go.Heatmap(x=xs, y=ys, z=np.zeros((len(ys), len(xs)), dtype=np.int8),
                      opacity=0, showscale=False, name="click anywhere",
                      meta={"key": "catcher"}, showlegend=False,
                      hovertemplate=f"{a} = %{{x:.2f}}<br>{b} = %{{y:.2f}}<br>"
                                    "click to hear<extra></extra>")

