"""Langevin in motion: recorded particle trajectories as a Plotly animation.

Input is a recorded trajectory ``traj`` of shape (T, n, d): T recorded states (the start
included) of n particles in the d-dim space, e.g. what a Langevin sampler records every
few steps. The figure has a step slider and play/pause buttons; particles move as a
cloud, and optionally a handful of them leave trails (the "follow" mode).

Staying light (a 1,000-particle x 200-step trajectory must build in well under 2 s and
stay under 5 MB of JSON): at most ``max_frames`` frames are kept (evenly spaced recorded
states, first and last always included); coordinates are rounded to ``decimals`` places
and stored as float32, which Plotly serialises as base64 typed arrays (about 5.3 bytes
per number); frames carry only the moving traces' x and y.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import plotly.graph_objects as go

from .fields import field_on_grid, auto_scale, quiver_trace
from .plane import FieldFn, Plane, evaluate_d, extent_of
from .source import source_text
from .style import PALETTE, apply_look

__all__ = ["langevin_animation", "frame_indices", "isoline_xy"]


def isoline_xy(xs: np.ndarray, ys: np.ndarray, z: np.ndarray,
               level: float) -> tuple[np.ndarray, np.ndarray]:
    """Where ``z`` (ny, nx) over the grid ``xs`` (nx,), ``ys`` (ny,) crosses ``level``:
    line segments by marching squares, as x, y of shape (3 m,) (start, end, NaN per segment).

    Why hand-rolled: the animation cannot show D with a Contour trace (with redraw=False,
    plotly.js drops every non-scatter layer on "play": plotly.js #4491, plotly.py #2151),
    and no contouring library is a dependency; a few lines of NumPy draw D's level lines
    as an ordinary Scatter trace, which animations leave alone.
    """
    z = np.asarray(z, dtype=np.float64)
    x0, x1 = xs[:-1][None, :], xs[1:][None, :]                       # (1, nx-1)
    y0, y1 = ys[:-1][:, None], ys[1:][:, None]                       # (ny-1, 1)
    c00, c10, c01, c11 = z[:-1, :-1], z[:-1, 1:], z[1:, :-1], z[1:, 1:]  # corners (ny-1, nx-1)
    shape = c00.shape

    def cross(a, b, pa, pb):                                         # edge a->b, its points
        with np.errstate(divide="ignore", invalid="ignore"):       # flat edges: not crossed
            t = (level - a) / (b - a)
            pts = [np.broadcast_to(pa[k] + t * (pb[k] - pa[k]), shape) for k in (0, 1)]
        return (a >= level) != (b >= level), pts

    edges = [cross(c00, c10, (x0, y0), (x1, y0)),                    # 0 bottom
             cross(c10, c11, (x1, y0), (x1, y1)),                    # 1 right
             cross(c01, c11, (x0, y1), (x1, y1)),                    # 2 top
             cross(c00, c01, (x0, y0), (x0, y1))]                    # 3 left
    hit = np.stack([e[0] for e in edges], axis=-1)                   # (ny-1, nx-1, 4)
    pts = np.stack([np.stack(e[1], axis=-1) for e in edges], axis=-2)  # (ny-1, nx-1, 4, 2)
    n_hit = hit.sum(axis=-1)
    segs = []
    two = n_hit == 2
    order = np.argsort(~hit[two], axis=-1, kind="stable")[:, :2]     # the two crossed edges
    p = pts[two]
    segs.append(np.stack([p[np.arange(len(p)), order[:, 0]],
                          p[np.arange(len(p)), order[:, 1]]], axis=1))
    four = n_hit == 4                                                # saddle: cut around the
    p = pts[four]                                                    # corners unlike the centre
    same = (c00[four] >= level) == ((c00 + c10 + c01 + c11)[four] / 4 >= level)
    pairs = np.where(same[:, None, None], [[0, 1], [2, 3]], [[0, 3], [1, 2]])   # (k, 2, 2)
    for j in (0, 1):
        segs.append(np.stack([p[np.arange(len(p)), pairs[:, j, 0]],
                              p[np.arange(len(p)), pairs[:, j, 1]]], axis=1))
    seg = np.concatenate(segs)                                       # (m, 2, 2)
    gap = np.full((len(seg), 1, 2), np.nan)
    out = np.concatenate([seg, gap], axis=1).reshape(-1, 2)
    return out[:, 0], out[:, 1]


def frame_indices(T: int, max_frames: int | None) -> np.ndarray:
    """Which recorded states become frames: all, or ``max_frames`` evenly spaced
    (the first and the last always kept)."""
    if max_frames is None or T <= max_frames:
        return np.arange(T)
    if max_frames < 2:
        raise ValueError("max_frames must be at least 2")
    return np.unique(np.linspace(0, T - 1, max_frames).round().astype(int))


def _trail_xy(xy: np.ndarray, upto: int) -> tuple[np.ndarray, np.ndarray]:
    """Paths of the followed particles over frames 0..upto, NaN-separated: xy is (F, k, 2)."""
    seg = xy[:upto + 1].transpose(1, 0, 2)                               # (k, upto+1, 2)
    gap = np.full((seg.shape[0], 1, 2), np.nan, dtype=seg.dtype)
    path = np.concatenate([seg, gap], axis=1).reshape(-1, 2)
    return path[:, 0], path[:, 1]


def langevin_animation(traj: np.ndarray, *, points: np.ndarray | None = None, D=None,
                       field_fn: FieldFn | None = None, steps: Sequence[int] | None = None,
                       follow: int | Sequence[int] = 0, cloud: bool = True,
                       max_frames: int | None = 100, decimals: int = 3,
                       dims: tuple[int, int] = (0, 1), base: np.ndarray | None = None,
                       extent=None, frame_ms: int = 80, color: str = PALETTE["humandiffusion"],
                       name: str = "HumanDiffusion particles",
                       title: str = "Langevin dynamics: particles follow the learned score",
                       source=None, D_label: str | None = None,
                       height: int = 800) -> go.Figure:
    """Animate recorded Langevin trajectories, with a step slider and play/pause.

    Parameters
    ----------
    traj : ndarray, shape (T, n, d), or a LangevinResult
        T recorded states of n particles (a ``LangevinResult`` gives its ``trajectory``
        and ``steps``).
    points : ndarray, shape (N, d), optional     real data, drawn underneath.
    D : callable (m, d) -> (m,), or (xs, ys, z) grid, optional   acceptable region underneath.
    field_fn : callable (m, d) -> (m, d), optional   the score field, as faint arrows.
    steps : sequence of int, shape (T,), optional
        The sampler step of each recorded state, shown on the slider (default 0..T-1).
    follow : int or sequence of int
        Follow mode: draw this many particles (evenly spaced indices), or these particle
        indices, as growing trails with a head marker.
    cloud : bool
        Draw all n particles as a moving cloud (turn off to see only the followed ones).
    max_frames : int or None
        Keep at most this many frames (None: every recorded state).
    decimals : int
        Coordinates are rounded to this many places (and stored as float32).
    dims, base, extent : the shown plane and ranges, as in the other views.
    source : str, optional     whose ratings the score was learned from, under the title.
    D_label : str, optional    what D is ("true D of the simulated listener"), in the legend.

    Returns
    -------
    plotly.graph_objects.Figure
        Static traces first (D, field, real data), then the moving ones (cloud, trails,
        heads); ``fig.frames[f].traces`` lists the moving trace indices
        (``layout.meta["moving"]``), ``fig.frames[f].name`` is the step. ``layout.meta``
        also records ``frame_steps``, ``decimals`` and ``followed``.
    """
    if hasattr(traj, "trajectory"):                 # a LangevinResult: its recorded path
        if traj.trajectory is None:
            raise ValueError("this Langevin run recorded no trajectory: run it with "
                             "record_every > 0")
        steps = traj.steps if steps is None else steps
        traj = traj.trajectory
    traj = np.asarray(traj, dtype=np.float64)
    if traj.ndim != 3:
        raise ValueError(f"traj must have shape (T, n, d), got {traj.shape}")
    T, n, d = traj.shape
    plane = Plane(d, dims, base)
    steps = np.arange(T) if steps is None else np.asarray(steps, dtype=int)
    if steps.shape != (T,):
        raise ValueError(f"steps must have shape ({T},), got {steps.shape}")
    idx = frame_indices(T, max_frames)
    xy = np.round(traj[idx][..., list(plane.dims)], decimals).astype(np.float32)   # (F, n, 2)
    followed = (np.unique(np.linspace(0, n - 1, follow).round().astype(int))
                if np.isscalar(follow) else np.asarray(follow, dtype=int))
    if followed.size and (followed.min() < 0 or followed.max() >= n):
        raise ValueError(f"follow indices must lie in 0..{n - 1}")
    real = plane.xy(np.asarray(points, dtype=np.float64)) if points is not None else None
    extent = extent or extent_of(real, xy[0], xy[-1])

    fig = go.Figure()
    if D is not None:
        xs, ys, z = evaluate_d(D, plane, extent, 80)
        for levels, width, label in (((0.25, 0.75), 1.2, "D = 0.25, 0.75"),
                                     ((0.5,), 2.5, "D = 0.5: edge of the acceptable region")):
            seg = [isoline_xy(xs, ys, z, lv) for lv in levels]
            fig.add_trace(go.Scatter(x=np.concatenate([a for a, _ in seg]),
                                     y=np.concatenate([b for _, b in seg]), mode="lines",
                                     name=label, hoverinfo="skip",
                                     line=dict(color=PALETTE["region"], width=width)))
    if field_fn is not None:
        pts, vec, spacing = field_on_grid(field_fn, plane, extent, 17)
        fig.add_trace(quiver_trace(pts, vec, auto_scale(vec, spacing), name="score field",
                                   color="#A0A0A0", width=1.2,
                                   head_max=0.04 * min(e[1] - e[0] for e in extent)))
    if real is not None:
        fig.add_trace(go.Scatter(x=real[:, 0], y=real[:, 1], mode="markers", name="real data",
                                 marker=dict(color=PALETTE["real"], size=9,
                                             line=dict(width=1, color="white")),
                                 hoverinfo="skip"))
    moving = []

    def frame_data(f: int) -> list[dict]:
        out = []
        if cloud:
            out.append(dict(type="scatter", x=xy[f, :, 0], y=xy[f, :, 1]))
        if followed.size:
            tx, ty = _trail_xy(xy[:, followed], f)
            out.append(dict(type="scatter", x=tx, y=ty))
            out.append(dict(type="scatter", x=xy[f, followed, 0], y=xy[f, followed, 1]))
        return out

    first = frame_data(0)
    if cloud:
        moving.append(len(fig.data))
        fig.add_trace(go.Scatter(first[0], mode="markers", name=f"{name} ({n})",
                                 marker=dict(color=color, size=5, opacity=0.6),
                                 hoverinfo="skip"))
    if followed.size:
        moving += [len(fig.data), len(fig.data) + 1]
        fig.add_trace(go.Scatter(first[-2], mode="lines", name=f"{len(followed)} followed",
                                 line=dict(color="#222222", width=2), hoverinfo="skip"))
        fig.add_trace(go.Scatter(first[-1], mode="markers", showlegend=False,
                                 name=f"{len(followed)} followed: where they are now",
                                 marker=dict(color=color, size=11,
                                             line=dict(width=2, color="#222222")),
                                 hoverinfo="skip"))

    names = [str(int(steps[i])) for i in idx]
    fig.frames = [go.Frame(name=names[f], data=frame_data(f), traces=moving)
                  for f in range(len(idx))]
    fig.update_layout(
        height=height, width=height + 60,
        meta=dict(frame_steps=[int(steps[i]) for i in idx], moving=moving,
                                                    decimals=decimals,
                                                    followed=followed.tolist()),
        # legend right of the square plot (where 1:1 axes leave room), controls below it:
        # nothing overlaps the axes or the title
        legend=dict(orientation="v", y=1, x=1.02, yanchor="top", xanchor="left"),
        margin=dict(t=110, b=180, r=30),
        updatemenus=[dict(type="buttons", direction="left", x=0, y=-0.22, xanchor="left",
                          yanchor="top", pad=dict(t=0, r=10), showactive=False, buttons=[
            dict(label="\u25B6 play", method="animate",
                 args=[None, dict(frame=dict(duration=frame_ms, redraw=False),
                                  transition=dict(duration=0), fromcurrent=True,
                                  mode="immediate")]),
            dict(label="|| pause", method="animate",
                 args=[[None], dict(frame=dict(duration=0, redraw=False),
                                    transition=dict(duration=0), mode="immediate")])])],
        sliders=[dict(active=0, x=0.3, len=0.7, y=-0.17, yanchor="top",
                      currentvalue=dict(prefix="Langevin step ",
                                        font=dict(size=16, color="#222222")),
                      # up to 100 step labels would overlap: hide them, the current value says it
                      font=dict(color="rgba(0,0,0,0)"), ticklen=3, minorticklen=0,
                      pad=dict(t=0), steps=[
            dict(label=s, method="animate",
                 args=[[s], dict(mode="immediate", frame=dict(duration=0, redraw=False),
                                 transition=dict(duration=0))]) for s in names])])
    xt, yt = plane.axis_titles()
    fig.update_xaxes(range=extent[0], title_text=xt, constrain="domain")
    fig.update_yaxes(range=extent[1], title_text=yt, scaleanchor="x", scaleratio=1,
                     constrain="domain")
    lines = f"lines: {D_label}" if D_label and D is not None else ""
    return apply_look(fig, plane.title(title, source_text(source), lines))
