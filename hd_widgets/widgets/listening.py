"""The listening map: click anywhere on the space of voices and hear the vowel there.

A Plotly ``FigureWidget`` of the 2-D feature space (or a slice of a d-dim one). A click
anywhere renders the vowel at that point (``space.render_wav``) into an
``ipywidgets.Audio`` that plays at once; a star marks the point, and the last few points
stay on the map (numbered) and as buttons below it, to hear again.

What it draws and how large (the click-catching heatmap that makes a click anywhere a
point, the drawing order, a figure as wide as its square plot) is
:func:`~hd_widgets.widgets.listening_figure.map_figure`.

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
from plotly.callbacks import InputDeviceState, Points
from traitlets import Float, Int, List, Unicode

from ..views.plane import Plane, extent_of
from ..views.style import GROUP_SYMBOLS
from .lifetime import close_tree
from .listening_figure import FEW_SAMPLES, explained_share, map_figure  # noqa: F401 (moved)

__all__ = ["ListeningMap", "listening_map"]


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
    height : int
        The figure's height in pixels while its title has at most two note lines and its
        legend at most two rows (more add to it, the plot keeps its size). One unit is as
        long across as up, and the figure is as wide as that plot and its margins
        (:func:`~hd_widgets.widgets.listening_figure.map_figure`).
    title : str
        The figure's title.
    source : str, optional
        Whose ratings the samples (and D) rest on ("simulated listener, 487 pages"),
        printed under the title.
    D_label : str, optional
        What ``D`` is ("true D of the simulated listener"), printed under the title
        ("shading: ...").

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
        self.audio: widgets.Audio | None = None
        self.last: dict | None = None

        real = self.plane.xy(np.asarray(space.points, dtype=np.float64))
        sample_sets = ({} if samples is None else
                       dict(samples) if isinstance(samples, dict) else {"samples": samples})
        sample_sets = {str(k): np.asarray(v, dtype=np.float64) for k, v in sample_sets.items()}
        self.extent = extent or extent_of(real, *(self.plane.xy(s) for s in
                                                  sample_sets.values()), minimum=3.0)
        fig, self._points = map_figure(space, self.plane, self.extent, samples=sample_sets, D=D,
                                       D_label=D_label, show_data=self.show_data,
                                       resolution=self.resolution, height=height, title=title,
                                       source=source)
        self._points["history"] = np.zeros((0, d))
        self._points["playing"] = np.zeros((0, d))
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

    def _explained(self, k: int) -> float | None:
        return explained_share(self.space, k)

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
