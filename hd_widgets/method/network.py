"""The score network: an MLP that learns D(x) and its regularised gradient (docs/method.md, item 7).

    x (n, d) -> softplus MLP -> D_phi(x) = sigmoid(.)  (n,)   and   g_phi(x) (n, d)
    score s_phi(x) = g_phi(x) / max(D_phi(x), eps)
                                    (:func:`~hd_widgets.method.score.score_from_heads`)

:class:`ScoreNetConfig` holds the architecture and the training settings, each default
commented; :meth:`ScoreNet.fit` (or :func:`~hd_widgets.method.training.train`) fits it to an
:class:`~hd_widgets.method.estimation.Estimate` -- the losses are described in
:mod:`hd_widgets.method.training` and docs/method.md. The schedule follows the data
(:meth:`ScoreNetConfig.for_estimate`): below ``LONG_SCHEDULE_PAIRS`` rated pairs 1000 steps
at lr 3e-3, from there on 2000 steps at lr 1e-2 (the short schedule underfits large
budgets, the long one fits the rating noise of small ones; the benchmarks page gives the
figures). ``far_prior`` is a named option, off by default, for very small budgets
(docs/method.md, "Far prior").

The network's only export to the sampler is a score function ``score_fn(x) -> s``
(:meth:`ScoreNet.score_fn`), the one currency between network and sampler; its fast
form skips autograd, packs the two heads into one matrix and reuses buffers.
Save/load writes only tensors and a JSON-able config, read back with
``torch.load(weights_only=True)`` (no arbitrary unpickling).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace
import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from .score import ScoreFn, score_from_heads

if TYPE_CHECKING:
    from .estimation import Estimate

__all__ = ["ScoreNetConfig", "ScoreNet", "LONG_SCHEDULE_PAIRS"]

_FORMAT = "hd_widgets.ScoreNet/1"
LONG_SCHEDULE_PAIRS = 500   # rated pairs from which for_estimate trains longer and faster


@dataclass(frozen=True)
class ScoreNetConfig:
    """Architecture and training settings of :class:`ScoreNet`."""

    d: int = 2                  # input dimension of the feature space
    hidden: int = 64            # units per hidden layer
    layers: int = 3             # hidden softplus layers
    eps: float = 0.2            # floor on D in the score g / max(D, eps); match the estimate's
    lr: float = 3e-3            # Adam learning rate, cosine-decayed to lr / 20 (see for_estimate)
    steps: int = 1000           # Adam steps (for_estimate: 2000 from LONG_SCHEDULE_PAIRS pairs)
    batch: int = 256            # periphery points (or pairs) per step, as many observations
    obs_weight: float = 3.0     # weight of the direct D observations' loss term
    g_loss: str = "directional"  # "directional": per rated pair; "nes": g vs NES target (paper)
    consistency: float = 1.0    # weight of ||(g - reg) / scale - grad_x D_phi||^2 (paper: 0)
    far_prior: float = 0.0      # unrated points beyond the plan's reach, taken as D = 0, as a
                                # fraction of the periphery points (docs/method.md; off: 0)
    seed: int = 0               # initial weights, minibatch order, far points

    def __post_init__(self) -> None:
        if self.g_loss not in ("directional", "nes"):
            raise ValueError("g_loss must be 'directional' or 'nes'")
        if self.d < 1 or self.hidden < 1 or self.layers < 1 or self.steps < 0 or self.batch < 1:
            raise ValueError("d, hidden, layers, batch must be >= 1 and steps >= 0")
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr must be a finite number > 0, got {self.lr!r}")
        if not 0 < self.eps < 1:
            raise ValueError(f"eps must be in (0, 1), got {self.eps!r}")
        for name in ("obs_weight", "consistency"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, got {v!r}")
        if not (math.isfinite(self.far_prior) and self.far_prior >= 0):
            raise ValueError(f"far_prior must be a finite number >= 0, got {self.far_prior!r}")

    @classmethod
    def paper(cls, **changes) -> "ScoreNetConfig":
        """docs/method.md item 7 as written: MSE of g against the NES target, no
        consistency term.
        """
        return replace(cls(g_loss="nes", consistency=0.0, eps=0.05), **changes)

    @classmethod
    def for_estimate(cls, est: "Estimate", *, schedule: str = "auto",
                     **changes) -> "ScoreNetConfig":
        """Package defaults for these targets: ``d`` and ``eps`` from the estimate, and the
        schedule from its number of rated pairs (module docstring): 1000 steps at lr 3e-3
        below ``LONG_SCHEDULE_PAIRS``, 2000 steps at lr 1e-2 from there on. ``schedule``
        "short" or "long" picks one whatever the number of pairs."""
        if schedule not in ("auto", "short", "long"):
            raise ValueError(f"schedule must be 'auto', 'short' or 'long', got {schedule!r}")
        long = (len(est.pair_point) >= LONG_SCHEDULE_PAIRS if schedule == "auto"
                else schedule == "long")
        base = cls(d=est.d, eps=est.options.eps, steps=2000 if long else 1000,
                   lr=1e-2 if long else 3e-3)
        return replace(base, **changes)

    def with_(self, **changes) -> "ScoreNetConfig":
        return replace(self, **changes)


class ScoreNet(nn.Module):
    """Softplus MLP with a naturalness head D (sigmoid) and a gradient head g (linear).

    Parameters
    ----------
    config : ScoreNetConfig
        ``ScoreNet(ScoreNetConfig(d=5))``; weights are initialised from ``config.seed``.
    """

    def __init__(self, config: ScoreNetConfig | None = None) -> None:
        super().__init__()
        self.config = ScoreNetConfig() if config is None else config
        c = self.config
        with torch.random.fork_rng(devices=[]):   # nn.Linear's own init draws from the global
            layers, width = [], c.d                # RNG; fork keeps it untouched for the user
            for _ in range(c.layers):
                layers += [nn.Linear(width, c.hidden), nn.Softplus()]
                width = c.hidden
            self.body = nn.Sequential(*layers)
            self.head_D = nn.Linear(c.hidden, 1)
            self.head_g = nn.Linear(c.hidden, c.d)
        self.reset_parameters(c.seed)

    def reset_parameters(self, seed: int) -> None:
        """PyTorch's default Linear init, drawn from a generator seeded with ``seed``
        (never from the global RNG)."""
        gen = torch.Generator().manual_seed(int(seed))
        with torch.no_grad():
            for m in self.modules():
                if isinstance(m, nn.Linear):
                    nn.init.kaiming_uniform_(m.weight, a=math.sqrt(5), generator=gen)
                    bound = 1 / math.sqrt(m.weight.shape[1])
                    nn.init.uniform_(m.bias, -bound, bound, generator=gen)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (n, d) -> D (n,), g (n, d)."""
        if x.ndim != 2 or x.shape[1] != self.config.d:
            raise ValueError(f"expected points of shape (n, {self.config.d}), got {tuple(x.shape)}")
        h = self.body(x)                                   # (n, hidden)
        return torch.sigmoid(self.head_D(h)).squeeze(-1), self.head_g(h)

    def score(self, x: torch.Tensor | np.ndarray) -> torch.Tensor | np.ndarray:
        """s(x) = g(x) / max(D(x), eps); ndarray in -> ndarray out, shape (n, d)."""
        as_np = isinstance(x, np.ndarray)
        xt = torch.as_tensor(np.asarray(x, dtype=np.float32)) if as_np else x
        with torch.inference_mode():
            D, g = self(xt)
            s = score_from_heads(D, g, self.config.eps)
        return s.numpy().astype(np.float64) if as_np else s

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """D (n,) and g (n, d) as float64 arrays, for plots."""
        with torch.inference_mode():
            D, g = self(torch.as_tensor(np.asarray(x, dtype=np.float32)))
        return D.numpy().astype(np.float64), g.numpy().astype(np.float64)

    def score_fn(self, fast: bool = True) -> ScoreFn:
        """The score as a function of a float32 tensor (n, d) -> (n, d), without autograd.

        ``fast=True``: heads packed into one (hidden, 1 + d) matrix, transposed weights
        cached, bias add and softplus done in place in reused buffers, so one call
        allocates nothing but its output. The closure snapshots the current weights and,
        because of its buffers, is not safe to call from two threads at once.
        """
        if not fast:
            def plain(x: torch.Tensor) -> torch.Tensor:
                with torch.no_grad():
                    D, g = self(x)
                    return score_from_heads(D, g, self.config.eps)
            return plain
        lins = [m for m in self.body if isinstance(m, nn.Linear)]
        with torch.no_grad():
            Ws = [(m.weight.detach().t().contiguous().clone(), m.bias.detach().clone())
                  for m in lins]
            Wh = (torch.cat([self.head_D.weight, self.head_g.weight])
                  .detach().t().contiguous().clone())
            bh = torch.cat([self.head_D.bias, self.head_g.bias]).detach().clone()
        eps, hidden, d = self.config.eps, self.config.hidden, self.config.d
        bufs: list[torch.Tensor] = [torch.empty(0, hidden), torch.empty(0, hidden)]
        softplus_ = torch.ops.aten.softplus.out

        def fast_score(x: torch.Tensor) -> torch.Tensor:
            if x.ndim != 2 or x.shape[1] != d:
                raise ValueError(f"expected points of shape (n, {d}), got {tuple(x.shape)}")
            n = x.shape[0]
            if bufs[0].shape[0] < n:                         # grow once, then reuse row slices
                bufs[:] = [torch.empty(n, hidden), torch.empty(n, hidden)]
            with torch.inference_mode():
                h = x
                for i, (W, bias) in enumerate(Ws):
                    out = bufs[i % 2][:n]
                    torch.addmm(bias, h, W, out=out)         # (n, hidden)
                    softplus_(out, 1, 20, out=out)
                    h = out
                o = torch.addmm(bh, h, Wh)                   # (n, 1 + d): D logit, g
                D = torch.sigmoid_(o[:, 0])                  # (n,), a view into o
                return score_from_heads(D, o[:, 1:], eps, out=D)
        return fast_score

    def fit(self, est: "Estimate", *, progress: bool = True) -> "ScoreNet":
        """Train on an :class:`~hd_widgets.method.estimation.Estimate` (continuing from the
        current weights) and return ``self``, in eval mode; ``history_`` holds the loss per
        step of every fit so far. See :mod:`hd_widgets.method.training`."""
        from .training import fit_network
        return fit_network(self, est, progress=progress)

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """Write weights and config (tensors and plain values only) to ``path``."""
        path = Path(path)
        torch.save({"format": _FORMAT, "config": asdict(self.config),
                    "state_dict": {k: v.detach().clone() for k, v in self.state_dict().items()},
                    "history": [float(v) for v in getattr(self, "history_", [])]}, path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> "ScoreNet":
        """Read a network written by :meth:`save` (``torch.load(weights_only=True)``)."""
        try:
            blob = torch.load(Path(path), map_location="cpu", weights_only=True)
        except OSError:              # missing or unreadable: the file system's own error
            raise
        except Exception as exc:     # torch raises many kinds for a file that is not its own
            raise ValueError(f"{path} is not a saved ScoreNet ({_FORMAT}): "
                             f"{type(exc).__name__}: {exc}") from exc
        if not isinstance(blob, dict) or blob.get("format") != _FORMAT:
            raise ValueError(f"{path} is not a saved ScoreNet ({_FORMAT})")
        net = cls(ScoreNetConfig(**blob["config"]))
        net.load_state_dict(blob["state_dict"])
        if blob.get("history"):
            net.history_ = list(blob["history"])
        return net.eval()

    def __repr__(self) -> str:
        c = self.config
        n_par = sum(p.numel() for p in self.parameters())
        hist = getattr(self, "history_", [])
        trained = (f", trained_steps={len(hist)}, final_loss={hist[-1]:.4g}" if hist
                   else ", untrained")
        return (f"ScoreNet(d={c.d}, hidden={c.hidden}, layers={c.layers}, eps={c.eps}, "
                f"params={n_par}{trained})")

