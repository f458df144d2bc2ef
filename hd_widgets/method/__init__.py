"""Stage 3, method: from ratings to the human-acceptable distribution (docs/method.md).

pairs (rated perturbation pairs) -> estimation (NES gradient, D, regularised targets)
-> network and training (the two-headed score network) -> score (the one currency:
a score function of x) -> sampling (Langevin) and humangan (the baseline); grid (the
directly rated baseline) and metrics (how close a sample is to p_H).
Imports from speech and ratings only; torch loads on first use of a name that needs it.
"""
from .._lazy import lazy_names

__getattr__, __dir__, __all__ = lazy_names(__name__, {
    "ScoreFn": "score", "score_from_heads": "score", "numpy_score_fn": "score",
    "PairRatings": "pairs",
    "kde_mode": "censored", "tobit_mean": "censored", "estimate_noise_sd": "censored",
    "EstimateOptions": "estimation", "Estimate": "estimation", "estimate": "estimation",
    "from_plan": "estimation", "from_store": "estimation",
    "far_points": "far",
    "ScoreNet": "network", "ScoreNetConfig": "network", "train": "training",
    "LangevinDivergence": "sampling", "LangevinResult": "sampling", "langevin": "sampling",
    "init_from_data": "sampling",
    "HumanGAN": "humangan", "HumanGANConfig": "humangan", "HumanGANDivergence": "humangan",
    "PerceptionMap": "grid", "ScoreEnsemble": "ensemble", "train_ensemble": "ensemble",
    "from_plans": "estimation", "from_store_plans": "estimation",
    "energy_distance": "metrics", "variance_ratio": "metrics", "mean_distance": "metrics",
    "fidelity": "metrics", "paired_difference": "metrics",
})
