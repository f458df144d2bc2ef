"""Reproduce the paper's experiment end to end, headless: ``python -m hd_widgets reproduce``.

Stages, each timed and reported on the terminal:

1. **space**     the feature space of the shipped corpus (or a given folder), dimension d;
2. **plan**      an NES plan spending ``budget`` ratings, stored in ``OUT/ratings.sqlite``;
3. **listen**    the chosen listener answers every query through the store. An interrupted
                 run resumes at the first unanswered query: the plan is seeded (same
                 settings, same plan) and the rating noise of each query is drawn from
                 (seed, query), so a resumed run stores what an uninterrupted one would;
4-7.             :func:`~hd_widgets.study.pipeline.run_pipeline` on the stored ratings:
                 **estimate** (NES gradients, D and regularised targets), **train** (the
                 score network), **sample** (Langevin from the real data) and
                 **humangan** (on the same score, early-stopped as its paper did, then
                 trained on until it collapses);
8. **truth**     where the truth is known (simulated listener): Langevin with the true
                 score (the floor) and exact samples of p_H;
9. **evaluate**  a MUSHRA-style test: listeners of the chosen kind rate real, generated,
                 hidden-reference and anchor clips (stored, resumable too);
10. **metrics**  variances, energy distances to p_H, mean ratings;
11. **report**   ``report.html`` (:mod:`hd_widgets.views.report`, written by the command
                 line, the layer above both stages) and ``results.json``.

With the audio listener the true p_H is unknown, so energy distances, the floor and the
p_H row are ``null``; variances and the evaluation still are reported.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
import hashlib
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

from .. import __version__
from ..method.metrics import energy_distance, variance_ratio
from ..method.sampling import langevin
from ..method.score import numpy_score_fn
from ..ratings import kinds
from ..ratings.budget import plan_for_budget
from ..ratings.answering import answer
from ..ratings.listeners import SimulatedListener
from ..ratings.plan import QueryPlan
from ..ratings.store import RatingsStore
from ..speech.corpus import Corpus
from ..speech.space import FeatureSpace
from .config import ReproduceConfig
from .evaluation import evaluation_results, mushra_plan
from .config import round_shares
from .pipeline import PipelineConfig, PipelineResult, humangan_pair, run_pipeline
from .rounds import RoundsConfig, RoundsStudy

__all__ = ["reproduce", "Reproduction", "Stages", "nes_plan_for", "command_line",
           "STORE_NAME", "STAGES"]

STORE_NAME = "ratings.sqlite"
STAGES = ("space", "plan", "listen", "estimate", "train", "sample", "humangan", "truth",
          "evaluate", "metrics", "report")


@dataclass
class Stages:
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


def _space(corpus: str | Path | Corpus | None, d: int) -> tuple[FeatureSpace, list]:
    """The feature space of a folder of recordings (or a corpus already read from one),
    or of the shipped corpus (None), and the files left out of it as (name, reason)."""
    if corpus is None:
        return FeatureSpace.default(d), []
    if not isinstance(corpus, Corpus):
        corpus = Corpus.from_folder(corpus, errors="skip")
    return FeatureSpace.fit(corpus, d), list(corpus.skipped)


def _listener(kind: str, space: FeatureSpace, seed: int):
    """A listener of the given kind; only its D matters here (noise is drawn per query)."""
    if kind == "simulated":
        return SimulatedListener.from_data(space.points, seed=seed, name="simulated")
    from ..ratings.audio_listener import AudioListener
    return AudioListener(space, seed=seed, name="audio").fit()


def _named(plan: QueryPlan) -> QueryPlan:
    """The plan renamed ``<name>-<hash of its content>``: reruns with the same settings find
    it (and its ratings) again; a different space or sample never clashes with it."""
    tag = hashlib.sha256(plan.fingerprint().encode()).hexdigest()[:8]
    return replace(plan, name=f"{plan.name}-{tag}")


def _rounds_config(cfg: ReproduceConfig) -> RoundsConfig:
    return RoundsConfig(budget=cfg.budget, shares=round_shares(cfg.rounds), seed=cfg.seed,
                        alpha=cfg.alpha, steps=cfg.steps, network={} if cfg.train_steps is None
                        else {"steps": cfg.train_steps})


def study_name(space: FeatureSpace, cfg: ReproduceConfig) -> str:
    """The run's study name, ``study-b<budget>-s<seed>-d<d>-r<rounds>-<hash>``: reruns with the
    same settings and space find it (and its ratings) again; anything else never clashes."""
    body = json.dumps({"points": space.points.round(12).tolist(),
                       "rounds": asdict(_rounds_config(cfg))}, sort_keys=True, default=str)
    tag = hashlib.sha256(body.encode()).hexdigest()[:8]
    return f"study-b{cfg.budget}-s{cfg.seed}-d{cfg.d}-r{cfg.rounds}-{tag}"


def nes_plan_for(space: FeatureSpace, budget: int, seed: int) -> QueryPlan:
    """The run's NES plan: package defaults, about ``budget`` ratings, seeded."""
    return _named(plan_for_budget(space.points, budget, seed=_rng(seed, 1),
                                  name=f"nes-b{budget}-s{seed}-d{space.d}"))


