"""An example colorbench plug-in: three convolutions from L to ab, trained with MSE.

Installed (`pip install -e examples/plugin`), it is the baseline `tinycolor`; without installing,
a config can name it by import path, `model: "tinycolor:create"`, with this folder on PYTHONPATH.
"""
from __future__ import annotations

import torch
from torch import nn

from colorbench.api import Baseline, BaselineInfo, RegressionObjective, TrainSettings


class TinyColor(Baseline):
    train_defaults = TrainSettings(epochs=2, batch_size=8, image_size=64, lr=1e-3)

    def __init__(self, width: int = 16):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(1, width, 3, padding=1), nn.ReLU(), nn.Conv2d(width, width, 3, padding=1),
                                 nn.ReLU(), nn.Conv2d(width, 2, 3, padding=1), nn.Tanh())
        self.info = BaselineInfo(family="tinycolor", paper="colorbench example plug-in", color_space="lab",
                                 loss="MSE on ab/128", input_size=None, notes=f"width {width}")

    def forward(self, L: torch.Tensor) -> torch.Tensor:  # what the objective trains: ab / 128
        return self.net(L / 100.0)

    def colorize(self, L: torch.Tensor, target_rgb: torch.Tensor | None = None) -> torch.Tensor:
        was_training = self.training
        self.eval()
        with torch.no_grad():
            ab = self(L) * 128.0
        self.train(was_training)
        return torch.cat((L, ab), dim=1)

    def objective(self) -> RegressionObjective:
        return RegressionObjective(target="ab", loss="mse", ab_scale=128.0)


def create(width: int = 16) -> TinyColor:
    return TinyColor(width=width)
