"""From ratings of perturbation pairs to training targets for the score network.

DESIGN.md section 3, items 3-6. For each periphery point x~ with rated pairs
(x~ + Delta_r, x~ - Delta_r):

- NES gradient (antithetic), averaged over every rated pair (and rater):
  grad_D(x~) = 1 / (2 sigma_nes^2 n) sum_r [y(x~ + Delta_r) - y(x~ - Delta_r)] Delta_r
- D(x~) from its ratings, by one of ``d_estimator``:
  ``"mode"`` (the paper's): mode of a Gaussian KDE of the ratings on [0, 1], with
  reflection at both bounds (``scipy.stats.gaussian_kde``; mode by grid then bounded
  Brent search). ``"mean"``: the plain mean -- the paper warns that with the mean its
  training *did not converge* (clipped, skewed ratings drag the mean off D).
  ``"tobit"``: maximum likelihood under a censored normal model (see below).
- Regularised target (paper Eq. 9 as DESIGN.md reads it), ``reg="additive"``:
  target = grad_D + lam * w(D) * (x_n - x~) / sigma_p^2, or ``reg="convex"``:
  target = (1 - lam) * grad_D + lam * w(D) * (x_n - x~) / sigma_p^2, with
  w(D) = D (the paper's letter), or w(D) = max(D, eps) * (1 - D)**reg_gate (default).
  Since the network's score is g / max(D, eps), the floor max(D, eps) makes the score
  target gain lam times the denoising score (x_n - x~) / sigma_p^2 even where D ~ 0 --
  exactly where the pull is needed to bring particles home -- and the gate (1 - D)**3
  switches the pull off on the plateau, where it would only squeeze the samples
  towards the data (with the pull everywhere the variance ratio drops from ~2 to ~1.5).

Refinements (DESIGN.md section 8), each a named option, the paper's version available:

- ``censored=True``: sliders clip at 0 and 1, which biases both the NES difference and
  D near the bounds. Ratings are modelled as y = clip(y*, 0, 1), y* ~ N(mu, sigma^2)
  (Tobit). D(x~) becomes the censored MLE of mu, and each clipped rating is replaced by
  its expected latent value E[y* | y* <= 0] or E[y* | y* >= 1] before the NES difference
  (one EM step). ``sigma`` is ``noise_sd`` or estimated from the pairs
  (:func:`estimate_noise_sd`).
- ``reuse=True``: every rating of x~ +- Delta is also a direct observation of D at that
  point; they are returned as ``obs_points`` / ``obs_values`` for the network's D head.
- :func:`plan_for_budget` with ``style="refined"`` spreads a budget over more periphery
  points with one pair each instead of the paper-style five.
- The network side (``hd_widgets.network``): each rated pair is also fitted as what it
  observes, the slope (y+ - y-) / 2 = Delta . grad D (``g_loss="directional"``), and g is
  tied to the gradient of the D head (``consistency``); ``pair_*`` and ``reg`` below
  carry what that needs.

Defaults and why (measured with ``bench/fidelity.py``, SimulatedListener, 3 seeds):
lam = 4 with the gate kept every particle home in d = 2 at 200-5000 ratings (lam = 1-2
let a few escape; lam = 4 ungated squeezes the samples); in d = 5 a few particles in
10^4 still escape at 200-1000 ratings, where 100-500 periphery points cannot cover the
space. eps = 0.2 caps how much noise in g is amplified where D ~ 0. Without
regularisation (lam = 0) the sampler diverges (see the tests).

Partial data is fine: a periphery point with only some pairs rated is estimated from
those, and carries a larger ``grad_se`` / ``D_se`` and a smaller training weight.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_ndtr
from scipy.stats import gaussian_kde

from .plan import QueryPlan, nes_arrays, nes_plan

__all__ = ["EstimateOptions", "PairRatings", "Estimate", "estimate", "from_plan", "from_store",
           "plan_for_budget", "estimate_noise_sd", "kde_mode", "tobit_mean"]

_LOG_SQRT_2PI = 0.5 * np.log(2 * np.pi)


@dataclass(frozen=True)
class EstimateOptions:
    """How ratings become targets. ``EstimateOptions()`` is the package default,
    ``EstimateOptions.paper()`` the paper's version.
    """

    lam: float = 4.0            # regularisation strength lambda (DESIGN item 6; paper preset: 1)
    reg: str = "additive"       # "additive" or "convex" mix of NES gradient and pull
    reg_floor: bool = True      # D' = max(D, eps) in the pull (False: D, the paper's letter)
    reg_gate: float = 3.0       # scale the pull by (1 - D)**reg_gate: pull where D is low (paper: 0)
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
        if self.lam < 0 or (self.reg == "convex" and self.lam > 1):
            raise ValueError("lam must be >= 0 (and <= 1 for a convex mix)")
        if not 0 < self.eps < 1:
            raise ValueError("eps must be in (0, 1)")

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


@dataclass(frozen=True)
class PairRatings:
    """Ratings of perturbation pairs, one row per answered pair per rater.

    Attributes (all shape (m,))
    ---------------------------
    periphery, pair : int     which x~ and which Delta (indices into ``nes_arrays``).
    plus, minus : float       ratings of x~ + Delta and x~ - Delta, in [0, 1].
    rater : str
    """

    periphery: np.ndarray
    pair: np.ndarray
    plus: np.ndarray
    minus: np.ndarray
    rater: np.ndarray = field(default=None)

    def __post_init__(self) -> None:
        m = len(np.atleast_1d(self.periphery))
        sizes = {name: np.size(getattr(self, name)) for name in ("periphery", "pair", "plus", "minus")}
        if self.rater is not None:
            sizes["rater"] = np.size(self.rater)
        if set(sizes.values()) != {m}:
            raise ValueError(f"periphery, pair, plus, minus (and rater) must have one entry per "
                             f"rated pair; got lengths {sizes}")
        for name in ("periphery", "pair"):
            object.__setattr__(self, name, np.asarray(getattr(self, name), dtype=np.int64).reshape(m))
        for name in ("plus", "minus"):
            v = np.asarray(getattr(self, name), dtype=np.float64).reshape(m)
            if np.any(~np.isfinite(v)) or np.any((v < 0) | (v > 1)):
                raise ValueError(f"{name} ratings must be finite and in [0, 1]")
            object.__setattr__(self, name, v)
        rater = np.full(m, "r0") if self.rater is None else np.asarray(self.rater, dtype=str).reshape(m)
        object.__setattr__(self, "rater", rater)

    def __len__(self) -> int:
        return len(self.periphery)

    @classmethod
    def from_table(cls, plan: QueryPlan, table: dict[str, np.ndarray]) -> "PairRatings":
        """Pair up a store table (columns query, clip, kind, value, rater) of an NES plan."""
        q, kind, val, rater = (np.asarray(table[k]) for k in ("query", "kind", "value", "rater"))
        by_index = {qq.index: qq for qq in plan.queries}
        seen: dict[tuple[int, str], dict[str, float]] = {}
        for qi, k, v, r in zip(q.tolist(), kind.tolist(), val.tolist(), rater.tolist()):
            seen.setdefault((qi, r), {})[k] = v
        rows = [(by_index[qi].meta["periphery"], by_index[qi].meta["pair"], v["plus"], v["minus"], r)
                for (qi, r), v in seen.items() if "plus" in v and "minus" in v]
        if not rows:
            return cls(np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0, dtype=str))
        p, r_, plus, minus, raters = zip(*rows)
        return cls(np.array(p), np.array(r_), np.array(plus), np.array(minus), np.array(raters))

    @classmethod
    def from_listener(cls, listener, plan: QueryPlan) -> "PairRatings":
        """Have ``listener`` rate every pair of an NES plan, bypassing the store (benchmarks)."""
        centers, deltas, _ = nes_arrays(plan)
        P, R, d = deltas.shape
        pts = np.concatenate([(centers[:, None] + deltas).reshape(-1, d),
                              (centers[:, None] - deltas).reshape(-1, d)])
        y = np.asarray(listener.rate(pts), dtype=np.float64)
        pp, rr = np.divmod(np.arange(P * R), R)
        return cls(pp, rr, y[:P * R], y[P * R:], np.full(P * R, getattr(listener, "name", "r0")))


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

    def far_points(self, n: int, seed: int | np.random.Generator | None = 0,
                   quantile: float = 0.99) -> tuple[np.ndarray, np.ndarray]:
        """``n`` points beyond the region the plan explored, and the regularised target there.

        For the network's ``far_prior`` option: what nobody was asked about, far from every
        voice, is taken to be unnatural (D = 0), with the target the estimate gives a point
        of D = 0, the pull lam * w(0) * (x_n - x) / sigma_p^2 towards its nearest datum.
        "Beyond" is measured from the plan itself, not from any truth: a point is far when
        its distance to the nearest datum exceeds the ``quantile`` of that distance for
        periphery points drawn as the plan draws them (datum + sigma_p * N(0, I)).
        Candidates come from datum + 2 sigma_p * N(0, I).

        Returns
        -------
        points : (n, d) ; target : (n, d)
        """
        from scipy.spatial import cKDTree
        rng = np.random.default_rng(seed)
        anchors = np.unique(self.anchor, axis=0)                          # (N', d)
        tree, d = cKDTree(anchors), self.d
        draw = lambda m, scale: anchors[rng.integers(0, len(anchors), m)] + \
            scale * self.sigma_p * rng.standard_normal((m, d))
        radius = float(np.quantile(tree.query(draw(20_000, 1.0))[0], quantile))
        kept: list[np.ndarray] = []
        have = 0
        for _ in range(100):                                              # ~20-60 % are kept
            if have >= n:
                break
            cand = draw(max(4 * n, 256), 2.0)
            cand = cand[tree.query(cand)[0] > radius]
            kept.append(cand); have += len(cand)
        pts = np.concatenate(kept)[:n] if kept else np.zeros((0, d))
        if len(pts) < n:
            raise RuntimeError(f"found only {len(pts)} of {n} points beyond radius {radius:.3g}")
        near = anchors[tree.query(pts)[1]]
        return pts, _pull(np.zeros(n), pts, near, self.sigma_p, self.options)

    def __repr__(self) -> str:
        o = self.options
        return (f"Estimate(points={len(self)}, d={self.d}, pairs={int(self.n_pairs.sum())}, "
                f"obs={len(self.obs_values)}, D~[{self.D.min():.2f}, {self.D.max():.2f}], "
                f"|grad| median={np.median(np.linalg.norm(self.grad, axis=1)):.3g}, "
                f"noise_sd={self.noise_sd:.3g}, d_estimator={o.d_estimator!r}, "
                f"censored={o.censored}, reuse={o.reuse}, reg={o.reg!r}, lam={o.lam})")


# ---------------------------------------------------------------------- planning
def plan_for_budget(data: np.ndarray, n_ratings: int, *, style: str = "refined",
                    n_pairs: int | None = None, sigma_p: float = 1.0, sigma_nes: float = 0.3,
                    seed: int | np.random.Generator | None = 0, name: str = "nes") -> QueryPlan:
    """An NES plan that spends about ``n_ratings`` ratings.

    ``style="refined"`` (default): one pair per periphery point, so P = n_ratings / 2
    points -- the network averages noise across neighbours better than NES averages it
    within a point. ``style="paper"``: five pairs per point (the paper's R = 5).
    ``n_pairs`` overrides either. Returns :func:`hd_widgets.plan.nes_plan`'s plan, which
    never costs more than ``n_ratings``; a budget too small for one point is a ValueError.
    """
    if style not in ("refined", "paper"):
        raise ValueError("style must be 'refined' or 'paper'")
    R = n_pairs if n_pairs is not None else (1 if style == "refined" else 5)
    if R < 1:
        raise ValueError(f"n_pairs must be at least 1, got {R}")
    if int(n_ratings) != n_ratings or n_ratings < 2 * R:
        raise ValueError(f"a budget of {n_ratings!r} ratings cannot pay for one periphery point "
                         f"with {R} pair(s) ({2 * R} ratings)")
    P = int(n_ratings) // (2 * R)
    return nes_plan(data, n_periphery=P, n_pairs=R, sigma_p=sigma_p, sigma_nes=sigma_nes,
                    seed=seed, name=name)


# ---------------------------------------------------------------------- D estimators
def kde_mode(values: np.ndarray, grid: int = 201) -> float:
    """Mode of a Gaussian KDE of ratings on [0, 1], reflected at 0 and 1 (paper's D).

    Falls back to the mean when the KDE is degenerate (fewer than 2 distinct values).
    """
    v = np.asarray(values, dtype=np.float64)
    if len(v) < 2 or np.ptp(v) < 1e-9:
        return float(v.mean())
    kde = gaussian_kde(v)
    f = lambda y: kde(y) + kde(-y) + kde(2 - y)             # reflection keeps mass in [0, 1]
    ys = np.linspace(0, 1, grid)
    i = int(np.argmax(f(ys)))
    lo, hi = ys[max(i - 1, 0)], ys[min(i + 1, grid - 1)]
    res = minimize_scalar(lambda y: -f(np.atleast_1d(y))[0], bounds=(lo, hi), method="bounded")
    return float(np.clip(res.x, 0, 1))


def _tobit_loglik_grad(mu: np.ndarray, y: np.ndarray, idx: np.ndarray, sigma: float) -> np.ndarray:
    """d/dmu of the censored-normal log-likelihood per group; y (m,), group idx (m,)."""
    m = mu[idx]
    lo, hi = y <= 0, y >= 1
    z = (y - m) / sigma
    g = z / sigma                                                    # interior ratings
    a = -m / sigma                                                   # P(y* <= 0) = Phi(a)
    b = (1 - m) / sigma                                              # P(y* >= 1) = Phi(-b)
    g = np.where(lo, -np.exp(-0.5 * a ** 2 - _LOG_SQRT_2PI - log_ndtr(a)) / sigma, g)
    g = np.where(hi, np.exp(-0.5 * b ** 2 - _LOG_SQRT_2PI - log_ndtr(-b)) / sigma, g)
    return np.bincount(idx, weights=g, minlength=len(mu))


def tobit_mean(values: np.ndarray, groups: np.ndarray, n_groups: int, sigma: float,
               bounds: tuple[float, float] = (0.0, 1.0), iters: int = 50) -> np.ndarray:
    """Censored-normal MLE of each group's latent mean, vectorised bisection.

    Ratings y = clip(y*, 0, 1) with y* ~ N(mu_g, sigma^2). The log-likelihood is concave
    in mu, so bisection on its derivative within ``bounds`` finds the constrained maximum.
    The default bounds are D's own range [0, 1]: when every rating of a group sits at a
    bound the unconstrained MLE runs off to infinity, and the constraint stops it there.

    Returns
    -------
    ndarray, shape (n_groups,)
    """
    y = np.asarray(values, dtype=np.float64)
    idx = np.asarray(groups, dtype=np.int64)
    lo = np.full(n_groups, bounds[0])
    hi = np.full(n_groups, bounds[1])
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        up = _tobit_loglik_grad(mid, y, idx, sigma) > 0
        lo = np.where(up, mid, lo)
        hi = np.where(up, hi, mid)
    return 0.5 * (lo + hi)


def _impute_latent(y: np.ndarray, mu: np.ndarray, sigma: float) -> np.ndarray:
    """Replace clipped ratings by E[y* | censored] under N(mu, sigma^2); y, mu (m,)."""
    a = -mu / sigma
    b = (1 - mu) / sigma
    low = mu - sigma * np.exp(-0.5 * a ** 2 - _LOG_SQRT_2PI - log_ndtr(a))
    high = mu + sigma * np.exp(-0.5 * b ** 2 - _LOG_SQRT_2PI - log_ndtr(-b))
    return np.where(y <= 0, np.minimum(low, 0.0), np.where(y >= 1, np.maximum(high, 1.0), y))


def estimate_noise_sd(pairs: PairRatings, floor: float = 0.02) -> float:
    """Rough rating-noise sigma from pair differences (robust: median, interior pairs).

    For a pair, y+ - y- = 2 grad.Delta + noise with variance 2 sigma^2; the median of
    |y+ - y-| over pairs with both ratings inside (0, 1) is little moved by the minority
    of pairs on a steep edge. Clipping shrinks differences near the bounds, so this errs
    low; pass ``noise_sd`` to :class:`EstimateOptions` when the noise is known.
    """
    ok = (pairs.plus > 0) & (pairs.plus < 1) & (pairs.minus > 0) & (pairs.minus < 1)
    if ok.sum() < 5:
        return 0.1
    diff = np.abs(pairs.plus[ok] - pairs.minus[ok])
    return float(max(1.4826 * np.median(diff) / np.sqrt(2), floor))


# ---------------------------------------------------------------------- the estimate
def _pull(D: np.ndarray, pts: np.ndarray, anchor: np.ndarray, sigma_p: float,
          o: EstimateOptions) -> np.ndarray:
    """The regularisation part of the target, lam * w(D) * (x_n - x~) / sigma_p^2, (P, d)
    (module docstring); D (P,), pts and anchor (P, d)."""
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
    o = EstimateOptions() if options is None else options
    centers = np.asarray(centers, dtype=np.float64)
    deltas = np.asarray(deltas, dtype=np.float64)
    data = np.asarray(data, dtype=np.float64)
    if deltas.ndim != 3 or centers.shape != (deltas.shape[0], deltas.shape[2]) \
            or data.ndim != 2 or data.shape[1] != deltas.shape[2]:
        raise ValueError(f"centers (P, d), deltas (P, R, d) and data (N, d) disagree: "
                         f"{centers.shape}, {deltas.shape}, {data.shape}")
    P, R, d = deltas.shape
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
    mu_latent = tobit_mean(y, gidx, n_used, sigma) if (o.censored or o.d_estimator == "tobit") else None

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
        y_lat = _impute_latent(y, mu_latent[gidx], sigma)
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
    reg = _pull(D, pts, anchor, sigma_p, o)
    target = grad_scale * grad + reg
    score_target = target / np.maximum(D, o.eps)[:, None]

    if o.reuse:
        obs_points = np.concatenate([centers[p] + dl, centers[p] - dl])
        obs_values = y_lat.copy()
    else:
        obs_points, obs_values = np.zeros((0, d)), np.zeros(0)
    weights = n_pairs / n_pairs.mean()
    return Estimate(pts, used, anchor, grad, D, target, score_target, n_pairs, grad_se, D_se,
                    weights, obs_points, obs_values, pi, dl, 0.5 * diff, reg, grad_scale,
                    float(sigma), float(sigma_p),
                    float(sigma_nes), o)


def from_plan(plan: QueryPlan, pairs: PairRatings, data: np.ndarray,
              options: EstimateOptions | None = None) -> Estimate:
    """:func:`estimate` for an NES plan (periphery, perturbations and scales from the plan)."""
    centers, deltas, datum = nes_arrays(plan)
    return estimate(centers, deltas, datum, data, pairs, sigma_p=plan.config["sigma_p"],
                    sigma_nes=plan.config["sigma_nes"], options=options)


def from_store(store, plan_name: str, data: np.ndarray,
               options: EstimateOptions | None = None) -> Estimate:
    """:func:`estimate` from a ratings store: ``store.plan(name)`` and ``store.table(name)``.

    Every active rating of every rater is used; pairs of the same query by different
    raters count as separate pairs.
    """
    plan = store.plan(plan_name)
    return from_plan(plan, PairRatings.from_table(plan, store.table(plan_name)), data, options)
