"""From ratings of perturbation pairs to training targets for the score network.

docs/method.md, items 3-6. For each periphery point x~ with rated pairs
(x~ + Delta_r, x~ - Delta_r):

- NES gradient (antithetic), averaged over every rated pair (and rater):
  grad_D(x~) = 1 / (2 sigma_nes^2 n) sum_r [y(x~ + Delta_r) - y(x~ - Delta_r)] Delta_r
- D(x~) from its ratings, by one of ``d_estimator``:
  ``"mode"`` (the paper's): mode of a Gaussian KDE of the ratings on [0, 1], with
  reflection at both bounds (``scipy.stats.gaussian_kde``; mode by grid then bounded
  Brent search). ``"mean"``: the plain mean -- the paper warns that with the mean its
  training *did not converge* (clipped, skewed ratings drag the mean off D).
  ``"tobit"``: maximum likelihood under a censored normal model (see below).
- Regularised target (paper Eq. 9 as docs/method.md reads it), ``reg="additive"``:
  target = grad_D + lam * w(D) * (x_n - x~) / sigma_p^2, or ``reg="convex"``:
  target = (1 - lam) * grad_D + lam * w(D) * (x_n - x~) / sigma_p^2, with
  w(D) = D (the paper's letter), or w(D) = max(D, eps) * (1 - D)**reg_gate (default).
  Since the network's score is g / max(D, eps), the floor max(D, eps) makes the score
  target gain lam times the denoising score (x_n - x~) / sigma_p^2 even where D ~ 0 --
  exactly where the pull is needed to bring particles home -- and the gate (1 - D)**3
  switches the pull off on the plateau, where it would only squeeze the samples
  towards the data (with the pull everywhere the variance ratio drops from ~2 to ~1.5).

Refinements (docs/method.md), each a named option, the paper's version available:

- ``censored=True``: sliders clip at 0 and 1, which biases both the NES difference and
  D near the bounds. Ratings are modelled as y = clip(y*, 0, 1), y* ~ N(mu, sigma^2)
  (Tobit). D(x~) becomes the censored MLE of mu, and each clipped rating is replaced by
  its expected latent value E[y* | y* <= 0] or E[y* | y* >= 1] before the NES difference
  (one EM step). ``sigma`` is ``noise_sd`` or estimated from the pairs
  (:func:`~hd_widgets.method.censored.estimate_noise_sd`).
- ``reuse=True``: every rating of x~ +- Delta is also a direct observation of D at that
  point; they are returned as ``obs_points`` / ``obs_values`` for the network's D head.
- :func:`~hd_widgets.ratings.budget.plan_for_budget` with ``style="refined"`` spreads a
  budget over more periphery points with one pair each instead of the paper-style five.
- The network side (:mod:`hd_widgets.method.training`): each rated pair is also fitted as what it
  observes, the slope (y+ - y-) / 2 = Delta . grad D (``g_loss="directional"``), and g is
  tied to the gradient of the D head (``consistency``); ``pair_*`` and ``reg`` below
  carry what that needs.

Defaults and why: lam = 4 with the gate kept the particles home at every budget the
fidelity benchmark measures in d = 2 (smaller lam let some escape; lam = 4 ungated squeezes
the samples); in d dimensions lam = 4 sqrt(2 / d) (:func:`default_lam`: the pull grows as
sqrt(d) while the gradient it regularises does not; in d = 5 lam = 4 squeezed the samples,
docs/budget.md); eps = 0.2 caps how much noise in g is amplified where D ~ 0. Without
regularisation (lam = 0) the sampler diverges (see the tests). The benchmarks page gives
the figures.

Partial data is fine: a periphery point with only some pairs rated is estimated from
those, and carries a larger ``grad_se`` / ``D_se`` and a smaller training weight.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterable

import numpy as np

from ..ratings.plan import QueryPlan, nes_arrays
from .censored import estimate_noise_sd, impute_latent, kde_mode, tobit_mean
from .pairs import PairRatings
from .score import score_from_heads

__all__ = ["EstimateOptions", "Estimate", "estimate", "pull", "default_lam", "from_plan",
           "from_plans", "from_store", "from_store_plans"]


@dataclass(frozen=True)
class EstimateOptions:
    """How ratings become targets. ``EstimateOptions()`` is the package default,
    ``EstimateOptions.paper()`` the paper's version.
    """

    lam: float | None = None    # regularisation strength lambda (docs/method.md item 6; paper: 1);
                                # None: default_lam(d) = 4 sqrt(2 / d), 4 in d = 2
    reg: str = "additive"       # "additive" or "convex" mix of NES gradient and pull
    reg_floor: bool = True      # D' = max(D, eps) in the pull (False: D, the paper's letter)
    reg_gate: float = 3.0       # scale the pull by (1 - D)**reg_gate:
                                # pull where D is low (paper: 0)
    eps: float = 0.2            # floor on D in the score g / max(D, eps) (paper preset: 0.05)
    d_estimator: str = "tobit"  # "tobit", "mode" (paper) or "mean" (paper: did not converge)
    censored: bool = True       # Tobit imputation of clipped ratings before NES (paper: False)
    reuse: bool = True          # ratings of x~ +- Delta as direct observations of D (paper: False)
    noise_sd: float | None = None  # rating noise sigma for the Tobit model; None = estimate

    def __post_init__(self) -> None:
        if self.reg not in ("additive", "convex"):
            raise ValueError("reg must be 'additive' or 'convex'")
        if self.d_estimator not in ("tobit", "mode", "mean"):
            raise ValueError("d_estimator must be 'tobit', 'mode' or 'mean'")
        given = ("eps", "reg_gate") + tuple(n for n in ("lam", "noise_sd")
                                            if getattr(self, n) is not None)
        for name in given:
            v = getattr(self, name)
            if not isinstance(v, (int, float, np.integer, np.floating)) or not np.isfinite(v):
                raise ValueError(f"{name} must be a finite number, got {v!r}")
        if self.reg == "convex" and self.lam is None:
            raise ValueError("a convex mix needs lam given, between 0 and 1")
        if self.lam is not None and (self.lam < 0 or (self.reg == "convex" and self.lam > 1)):
            raise ValueError("lam must be >= 0 (and <= 1 for a convex mix)")
        if not 0 < self.eps < 1:
            raise ValueError("eps must be in (0, 1)")
        if self.reg_gate < 0 or (self.noise_sd is not None and self.noise_sd <= 0):
            raise ValueError("reg_gate must be >= 0 and noise_sd > 0")

    @classmethod
    def paper(cls, **changes) -> "EstimateOptions":
        """The paper's version: KDE mode, no censoring, no reuse, pull lam * D * (x_n - x~) /
        sigma_p^2 everywhere (lam = 1, eps = 0.05: the paper's values were not recovered)."""
        base = cls(lam=1.0, eps=0.05, reg_floor=False, reg_gate=0.0, d_estimator="mode",
                   censored=False, reuse=False)
        return replace(base, **changes)

    def with_(self, **changes) -> "EstimateOptions":
        """A copy with some options changed."""
        return replace(self, **changes)

    def for_dim(self, d: int) -> "EstimateOptions":
        """These options with ``lam`` resolved for a d-dimensional space (``lam=None``:
        :func:`default_lam`)."""
        return self if self.lam is not None else replace(self, lam=default_lam(d))


def default_lam(d: int) -> float:
    """The default pull strength in d dimensions: 4 sqrt(2 / d) (docs/method.md,
    "A gated, floored pull").

    The pull's size at a periphery point, lam |x_n - x~| / sigma_p^2, grows as sqrt(d)
    (the point is sigma_p sqrt(d) from its datum), while the gradient of D it
    regularises does not; scaling lam by sqrt(2 / d) keeps their balance where it was
    chosen, in d = 2.
    """
    if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1:
        raise ValueError(f"d must be a whole number >= 1, got {d!r}")
    return 4.0 * float(np.sqrt(2.0 / d))


@dataclass(repr=False)
class Estimate:
    """Training targets at the rated periphery points (P of them) and diagnostics.

    Attributes
    ----------
    points : (P, d)        periphery points x~ with at least one rated pair.
    periphery : (P,)       their indices in the plan.
    anchor : (P, d)        the real datum x_n each was drawn around.
    grad : (P, d)          NES estimate of grad D (after Tobit imputation if ``censored``).
    D : (P,)               estimate of D(x~) in [0, 1].
    target : (P, d)        regularised gradient target for the network's g head.
    score_target : (P, d)  target / max(D, eps): what the learned score should be.
    n_pairs : (P,)         rated pairs (over all raters) behind each point.
    grad_se, D_se : (P,)   standard errors from rating noise (norm of the gradient's).
    weights : (P,)         training weights, proportional to n_pairs, mean 1.
    obs_points : (Q, d)    direct observations of D (``reuse``), else (0, d).
    obs_values : (Q,)      their (latent, if ``censored``) values.
    pair_point : (m,)      for each rated pair, the row of ``points`` it belongs to.
    pair_delta : (m, d)    its perturbation Delta.
    pair_slope : (m,)      (y+ - y-) / 2, an observation of Delta . grad D(x~).
    reg : (P, d)           the regularisation part of ``target`` (target = grad_scale * grad + reg).
    grad_scale : float     1 (additive) or 1 - lam (convex).
    noise_sd : float       rating noise sigma used (given or estimated).
    """

    points: np.ndarray
    periphery: np.ndarray
    anchor: np.ndarray
    grad: np.ndarray
    D: np.ndarray
    target: np.ndarray
    score_target: np.ndarray
    n_pairs: np.ndarray
    grad_se: np.ndarray
    D_se: np.ndarray
    weights: np.ndarray
    obs_points: np.ndarray
    obs_values: np.ndarray
    pair_point: np.ndarray
    pair_delta: np.ndarray
    pair_slope: np.ndarray
    reg: np.ndarray
    grad_scale: float
    noise_sd: float
    sigma_p: float
    sigma_nes: float
    options: EstimateOptions

    @property
    def d(self) -> int:
        return self.points.shape[1]

    def __len__(self) -> int:
        return len(self.points)

    def __repr__(self) -> str:
        o = self.options
        return (f"Estimate(points={len(self)}, d={self.d}, pairs={int(self.n_pairs.sum())}, "
                f"obs={len(self.obs_values)}, D~[{self.D.min():.2f}, {self.D.max():.2f}], "
                f"|grad| median={np.median(np.linalg.norm(self.grad, axis=1)):.3g}, "
                f"noise_sd={self.noise_sd:.3g}, d_estimator={o.d_estimator!r}, "
                f"censored={o.censored}, reuse={o.reuse}, reg={o.reg!r}, lam={o.lam:.3g})")



def pull(D: np.ndarray, pts: np.ndarray, anchor: np.ndarray, sigma_p: float,
          o: EstimateOptions) -> np.ndarray:
    """The regularisation part of the target, lam * w(D) * (x_n - x~) / sigma_p^2.

    Parameters
    ----------
    D : ndarray, shape (P,)              naturalness at the points.
    pts, anchor : ndarray, shape (P, d)  the points x~ and the real datum x_n each is pulled to.
    sigma_p : float                      the plan's periphery scale.
    o : EstimateOptions                  lam, the floor and the gate (module docstring).

    Returns
    -------
    ndarray, shape (P, d)
    """
    o = o.for_dim(np.shape(pts)[-1])
    w = np.maximum(D, o.eps) if o.reg_floor else D
    if o.reg_gate:
        w = w * (1 - D) ** o.reg_gate
    return o.lam * (w[:, None] * (anchor - pts) / sigma_p ** 2)


def estimate(centers: np.ndarray, deltas: np.ndarray, datum: np.ndarray, data: np.ndarray,
             pairs: PairRatings, *, sigma_p: float, sigma_nes: float,
             options: EstimateOptions | None = None) -> Estimate:
    """Targets for the score network from rated perturbation pairs (array level).

    Parameters
    ----------
    centers : ndarray, shape (P, d)      periphery points x~.
    deltas : ndarray, shape (P, R, d)    perturbations Delta.
    datum : ndarray of int, shape (P,)   index of each x~'s real datum in ``data``.
    data : ndarray, shape (N, d)         real data x_n.
    pairs : PairRatings                  the ratings (any subset of pairs, any raters).
    sigma_p, sigma_nes : float           the plan's periphery and perturbation scales.
    options : EstimateOptions, optional  default ``EstimateOptions()``.

    Returns
    -------
    Estimate
        Only periphery points with at least one rated pair appear.
    """
    centers = np.asarray(centers, dtype=np.float64)
    deltas = np.asarray(deltas, dtype=np.float64)
    o = (EstimateOptions() if options is None else options).for_dim(deltas.shape[-1])
    data = np.asarray(data, dtype=np.float64)
    if deltas.ndim != 3 or centers.shape != (deltas.shape[0], deltas.shape[2]) \
            or data.ndim != 2 or data.shape[1] != deltas.shape[2]:
        raise ValueError(f"centers (P, d), deltas (P, R, d) and data (N, d) disagree: "
                         f"{centers.shape}, {deltas.shape}, {data.shape}")
    P, R, d = deltas.shape
    for name, arr in (("data", data), ("centers", centers), ("deltas", deltas)):
        bad = ~np.isfinite(arr).reshape(len(arr), -1).all(axis=1)
        if bad.any():
            raise ValueError(f"{name} has {int(bad.sum())} row(s) with NaN or infinite values "
                             f"(first: row {int(np.flatnonzero(bad)[0])}); the estimate needs "
                             "finite points")
    datum = np.asarray(datum)
    if len(datum) != P or (P and (datum.min() < 0 or datum.max() >= len(data))):
        raise ValueError(f"the plan's periphery points refer to data rows up to "
                         f"{int(datum.max()) if P else 0}, but data has {len(data)} rows: "
                         "pass the data the plan was made from")
    if len(pairs) == 0:
        raise ValueError("no rated pairs to estimate from")
    p, r = pairs.periphery, pairs.pair
    if p.max() >= P or r.max() >= R:
        raise ValueError("pair ratings refer to periphery points or pairs outside the plan")
    used, pi = np.unique(p, return_inverse=True)                     # (P',), (m,)
    n_used = len(used)
    n_pairs = np.bincount(pi, minlength=n_used).astype(np.int64)      # (P',)
    sigma = o.noise_sd if o.noise_sd is not None else estimate_noise_sd(pairs)

    # all 2m ratings, grouped by periphery point: plus first, then minus
    y = np.concatenate([pairs.plus, pairs.minus])                     # (2m,)
    gidx = np.concatenate([pi, pi])                                   # (2m,)
    mu_latent = (tobit_mean(y, gidx, n_used, sigma) if (o.censored or o.d_estimator == "tobit")
                 else None)

    # D(x~)
    if o.d_estimator == "tobit":
        D = np.clip(mu_latent, 0, 1)
    elif o.d_estimator == "mean":
        D = np.bincount(gidx, weights=y, minlength=n_used) / (2 * n_pairs)
    else:
        order = np.argsort(gidx, kind="stable")
        splits = np.split(y[order], np.cumsum(2 * n_pairs)[:-1])
        D = np.array([kde_mode(v) for v in splits])
    D_se = sigma / np.sqrt(2 * n_pairs) * (1.25 if o.d_estimator == "mode" else 1.0)

    # NES gradient on (imputed) ratings
    if o.censored:
        y_lat = impute_latent(y, mu_latent[gidx], sigma)
    else:
        y_lat = y
    m = len(pairs)
    diff = y_lat[:m] - y_lat[m:]                                      # (m,)
    dl = deltas[p, r]                                                 # (m, d)
    grad = np.zeros((n_used, d))
    np.add.at(grad, pi, diff[:, None] * dl)
    grad /= (2 * sigma_nes ** 2 * n_pairs)[:, None]
    sq = np.bincount(pi, weights=(dl ** 2).sum(1), minlength=n_used)  # sum_r |Delta_r|^2
    grad_se = np.sqrt(2 * sigma ** 2 * sq) / (2 * sigma_nes ** 2 * n_pairs)

    # regularised target
    pts = centers[used]
    anchor = data[np.asarray(datum)[used]]
    grad_scale = 1.0 if o.reg == "additive" else 1.0 - o.lam
    reg = pull(D, pts, anchor, sigma_p, o)
    target = grad_scale * grad + reg
    score_target = score_from_heads(D, target, o.eps)

    if o.reuse:
        obs_points = np.concatenate([centers[p] + dl, centers[p] - dl])
        obs_values = y_lat.copy()
    else:
        obs_points, obs_values = np.zeros((0, d)), np.zeros(0)
    weights = n_pairs / n_pairs.mean()
    return Estimate(points=pts, periphery=used, anchor=anchor, grad=grad, D=D, target=target,
                    score_target=score_target, n_pairs=n_pairs, grad_se=grad_se, D_se=D_se,
                    weights=weights, obs_points=obs_points, obs_values=obs_values,
                    pair_point=pi, pair_delta=dl, pair_slope=0.5 * diff, reg=reg,
                    grad_scale=grad_scale, noise_sd=float(sigma), sigma_p=float(sigma_p),
                    sigma_nes=float(sigma_nes), options=o)


def from_plan(plan: QueryPlan, pairs: PairRatings, data: np.ndarray,
              options: EstimateOptions | None = None) -> Estimate:
    """:func:`estimate` for an NES plan (periphery, perturbations and scales from the plan)."""
    n_data = plan.config.get("n_data")
    if n_data is not None and np.ndim(data) == 2 and len(data) != n_data:
        raise ValueError(f"plan {plan.name!r} was made around {n_data} data points, but data "
                         f"has {len(data)} rows: pass the data the plan was made from")
    centers, deltas, datum = nes_arrays(plan)
    return estimate(centers, deltas, datum, data, pairs, sigma_p=plan.config["sigma_p"],
                    sigma_nes=plan.config["sigma_nes"], options=options)


def from_store(store, plan_name: str, data: np.ndarray,
               options: EstimateOptions | None = None, *,
               raters: Iterable[str] | str | None = None) -> Estimate:
    """:func:`estimate` from a ratings store: ``store.plan(name)`` and ``store.table(name)``.

    Every active rating of every rater is used, or only those of ``raters`` (one name or
    several); pairs of the same query by different raters count as separate pairs.
    A ValueError says so when the chosen raters have rated no pair yet.
    """
    plan = store.plan(plan_name)
    pairs = PairRatings.from_table(plan, store.table(plan_name), raters=raters)
    if len(pairs) == 0:
        who = "anyone" if raters is None else repr(raters)
        raise ValueError(f"no rated pairs by {who} in plan {plan_name!r} yet: "
                         "rate some pages first")
    return from_plan(plan, pairs, data, options)


def from_plans(plans: list[QueryPlan], pairs: list[PairRatings], data: np.ndarray,
               options: EstimateOptions | None = None) -> Estimate:
    """One :func:`estimate` over several NES plans (the rounds of a study), merged.

    Each plan's periphery points keep their own datum (their pull anchor); ``pairs[j]``
    are the ratings of ``plans[j]``. The plans must share the number of pairs per point
    and the scales sigma_p and sigma_nes.
    """
    if not plans or len(plans) != len(pairs):
        raise ValueError("give one PairRatings per plan, and at least one plan")
    arrays = [nes_arrays(p) for p in plans]
    scales = {(p.config["sigma_p"], p.config["sigma_nes"], a[1].shape[1])
              for p, a in zip(plans, arrays)}
    if len(scales) != 1:
        raise ValueError(f"plans differ in (sigma_p, sigma_nes, pairs per point): {sorted(scales)}")
    sigma_p, sigma_nes, _ = scales.pop()
    offsets = np.cumsum([0] + [len(a[0]) for a in arrays])
    merged = [pr for pr in pairs if len(pr)]
    if not merged:
        raise ValueError("no rated pairs in any of the plans yet: rate some pages first")
    all_pairs = PairRatings(
        np.concatenate([pr.periphery + off for pr, off in zip(pairs, offsets) if len(pr)]),
        np.concatenate([pr.pair for pr in merged]), np.concatenate([pr.plus for pr in merged]),
        np.concatenate([pr.minus for pr in merged]), np.concatenate([pr.rater for pr in merged]))
    return estimate(np.concatenate([a[0] for a in arrays]), np.concatenate([a[1] for a in arrays]),
                    np.concatenate([a[2] for a in arrays]), data, all_pairs, sigma_p=sigma_p,
                    sigma_nes=sigma_nes, options=options)


def from_store_plans(store, plan_names: list[str], data: np.ndarray,
                     options: EstimateOptions | None = None, *,
                     raters: Iterable[str] | str | None = None,
                     max_rating_id: int | None = None) -> Estimate:
    """:func:`from_plans` from a ratings store: the active ratings of several plans, of
    ``raters`` only if given, and of ids up to ``max_rating_id`` only if given (so a fit
    recorded in a plan's lineage can be made again exactly from the store alone)."""
    plans, pairs = [], []
    for name in plan_names:
        plan = store.plan(name)
        table = store.table(name)
        if max_rating_id is not None:
            keep = table["id"] <= max_rating_id
            table = {k: v[keep] for k, v in table.items()}
        plans.append(plan)
        pairs.append(PairRatings.from_table(plan, table, raters=raters))
    return from_plans(plans, pairs, data, options)
