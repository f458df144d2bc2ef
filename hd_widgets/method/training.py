"""Fitting the score network to an estimate (docs/method.md, item 7, and its refinements).

Loss, ``g_loss="nes"`` (item 7 as written, ``ScoreNetConfig.paper()``):
    mean_w[(D_phi(x~) - D(x~))^2 + ||g_phi(x~) - target(x~)||^2]
Loss, ``g_loss="directional"`` (default): a pair (x~ +- Delta) observes one slope,
(y+ - y-) / 2 = Delta . grad D(x~), without the extra variance NES adds by projecting
onto a random direction; so each pair is fitted as that slope:
    mean[(D_phi(x~) - D(x~))^2]
      + mean_pairs[(Delta . (g_phi(x~) - reg(x~)) / scale - slope)^2] / sigma_nes^2
Both add, when present,
    + obs_weight * mean[(D_phi(x_obs) - y_obs)^2]                (ratings as direct observations)
    + consistency * mean||(g_phi - reg) / scale - grad_x D_phi||^2   (g agrees with the D head)
The last term lets the many direct observations of D (2 per pair) steady the gradient
head; it needs a second backward pass (about 2x the training time).

The far prior (``ScoreNetConfig.far_prior = f``, off by default) adds f * P unrated points
beyond the plan's reach (:func:`~hd_widgets.method.far.far_points`), each fitted as if it
had one pair with both clips rated 0: D = 0, slope 0, and the estimate's pull home as the
g target (:func:`training_data`). It costs no ratings.

Trained with Adam on minibatches (cosine-decayed learning rate), seeded, on CPU, in one
torch thread (see :mod:`hd_widgets.method.threads`). :func:`fit_networks` trains several
networks (an ensemble's) in one loop, each exactly as it would train alone.
"""
from __future__ import annotations

from dataclasses import dataclass
import os
import sys
from typing import Sequence
import warnings

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from .estimation import Estimate
from .far import far_points
from .network import ScoreNet, ScoreNetConfig
from .threads import torch_threads

__all__ = ["train", "fit_network", "fit_networks", "training_data", "TrainingData", "FEW_PAIRS"]

FEW_PAIRS = 10   # fewer rated pairs than this: the network is fitted, with a warning


@dataclass(frozen=True)
class TrainingData:
    """Everything one fit reads, as float32 / int64 tensors.

    Attributes
    ----------
    X : (P, d)    points the D and g heads are fitted at (periphery, then far points).
    D : (P,)      their D targets.       G : (P, d)   their g targets (``nes`` loss).
    W : (P,)      their weights.         R : (P, d)   the regularisation part of G.
    pair_point : (m,)   the row of X each rated pair belongs to.
    pair_delta : (m, d) its perturbation.   pair_slope : (m,)  its observed slope.
    obs_X : (Q, d), obs_y : (Q,)           direct observations of D.
    """

    X: torch.Tensor
    D: torch.Tensor
    G: torch.Tensor
    W: torch.Tensor
    R: torch.Tensor
    pair_point: torch.Tensor
    pair_delta: torch.Tensor
    pair_slope: torch.Tensor
    obs_X: torch.Tensor
    obs_y: torch.Tensor


def _f32(a) -> torch.Tensor:
    return torch.as_tensor(np.asarray(a, dtype=np.float32))


