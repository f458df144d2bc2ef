"""Fitting a study in rounds: the estimate, the networks and Langevin samples on the
ratings of some of its rounds (docs/method.md, "Rounds" and "Where the chains start").

:func:`fit_rounds` is what every round boundary and the final fit run: the estimate on
the rounds' ratings, an ensemble of score networks, and Langevin from where
:func:`chain_starts` says -- the real data, or starts resampled from the model's own D
(:func:`~hd_widgets.method.sampling.resampled_starts`), placed by the networks
:func:`start_networks` gives -- with the pull home beyond the reach of the ratings.
Everything runs in one torch thread and is seeded, so a round is deterministic given the
store and the seed. :class:`RoundsResult` is the study's final fit.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..method.ensemble import ScoreEnsemble, train_ensemble
from ..method.estimation import Estimate, from_store_plans
from ..method.far import home_beyond_reach, within_reach
from ..method.network import ScoreNetConfig
from ..method.sampling import LangevinDivergence, ThinProposals, langevin, resampled_starts
from ..method.threads import torch_threads
from .pipeline import timed
from .rounds_config import RoundsConfig

__all__ = ["RoundsResult", "fit_rounds", "place_starts", "start_networks", "chain_starts"]


@dataclass(repr=False)
class RoundsResult:
    """A fit of the whole study: its estimate, the networks and Langevin samples.

    Attributes
    ----------
    plans : list of QueryPlan      the rounds the fit used.
    estimate : Estimate            targets over every round's rated points.
    network : ScoreEnsemble        the networks, scores averaged.
    samples : ndarray, shape (n, d)  Langevin samples.
    ratings : int                  ratings the fit used.
    start : str                    where the chains started: "data" or "resampled".
    placed_by : str or None        whose D placed resampled starts: "score" (the score's
                                   networks) or "short" (networks on the short schedule).
    """

    plans: list
    estimate: Estimate
    network: ScoreEnsemble
    samples: np.ndarray
    ratings: int
    start: str = "data"
    placed_by: str | None = None

    def __repr__(self) -> str:
        placed = "" if self.placed_by is None else f", placed_by={self.placed_by!r}"
        return (f"RoundsResult(rounds={len(self.plans)}, ratings={self.ratings}, "
                f"networks={len(self.network)}, samples={self.samples.shape}, "
                f"start={self.start!r}{placed})")


def fit_rounds(store, data: np.ndarray, config: RoundsConfig, names: list[str], *,
               max_rating_id: int | None, networks: int, seed: list[int], raters=None,
               particles: int | None = None, start: str | None = None,
               long_from: float | None = None, denoise: bool = False,
               stages=None) -> tuple[Estimate, ScoreEnsemble, np.ndarray, str, str | None]:
    """Estimate, networks and Langevin particles (n, d) on the ratings of rounds ``names``
    of ``store`` (of ids up to ``max_rating_id``; of ``raters`` only, if given), for the
    real data ``data`` (N, d), seeded by ``seed``; in one torch thread, so the result does
    not depend on the machine's thread count. ``start`` (default: the config's): chains
    from the real data (``steps`` steps), or from resampled starts (``refine_steps``
    steps), or ``"auto"`` (resampled when the proposals' effective share is at least
    ``min_ess``); the last two items returned say which start was used and whose D
    placed resampled starts (:func:`place_starts`). ``long_from``: the
    networks train on the long schedule from this many rated pairs (None: as
    :meth:`~hd_widgets.method.network.ScoreNetConfig.for_estimate` decides). ``denoise``:
    the particles returned are the Tweedie mean given the last step's noise
    (:func:`~hd_widgets.method.sampling.langevin`). ``stages``
    wraps the three steps as in :func:`~hd_widgets.study.pipeline.run_pipeline`."""
    c = config
    seconds: dict[str, float] = {}
    with timed(seconds, "estimate", stages, f"perceptual gradients from {len(names)} round(s)"):
        est = from_store_plans(store, names, data, c.estimate, raters=raters,
                               max_rating_id=max_rating_id)
    s = int(np.random.default_rng(seed).integers(2 ** 31))
    schedule = ("long" if long_from is not None and len(est.pair_point) >= long_from
                else "auto")
    n = c.particles if particles is None else particles
    start = c.start if start is None else start
    with torch_threads(1):
        with timed(seconds, "train", stages, f"{networks} score network(s) on "
                                             f"{len(est.pair_point)} rated pairs"):
            ens = train_ensemble(est, networks, seed=s,
                                 config=ScoreNetConfig.for_estimate(est, schedule=schedule,
                                                                    **c.network))
        with timed(seconds, "sample", stages, f"chain starts and Langevin, {n} particles"):
            x0, run, used, placed_by = place_starts(est, ens, data, c, n, start, seed=s)
            score = ens.score_fn()
            if c.home_beyond_reach:
                score = home_beyond_reach(score, est)
            try:
                x = langevin(score, x0, alpha=c.alpha, seed=s, denoise=denoise, **run).samples
            except LangevinDivergence:       # keep the particles; the far ones are dropped
                x = langevin(score, x0, alpha=c.alpha, seed=s, denoise=denoise,
                             max_norm=float("inf"), **run).samples
    return est, ens, x, used, placed_by


def place_starts(est: Estimate, ens: ScoreEnsemble, data: np.ndarray, config: RoundsConfig,
                 n: int, start: str, *, seed: int) -> tuple[np.ndarray, dict, str, str | None]:
    """Where ``n`` chains start, and whose D placed them: (x0, the rest of langevin's
    arguments, "resampled" or "data", "score" / "short" / None). With
    ``start_schedule="auto"`` the score's own networks place resampled starts where
    their proposals' effective share is at least ``min_ess`` (their D then agrees with
    the score the chains follow); where it is not, the networks of
    :func:`start_networks` do, as with ``"short"`` (docs/method.md, "Where the chains
    start")."""
    c = config
    if (start != "data" and c.start_schedule == "auto"
            and start_networks(est, ens, c, start, seed=seed, train=False) is None):
        try:                         # the score's networks are not the short ones: theirs first
            x0, run, used = chain_starts(ens, data, c, n, start, seed=seed, est=est,
                                         min_ess=c.min_ess)
            return x0, run, used, "score"
        except ThinProposals:
            pass
    placing = start_networks(est, ens, c, start, seed=seed)
    x0, run, used = chain_starts(placing, data, c, n, start, seed=seed, est=est)
    if used == "data":
        return x0, run, used, None
    return x0, run, used, "score" if placing is ens else "short"


def start_networks(est: Estimate, ens: ScoreEnsemble, config: RoundsConfig, start: str, *,
                   seed: int, train: bool = True) -> ScoreEnsemble | None:
    """The networks whose D places resampled starts (``config.start_schedule``): trained
    on the short schedule, as many as ``ens`` and seeded alike; ``ens`` itself when it
    already is (or ``start_schedule="score"``, or chains that start from the data). The
    long schedule fits the score's shape best, but its D head rates unrated corners high,
    and resampling from it sends the starts there (docs/method.md, "Where the chains
    start"). ``train=False``: None where they would have to be trained."""
    if start == "data" or config.start_schedule == "score":
        return ens
    short = ScoreNetConfig.for_estimate(est, schedule="short", **config.network)
    if ens.config.with_(seed=short.seed) == short:
        return ens
    return train_ensemble(est, len(ens), seed=seed, config=short) if train else None


def chain_starts(ens: ScoreEnsemble, data: np.ndarray, config: RoundsConfig, n: int,
                 start: str, *, seed: int, est: Estimate | None = None,
                 min_ess: float | None = None) -> tuple[np.ndarray, dict, str]:
    """Where ``n`` chains start: (x0, the rest of langevin's arguments, "resampled" or
    "data"), resampled from ``ens``'s D around the real data ``data`` (N, d). "auto" falls
    back to the data when the proposals are thin. With ``est`` and
    ``config.home_beyond_reach``, D is weighted by :func:`~hd_widgets.method.far.within_reach`:
    the chains' target has no mass of the network's where no rating reaches, so neither
    do their starts. ``min_ess``: ask for that effective share of the proposals and
    raise :class:`~hd_widgets.method.sampling.ThinProposals` below it, in place of
    falling back to the data."""
    c = config
    strict = min_ess is not None
    if not strict:
        min_ess = c.min_ess if start == "auto" else 0.0
    if start != "data":
        kept = within_reach(est) if est is not None and c.home_beyond_reach else None

        def D(y: np.ndarray) -> np.ndarray:
            d_y = ens.predict(y)[0]
            return d_y if kept is None else d_y * kept(y)

        try:
            x0 = resampled_starts(D, data, n, spread=c.spread, seed=seed, min_ess=min_ess)
            return x0, {"n_steps": c.refine_steps}, "resampled"
        except ThinProposals:      # "auto": too few proposals; the paper's start
            if strict:
                raise
    # the real voices, drawn with the chains' own generator
    return data, {"n": n, "n_steps": c.steps}, "data"
