"""A study in rounds: rate where the model goes (docs/method.md, "Rounds").

The paper's training "iterates a process to diffuse real data to cover a wider
human-acceptable distribution". A fixed plan spends every rating around the real data,
so nothing asks about the places where the sampler goes; with a few hundred ratings the
network extrapolates "natural" into unrated corners (phantom regions) and Langevin fills
them. A study in rounds asks there:

- the whole budget and each round's share are fixed up front (:class:`RoundsConfig`);
- round 0 is the fixed plan around the real data
  (:func:`~hd_widgets.ratings.budget.plan_for_budget`);
- after each round, the estimate and the score network are fitted on all ratings so far,
  Langevin runs (from the real data, or from the model's own D: ``start``, docs/method.md,
  "Where the chains start"), and the next round's periphery points are chosen
  among the particles: k-means++-style, with weight (4 D (1 - D) + ``floor``) x (squared
  distance to the nearest point already asked about) -- the network's edge band, away
  from what is rated -- so a phantom region is rated, found unnatural and removed by the
  next fit. Each new point is the particle itself; its regularisation anchor is the
  nearest real voice, at full pull;
- every round's plan is written to the ratings store when it is made, with its lineage
  (the rounds and the ratings it was fitted on, its seed) and a thinned copy of the cloud
  that placed it (:meth:`RoundsStudy.clouds`, for the figures), so a restarted kernel, a
  second widget or another student continues the same round, and the whole study can be
  fitted again from its store alone (:meth:`RoundsStudy.replan` checks exactly that);
- the final fit averages an ensemble of networks (:mod:`hd_widgets.method.ensemble`), and
  its chains start as ``start`` says (:attr:`RoundsResult.start` tells which was used);
- every Langevin run (proposing and final) samples with the pull home beyond the reach of
  the ratings (:func:`~hd_widgets.method.far.home_beyond_reach`; ``home_beyond_reach``),
  where the network's field is an extrapolation that can carry particles away.

The settings are :class:`~hd_widgets.study.rounds_config.RoundsConfig`; the next round's
points are chosen by :func:`~hd_widgets.study.centres.choose_centres`; every fit is
:func:`~hd_widgets.study.rounds_fit.fit_rounds`.

Two processes that reach a round boundary together both plan the same round (the same
ratings, the same seed); the store keeps the first and the second finds it stored.
``rounds=1`` is the fixed plan, as a named option of the same study.
"""
from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
import re
import threading
from typing import Any

import numpy as np
from scipy.spatial import cKDTree

from ..method.ensemble import ScoreEnsemble
from ..method.estimation import Estimate
from ..ratings.budget import plan_for_budget
from ..ratings.plan import QueryPlan, centered_plan, nes_arrays
from ..ratings.store import RatingError
from .centres import choose_centres
from .rounds_config import MIN_ROUND_PAIRS, RoundsConfig
from .rounds_fit import RoundsResult, fit_rounds

__all__ = ["RoundsConfig", "RoundsStudy", "RoundsResult", "choose_centres", "MIN_ROUND_PAIRS",
           "CLOUD_POINTS"]

CLOUD_POINTS = 400       # particles kept with each round's plan, for the figures (3 decimals)