def training_data(est: Estimate, config: ScoreNetConfig, gen: torch.Generator) -> TrainingData:
    """The estimate's targets as tensors, with the far prior's points appended when
    ``config.far_prior > 0`` (as if each far point had one pair, both clips rated 0).

    Raises
    ------
    ValueError
        if any target is NaN or infinite (the network would train to NaN silently).
    """
    data = TrainingData(
        X=_f32(est.points), D=_f32(est.D), G=_f32(est.target), W=_f32(est.weights),
        R=_f32(est.reg), pair_point=torch.as_tensor(est.pair_point, dtype=torch.long),
        pair_delta=_f32(est.pair_delta), pair_slope=_f32(est.pair_slope),
        obs_X=_f32(est.obs_points), obs_y=_f32(est.obs_values))
    fields = {"X": "points", "D": "D", "G": "target", "W": "weights", "R": "reg",
              "pair_delta": "pair_delta", "pair_slope": "pair_slope", "obs_X": "obs_points",
              "obs_y": "obs_values"}
    for name, field in fields.items():
        if not bool(torch.isfinite(getattr(data, name)).all()):
            raise ValueError(f"the estimate's {field} holds NaN or infinite values; the network "
                             "cannot be trained on them (are the data or the plan's points "
                             "finite?)")
    if config.far_prior <= 0:
        return data
    n_far = max(1, round(config.far_prior * len(data.X)))
    xf, rf = far_points(est, n_far, seed=np.random.default_rng([config.seed, 7]))
    Xf, Rf = _f32(xf), _f32(rf)
    Df = est.sigma_nes * torch.randn(n_far, est.d, generator=gen)
    return TrainingData(
        X=torch.cat([data.X, Xf]), D=torch.cat([data.D, torch.zeros(n_far)]),
        G=torch.cat([data.G, Rf]), W=torch.cat([data.W, torch.ones(n_far)]),
        R=torch.cat([data.R, Rf]),
        pair_point=torch.cat([data.pair_point, len(data.X) + torch.arange(n_far)]),
        pair_delta=torch.cat([data.pair_delta, Df]),
        pair_slope=torch.cat([data.pair_slope, torch.zeros(n_far)]),
        obs_X=torch.cat([data.obs_X, Xf + Df, Xf - Df]),
        obs_y=torch.cat([data.obs_y, torch.zeros(2 * n_far)]))


def _configs(nets: list[ScoreNet], configs) -> list[ScoreNetConfig]:
    """Each network's training config; they may differ in ``seed`` only, and must match
    the networks' architecture."""
    cs = [n.config for n in nets] if configs is None else list(configs)
    if not nets or len(cs) != len(nets):
        raise ValueError(f"{len(nets)} network(s) and {len(cs)} config(s): give one config each")
    arch = {(n.config.d, n.config.hidden, n.config.layers) for n in nets}
    if len({ci.with_(seed=0) for ci in cs}) != 1 or arch != {(cs[0].d, cs[0].hidden,
                                                              cs[0].layers)}:
        raise ValueError("networks trained together must share their architecture and every "
                         "training setting but the seed")
    return cs


