"""colorbench: a benchmark suite for automatic image colorization.

From Python (the stable surface documented in colorbench.python_api):

    import colorbench
    scores = colorbench.score("outputs/", "gt/")          # a Scores record, as `colorbench score`
    result = colorbench.run("benchmarks.yaml")            # a RunResult, as `colorbench run`
    colorbench.metrics.create("lpips")                    # a torchmetrics.Metric

Names load on first use (PEP 562): `import colorbench` does not import torch.
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

_HOMES = {
    "score": "colorbench.python_api", "run": "colorbench.python_api",
    "Scores": "colorbench.scoring.scores", "Excluded": "colorbench.scoring.scores",
    "RunResult": "colorbench.run_result",
}
__all__ = ["Excluded", "RunResult", "Scores", "__version__", "metrics", "run", "score"]


def __getattr__(name: str):
    if name == "metrics":
        return importlib.import_module("colorbench.metrics")
    if name not in _HOMES:
        raise AttributeError(f"module 'colorbench' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name]), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
