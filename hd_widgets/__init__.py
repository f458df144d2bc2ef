"""hd_widgets: HumanDiffusion you can hear, rate and watch inside Jupyter.

People rate how natural short vowel clips sound; from their ratings the package
estimates the gradient of naturalness, trains a small score network, and samples the
human-acceptable distribution with Langevin dynamics (Ueda et al., Interspeech 2023),
next to the HumanGAN baseline (Fujii et al., ICASSP 2020).

The names below load on first use, so ``import hd_widgets`` stays light and headless;
only the widget and plot modules import ipywidgets / Plotly.
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

_LAZY = {
    # feature space
    "Corpus": "corpus", "CorpusError": "corpus", "FeatureSpace": "space",
    # listeners and store
    "Query": "plan", "QueryPlan": "plan", "nes_plan": "plan", "evaluation_plan": "plan",
    "RatingsStore": "store", "RatingError": "store",
    "SimulatedListener": "listeners", "answer": "listeners",
    "AudioListener": "audio_listener",
    "RatingWidget": "widget", "EvaluationWidget": "evaluation_widget",
    "ClassroomDashboard": "classroom_widget", "players": "player_row", "LiveGradient": "live",
    # estimation, network, sampling
    "EstimateOptions": "estimate", "plan_for_budget": "estimate", "from_store": "estimate",
    "PairRatings": "estimate", "from_plan": "estimate",
    "ScoreNet": "network", "ScoreNetConfig": "network", "train": "network",
    "LangevinDivergence": "langevin", "init_from_data": "langevin", "numpy_score_fn": "langevin",
    # the sampler itself: `from hd_widgets.langevin import langevin` (a lazy name would
    # be shadowed by the submodule of the same name once it is imported)
    "HumanGAN": "humangan", "HumanGANConfig": "humangan", "HumanGANDivergence": "humangan",
    "PerceptionMap": "baselines", "grid_plan": "baselines",
    "energy_distance": "metrics", "variance_ratio": "metrics",
    # evaluation and classroom
    "mushra_plan": "evaluation", "screen_raters": "evaluation",
    # seeding
    "seed_all": "seeding",
}

__all__ = sorted(_LAZY) + ["__version__"]


def __getattr__(name: str):
    if name in _LAZY:
        module = importlib.import_module(f".{_LAZY[name]}", __name__)
        return getattr(module, name)
    raise AttributeError(f"module 'hd_widgets' has no attribute {name!r}")


def __dir__():
    return __all__
