"""`cnn_rgb` (seed 000, section 3.2): an 8-block Zhang-style CNN predicting RGB directly.

Input: the gray image as 3 identical channels (L / 100). Blocks of 2-3 conv+ReLU then BatchNorm;
blocks 1-3 end with a stride-2 conv (H/8), blocks 5-6 use dilation 2, block 8 upsamples by a
4x4 stride-2 deconvolution (H/4) as in Zhang et al. The seed gives no head; ours is a 1x1 conv to
3 channels, bilinear x4 upsampling and a sigmoid (RGB in [0, 1]). Loss L1 on RGB.
"""
from __future__ import annotations

import torch
from torch import nn

from baselines.common import (
    LearnedColorizer,
    crop_like,
    gray3,
    pad_to_multiple,
    zhang_trunk,
)
from colorbench.contracts import Augment, BaselineInfo, TrainSettings
from colorbench.training.objectives import RegressionObjective

PAPER = "seed 000_1271ff9aeea447fa (Ji et al., CNN with RGB channels)"


class CnnRgb(LearnedColorizer):
    output = "rgb"

    def __init__(self, width: int):
        super().__init__()
        w = width  # Zhang: 64, 128, 256, 512, 512, 512, 512, 256
        self.features = nn.Sequential(*zhang_trunk(3, w, middle_dilations=(1, 2, 2, 1)))
        self.head = nn.Sequential(
            nn.Conv2d(4 * w, 3, 1), nn.Upsample(scale_factor=4, mode="bilinear", align_corners=False), nn.Sigmoid()
        )
        self.info = BaselineInfo(
            family="cnn_rgb", paper=PAPER, color_space="rgb", loss="L1 on RGB", input_size=256,
            notes=f"width {w} (Zhang 64); 8 blocks, dilation 2 in blocks 5-6; sigmoid RGB head; "
                  "params " + str(sum(p.numel() for p in self.parameters())),
        )

    def forward(self, L: torch.Tensor) -> torch.Tensor:
        x = pad_to_multiple(gray3(L), 8)
        return crop_like(self.head(self.features(x)), L.shape[-2:], x.shape[-2:])


def cnn_rgb(*, width: int = 64) -> CnnRgb:
    return CnnRgb(width=width)


def objective() -> RegressionObjective:
    return RegressionObjective(target="rgb", loss="l1")


# Seed 000: Adam lr 2e-4, betas (0.5, 0.999), batch 4, 30 epochs, 256x256; no augmentation mentioned.
TRAIN_DEFAULTS = TrainSettings(epochs=30, batch_size=4, image_size=256, optimizer="adam", lr=2e-4,
                               betas=(0.5, 0.999), augment=Augment(hflip=False))
