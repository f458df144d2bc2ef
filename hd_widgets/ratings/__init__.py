"""Stage 2, ratings: what people are asked, who answers, and where the answers are kept.

kinds (the clip-kind vocabulary) -> plan (queries: pages of clips) and budget (plans
that spend a number of ratings) -> listeners (people's stand-ins: simulated, or judging
the audio) -> store (every rating, append-only, durable, shared by a class; a SQLite
file or a PostgreSQL server: stored_plans, writes, resume, statements, database, server,
schema, export).
Imports from speech only.
"""
from .._lazy import lazy_names

__getattr__, __dir__, __all__ = lazy_names(__name__, {
    "Query": "plan", "QueryPlan": "plan", "nes_plan": "plan", "nes_arrays": "plan",
    "evaluation_plan": "plan",
    "plan_for_budget": "budget", "grid_plan": "budget", "grid_axes": "budget",
    "RatingsStore": "store", "RatingError": "store", "Rating": "store",
    "StoreUnreachable": "store",
    "Listener": "listeners", "SimulatedListener": "listeners", "answer": "answering",
    "AudioListener": "audio_listener",
})
