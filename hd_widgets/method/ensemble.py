"""Several score networks fitted to the same targets, their scores averaged.

One network's training draw (its initial weights and minibatch order) moves the
learned field as much as the ratings do at small budgets. Averaging the scores of a few
networks trained from different seeds steadies the sampler, and their disagreement
(the spread of their D heads) says where the ratings leave the model unsure -- which is
where a study in rounds asks next (:mod:`hd_widgets.study.rounds`).

A :class:`ScoreEnsemble` offers what a single :class:`~hd_widgets.method.network.ScoreNet`
offers the sampler and the views -- ``score_fn()``, ``score(x)``, ``predict(x)`` -- so it
plugs in wherever a network does.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from .estimation import Estimate
from .network import ScoreNet, ScoreNetConfig
from .score import ScoreFn
from .training import fit_networks

__all__ = ["ScoreEnsemble", "train_ensemble"]


class ScoreEnsemble:
    """Networks whose scores are averaged: s(x) = mean_i g_i(x) / max(D_i(x), eps).

    Parameters
    ----------
    networks : sequence of ScoreNet
        Trained on the same targets (same d and eps).
    """

    def __init__(self, networks: Sequence[ScoreNet]) -> None:
        nets = list(networks)
        if not nets:
            raise ValueError("an ensemble needs at least one network")
        if len({(n.config.d, n.config.eps) for n in nets}) != 1:
            raise ValueError("the networks of an ensemble must share d and eps")
        self.networks = nets
        self.config = nets[0].config

    def __len__(self) -> int:
        return len(self.networks)

    def score_fn(self) -> ScoreFn:
        """The averaged score as a tensor function (n, d) -> (n, d), without autograd."""
        fns = [n.score_fn() for n in self.networks]
        m = float(len(fns))

        def mean_score(x: torch.Tensor) -> torch.Tensor:
            out = fns[0](x).clone()
            for f in fns[1:]:
                out.add_(f(x))
            return out.div_(m)
        return mean_score

    def score(self, x: np.ndarray) -> np.ndarray:
        """The averaged score at points (n, d), float64 (n, d)."""
        return np.mean([n.score(np.asarray(x, dtype=np.float64)) for n in self.networks], axis=0)

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean D (n,) and mean g (n, d) over the networks, float64 (for plots)."""
        Ds, gs = zip(*(n.predict(x) for n in self.networks))
        return np.mean(Ds, axis=0), np.mean(gs, axis=0)

    def disagreement(self, x: np.ndarray) -> np.ndarray:
        """Standard deviation of the networks' D heads at points (n, d), shape (n,);
        0 for a single network."""
        Ds = np.array([n.predict(x)[0] for n in self.networks])
        return Ds.std(axis=0)

    def __repr__(self) -> str:
        c = self.config
        return f"ScoreEnsemble({len(self)} networks, d={c.d}, hidden={c.hidden}, eps={c.eps})"


def train_ensemble(est: Estimate, n: int = 3, *, seed: int = 0,
                   config: ScoreNetConfig | None = None, progress: bool = False) -> ScoreEnsemble:
    """``n`` networks on ``est``, seeded ``seed``, ``seed + 1``, ...; ``config`` (default
    ``ScoreNetConfig.for_estimate(est)``) sets everything else. They train together
    (:func:`~hd_widgets.method.training.fit_networks`), each as it would alone."""
    if int(n) != n or n < 1:
        raise ValueError(f"n (networks) must be a whole number >= 1, got {n!r}")
    base = ScoreNetConfig.for_estimate(est) if config is None else config
    nets = [ScoreNet(base.with_(seed=seed + i)) for i in range(int(n))]
    return ScoreEnsemble(fit_networks(nets, est, progress=progress))   # in one loop
