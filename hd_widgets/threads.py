"""Thread count for small torch workloads.

Training the score network and the HumanGAN generator runs many tiny batches
(hundreds of rows, a few thousand weights). On the 2-core test machines a second
intra-op thread gained nothing for them when the machine was idle (8.1 s vs 7.8 s
for 1,000 steps), and cost 16x when another process competed for the cores (71 s
vs 4.3 s), as in a classroom JupyterHub where many kernels share a machine. So the
training loops run in one thread; Langevin, whose large batches do gain from a
second thread, keeps torch's setting.
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
