"""What a metric is: one spec (name, direction, unit, definition) and a streaming accumulator.

Every accumulator is a torchmetrics.Metric. `update(pred, target)` takes RGB batches
(N, 3, H, W), float in [0, 1], decoded from the saved 8-bit PNGs (value / 255) at evaluation
resolution; `compute()` returns plain values (accumulate.output), which colorbench.scoring turns
into a MetricValue. Reports read direction, unit and group from the spec.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch
from torchmetrics import Metric


@dataclass(frozen=True)
class MetricValue:
    value: float
    per_image: torch.Tensor | None = None  # (N,) float64 in update order, for per-image metrics
    extra: dict = field(default_factory=dict)  # e.g. pooled variants, warnings, weight hashes

    @classmethod
    def from_output(cls, out: dict) -> "MetricValue":
        """From an accumulator's compute() (accumulate.output); torchmetrics squeezes a
        one-element per_image to a scalar, so it is reshaped back to (N,)."""
        per_image = out["per_image"]
        return cls(float(out["value"]), per_image.reshape(-1) if per_image is not None else None, dict(out["extra"]))


def compute_value(accumulator: Metric) -> MetricValue:
    """An accumulator's result as a MetricValue."""
    return MetricValue.from_output(accumulator.compute())


@dataclass(frozen=True)
class MetricSpec:
    name: str
    higher_is_better: bool | None  # None: no better direction (informational, e.g. colourfulness)
    unit: str
    definition: str  # colour space, range, resize, aggregation: the one thing the number means
    per_image: bool
    build: Callable[["MetricContext"], Metric]  # a fresh accumulator
    weights: tuple[str, ...] = ()  # names of colorbench weights the metric needs
    group: str = "other"  # one of GROUPS: how the report groups leaderboard columns
    options: tuple[str, ...] = ()  # MetricContext fields besides device that change the value (create() takes them)


GROUPS = ("pixel fidelity", "colour classes", "perceptual", "distribution", "colourfulness", "other")


@dataclass(frozen=True)
class MetricContext:
    """What an accumulator may need besides images."""

    device: torch.device = torch.device("cpu")
    real_stats_key: str | None = None  # for FID/KID: identifies the real-image set and protocol
    seed: int = 0  # KID's subset draws
