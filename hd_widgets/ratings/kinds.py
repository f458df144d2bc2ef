"""The vocabulary of clip kinds: what each clip on a page is, and how figures name it.

Every :class:`~hd_widgets.ratings.plan.Query` labels its clips with one of these kinds,
the store keeps the label with each rating, and the views, the report and the
evaluation read them back; this module is the one place they are spelled.
"""
from __future__ import annotations

__all__ = ["PLUS", "MINUS", "GRID", "REAL", "GENERATED", "REFERENCE", "ANCHOR",
           "HUMANDIFFUSION", "HUMANGAN", "HUMANGAN_EARLY", "HUMANGAN_COLLAPSED", "PH",
           "CONTROLS", "ORDER", "LABELS", "label"]

# perceptual-gradient pages: the two clips x~ + Delta and x~ - Delta
PLUS, MINUS = "plus", "minus"
# the grid baseline: one clip per page, at a grid node
GRID = "grid"
# evaluation pages (MUSHRA-style)
REAL = "real"                       # a corpus voice, re-synthesised
GENERATED = "generated"             # a sample of the method under test (one method)
REFERENCE = "reference"             # the hidden copy of the reference voice
ANCHOR = "anchor"                   # a clip far outside the data (low anchor)
# generated clips named by the method that made them (an evaluation of several methods)
HUMANDIFFUSION = "humandiffusion"
HUMANGAN = "humangan"
HUMANGAN_EARLY = "humangan_early"
HUMANGAN_COLLAPSED = "humangan_collapsed"
PH = "pH"                           # exact samples of p_H (simulated truth only)

CONTROLS = (REFERENCE, ANCHOR)      # the screening clips, shown last
ORDER = (REAL, PH, HUMANDIFFUSION, GENERATED, HUMANGAN, HUMANGAN_EARLY, HUMANGAN_COLLAPSED,
         REFERENCE, ANCHOR)
LABELS = {REAL: "real", PH: "exact p_H", HUMANDIFFUSION: "HumanDiffusion",
          GENERATED: "generated (HumanDiffusion)", HUMANGAN: "HumanGAN",
          HUMANGAN_EARLY: "HumanGAN early", HUMANGAN_COLLAPSED: "HumanGAN collapsed",
          REFERENCE: "reference", ANCHOR: "anchor", PLUS: "x~ + Delta", MINUS: "x~ - Delta",
          GRID: "grid node"}


def label(kind: str) -> str:
    """How figures and reports name a kind (the kind itself when it has no label)."""
    return LABELS.get(kind, str(kind))
