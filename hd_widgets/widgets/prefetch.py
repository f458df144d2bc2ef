"""Render clips before they are needed: a one-thread prefetcher keyed by query index.

Rendering a 1 s clip takes about 25 ms of WORLD synthesis, so a pair costs about 50 ms.
A listener spends seconds on each pair, so while they listen the next pair is rendered
in a background thread (``concurrent.futures``); after a submit its WAV bytes are ready.
The thread only computes bytes; widgets are touched from the caller's thread alone.
"""
from __future__ import annotations

from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
import threading
from typing import Callable, Hashable

import numpy as np

__all__ = ["ClipPrefetcher"]


class ClipPrefetcher:
    """Render groups of clips in a background thread and hand them out by key.

    Parameters
    ----------
    render : callable, point (d,) -> bytes
        Renders one clip, e.g. :meth:`FeatureSpace.render_wav`.
    keep : int
        How many rendered groups to keep (least recently used dropped first); a few, so
        going back (undo) is instant too.

    Attributes
    ----------
    hits, misses : int
        Groups served from the background thread vs rendered synchronously on request.
    """

    def __init__(self, render: Callable[[np.ndarray], bytes], *, keep: int = 4):
        self.render = render
        self.keep = int(keep)
        self.hits = self.misses = 0
        self._futures: OrderedDict[Hashable, Future] = OrderedDict()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hd-prefetch")
        self._lock = threading.Lock()

    def _render_all(self, points: np.ndarray) -> list[bytes]:
        return [self.render(p) for p in points]

    def request(self, key: Hashable, points: np.ndarray) -> None:
        """Start rendering ``points`` (k, d) under ``key`` unless already there or under way."""
        with self._lock:
            if key in self._futures:
                self._futures.move_to_end(key)
                return
            self._futures[key] = self._pool.submit(self._render_all, np.array(points))
            while len(self._futures) > self.keep:
                _, old = self._futures.popitem(last=False)
                old.cancel()

    def get(self, key: Hashable, points: np.ndarray) -> list[bytes]:
        """The rendered clips for ``key``: waits for the prefetch, or renders here if none.

        Returns
        -------
        list of bytes, length k
            One WAV file per row of ``points``, in the same order.
        """
        with self._lock:
            fut = self._futures.get(key)
            if fut is not None:
                self._futures.move_to_end(key)
        if fut is not None and not fut.cancelled():
            self.hits += 1
            return fut.result()
        self.misses += 1
        clips = self._render_all(points)
        done: Future = Future()
        done.set_result(clips)
        with self._lock:
            self._futures[key] = done
        return clips

    def close(self) -> None:
        """Stop the background thread (pending renders are dropped)."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    def __repr__(self) -> str:
        return (f"ClipPrefetcher(cached={list(self._futures)}, hits={self.hits}, "
                f"misses={self.misses})")
