"""The paper's claims, checked against a run's own numbers: one checker for every caller.

A :class:`Claim` is a sentence that states a conclusion with the numbers behind it, and
whether those numbers support it (``holds``). The reproduction's report lists
:func:`check_claims`; a notebook states its conclusion by printing a claim instead of a
bare True, so a run that does not support it says so:

- :func:`spread_claim`: HumanDiffusion spreads wider than the real data (variance ratio
  > 1) -- and, where the truth is known, about as wide as p_H itself, not far wider (too
  few ratings let the samples run out into regions nobody rated);
- :func:`collapse_claim`: HumanGAN trained on collapses (variance ratio < ``COLLAPSED``),
  unless it ran away instead;
- evaluation and distance statements for a reproduction's table.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..method.metrics import variance_ratio
from ..ratings import kinds

__all__ = ["Claim", "check_claims", "spread_claim", "sample_spread_claim", "collapse_claim",
           "ran_away_note",
           "FAR_FROM_PH", "COLLAPSED", "RAN_AWAY_LABELS"]

FAR_FROM_PH = 1.5    # a variance ratio this many times above or below p_H's is flagged
COLLAPSED = 0.3      # HumanGAN counts as collapsed below this variance ratio
RAN_AWAY_LABELS = {kinds.HUMANGAN_EARLY: "HumanGAN, early-stopped",
                   kinds.HUMANGAN_COLLAPSED: "HumanGAN, trained on"}


@dataclass(frozen=True)
class Claim:
    """A conclusion stated with its numbers; ``holds`` is None where nothing is claimed
    (a plain statement of numbers)."""

    text: str
    holds: bool | None = None

    def __str__(self) -> str:
        return self.text

    def __contains__(self, part: str) -> bool:
        return part in self.text

    def __repr__(self) -> str:
        mark = {True: "holds", False: "DOES NOT HOLD", None: "statement"}[self.holds]
        return f"Claim({mark}: {self.text})"


def _yes(ok: bool) -> str:
    return "yes" if ok else "NO"


def spread_claim(vr: float, *, ph_ratio: float | None = None, budget: int | None = None,
                 escaped: int = 0) -> Claim:
    """HumanDiffusion spreads wider than the data: variance ratio ``vr`` > 1, and within
    ``FAR_FROM_PH`` times p_H's own ratio ``ph_ratio`` where that is known; ``escaped``
    particles that left the space make the claim fail."""
    text = f"HumanDiffusion spreads wider than the data: variance ratio {vr:.2f} (> 1: {_yes(vr > 1)})"
    ok = bool(np.isfinite(vr) and vr > 1 and escaped == 0)
    if escaped:
        text += f"; but {escaped} particles left the space"
    if ph_ratio is not None:
        far = not (ph_ratio / FAR_FROM_PH <= vr <= ph_ratio * FAR_FROM_PH)
        ok = ok and not far
        many = f"{budget} ratings were" if budget is not None else "the ratings were"
        text += f"; exact p_H samples: {ph_ratio:.2f}" + (
            f" -- HumanDiffusion is far from it: {many} too few for the score network to "
            f"shape the region (bench/budget.py and bench/fidelity.py measure the error per budget)"
            if far else "")
    return Claim(text + ".", ok)


def collapse_claim(collapsed_ratio: float, early_ratio: float, hd_ratio: float) -> Claim:
    """HumanGAN trained on collapses (ratio < ``COLLAPSED``); early-stopped it keeps less
    spread than HumanDiffusion."""
    ok = collapsed_ratio < COLLAPSED and early_ratio < hd_ratio
    return Claim(f"HumanGAN collapses when trained on: variance ratio {collapsed_ratio:.3f} "
                 f"(< {COLLAPSED}: {_yes(collapsed_ratio < COLLAPSED)}); early-stopped it keeps "
                 f"{early_ratio:.2f} (below HumanDiffusion's: {_yes(early_ratio < hd_ratio)}).", ok)


def _max_norm(result: dict) -> float:
    """HumanGAN's runaway threshold in this run (its config; 100 by default)."""
    return result.get("engine", {}).get("humangan_early", {}).get("max_norm", 100.0)


