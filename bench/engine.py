"""Engine speed on CPU: score-network training and Langevin throughput.

Prints
- ``train_s``: training the default ScoreNet on the targets of a 5000-rating plan (d=2,
  SimulatedListener, package defaults). Goal: < 15 s.
- ``ensemble_train_s`` and ``ensemble_speedup_vs_one_at_a_time``: the final fit's 3
  networks (``train_ensemble``, one loop of batched products) on the same targets, against
  the same 3 trained one after another (``train``), measured in this run; the largest
  difference between their scores on the data says they are the same networks.
- ``langevin_particle_steps_per_s``: 10,000 particles x 1,000 steps with the default
  network through ``hd_widgets.method.sampling.langevin`` (fast score, default blocks).
- ``langevin_speedup_vs_eager``: against a plain eager float32 loop of the same network
  and update, written as one would first write it (``torch.no_grad()``, the module's
  forward, separate heads, out-of-place update, ``randn`` each step), measured in this run.
  Goal: >= 2.5. Measured here: about 1x on an idle machine (0.8-1.4 over runs): both
  loops spend nearly all their time in the same MKL matmuls and vectorised softplus
  kernels (~45% each), which no loop-level trick removes.
- ``langevin_speedup_vs_eager_autograd``: context only: the same loop without
  ``no_grad`` (graph built each step, detached so memory stays bounded).
- ``langevin_speedup_compiled_vs_eager`` and ``compile_s``: context only, what
  ``torch.compile`` (inductor, C++ through the machine's g++) makes of one step of the
  same network and update, and what compiling costs. The package does not use it: on
  these machines it gained 0.98-1.5x over runs (with inductor's weight freezing 1.26x),
  the fused step still pays one exp and one log per hidden unit and particle (one core:
  softplus 1.6-2.2 ns per value, log2 alone 1.24, sigmoid 0.47; a compiled softplus with
  a polynomial log1p 1.10), and it needs a compiler at run time. bfloat16 matrix
  products were 2.2x faster (0.29 against 0.63 ms for 10,000 x 64 x 64) but moved the
  particles by ~8e-4 within 200 steps (not the same network), so they are not used either.
  The most a hand-written step reached (outside this bench, idle machine): a vectorised
  softplus with polynomial exp and log1p through numba (within 5e-7 of PyTorch's), bias,
  sigmoid and update fused the same way, MKL's products in between and the 3-column head
  padded to 16 columns (MKL's product for 3 columns cost as much as for 64: 0.45-0.56 ms
  at 10,000 rows, 0.16-0.21 ms for 16): 1.70-1.87x the eager loop. The step's own
  breakdown (below) says why 2.5x stays out of reach in float32 on these CPUs: with
  PyTorch's softplus and everything else free a step would reach 1.2-1.5x, so the
  softplus alone would have to become several times faster than PyTorch's and the rest
  nearly free; the package does not take on a JIT compiler for 1.8x.
- ``eager_step_ms`` and what one step of it is made of, timed in this run on the same
  10,000 rows (best of 20): ``products`` (the four matrix products of the network,
  2 -> 64, two 64 -> 64 and the 64 -> 1 + d head, each into a preallocated output and
  each through the faster of PyTorch's BLAS (MKL) and NumPy's (OpenBLAS): MKL takes as
  long for the 3-column head as for a 64-column product), ``softplus`` (PyTorch's, in
  place, on the three 10,000 x 64 hidden blocks) and the rest (bias, heads, update,
  noise, allocation). Context only, they say where a faster step has to come from:
  ``langevin_speedup_bound_products_only`` is eager_step / products, what a float32 step
  would reach if everything but the products were free, and
  ``langevin_speedup_bound_products_softplus`` is eager_step / (products + softplus),
  what it would reach with PyTorch's softplus and everything else free.
Runs alternate and the best of ``--repeats`` is kept, since the machine is shared.
torch uses its default thread count (printed).
"""
from __future__ import annotations

import argparse
import math
import time

import numpy as np
import torch

