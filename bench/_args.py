"""Command-line options the fidelity benchmarks share (same sampler, same seeds)."""
from __future__ import annotations

import argparse


def fidelity_parser(doc: str, *, seeds: int, budgets: list[int], dims: list[int]) -> argparse.ArgumentParser:
    """A parser with the options of bench/fidelity.py and bench/fidelity_sources.py."""
    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=seeds)
    ap.add_argument("--samples", type=int, default=5000)
    ap.add_argument("--steps", type=int, default=1000, help="Langevin steps")
    ap.add_argument("--alpha", type=float, default=0.01, help="Langevin step size")
    ap.add_argument("--budgets", type=int, nargs="+", default=budgets)
    ap.add_argument("--dims", type=int, nargs="+", default=dims)
    return ap
