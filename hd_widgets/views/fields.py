"""Gradient fields over the 2-D space: the paper's Fig. 4, and the pieces every map shares.

The figures take plain arrays and callables, whatever produced them:

- ``points`` (N, d): the real data; ``centers`` (P, d): the rated periphery points;
- ``grad``, ``grad_reg`` (P, d): the NES gradient of D at the centers, and its regularised
  version (docs/method.md, items 3 and 6);
- ``field_fn``: a callable (n, d) -> (n, d), e.g. the score network's learned field,
  evaluated on a grid of the shown plane;
- ``D``: the acceptable region drawn underneath, a callable (n, d) -> (n,) in [0, 1] or a
  precomputed grid ``(xs (nx,), ys (ny,), z (ny, nx))``.

Arrows are a scalable quiver: every arrow of a panel is drawn at the same scale (the
figure says it, e.g. "arrow = 0.2 x vector"), as line segments with arrowheads in one
Scatter trace, NaN-separated (7 coordinates per arrow: tail, tip, gap, left barb, tip,
right barb, gap). Axes keep a 1:1 aspect ratio so arrow directions are true. Thousands
of rated points (a study of 5000 ratings) would draw a black mass, so at most
``max_arrows`` of them are drawn, evenly spread over the view (:func:`thin_evenly`), and
the figure says how many of how many.

Every figure says under its title whose ratings it rests on (``source``, e.g. "your 13
pages", see :mod:`hd_widgets.views.source`) and what the shading is (``D_label``, e.g.
"true D of the simulated listener").
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .plane import FieldFn, Plane, evaluate_d, extent_of, grid
from .source import source_text
from .style import D_COLORSCALE, PALETTE, apply_look, nice_scale, wrap_words

__all__ = ["quiver_xy", "quiver_trace", "region_traces", "points_trace", "field_on_grid",
           "side_by_side", "as_points", "gradient_figure", "estimate_figure", "auto_scale",
           "thin_evenly", "MAX_ARROWS"]

MAX_ARROWS = 150      # arrows drawn per panel at most (about one per cell of a 13 x 13 grid)

ARROW_FILL = 0.9      # auto scale: the 95th-percentile arrow is this fraction of the spacing
HEAD_FRAC = 0.3       # arrowhead barbs: this fraction of the arrow's length ...
HEAD_MAX = 0.04       # ... but at most this fraction of the panel's width
HEAD_ANGLE = np.pi / 8


def auto_scale(vectors: np.ndarray, spacing: float) -> float:
    """One arrow scale for a panel: the 95th-percentile vector becomes ``ARROW_FILL * spacing``
    long, rounded down to 1, 2, 2.5 or 5 x 10^k."""
    norms = np.linalg.norm(np.asarray(vectors, dtype=np.float64).reshape(-1, 2), axis=1)
    norms = norms[np.isfinite(norms)]
    top = np.percentile(norms, 95) if len(norms) else 0.0
    return nice_scale(ARROW_FILL * spacing / top) if top > 0 else 1.0


def quiver_xy(origins: np.ndarray, vectors: np.ndarray, scale: float,
              head_max: float = np.inf) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates of arrows from ``origins`` (n, 2) along ``scale * vectors`` (n, 2).

    Returns x, y of shape (7 n,): per arrow tail, tip, NaN, left barb, tip, right barb, NaN.
    """
    o = np.asarray(origins, dtype=np.float64).reshape(-1, 2)
    v = scale * np.asarray(vectors, dtype=np.float64).reshape(-1, 2)
    tip = o + v
    length = np.linalg.norm(v, axis=1, keepdims=True)                        # (n, 1)
    head = np.minimum(HEAD_FRAC * length, head_max)
    unit = np.divide(v, length, out=np.zeros_like(v), where=length > 0)     # (n, 2)
    c, s = np.cos(HEAD_ANGLE), np.sin(HEAD_ANGLE)
    back = -unit
    left = tip + head * np.column_stack([c * back[:, 0] - s * back[:, 1],
                                         s * back[:, 0] + c * back[:, 1]])
    right = tip + head * np.column_stack([c * back[:, 0] + s * back[:, 1],
                                          -s * back[:, 0] + c * back[:, 1]])
    gap = np.full_like(o, np.nan)
    seg = np.stack([o, tip, gap, left, tip, right, gap], axis=1)            # (n, 7, 2)
    return seg[..., 0].ravel(), seg[..., 1].ravel()