def _summary(x: np.ndarray, real: np.ndarray, exact: np.ndarray | None) -> dict:
    """Variance, variance ratio to the real data and energy distance to p_H of a sample."""
    return {"variance": round(float(np.var(x, axis=0).sum()), 4),
            "variance_ratio": round(variance_ratio(x, real), 4),
            "energy_to_pH": None if exact is None else round(energy_distance(x, exact), 5)}


def command_line(config: dict, out) -> str:
    """The shell command that reruns ``config`` (every option that differs from the default)."""
    defaults = asdict(ReproduceConfig())
    # the CLI's options
    flags = ("budget", "seed", "listener", "d", "rounds", "corpus", "alpha", "steps")
    args = [f"--{k} {config[k]}" for k in flags if config[k] != defaults[k]]
    return " ".join(["python -m hd_widgets reproduce", *args, f"--out {out}"])


@dataclass(repr=False)
class Reproduction:
    """A finished run: its numbers (``result``, what results.json holds) and the objects
    the report draws (space, estimate, network, samples, evaluation ratings, true D)."""

    result: dict
    space: FeatureSpace
    estimate: object
    network: object
    samples: dict
    gan_start: np.ndarray
    ratings: dict
    D: object = None                 # the true naturalness, where the listener knows it

    def write_results(self, out: str | Path) -> Path:
        """Write ``results.json`` into ``out``; returns its path."""
        path = Path(out) / "results.json"
        path.write_text(json.dumps(self.result, indent=2))
        return path

    def __repr__(self) -> str:
        t = self.result["table"]
        return (f"Reproduction(budget={self.result['config']['budget']}, "
                f"ratings_spent={t['ratings_spent']}, store={self.result['store']['path']!r})")


