"""Shared plumbing for colorbench's streaming accumulators (no metric definitions here).

- `StreamingMetric`: a torchmetrics.Metric whose compute() returns a MetricValue. torchmetrics
  post-processes compute()'s result with apply_to_collection, which refuses frozen dataclasses,
  so the subclass's compute() result is passed through that machinery as a dict and rebuilt.
- `memo` (float64 copies, `lab64`, `ab_bins`, colourfulness): per-batch memo so the many metrics
  updated with the same batch convert it once.
  Entries hold a reference to the input tensor (so its id cannot be reused)
  and its in-place version counter, so a stale hit is impossible.
"""
from __future__ import annotations

import functools
import math
import threading
from typing import Callable

import torch
from torchmetrics import Metric
from torchmetrics.utilities import dim_zero_cat

from colorbench.color import gamut_313, rgb_to_lab
from colorbench.metrics.base import MetricValue

_F64 = torch.float64


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


class StreamingMetric(Metric):
    """Base accumulator: float64 states, compute() -> MetricValue."""

    full_state_update = False

    def _sum_state(self, name: str, shape: tuple[int, ...] = ()) -> None:
        self.add_state(name, torch.zeros(shape, dtype=_F64), dist_reduce_fx="sum")

    # Per-image values are buffered as Python floats and moved into the (synchronised) list state
    # in blocks: one small tensor kept per batch, allocated between batch-sized temporaries,
    # fragments glibc's heap so that RSS grew ~1 MB per image; Python floats live in pymalloc's
    # own arenas. Every path that reads or swaps states (compute, sync, forward, merge) flushes.
    _FLUSH_EVERY = 1 << 16

    def _list_state(self, name: str) -> None:
        self.add_state(name, [], dist_reduce_fx="cat")  # per-image values, in update order
        self.__dict__.setdefault("_pending", {})[name] = []

    def _append(self, name: str, values: torch.Tensor) -> None:
        """Record per-image values (N,) for the list state `name`."""
        pending = self._pending[name]
        pending.extend(values.detach().reshape(-1).tolist())
        if len(pending) >= self._FLUSH_EVERY:
            self._flush()

    def _flush(self) -> None:
        for name, pending in self.__dict__.get("_pending", {}).items():
            if pending:
                getattr(self, name).append(torch.tensor(pending, dtype=_F64, device=self.device))
                pending.clear()

    def sync(self, *args, **kwargs) -> None:
        self._flush()
        super().sync(*args, **kwargs)

    def forward(self, *args, **kwargs):
        self._flush()  # forward() swaps the accumulated states out and back in
        return super().forward(*args, **kwargs)

    def merge_state(self, incoming_state) -> None:
        self._flush()
        if isinstance(incoming_state, StreamingMetric):
            incoming_state._flush()
        super().merge_state(incoming_state)

    def reset(self) -> None:
        super().reset()
        for pending in self.__dict__.get("_pending", {}).values():
            pending.clear()

    def _cat(self, name: str) -> torch.Tensor:
        self._flush()
        items = getattr(self, name)
        if isinstance(items, list) and not items:
            return torch.zeros(0, dtype=_F64, device=self.device)
        return dim_zero_cat(items).to(_F64).reshape(-1)

    def _wrap_compute(self, compute: Callable) -> Callable:
        def as_dict() -> dict:
            mv = compute()
            return {"value": mv.value, "per_image": mv.per_image, "extra": dict(mv.extra)}

        wrapped = super()._wrap_compute(as_dict)

        @functools.wraps(compute)
        def compute_value() -> MetricValue:
            out = wrapped()
            per_image = out["per_image"]
            if per_image is not None:  # torchmetrics squeezes one-element tensors
                per_image = per_image.reshape(-1)
            return MetricValue(float(out["value"]), per_image, out["extra"])

        return compute_value


