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
- evaluation and distance statements for a reproduction's table;
- for notebooks, each said of whose ratings it rests on (:func:`rated_spread_claim`:
  refused below ``MIN_RATINGS`` ratings or where the samples lie where nobody was asked;
  :func:`diverged_claim`: no samples, and what would help; :func:`no_ratings_claim`,
  :func:`sample_collapse_claim`, :func:`order_claim`), printed with :func:`stated`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..method.metrics import variance_ratio
from ..ratings import kinds

__all__ = ["Claim", "check_claims", "spread_claim", "sample_spread_claim", "collapse_claim",
           "ran_away_note", "stated", "rated_spread_claim", "diverged_claim", "no_ratings_claim",
           "sample_collapse_claim", "order_claim",
           "FAR_FROM_PH", "COLLAPSED", "RAN_AWAY_LABELS", "MIN_RATINGS"]

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
    text = (f"HumanDiffusion spreads wider than the data: variance ratio {vr:.2f} "
            f"(> 1: {_yes(vr > 1)})")
    ok = bool(np.isfinite(vr) and vr > 1 and escaped == 0)
    if escaped:
        text += f"; but {escaped} particle{'s' if escaped != 1 else ''} left the space"
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
    """One sentence per method whose HumanGAN generator ran away (rows with
    ``ran_away_at_step``).
    """
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


# --------------------------------------------------------------------------- from whose ratings
MIN_RATINGS = 200    # below this no spread is a finding: the benchmarks' smallest budget, where
                     # single seeds already ranged from a good fit to phantom regions
                     # (docs/benchmarks.md)
REACH = 1.5          # a sample farther than this from every rated point and real voice lies
                     # where nobody was asked (rated points sit about sigma_p = 1 from the data)
UNRATED_SHARE = 0.05  # more than this share of the samples out there: the spread is extrapolation


def stated(claim: Claim) -> str:
    """A claim as a notebook prints it: "holds: ..." or "DOES NOT HOLD: ..." in front."""
    mark = {True: "holds", False: "DOES NOT HOLD", None: "note"}[claim.holds]
    return f"[{mark}] {claim.text}"


def _from(whose, ratings: int | None) -> str:
    n = "" if ratings is None else f"{ratings} rating{'s' if ratings != 1 else ''}"
    if whose and n:
        return f"From {whose} ({n}): "
    return f"From {whose or n}: " if (whose or n) else ""


def _unrated_share(samples: np.ndarray, rated: np.ndarray, reach: float) -> float:
    """Share of the samples (n, d) farther than ``reach`` from every point of ``rated`` (m, d)."""
    x = np.asarray(samples, dtype=np.float64)
    r = np.asarray(rated, dtype=np.float64)
    x = x[np.isfinite(x).all(1)]
    if not len(x):
        return 1.0
    far = np.ones(len(x), dtype=bool)
    for s in range(0, len(x), 2048):                     # (2048, m) distances at a time
        block = x[s:s + 2048]
        d2 = ((block[:, None, :] - r[None, :, :]) ** 2).sum(-1).min(1)
        far[s:s + 2048] = d2 > reach ** 2
    return float(far.mean())


