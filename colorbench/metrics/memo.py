"""The one per-batch memo: every metric updated with the same batch shares one float64 copy, one
Lab conversion, one set of 313-bin indices, one colourfulness and one Inception pass. The scoring
engine also notes each batch's 8-bit codes here, for the Lab conversion's lookup table.

An entry holds a reference to the input tensor (so its id cannot be reused while held) and its
in-place version counter, so a stale hit is impossible; `key` separates kinds (and devices).
Only the most recent entries per key are kept (the current batch's); the scoring engine also
clears the memo before each batch.
"""
from __future__ import annotations

import threading
from typing import Callable

import torch

from colorbench.color import quantize_ab, rgb8_to_lab, rgb_to_lab

_F64 = torch.float64
_MEMO: dict[str, list] = {}
_MEMO_LOCK = threading.Lock()
_MEMO_SIZE = 3  # pred and target of the current batch, and one derived from them (CT2's round trip)


def memo(key: str, x: torch.Tensor, fn: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    found = lookup(key, x)
    if found is not None:
        return found
    result = fn(x)
    remember(key, x, result)
    return result


def lookup(key: str, x: torch.Tensor) -> torch.Tensor | None:
    with _MEMO_LOCK:
        for held, version, result in _MEMO.get(key, []):
            if held is x and version == x._version:
                return result
    return None


def remember(key: str, x: torch.Tensor, result: torch.Tensor) -> None:
    with _MEMO_LOCK:
        entries = [e for e in _MEMO.get(key, []) if e[0] is not x][-(_MEMO_SIZE - 1):]
        _MEMO[key] = entries + [(x, x._version, result)]


def remember_codes(rgb: torch.Tensor, codes: torch.Tensor) -> None:
    """Note that rgb is codes / 255 (the scoring engine's 8-bit batches): lab64 then converts
    through rgb8_to_lab's lookup table, with bitwise the same result."""
    remember("codes", rgb, codes)


def clear_memo() -> None:
    """Drop the held batches (call when scoring is done)."""
    with _MEMO_LOCK:
        _MEMO.clear()


def _checked(x: torch.Tensor, name: str) -> torch.Tensor:
    lo, hi = torch.aminmax(x) if x.numel() else (0, 0)
    if not (lo >= 0 and hi <= 1):  # NaN fails both comparisons, inf the second
        raise ValueError(f"{name}: RGB inputs must be finite and in [0, 1], found values in [{float(lo):g}, {float(hi):g}]")
    return x


def check_pair(pred: torch.Tensor, target: torch.Tensor, widen: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate an (N, 3, H, W) RGB pair in [0, 1]; return both as float64 (memoised per batch,
    so every accumulator updated with this batch gets the same float64 tensors), or with
    widen=False the tensors as given (for metrics that compute in float32: no float64 copy of
    the batch, 25 MB for 16 pairs of 256 px). Each refusal names the argument at fault."""
    for name, x in (("pred", pred), ("target", target)):
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"{name}: expected RGB batches of shape (N, 3, H, W), got {tuple(x.shape)}")
        if not x.is_floating_point():
            raise TypeError(f"{name}: expected floating-point RGB in [0, 1] (uint8 / 255), got {x.dtype}")
    if pred.shape != target.shape:
        raise ValueError(f"pred {tuple(pred.shape)} and target {tuple(target.shape)} differ in shape")
    if not widen:
        return memo("checked", pred, lambda x: _checked(x, "pred")), memo("checked", target, lambda x: _checked(x, "target"))
    return _f64(pred, "pred"), _f64(target, "target")


def _f64(rgb: torch.Tensor, name: str) -> torch.Tensor:
    """The checked float64 copy; it inherits rgb's 8-bit codes, if noted."""
    wide = memo("f64", rgb, lambda x: _checked(x, name).to(_F64))
    codes = lookup("codes", rgb)
    if codes is not None and wide is not rgb:
        remember("codes:f64", wide, codes)
    return wide


def noted_codes(rgb: torch.Tensor) -> torch.Tensor | None:
    """The uint8 codes noted for rgb (or for the tensor its float64 copy was made from), if any."""
    codes = lookup("codes:f64", rgb)
    return lookup("codes", rgb) if codes is None else codes


def lab64(rgb: torch.Tensor) -> torch.Tensor:
    """float64 Lab (N, 3, H, W) of float64 RGB, memoised per batch."""
    def convert(x: torch.Tensor) -> torch.Tensor:
        codes = noted_codes(x)
        return rgb_to_lab(x.to(_F64)) if codes is None else rgb8_to_lab(codes, _F64)

    return memo("lab", rgb, convert)


def ab_bins(rgb: torch.Tensor) -> torch.Tensor:
    """Nearest 313-bin index (N, H, W) of float64 RGB, memoised per batch."""
    return memo("bins", rgb, lambda x: quantize_ab(lab64(x)[:, 1:]))
