"""One look for every figure: palette, template, axis titles.

Every Plotly view in hd_widgets takes its colours from :data:`PALETTE` (one colour per
kind of data: real, HumanDiffusion, HumanGAN, reference, anchor) and its layout from the
light, large-font template :data:`TEMPLATE`, so a figure reads on a classroom projector and
a colour means the same thing in every figure. Kinds are named as
:mod:`hd_widgets.ratings.kinds` names them (:data:`KIND_NAMES`).
"""
from __future__ import annotations

import math
import re

import numpy as np
import plotly.graph_objects as go

from ..ratings import kinds

__all__ = ["PALETTE", "GROUP_COLORS", "GROUP_SYMBOLS", "KIND_NAMES", "TEMPLATE",
           "D_COLORSCALE", "color_of", "axis_title", "nice_scale", "apply_look", "titled",
           "wrap_words", "translucent", "dark_shade", "sample_colors", "legend_below",
           "legend_rows", "legend_names", "legend_entry_px", "title_px", "axis_title_px",
           "fit_square_plot"]

# Okabe-Ito colours: distinct for colour-blind viewers and on a washed-out projector.
PALETTE: dict[str, str] = {
    "real": "#0072B2",            # blue: real recordings
    "humandiffusion": "#D55E00",  # vermillion: HumanDiffusion samples
    "generated": "#D55E00",       # what an evaluation plan calls HumanDiffusion's clips
    "humangan": "#009E73",        # green: HumanGAN samples
    "reference": "#CC79A7",       # pink: hidden reference
    "anchor": "#7F7F7F",          # grey: low anchor
    "arrow": "#303030",           # gradient / field arrows
    "periphery": "#7F7F7F",       # rated periphery points
    "clicked": "#E69F00",         # the listening map's last click
    "region": "#1B7837",          # outline of the acceptable region (D = 0.5)
}
# Real voices by group: shades of the "real" blue plus a symbol each, so "blue = real"
# still holds while men, women and children stay apart.
GROUP_COLORS: dict[str, str] = {"man": "#004C7A", "woman": "#0072B2", "child": "#56B4E9"}
GROUP_SYMBOLS: dict[str, str] = {"man": "square", "woman": "circle", "child": "diamond"}
_EXTRA = ("#F0E442", "#882255", "#44AA99", "#999933", "#332288")

KIND_NAMES: dict[str, str] = kinds.LABELS

# D in [0, 1] underneath everything: white (rejected) to pale green (accepted), light
# enough that markers and arrows on top stay readable.
D_COLORSCALE = [[0.0, "#FFFFFF"], [0.5, "#E5F5E0"], [1.0, "#A1D99B"]]

TOP_PX = 90             # the template's top margin: room for a title and two note lines
LEFT_PX, RIGHT_PX = 80, 30    # the template's side margins (tick labels, y-axis title)
TEMPLATE = go.layout.Template(layout=go.Layout(
    font=dict(size=16, family="Arial, Helvetica, sans-serif", color="#222222"),
    title=dict(font=dict(size=20), x=0.02, xanchor="left"),
    paper_bgcolor="white", plot_bgcolor="white",
    colorway=[PALETTE[k] for k in ("real", "humandiffusion", "humangan", "reference",
                                   "anchor")] + list(_EXTRA),
    xaxis=dict(showline=True, linecolor="#444444", mirror=True, gridcolor="#E5E5E5",
               zeroline=True, zerolinecolor="#BBBBBB", ticks="outside",
               title=dict(font=dict(size=16))),
    yaxis=dict(showline=True, linecolor="#444444", mirror=True, gridcolor="#E5E5E5",
               zeroline=True, zerolinecolor="#BBBBBB", ticks="outside",
               title=dict(font=dict(size=16))),
    legend=dict(bgcolor="rgba(255,255,255,0.85)", bordercolor="#CCCCCC", borderwidth=1,
                font=dict(size=14)),
    hoverlabel=dict(font=dict(size=15)),
    margin=dict(l=LEFT_PX, r=RIGHT_PX, t=TOP_PX, b=80),
))