def reproduce(*, budget: int = 5000, seed: int = 0, listener: str = "simulated",
              out: str | Path = "hd_reproduce", corpus: str | Path | Corpus | None = None,
              d: int = 2, verbose: bool = True, stages: Stages | None = None,
              **settings) -> Reproduction:
    """Run stages 1-8 (module docstring), keeping every rating in ``out/ratings.sqlite``.

    ``settings`` are the other fields of :class:`~hd_widgets.study.config.ReproduceConfig`
    (particles, alpha, steps, train_steps, gan_early_stop, gan_steps, eval_pages,
    eval_listeners). The report and results.json are written by
    ``python -m hd_widgets reproduce`` (:func:`hd_widgets.__main__.run`), which calls this.
    """
    where = (corpus.folder or "a corpus given in memory") if isinstance(corpus, Corpus) else corpus
    cfg = ReproduceConfig(budget=budget, seed=seed, listener=listener, d=d,
                          corpus=None if where is None else str(where), **settings)
    out = Path(out)
    stage = Stages(verbose) if stages is None else stages
    bars = verbose and sys.stderr.isatty()       # inner progress bars only on a terminal
    with stage("space", f"feature space of {cfg.corpus or 'the shipped corpus'}, d = {d}"):
        space, skipped = _space(corpus, d)
        who = _listener(listener, space, seed)
        for name, why in skipped:                  # never left out silently, --quiet or not
            print(f"hd_widgets reproduce: left out of the corpus: {name}: {why}", file=sys.stderr)
    out.mkdir(parents=True, exist_ok=True)       # only once the corpus proved usable
    with RatingsStore(out / STORE_NAME) as store:
        pipe = PipelineConfig(seed=seed, particles=cfg.particles, alpha=cfg.alpha,
                              steps=cfg.steps, gan_early_stop=cfg.gan_early_stop,
                              gan_steps=cfg.gan_steps, network_changes={} if cfg.train_steps
                              is None else {"steps": cfg.train_steps})
        if cfg.rounds == 1:
            with stage("plan", f"NES plan for {budget} ratings"):
                plan = store.add_plan(nes_plan_for(space, budget, seed))
            plans = [plan]
            with stage("listen", f"the {listener} listener rates {len(plan)} pairs"):
                before = len(store.ratings(plan.name, rater=who.name))
                answer(who, store, plan.name, rater=who.name, seed=(seed, 2), progress=bars)
                spent = len(store.ratings(plan.name))
                stage.say(f"      resumed {before} ratings from {out / STORE_NAME}, "
                          f"{spent - before} new")
            run = run_pipeline(space.points, pipe, store=store, plan=plan, progress=bars,
                               stages=stage)
            start = "data"
        else:
            with stage("plan", f"a study of {budget} ratings in {cfg.rounds} rounds"):
                study = RoundsStudy(store, space.points, _rounds_config(cfg),
                                    name=study_name(space, cfg))
            with stage("listen", f"the {listener} listener rates round by round (each next "
                                 f"round fitted and planned on the ratings so far)"):
                before = len([r for p in study.plans()
                              for r in store.ratings(p.name, rater=who.name)])
                study.rate_with(who, seed=(seed, 2))
                plans = study.plans()
                spent = sum(len(store.ratings(p.name)) for p in plans)
                stage.say(f"      resumed {before} ratings from {out / STORE_NAME}, "
                          f"{spent - before} new, in {len(plans)} rounds")
            fit = study.fit(particles=cfg.particles, stages=stage)
            start = fit.start
            study.close()
            run = PipelineResult(plans[0], fit.estimate, fit.network,
                                 {kinds.HUMANDIFFUSION: fit.samples})
            with stage("humangan", "HumanGAN on the same score, early-stopped, then trained on"):
                gan_samples, run.gan_start, run.gan_config, run.ran_away = humangan_pair(
                    fit.network.score_fn(), space.points, pipe, progress=bars)
            run.samples.update(gan_samples)
        samples = dict(run.samples)
        if isinstance(who, SimulatedListener):                      # the truth is known
            with stage("truth", "the true-score floor and exact samples of p_H"):
                samples["floor"] = langevin(numpy_score_fn(who.score), space.points,
                                            n=cfg.particles, alpha=cfg.alpha, n_steps=cfg.steps,
                                            seed=cfg.seed, progress=bars).samples
                samples[kinds.PH] = who.sample_pH(cfg.particles, _rng(cfg.seed, 3))
        with stage("evaluate", f"MUSHRA-style test, {cfg.eval_listeners} listeners x "
                               f"{cfg.eval_pages} pages"):
            eplan, ratings, eval_new = _evaluate(cfg, space, samples, who, store, bars)
        with stage("metrics", "variances, energy distances to p_H, mean ratings"):
            truth = who if isinstance(who, SimulatedListener) else None
            table = _table(cfg, space, samples, ratings, truth, spent, before, run.ran_away)
        result = {
            "command": command_line(asdict(cfg), out),
            "config": asdict(cfg), "table": table, "seconds": stage.seconds,
            "engine": {"estimate": asdict(run.estimate.options),
                       "network": asdict(run.network.config),
                       "networks": len(getattr(run.network, "networks", [run.network])),
                       "humangan_early": asdict(run.gan_config), "plan": plans[0].config,
                       "listener": repr(who)},
            "rounds": [{"round": int(p.config.get("round", 0)), "plan": p.name,
                        "ratings": len(store.ratings(p.name)),
                        "points": int(p.config["n_periphery"]),
                        "fitted_on_ratings": int(p.config.get("lineage", {}).get("ratings", 0)),
                        "chains_from": p.config.get("lineage", {}).get("start"),
                        "networks_trained": p.config.get("lineage", {}).get("training")}
                       for p in plans],
            "chains_from": start,          # where the final fit's Langevin chains started
            "store": {"path": str(out / STORE_NAME), "nes_plan": plans[0].name,
                      "nes_plans": [p.name for p in plans],
                      "nes_ratings_planned": sum(p.n_ratings for p in plans),
                      "evaluation_plan": eplan.name,
                      "evaluation_ratings": len(store.ratings(eplan.name)),
                      "evaluation_ratings_new_this_run": eval_new},
            "corpus_skipped": [{"file": n, "reason": r} for n, r in skipped],
            "machine": {"python": platform.python_version(), "platform": platform.platform(),
                        "hd_widgets": __version__},
        }
    return Reproduction(result, space, run.estimate, run.network, samples, run.gan_start,
                        ratings, None if truth is None else truth.D)


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
    new = sum(answer(who, store, eplan.name, rater=f"judge{i}", seed=(cfg.seed, 100 + i),
                     progress=bars) * len(eplan[0].kinds) for i in range(cfg.eval_listeners))
    return eplan, evaluation_results(store, eplan.name), new


def _table(cfg: ReproduceConfig, space: FeatureSpace, samples: dict, ratings: dict,
           truth: SimulatedListener | None, spent: int, before: int,
           ran_away: dict[str, int] | None = None) -> dict:
    """Every number of the report's table (rows as in :data:`hd_widgets.views.report.ROWS`,
    plus ``ran_away_at_step`` where HumanGAN ran away).

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
