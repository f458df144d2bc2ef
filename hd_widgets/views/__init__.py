"""Stage 5, views: Plotly figures of HumanDiffusion (no ipywidgets; the widgets stage
adds what a person clicks).

Every function *returns* a figure and displays nothing; leave it last in a notebook
cell (or call ``fig.show()``) to see it. Inputs are plain NumPy arrays and callables, so
the views work with whatever the estimator, score network and samplers return:

============================  ==================================================  ===========
function                      inputs (shapes)                                     paper
============================  ==================================================  ===========
:func:`gradient_figure`       points (N,d), centers (P,d), grad (P,d),            Fig. 4
                              grad_reg (P,d), field_fn (n,d)->(n,d), D
:func:`estimate_figure`       an Estimate and a trained ScoreNet                  Fig. 4
:func:`samples_figure`        points (N,d), humangan (n,d), humandiffusion (m,d), Fig. 5
                              initial states, field_fn, D
:func:`ratings_figure`        {kind: ratings (n_k,)} or {"kind": (n,),            Fig. 6
                              "value": (n,)}
:func:`langevin_animation`    traj (T,n,d), points, D, field_fn                   (motion)
:func:`rounds_figure`         a RoundsStudy (its clouds and pages by round)       (rounds)
============================  ==================================================  ===========

Every figure takes ``source`` (whose ratings it rests on: a string, or the
:class:`~hd_widgets.views.source.RatingsSource` that :func:`ratings_source` reads from a
store, e.g. "your 13 pages" or "simulated listener, 487 pages") and prints it under its
title; ``D_label`` says what the shading is.

``D`` is a callable (n, d) -> (n,) in [0, 1] (e.g. a simulated listener's ``D`` or the
score network's D head) or a grid ``(xs (nx,), ys (ny,), z (ny, nx))``.

For d > 2 every view takes ``dims=(i, j)`` (the two components shown) and ``base``
(None: points projected onto those components; a point (d,): a slice through it, the
other coordinates held there); functions are evaluated on the slice, and the figure's
title says which (:class:`~hd_widgets.views.plane.Plane`). Colours, the template and the
axis titles are shared by all views (:mod:`hd_widgets.views.style`). The report of a
reproduction is :mod:`hd_widgets.views.report`.

In notebooks, Plotly's default renderer keeps outputs small and stable from run to run;
avoid ``renderer="notebook"``, which embeds megabytes of plotly.js in each output.
"""
from .._lazy import lazy_names

__getattr__, __dir__, __all__ = lazy_names(__name__, {
    "gradient_figure": "fields", "estimate_figure": "fields", "quiver_trace": "fields",
    "auto_scale": "fields", "region_traces": "fields",
    "samples_figure": "samples", "ratings_figure": "ratings", "ratings_by_kind": "ratings",
    "langevin_animation": "motion",
    "PALETTE": "style", "GROUP_COLORS": "style", "KIND_NAMES": "style", "D_COLORSCALE": "style",
    "TEMPLATE": "style", "axis_title": "style", "color_of": "style",
    "Plane": "plane", "thin_evenly": "fields",
    "ratings_source": "source", "RatingsSource": "source",
    "write_report": "report", "markdown_table": "report",
    "rounds_figure": "rounds", "page_centres": "rounds",
})
