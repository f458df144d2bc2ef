"""Closing a composite widget: every widget it holds, however deep, then itself."""
from __future__ import annotations

import ipywidgets as W

__all__ = ["close_tree"]


def close_tree(widget: W.Widget) -> None:
    """Close the children of ``widget`` (and theirs, depth first), but not ``widget`` itself;
    the caller closes it last, through its own ``close``."""
    stack = list(getattr(widget, "children", ()))
    while stack:
        w = stack.pop()
        stack.extend(getattr(w, "children", ()))
        w.close()
