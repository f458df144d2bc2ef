"""Ratings of real versus generated clips as violins: the paper's Fig. 6.

Input is either a mapping ``kind -> ratings (n_kind,)`` or columns ``{"kind": (n,),
"value": (n,)}`` (e.g. ``RatingsStore.table(plan)``, or a pandas DataFrame with those
columns). Every kind gets its palette colour, its violin (kernel density, cut at the
smallest and largest rating, since ratings live in [0, 1]), every rating as a jittered
dot, and its mean as a labelled diamond. Category labels are wrapped onto short lines
(never tilted or cut), and ``source`` says whose ratings these are.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from ..ratings import kinds
from .source import source_text
from .style import KIND_NAMES, apply_look, color_of, titled, wrap_words

__all__ = ["ratings_by_kind", "ratings_figure"]

KIND_ORDER = kinds.ORDER


def _alpha(hex_color: str, a: float) -> str:
    """"#RRGGBB" -> "rgba(r,g,b,a)" (a translucent fill keeps the dots on top visible)."""
    r, g, b = (int(hex_color[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{a})"


def ratings_by_kind(ratings) -> dict[str, np.ndarray]:
    """Normalise the accepted inputs to ``{kind: ratings (n_kind,)}``, in display order.

    ``ratings``: a mapping kind -> array, or columns with ``"kind"`` and ``"value"``
    (a dict of arrays or a DataFrame). Known kinds come first in :data:`KIND_ORDER`,
    others follow in order of appearance.
    """
    if hasattr(ratings, "columns") or (isinstance(ratings, Mapping) and "kind" in ratings
                                       and "value" in ratings):
        kind = np.asarray(ratings["kind"]).astype(str)
        value = np.asarray(ratings["value"], dtype=np.float64)
        if kind.shape != value.shape:
            raise ValueError(f"kind and value columns differ in length: {kind.shape} vs "
                             f"{value.shape}")
        out = {k: value[kind == k] for k in dict.fromkeys(kind)}
    else:
        out = {str(k): np.asarray(v, dtype=np.float64).ravel() for k, v in ratings.items()}
    rank = {k: i for i, k in enumerate(KIND_ORDER)}
    keys = sorted(out, key=lambda k: (rank.get(k.lower(), len(rank)), list(out).index(k)))
    return {k: out[k] for k in keys}


def ratings_figure(ratings, *, order: Sequence[str] | None = None,
                   names: Mapping[str, str] | None = None, points: bool = True,
                   title: str = "How natural did the clips sound? (paper Fig. 6)",
                   source=None, height: int = 560) -> go.Figure:
    """Paper Fig. 6: one violin of ratings per kind of clip, with its mean.

    Parameters
    ----------
    ratings : mapping kind -> ndarray (n_kind,), or columns {"kind": (n,), "value": (n,)}
        Ratings in [0, 1]; kinds such as "real", "generated"/"humandiffusion",
        "humangan", "reference", "anchor" get the shared palette colours.
    order : sequence of str, optional     kinds to show, left to right (default: all).
    names : mapping kind -> label, optional   x-axis labels (default :data:`KIND_NAMES`).
    points : bool                          also draw every rating as a jittered dot.
    source : str, optional                 whose ratings ("5 listeners, 60 pages"), under the title.

    Returns
    -------
    plotly.graph_objects.Figure
        One Violin trace per kind (``meta["mean"]`` holds its mean), then one Scatter
        of the means (diamonds); each category label states its mean and count.
    """
    data = ratings_by_kind(ratings)
    kinds = list(order) if order is not None else list(data)
    missing = [k for k in kinds if k not in data]
    if missing:
        raise ValueError(f"no ratings for kinds {missing}; have {list(data)}")
    labels = {k: (names or {}).get(k, KIND_NAMES.get(k.lower(), k)) for k in kinds}
    means = {k: float(np.mean(data[k])) if len(data[k]) else float("nan") for k in kinds}
    # the category label carries the mean, so it reads from the back of a classroom;
    # short lines, so that eight categories side by side are neither tilted nor cut
    cats = {k: f"{wrap_words(labels[k], 12)}<br>mean {means[k]:.2f}<br>n = {len(data[k])}"
            for k in kinds}
    fig = go.Figure()
    for i, k in enumerate(kinds):
        v, c = data[k], color_of(k, i)
        fig.add_trace(go.Violin(
            x=np.full(len(v), cats[k]), y=v, name=labels[k], legendgroup=k,
            line=dict(color=c, width=2), fillcolor=_alpha(c, 0.45), spanmode="hard",
            scalemode="width", width=0.8, points="all" if points else False, pointpos=0,
            jitter=0.35, marker=dict(size=6, color=c, line=dict(width=0.5, color="white")),
            box=dict(visible=False), meanline=dict(visible=False), hoveron="violins+points",
            showlegend=False, meta={"kind": k, "mean": means[k], "n": len(v)},
            hovertemplate=f"{labels[k]}: %{{y:.2f}}<extra></extra>"))
    fig.add_trace(go.Scatter(
        x=[cats[k] for k in kinds], y=[means[k] for k in kinds], mode="markers", name="mean",
        marker=dict(symbol="diamond", size=16, color="white", line=dict(color="black", width=2.5)),
        hovertemplate="mean %{y:.3f}<extra></extra>"))
    fig = apply_look(fig, titled(title, source_text(source)), height=height, showlegend=False,
                     violingap=0.25)
    fig.update_yaxes(title_text="naturalness rating", range=[-0.05, 1.05],
                     tickvals=[0, 0.25, 0.5, 0.75, 1], zeroline=False)
    fig.update_xaxes(title_text="kind of clip", title_standoff=14, showgrid=False, zeroline=False,
                     tickangle=0, automargin=True)
    return fig