def quiver_trace(origins: np.ndarray, vectors: np.ndarray, scale: float, *, name: str,
                 color: str = PALETTE["arrow"], width: float = 1.8,
                 head_max: float = np.inf, **kwargs) -> go.Scatter:
    """One Scatter trace of arrows (see :func:`quiver_xy`); ``meta`` records the scale."""
    x, y = quiver_xy(origins, vectors, scale, head_max)
    return go.Scatter(x=x, y=y, mode="lines", line=dict(color=color, width=width),
                      name=f"{name} (arrow = {scale:g} \u00d7 vector)", hoverinfo="skip",
                      meta={"scale": float(scale), "kind": "quiver"}, **kwargs)


def thin_evenly(xy: np.ndarray, max_n: int | None, extent, seed: int = 0) -> np.ndarray:
    """Indices of at most ``max_n`` of the points ``xy`` (n, 2), evenly spread over ``extent``.

    The view is cut into square cells, finer until at least ``max_n`` of them hold a
    point, and one point per occupied cell (chosen at random, seeded) is kept, at most
    ``max_n`` of them: dense regions are thinned, sparse ones kept.
    All indices when ``max_n`` is None or n <= max_n. Returns sorted int indices.
    """
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    n = len(xy)
    if max_n is None or n <= max_n:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    (x0, x1), (y0, y1) = extent
    order = rng.permutation(n)
    k = max(1, int(np.ceil(np.sqrt(max_n))))   # cells per side ...
    while True:
        cx = np.clip(((xy[:, 0] - x0) / (x1 - x0) * k).astype(int), 0, k - 1)
        cy = np.clip(((xy[:, 1] - y0) / (y1 - y0) * k).astype(int), 0, k - 1)
        _, first = np.unique((cy * k + cx)[order], return_index=True)
        if len(first) >= max_n or k >= 256:    # ... finer until enough are occupied
            break
        k = int(np.ceil(k * 1.25))
    keep = order[first]
    if len(keep) > max_n:
        keep = rng.choice(keep, max_n, replace=False)
    return np.sort(keep)


def region_traces(D, plane: Plane, extent, *, n: int = 60, showscale: bool = True,
                  showlegend: bool = True, label: str | None = None) -> list:
    """D underneath a view: a light, smoothed heatmap, plus its D = 0.5 line ("acceptable").

    ``label`` names what D is (e.g. "true D of the simulated listener"): the fill trace is
    called so and its colour bar is titled with it."""
    xs, ys, z = evaluate_d(D, plane, extent, n)
    z = z.astype(np.float32)    # halves the JSON; D needs no more precision
    bar = wrap_words(label, 14) + "<br> " if label else "D"   # an empty line: clear of the "1"
    # a smoothed heatmap, not a filled contour: it reads the same and draws several times
    # faster (six of them open with the report)
    fill = go.Heatmap(x=xs, y=ys, z=z, zmin=0, zmax=1, colorscale=D_COLORSCALE, zsmooth="best",
                      hoverinfo="skip", showscale=showscale, name=label or "D (naturalness)",
                      colorbar=dict(title=dict(text=bar, side="top", font=dict(size=13)),
                                    thickness=14, len=0.6, tickvals=[0, 0.5, 1]))
    line = go.Contour(x=xs, y=ys, z=z, contours=dict(start=0.5, end=0.5, size=1,
                                                     coloring="lines"),
                      line=dict(width=2.5, color=PALETTE["region"]), showscale=False,
                      hoverinfo="skip", name="D = 0.5: edge of the acceptable region",
                      showlegend=showlegend, legendgroup="region",
                      colorscale=[[0, PALETTE["region"]], [1, PALETTE["region"]]])
    return [fill, line]


