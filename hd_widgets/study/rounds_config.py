"""A study's settings, fixed before anyone listens (docs/method.md, "Rounds").

:class:`RoundsConfig` holds the whole budget and each round's share of it, the seed, and
how every fit samples (where its chains start, the pull home beyond the reach of the
ratings, the networks it averages); ``RoundsConfig.fixed()`` is today's fixed plan as a
study of one round. :class:`~hd_widgets.study.rounds.RoundsStudy` runs a study by them.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ..method.estimation import EstimateOptions

__all__ = ["RoundsConfig", "MIN_ROUND_PAIRS"]

MIN_ROUND_PAIRS = 10     # a round asks at least this many pairs (20 ratings)


@dataclass(frozen=True)
class RoundsConfig:
    """A study's settings, all fixed before anyone listens."""

    budget: int = 500                  # ratings in all rounds together
    shares: tuple[float, ...] = (0.4, 0.3, 0.3)   # each round's share of the budget
    seed: int = 0                      # round 0's plan, every fit, every Langevin run
    sigma_p: float = 1.0               # round 0's periphery scale, and the pull's scale
    sigma_nes: float = 0.3             # the perturbation scale of every pair
    particles: int = 2000              # Langevin particles that propose the next round's points
    alpha: float = 0.01                # Langevin step size (for proposing and for sampling)
    steps: int = 1000                  # Langevin steps from the real data (proposing; start="data")
    start: str = "auto"                # where chains start: "data" (the real voices, the
                                       # paper's), "resampled" (from the model's own D), or
                                       # "auto": resampled where that rests on enough
                                       # proposals (min_ess), else the data (docs/method.md)
    min_ess: float = 0.25              # "auto": the effective share of proposals it needs
    refine_steps: int = 100            # Langevin steps after resampled starts
    start_schedule: str = "auto"       # the networks whose D places resampled starts:
                                       # "short" (trained on ScoreNetConfig's short schedule;
                                       # the score's own when they are), "score" (the
                                       # score's networks), or "auto": the score's where
                                       # their proposals' effective share is at least
                                       # min_ess, else "short" (docs/method.md)
    spread: float = 1.0                # resampled starts: proposal width (x the data's covariance)
    floor: float = 0.1                 # weight of rated-and-certain regions: (4 D (1 - D) + floor)
    final_long_per_dim: float | None = 50   # the final fit's networks train on the long
                                       # schedule from this many rated pairs per dimension
                                       # (d = 2: 100 pairs, d = 5: 250), or from
                                       # LONG_SCHEDULE_PAIRS if that comes first; None: from
                                       # LONG_SCHEDULE_PAIRS only, as every round-planning
                                       # fit (docs/method.md, "Rounds")
    plan_long_per_dim: float | None = None  # the same rule for the round-planning fits
                                       # (None: LONG_SCHEDULE_PAIRS only; docs/budget.md)
    denoise: bool = True               # the final fit's samples: the chains' last step
                                       # without its noise, x + alpha s(x) (Tweedie's mean;
                                       # docs/method.md, "The last step's noise"); the
                                       # round-planning chains keep theirs
    home_beyond_reach: bool = True     # sample with the pull home where no rating reaches
                                       # (hd_widgets.method.far.home_beyond_reach)
    round_networks: int = 1            # networks fitted between rounds
    final_networks: int = 3            # networks averaged in the final fit
    estimate: EstimateOptions = field(default_factory=EstimateOptions)
    network: dict = field(default_factory=dict)   # ScoreNetConfig changes, e.g. {"steps": 400}

    def __post_init__(self) -> None:
        if isinstance(self.budget, bool) or not isinstance(self.budget, int) or self.budget < 1:
            raise ValueError(f"budget must be a whole number of ratings, got {self.budget!r}")
        shares = tuple(float(s) for s in self.shares)
        if not shares or any(not s > 0 for s in shares):
            raise ValueError(f"shares must be positive, got {self.shares!r}")
        object.__setattr__(self, "shares", tuple(s / sum(shares) for s in shares))
        if len(self.shares) > 1 and min(self.sizes()) < 2 * MIN_ROUND_PAIRS:
            raise ValueError(
                f"a budget of {self.budget} ratings is too small for {len(self.shares)} rounds "
                f"of shares {[round(s, 2) for s in self.shares]}: each round needs at least "
                f"{2 * MIN_ROUND_PAIRS} ratings ({MIN_ROUND_PAIRS} pairs); give at least "
                f"{self.min_budget()} ratings or fewer rounds (shares=(1,) is the fixed plan)")
        for name in ("denoise", "home_beyond_reach"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be True or False, got {getattr(self, name)!r}")
        if self.start not in ("auto", "resampled", "data"):
            raise ValueError(f"start must be 'auto', 'resampled' or 'data', got {self.start!r}")
        if self.start_schedule not in ("auto", "short", "score"):
            raise ValueError(f"start_schedule must be 'auto', 'short' or 'score', "
                             f"got {self.start_schedule!r}")
        for name in ("final_long_per_dim", "plan_long_per_dim"):
            per = getattr(self, name)
            if per is not None and (isinstance(per, bool) or not isinstance(per, (int, float))
                                    or not 0 < per < float("inf")):
                raise ValueError(f"{name} must be a positive number of rated pairs "
                                 f"per dimension, or None, got {per!r}")
        if not (isinstance(self.spread, (int, float)) and 0 < self.spread < float("inf")):
            raise ValueError(f"spread must be a positive number, got {self.spread!r}")
        if not (isinstance(self.min_ess, (int, float)) and 0 <= self.min_ess <= 1):
            raise ValueError(f"min_ess must be a share between 0 and 1, got {self.min_ess!r}")
        for name in ("round_networks", "final_networks", "particles", "steps", "refine_steps"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a whole number >= 1, got {v!r}")

    @classmethod
    def fixed(cls, **changes) -> "RoundsConfig":
        """Today's fixed plan as a study of one round (``shares=(1,)``)."""
        return cls(**{"shares": (1.0,), **changes})

    @property
    def rounds(self) -> int:
        return len(self.shares)

    def sizes(self) -> list[int]:
        """Ratings per round (even: whole pairs), summing to at most the budget."""
        pairs = self.budget // 2
        per = [int(np.floor(s * pairs)) for s in self.shares]
        per[0] += pairs - sum(per)                         # the remainder goes to round 0
        return [2 * p for p in per]

    def min_budget(self) -> int:
        """The smallest budget these shares can split into rounds of enough pairs."""
        return int(np.ceil(2 * MIN_ROUND_PAIRS / min(self.shares))) + len(self.shares) * 2

    def with_(self, **changes) -> "RoundsConfig":
        return replace(self, **changes)
