"""The experiment in one call: plan -> ratings -> estimate -> train -> sample (and HumanGAN).

Every caller that runs HumanDiffusion end to end -- the reproduction, the benchmarks, the
notebooks -- goes through :func:`run_pipeline`, so the chain of steps and its seeds are
written once:

1. **plan**: :func:`~hd_widgets.ratings.budget.plan_for_budget` around the real data
   (``config.budget`` ratings, ``config.style``), unless a plan is given;
2. **ratings**: from a store (what people or :func:`~hd_widgets.ratings.answer` wrote; a
   listener given with the store answers the unrated pages first, through the store), or
   straight from a listener (no store: benchmarks);
3. **estimate**: NES gradients, D and the regularised targets (``config.estimate``);
4. **train**: the score network (``ScoreNetConfig.for_estimate``, or the paper's preset,
   with ``config.network`` changes), seeded with ``config.seed``;
5. **sample**: Langevin from the real data on the network's score;
6. **HumanGAN** (``config.humangan``): warm-started on the data, climbed
   ``config.gan_early_stop`` steps (its paper's early stop), sampled, then climbed on to
   ``config.gan_steps`` in all (it collapses), sampled again. A generator that runs away
   is recorded in ``ran_away``, not raised: its samples are what the method gave.
"""
from __future__ import annotations

from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field, replace
import time
from typing import Any, Callable, ContextManager, Iterator

import numpy as np

from ..method.estimation import Estimate, EstimateOptions, from_plan, from_store
from ..method.humangan import HumanGAN, HumanGANConfig, HumanGANDivergence
from ..method.network import ScoreNet, ScoreNetConfig
from ..method.pairs import PairRatings
from ..method.sampling import langevin
from ..method.score import ScoreFn
from ..method.training import train
from ..ratings import kinds
from ..ratings.budget import plan_for_budget
from ..ratings.answering import answer
from ..ratings.plan import QueryPlan

__all__ = ["PipelineConfig", "PipelineResult", "run_pipeline", "network_for", "sample",
           "humangan_pair"]


@dataclass(frozen=True)
class PipelineConfig:
    """One HumanDiffusion run's settings; every stochastic step is seeded by ``seed``."""

    budget: int = 1000              # ratings spent on perceptual gradients (when planning)
    seed: int = 0                   # plan, network, Langevin and HumanGAN
    style: str = "refined"          # plan_for_budget's style ("paper": five pairs a point)
    estimate: EstimateOptions = field(default_factory=EstimateOptions)
    network: str = "for_estimate"   # "for_estimate" (package default) or "paper" preset
    network_changes: dict = field(default_factory=dict)   # e.g. {"far_prior": 0.5}
    particles: int = 5000           # Langevin particles and HumanGAN samples
    alpha: float = 0.01             # Langevin step size
    steps: int = 1000               # Langevin steps
    max_norm: float = 100.0         # Langevin: a particle beyond this has diverged
    humangan: bool = True           # also train HumanGAN on the same score
    gan_early_stop: int = 25        # its early-stopped ascent steps (its paper's heuristic)
    gan_steps: int = 1000           # its ascent steps in all (trained on: it collapses)
    gan_start: int = 500            # generator samples kept after the warm start (Fig. 5)

    def __post_init__(self) -> None:
        if self.network not in ("for_estimate", "paper"):
            raise ValueError(f"network must be 'for_estimate' or 'paper', got {self.network!r}")
        if not 0 < self.gan_early_stop <= self.gan_steps:
            raise ValueError("need 0 < gan_early_stop <= gan_steps")

    def with_(self, **changes) -> "PipelineConfig":
        """A copy with some settings changed."""
        return replace(self, **changes)

    @classmethod
    def paper(cls, **changes) -> "PipelineConfig":
        """The paper's version: five pairs per point, its estimate and its network loss."""
        return replace(cls(style="paper", estimate=EstimateOptions.paper(), network="paper"),
                       **changes)


@dataclass(repr=False)
class PipelineResult:
    """What one run produced.

    Attributes
    ----------
    plan : QueryPlan                  the NES plan the ratings answer.
    estimate : Estimate               targets at the rated periphery points.
    network : ScoreNet                the trained score network.
    samples : dict kind -> (n, d)     ``humandiffusion``, and with HumanGAN
                                      ``humangan_early`` and ``humangan_collapsed``.
    gan_start : (m, d) or None        HumanGAN's generator after its warm start.
    gan_config : HumanGANConfig or None
    ran_away : dict kind -> int       HumanGAN samples from a generator that ran away, and
                                      the ascent step it did.
    seconds : dict stage -> float
    """

    plan: QueryPlan
    estimate: Estimate
    network: ScoreNet
    samples: dict[str, np.ndarray]
    gan_start: np.ndarray | None = None
    gan_config: HumanGANConfig | None = None
    ran_away: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def __repr__(self) -> str:
        kinds_ = ", ".join(f"{k}={v.shape}" for k, v in self.samples.items())
        away = f", ran_away={self.ran_away}" if self.ran_away else ""
        return (f"PipelineResult(plan={self.plan.name!r}, pairs={len(self.estimate.pair_point)}, "
                f"samples: {kinds_}{away})")


def network_for(est: Estimate, config: PipelineConfig, *, progress: bool = False) -> ScoreNet:
    """Step 4: the score network for ``est`` with ``config``'s preset, changes and seed."""
    if config.network == "paper":
        net_config = ScoreNetConfig.paper(d=est.d, seed=config.seed, **config.network_changes)
    else:
        net_config = ScoreNetConfig.for_estimate(est, seed=config.seed, **config.network_changes)
    return train(est, net_config, progress=progress)


