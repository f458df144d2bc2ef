"""The one currency between estimation, network, sampler and views: a score function of x.

The score of the human-acceptable distribution p_H(x) = D(x) / Z is grad log p_H =
grad D / D. The package estimates D and grad D (docs/method.md, items 3-6) and the
network learns both as two heads, so the score it hands on is

    s(x) = g(x) / max(D(x), eps)                                   (docs/method.md, item 7)

:func:`score_from_heads` is that formula, and the only place it is written: the
estimate's targets, the network's score, its fast score function, the benches and the
views all call it. A :data:`ScoreFn` maps a float32 tensor of points (n, d) to their
scores (n, d); the sampler and HumanGAN see nothing else.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable, TypeVar

import numpy as np

if TYPE_CHECKING:          # torch loads only where a tensor score is built or called
    import torch

__all__ = ["ScoreFn", "score_from_heads", "numpy_score_fn"]

ScoreFn = Callable[["torch.Tensor"], "torch.Tensor"]   # (n, d) float32 -> (n, d)
Array = TypeVar("Array", np.ndarray, "torch.Tensor")


def score_from_heads(D: Array, g: Array, eps: float, *, out: Array | None = None) -> Array:
    """The score g / max(D, eps) from the naturalness D and its gradient g.

    Parameters
    ----------
    D : ndarray or Tensor, shape (n,)
        Naturalness in [0, 1] (the estimate's D, or the network's D head).
    g : ndarray or Tensor, shape (n, d)
        Gradient of D (or a regularised target for it).
    eps : float
        Floor on D: where D is near 0 the score would amplify any noise in g without it.
    out : Tensor, shape (n,), optional
        Tensor inputs only: a buffer that receives max(D, eps) in place; it may be ``D``
        itself (the network's fast score function reuses its own buffers).

    Returns
    -------
    ndarray or Tensor, shape (n, d), of the inputs' kind.
    """
    if not isinstance(D, np.ndarray) and hasattr(D, "clamp_min"):     # a torch Tensor
        floor = D.clamp_min_(eps) if out is D else (
            D.clamp_min(eps) if out is None else out.copy_(D).clamp_min_(eps))
        return g / floor.reshape(-1, 1)
    return np.asarray(g) / np.maximum(np.asarray(D), eps).reshape(-1, 1)


def numpy_score_fn(f: Callable[[np.ndarray], np.ndarray]) -> ScoreFn:
    """Wrap a NumPy score ``(n, d) float64 -> (n, d)`` (e.g. a simulated listener's true
    ``score``) as a tensor :data:`ScoreFn`."""
    import torch

    def score(x: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(np.asarray(f(x.numpy().astype(np.float64)), dtype=np.float32))
    return score
