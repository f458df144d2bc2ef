"""The listening map: click anywhere on the space of voices and hear the vowel there.

A Plotly ``FigureWidget`` of the 2-D feature space (or a slice of a d-dim one). A click
anywhere renders the vowel at that point (``space.render_wav``) into an
``ipywidgets.Audio`` that plays at once; a star marks the point, and the last few points
stay on the map (numbered) and as buttons below it, to hear again.

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
set of samples that has collapsed onto one spot is one large marker under the voices. The
legend sits below the x-axis title, with the room it needs kept free (:func:`~hd_widgets.views.style.legend_below`).

The map is an ipywidgets ``VBox`` (caption, figure, player, history buttons) whose state
is its traits: ``point`` (the point last played), ``source`` (what was clicked) and
``n_clicks``. :meth:`ListeningMap.click` and :meth:`ListeningMap.click_point` are the
programmatic twins of a click: they build the same public ``plotly.callbacks.Points`` the
FigureWidget builds from the browser's message and hand them to the same handler.

Loudness: the audio is ``ipywidgets.Audio`` with the bytes of ``render_wav``, played as
rendered (the space sets one fixed level); never ``IPython.display.Audio``, which
normalises each clip's loudness and so changes what listeners hear.
"""
from __future__ import annotations

import html

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go
from plotly.callbacks import InputDeviceState, Points
from traitlets import Float, Int, List, Unicode

from ..views.fields import region_traces
from ..views.plane import Plane, extent_of
from ..views.samples import collapsed
from ..views.source import source_text
from ..views.style import (AXIS_DEPTH_PX, GROUP_COLORS, GROUP_SYMBOLS, LEGEND_GAP_PX,
                           LEGEND_ROW_PX, PALETTE, TEMPLATE, axis_title, dark_shade,
                           legend_below, sample_colors)
from .lifetime import close_tree

__all__ = ["ListeningMap", "listening_map"]

FEW_SAMPLES = 30          # a set this small is drawn as large, opaque, outlined markers


