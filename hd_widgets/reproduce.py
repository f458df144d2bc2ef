"""Reproduce the paper's experiment end to end, headless: ``python -m hd_widgets reproduce``.

Stages, each timed and reported on the terminal:

1. **space**     the feature space of the shipped corpus (or a given folder), dimension d;
2. **plan**      an NES plan spending ``budget`` ratings, stored in ``OUT/ratings.sqlite``;
3. **listen**    the chosen listener answers every query through the store. An interrupted
                 run resumes at the first unanswered query: the plan is seeded (same
                 settings, same plan) and the rating noise of each query is drawn from
                 (seed, query), so a resumed run stores what an uninterrupted one would;
4. **estimate**  NES gradients, D and regularised targets (package defaults);
5. **train**     the score network;
6. **sample**    Langevin from the real data; HumanGAN on the same score, early-stopped
                 (the paper's heuristic) and then trained on until it collapses; and, where
                 the truth is known (simulated listener), Langevin with the true score (the
                 floor) and exact samples of p_H;
7. **evaluate**  a MUSHRA-style test: listeners of the chosen kind rate real, generated,
                 hidden-reference and anchor clips (stored, resumable too);
8. **metrics**   variances, energy distances to p_H, mean ratings;
9. **report**    ``report.html`` (Figs. 4-6, interactive, self-contained) and ``results.json``.

With the audio listener the true p_H is unknown, so energy distances, the floor and the
p_H row are ``null``; variances and the evaluation still are reported.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
import hashlib
import json
import math
import platform
import sys
import time
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from . import __version__
from .corpus import Corpus
from .estimate import from_store, plan_for_budget
from .evaluation import mushra_plan, results as evaluation_results
from .humangan import HumanGAN, HumanGANConfig, HumanGANDivergence
from .langevin import langevin, numpy_score_fn
from .listeners import SimulatedListener
from .metrics import energy_distance, variance_ratio
from .network import ScoreNetConfig, train
from .plan import QueryPlan
from .report import command_line, figures, markdown_table, write_html
from .space import FeatureSpace
from .store import RatingsStore

__all__ = ["reproduce", "ReproduceConfig", "nes_plan_for", "listen", "LISTENERS", "STORE_NAME"]

LISTENERS = ("simulated", "audio")
MIN_BUDGET = 40                      # 20 pairs: less gives the network too little to fit
STORE_NAME = "ratings.sqlite"
STAGES = ("space", "plan", "listen", "estimate", "train", "sample", "evaluate", "metrics", "report")


@dataclass(frozen=True)
class ReproduceConfig:
    """Settings of a reproduction run (all written to results.json)."""

    budget: int = 5000           # ratings spent on perceptual gradients (the study budget)
    seed: int = 0                # every random choice derives from it
    listener: str = "simulated"  # "simulated" (known truth) or "audio" (hears the clips)
    d: int = 2                   # dimension of the feature space
    corpus: str | None = None    # folder of recordings; None = the shipped corpus
    particles: int = 5000        # Langevin particles, HumanGAN samples, exact p_H samples
    alpha: float = 0.01          # Langevin step size (alpha * steps = 10 time units)
    steps: int = 1000            # Langevin steps
    train_steps: int | None = None  # score-network Adam steps; None: ScoreNetConfig.for_estimate's
    gan_early_stop: int = 25     # ascent steps of the early-stopped HumanGAN (bench/fidelity.py)
    gan_steps: int = 1000        # ascent steps in all of the collapsed HumanGAN (its default)
    eval_pages: int = 12         # MUSHRA pages per evaluation listener
    eval_listeners: int = 5      # evaluation listeners

    def __post_init__(self) -> None:
        if self.listener not in LISTENERS:
            raise ValueError(f"unknown listener {self.listener!r} (choose {' or '.join(LISTENERS)})")
        if self.budget < MIN_BUDGET:
            raise ValueError(f"budget must be at least {MIN_BUDGET} ratings, got {self.budget}")
        if self.seed < 0 or self.d < 1 or self.particles < 2 or self.steps < 1:
            raise ValueError("need seed >= 0, d >= 1, particles >= 2 and steps >= 1")
        if not (math.isfinite(self.alpha) and self.alpha > 0):
            raise ValueError(f"alpha must be a finite number > 0, got {self.alpha}")
        if not 0 < self.gan_early_stop <= self.gan_steps:
            raise ValueError("need 0 < gan_early_stop <= gan_steps")
        if self.eval_pages < 1 or self.eval_listeners < 1:
            raise ValueError("need eval_pages >= 1 and eval_listeners >= 1")


@dataclass
class _Stages:
    """Times each stage and prints its progress."""

    verbose: bool
    seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def __call__(self, name: str, what: str):
        self.say(f"[{STAGES.index(name) + 1}/{len(STAGES)}] {name:<8} {what} ...")
        t0 = time.perf_counter()
        yield
        self.seconds[name] = round(time.perf_counter() - t0, 2)
        self.say(f"      {name:<8} done in {self.seconds[name]:.1f} s")

    def say(self, line: str) -> None:
        if self.verbose:
            print(line, flush=True)


def _rng(seed: int, *stream: int) -> np.random.Generator:
    """An independent generator for one stochastic use of the run's seed."""
    return np.random.default_rng([seed, *stream])


