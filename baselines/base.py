"""The one interface every baseline implements."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

import torch


@dataclass(frozen=True)
class BaselineInfo:
    """What the report says about a baseline."""

    family: str
    paper: str  # seed file or citation
    color_space: Literal["lab", "rgb"]  # what the model predicts
    loss: str
    input_size: int | None  # square training/inference size; None = any size
    backbone: str = "none"
    pretrained: str = "no"  # "no", or which weights (name and SHA-256)
    learned: bool = True
    notes: str = ""
    role: Literal["model", "floor", "ceiling"] = "model"  # floor/ceiling rows never count as "best"

    def as_dict(self) -> dict:
        return asdict(self)


class Baseline(torch.nn.Module):
    """Grayscale L in, colour out at the input size.

    `colorize(L)` takes L (N, 1, H, W) in [0, 100] (the L channel of the ground truth) and
    returns (N, 3, H, W) in `info.color_space`: Lab (L in [0, 100]) or sRGB in [0, 1].
    Only baselines with `sees_ground_truth = True` (the oracle) receive `target_rgb`.
    """

    info: BaselineInfo
    sees_ground_truth: bool = False

    def colorize(self, L: torch.Tensor, target_rgb: torch.Tensor | None = None) -> torch.Tensor:
        raise NotImplementedError

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