def sample(score: ScoreFn, data: np.ndarray, config: PipelineConfig, *,
           progress: bool = False) -> np.ndarray:
    """Step 5: ``config.particles`` Langevin samples from the real data, shape (n, d)."""
    return langevin(score, data, n=config.particles, alpha=config.alpha, n_steps=config.steps,
                    max_norm=config.max_norm, seed=config.seed, progress=progress).samples


def humangan_pair(score: ScoreFn, data: np.ndarray, config: PipelineConfig, *,
                  progress: bool = False) -> tuple[dict[str, np.ndarray], np.ndarray,
                                                   HumanGANConfig, dict[str, int]]:
    """Step 6: HumanGAN early-stopped, then trained on, on one generator.

    Returns ``({"humangan_early": (n, d), "humangan_collapsed": (n, d)}, start (m, d),
    its config, ran_away)``; a runaway in the early phase stops both (it stays away).
    """
    d = np.shape(data)[1]
    gan = HumanGAN(HumanGANConfig(d=d, early_stop=config.gan_early_stop, seed=config.seed))
    gan.fit_data(data, progress=progress)                          # warm start on the data
    start = gan.sample(min(config.particles, config.gan_start), seed=config.seed)
    ran_away: dict[str, int] = {}
    out: dict[str, np.ndarray] = {}
    try:
        gan.fit(score, steps=config.gan_early_stop, progress=progress)
    except HumanGANDivergence as err:
        ran_away[kinds.HUMANGAN_EARLY] = ran_away[kinds.HUMANGAN_COLLAPSED] = err.step
    out[kinds.HUMANGAN_EARLY] = gan.sample(config.particles, seed=config.seed)
    if not ran_away:
        try:
            gan.fit(score, steps=config.gan_steps - config.gan_early_stop, progress=progress)
        except HumanGANDivergence as err:
            ran_away[kinds.HUMANGAN_COLLAPSED] = err.step
    out[kinds.HUMANGAN_COLLAPSED] = gan.sample(config.particles, seed=config.seed)
    return out, start, gan.config, ran_away


@contextmanager
def timed(seconds: dict, name: str, stages, what: str) -> Iterator[None]:
    """Time a step into ``seconds[name]``, inside ``stages(name, what)`` when given."""
    t = time.perf_counter()
    with (stages(name, what) if stages is not None else nullcontext()):
        yield
    seconds[name] = round(time.perf_counter() - t, 2)


def run_pipeline(data: np.ndarray, config: PipelineConfig | None = None, *,
                 listener: Any = None, store: Any = None, plan: QueryPlan | None = None,
                 rater: str | None = None, raters: Any = None,
                 noise_seed: tuple[int, ...] | None = None, progress: bool = False,
                 stages: Callable[[str, str], ContextManager] | None = None) -> PipelineResult:
    """Run HumanDiffusion end to end on the real data ``data`` (N, d).

    Parameters
    ----------
    data : ndarray, shape (N, d)   the real data (the space's points).
    config : PipelineConfig, optional
    listener : Listener, optional
        Who rates. Without a store it rates the whole plan directly
        (:meth:`PairRatings.from_listener`); with one it answers the store's unrated pages
        as ``rater`` (default its name), the path the widget takes.
    store : RatingsStore, optional
        Where the ratings are (and go). The plan is added to it if missing.
    plan : QueryPlan, optional
        The NES plan; default :func:`plan_for_budget` with ``config``'s budget and seed.
    raters : str or list of str, optional
        Estimate from these raters' ratings only (store only; default everyone's).
    noise_seed : tuple of int, optional
        With a store and a listener: query i's rating noise comes from
        ``default_rng((*noise_seed, i))``, so a resumed run stores what an uninterrupted
        one would (see :func:`~hd_widgets.ratings.answer`).
    progress : bool
        Progress bars for the long steps.
    stages : callable (name, description) -> context manager, optional
        Wraps each step ("ratings", "estimate", "train", "sample", "humangan"), e.g. to
        print and time it (the reproduction's :class:`~hd_widgets.study.reproduction.Stages`).

    Returns
    -------
    PipelineResult
        ``seconds`` holds each step's wall time.
    """
    c = PipelineConfig() if config is None else config
    data = np.asarray(data, dtype=np.float64)
    seconds: dict[str, float] = {}
    if plan is None:
        plan = plan_for_budget(data, c.budget, style=c.style, seed=c.seed)
    if store is None and listener is None:
        raise ValueError("run_pipeline needs a listener, a store, or both")
    if store is not None:
        plan = store.add_plan(plan)
        if listener is not None:
            with timed(seconds, "ratings", stages, f"{listener.name} rates {len(plan)} pages"):
                answer(listener, store, plan.name, rater=rater, seed=noise_seed, progress=progress)
    with timed(seconds, "estimate", stages, "perceptual gradients from the ratings"):
        if store is not None:
            est = from_store(store, plan.name, data, c.estimate, raters=raters)
        else:
            est = from_plan(plan, PairRatings.from_listener(listener, plan), data, c.estimate)
    with timed(seconds, "train", stages, f"score network on {len(est.pair_point)} rated pairs"):
        net = network_for(est, c, progress=progress)
    score = net.score_fn()
    with timed(seconds, "sample", stages, f"Langevin, {c.particles} particles x {c.steps} steps"):
        samples = {kinds.HUMANDIFFUSION: sample(score, data, c, progress=progress)}
    result = PipelineResult(plan, est, net, samples, seconds=seconds)
    if c.humangan:
        with timed(seconds, "humangan", stages, "HumanGAN, early-stopped, then trained on"):
            gan_samples, result.gan_start, result.gan_config, result.ran_away = humangan_pair(
                score, data, c, progress=progress)
        samples.update(gan_samples)
    return result
