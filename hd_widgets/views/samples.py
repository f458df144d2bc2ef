"""HumanGAN's and HumanDiffusion's samples over the field: the paper's Fig. 5.

Inputs are plain arrays (the real data, each method's final samples and, optionally,
where each started) and the field both methods follow; see :mod:`hd_widgets.views.fields`
for the conventions (planes of d > 2 spaces, the shared arrow scale, D underneath).

Drawn so that it reads at a glance: a cloud of thousands of samples is thinned to
``max_points`` small, translucent markers (the legend says how many of how many), so the
acceptable region underneath stays visible, and its D = 0.5 line is drawn on top of the
clouds; a set of samples that has collapsed onto one point (HumanGAN trained on) is one
large marker with an arrow and a note, "all N samples here", rather than one dot hidden
among the real voices.
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from ..method.metrics import variance_ratio
from .fields import (as_points, auto_scale, field_on_grid, points_trace, quiver_trace,
                     region_traces, side_by_side)
from .plane import FieldFn, Plane, extent_of
from .source import source_text
from .style import PALETTE, apply_look

__all__ = ["samples_figure", "collapsed", "thin_random", "MAX_POINTS"]

MAX_POINTS = 1000      # samples drawn per cloud at most (SVG markers: each costs drawing time)
COLLAPSE_FRACTION = 0.02   # a set whose 95 % radius is below this share of the view is one point


def collapsed(xy: np.ndarray, extent) -> bool:
    """Whether plane points (n, 2) sit on one spot: 95 % of them lie within
    ``COLLAPSE_FRACTION`` of the view's width of their median."""
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    xy = xy[np.isfinite(xy).all(1)]
    if len(xy) < 2:
        return False
    r = np.percentile(np.linalg.norm(xy - np.median(xy, axis=0), axis=1), 95)
    return bool(r < COLLAPSE_FRACTION * min(e[1] - e[0] for e in extent))


def thin_random(x: np.ndarray, max_points: int | None, seed: int = 0) -> np.ndarray:
    """At most ``max_points`` rows of ``x`` (n, d), drawn at random (seeded), in their order:
    a thinned cloud keeps its density."""
    if max_points is None or len(x) <= max_points:
        return x
    return x[np.sort(np.random.default_rng(seed).choice(len(x), max_points, replace=False))]


def _cloud(fig, xy: np.ndarray, *, name: str, color: str, col: int, max_points, size=4,
           opacity=0.45, open_=False, showlegend=True) -> None:
    """A thinned cloud of small translucent markers (its legend entry says what is drawn)."""
    shown = thin_random(xy, max_points)
    label = name if len(shown) == len(xy) else f"{name} ({len(shown)} of {len(xy)} drawn)"
    if open_:
        marker = dict(color=color, opacity=opacity, size=size + 2, symbol="circle-open",
                      line=dict(width=1))
    else:
        marker = dict(color=color, opacity=opacity, size=size, line=dict(width=0))
    fig.add_trace(go.Scatter(x=shown[:, 0], y=shown[:, 1], mode="markers", name=label,
                             marker=marker, legendgroup=name, showlegend=showlegend,
                             hovertemplate=f"{name}<br>(%{{x:.2f}}, %{{y:.2f}})<extra></extra>"),
                  row=1, col=col)


def _one_spot(fig, xy: np.ndarray, *, name: str, color: str, col: int, extent,
              showlegend=True) -> None:
    """A collapsed set: one large marker at its median and a note pointing at it."""
    c = np.median(xy, axis=0)
    fig.add_trace(go.Scatter(x=[c[0]], y=[c[1]], mode="markers", name=f"{name}: all {len(xy)} here",
                             marker=dict(color=color, size=22, symbol="circle",
                                         line=dict(width=3, color="#111111")),
                             legendgroup=name, showlegend=showlegend,
                             hovertemplate=f"{name}: all {len(xy)} samples within "
                                           f"%{{x:.2f}}, %{{y:.2f}}<extra></extra>"),
                  row=1, col=col)
    (x0, x1), (y0, y1) = extent
    right = c[0] < (x0 + x1) / 2                     # put the note on the roomier side
    up = c[1] < (y0 + y1) / 2
    fig.add_annotation(x=c[0], y=c[1], xref=f"x{col if col > 1 else ''}",
                       yref=f"y{col if col > 1 else ''}",
                       text=f"<b>{name}:<br>all {len(xy)} samples here</b>",
                       showarrow=True, arrowhead=2, arrowwidth=2, arrowcolor="#111111",
                       ax=70 if right else -70, ay=-60 if up else 60, font=dict(size=14),
                       bgcolor="rgba(255,255,255,0.9)", bordercolor="#111111", borderwidth=1)


