"""One call to make a notebook reproducible.

Library functions never touch global random state: each takes a ``seed`` or a
generator. Notebooks call :func:`seed_all` once at the top; it seeds NumPy's and
PyTorch's global generators (for any third-party code that uses them) and returns a
NumPy ``Generator`` to pass on explicitly.
"""
from __future__ import annotations

import random

import numpy as np

__all__ = ["seed_all"]


def seed_all(seed: int = 0) -> np.random.Generator:
    """Seed Python, NumPy and (if imported) PyTorch; return ``np.random.default_rng(seed)``."""
    random.seed(seed)
    np.random.seed(seed)
    try:
        import torch
        torch.manual_seed(seed)
    except ImportError:  # pragma: no cover - torch is a dependency, but stay headless-safe
        pass
    return np.random.default_rng(seed)
