"""The score network: an MLP that learns D(x) and its regularised gradient (DESIGN item 7).

    x (n, d) -> softplus MLP -> D_phi(x) = sigmoid(.)  (n,)   and   g_phi(x) (n, d)
    score s_phi(x) = g_phi(x) / max(D_phi(x), eps)

Loss, ``g_loss="nes"`` (DESIGN item 7 as written, ``ScoreNetConfig.paper()``):
    mean_w[(D_phi(x~) - D(x~))^2 + ||g_phi(x~) - target(x~)||^2]
Loss, ``g_loss="directional"`` (default): a pair (x~ +- Delta) observes one slope,
(y+ - y-) / 2 = Delta . grad D(x~), without the extra variance NES adds by projecting
onto a random direction; so each pair is fitted as that slope:
    mean[(D_phi(x~) - D(x~))^2] + mean_pairs[(Delta . (g_phi(x~) - reg(x~)) / scale - slope)^2] / sigma_nes^2
Both add, when present,
    + obs_weight * mean[(D_phi(x_obs) - y_obs)^2]                (ratings as direct observations)
    + consistency * mean||(g_phi - reg) / scale - grad_x D_phi||^2   (g agrees with the D head)
The last term lets the many direct observations of D (2 per pair) steady the gradient
head; it needs a second backward pass (about 2x the training time).

Trained with Adam on minibatches (cosine-decayed learning rate), seeded, on CPU.
The schedule follows the data (:meth:`ScoreNetConfig.for_estimate`, what ``train`` uses
when given no config): below ``LONG_SCHEDULE_PAIRS`` rated pairs, 1000 steps at lr 3e-3;
from there on, 2000 steps at lr 1e-2. ``bench/fidelity.py`` (``ed2_u``, 3 seeds): with the
longer schedule the error at 1000 ratings fell from 0.61 to 0.12 and at 5000 from 1.29 to
0.52 in d = 2 (14.0 -> 10.8 and 23.9 -> 14.1 in d = 5): the short one underfits there. In
runs outside the bench (6 seeds) the longer schedule fitted the rating noise at 200 ratings
(error 3.8 -> 11) and gained nothing at 500 (3.1 -> 3.0), hence the switch.
Far prior (``far_prior``, a named option, off by default; not in the paper): the network
is told nothing beyond where the plan asked, and with few ratings it can extrapolate D ~ 1
into an empty corner, which Langevin then fills. ``far_prior = f`` adds f * P unrated points
beyond the plan's reach (:meth:`~hd_widgets.estimate.Estimate.far_points`), each fitted
as if it had one pair with both clips rated 0: D = 0, slope 0, and the estimate's pull
home as the g target. It costs no ratings. It trades accuracy for robustness:
bench/fidelity.py (``hd-far``, f = 0.5, ``ed2_u``, 3 seeds) in d = 5 at 200 ratings:
69.7 +- 41.9 -> 36.8 +- 2.6, escaped particles 32 -> 0; in d = 2 at 200 ratings, over
10 seeds outside the bench, the worst seed 117 -> 5 and the mean 16.6 -> 5.1, but on the
bench's 3 seeds 1.48 -> 4.53; from 500 ratings on it costs accuracy (d = 2: 0.12 -> 0.53
at 1000, 0.52 -> 1.06 at 5000; d = 5: 18.6 -> 27.1 at 500), as the pull it imposes beyond
the edge squeezes a region the ratings already describe.
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
import warnings
from typing import Callable

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from .estimate import Estimate
from .threads import torch_threads

__all__ = ["ScoreNetConfig", "ScoreNet", "train", "ScoreFn", "LONG_SCHEDULE_PAIRS"]

ScoreFn = Callable[[torch.Tensor], torch.Tensor]   # (n, d) -> (n, d)
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
                                # fraction of the periphery points (module docstring; off: 0)
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
        """DESIGN item 7 as written: MSE of g against the NES target, no consistency term."""
        return replace(cls(g_loss="nes", consistency=0.0, eps=0.05), **changes)

    @classmethod
    def for_estimate(cls, est: Estimate, **changes) -> "ScoreNetConfig":
        """Package defaults for these targets: ``d`` and ``eps`` from the estimate, and the
        schedule from its number of rated pairs (module docstring): 1000 steps at lr 3e-3
        below ``LONG_SCHEDULE_PAIRS``, 2000 steps at lr 1e-2 from there on."""
        long = len(est.pair_point) >= LONG_SCHEDULE_PAIRS
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
        self.history_: list[float] = []

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
            s = g / D.clamp_min(self.config.eps).unsqueeze(-1)
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
                    return g / D.clamp_min(self.config.eps).unsqueeze(-1)
            return plain
        lins = [m for m in self.body if isinstance(m, nn.Linear)]
        with torch.no_grad():
            Ws = [(m.weight.detach().t().contiguous().clone(), m.bias.detach().clone()) for m in lins]
            Wh = torch.cat([self.head_D.weight, self.head_g.weight]).detach().t().contiguous().clone()
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
                D = torch.sigmoid_(o[:, :1]).clamp_min_(eps)
                return o[:, 1:] / D
        return fast_score

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """Write weights and config (tensors and plain values only) to ``path``."""
        path = Path(path)
        torch.save({"format": _FORMAT, "config": asdict(self.config),
                    "state_dict": {k: v.detach().clone() for k, v in self.state_dict().items()},
                    "history": [float(v) for v in self.history_]}, path)
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
        net.history_ = list(blob.get("history", []))
        return net.eval()

    def __repr__(self) -> str:
        c = self.config
        n_par = sum(p.numel() for p in self.parameters())
        trained = f", trained_steps={len(self.history_)}, final_loss={self.history_[-1]:.4g}" \
            if self.history_ else ", untrained"
        return (f"ScoreNet(d={c.d}, hidden={c.hidden}, layers={c.layers}, eps={c.eps}, "
                f"params={n_par}{trained})")


def train(est: Estimate, config: ScoreNetConfig | None = None, *, net: ScoreNet | None = None,
          progress: bool = True) -> ScoreNet:
    """Fit a :class:`ScoreNet` to an :class:`~hd_widgets.estimate.Estimate`.

    Parameters
    ----------
    est : Estimate
        Targets: ``points``, ``D``, ``target``, ``weights`` and, if present,
        ``obs_points`` / ``obs_values``.
    config : ScoreNetConfig, optional
        Default ``ScoreNetConfig.for_estimate(est)``; ``config.eps`` should match the
        estimate's.
    net : ScoreNet, optional
        Continue training this network instead of a fresh one.
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    ScoreNet
        In eval mode; ``history_`` holds the loss per step.
    """
    c = config if config is not None else ScoreNetConfig.for_estimate(est)
    if c.d != est.d:
        raise ValueError(f"config.d={c.d} but the estimate has d={est.d}")
    if c.eps != est.options.eps:
        warnings.warn(f"network eps={c.eps} differs from the estimate's eps={est.options.eps}: "
                      "the score g / max(D, eps) then does not match its target", stacklevel=2)
    net = ScoreNet(c) if net is None else net
    gen = torch.Generator().manual_seed(c.seed)
    f32 = lambda a: torch.as_tensor(np.asarray(a, dtype=np.float32))
    X, Dt, Gt, W = f32(est.points), f32(est.D), f32(est.target), f32(est.weights)
    Xo, Yo = f32(est.obs_points), f32(est.obs_values)
    Pi = torch.as_tensor(est.pair_point, dtype=torch.long)
    Pd, Ps, Rg = f32(est.pair_delta), f32(est.pair_slope), f32(est.reg)
    if c.far_prior > 0:        # as if each far point had one pair, both clips rated 0
        n_far = max(1, round(c.far_prior * len(X)))
        xf, rf = est.far_points(n_far, seed=np.random.default_rng([c.seed, 7]))
        Xf, Rf = f32(xf), f32(rf)
        Df = est.sigma_nes * torch.randn(n_far, est.d, generator=gen)
        Pi = torch.cat([Pi, len(X) + torch.arange(n_far)])
        X, Dt, Gt, Rg = torch.cat([X, Xf]), torch.cat([Dt, torch.zeros(n_far)]), \
            torch.cat([Gt, Rf]), torch.cat([Rg, Rf])
        W = torch.cat([W, torch.ones(n_far)])
        Pd, Ps = torch.cat([Pd, Df]), torch.cat([Ps, torch.zeros(n_far)])
        Xo, Yo = torch.cat([Xo, Xf + Df, Xf - Df]), torch.cat([Yo, torch.zeros(2 * n_far)])
    P, Q = len(X), len(Xo)
    sn2, gs = est.sigma_nes ** 2, est.grad_scale
    bp, bq = min(c.batch, P), min(c.batch, Q)
    opt = torch.optim.Adam(net.parameters(), lr=c.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=c.steps, eta_min=c.lr / 20)
    net.train()
    bar = tqdm(range(c.steps), desc="training score network", disable=not progress, leave=False)
    with torch_threads(1):     # tiny batches: see threads.py
        for _ in bar:
            if c.g_loss == "nes":
                i = torch.randint(P, (bp,), generator=gen)
                D, g = net(X[i])
                loss = (W[i] * ((D - Dt[i]) ** 2 + ((g - Gt[i]) ** 2).sum(-1))).mean()
            else:
                k = torch.randint(len(Pi), (bp,), generator=gen)
                i = Pi[k]
                D, g = net(X[i])
                slope = ((g - Rg[i]) * Pd[k]).sum(-1) / gs          # Delta . grad D implied by g
                loss = ((D - Dt[i]) ** 2).mean() + ((slope - Ps[k]) ** 2).mean() / sn2
            if c.consistency > 0:
                xi = X[i].clone().requires_grad_(True)
                Dc, gc = net(xi)
                dD = torch.autograd.grad(Dc.sum(), xi, create_graph=True)[0]   # (B, d)
                loss = loss + c.consistency * (((gc - Rg[i]) / gs - dD) ** 2).sum(-1).mean()
            if Q:
                j = torch.randint(Q, (bq,), generator=gen)
                Do, _ = net(Xo[j])
                loss = loss + c.obs_weight * ((Do - Yo[j]) ** 2).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            net.history_.append(loss.item())
            if len(net.history_) % 100 == 0:
                bar.set_postfix(loss=f"{net.history_[-1]:.4f}")
    return net.eval()
