"""colorbench.metrics.create(name) and colorbench.metrics.list(): any registered metric as a
torchmetrics.Metric, for a training loop or a notebook.

create() builds the registry's own accumulator (MetricSpec.build, the one `colorbench score`
runs) and wraps it so that it behaves as torchmetrics' metrics do: update(pred, target) with
RGB batches, compute() -> a scalar tensor, reset(), forward() -> the batch's value, states
synchronised across a torch.distributed group at compute(). result() gives the whole record:
value, per-image values and extra (weights' SHA-256, warnings).

Inputs: torch tensors (N, 3, H, W), floating point in [0, 1] or uint8 codes (taken as
uint8 / 255 in float32, as a decoded PNG), on any device (moved to the metric's). The values
are those of the numbers given, not quantised to 8-bit (colorbench.score quantises): a batch
of uint8 codes, or of float32 k / 255, in the same batches gives bit for bit what
`colorbench score` gives on those images saved as PNGs.
"""
from __future__ import annotations

import difflib
from typing import Any

import torch
from torchmetrics import Metric

from colorbench.imageio import as_unit
from colorbench.metrics.base import MetricContext, MetricSpec, MetricValue
from colorbench.metrics.memo import clear_memo
from colorbench.metrics.registry import METRICS

# Options every metric takes: where it computes, and torchmetrics' process group for the sync.
COMMON_OPTIONS = ("device", "process_group")


def definitions() -> list[dict[str, Any]]:
    """Every registered metric as `colorbench list metrics --json` prints it: name,
    description (the full definition), higher_is_better, unit, per_image."""
    return [{"name": e.name, "description": e.obj.definition, "higher_is_better": e.obj.higher_is_better,
             "unit": e.obj.unit, "per_image": e.obj.per_image} for e in METRICS.entries()]


def create(name: str, **options: Any) -> "RegisteredMetric":
    """The registered metric `name` as a torchmetrics.Metric.

    Options: device (where the metric's networks and states live; default "cpu"),
    process_group (torchmetrics': the group whose states compute() gathers; default the whole
    world), and the metric's own (`seed` for kid's subset draws). An unknown name raises
    UnknownNameError (a KeyError) with did-you-mean; an option the metric does not take raises
    TypeError naming it and the options it does take.
    """
    spec = METRICS.get(name)
    allowed = COMMON_OPTIONS + spec.options
    for key in options:
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise TypeError(f"metric {name!r} takes no option {key!r}{hint}; it takes {', '.join(allowed)}")
    try:
        device = torch.device(options.pop("device", "cpu"))
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"device: {exc}") from None
    group = options.pop("process_group", None)
    context = MetricContext(device=device, **options)
    return RegisteredMetric(spec, context, group)


def _unit_rgb(x: Any, name: str, device: torch.device) -> torch.Tensor:
    """A batch as the scoring engine hands it to the accumulators: floats as given, uint8 as
    k / 255 (float32), in contiguous memory. The layout matters: a channels-last batch (numpy
    HWC images stacked and transposed) changes the order of float64 sums, e.g. msssim_ab's last
    bits."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor (N, 3, H, W), got {type(x).__name__}")
    if x.dtype != torch.uint8 and not x.is_floating_point():
        raise TypeError(f"{name}: expected floating-point RGB in [0, 1] or uint8, got {x.dtype}")
    return as_unit(x.detach().to(device).contiguous())


def _never() -> bool:
    return False


class RegisteredMetric(Metric):
    """A registered colorbench metric (colorbench.metrics.create) as a torchmetrics.Metric.

    `inner` is the registry's accumulator, the one the scoring engine runs; its states are the
    ones synchronised. higher_is_better follows the metric's spec (None: no better direction).
    """

    is_differentiable = False
    full_state_update = False

    def __init__(self, spec: MetricSpec, context: MetricContext, process_group: Any = None) -> None:
        super().__init__()
        self.spec = spec
        self._context = context
        self.inner = self._build(process_group)
        # forward()'s one-batch twin, built on first use; outside the module tree, so that
        # state_dict() holds only the accumulated states
        object.__setattr__(self, "_batch", None)

    def _build(self, process_group: Any) -> Metric:
        inner = self.spec.build(self._context).to(self._context.device)
        inner.process_group = process_group
        return inner

    @property
    def higher_is_better(self) -> bool | None:  # type: ignore[override]
        return self.spec.higher_is_better

    @property
    def name(self) -> str:
        return self.spec.name

    def update(self, pred: torch.Tensor, target: torch.Tensor) -> None:
        """Add a batch: pred and target (N, 3, H, W), float in [0, 1] or uint8, any device."""
        device = self.inner.device
        pred, target = _unit_rgb(pred, "pred", device), _unit_rgb(target, "target", device)
        try:
            self.inner.update(pred, target)
        finally:
            clear_memo()  # the per-batch memo must not keep the caller's tensors alive

    def compute(self) -> torch.Tensor:
        """The metric's value over everything added (on every rank of a group), float64."""
        return torch.tensor(self.inner.compute()["value"], dtype=torch.float64, device=self.inner.device)

    def result(self) -> MetricValue:
        """value, per_image ((N,) float64 in update order, ranks in rank order; None for a
        dataset-level metric) and extra, as `colorbench score` records them."""
        return MetricValue.from_output(self.inner.compute())

    def reset(self) -> None:
        super().reset()
        self.inner.reset()

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Add the batch, and return the metric of this batch alone (not synchronised)."""
        self.update(pred, target)
        if self._batch is None:
            object.__setattr__(self, "_batch", self._build(None))
            self._batch.distributed_available_fn = _never
        twin = self._batch
        twin.reset()
        device = twin.device
        try:
            twin.update(_unit_rgb(pred, "pred", device), _unit_rgb(target, "target", device))
        finally:
            clear_memo()
        return torch.tensor(twin.compute()["value"], dtype=torch.float64, device=device)

    def extra_repr(self) -> str:
        return f"name={self.spec.name!r}, device={self._context.device}"