from hd_widgets.method.pairs import PairRatings
from hd_widgets.method.estimation import from_plan
from hd_widgets.ratings.budget import plan_for_budget
from hd_widgets.method.sampling import langevin
from hd_widgets.ratings.listeners import SimulatedListener
from hd_widgets.method.network import ScoreNet, ScoreNetConfig
from hd_widgets.method.score import score_from_heads
from hd_widgets.method.training import train
from hd_widgets.method.ensemble import train_ensemble
from hd_widgets.speech.space import FeatureSpace


def eager_loop(net: ScoreNet, x0: torch.Tensor, alpha: float, n_steps: int, seed: int,
               no_grad: bool = True) -> torch.Tensor:
    """The reference: a plain eager loop of the same network and update."""
    gen = torch.Generator().manual_seed(seed)
    x = x0.clone()
    for _ in range(n_steps):
        if no_grad:
            with torch.no_grad():
                D, g = net(x)
                s = score_from_heads(D, g, net.config.eps)
        else:
            D, g = net(x)
            s = score_from_heads(D, g, net.config.eps)
        x = x + alpha / 2 * s + math.sqrt(alpha) * torch.randn(x.shape, generator=gen)
        if not no_grad:
            x = x.detach()
    return x


def compiled_step(net: ScoreNet):
    """One Langevin step of ``net`` (its plain score), through ``torch.compile`` (context only)."""
    score = net.score_fn(fast=False)

    def step(x: torch.Tensor, z: torch.Tensor, half: float, root: float) -> torch.Tensor:
        return x + half * score(x) + root * z
    return torch.compile(step, dynamic=False)


