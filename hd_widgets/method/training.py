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
torch thread (see :mod:`hd_widgets.method.threads`).
"""
from __future__ import annotations

from dataclasses import dataclass
import warnings

import numpy as np
import torch
from tqdm.auto import tqdm

from .estimation import Estimate
from .far import far_points
from .network import ScoreNet, ScoreNetConfig
from .threads import torch_threads

__all__ = ["train", "fit_network", "training_data", "TrainingData", "FEW_PAIRS"]

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


def fit_network(net: ScoreNet, est: Estimate, config: ScoreNetConfig | None = None, *,
                progress: bool = True) -> ScoreNet:
    """Train ``net`` on ``est`` with the schedule of ``config`` (default ``net.config``);
    returns ``net`` in eval mode, its loss per step appended to ``net.history_``.

    Raises
    ------
    ValueError
        if the dimensions disagree, a target is not finite, or the loss turns non-finite.
    """
    c = net.config if config is None else config
    if c.d != est.d or net.config.d != est.d:
        raise ValueError(f"config.d={c.d} but the estimate has d={est.d}")
    if c.eps != est.options.eps:
        warnings.warn(f"network eps={c.eps} differs from the estimate's eps={est.options.eps}: "
                      "the score g / max(D, eps) then does not match its target", stacklevel=3)
    if len(est.pair_point) < FEW_PAIRS:
        warnings.warn(f"training the score network from only {len(est.pair_point)} rated pair(s): "
                      "its field will say little beyond those points; rate more pages "
                      f"(at least {FEW_PAIRS} pairs) before trusting it", stacklevel=3)
    gen = torch.Generator().manual_seed(c.seed)
    t = training_data(est, c, gen)
    P, Q = len(t.X), len(t.obs_X)
    sn2, gs = est.sigma_nes ** 2, est.grad_scale
    bp, bq = min(c.batch, P), min(c.batch, Q)
    opt = torch.optim.Adam(net.parameters(), lr=c.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=c.steps, eta_min=c.lr / 20)
    history = net.__dict__.setdefault("history_", [])
    net.train()
    bar = tqdm(range(c.steps), desc="training score network", disable=not progress, leave=False)
    with torch_threads(1):     # tiny batches: see threads.py
        for _ in bar:
            if c.g_loss == "nes":
                i = torch.randint(P, (bp,), generator=gen)
                D, g = net(t.X[i])
                loss = (t.W[i] * ((D - t.D[i]) ** 2 + ((g - t.G[i]) ** 2).sum(-1))).mean()
            else:
                k = torch.randint(len(t.pair_point), (bp,), generator=gen)
                i = t.pair_point[k]
                D, g = net(t.X[i])
                slope = ((g - t.R[i]) * t.pair_delta[k]).sum(-1) / gs  # Delta . grad D implied by g
                loss = ((D - t.D[i]) ** 2).mean() + ((slope - t.pair_slope[k]) ** 2).mean() / sn2
            if c.consistency > 0:
                xi = t.X[i].clone().requires_grad_(True)
                Dc, gc = net(xi)
                dD = torch.autograd.grad(Dc.sum(), xi, create_graph=True)[0]   # (B, d)
                loss = loss + c.consistency * (((gc - t.R[i]) / gs - dD) ** 2).sum(-1).mean()
            if Q:
                j = torch.randint(Q, (bq,), generator=gen)
                Do, _ = net(t.obs_X[j])
                loss = loss + c.obs_weight * ((Do - t.obs_y[j]) ** 2).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            history.append(loss.item())
            if not np.isfinite(history[-1]):
                raise ValueError(f"training diverged at step {len(history)} (loss "
                                 f"{history[-1]}); try a smaller ScoreNetConfig.lr")
            if len(history) % 100 == 0:
                bar.set_postfix(loss=f"{history[-1]:.4f}")
    return net.eval()


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