class _Stacked:
    """The weights of E networks of one architecture as stacked leaf tensors, and their
    forward pass on (E, B, d) points through batched matrix products.

    Written out rather than with ``torch.func`` (``stack_module_state`` + ``vmap``): the
    consistency term differentiates D with ``torch.autograd.grad`` and back-propagates
    through that, which ``vmap`` does not support. Each network's output depends on its
    own slice alone, so the gradient of the summed loss is each network's own gradient,
    and Adam, being elementwise, steps each slice as it would step that network alone.
    """

    def __init__(self, nets: Sequence[ScoreNet]) -> None:
        self.nets = list(nets)
        with torch.no_grad():
            lins = [[m for m in n.body if isinstance(m, nn.Linear)] for n in self.nets]
            self.Ws = [torch.stack([ls[k].weight.t() for ls in lins]).contiguous()
                       for k in range(len(lins[0]))]                     # (E, in, out)
            self.bs = [torch.stack([ls[k].bias for ls in lins]).unsqueeze(1).contiguous()
                       for k in range(len(lins[0]))]                     # (E, 1, out)
            self.Wh = torch.stack([torch.cat([n.head_D.weight, n.head_g.weight]).t()
                                   for n in self.nets]).contiguous()     # (E, hidden, 1 + d)
            self.bh = torch.stack([torch.cat([n.head_D.bias, n.head_g.bias])
                                   for n in self.nets]).unsqueeze(1).contiguous()
        for p in self.parameters():
            p.requires_grad_(True)

    def parameters(self) -> list[torch.Tensor]:
        return [*self.Ws, *self.bs, self.Wh, self.bh]

    def __call__(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (E, B, d) -> D (E, B), g (E, B, d)."""
        h = x
        for W, b in zip(self.Ws, self.bs):
            h = torch.nn.functional.softplus(torch.baddbmm(b, h, W))
        o = torch.baddbmm(self.bh, h, self.Wh)
        return torch.sigmoid(o[..., 0]), o[..., 1:]

    def write_back(self) -> None:
        """Copy each slice into its network's own parameters."""
        with torch.no_grad():
            for e, n in enumerate(self.nets):
                lins = [m for m in n.body if isinstance(m, nn.Linear)]
                for m, W, b in zip(lins, self.Ws, self.bs):
                    m.weight.copy_(W[e].t())
                    m.bias.copy_(b[e, 0])
                n.head_D.weight.copy_(self.Wh[e, :, :1].t())
                n.head_g.weight.copy_(self.Wh[e, :, 1:].t())
                n.head_D.bias.copy_(self.bh[e, 0, :1])
                n.head_g.bias.copy_(self.bh[e, 0, 1:])


# hd_widgets/ as this module's own path spells it (so as every module's frames spell it)
_PACKAGE = os.path.dirname(os.path.dirname(__file__)) + os.sep


def _warn_caller(message: str) -> None:
    """A UserWarning that names the first line outside hd_widgets that led here (train,
    train_ensemble, a study's fit: each reaches the training loop at its own depth).
    Written out because ``warnings.warn(skip_file_prefixes=...)`` needs Python 3.12."""
    frame, level = sys._getframe(1), 2
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, UserWarning, stacklevel=level)


def fit_network(net: ScoreNet, est: Estimate, config: ScoreNetConfig | None = None, *,
                progress: bool = True) -> ScoreNet:
    """Train ``net`` on ``est`` with the schedule of ``config`` (default ``net.config``);
    returns ``net`` in eval mode, its loss per step appended to ``net.history_``.
    :func:`fit_networks` of one network.

    Raises
    ------
    ValueError
        if the dimensions disagree, a target is not finite, or the loss turns non-finite.
    """
    return fit_networks([net], est, None if config is None else [config],
                        progress=progress)[0]


