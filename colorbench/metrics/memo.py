"""The one per-batch memo: every metric updated with the same batch shares one float64 copy, one
Lab conversion, one set of 313-bin indices, one colourfulness and one Inception pass.

An entry holds a reference to the input tensor (so its id cannot be reused while held) and its
in-place version counter, so a stale hit is impossible; `key` separates kinds (and devices).
Only the most recent entries are kept: the pred and target of the current batch.
"""
from __future__ import annotations

import threading
from typing import Callable

import torch

from colorbench.color import quantize_ab, rgb_to_lab

_F64 = torch.float64
_MEMO: dict[str, list] = {}
_MEMO_LOCK = threading.Lock()
_MEMO_SIZE = 2  # pred and target of the current batch


def memo(key: str, x: torch.Tensor, fn: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    with _MEMO_LOCK:
        for held, version, result in _MEMO.get(key, []):
            if held is x and version == x._version:
                return result
    result = fn(x)
    with _MEMO_LOCK:
        entries = [e for e in _MEMO.get(key, []) if e[0] is not x][-(_MEMO_SIZE - 1):]
        _MEMO[key] = entries + [(x, x._version, result)]
    return result


def clear_memo() -> None:
    """Drop the held batches (call when scoring is done)."""
    with _MEMO_LOCK:
        _MEMO.clear()


def _checked_f64(x: torch.Tensor) -> torch.Tensor:
    lo, hi = torch.aminmax(x) if x.numel() else (0, 0)
    if not (lo >= 0 and hi <= 1):  # NaN fails both comparisons, inf the second
        raise ValueError("RGB inputs must be finite and in [0, 1]")
    return x.to(_F64)


def check_pair(pred: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate an (N, 3, H, W) RGB pair in [0, 1]; return both as float64 (memoised per batch,
    so every accumulator updated with this batch gets the same float64 tensors)."""
    if pred.shape != target.shape:
        raise ValueError(f"pred {tuple(pred.shape)} and target {tuple(target.shape)} differ in shape")
    if pred.ndim != 4 or pred.shape[1] != 3:
        raise ValueError(f"expected RGB batches of shape (N, 3, H, W), got {tuple(pred.shape)}")
    if not (pred.is_floating_point() and target.is_floating_point()):
        raise TypeError("expected floating-point RGB in [0, 1] (uint8 / 255)")
    return memo("f64", pred, _checked_f64), memo("f64", target, _checked_f64)


def lab64(rgb: torch.Tensor) -> torch.Tensor:
    """float64 Lab (N, 3, H, W) of float64 RGB, memoised per batch."""
    return memo("lab", rgb, lambda x: rgb_to_lab(x.to(_F64)))


def ab_bins(rgb: torch.Tensor) -> torch.Tensor:
    """Nearest 313-bin index (N, H, W) of float64 RGB, memoised per batch."""
    return memo("bins", rgb, lambda x: quantize_ab(lab64(x)[:, 1:]))
