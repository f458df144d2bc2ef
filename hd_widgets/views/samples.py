"""HumanGAN's and HumanDiffusion's samples over the field: the paper's Fig. 5.

Inputs are plain arrays (the real data, each method's final samples and, optionally,
where each started) and the field both methods follow; see :mod:`hd_widgets.views.fields`
for the conventions (planes of d > 2 spaces, the shared arrow scale, D underneath).
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from ..method.metrics import variance_ratio
from ..ratings import kinds
from .fields import as_points, auto_scale, field_on_grid, points_trace, quiver_trace, region_traces, side_by_side
from .plane import FieldFn, Plane, extent_of
from .style import PALETTE, apply_look

__all__ = ["samples_figure"]


def samples_figure(points: np.ndarray, humangan: np.ndarray, humandiffusion: np.ndarray, *,
                   humangan_initial: np.ndarray | None = None,
                   humandiffusion_initial: np.ndarray | None = None,
                   field_fn: FieldFn | None = None, D=None, dims: tuple[int, int] = (0, 1),
                   base: np.ndarray | None = None, scale: float | None = None, extent=None,
                   n_arrows: int = 17, n_grid: int = 60,
                   title: str = "HumanGAN collapses, HumanDiffusion spreads (paper Fig. 5)",
                   height: int = 600) -> go.Figure:
    """Paper Fig. 5: HumanGAN's and HumanDiffusion's samples side by side, over the field.

    Parameters
    ----------
    points : ndarray, shape (N, d)             real data (both panels).
    humangan, humandiffusion : ndarray, shape (n, d)
        Final samples: the trained generator's outputs; the last Langevin step.
    humangan_initial, humandiffusion_initial : ndarray, shape (m, d), optional
        Where each started (the untrained generator's outputs; the Langevin start),
        drawn as open, faded markers.
    field_fn : callable (n, d) -> (n, d), optional
        The gradient/score field both methods follow, as arrows (one scale for both panels).
    D, dims, base, scale, extent : as in :func:`gradient_figure`.

    Each panel's title gives the samples' variance ratio to the real data (all d dims):
    below 1 is narrower than the data (collapse), above 1 wider.
    """
    plane = Plane(np.shape(points)[1], dims, base)
    points = as_points(points, plane, "points")
    sets = {"humangan": (as_points(humangan, plane, "humangan"), humangan_initial),
            "humandiffusion": (as_points(humandiffusion, plane, "humandiffusion"),
                               humandiffusion_initial)}
    pts = plane.xy(points)
    extent = extent or extent_of(pts, *(plane.xy(as_points(a, plane, "samples"))
                                        for pair in sets.values() for a in pair
                                        if a is not None))
    head_max = 0.04 * min(e[1] - e[0] for e in extent)
    fgrid = field_on_grid(field_fn, plane, extent, n_arrows) if field_fn is not None else None
    if fgrid is not None and scale is None:
        scale = auto_scale(fgrid[1], fgrid[2])
    names = {"humangan": "HumanGAN", "humandiffusion": "HumanDiffusion"}
    titles = [f"{names[k]}: variance ratio {variance_ratio(f, points):.2f}"
              + (f"<br><sup>arrow = {scale:g} \u00d7 field</sup>" if fgrid else "")
              for k, (f, _) in sets.items()]
    fig = side_by_side(2, titles, plane, extent, height)
    for c, (kind, (final, initial)) in enumerate(sets.items(), start=1):
        first = c == 1
        if D is not None:
            for tr in region_traces(D, plane, extent, n=n_grid, showscale=first,
                                    showlegend=first):
                fig.add_trace(tr, row=1, col=c)
        if fgrid is not None:
            fig.add_trace(quiver_trace(fgrid[0], fgrid[1], scale, name="field",
                                       color="#9A9A9A", width=1.4, head_max=head_max,
                                       showlegend=first), row=1, col=c)
        fig.add_trace(points_trace(pts, name="real data", color=PALETTE["real"],
                                    showlegend=first), row=1, col=c)
        if initial is not None:
            ini = plane.xy(as_points(initial, plane, f"{kind}_initial"))
            fig.add_trace(points_trace(ini, name=f"{names[kind]} initial",
                                        color=PALETTE[kind], open_=True, opacity=0.6,
                                        size=8), row=1, col=c)
        fig.add_trace(points_trace(plane.xy(final), name=f"{names[kind]} final",
                                    color=PALETTE[kind], size=9), row=1, col=c)
    return apply_look(fig, plane.title(title))