def _space(corpus: str | Path | Corpus | None, d: int) -> FeatureSpace:
    """The feature space of a folder of recordings (or a corpus already read from one),
    or of the shipped corpus (None)."""
    if corpus is None:
        return FeatureSpace.default(d)
    if not isinstance(corpus, Corpus):
        corpus = Corpus.from_folder(corpus, errors="skip")
    return FeatureSpace.fit(corpus, d)


def _listener(kind: str, space: FeatureSpace, seed: int):
    """A listener of the given kind; only its D matters here (noise is drawn per query)."""
    if kind == "simulated":
        return SimulatedListener.from_data(space.points, seed=seed, name="simulated")
    from .audio_listener import AudioListener
    return AudioListener(space, seed=seed, name="audio")


def _named(plan: QueryPlan) -> QueryPlan:
    """The plan renamed ``<name>-<hash of its content>``: reruns with the same settings find
    it (and its ratings) again; a different space or sample never clashes with it."""
    tag = hashlib.sha256(plan.fingerprint().encode()).hexdigest()[:8]
    return replace(plan, name=f"{plan.name}-{tag}")


def nes_plan_for(space: FeatureSpace, budget: int, seed: int) -> QueryPlan:
    """The run's NES plan: package defaults, about ``budget`` ratings, seeded."""
    return _named(plan_for_budget(space.points, budget, seed=_rng(seed, 1),
                                  name=f"nes-b{budget}-s{seed}-d{space.d}"))