def color_of(kind: str, i: int = 0) -> str:
    """The palette colour of a kind (case-insensitive); unknown kinds cycle extra colours."""
    return PALETTE.get(str(kind).lower(), _EXTRA[i % len(_EXTRA)])


def axis_title(k: int, explained: float | None = None, *, wrap: bool = False) -> str:
    """Axis title of principal component ``k`` (0-based), e.g. "PC1 of log spectral envelope
    (normalised)"; with ``explained`` (a fraction) its share of variance is appended;
    ``wrap`` breaks it over two lines (for side-by-side panels)."""
    t = f"PC{k + 1} of log spectral envelope{'<br>' if wrap else ' '}(normalised)"
    return t if explained is None else f"{t}, {explained:.0%} of variance"


def nice_scale(x: float) -> float:
    """The largest of 1, 2, 2.5, 5 x 10^k not above ``x`` (so the scale reads well in a caption)."""
    if not np.isfinite(x) or x <= 0:
        return 1.0
    e = math.floor(math.log10(x))
    for m in (5.0, 2.5, 2.0, 1.0):
        if m * 10 ** e <= x * (1 + 1e-12):
            return m * 10 ** e
    return 10.0 ** e


NOTE_SEP = " \u00b7 "


def titled(title: str, *notes: str | None, stacked: bool = False) -> str:
    """A figure title with its notes on one smaller line under it (Plotly's ``<sup>``),
    joined by " · "; ``stacked``: each note on a line of its own (for a narrow figure), and
    a note made of parts joined by :data:`NOTE_SEP` (the plane's note at d > 2) one line
    per part. Empty notes are left out. Keep each line short: a title is not wrapped, and
    is cut where it is wider than its figure (:func:`title_px` estimates its width)."""
    notes = [n for n in notes if n]
    if stacked:
        return title + "".join(f"<br><sup>{part}</sup>" for n in notes
                               for part in n.split(NOTE_SEP))
    return title + (f"<br><sup>{NOTE_SEP.join(notes)}</sup>" if notes else "")


def wrap_words(text: str, width: int = 14) -> str:
    """``text`` broken at spaces into lines of at most about ``width`` characters
    (joined by ``<br>``), for category labels that must not be cut or tilted."""
    lines: list[str] = []
    for word in str(text).split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "<br>".join(lines)


