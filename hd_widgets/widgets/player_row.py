"""Rows of audio players for notebooks: hear a few points of the space side by side.

Uses ``ipywidgets.Audio`` with the space's own WAV bytes. (IPython's ``Audio`` would
normalise every clip's loudness, hiding how bad a far-away clip is.)
"""
from __future__ import annotations

from typing import Sequence

import ipywidgets as W
import numpy as np

from ..speech.space import FeatureSpace

__all__ = ["players"]


def players(space: FeatureSpace, points: np.ndarray, labels: Sequence[str] | None = None) -> W.HBox:
    """One labelled player per point.

    Parameters
    ----------
    space : FeatureSpace
    points : ndarray, shape (n, d)
    labels : n strings, optional (default: the coordinates)
    """
    pts = np.atleast_2d(np.asarray(points, dtype=np.float64))
    labels = list(labels) if labels is not None else [
        "(" + ", ".join(f"{v:.1f}" for v in p) + ")" for p in pts]
    if len(labels) != len(pts):
        raise ValueError(f"{len(pts)} points but {len(labels)} labels")
    cells = [W.VBox([W.HTML(f"<b>{lab}</b>"),
                     W.Audio(value=space.render_wav(p), format="wav", autoplay=False,
                             controls=True, loop=False, layout=W.Layout(width="220px"))])
             for p, lab in zip(pts, labels)]
    return W.HBox(cells, layout=W.Layout(flex_flow="row wrap"))
