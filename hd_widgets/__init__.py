"""hd_widgets: HumanDiffusion you can hear, rate and watch inside Jupyter.

People rate how natural short vowel clips sound; from their ratings the package
estimates the gradient of naturalness, trains a small score network, and samples the
human-acceptable distribution with Langevin dynamics (Ueda et al., Interspeech 2023),
next to the HumanGAN baseline (Fujii et al., ICASSP 2020).

The package is laid out as the data flows, one subpackage per stage; a stage imports
only the stages before it (``tests/test_layout.py`` holds it to that)::

    speech  ->  ratings  ->  method  ->  study  ->  views  ->  widgets
    corpus,     plans,       estimate,   pipeline,  Plotly     ipywidgets:
    WORLD,      store,       network,    reproduce, figures,   rating page,
    space       listeners    Langevin,   claims,    report     dashboard,
                             HumanGAN    classroom             listening map

The names below load on first use, so ``import hd_widgets`` stays light and headless;
only ``views`` imports Plotly and only ``widgets`` imports ipywidgets.
"""
from __future__ import annotations

from ._lazy import lazy_names

__version__ = "0.1.0"

__getattr__, __dir__, _names = lazy_names(__name__, {
    # speech
    "Corpus": "speech", "CorpusError": "speech", "FeatureSpace": "speech",
    "ClassRecordings": "speech", "check_recording": "speech",
    # ratings
    "Query": "ratings", "QueryPlan": "ratings", "nes_plan": "ratings",
    "evaluation_plan": "ratings", "plan_for_budget": "ratings", "grid_plan": "ratings",
    "RatingsStore": "ratings", "RatingError": "ratings",
    "SimulatedListener": "ratings", "AudioListener": "ratings", "answer": "ratings",
    # method
    "EstimateOptions": "method", "PairRatings": "method", "from_store": "method",
    "from_plan": "method", "ScoreNet": "method", "ScoreNetConfig": "method", "train": "method",
    "ScoreFn": "method", "langevin": "method", "LangevinDivergence": "method",
    "init_from_data": "method", "numpy_score_fn": "method",
    "HumanGAN": "method", "HumanGANConfig": "method", "HumanGANDivergence": "method",
    "PerceptionMap": "method", "energy_distance": "method", "variance_ratio": "method",
    "fidelity": "method",
    # study
    "PipelineConfig": "study", "run_pipeline": "study", "reproduce": "study",
    "RoundsConfig": "study", "RoundsStudy": "study",
    "mushra_plan": "study", "screen_raters": "study", "evaluation_results": "study",
    "pooled_table": "study", "class_status": "study",
    # widgets
    "RatingWidget": "widgets", "EvaluationWidget": "widgets",
    "ClassroomDashboard": "widgets", "players": "widgets", "LiveGradient": "widgets",
    "listening_map": "widgets", "ListeningMap": "widgets", "StudyWidget": "widgets",
    "Recorder": "widgets",
    # notebooks
    "seed_all": "seeding",
})
__all__ = _names + ["__version__"]