def translucent(hex_color: str, alpha: float) -> str:
    """"#RRGGBB" -> "rgba(r,g,b,alpha)"."""
    r, g, b = (int(hex_color[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def dark_shade(hex_color: str, f: float = 0.45) -> str:
    """A dark shade of a colour (its outline): "#RRGGBB" scaled toward black."""
    r, g, b = (int(hex_color[i:i + 2], 16) for i in (1, 3, 5))
    return "#{:02X}{:02X}{:02X}".format(*(int(round(c * f)) for c in (r, g, b)))


def sample_colors(names) -> dict[str, str]:
    """The colour of each set of samples: a method's own palette colour when its name
    names it ("your HumanDiffusion" is HumanDiffusion's vermillion), else the extra
    colours in turn (two other sets never share one)."""
    out, extra = {}, 0
    for name in names:
        low = str(name).lower()
        kind = next((k for k in (kinds.HUMANDIFFUSION, kinds.HUMANGAN) if k in low), low)
        if kind in PALETTE:
            out[name] = PALETTE[kind]
        else:
            out[name] = color_of(kind, extra)
            extra += 1
    return out


TITLE_LINE_PX = 26      # height of the title's first line (font 20) ...
NOTE_LINE_PX = 18       # ... and of the <sup> note line under it; Plotly spaces every
                        # further line of a stacked title by the title font's line height
                        # (TITLE_LINE_PX; measured in Chromium: 17, then 26 a line)
LEGEND_ROW_PX = 34      # a row of a horizontal legend
NOTE_PAD_PX = 22        # Plotly stands a title on its first line: the notes hang below it


def _notes_px(title: str) -> tuple[int, int]:
    """(height, hang) in px of a title's note lines: what they add under its first line,
    and how far below the line Plotly stands the title on they reach."""
    n = title.count("<br>")
    if not n:
        return 0, 0
    return NOTE_LINE_PX + TITLE_LINE_PX * (n - 1), NOTE_PAD_PX + TITLE_LINE_PX * (n - 1)


def apply_look(fig: go.Figure, title: str | None = None, **layout) -> go.Figure:
    """The shared template and title; ``layout`` keywords override.

    The title stands on the plot area, above whatever sits between them (the panels'
    own titles, a legend placed on top), and the top margin grows to hold its lines, so
    neither its first line is cut at the figure's edge nor a note under it runs into a
    panel's title. (Anchored to the figure's top instead, Plotly lets a two-line title
    poke out above it.)"""
    fig.update_layout(template=TEMPLATE, title=title, **layout)
    if title and "margin" not in layout:
        notes_h, hang = _notes_px(title)
        head = 14 + TITLE_LINE_PX + notes_h
        panels = [a for a in (fig.layout.annotations or ()) if a.yref == "paper" and
                  (a.y or 0) >= 1]                           # make_subplots' panel titles
        below = max((1 + (a.text or "").count("<br>")) * 20 + 8 for a in panels) if panels else 10
        legend = fig.layout.legend
        if legend.y is not None and legend.y >= 1 and legend.orientation == "h":
            below += 2 * LEGEND_ROW_PX                       # a legend on top (the animation)
        top = max(fig.layout.margin.t or TEMPLATE.layout.margin.t, head + below)
        fig.update_layout(margin=dict(t=top),
                          title=dict(y=1, yref="paper", yanchor="bottom",
                                     pad=dict(b=below + hang)))
    return fig


# A horizontal legend under a plot's x axis, in pixels (the template's fonts: ticks and
# axis title 16 px, legend 14 px; measured in Chromium): from the plot area's bottom edge
# to the bottom of the axis title, the gap kept under it (a row of the legend box is
# LEGEND_ROW_PX, above), and
# what one entry costs besides its text (symbol, gaps) and per character of its text
# (generous, so a legend is never wider than estimated).
AXIS_DEPTH_PX = 64
AXIS_LINE_PX = 20          # each further line of a wrapped axis title
LEGEND_GAP_PX = 14
LEGEND_ENTRY_PX = 46
LEGEND_CHAR_PX = 7.4
# Widths of text, per character (generous, as the legend's): a title's first line (font
# 20), a <sup> note line under it (about 14 px, the legend's size), an axis title (16).
TITLE_CHAR_PX = 10.0
NOTE_CHAR_PX = LEGEND_CHAR_PX
AXIS_CHAR_PX = 7.8


def _chars(text) -> int:
    """Characters a label shows (its tags take no room)."""
    return len(re.sub(r"<[^>]+>", "", str(text)))


def title_px(title: str) -> float:
    """Pixels the widest line of a figure title takes: its first line at the title's font,
    each ``<sup>`` note line under it smaller (:func:`titled`)."""
    first, *notes = str(title).split("<br>")
    return max([TITLE_CHAR_PX * _chars(first)] + [NOTE_CHAR_PX * _chars(n) for n in notes])


def axis_title_px(text: str) -> float:
    """Pixels a one-line axis title takes (:func:`axis_title`)."""
    return AXIS_CHAR_PX * _chars(text)


def legend_entry_px(name: str) -> float:
    """Pixels one entry of a horizontal legend takes: symbol, gaps and its text."""
    return LEGEND_ENTRY_PX + LEGEND_CHAR_PX * _chars(name)


def legend_names(fig) -> list[str]:
    """Names of the traces the legend may list (empty ones too: they fill up later)."""
    out = []
    for tr in fig.data:
        shown = tr.showlegend
        if shown is False or (shown is None and tr.type not in ("scatter", "scattergl")):
            continue
        if tr.name:
            out.append(str(tr.name))
    return out


def legend_rows(names, width: float, *, grouped: bool = True) -> int:
    """Rows a horizontal legend of entries ``names`` takes in ``width`` pixels. Plotly puts
    them in one row when they fit; else, when some trace has a legend group (``grouped``),
    it fills a row left to right and wraps an entry that does not fit, and when none has,
    it sets them in columns as wide as the widest entry."""
    widths = [legend_entry_px(name) for name in names]
    if not grouped and sum(widths) > width:
        widths = [max(widths)] * len(widths)
    rows, used = 0, width
    for w in widths:
        if used + w > width and used > 0:
            rows, used = rows + 1, 0.0
        used += w
    return max(rows, 1)


def legend_below(fig, *, width: float, height: float, top: float, left: float = 80,
                 right: float = 30, names=None, plot_height: float | None = None,
                 axis_lines: int = 1) -> None:
    """Put ``fig``'s legend (horizontal) under its x-axis title, never on it.

    Plotly places a legend in fractions of the plot area, so "y = -0.16" lands wherever
    that is in pixels, and an axis title sits a fixed number of pixels under the axis:
    at some heights they overlap. Here the bottom margin is made to hold the axis (ticks
    and title, :data:`AXIS_DEPTH_PX`), a gap and every row the legend can need (estimated
    from its entries' names, ``names`` or the traces', at ``width``), and the legend's top
    is put just under the axis title in pixels. With ``plot_height`` the figure grows by
    what the legend takes, so the plot area keeps that height; else its height is
    ``height``. ``axis_lines``: the lines of the x-axis title (2 when it is wrapped).
    Sets ``height``, ``margin`` and ``legend`` of the layout.
    """
    names = legend_names(fig) if names is None else list(names)
    grouped = any(tr.legendgroup for tr in fig.data if tr.visible is not False)  # as Plotly
    rows = legend_rows(names, width - left - right, grouped=grouped)
    depth = AXIS_DEPTH_PX + AXIS_LINE_PX * (int(axis_lines) - 1)
    bottom = depth + LEGEND_GAP_PX + rows * LEGEND_ROW_PX + 12
    if plot_height is not None:
        height = max(height, top + plot_height + bottom)
    plot = height - top - bottom
    fig.update_layout(height=height, margin=dict(t=top, b=bottom, l=left, r=right),
                      legend=dict(orientation="h", x=0, xanchor="left", yanchor="top",
                                  y=-(depth + LEGEND_GAP_PX) / plot))


def fit_square_plot(fig, extent, *, height: int, title: str, notes=(), axis_titles,
                    **layout) -> bool:
    """Size a figure of one plot with 1:1 axes to that plot: no white band beside it.

    The plot area is as high as ``height`` leaves after the title and a two-row legend
    (more rows make the figure taller, not the plot smaller) and as wide as one unit
    across being one unit up makes it over ``extent`` ((x0, x1), (y0, y1)); the figure is
    that plot and its margins, wider only where the title (its ``notes`` stacked first,
    :func:`titled`), the x-axis title or a legend entry needs the room. ``axis_titles``:
    (x, y); ``layout`` keywords go to :func:`apply_look`; the legend goes under the x axis
    (:func:`legend_below`). Returns whether the notes were stacked, so a caller that
    retitles the figure later keeps its lines (``titled(..., stacked=...)``).
    """
    side = height - TOP_PX - (AXIS_DEPTH_PX + LEGEND_GAP_PX + 2 * LEGEND_ROW_PX + 12)
    (x0, x1), (y0, y1) = extent
    plot_w = side * (x1 - x0) / (y1 - y0)                    # px: one unit across = one up
    stacked = title_px(titled(title, *notes)) > 0.98 * (LEFT_PX + plot_w + RIGHT_PX)
    text = titled(title, *notes, stacked=stacked)           # the title starts at x = 0.02
    entries = [legend_entry_px(name) for name in legend_names(fig)]
    width = math.ceil(max(LEFT_PX + plot_w + RIGHT_PX, title_px(text) / 0.98,
                          axis_title_px(axis_titles[0]) + LEFT_PX - RIGHT_PX,  # centred
                          LEFT_PX + RIGHT_PX + max(entries, default=0)))
    apply_look(fig, text, **layout)
    legend_below(fig, width=width, height=0, top=fig.layout.margin.t, left=LEFT_PX,
                 right=RIGHT_PX, plot_height=side)
    fig.update_layout(width=width)
    fig.update_xaxes(range=list(extent[0]), title_text=axis_titles[0], constrain="domain")
    fig.update_yaxes(range=list(extent[1]), title_text=axis_titles[1], scaleanchor="x",
                     scaleratio=1, constrain="domain")
    return stacked
