"""Settings of a reproduction run, checked before any work starts (no heavy imports).

The command line (``python -m hd_widgets reproduce``) validates its arguments through
:class:`ReproduceConfig` itself, so a bad argument gets its one-line error in well under a
second, before the space is built or a store is created; that is why this module imports
neither torch nor the engine.
"""
from __future__ import annotations

from dataclasses import dataclass
import math

__all__ = ["ReproduceConfig", "LISTENERS", "MIN_BUDGET", "MAX_BUDGET", "MAX_STEPS",
           "MAX_PARTICLES"]

LISTENERS = ("simulated", "audio")
MIN_BUDGET = 40          # 20 pairs: less gives the network too little to fit
MAX_BUDGET = 200_000     # ratings: more than any crowd study; a plan this size is ~20 MB
MAX_STEPS = 100_000      # Langevin steps (alpha * steps is the time the particles travel)
MAX_PARTICLES = 200_000  # samples per method: the energy distances are O(n^2) in time


def round_shares(rounds: int) -> tuple[float, ...]:
    """Each round's share of the budget: 40 % for round 0, the rest split evenly."""
    return (1.0,) if rounds == 1 else (0.4,) + (0.6 / (rounds - 1),) * (rounds - 1)


def _min_budget(rounds: int) -> int:
    """The smallest budget that gives every round 10 pairs (as study/rounds.py requires)."""
    return int(math.ceil(20 / min(round_shares(rounds)))) + 2 * rounds


def _whole(value, name: str, low: int, high: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low or \
            (high is not None and value > high):
        bound = f"between {low} and {high:,}" if high is not None else f"at least {low}"
        raise ValueError(f"{name} must be a whole number {bound}, got {value!r}")


@dataclass(frozen=True)
class ReproduceConfig:
    """Settings of a reproduction run (all written to results.json)."""

    budget: int = 5000           # ratings spent on perceptual gradients (the study budget)
    seed: int = 0                # every random choice derives from it
    listener: str = "simulated"  # "simulated" (known truth) or "audio" (hears the clips)
    d: int = 2                   # dimension of the feature space
    rounds: int = 3              # a study in rounds (study/rounds.py); 1: the fixed plan
    corpus: str | None = None    # folder of recordings; None = the shipped corpus
    particles: int = 5000        # Langevin particles, HumanGAN samples, exact p_H samples
    alpha: float = 0.01          # Langevin step size (alpha * steps = 10 time units)
    steps: int = 1000            # Langevin steps
    train_steps: int | None = None  # score-network Adam steps; None: ScoreNetConfig.for_estimate's
    gan_early_stop: int = 25     # ascent steps of the early-stopped HumanGAN
                                 # (its paper's heuristic)
    gan_steps: int = 1000        # ascent steps in all of the trained-on HumanGAN
    eval_pages: int = 12         # MUSHRA pages per evaluation listener
    eval_listeners: int = 5      # evaluation listeners

    def __post_init__(self) -> None:
        if self.listener not in LISTENERS:
            raise ValueError(f"unknown listener {self.listener!r} "
                             f"(choose {' or '.join(LISTENERS)})")
        _whole(self.budget, "budget (ratings)", MIN_BUDGET, MAX_BUDGET)
        _whole(self.seed, "seed", 0)
        _whole(self.d, "d", 1)
        _whole(self.rounds, "rounds", 1, 10)
        if self.rounds > 1 and self.budget < _min_budget(self.rounds):
            raise ValueError(f"budget (ratings) {self.budget} is too small for "
                             f"{self.rounds} rounds: give at least {_min_budget(self.rounds)}, "
                             f"or --rounds 1 (the fixed plan)")
        _whole(self.particles, "particles", 2, MAX_PARTICLES)
        _whole(self.steps, "steps", 1, MAX_STEPS)
        if self.train_steps is not None:
            _whole(self.train_steps, "train_steps", 0, MAX_STEPS)
        if not (isinstance(self.alpha, (int, float)) and math.isfinite(self.alpha)
                and self.alpha > 0):
            raise ValueError(f"alpha must be a finite number > 0, got {self.alpha!r}")
        _whole(self.gan_steps, "gan_steps", 1, MAX_STEPS)
        _whole(self.gan_early_stop, "gan_early_stop", 1, self.gan_steps)
        _whole(self.eval_pages, "eval_pages", 1, 10_000)
        _whole(self.eval_listeners, "eval_listeners", 1, 1000)
