"""The MUSHRA-style listening test (paper Fig. 6): plan, rater screening, results.

Each page (one :class:`~hd_widgets.ratings.plan.Query`) holds several clips in random order,
each rated on its own slider in [0, 1]:

- ``real``: voices of the corpus (re-synthesised through the same path as the rest);
- ``generated``: samples of the method under test (HumanDiffusion, HumanGAN, ...);
- ``reference``: a hidden copy of the reference voice, which is also played openly at
  the top of every page, so an attentive listener rates it near 1;
- ``anchor``: a clip far outside the data (a low anchor), which should be rated low.

Screening follows listening-test practice (ITU-R BS.1534 post-screening, simplified):
a rater who rates the hidden reference below ``reference_min`` on more than
``max_share`` of pages, or the anchor above ``anchor_max`` on more than ``max_share``
of pages, is flagged, and :func:`evaluation_results` leaves flagged raters out by default.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..ratings import kinds
from ..ratings.plan import QueryPlan, evaluation_plan
from ..ratings.store import RatingsStore

__all__ = ["mushra_plan", "anchor_points", "screen_raters", "RaterScreen", "evaluation_results"]

DEFAULT_PER_PAGE = {kinds.REAL: 2, kinds.GENERATED: 2, kinds.REFERENCE: 1, kinds.ANCHOR: 1}


def anchor_points(d: int, n: int = 16, *, radius: float = 6.0,
                  seed: int | np.random.Generator | None = 0) -> np.ndarray:
    """Low anchors: points at ``radius`` (in normalised units) in random directions, (n, d)."""
    rng = np.random.default_rng(seed)
    u = rng.standard_normal((n, d))
    return radius * u / np.linalg.norm(u, axis=1, keepdims=True)


def mushra_plan(real: np.ndarray, generated: dict[str, np.ndarray] | np.ndarray,
                reference: np.ndarray, *, n_pages: int = 8,
                per_page: dict[str, int] | None = None, anchor_radius: float = 6.0,
                seed: int | np.random.Generator | None = 0,
                name: str = "evaluation") -> QueryPlan:
    """Plan a MUSHRA-style test.

    Parameters
    ----------
    real : ndarray, shape (N, d)
        Real voices (the space's points).
    generated : ndarray (n, d), or dict of kind -> ndarray
        Generated samples; a dict tests several methods at once, e.g.
        ``{"humandiffusion": S1, "humangan": S2}`` (each kind gets ``per_page["generated"]``
        clips per page unless ``per_page`` names it).
    reference : ndarray, shape (d,)
        The reference voice, played openly and hidden among the clips.
    """
    rng = np.random.default_rng(seed)
    real = np.atleast_2d(np.asarray(real, dtype=np.float64))
    d = real.shape[1]
    gens = generated if isinstance(generated, dict) else {kinds.GENERATED: generated}
    per = dict(per_page or DEFAULT_PER_PAGE)
    n_gen = per.pop(kinds.GENERATED, 2)
    groups = {kinds.REAL: real,
              kinds.REFERENCE: np.asarray(reference, dtype=np.float64).reshape(1, d),
              kinds.ANCHOR: anchor_points(d, 16, radius=anchor_radius, seed=rng)}
    for kind, pts in gens.items():
        groups[kind] = np.atleast_2d(np.asarray(pts, dtype=np.float64))
        per.setdefault(kind, n_gen)
    per = {k: v for k, v in per.items() if v > 0}
    plan = evaluation_plan(groups, per_page=per, n_pages=n_pages, seed=rng, name=name)
    plan.config["reference"] = groups[kinds.REFERENCE][0].tolist()
    plan.config["anchor_radius"] = float(anchor_radius)
    return plan


@dataclass(frozen=True)
class RaterScreen:
    """Screening outcome for one rater."""

    rater: str
    pages: int
    reference_mean: float
    anchor_mean: float
    flagged: bool
    reason: str

    def __repr__(self) -> str:
        flag = f"FLAGGED ({self.reason})" if self.flagged else "ok"
        return (f"RaterScreen({self.rater!r}: {self.pages} pages, hidden reference "
                f"{self.reference_mean:.2f}, anchor {self.anchor_mean:.2f}, {flag})")


def screen_raters(store: RatingsStore, plan: str, *, reference_min: float = 0.5,
                  anchor_max: float = 0.5, max_share: float = 0.15) -> dict[str, RaterScreen]:
    """Flag raters who rate the hidden reference low or the anchor high too often."""
    t = store.table(plan)
    out = {}
    for rater in store.raters(plan):
        mine = t["rater"] == rater
        ref = t["value"][mine & (t["kind"] == kinds.REFERENCE)]
        anc = t["value"][mine & (t["kind"] == kinds.ANCHOR)]
        reasons = []
        if len(ref) and np.mean(ref < reference_min) > max_share:
            reasons.append(f"hidden reference below {reference_min} on "
                           f"{np.mean(ref < reference_min):.0%} of pages")
        if len(anc) and np.mean(anc > anchor_max) > max_share:
            reasons.append(f"anchor above {anchor_max} on {np.mean(anc > anchor_max):.0%} of pages")
        out[rater] = RaterScreen(rater, int(len(np.unique(t["query"][mine]))),
                                 float(np.mean(ref)) if len(ref) else float("nan"),
                                 float(np.mean(anc)) if len(anc) else float("nan"),
                                 bool(reasons), "; ".join(reasons))
    return out


def evaluation_results(store: RatingsStore, plan: str, *, exclude_flagged: bool = True,
            **screen_kw) -> dict[str, np.ndarray]:
    """Ratings per clip kind (``{"real": (n,), "generated": (m,), ...}``) for violin plots.

    Raters flagged by :func:`screen_raters` are left out unless ``exclude_flagged=False``.
    """
    t = store.table(plan)
    keep = np.ones(len(t["value"]), dtype=bool)
    if exclude_flagged:
        flagged = [r for r, s in screen_raters(store, plan, **screen_kw).items() if s.flagged]
        keep &= ~np.isin(t["rater"], flagged)
    given = list(dict.fromkeys(t["kind"][keep]))
    order = [kinds.REAL] + [k for k in given if k != kinds.REAL and k not in kinds.CONTROLS] + \
        list(kinds.CONTROLS)
    return {str(k): t["value"][keep & (t["kind"] == k)] for k in order if k in given}
