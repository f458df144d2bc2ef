"""Stage 4, study: the experiment as a whole, headless.

pipeline (plan -> ratings -> estimate -> train -> sample, and HumanGAN) -> reproduction
(``python -m hd_widgets reproduce``: the paper's experiment with a report) and claims
(the paper's claims, checked against a run's numbers); evaluation (the MUSHRA-style
listening test) and classroom (a class rating into one store).
Imports from speech, ratings and method only.
"""
from .._lazy import lazy_names

__getattr__, __dir__, __all__ = lazy_names(__name__, {
    "PipelineConfig": "pipeline", "PipelineResult": "pipeline", "run_pipeline": "pipeline",
    "ReproduceConfig": "config",
    "RoundsConfig": "rounds", "RoundsStudy": "rounds", "RoundsResult": "rounds",
    "reproduce": "reproduction",
    "Claim": "claims", "check_claims": "claims", "sample_spread_claim": "claims",
    "mushra_plan": "evaluation", "screen_raters": "evaluation", "RaterScreen": "evaluation",
    "evaluation_results": "evaluation",
    "class_status": "classroom", "agreement": "classroom", "pooled_table": "classroom",
    "RaterStatus": "classroom",
})