def samples_figure(points: np.ndarray, humangan: np.ndarray, humandiffusion: np.ndarray, *,
                   humangan_initial: np.ndarray | None = None,
                   humandiffusion_initial: np.ndarray | None = None,
                   humangan_collapsed: np.ndarray | None = None,
                   field_fn: FieldFn | None = None, D=None, dims: tuple[int, int] = (0, 1),
                   base: np.ndarray | None = None, scale: float | None = None, extent=None,
                   n_arrows: int = 17, n_grid: int = 60, source=None, D_label: str | None = None,
                   max_points: int | None = MAX_POINTS,
                   title: str = "HumanGAN collapses, HumanDiffusion spreads (paper Fig. 5)",
                   height: int = 640) -> go.Figure:
    """Paper Fig. 5: HumanGAN's and HumanDiffusion's samples side by side, over the field.

    Parameters
    ----------
    points : ndarray, shape (N, d)             real data (both panels).
    humangan, humandiffusion : ndarray, shape (n, d)
        Final samples: the trained generator's outputs; the last Langevin step.
    humangan_initial, humandiffusion_initial : ndarray, shape (m, d), optional
        Where each started (the untrained generator's outputs; the Langevin start),
        drawn as open, faded markers.
    humangan_collapsed : ndarray, shape (n, d), optional
        A second HumanGAN set in the left panel: the generator trained on (``humangan``
        then being the early-stopped one).
    field_fn : callable (n, d) -> (n, d), optional
        The gradient/score field both methods follow, as arrows (one scale for both panels).
    D, dims, base, scale, extent, source, D_label : as in :func:`gradient_figure`.
    max_points : int or None
        Samples drawn per cloud at most (a seeded random subset; the legend says it).

    A set collapsed onto one spot (:func:`collapsed`) is drawn as one large marker with
    the note "all N samples here". Each panel's title gives the samples' variance ratio
    to the real data (all d dims): below 1 is narrower than the data (collapse), above 1
    wider.
    """
    plane = Plane(np.shape(points)[1], dims, base)
    points = as_points(points, plane, "points")
    sets = {"humangan": (as_points(humangan, plane, "humangan"), humangan_initial),
            "humandiffusion": (as_points(humandiffusion, plane, "humandiffusion"),
                               humandiffusion_initial)}
    extra = None if humangan_collapsed is None else as_points(humangan_collapsed, plane,
                                                              "humangan_collapsed")
    pts = plane.xy(points)
    extent = extent or extent_of(pts, *(plane.xy(as_points(a, plane, "samples"))
                                        for pair in sets.values() for a in pair
                                        if a is not None),
                                 *(() if extra is None else (plane.xy(extra),)))
    head_max = 0.04 * min(e[1] - e[0] for e in extent)
    fgrid = field_on_grid(field_fn, plane, extent, n_arrows) if field_fn is not None else None
    if fgrid is not None and scale is None:
        scale = auto_scale(fgrid[1], fgrid[2])
    names = {"humangan": "HumanGAN", "humandiffusion": "HumanDiffusion"}
    titles = [f"{names[k]}: variance ratio {variance_ratio(f, points):.2f}"
              for k, (f, _) in sets.items()]
    if extra is not None:
        titles[0] = (f"HumanGAN: variance ratio {variance_ratio(sets['humangan'][0], points):.2f} "
                     f"early-stopped,<br>{variance_ratio(extra, points):.2f} trained on")
    if fgrid is not None:
        titles = [t + f"<br><sup>arrow = {scale:g} \u00d7 field</sup>" for t in titles]
    fig = side_by_side(2, titles, plane, extent, height)
    for c, (kind, (final, initial)) in enumerate(sets.items(), start=1):
        first = c == 1
        region = region_traces(D, plane, extent, n=n_grid, showscale=first, showlegend=first,
                               label=D_label) if D is not None else []
        if region:
            fig.add_trace(region[0], row=1, col=c)                 # the shading, underneath
        if fgrid is not None:
            fig.add_trace(quiver_trace(fgrid[0], fgrid[1], scale, name="field",
                                       color="#9A9A9A", width=1.4, head_max=head_max,
                                       showlegend=first), row=1, col=c)
        if initial is not None:
            ini = plane.xy(as_points(initial, plane, f"{kind}_initial"))
            _cloud(fig, ini, name=f"{names[kind]} initial", color=PALETTE[kind], col=c,
                   max_points=None if max_points is None else max_points // 3, open_=True,
                   opacity=0.5)
        label = f"{names[kind]} final" if extra is None or kind != "humangan" else \
            "HumanGAN final, early-stopped"
        groups = [(final, label, PALETTE[kind])]
        if kind == "humangan" and extra is not None:
            groups.append((extra, "HumanGAN final, trained on", "#00583F"))
        spots = []
        for xs, name, color in groups:
            xy = plane.xy(xs)
            if collapsed(xy, extent):
                spots.append((xy, name, color))                   # drawn last, on top
            else:
                _cloud(fig, xy, name=name, color=color, col=c, max_points=max_points)
        if region:
            fig.add_trace(region[1], row=1, col=c)                 # the region's edge, on top
        fig.add_trace(points_trace(pts, name="real data", color=PALETTE["real"], size=8,
                                    showlegend=first), row=1, col=c)
        for xy, name, color in spots:
            _one_spot(fig, xy, name=name, color=color, col=c, extent=extent)
    return apply_look(fig, plane.title(title, source_text(source)))
