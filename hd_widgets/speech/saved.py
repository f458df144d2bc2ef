"""Reading a saved feature space back, checked: nothing foreign or damaged gets through.

:meth:`~hd_widgets.speech.space.FeatureSpace.load` calls :func:`read_saved`, which checks
every array's shape, dtype and finiteness and every setting, so a truncated, tampered or
foreign file raises a ``ValueError`` naming the file instead of a NumPy traceback.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from .analysis import N_FRAMES

__all__ = ["read_saved"]


_META_TYPES = {"d": int, "names": list, "reference": int, "gain": float, "log_range": list,
               "sample_rate": int, "level_target_db": float, "format": int}


def read_saved(path: Path, names: tuple[str, ...]) -> tuple[dict, dict]:
    """The checked settings and arrays of a saved space (constructor keywords)."""
    def bad(why: str) -> ValueError:
        return ValueError(f"{path}: not a valid saved FeatureSpace ({why})")

    if path.is_dir():
        raise bad("it is a folder")
    try:
        z = np.load(path, allow_pickle=False)
    except (FileNotFoundError, PermissionError):
        raise
    except Exception as exc:  # noqa: BLE001 - numpy / zipfile errors of a foreign or damaged file
        raise bad(f"unreadable: {type(exc).__name__}: {exc}") from None
    if not isinstance(z, np.lib.npyio.NpzFile):
        raise bad("a single .npy array, not the .npz that FeatureSpace.save writes")
    with z:
        missing = [k for k in ("meta",) + names if k not in z.files]
        if missing:
            raise bad(f"no {', '.join(missing)} array: not written by FeatureSpace.save")
        try:
            raw, arrays = z["meta"], {k: z[k] for k in names}
        except Exception as exc:  # noqa: BLE001 - truncated or tampered members
            raise bad(f"unreadable: {type(exc).__name__}: {exc}") from None
    if raw.shape != () or raw.dtype.kind != "U":
        raise bad(f"meta must be one JSON string, got an array {raw.dtype} {raw.shape}")
    try:
        meta = json.loads(str(raw))
    except ValueError as exc:
        raise bad(f"meta is not JSON: {exc}") from None
    if not isinstance(meta, dict):
        raise bad(f"meta must be a JSON object, got {type(meta).__name__}")
    if meta.get("format") != 1:
        raise bad(f"format {meta.get('format')!r}, this hd_widgets reads format 1")
    for key, kind in _META_TYPES.items():
        v = meta.get(key)
        ok = (isinstance(v, (int, float)) and not isinstance(v, bool)) if kind is float else \
            isinstance(v, kind) and not isinstance(v, bool)
        if not ok:
            raise bad(f"meta {key!r} must be {kind.__name__}, got {v!r}")
    meta.pop("format")
    _check_saved(meta, arrays, bad)
    meta["log_range"] = tuple(meta["log_range"])
    return meta, arrays


def _check_saved(meta: dict, arrays: dict[str, np.ndarray], bad) -> None:
    """Shapes, dtypes and values of a saved space, or ``bad(why)`` is raised."""
    for k, a in arrays.items():
        if a.dtype.kind not in ("U" if k == "groups" else "fiu"):
            raise bad(f"array {k!r} has dtype {a.dtype}")
        if k != "groups" and not np.all(np.isfinite(a)):
            raise bad(f"array {k!r} holds NaN or infinite values")
    comp = arrays["components"]
    if comp.ndim != 2 or comp.shape[0] < 1 or comp.shape[1] < 2:
        raise bad(f"components must have shape (K, F), got {comp.shape}")
    (K, F), N = comp.shape, len(meta["names"])
    T = len(arrays["ref_f0"]) if arrays["ref_f0"].ndim == 1 else -1
    shapes = {"mean": (F,), "scale": (K,), "scores": (N, K), "groups": (N,),
              "level_db": (N,), "ref_f0": (N_FRAMES,), "ref_ap": (T, F), "explained": (K,)}
    for k, shape in shapes.items():
        if arrays[k].shape != shape:
            raise bad(f"array {k!r} must have shape {shape}, got {arrays[k].shape}")
    if not all(isinstance(n, str) for n in meta["names"]):
        raise bad("names must be strings")
    if not np.all(arrays["scale"] > 0):
        raise bad("scale must be positive")
    if not 1 <= meta["d"] <= K or not 0 <= meta["reference"] < N:
        raise bad(f"d = {meta['d']} and reference = {meta['reference']} must lie in "
                  f"[1, {K}] and [0, {N})")
    lo_hi = meta["log_range"]
    if len(lo_hi) != 2 or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                  and math.isfinite(v) for v in lo_hi) or lo_hi[0] >= lo_hi[1]:
        raise bad(f"log_range must be two finite numbers lo < hi, got {lo_hi!r}")
    for key in ("gain", "level_target_db"):
        if not math.isfinite(meta[key]):
            raise bad(f"{key} must be finite, got {meta[key]!r}")
    if meta["gain"] <= 0:
        raise bad(f"gain must be positive, got {meta['gain']!r}")
    if not 1000 <= meta["sample_rate"] <= 384000:
        raise bad(f"sample_rate must be in [1000, 384000] Hz, got {meta['sample_rate']!r}")