def rated_spread_claim(samples: np.ndarray, data: np.ndarray, *, ratings: int, whose=None,
                       rated: np.ndarray | None = None, exact: np.ndarray | None = None,
                       min_ratings: int = MIN_RATINGS, reach: float = REACH,
                       escape: float = 8.0) -> Claim:
    """:func:`sample_spread_claim`, said of whose ratings it rests on, and refused where they
    cannot carry it.

    Parameters
    ----------
    samples : ndarray (n, d)      HumanDiffusion's samples.
    data : ndarray (N, d)         the real voices.
    ratings : int                 how many ratings the score was learned from.
    whose : str, optional         whose they are ("your 13 pages", a ``RatingsSource``).
    rated : ndarray (m, d), optional
        The points that were rated (``est.points``); samples farther than ``reach`` from
        all of them and from every real voice lie where nobody was asked.
    exact : ndarray, optional     exact samples of p_H, where the truth is known.

    The claim does not hold when the samples do not spread wider than the data (or run
    far wider than p_H, or leave the space), when ``ratings < min_ratings``, or when more
    than ``UNRATED_SHARE`` of the samples lie where nobody was asked; the text says which.
    """
    base = sample_spread_claim(samples, data, exact=exact, budget=ratings, escape=escape)
    why = []
    if ratings < min_ratings:
        why.append(f"{ratings} ratings are too few to show it (a spread needs at least "
                   f"{min_ratings}: below that the network's field away from the rated points "
                   f"is its own guess, not anyone's judgement)")
    if rated is not None:
        anchors = np.concatenate([np.asarray(rated, dtype=np.float64)
                                  .reshape(-1, np.shape(data)[1]),
                                  np.asarray(data, dtype=np.float64)])
        share = _unrated_share(samples, anchors, reach)
        if share > UNRATED_SHARE:
            why.append(f"{share:.0%} of the samples lie farther than {reach:g} from every rated "
                       f"point and real voice, where nobody was asked")
    text = _from(whose, ratings) + base.text.rstrip(".")
    if why:
        text += ("; and " if "; but " in text else "; but ") + "; and ".join(why)
    return Claim(text + ".", bool(base.holds and not why))


def diverged_claim(err, *, ratings: int | None = None, whose=None, alpha: float | None = None,
                   lam: float | None = None, far_prior: float | None = None,
                   min_ratings: int = MIN_RATINGS) -> Claim:
    """No samples to judge: Langevin diverged (``err``, a ``LangevinDivergence``). Says what
    would help, whichever applies: more ratings (below ``min_ratings``), the far prior (if
    it was off), the regularisation (if ``lam == 0``), a smaller step (if ``alpha`` is
    large, or nothing else applies)."""
    helps = []
    if ratings is not None and ratings < min_ratings:
        helps.append(f"more ratings ({ratings} is below {min_ratings}: rate more pages, or pool "
                     f"them with others')")
    if not far_prior:
        helps.append("the far prior, ScoreNetConfig.for_estimate(est, far_prior=0.5), which "
                     "fits unrated voices far from the data as unnatural and so pulls "
                     "particles home")
    if lam == 0:
        helps.append("the regularisation, EstimateOptions() (the default: lam = 4 sqrt(2 / d))")
    if alpha is not None and alpha > 0.05 or not helps:
        helps.append("a smaller step (alpha = 0.01 held at every budget the benchmarks measure)"
                     if alpha is None else f"a smaller step than alpha = {alpha:g} (0.01 held at "
                     "every budget the benchmarks measure)")
    step, bad, n = (getattr(err, k, "?") for k in ("step", "n_bad", "n"))
    return Claim(f"{_from(whose, ratings)}no samples to judge: Langevin diverged by step {step} "
                 f"({bad} of {n} particles left the space). What helps: " + "; ".join(helps) + ".",
                 False)


def no_ratings_claim(whose=None) -> Claim:
    """Nothing to conclude: no rated pages yet (``whose``: who was asked for)."""
    return Claim(f"{_from(whose, None)}nothing to conclude yet: no rated pages. Rate some pages "
                 "first (or wait for the class).", False)


def sample_collapse_claim(samples: np.ndarray, data: np.ndarray, *, whose=None,
                          ratings: int | None = None) -> Claim:
    """HumanGAN's samples collapse: variance ratio below ``COLLAPSED``."""
    vr = variance_ratio(samples, data)
    return Claim(f"{_from(whose, ratings)}HumanGAN collapses: variance ratio {vr:.3f} "
                 f"(< {COLLAPSED}: {_yes(vr < COLLAPSED)}).", bool(vr < COLLAPSED))


def order_claim(statement: str, values: dict, *, fmt: str = "{:.2f}") -> Claim:
    """``statement``, checked as: the ``values`` (label -> number) rise in the order given.

    Example: ``order_claim("the noise is what spreads the samples", {"without noise": 1.0,
    "with noise": 1.9})`` holds, and says "without noise 1.00 < with noise 1.90"."""
    nums = [float(v) for v in values.values()]
    ok = all(a < b for a, b in zip(nums, nums[1:]))
    shown = " < ".join(f"{k} {fmt.format(float(v))}" for k, v in values.items())
    return Claim(f"{statement}: {shown}{'' if ok else ' -- not in this order'}.", ok)
