"""The accumulators' shared base: torchmetrics.Metric with float64 states, and the per-image mean.

Every accumulator's compute() returns plain values, {"value": float, "per_image": (N,) float64
tensor or None, "extra": {...}}; colorbench.scoring turns them into MetricValue records. The
metric math itself is in plain functions (colorbench.metrics.functional is the public API).
"""
from __future__ import annotations

import math

import torch
from torchmetrics import Metric
from torchmetrics.utilities import dim_zero_cat

from colorbench.metrics.memo import check_pair

_F64 = torch.float64


def output(value: float, per_image: torch.Tensor | None = None, **extra) -> dict:
    """What every compute() returns."""
    return {"value": float(value), "per_image": per_image, "extra": extra}


class StreamingMetric(Metric):
    """Base accumulator: float64 states; compute() returns output(...)."""

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
        for name, default in self._defaults.items():
            # a rank with no images must still take part in every gather of a list state
            if isinstance(default, list) and not getattr(self, name):
                getattr(self, name).append(self._no_rows(name))
        super().sync(*args, **kwargs)

    def _no_rows(self, name: str) -> torch.Tensor:
        """An empty block for the list state `name` (per-image values unless overridden)."""
        return torch.zeros(0, dtype=_F64, device=self.device)

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

    def compute(self) -> dict:
        per_image = self._cat("scores").cpu()  # small; reports and stats work on the CPU
        valid = per_image[~torch.isnan(per_image)]
        extra = {"n_images": int(per_image.numel())}
        if valid.numel() != per_image.numel():
            extra["n_excluded_nan"] = int(per_image.numel() - valid.numel())
        return output(valid.mean().item() if valid.numel() else math.nan, per_image, **extra)


