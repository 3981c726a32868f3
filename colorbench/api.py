"""colorbench's stable public API for plug-ins: import from here, not from internal modules.

Internal modules may move between versions; these names stay (a change comes with a deprecation).

    from colorbench.api import Baseline, BaselineInfo, RegressionObjective, TrainSettings

A plug-in baseline is a factory (`model: "mypkg.models:create"` in a config, or an entry point
in the group `colorbench.baselines`) returning a Baseline. See "Benchmark your own model" in the
README for the contract: what colorize(L) receives and returns, and how a model is trained.
"""
from __future__ import annotations

from colorbench.color import lab_to_rgb, rgb_to_lab
from colorbench.contracts import (
    Augment,
    Baseline,
    BaselineInfo,
    Objective,
    Stop,
    TrainBatch,
    TrainSettings,
)
from colorbench.training.adversarial import AdversarialObjective
from colorbench.training.objectives import (
    ClassificationObjective,
    RegressionObjective,
    build_optimizer,
)

__all__ = [
    "AdversarialObjective", "Augment", "Baseline", "BaselineInfo", "ClassificationObjective", "Objective",
    "RegressionObjective", "Stop", "TrainBatch", "TrainSettings", "build_optimizer", "lab_to_rgb", "rgb_to_lab",
]
