"""colorbench's metrics, from Python (a stable surface, as colorbench.api is for plug-ins).

    import colorbench.metrics
    fid = colorbench.metrics.create("fid")        # a torchmetrics.Metric
    for pred, target in batches:                   # RGB (N, 3, H, W) in [0, 1] or uint8
        fid.update(pred, target)
    fid.compute()                                  # tensor(...), float64
    colorbench.metrics.list()                      # what `colorbench list metrics --json` prints

`create(name, **options)` and `list()` (colorbench.metrics.factory), `RegisteredMetric` (what
create returns) and `MetricValue` (its result()) stay; `functional` holds the per-image
functions. Internal modules may move. Names load on first use (PEP 562): importing this package
does not import torch.
"""
from __future__ import annotations

import importlib

_HOMES = {
    "create": ("factory", "create"), "list": ("factory", "definitions"),
    "RegisteredMetric": ("factory", "RegisteredMetric"), "MetricValue": ("base", "MetricValue"),
}
__all__ = sorted(_HOMES)


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module 'colorbench.metrics' has no attribute {name!r}")
    module, attr = _HOMES[name]
    return getattr(importlib.import_module(f"colorbench.metrics.{module}"), attr)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOMES))