class RoundsStudy:
    """A study in rounds over one ratings store (module docstring).

    Parameters
    ----------
    store : RatingsStore
    data : ndarray, shape (N, d)   the real data (the space's points).
    config : RoundsConfig, optional
    name : str                     rounds are stored as plans ``<name>-r0``, ``<name>-r1``, ...
    shared : int                   with ``shared > 0`` every round is a
                                   :meth:`~hd_widgets.ratings.plan.QueryPlan.per_rater`
                                   plan: each rater meets the pages in an order of their
                                   own, the first ``shared`` in common (a class).

    Examples
    --------
    >>> study = RoundsStudy(store, space.points, RoundsConfig(budget=300))   # doctest: +SKIP
    >>> study.rate_with(listener)  # a simulated listener answers every round  # doctest: +SKIP
    >>> study.fit().samples.shape          # doctest: +SKIP
    (2000, 2)
    """

    def __init__(self, store, data: np.ndarray, config: RoundsConfig | None = None, *,
                 name: str = "study", shared: int = 0) -> None:
        self.store = store
        self.data = np.asarray(data, dtype=np.float64)
        if self.data.ndim != 2 or len(self.data) < 2 or not np.isfinite(self.data).all():
            raise ValueError(f"data must be finite, of shape (N, d) with N >= 2, "
                             f"got {self.data.shape}")
        self.config = RoundsConfig() if config is None else config
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
            raise ValueError(f"a study name may hold letters, digits, '_', '.', '-' only, "
                             f"got {name!r}")
        self.name = name
        self.shared = int(shared)
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hd-rounds")
        self._pending: dict[int, Future] = {}
        self._clouds: dict[int, np.ndarray] = {}   # rounds rated -> the model's particles then
        if self.name + "-r0" not in self.store.plan_names():
            first = self._store(self._round_zero())    # another process's, if it stored first
        else:
            first = self.store.plan(self.plan_name(0))
        self._check_sizes(first)

    def _check_sizes(self, first: QueryPlan) -> None:
        """A study opened again must size its rounds as it was first sized: its budget and
        shares decide every later round's pages, so a change would mix two studies."""
        stored = first.config.get("study_config", {})
        if not {"budget", "shares"} <= stored.keys():      # stored before they were kept
            return
        theirs = RoundsConfig(budget=stored["budget"], shares=tuple(stored["shares"]))
        if theirs.sizes() != self.config.sizes():
            raise ValueError(
                f"the study {self.name!r} in this store was started with "
                f"budget={theirs.budget}, shares={[round(x, 3) for x in theirs.shares]}; "
                f"these settings give budget={self.config.budget}, "
                f"shares={[round(x, 3) for x in self.config.shares]}. Open it with the "
                f"settings it was started with, or give the new study another name")

    # ------------------------------------------------------------------ the rounds
    def plan_name(self, k: int) -> str:
        return f"{self.name}-r{k}"

    def plans(self) -> list[QueryPlan]:
        """The rounds planned so far, in order."""
        names = set(self.store.plan_names())
        out = []
        for k in range(self.config.rounds):
            if self.plan_name(k) not in names:
                break
            out.append(self.store.plan(self.plan_name(k)))
        return out

    def clouds(self, plans: list[QueryPlan] | None = None) -> dict[int, np.ndarray]:
        """Where the model's samples went after each round: {rounds rated: particles (n, d)}.

        Key k < rounds is the cloud that placed round k's pages; it is stored with round
        k's plan (:data:`CLOUD_POINTS` of the particles, rounded to 3 decimals), so a
        restarted kernel, a second widget or another student sees it too. Key ``rounds``
        is the final fit's samples, in this process only (after :meth:`fit`). ``plans``:
        :meth:`plans` already read by the caller, so the store is not read twice.
        """
        out = {}
        for plan in (self.plans() if plans is None else plans)[1:]:
            k = int(plan.config["round"])
            if "cloud" in plan.config:        # the cloud that placed the stored round (if two
                                              # processes planned it, the stored one's)
                out[k] = np.asarray(plan.config["cloud"],
                                    dtype=np.float64).reshape(-1, self.data.shape[1])
            elif k in self._clouds:           # a study stored before clouds were kept
                out[k] = self._clouds[k]
        if self.config.rounds in self._clouds:
            out[self.config.rounds] = self._clouds[self.config.rounds]
        return out

    @property
    def round(self) -> int:
        """The round being rated: the last one planned."""
        return len(self.plans()) - 1

    def progress(self, rater: str | None = None) -> dict[str, Any]:
        """Where the study stands: round, pages answered of it (by ``rater``, or by anyone),
        and ratings answered of the whole budget."""
        plans = self.plans()
        done, total = self.store.progress(plans[-1].name, rater)
        spent = sum(self.store.progress(p.name, rater)[0] * 2 for p in plans)
        return {"round": len(plans) - 1, "rounds": self.config.rounds, "round_pages_done": done,
                "round_pages": total, "ratings": spent, "budget": sum(self.config.sizes())}

    def complete(self, k: int, rater: str | None = None) -> bool:
        """Has every page of round ``k`` been answered (by ``rater``, or pooled by anyone)?"""
        done, total = self.store.progress(self.plan_name(k), rater)
        return done >= total

    def finished(self, rater: str | None = None) -> bool:
        """All rounds planned and the last one answered."""
        k = self.round                      # one read of the store's plans
        return k == self.config.rounds - 1 and self.complete(k, rater)

    def advance(self, rater: str | None = None) -> QueryPlan | None:
        """If the current round is answered (by ``rater``, or pooled) and rounds remain,
        plan the next one (once: see the module docstring) and return it; else None."""
        k = self.round
        if k + 1 >= self.config.rounds or not self.complete(k, rater):
            return None
        fut = self._pending.pop(k + 1, None)
        plan = fut.result() if fut is not None else self._plan_round(k + 1)
        return self._store(plan)

    def prepare(self, k: int | None = None) -> Future:
        """Start planning round ``k`` (default: the next one) in the background, from the
        ratings given so far, so the rater does not wait at the boundary; :meth:`advance`
        stores it when the current round is answered."""
        k = self.round + 1 if k is None else k
        with self._lock:
            if k not in self._pending:
                self._pending[k] = self._pool.submit(self._plan_round, k)
            return self._pending[k]

    # ------------------------------------------------------------------ planning
    def _round_zero(self) -> QueryPlan:
        c = self.config
        plan = plan_for_budget(self.data, c.sizes()[0], sigma_p=c.sigma_p, sigma_nes=c.sigma_nes,
                               seed=np.random.default_rng([c.seed, 0]), name=self.plan_name(0))
        return self._finish(plan, 0, {"rounds": [], "ratings": 0, "max_rating_id": 0,
                                      "seed": [c.seed, 0]})

    def _finish(self, plan: QueryPlan, k: int, lineage: dict) -> QueryPlan:
        c = self.config
        extra = {"study": self.name, "round": k, "rounds": c.rounds, "lineage": lineage,
                 "study_config": {"budget": c.budget, "shares": list(c.shares), "seed": c.seed,
                                  "floor": c.floor, "start": c.start,
                                  "home_beyond_reach": c.home_beyond_reach,
                                  "spread": c.spread, "min_ess": c.min_ess,
                                  "start_schedule": c.start_schedule,
                                  "final_long_per_dim": c.final_long_per_dim,
                                  "plan_long_per_dim": c.plan_long_per_dim,
                                  "denoise": c.denoise}}
        plan = replace(plan, config={**plan.config, **extra})
        return plan.per_rater(self.shared) if self.shared else plan

    def _store(self, plan: QueryPlan) -> QueryPlan:
        try:
            return self.store.add_plan(plan)
        except RatingError:
            # another process stored this round first (from a few more or fewer ratings):
            # theirs is the round everyone rates
            if plan.name in self.store.plan_names():
                return self.store.plan(plan.name)
            raise

    def _max_rating_id(self, names: list[str]) -> int:
        ids = [self.store.table(n)["id"] for n in names]
        return max((int(i.max()) for i in ids if len(i)), default=0)

    def fit_rounds(self, names: list[str], *, max_rating_id: int | None, networks: int,
                   seed: list[int], raters=None, particles: int | None = None,
                   start: str | None = None, long_from: float | None = None,
                   denoise: bool = False,
                   stages=None) -> tuple[Estimate, ScoreEnsemble, np.ndarray, str, str | None]:
        """:func:`~hd_widgets.study.rounds_fit.fit_rounds` on this study's store, data and
        config: (estimate, networks, Langevin particles (n, d), the start used, whose D
        placed resampled starts)."""
        return fit_rounds(self.store, self.data, self.config, names,
                          max_rating_id=max_rating_id, networks=networks, seed=seed,
                          raters=raters, particles=particles, start=start,
                          long_from=long_from, denoise=denoise, stages=stages)

    def _long_from(self, per_dim: float | None) -> float | None:
        """Rated pairs from which a fit trains on the long schedule (None: as
        ScoreNetConfig.for_estimate decides)."""
        return None if per_dim is None else per_dim * self.data.shape[1]

    def _plan_round(self, k: int, lineage: dict | None = None) -> QueryPlan:
        c = self.config
        names = [self.plan_name(j) for j in range(k)]
        if lineage is None:
            lineage = {"rounds": list(range(k)), "max_rating_id": self._max_rating_id(names),
                       "seed": [c.seed, k]}
        # the next round asks where this study's sampler goes (start="resampled": where the
        # model's D sends the chains; so a D head that overrates a region is rated there)
        est, ens, x, used, _ = self.fit_rounds([self.plan_name(j) for j in lineage["rounds"]],
                                      max_rating_id=lineage["max_rating_id"],
                                      networks=c.round_networks, seed=lineage["seed"],
                                      long_from=self._long_from(c.plan_long_per_dim))
        lineage = {**lineage, "ratings": int(2 * len(est.pair_point)), "start": used,
                   "training": {"steps": ens.config.steps, "lr": ens.config.lr}}
        self._clouds[k] = x
        rng = np.random.default_rng([*lineage["seed"], 1])
        keep = np.isfinite(x).all(1) & (np.abs(x).max(1) < 8 * max(1.0, np.abs(self.data).max()))
        x = x[keep]
        shown = x[np.random.default_rng([*lineage["seed"], 2]).permutation(len(x))[:CLOUD_POINTS]]
        rated = np.concatenate([nes_arrays(self.store.plan(n))[0] for n in names])
        D = ens.predict(x)[0]
        n = c.sizes()[k] // 2
        pick = choose_centres(x, D, rated, n, floor=c.floor, rng=rng)
        centres = x[pick]
        datum = cKDTree(self.data).query(centres)[1]
        plan = centered_plan(centres, datum, n_data=len(self.data), n_pairs=1,
                             sigma_p=c.sigma_p, sigma_nes=c.sigma_nes, seed=rng,
                             name=self.plan_name(k))
        plan = replace(plan, config={**plan.config, "cloud": np.round(shown, 3).tolist()})
        return self._finish(plan, k, lineage)

    def replan(self, k: int) -> QueryPlan:
        """Plan round ``k`` again from the store alone, with its stored lineage; equal to
        the stored plan (the rounds are deterministic given the store and the seed)."""
        stored = self.store.plan(self.plan_name(k))
        if k == 0:
            return self._round_zero()
        return self._plan_round(k, dict(stored.config["lineage"]))

    # ------------------------------------------------------------------ rating and fitting
    def rate_with(self, listener, *, rater: str | None = None, seed: tuple[int, ...] | None = None,
                  limit: int | None = None) -> int:
        """Let ``listener`` answer the study round by round (planning each next round as it
        would for a person); returns the pages answered."""
        from ..ratings.answering import answer
        rater = listener.name if rater is None else rater
        pages = 0
        while True:
            plan = self.plans()[-1]
            left = None if limit is None else limit - pages
            pages += answer(listener, self.store, plan.name, rater=rater, limit=left,
                            seed=None if seed is None else (*seed, self.round))
            if (limit is not None and pages >= limit) or self.advance(rater) is None:
                return pages

    def fit(self, *, networks: int | None = None, raters=None, particles: int | None = None,
            seed: int | None = None, stages=None) -> RoundsResult:
        """The study's HumanDiffusion: estimate on every round's ratings (of ``raters``
        only, if given), an ensemble of ``networks`` (default ``final_networks``), and
        Langevin samples (``particles``, default the config's), the chains started as the
        config's ``start`` says (:attr:`RoundsResult.start` tells which was used). The
        networks train on the long schedule from ``final_long_per_dim`` rated pairs per
        dimension; the starts are placed as ``start_schedule`` says; with ``denoise``
        the samples are the chains' last step without its noise (Tweedie's mean)."""
        c = self.config
        plans = self.plans()
        n = c.final_networks if networks is None else networks
        est, ens, x, used, placed_by = self.fit_rounds([p.name for p in plans], max_rating_id=None, networks=n,
                                      seed=[c.seed if seed is None else seed, 99], raters=raters,
                                      particles=particles, stages=stages,
                                      long_from=self._long_from(c.final_long_per_dim),
                                      denoise=c.denoise)
        self._clouds[c.rounds] = x
        return RoundsResult(plans, est, ens, x, int(2 * len(est.pair_point)), used, placed_by)

    def close(self) -> None:
        """Stop the background planner (a plan being made is finished first)."""
        self._pool.shutdown(wait=True)

    def __repr__(self) -> str:
        p = self.progress()
        return (f"RoundsStudy({self.name!r}, round {p['round'] + 1} of {p['rounds']}, "
                f"{p['round_pages_done']} of {p['round_pages']} pages of it answered, "
                f"{p['ratings']} of {p['budget']} ratings)")