class PerImageMean(StreamingMetric):
    """A per-image score, averaged over images. NaN scores are excluded from the mean and counted."""

    def __init__(self) -> None:
        super().__init__()
        self._list_state("scores")

    def score(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """(N,) float64 per-image scores for float64 RGB inputs."""
        raise NotImplementedError

    def update(self, pred: torch.Tensor, target: torch.Tensor) -> None:
        self._append("scores", self.score(*check_pair(pred, target)))

    def compute(self) -> MetricValue:
        per_image = self._cat("scores").cpu()  # small; reports and stats work on the CPU
        valid = per_image[~torch.isnan(per_image)]
        value = valid.mean().item() if valid.numel() else math.nan
        extra = {"n_images": int(per_image.numel())}
        if valid.numel() != per_image.numel():
            extra["n_excluded_nan"] = int(per_image.numel() - valid.numel())
        return MetricValue(value, per_image, extra)


# ---- per-batch memo of Lab conversions and bin indices --------------------------------------

_MEMO: dict[str, list] = {}
_MEMO_LOCK = threading.Lock()
_MEMO_SIZE = 2  # pred and target of the current batch


def memo(kind: str, x: torch.Tensor, fn: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    with _MEMO_LOCK:
        for held, version, result in _MEMO.get(kind, []):
            if held is x and version == x._version:
                return result
    result = fn(x)
    with _MEMO_LOCK:
        entries = [e for e in _MEMO.get(kind, []) if e[0] is not x][-(_MEMO_SIZE - 1):]
        _MEMO[kind] = entries + [(x, x._version, result)]
    return result


def clear_memo() -> None:
    """Drop the held batches (call when scoring is done)."""
    with _MEMO_LOCK:
        _MEMO.clear()


def lab64(rgb: torch.Tensor) -> torch.Tensor:
    """float64 Lab (N, 3, H, W) of float64 RGB, memoised per batch."""
    return memo("lab", rgb, lambda x: rgb_to_lab(x.to(_F64)))


# Zhang's 313 centres lie on the 10-unit grid; a lookup from grid cell to bin index makes exact
# nearest-centre assignment O(1) per pixel (cdist against 313 centres dominates otherwise).
_A0, _B0, _NA, _NB = -90, -110, 20, 22


@functools.lru_cache(maxsize=None)
def _grid_lut() -> torch.Tensor:
    lut = torch.full((_NA, _NB), -1, dtype=torch.long)
    centres = gamut_313().long()
    lut[(centres[:, 0] - _A0) // 10, (centres[:, 1] - _B0) // 10] = torch.arange(len(centres))
    return lut


def nearest_bin(ab: torch.Tensor) -> torch.Tensor:
    """Index (N, H, W) of the nearest 313-bin centre to float64 ab (N, 2, H, W), exactly.

    Ties go to the lowest bin index (the (a, b)-lexicographically smallest centre), as a
    brute-force argmin would. If the nearest grid point is a gamut centre it is the answer;
    the other pixels (outside the gamut) fall back to a brute-force float64 argmin.
    """
    a, b = ab[:, 0], ab[:, 1]
    ia = torch.ceil(a / 10.0 - 0.5).long() - _A0 // 10  # ceil(x - 0.5): ties round down
    ib = torch.ceil(b / 10.0 - 0.5).long() - _B0 // 10
    inside = (ia >= 0) & (ia < _NA) & (ib >= 0) & (ib < _NB)
    lut = _grid_lut().to(ab.device)
    idx = torch.full_like(ia, -1)
    idx[inside] = lut[ia[inside], ib[inside]]
    miss = idx < 0
    if miss.any():
        pixels = ab.permute(0, 2, 3, 1)[miss]
        centres = gamut_313(ab.device).to(_F64)
        found = [
            (pixels[s : s + 4096, None, :] - centres[None]).square().sum(-1).argmin(1)
            for s in range(0, pixels.shape[0], 4096)
        ]
        idx[miss] = torch.cat(found)
    return idx


def ab_bins(rgb: torch.Tensor) -> torch.Tensor:
    """Nearest 313-bin index (N, H, W) of float64 RGB, memoised per batch."""
    return memo("bins", rgb, lambda x: nearest_bin(lab64(x)[:, 1:]))
