"""Interactive Plotly views of HumanDiffusion: one import for every figure.

Every function *returns* a figure and displays nothing; leave it last in a notebook
cell (or call ``fig.show()``) to see it. Inputs are plain NumPy arrays and callables, so
the views work with whatever the estimator, score network and samplers return:

============================  ==================================================  ===========
function                      inputs (shapes)                                     paper
============================  ==================================================  ===========
:func:`gradient_figure`       points (N,d), centers (P,d), grad (P,d),            Fig. 4
                              grad_reg (P,d), field_fn (n,d)->(n,d), D
:func:`samples_figure`        points (N,d), humangan (n,d), humandiffusion (m,d),  Fig. 5
                              initial states, field_fn, D
:func:`ratings_figure`        {kind: ratings (n_k,)} or {"kind": (n,),            Fig. 6
                              "value": (n,)}
:func:`langevin_animation`    traj (T,n,d), points, D, field_fn                   (motion)
:class:`ListeningMap`         a FeatureSpace; click to hear                       (ours)
============================  ==================================================  ===========

``D`` is a callable (n, d) -> (n,) in [0, 1] (e.g. a simulated listener's ``D`` or the
score network's D head) or a grid ``(xs (nx,), ys (ny,), z (ny, nx))``.

For d > 2 every view takes ``dims=(i, j)`` (the two components shown) and ``base``
(None: points projected onto those components; a point (d,): a slice through it, the
other coordinates held there); functions are evaluated on the slice, and the figure's
title says which. Colours (:data:`PALETTE`), the template and the axis titles are shared
by all views (see :mod:`hd_widgets.plots_style`).

The engine's objects plug in directly (duck-typed, so this module never imports torch):
:func:`estimate_figure` takes an ``Estimate`` and a trained ``ScoreNet``;
:func:`langevin_animation` takes a ``LangevinResult`` recorded with ``record_every > 0``;
:func:`ratings_figure` takes :func:`hd_widgets.evaluation.results` as it is.

In notebooks, Plotly's default renderer keeps outputs small and stable from run to run;
avoid ``renderer="notebook"``, which embeds megabytes of plotly.js in each output.
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from .listening_map import ListeningMap, listening_map
from .plots_fields import auto_scale, gradient_figure, quiver_trace, samples_figure
from .plots_motion import langevin_animation
from .plots_ratings import ratings_by_kind, ratings_figure
from .plots_style import (D_COLORSCALE, GROUP_COLORS, KIND_NAMES, PALETTE, TEMPLATE, Plane,
                          axis_title, color_of)

__all__ = ["gradient_figure", "estimate_figure", "samples_figure", "ratings_figure",
           "langevin_animation", "ListeningMap", "listening_map", "quiver_trace", "auto_scale",
           "ratings_by_kind",
           "PALETTE", "GROUP_COLORS", "KIND_NAMES", "D_COLORSCALE", "TEMPLATE", "Plane",
           "axis_title", "color_of"]


def estimate_figure(est, net=None, *, data: np.ndarray, D=None, **kwargs) -> go.Figure:
    """Paper Fig. 4 from the engine's objects.

    Parameters
    ----------
    est : Estimate (or anything with ``points`` (P, d), ``grad`` (P, d), ``target`` (P, d))
        Panel 1 shows ``grad`` (NES), panel 2 ``target`` (the regularised gradient).
    net : ScoreNet, optional (anything with ``predict(x (n, d)) -> (D (n,), g (n, d))``)
        Panel 3 shows its gradient head g, the field it learned from ``target``; D
        defaults to its D head.
    data : ndarray, shape (N, d)      the real data.
    D : callable or grid, optional    overrides the network's D (e.g. a simulated
        listener's true ``D``).
    **kwargs : passed to :func:`gradient_figure` (dims, base, scale, extent, titles, ...).
    """
    field_fn = (lambda x: net.predict(x)[1]) if net is not None else None
    if D is None and net is not None:
        D = lambda x: net.predict(x)[0]     # noqa: E731 - a one-line view of the D head
    kwargs.setdefault("titles", ("NES estimate of \u2207D", "regularised \u2207D (target)",
                                 "learned \u2207D (network's g head)"))
    return gradient_figure(data, est.points, est.grad, est.target, field_fn, D=D, **kwargs)