def points_trace(xy: np.ndarray, *, name: str, color: str, size: float = 9,
                  showlegend: bool = True, open_: bool = False, opacity: float = 1.0,
                  group: str | None = None, **kwargs) -> go.Scatter:
    marker = dict(color=color, size=size, line=dict(width=1, color="white"))
    if open_:
        marker = dict(color=color, size=size, symbol="circle-open", line=dict(width=1.5))
    kwargs.setdefault("hovertemplate", f"{name}<br>(%{{x:.2f}}, %{{y:.2f}})<extra></extra>")
    return go.Scatter(x=xy[:, 0], y=xy[:, 1], mode="markers", name=name, marker=marker,
                      opacity=opacity, showlegend=showlegend, legendgroup=group or name,
                      **kwargs)


def field_on_grid(field_fn: FieldFn, plane: Plane, extent, n_arrows: int):
    """Evaluate a field (m, d) -> (m, d) on a grid of the plane; finite arrows only."""
    _, _, pts = grid(extent, n_arrows)
    vec = np.asarray(field_fn(plane.lift(pts)), dtype=np.float64)
    if vec.shape != (len(pts), plane.d):
        raise ValueError(f"field_fn must map (n, {plane.d}) to (n, {plane.d}), got {vec.shape}")
    vec = vec[:, list(plane.dims)]
    ok = np.all(np.isfinite(vec), axis=1)
    spacing = min(e[1] - e[0] for e in extent) / (n_arrows - 1)
    return pts[ok], vec[ok], spacing


def side_by_side(n: int, titles: Sequence[str], plane: Plane, extent, height: int) -> go.Figure:
    """``n`` maps of the same plane in a row, each with both axis titles (two lines each:
    the panels are narrow) and 1:1 axes."""
    fig = make_subplots(rows=1, cols=n, subplot_titles=list(titles),
                        horizontal_spacing=0.1 if n > 2 else 0.08)
    xt, yt = plane.axis_titles(wrap=True)          # panels are narrow: two-line titles
    for c in range(1, n + 1):
        fig.update_xaxes(range=extent[0], title_text=xt, row=1, col=c, constrain="domain")
        fig.update_yaxes(range=extent[1], title_text=yt, row=1, col=c,
                         scaleanchor=f"x{c if c > 1 else ''}", scaleratio=1,
                         constrain="domain", title_standoff=4)
    # no fixed width: the figure fills the notebook's output area (1:1 axes keep arrows true)
    fig.update_layout(height=height, autosize=True,
                      legend=dict(orientation="h", y=-0.3, x=0, yanchor="top"),
                      margin=dict(b=140))
    return fig