def _rate(listener, points: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``listener.rate(points)`` with the rating noise drawn from ``rng``."""
    return listener.rate(points, rng=rng)


def listen(listener, store: RatingsStore, plan: str, *, rater: str, seed: int, stream: int = 0,
           limit: int | None = None, progress: bool = False) -> int:
    """Let ``listener`` answer the next unrated queries of ``plan`` under the name ``rater``.

    The same path as :func:`hd_widgets.listeners.answer` and the widget (``next_query``,
    then ``rate``), except that the noise of query ``i`` comes from a generator seeded by
    ``(seed, stream, i)``: a query's ratings do not depend on when it is answered.

    Returns
    -------
    int
        Queries answered (at most ``limit``).
    """
    done, total = store.progress(plan, rater)
    n = 0
    with tqdm(total=total, initial=done, desc=f"      {rater}", disable=not progress,
              leave=False) as bar:
        while limit is None or n < limit:
            q = store.next_query(plan, rater)
            if q is None:
                break
            values = np.asarray(_rate(listener, q.points, _rng(seed, stream, q.index)))
            store.rate(plan, q.index, values.reshape(-1).tolist(), rater=rater)
            n += 1
            bar.update()
    return n


def _summary(x: np.ndarray, real: np.ndarray, exact: np.ndarray | None) -> dict:
    """Variance, variance ratio to the real data and energy distance to p_H of a sample."""
    return {"variance": round(float(np.var(x, axis=0).sum()), 4),
            "variance_ratio": round(variance_ratio(x, real), 4),
            "energy_to_pH": None if exact is None else round(energy_distance(x, exact), 5)}


def reproduce(*, budget: int = 5000, seed: int = 0, listener: str = "simulated",
              out: str | Path = "hd_reproduce", corpus: str | Path | Corpus | None = None, d: int = 2,
              verbose: bool = True, **settings) -> dict:
    """Run the whole experiment; write ``report.html``, ``results.json`` and the store in ``out``.

    ``settings`` are the other fields of :class:`ReproduceConfig` (particles, alpha, steps,
    train_steps, gan_early_stop, gan_steps, eval_pages, eval_listeners). Returns the
    results dictionary, as written to results.json.
    """
    where = (corpus.folder or "a corpus given in memory") if isinstance(corpus, Corpus) else corpus
    cfg = ReproduceConfig(budget=budget, seed=seed, listener=listener, d=d,
                          corpus=None if where is None else str(where), **settings)
    out, stage = Path(out), _Stages(verbose)
    bars = verbose and sys.stderr.isatty()       # inner progress bars only on a terminal
    with stage("space", f"feature space of {cfg.corpus or 'the shipped corpus'}, d = {d}"):
        space = _space(corpus, d)
        who = _listener(listener, space, seed)
    out.mkdir(parents=True, exist_ok=True)       # only once the corpus proved usable
    with RatingsStore(out / STORE_NAME) as store:
        with stage("plan", f"NES plan for {budget} ratings"):
            plan = store.add_plan(nes_plan_for(space, budget, seed))
        with stage("listen", f"the {listener} listener rates {len(plan)} pairs"):
            before = len(store.ratings(plan.name, rater=who.name))
            listen(who, store, plan.name, rater=who.name, seed=seed, stream=2, progress=bars)
            spent = len(store.ratings(plan.name))
            stage.say(f"      resumed {before} ratings from {out / STORE_NAME}, "
                      f"{spent - before} new")
        with stage("estimate", "perceptual gradients from the store"):
            est = from_store(store, plan.name, space.points)
        net_config = ScoreNetConfig.for_estimate(est, seed=seed)
        if cfg.train_steps is not None:
            net_config = net_config.with_(steps=cfg.train_steps)
        with stage("train", f"score network, {net_config.steps} steps at lr {net_config.lr:g}"):
            net = train(est, net_config, progress=bars)
        with stage("sample", "Langevin, HumanGAN" + (" and the true-score floor"
                                                     if listener == "simulated" else "")):
            samples, gan_start, gan_config, ran_away = _sample(cfg, space, net, who, bars)
        with stage("evaluate", f"MUSHRA-style test, {cfg.eval_listeners} listeners x "
                               f"{cfg.eval_pages} pages"):
            eplan, ratings, eval_new = _evaluate(cfg, space, samples, who, store, bars)
        with stage("metrics", "variances, energy distances to p_H, mean ratings"):
            truth = who if isinstance(who, SimulatedListener) else None
            table = _table(cfg, space, samples, ratings, truth, spent, before, ran_away)
        result = {
            "command": command_line(asdict(cfg), asdict(ReproduceConfig()), out),
            "config": asdict(cfg), "table": table, "seconds": stage.seconds,
            "engine": {"estimate": asdict(est.options), "network": asdict(net.config),
                       "humangan_early": asdict(gan_config), "plan": plan.config,
                       "listener": repr(who)},
            "store": {"path": str(out / STORE_NAME), "nes_plan": plan.name,
                      "nes_ratings_planned": plan.n_ratings, "evaluation_plan": eplan.name,
                      "evaluation_ratings": len(store.ratings(eplan.name)),
                      "evaluation_ratings_new_this_run": eval_new},
            "machine": {"python": platform.python_version(), "platform": platform.platform(),
                        "hd_widgets": __version__},
        }
        with stage("report", "report.html and results.json"):
            write_html(out / "report.html", result, figures(
                space, est, net, samples, gan_start, ratings, D=None if truth is None else truth.D))
        (out / "results.json").write_text(json.dumps(result, indent=2))
    if verbose:
        print(f"\nwrote {out / 'report.html'} and {out / 'results.json'}\n\n{markdown_table(result)}")
    return result


def _sample(cfg: ReproduceConfig, space: FeatureSpace, net, who, bars: bool):
    """Samples of every method {kind: (particles, d)}, HumanGAN's start, its early-stop
    config, and {kind: ascent step} for a HumanGAN that ran away (its samples are kept:
    they are what the method gave, and the report says what happened)."""
    score = net.score_fn()
    run = dict(n=cfg.particles, alpha=cfg.alpha, n_steps=cfg.steps, seed=cfg.seed, progress=bars)
    samples = {"humandiffusion": langevin(score, space.points, **run).samples}
    gan = HumanGAN(HumanGANConfig(d=cfg.d, early_stop=cfg.gan_early_stop, seed=cfg.seed))
    gan.fit_data(space.points, progress=bars)                   # warm start on the real data
    gan_start = gan.sample(min(cfg.particles, 500), seed=cfg.seed)
    ran_away: dict[str, int] = {}                               # kind -> ascent step
    try:
        gan.fit(score, progress=bars)                           # the paper's early stop
    except HumanGANDivergence as err:                           # reported, not hidden; a
        ran_away["humangan_early"] = ran_away["humangan_collapsed"] = err.step  # runaway stays away
    samples["humangan_early"], early = gan.sample(cfg.particles, seed=cfg.seed), gan.config
    gan.config = gan.config.with_(early_stop=None, steps=cfg.gan_steps - cfg.gan_early_stop)
    if not ran_away:
        try:
            gan.fit(score, progress=bars)                       # trained on: it collapses
        except HumanGANDivergence as err:
            ran_away["humangan_collapsed"] = err.step
    samples["humangan_collapsed"] = gan.sample(cfg.particles, seed=cfg.seed)
    if isinstance(who, SimulatedListener):                      # the truth is known
        samples["floor"] = langevin(numpy_score_fn(who.score), space.points, **run).samples
        samples["pH"] = who.sample_pH(cfg.particles, _rng(cfg.seed, 3))
    return samples, gan_start, early, ran_away


def _evaluate(cfg: ReproduceConfig, space: FeatureSpace, samples: dict, who,
              store: RatingsStore, bars: bool):
    """Plan, store and answer the MUSHRA-style test; return plan, ratings by kind, new ratings."""
    kinds = [k for k in ("humandiffusion", "humangan_early", "humangan_collapsed", "pH")
             if k in samples]
    per_page = {"real": 2, **{k: 2 if k == "humandiffusion" else 1 for k in kinds},
                "reference": 1, "anchor": 1}
    eplan = store.add_plan(_named(mushra_plan(
        space.points, {k: samples[k] for k in kinds}, space.reference_point(),
        n_pages=cfg.eval_pages, per_page=per_page, seed=_rng(cfg.seed, 4),
        name=f"evaluation-b{cfg.budget}-s{cfg.seed}-d{cfg.d}")))
    new = sum(listen(who, store, eplan.name, rater=f"judge{i}", seed=cfg.seed, stream=100 + i,
                     progress=bars) * len(eplan[0].kinds) for i in range(cfg.eval_listeners))
    return eplan, evaluation_results(store, eplan.name), new


def _table(cfg: ReproduceConfig, space: FeatureSpace, samples: dict, ratings: dict,
           truth: SimulatedListener | None, spent: int, before: int,
           ran_away: dict[str, int] | None = None) -> dict:
    """Every number of the report's table (rows as in :data:`hd_widgets.report.ROWS`).

    Energy distances are measured to a fresh exact sample of p_H, independent of the
    ``pH`` row's, so that row shows the metric's resolution at this sample size.
    """
    target = None if truth is None else truth.sample_pH(cfg.particles, _rng(cfg.seed, 5))
    rows = {k: _summary(x, space.points, target)
            for k, x in {"real": space.points, **samples}.items()}
    rows.update(reference={}, anchor={})
    for k, row in rows.items():
        r = ratings.get(k, [])
        row["evaluation_mean"] = round(float(np.mean(r)), 4) if len(r) else None
        row["evaluation_n"] = int(len(r))
    for k, step in (ran_away or {}).items():
        rows[k]["ran_away_at_step"] = int(step)
    return {"ratings_spent": spent, "ratings_resumed": before,
            "ratings_new_this_run": spent - before, "rows": rows}