def fit_networks(nets: Sequence[ScoreNet], est: Estimate,
                 configs: Sequence[ScoreNetConfig] | None = None, *,
                 progress: bool = True) -> list[ScoreNet]:
    """Train several networks of one architecture on ``est`` at once, each as
    :func:`fit_network` would train it alone: its own ``config`` (default ``net.config``;
    the configs may differ in ``seed`` only), so its own minibatches, far points and
    current weights. One loop with batched matrix products costs little more than one
    network's (the batches are small, so a step's time is mostly per-operation overhead).
    Returns the networks, in eval mode, each with its loss per step in ``history_``.

    Raises
    ------
    ValueError
        if the dimensions or settings disagree, a target is not finite, or a loss turns
        non-finite.
    """
    nets = list(nets)
    cs = _configs(nets, configs)
    c = cs[0]
    if c.d != est.d:                 # _configs: the networks' d is the config's
        raise ValueError(f"config.d={c.d} but the estimate has d={est.d}")
    if c.eps != est.options.eps:
        _warn_caller(f"network eps={c.eps} differs from the estimate's eps={est.options.eps}: "
                     "the score g / max(D, eps) then does not match its target")
    if len(est.pair_point) < FEW_PAIRS:
        _warn_caller(f"training the score network from only {len(est.pair_point)} rated "
                     "pair(s): its field will say little beyond those points; rate more pages "
                     f"(at least {FEW_PAIRS} pairs) before trusting it")
    E = len(nets)
    gens = [torch.Generator().manual_seed(ci.seed) for ci in cs]
    ts = [training_data(est, ci, g) for ci, g in zip(cs, gens)]
    # every member's data, stacked (E, ...); a view of one copy when they are the same
    t = TrainingData(*(torch.stack([getattr(ti, f) for ti in ts]) if c.far_prior > 0
                       else getattr(ts[0], f).expand(E, *getattr(ts[0], f).shape)
                       for f in TrainingData.__dataclass_fields__))
    P, Q, M = t.X.shape[1], t.obs_X.shape[1], t.pair_point.shape[1]
    sn2, gs = est.sigma_nes ** 2, est.grad_scale
    bp, bq = min(c.batch, P), min(c.batch, Q)
    rows = torch.arange(E).unsqueeze(1)                                  # (E, 1)
    stacked = _Stacked(nets)
    opt = torch.optim.Adam(stacked.parameters(), lr=c.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=c.steps, eta_min=c.lr / 20)
    histories = [n.__dict__.setdefault("history_", []) for n in nets]
    desc = "training score network" + (f"s ({E})" if E > 1 else "")
    bar = tqdm(range(c.steps), desc=desc, disable=not progress, leave=False)
    with torch_threads(1):     # tiny batches: see threads.py
        for _ in bar:
            # each member draws from its own generator in fit_network's order: the points
            # (or pairs) of its batch, then its observations
            draws = [(torch.randint(P if c.g_loss == "nes" else M, (bp,), generator=g),
                      torch.randint(Q, (bq,), generator=g) if Q else None) for g in gens]
            k = torch.stack([a for a, _ in draws])                        # (E, B)
            i = k if c.g_loss == "nes" else t.pair_point[rows, k]
            xi = t.X[rows, i]                                            # (E, B, d)
            if c.consistency > 0:
                xi = xi.clone().requires_grad_(True)
            D, g = stacked(xi)
            if c.g_loss == "nes":
                loss = (t.W[rows, i] * ((D - t.D[rows, i]) ** 2
                                        + ((g - t.G[rows, i]) ** 2).sum(-1))).mean(-1)
            else:   # Delta . grad D implied by g, against the pair's observed slope
                slope = ((g - t.R[rows, i]) * t.pair_delta[rows, k]).sum(-1) / gs
                loss = (((D - t.D[rows, i]) ** 2).mean(-1)
                        + ((slope - t.pair_slope[rows, k]) ** 2).mean(-1) / sn2)
            if c.consistency > 0:
                dD = torch.autograd.grad(D.sum(), xi, create_graph=True)[0]   # (E, B, d)
                loss = loss + c.consistency * (((g - t.R[rows, i]) / gs - dD) ** 2
                                               ).sum(-1).mean(-1)
            if Q:
                j = torch.stack([b for _, b in draws])
                Do, _ = stacked(t.obs_X[rows, j])
                loss = loss + c.obs_weight * ((Do - t.obs_y[rows, j]) ** 2).mean(-1)
            opt.zero_grad(set_to_none=True)
            loss.sum().backward()            # (E,): the members do not share a weight
            opt.step()
            sched.step()
            values = loss.tolist()
            for h, v in zip(histories, values):
                h.append(v)
            if not all(np.isfinite(values)):
                raise ValueError(f"training diverged at step {len(histories[0])} (loss "
                                 f"{values}); try a smaller ScoreNetConfig.lr")
            if len(histories[0]) % 100 == 0:
                bar.set_postfix(loss=f"{values[0]:.4f}")
    stacked.write_back()
    return [n.eval() for n in nets]


def train(est: Estimate, config: ScoreNetConfig | None = None, *, net: ScoreNet | None = None,
          progress: bool = True) -> ScoreNet:
    """Fit a :class:`~hd_widgets.method.network.ScoreNet` to an estimate.

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
    return fit_network(ScoreNet(c) if net is None else net, est, c, progress=progress)
