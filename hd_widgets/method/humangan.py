"""HumanGAN, the baseline that collapses (Fujii et al., ICASSP 2020; docs/method.md, item 9).

A generator G (softplus MLP, z ~ N(0, I) -> x) is pushed up the perceptual gradient:
it maximises sum_n log D(G(z_n)). Only the gradient of log D with respect to x is needed,
and it comes either from a trained score network (``fit(score_fn)``, as HumanDiffusion's
paper does, so no new listening is needed), or from NES on a listener
(``fit_listener``, the original HumanGAN, which spends ratings every step). The
surrogate loss -mean_n <s(x_n), G(z_n)> (s held fixed) has exactly that gradient.

Nothing in the objective rewards spread: left to run, every G(z) climbs to a maximum
of D and the generator collapses onto it. HumanGAN's paper stopped training early, by
judgement, to keep some spread; ``early_stop`` reproduces that heuristic so the
contrast can be taught, and ``fit(..., steps=n)`` climbs n more steps from where the
generator is (early-stopped, then trained on, is two calls, no change of config).
Before the ascent, G is fitted to the real data (minimising the energy distance to it
for ``init_steps`` steps, our choice), so both versions start where the data are.

A score with no pull back far from the data (a network fitted on a few dozen ratings)
can send the generator off instead: every step then moves it further out. That is
reported, as Langevin reports divergence: once a generated point of a step's batch
leaves ``max_norm`` (or turns non-finite) the ascent stops with
:class:`HumanGANDivergence`, and the generator is left as it was at that step.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
import math
from typing import Callable

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from .score import ScoreFn
from .threads import torch_threads

__all__ = ["HumanGANConfig", "HumanGAN", "HumanGANDivergence"]


@dataclass(frozen=True)
class HumanGANConfig:
    """Generator and training settings."""

    d: int = 2                  # data dimension
    z_dim: int | None = None    # latent dimension (None: same as d)
    hidden: int = 64            # units per hidden layer
    layers: int = 2             # hidden softplus layers
    lr: float = 1e-3            # Adam learning rate, both phases
    init_steps: int = 300       # steps fitting G to the real data before the ascent
    steps: int = 1000           # ascent steps on log D (it has collapsed long before)
    early_stop: int | None = None  # stop the ascent after this many steps (paper's heuristic;
                                   # ~25 keeps some spread on the default space)
    batch: int = 256            # latent draws per step
    max_norm: float = 100.0     # a generated point beyond max_i |x_i| = this ran away
                                # (as Langevin's: 100 data standard deviations)
    seed: int = 0               # weights, latent draws

    def __post_init__(self) -> None:
        if self.d < 1 or self.hidden < 1 or self.layers < 1 or self.batch < 1 \
                or (self.z_dim is not None and self.z_dim < 1):
            raise ValueError("d, z_dim, hidden, layers and batch must be >= 1")
        if self.init_steps < 0 or self.steps < 0 \
                or (self.early_stop is not None and self.early_stop < 0):
            raise ValueError("init_steps, steps and early_stop must be >= 0")
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr must be a finite number > 0, got {self.lr!r}")
        if not self.max_norm > 0:
            raise ValueError(f"max_norm must be > 0, got {self.max_norm!r}")

    def with_(self, **changes) -> "HumanGANConfig":
        return replace(self, **changes)


class HumanGANDivergence(RuntimeError):
    """The generator ran away during the ascent instead of climbing to a mode.

    Attributes: ``step`` (ascent step, counted over every ``fit`` of this generator),
    ``n_bad`` (points of that step's batch out), ``n`` (batch size).
    """

    def __init__(self, step: int, n_bad: int, n: int, max_norm: float) -> None:
        self.step, self.n_bad, self.n = step, n_bad, n
        super().__init__(
            f"HumanGAN ran away at ascent step {step}: {n_bad} of {n} generated points are "
            f"non-finite or beyond |x| = {max_norm:g}. The score it climbs has no pull back "
            f"far from the data (e.g. a score network fitted on too few ratings).")


def _energy_loss(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Differentiable squared energy distance (V-statistic) between (n, d) and (m, d)."""
    def mdist(a, b):
        return torch.sqrt(((a[:, None] - b[None]) ** 2).sum(-1) + 1e-12).mean()
    return 2 * mdist(x, y) - mdist(x, x) - mdist(y, y)


class HumanGAN(nn.Module):
    """Generator z (z_dim) -> x (d); see the module docstring.

    Examples
    --------
    >>> gan = HumanGAN(HumanGANConfig(d=2, steps=50, init_steps=20))
    >>> gan.fit(lambda x: -x, data=np.random.default_rng(0).normal(size=(60, 2)), progress=False)
    HumanGAN(d=2, z_dim=2, ascent_steps=50, early_stop=None, ratings_used=0)
    >>> gan.sample(1000, seed=0).shape
    (1000, 2)
    """

    def __init__(self, config: HumanGANConfig | None = None) -> None:
        super().__init__()
        self.config = HumanGANConfig() if config is None else config
        c = self.config
        self.z_dim = c.d if c.z_dim is None else c.z_dim
        with torch.random.fork_rng(devices=[]):   # keep nn.Linear's default init off the global RNG
            layers, width = [], self.z_dim
            for _ in range(c.layers):
                layers += [nn.Linear(width, c.hidden), nn.Softplus()]
                width = c.hidden
            layers.append(nn.Linear(width, c.d))
            self.net = nn.Sequential(*layers)
        gen = torch.Generator().manual_seed(c.seed)
        with torch.no_grad():
            for m in self.net:
                if isinstance(m, nn.Linear):
                    nn.init.kaiming_uniform_(m.weight, a=math.sqrt(5), generator=gen)
                    nn.init.uniform_(m.bias, -1 / math.sqrt(m.weight.shape[1]),
                                     1 / math.sqrt(m.weight.shape[1]), generator=gen)
        self._gen = torch.Generator().manual_seed(c.seed + 1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """z (n, z_dim) -> x (n, d)."""
        return self.net(z)

    def sample(self, n: int, seed: int | None = 0) -> np.ndarray:
        """n generated points, shape (n, d), from z ~ N(0, I) drawn with ``seed``."""
        if int(n) != n or n < 0:
            raise ValueError(f"n must be a whole number >= 0, got {n!r}")
        gen = torch.Generator().manual_seed(0 if seed is None else int(seed))
        with torch.inference_mode():
            return self(torch.randn(int(n), self.z_dim, generator=gen)).numpy().astype(np.float64)

    def _z(self) -> torch.Tensor:
        return torch.randn(self.config.batch, self.z_dim, generator=self._gen)

    def fit_data(self, data: np.ndarray, steps: int | None = None,
                 progress: bool = True) -> "HumanGAN":
        """Fit G to the real data (energy distance), the warm start of both variants."""
        data = np.asarray(data, dtype=np.float32)
        if data.ndim != 2 or data.shape[1] != self.config.d or len(data) < 2:
            raise ValueError(f"data must have shape (N, {self.config.d}) with N >= 2, "
                             f"got {data.shape}")
        y = torch.as_tensor(data)
        opt = torch.optim.Adam(self.parameters(), lr=self.config.lr)
        n = self.config.init_steps if steps is None else steps
        with torch_threads(1):                                      # see threads.py
            for _ in tqdm(range(n), desc="HumanGAN: fit data", disable=not progress, leave=False):
                loss = _energy_loss(self(self._z()), y)
                opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
        return self

    def _ascend(self, grad_fn: Callable[[torch.Tensor], torch.Tensor], steps: int | None,
                progress: bool, desc: str) -> "HumanGAN":
        c = self.config
        opt = torch.optim.Adam(self.parameters(), lr=c.lr)
        if steps is None:
            n = c.steps if c.early_stop is None else min(c.steps, c.early_stop)
        elif int(steps) != steps or steps < 0:
            raise ValueError(f"steps must be a whole number >= 0, got {steps!r}")
        else:
            n = int(steps)
        for name in ("ascent_steps_", "ratings_used_"):        # fitted state, set by fitting
            self.__dict__.setdefault(name, 0)
        self.__dict__.setdefault("history_", [])
        with torch_threads(1):                                      # see threads.py
            for _ in tqdm(range(n), desc=desc, disable=not progress, leave=False):
                x = self(self._z())                                 # (B, d)
                bad = ~torch.isfinite(x).all(1) | (x.detach().abs().amax(1) > c.max_norm)
                if bool(bad.any()):
                    raise HumanGANDivergence(self.ascent_steps_, int(bad.sum()), len(x), c.max_norm)
                s = grad_fn(x.detach())                             # (B, d): grad of log D at x
                if s.shape != x.shape:                              # would broadcast silently
                    raise ValueError(f"the score returned shape {tuple(s.shape)} for points of "
                                     f"shape {tuple(x.shape)}; it must return (n, d)")
                loss = -(s * x).sum(1).mean()                       # d loss / dx = -s / B
                opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
                self.history_.append(float(s.norm(dim=1).mean()))
                self.ascent_steps_ += 1
        return self

    def fit(self, score_fn: ScoreFn, data: np.ndarray | None = None, *, steps: int | None = None,
            progress: bool = True) -> "HumanGAN":
        """Warm-start on ``data`` (if given), then climb log D along ``score_fn``.

        ``score_fn`` maps a float32 tensor (n, d) to the gradient of log D, (n, d); a
        trained :class:`~hd_widgets.method.network.ScoreNet` gives one with ``net.score_fn()``.
        ``steps``: ascent steps of this call (default ``config.steps``, or
        ``config.early_stop`` when set); a second call climbs on from where the first
        stopped. Raises :class:`HumanGANDivergence` if the generator runs away (module
        docstring). Returns ``self``.
        """
        if data is not None:
            self.fit_data(data, progress=progress)

        def grad(x: torch.Tensor) -> torch.Tensor:
            with torch.no_grad():
                # clone: a score from inference mode cannot enter the autograd graph
                return torch.as_tensor(score_fn(x.contiguous()), dtype=torch.float32).clone()
        return self._ascend(grad, steps, progress, "HumanGAN: ascent")

    def fit_listener(self, listener, data: np.ndarray | None = None, *, n_pairs: int = 5,
                     sigma_nes: float = 0.3, eps: float = 0.05,
                     progress: bool = True) -> "HumanGAN":
        """The original HumanGAN: NES on ``listener`` at every step (spends ratings).

        Each step rates ``batch * 2 * n_pairs`` clips; grad log D is estimated as the
        antithetic NES gradient divided by max(mean rating, eps). ``ratings_used_``
        counts them.
        """
        if data is not None:
            self.fit_data(data, progress=progress)
        rng = np.random.default_rng(self.config.seed + 2)

        def grad(x: torch.Tensor) -> torch.Tensor:
            xs = x.numpy().astype(np.float64)                        # (B, d)
            B, d = xs.shape
            delta = sigma_nes * rng.standard_normal((B, n_pairs, d))  # (B, R, d)
            pts = np.concatenate([(xs[:, None] + delta).reshape(-1, d),
                                  (xs[:, None] - delta).reshape(-1, d)])
            y = np.asarray(listener.rate(pts), dtype=np.float64)
            self.ratings_used_ += len(y)
            yp, ym = y[:B * n_pairs].reshape(B, n_pairs), y[B * n_pairs:].reshape(B, n_pairs)
            g = ((yp - ym)[..., None] * delta).mean(1) / (2 * sigma_nes ** 2)
            dhat = np.maximum(0.5 * (yp + ym).mean(1), eps)
            return torch.as_tensor(g / dhat[:, None], dtype=torch.float32)
        return self._ascend(grad, None, progress, "HumanGAN: NES ascent")

    def __repr__(self) -> str:
        c = self.config
        return (f"HumanGAN(d={c.d}, z_dim={self.z_dim}, "
                f"ascent_steps={getattr(self, 'ascent_steps_', 0)}, early_stop={c.early_stop}, "
                f"ratings_used={getattr(self, 'ratings_used_', 0)})")