def as_points(x, plane: Plane, name: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != plane.d:
        raise ValueError(f"{name} must have shape (n, {plane.d}), got {x.shape}")
    return x


def gradient_figure(points: np.ndarray, centers: np.ndarray, grad: np.ndarray,
                    grad_reg: np.ndarray, field_fn: FieldFn | None = None, *, D=None,
                    dims: tuple[int, int] = (0, 1), base: np.ndarray | None = None,
                    scale: float | Sequence[float] | None = None, extent=None,
                    n_arrows: int = 17, n_grid: int = 60,
                    titles: Sequence[str] = ("NES estimate of \u2207D",
                                             "regularised \u2207D",
                                             "learned field (score network)"),
                    title: str = "Gradients of naturalness (paper Fig. 4)",
                    source=None, D_label: str | None = None,
                    max_arrows: int | None = MAX_ARROWS, height: int = 540) -> go.Figure:
    """Paper Fig. 4: estimated gradient, regularised gradient and learned field, side by side.

    Parameters
    ----------
    points : ndarray, shape (N, d)        real data, drawn in every panel.
    centers : ndarray, shape (P, d)       rated periphery points (arrow tails, panels 1-2).
    grad, grad_reg : ndarray, shape (P, d)
        NES-estimated gradient of D at ``centers``, and the regularised gradient.
    field_fn : callable (n, d) -> (n, d), optional
        The learned field (e.g. the score network's gradient or score), drawn on an
        ``n_arrows`` x ``n_arrows`` grid in panel 3 (left empty when None).
    D : callable (n, d) -> (n,), or (xs, ys, z) grid, optional
        Naturalness underneath every panel (light fill, D = 0.5 outlined).
    dims, base : see :class:`~hd_widgets.views.plane.Plane` (views of d > 2 spaces).
    scale : float or 3 floats, optional
        Arrow length per unit of vector: one for all panels, or one per panel (default:
        automatic per panel, a round number); each panel's title states its scale.
    extent : ((x0, x1), (y0, y1)), optional   axis ranges (default: fit the data).
    source : str or RatingsSource, optional
        Whose ratings the estimate rests on ("your 13 pages"), printed under the title.
    D_label : str, optional     what the shading is ("true D of the simulated listener").
    max_arrows : int or None
        Draw arrows at no more than this many rated points per panel, evenly spread
        (:func:`thin_evenly`); the subtitle says how many of how many. None draws all.

    Returns
    -------
    plotly.graph_objects.Figure    (not displayed)
    """
    plane = Plane(np.shape(points)[-1], dims, base)
    points, centers = as_points(points, plane, "points"), as_points(centers, plane, "centers")
    grad, grad_reg = as_points(grad, plane, "grad"), as_points(grad_reg, plane, "grad_reg")
    if not len(grad) == len(grad_reg) == len(centers):
        raise ValueError("centers, grad and grad_reg must have the same length P")
    pts, cen = plane.xy(points), plane.xy(centers)
    g1, g2 = grad[:, list(plane.dims)], grad_reg[:, list(plane.dims)]
    extent = extent or extent_of(pts, cen)
    shown = thin_evenly(cen, max_arrows, extent)
    drawn = (f"arrows at {len(shown)} of {len(cen)} rated points, evenly spread"
             if len(shown) < len(cen) else "")
    cen, g1, g2 = cen[shown], g1[shown], g2[shown]
    head_max = 0.04 * min(e[1] - e[0] for e in extent)
    spacing = min(e[1] - e[0] for e in extent) / 12
    fgrid = field_on_grid(field_fn, plane, extent, n_arrows) if field_fn is not None else None
    if scale is None or np.isscalar(scale):
        scales = [scale or auto_scale(g1, spacing), scale or auto_scale(g2, spacing),
                  scale or (auto_scale(fgrid[1], fgrid[2]) if fgrid else 1.0)]
    else:
        scales = [float(s) for s in scale]
    panel_titles = [f"{t}<br><sup>arrow = {s:g} \u00d7 vector</sup>"
                    for t, s in zip(titles, scales)]
    fig = side_by_side(3, panel_titles, plane, extent, height)
    for c in (1, 2, 3):
        first = c == 1
        if D is not None:
            for tr in region_traces(D, plane, extent, n=n_grid, showscale=first,
                                    showlegend=first, label=D_label):
                fig.add_trace(tr, row=1, col=c)
        fig.add_trace(points_trace(pts, name="real data", color=PALETTE["real"],
                                    showlegend=first), row=1, col=c)
        if c < 3:
            vec = g1 if c == 1 else g2
            fig.add_trace(points_trace(
                cen, name="periphery points (rated)", color=PALETTE["periphery"], size=5,
                showlegend=first, customdata=vec,
                hovertemplate="periphery (%{x:.2f}, %{y:.2f})<br>vector (%{customdata[0]:.3f}, "
                              "%{customdata[1]:.3f})<extra></extra>"), row=1, col=c)
            fig.add_trace(quiver_trace(cen, vec, scales[c - 1], name=titles[c - 1],
                                       head_max=head_max, showlegend=False), row=1, col=c)
        elif fgrid is not None:
            fig.add_trace(quiver_trace(fgrid[0], fgrid[1], scales[2], name=titles[2],
                                       head_max=head_max, showlegend=False), row=1, col=c)
    return apply_look(fig, plane.title(title, source_text(source), drawn))


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
        listener's true ``D``; say so with ``D_label``).
    **kwargs : passed to :func:`gradient_figure` (source, D_label, dims, base, scale,
        extent, titles, max_arrows, ...).
    """
    field_fn = (lambda x: net.predict(x)[1]) if net is not None else None
    if D is None and net is not None:
        D = lambda x: net.predict(x)[0]     # noqa: E731 - a one-line view of the D head
        kwargs.setdefault("D_label", "D learned by the network")
    kwargs.setdefault("titles", ("NES estimate of \u2207D", "regularised \u2207D (target)",
                                 "learned \u2207D (network's g head)"))
    return gradient_figure(data, est.points, est.grad, est.target, field_fn, D=D, **kwargs)