class ListeningMap(widgets.VBox):
    """Click anywhere on the space to hear the vowel at that point.

    Parameters
    ----------
    space : FeatureSpace (or any object with ``d``, ``points`` (N, d), ``groups`` (N,),
        ``names`` (N,), ``render_wav(point (d,)) -> bytes`` and optionally ``explained``).
    dims : (int, int)
        The two components shown (0-based), for d > 2.
    base : ndarray, shape (d,), optional
        For d > 2, where the other coordinates are held (default: the origin, the
        average voice). A click at plane coordinates (u, v) plays ``base`` with
        components ``dims`` set to (u, v).
    D : callable (n, d) -> (n,), or (xs, ys, z) grid, optional
        Overlay the acceptable region (light fill, D = 0.5 outlined).
    samples : ndarray (m, d), or dict name -> ndarray (m, d), optional
        Overlay samples (e.g. ``{"HumanDiffusion": S, "HumanGAN": G}``), clickable.
    show_data : bool
        Show the real voices, coloured by group; hover shows each voice's name.
    extent : ((x0, x1), (y0, y1)), optional     view ranges (default: fit the data).
    resolution : float
        Size of a click cell (normalised units); clicks on empty space snap to cell centres.
    history : int
        How many past points (besides the one playing) stay on the map and as buttons.
    source : str, optional
        Whose ratings the samples (and D) rest on ("simulated listener, 487 pages"),
        printed under the title.
    D_label : str, optional
        What ``D`` is ("true D of the simulated listener"), in the legend.

    Attributes
    ----------
    figure : plotly.graph_objects.FigureWidget
    audio : ipywidgets.Audio or None      the player of the last point (a new one per point,
        so the same point clicked twice plays again).
    history : list of ndarray (d,)        points heard, most recent (playing) first.
    last : dict or None                   ``{"point": ndarray (d,), "source": str}`` of the
        last point played.
    widget : ListeningMap                 the map itself (it is the VBox: caption, map, player,
        history buttons); kept for notebooks written when the map held a separate VBox.

    Examples
    --------
    >>> m = ListeningMap(FeatureSpace.default(2), D=listener.D)
    >>> m                                  # displays the map; click to listen
    >>> m.click(1.0, -0.5)                 # a click on empty space, from code
    >>> m.listen([1.0, -0.5])              # what every click ends in: play that point
    >>> m.audio                            # its player (ipywidgets.Audio)
    """

    point = List(Float(), help="The point last played, shape (d,) as a list of floats; "
                 "[] before the first.")
    source = Unicode("", help="What the last point came from: 'map' (a click on empty "
                     "space), 'group:<group>' (a real voice), 'samples:<name>', 'history' "
                     "(a marker or button of a point heard before), 'playing' or 'code'.")
    n_clicks = Int(0, help="Clicks on the figure that played a point, from the browser or "
                   "from click() / click_point().")

    def __init__(self, space, *, dims: tuple[int, int] = (0, 1), base=None, D=None,
                 samples=None, show_data: bool = True, extent=None, resolution: float = 0.05,
                 history: int = 5, height: int = 640,
                 title: str = "Click anywhere to hear the vowel at that point",
                 source=None, D_label: str | None = None):
        self.space = space
        d = int(space.d)
        # d > 2: a slice through base (default the origin); d == 2: the whole plane
        self.plane = Plane(d, dims, None if d == 2 else (np.zeros(d) if base is None else base))
        self.show_data = bool(show_data)
        self.resolution = float(resolution)
        self.history: list[np.ndarray] = []
        self.max_history = max(0, int(history))     # past points kept besides the current one
        self._points: dict[str, np.ndarray] = {}      # trace key -> full points (m, d)
        self.audio: widgets.Audio | None = None
        self.last: dict | None = None

        real = self.plane.xy(np.asarray(space.points, dtype=np.float64))
        sample_sets = ({} if samples is None else
                       dict(samples) if isinstance(samples, dict) else {"samples": samples})
        sample_sets = {str(k): np.asarray(v, dtype=np.float64) for k, v in sample_sets.items()}
        self.extent = extent or extent_of(real, *(self.plane.xy(s) for s in
                                                  sample_sets.values()), minimum=3.0)
        fig = go.FigureWidget()
        fig.add_trace(self._catcher())
        if D is not None:
            fig.add_traces(region_traces(D, self.plane, self.extent, showscale=False,
                                         label=D_label))
        colors = sample_colors(sample_sets)
        spots = {name: collapsed(self.plane.xy(pts), self.extent)
                 for name, pts in sample_sets.items()}
        for name, pts in sample_sets.items():   # a collapsed set: one large marker, under
            if spots[name]:                     # the voices so it hides none of them
                fig.add_trace(self._samples(name, pts, colors[name], one_spot=True))
        if show_data:
            for g in dict.fromkeys(np.asarray(space.groups, dtype=str)):
                fig.add_trace(self._voices(g))
        for name, pts in sample_sets.items():   # on top of the voices, outlined
            if not spots[name]:
                fig.add_trace(self._samples(name, pts, colors[name], one_spot=False))
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
        self._points["history"] = np.zeros((0, d))
        self._points["playing"] = np.zeros((0, d))
        xt, yt = (axis_title(k, self._explained(k)) for k in self.plane.dims)
        fig.update_layout(template=TEMPLATE, width=height + 80,
                          title=self.plane.title(title, source_text(source),
                                                 f"shading: {D_label}" if D_label and D is not None
                                                 else ""), hovermode="closest")
        # the map keeps the plot area it has with a one-row legend; more rows add height
        legend_below(fig, width=height + 80, height=height, top=90,
                     plot_height=height - 90 - (AXIS_DEPTH_PX + LEGEND_GAP_PX
                                                + 2 * LEGEND_ROW_PX + 12))
        fig.update_xaxes(range=self.extent[0], title_text=xt, constrain="domain")
        fig.update_yaxes(range=self.extent[1], title_text=yt, scaleanchor="x", scaleratio=1,
                         constrain="domain")
        for tr in fig.data:
            tr.on_click(self._on_click)
        self.figure = fig

        self._status = widgets.HTML("<i>Nothing played yet: click the map.</i>")
        self._player = widgets.HBox([self._status], layout=widgets.Layout(align_items="center"))
        self._buttons = widgets.HBox([])
        super().__init__([widgets.HTML(self.caption()), fig, self._player, self._buttons])

    @property
    def widget(self) -> "ListeningMap":
        """The map itself (for ``listening_map(space).widget`` in older notebooks)."""
        return self

    # ------------------------------------------------------------------ traces
    def _explained(self, k: int) -> float | None:
        ex = getattr(self.space, "explained", None)
        return float(ex[k]) if ex is not None and k < len(ex) else None

    def _catcher(self) -> go.Heatmap:
        """The invisible heatmap that turns a click on empty space into a point."""
        r = self.resolution
        (x0, x1), (y0, y1) = self.extent
        xs = np.round(r * np.arange(np.ceil(x0 / r), np.floor(x1 / r) + 1), 10)   # (nx,)
        ys = np.round(r * np.arange(np.ceil(y0 / r), np.floor(y1 / r) + 1), 10)   # (ny,)
        a, b = (f"PC{k + 1}" for k in self.plane.dims)
        return go.Heatmap(x=xs, y=ys, z=np.zeros((len(ys), len(xs)), dtype=np.int8),
                          opacity=0, showscale=False, name="click anywhere",
                          meta={"key": "catcher"}, showlegend=False,
                          hovertemplate=f"{a} = %{{x:.2f}}<br>{b} = %{{y:.2f}}<br>"
                                        "click to hear<extra></extra>")

    def _voices(self, group: str) -> go.Scatter:
        sel = np.asarray(self.space.groups, dtype=str) == group
        names = np.asarray(self.space.names, dtype=str)[sel]
        tr = self._markers(f"group:{group}", np.asarray(self.space.points)[sel],
                           name=f"real voices: {group}", color=GROUP_COLORS.get(group,
                                                                                PALETTE["real"]),
                           size=13, symbol=GROUP_SYMBOLS.get(group, "circle"))
        tr.customdata = np.column_stack([names, np.full(len(names), group)])
        tr.hovertemplate = ("<b>%{customdata[0]}</b> (%{customdata[1]})<br>"
                            "(%{x:.2f}, %{y:.2f})<br>click to hear this voice<extra></extra>")
        return tr

    def _samples(self, name: str, pts: np.ndarray, color: str, *, one_spot: bool) -> go.Scatter:
        """A set of samples: a collapsed one as one large black-rimmed marker; a few
        (your takes) as large opaque markers with a thick dark rim, which show even on top
        of a real voice; a cloud as small translucent ones with a thin dark rim, so the
        region stays visible and the legend's dot reads on white."""
        few = len(pts) <= FEW_SAMPLES
        size = 22 if one_spot else 10 if few else 7
        tr = self._markers(f"samples:{name}", pts,
                           name=f"{name}: all {len(pts)} here" if one_spot else name,
                           color=color, size=size)
        tr.marker.opacity = 1.0 if one_spot or few else 0.6
        tr.marker.line = (dict(width=3, color="#111111") if one_spot else
                          dict(width=2 if few else 0.75, color=dark_shade(color)))
        return tr

    def _markers(self, key: str, pts: np.ndarray, *, name: str, color: str, size: float,
                 symbol: str = "circle") -> go.Scatter:
        pts = np.asarray(pts, dtype=np.float64)
        self._points[key] = pts
        xy = self.plane.xy(pts)
        return go.Scatter(x=xy[:, 0], y=xy[:, 1], mode="markers", name=name, meta={"key": key},
                          marker=dict(size=size, color=color, symbol=symbol,
                                      line=dict(width=1.2, color="white")),
                          hovertemplate=f"{html.escape(name)}<br>(%{{x:.2f}}, %{{y:.2f}})"
                                        "<extra></extra>")

    # ------------------------------------------------------------------ events
    def _on_click(self, trace, points, state=None) -> None:
        """A click from the front end (or :meth:`click`): every trace gets the event, only
        the one with points acts."""
        if not points.point_inds:
            return
        key = (trace.meta or {}).get("key")
        try:
            if key == "catcher":
                p = self.listen(self.plane.lift([[points.xs[0], points.ys[0]]])[0], source="map")
            elif key in self._points:
                i = int(points.point_inds[0])
                p = self.listen(self._points[key][i], source=key)
            else:
                return
        except Exception as e:  # a callback's exception would vanish into the browser log
            self._status.value = f"<b style='color:#B00'>Could not play: {html.escape(str(e))}</b>"
            return
        if p is not None:
            self.n_clicks += 1

    def click(self, x: float, y: float) -> np.ndarray | None:
        """Simulate a click on empty space at plane coordinates (x, y); it lands on the
        nearest click cell, as in the browser. Returns the point played, shape (d,), like
        :meth:`listen` (None if nothing played)."""
        catcher = self.figure.data[0]
        j = int(np.abs(np.asarray(catcher.x) - x).argmin())
        i = int(np.abs(np.asarray(catcher.y) - y).argmin())
        return self._click_trace(0, [i, j], float(catcher.x[j]), float(catcher.y[i]))

    def click_point(self, trace: int | str, index: int) -> np.ndarray | None:
        """Simulate a click on marker ``index`` of a trace: its position in ``figure.data``
        or its key (``"group:<group>"``, ``"samples:<name>"``, ``"history"``). Returns
        the point played, shape (d,) (a voice's or sample's own full coordinates)."""
        if isinstance(trace, str):
            keys = [(t.meta or {}).get("key") for t in self.figure.data]
            if trace not in keys:
                raise ValueError(f"no trace with key {trace!r}; keys: {[k for k in keys if k]}")
            trace = keys.index(trace)
        tr = self.figure.data[int(trace)]
        index = int(index)
        if not 0 <= index < len(tr.x):
            raise ValueError(f"trace {trace} has {len(tr.x)} points, no point {index}")
        return self._click_trace(int(trace), index, float(tr.x[index]), float(tr.y[index]))

    def _click_trace(self, t: int, index, x: float, y: float) -> np.ndarray | None:
        """What the FigureWidget does with the browser's click message: one public
        ``plotly.callbacks.Points`` per trace (empty but for the clicked one), each handed
        to the handler registered with ``trace.on_click``."""
        before = self.n_clicks
        state = InputDeviceState(button=0, buttons=1)
        for k, trace in enumerate(self.figure.data):
            hit = k == t
            pts = Points(point_inds=[index] if hit else [], xs=[x] if hit else [],
                         ys=[y] if hit else [], trace_name=trace.name, trace_index=k)
            self._on_click(trace, pts, state)
        return self.last["point"] if self.n_clicks > before else None

    def listen(self, point, *, source: str = "code") -> np.ndarray:
        """Play the vowel at ``point``: the path every click takes.

        Parameters
        ----------
        point : array-like, shape (d,), or (2,) plane coordinates when d > 2
            (the other coordinates then come from ``base``).

        Returns
        -------
        ndarray, shape (d,)
            The point played. Its player, ``self.audio``, is a new ``ipywidgets.Audio``
            (autoplay, controls) whose ``value`` is ``space.render_wav(point)``; it is not
            returned, since a widget left last in a cell would show (and play) twice.
        """
        p = np.asarray(point, dtype=np.float64).ravel()
        if p.shape == (2,) and self.plane.d > 2:
            p = self.plane.lift(p[None])[0]
        if p.shape != (self.plane.d,):
            raise ValueError(f"point must have shape ({self.plane.d},) or (2,), got {p.shape}")
        wav = self.space.render_wav(p)
        old, self.audio = self.audio, widgets.Audio(value=wav, format="wav", autoplay=True,
                                                    controls=True, loop=False)
        self._remember(p)
        u, v = self.plane.xy(p[None])[0]
        a, b = (f"PC{k + 1}" for k in self.plane.dims)
        what = self._describe(source, p)
        self._status.value = (f"<span style='font-size:18px'>\u25B6 <b>{a} = {u:.2f}, "
                              f"{b} = {v:.2f}</b>{what}</span>")
        self._player.children = (self._status, self.audio)
        if old is not None:
            old.close()
        with self.figure.batch_update():
            self.figure.data[-1].x, self.figure.data[-1].y = [u], [v]
            hist = self.plane.xy(np.array(self.history[1:]).reshape(-1, self.plane.d))
            self.figure.data[-2].x, self.figure.data[-2].y = hist[:, 0], hist[:, 1]
            self.figure.data[-2].text = [str(k) for k in range(1, len(hist) + 1)]
        self._points["playing"] = p[None]
        self._points["history"] = np.array(self.history[1:]).reshape(-1, self.plane.d)
        self.last = {"point": p, "source": source}
        with self.hold_trait_notifications():
            self.point, self.source = p.tolist(), source
        return p

    def _describe(self, source: str, p: np.ndarray) -> str:
        if source.startswith("group:"):
            i = int(np.argmin(np.abs(np.asarray(self.space.points) - p).sum(axis=1)))
            name = html.escape(str(self.space.names[i]))
            return f" \u2014 real voice <b>{name}</b> ({source[6:]})"
        if source.startswith("samples:"):
            return f" \u2014 a sample ({html.escape(source[8:])})"
        return ""

    def _remember(self, p: np.ndarray) -> None:
        """Most recent first; the same point again moves to the front."""
        kept = [q for q in self.history if not np.array_equal(q, p)]
        self.history = [p.copy()] + kept[:self.max_history]
        buttons = []
        for k, q in enumerate(self.history[1:], start=1):
            u, v = self.plane.xy(q[None])[0]
            btn = widgets.Button(description=f"{k}: ({u:.2f}, {v:.2f})", icon="play",
                                 tooltip="hear this point again",
                                 layout=widgets.Layout(width="auto"))
            btn.on_click(lambda _b, q=q: self.listen(q, source="history"))
            buttons.append(btn)
        for old in self._buttons.children:
            old.close()
        self._buttons.children = tuple(buttons)

    # ------------------------------------------------------------------ display
    def caption(self) -> str:
        """What the axes are, in words for a classroom."""
        a, b = (f"PC{k + 1}" for k in self.plane.dims)
        ea, eb = (self._explained(k) for k in self.plane.dims)
        share = (f" ({ea:.0%} and {eb:.0%} of how the recorded voices differ)"
                 if ea is not None and eb is not None else "")
        shapes = {"square": "\u25A0", "circle": "\u25CF", "diamond": "\u25C6"}
        groups = dict.fromkeys(np.asarray(self.space.groups, dtype=str))
        legend = ", ".join(f"{shapes.get(GROUP_SYMBOLS.get(g, 'circle'), '')} {g}" for g in groups)
        voices = (f"Markers are real voices ({legend}; hover for names, click to hear one). "
                  f"Far from them the vowel turns buzzy." if self.show_data else "")
        rest = ""
        if self.plane.d > 2:
            rest = (f" The other {self.plane.d - 2} components are held at "
                    f"{np.round(np.delete(self.plane.base, list(self.plane.dims)), 2).tolist()}"
                    f" (a slice); voices are drawn projected.")
        return (f"<div style='font-size:16px;line-height:1.4'><b>Each point is a vowel /a/.</b> "
                f"Across: <b>{a}</b>, up: <b>{b}</b> \u2014 principal components of the log "
                f"spectral envelope (the timbre of the vowel){share}, in units of one "
                f"standard deviation of the real voices.{rest} {voices}</div>")

    def close(self) -> None:
        """Close the map, its figure, player and buttons."""
        close_tree(self)
        super().close()

    def __repr__(self) -> str:
        last = "none" if not self.point else "(" + ", ".join(f"{v:.2f}" for v in self.point) + ")"
        return (f"ListeningMap(d={self.plane.d}, dims={self.plane.dims}, "
                f"resolution={self.resolution}, heard={len(self.history)}, "
                f"n_clicks={self.n_clicks}, last={last} from {self.source or 'nothing'})")


def listening_map(space, **kwargs) -> ListeningMap:
    """Build a :class:`ListeningMap` (display it by leaving it last in a cell)."""
    return ListeningMap(space, **kwargs)