def run_steps(step, x0: torch.Tensor, alpha: float, n_steps: int, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    x, z = x0.clone(), torch.empty_like(x0)
    with torch.inference_mode():
        for _ in range(n_steps):
            torch.randn(x.shape, generator=gen, out=z)
            x = step(x, z, alpha / 2, math.sqrt(alpha))
    return x


def best_ms(f, reps: int = 20) -> float:
    """Best wall time of ``f()`` over ``reps`` calls, in ms (after one warm-up call)."""
    f()
    out = []
    for _ in range(reps):
        t = time.perf_counter(); f(); out.append(time.perf_counter() - t)
    return 1e3 * min(out)


def step_parts(net: ScoreNet, x: torch.Tensor) -> dict[str, float]:
    """ms per step on rows ``x``: the network's matrix products alone, its softplus
    layers alone (in place), and the whole eager step (forward, score, update, noise)."""
    lins = [m for m in net.body if isinstance(m, torch.nn.Linear)]
    heads = torch.cat([net.head_D.weight, net.head_g.weight]).detach()
    mats = [m.weight.detach().t().contiguous() for m in lins] + [heads.t().contiguous()]
    ins = [x] + [torch.randn(len(x), W.shape[0]) for W in mats[1:]]
    outs = [torch.empty(len(x), W.shape[1]) for W in mats]
    acts = [torch.randn(len(x), m.out_features) for m in lins]
    with torch.inference_mode():     # each product through the faster BLAS
        product_ms = sum(min(best_ms(lambda: torch.mm(a, W, out=o)),
                             best_ms(lambda: np.matmul(a.numpy(), W.numpy(), out=o.numpy())))
                         for a, W, o in zip(ins, mats, outs))

    def softplus():
        for a in acts:
            torch.ops.aten.softplus.out(a, 1, 20, out=a)

    with torch.inference_mode():
        parts = {"products": product_ms, "softplus": best_ms(softplus)}
    parts["eager_step"] = best_ms(lambda: eager_loop(net, x, 0.01, 1, seed=0))
    return parts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--particles", type=int, default=10_000)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="200 Langevin steps")
    args = ap.parse_args()
    if args.quick:
        args.steps = 200
    print(f"torch {torch.__version__}, threads={torch.get_num_threads()}")
    data = FeatureSpace.default(2).points
    lis = SimulatedListener.from_data(data, seed=0)
    plan = plan_for_budget(data, 5000, seed=0)
    est = from_plan(plan, PairRatings.from_listener(lis, plan), data)
    t = time.perf_counter()
    net = train(est, ScoreNetConfig.for_estimate(est, seed=0), progress=False)
    print(f"train_s: {time.perf_counter() - t:.2f}   ({len(est)} periphery points, "
          f"{len(est.obs_values)} observations, {net.config.steps} steps)")

    cfg = ScoreNetConfig.for_estimate(est)
    t = time.perf_counter()
    ens = train_ensemble(est, 3, seed=0, config=cfg)
    together = time.perf_counter() - t
    t = time.perf_counter()
    alone = [train(est, cfg.with_(seed=i), progress=False) for i in range(3)]
    apart = time.perf_counter() - t
    diff = max(float(np.abs(a.score(data) - b.score(data)).max())
               for a, b in zip(ens.networks, alone))
    print(f"ensemble_train_s: {together:.2f}   (3 networks one at a time: {apart:.2f} s; "
          f"largest score difference on the data {diff:.1e})")
    print(f"ensemble_speedup_vs_one_at_a_time: {apart / together:.2f}")

    n, T, alpha = args.particles, args.steps, 0.01
    x0 = torch.as_tensor(data[np.random.default_rng(0).integers(0, len(data), n)], dtype=torch.float32)
    times = {"ours": [], "eager": [], "eager_autograd": [], "compiled": []}
    try:
        t = time.perf_counter()
        step = compiled_step(net)
        run_steps(step, x0, alpha, 2, seed=0)
        compile_s = time.perf_counter() - t
    except Exception as exc:  # no compiler on this machine: report, do not fail the bench
        step, compile_s = None, f"unavailable ({type(exc).__name__})"
    for _ in range(args.repeats):
        if step is not None:
            t = time.perf_counter(); run_steps(step, x0, alpha, T, seed=0)
            times["compiled"].append(time.perf_counter() - t)
        t = time.perf_counter(); ours = langevin(net.score_fn(), x0, alpha=alpha, n_steps=T, seed=0)
        times["ours"].append(time.perf_counter() - t)
        t = time.perf_counter(); ref = eager_loop(net, x0, alpha, T, seed=0)
        times["eager"].append(time.perf_counter() - t)
    t = time.perf_counter(); eager_loop(net, x0, alpha, min(T, 200), seed=0, no_grad=False)
    times["eager_autograd"].append((time.perf_counter() - t) * T / min(T, 200))
    best = {k: min(v) for k, v in times.items() if v}
    # same dynamics: identical noise, same network; float32 rounding differs slightly
    diff = float(np.abs(ours.samples - ref.numpy()).max())
    print(f"seconds: ours={best['ours']:.2f} eager={best['eager']:.2f} "
          f"eager_autograd~{best['eager_autograd']:.2f} (max |ours - eager| after {T} steps: {diff:.2g})")
    print(f"langevin_particle_steps_per_s: {n * T / best['ours']:.3g}")
    print(f"langevin_speedup_vs_eager: {best['eager'] / best['ours']:.2f}")
    print(f"langevin_speedup_vs_eager_autograd: {best['eager_autograd'] / best['ours']:.2f}")
    parts = step_parts(net, x0)
    rest = parts["eager_step"] - parts["products"] - parts["softplus"]
    print(f"eager_step_ms: {parts['eager_step']:.2f}   (products {parts['products']:.2f}, "
          f"softplus {parts['softplus']:.2f}, the rest {rest:.2f})")
    print(f"langevin_speedup_bound_products_only: {parts['eager_step'] / parts['products']:.2f}")
    print(f"langevin_speedup_bound_products_softplus: "
          f"{parts['eager_step'] / (parts['products'] + parts['softplus']):.2f}")
    if "compiled" in best:
        print(f"compile_s: {compile_s:.1f}")
        print(f"langevin_speedup_compiled_vs_eager: {best['eager'] / best['compiled']:.2f}")
    else:
        print(f"langevin_speedup_compiled_vs_eager: {compile_s}")


if __name__ == "__main__":
    main()