def ran_away_note(result: dict) -> list[str]:
    """One sentence per method whose HumanGAN generator ran away (rows with ``ran_away_at_step``)."""
    rows = result["table"]["rows"]
    return [f"{RAN_AWAY_LABELS[k]}: ran away at ascent step {rows[k]['ran_away_at_step']} "
            f"(generated points beyond |x| = {_max_norm(result):g}), so its numbers describe a "
            f"runaway, not a collapse."
            for k in RAN_AWAY_LABELS if "ran_away_at_step" in rows.get(k, {})]


def check_claims(result: dict) -> list[Claim]:
    """The paper's claims, each stated with the numbers of a reproduction and checked.

    When the truth is known (simulated listener), HumanDiffusion's spread is also held
    against p_H's own, so a run with too few ratings does not pass for a success.
    """
    rows, budget = result["table"]["rows"], result["config"]["budget"]
    hd, early, coll, real = (rows[k] for k in (kinds.HUMANDIFFUSION, kinds.HUMANGAN_EARLY,
                                                kinds.HUMANGAN_COLLAPSED, kinds.REAL))
    vr = hd["variance_ratio"]
    out = [spread_claim(vr, ph_ratio=rows.get(kinds.PH, {}).get("variance_ratio"), budget=budget)]
    if "ran_away_at_step" in coll:
        out.append(Claim(
            f"HumanGAN did not collapse, it ran away: at ascent step {coll['ran_away_at_step']} "
            f"its generated points left |x| = {_max_norm(result):g}, because the score network "
            f"fitted on {budget} ratings has no pull back far from the data (HumanDiffusion's "
            f"regularised target supplies one; Langevin stayed: variance ratio {vr:.2f}).", False))
    else:
        out.append(collapse_claim(coll["variance_ratio"], early["variance_ratio"], vr))
    if hd.get("evaluation_mean") is not None and real.get("evaluation_mean") is not None:
        ideal = rows.get(kinds.PH, {}).get("evaluation_mean")
        out.append(Claim(
            f"Generated clips rated nearly as natural as real ones: mean rating "
            f"{hd['evaluation_mean']:.2f} (HumanDiffusion) vs {real['evaluation_mean']:.2f} (real)"
            + (f"; exact p_H samples get {ideal:.2f}." if ideal is not None else "."),
            hd["evaluation_mean"] >= real["evaluation_mean"] - 0.15))
    if hd.get("energy_to_pH") is not None:
        out.append(Claim(
            f"Distance to p_H: HumanDiffusion {hd['energy_to_pH']:.4f}, floor "
            f"{rows['floor']['energy_to_pH']:.4f}, HumanGAN "
            f"{'(ran away) ' if 'ran_away_at_step' in early else ''}{early['energy_to_pH']:.4f}."))
    return out


def sample_spread_claim(samples: np.ndarray, data: np.ndarray, *, exact: np.ndarray | None = None,
                        budget: int | None = None, escape: float = 8.0) -> Claim:
    """:func:`spread_claim` from samples (n, d) and the real data (N, d) themselves (and exact
    samples of p_H, where known): what a notebook prints instead of ``variance_ratio > 1``."""
    x = np.asarray(samples, dtype=np.float64)
    out = ~np.isfinite(x).all(1) | (np.abs(np.nan_to_num(x, nan=np.inf)).max(1) > escape)
    kept = x[~out]
    vr = variance_ratio(kept, data) if len(kept) > 1 else float("nan")
    ph = None if exact is None else variance_ratio(exact, data)
    return spread_claim(vr, ph_ratio=ph, budget=budget, escaped=int(out.sum()))
