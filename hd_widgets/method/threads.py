"""Thread count for small torch workloads.

Training the score network and the HumanGAN generator runs many tiny batches
(hundreds of rows, a few thousand weights). On small machines a second intra-op thread
gains nothing for them when the machine is idle, and costs many times over when another
process competes for the cores, as in a classroom JupyterHub where many kernels share a
machine (the engine benchmark measures it). So the training loops run in one thread;
Langevin, whose large batches do gain from a second thread, keeps torch's setting.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch

__all__ = ["torch_threads"]


@contextmanager
def torch_threads(n: int = 1) -> Iterator[None]:
    """Run the block with ``torch.set_num_threads(n)``; restore the previous count after."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
