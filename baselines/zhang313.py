"""`zhang313` / `zhang313_ce` (seed 001): a scaled-down Zhang et al. classifier over 313 ab bins.

Seed 001 halves every width (64 -> 32, ...) and removes two of Zhang's four middle 512-wide
blocks (the remaining two become 256 wide). We keep block 4 (dilation 1) and one dilated block
(dilation 2), so the layer ordering and the dilation idea survive. L (128x128) -> three stride-2
blocks (16x16) -> two middle blocks -> deconvolution (32x32) -> 1x1 conv to 313 logits.
Decoding: annealed mean (T = 0.38) at 32x32, ab upsampled bilinearly to the input size, joined
with L. `class_priors` (a buffer, filled by ClassificationObjective.prepare from the training
split) makes the rebalancing weights part of every checkpoint.
"""
from __future__ import annotations

import torch
from torch import nn

from baselines.common import (
    NUM_BINS,
    LearnedColorizer,
    crop_like,
    pad_to_multiple,
    zhang_trunk,
)
from colorbench.color import ANNEAL_T
from colorbench.contracts import Augment, BaselineInfo, TrainSettings
from colorbench.training.objectives import ClassificationObjective

PAPER = "seed 001_f5d59e148816172e (scaled-down Zhang et al. 2016)"


class Zhang313(LearnedColorizer):
    output = "logits"

    def __init__(self, *, family: str, width: int, anneal_T: float, rebalanced: bool):
        super().__init__()
        w = width  # seed 001: 32, 64, 128, 256 (middle), 128 (up)
        self.anneal_T = float(anneal_T)
        self.features = nn.Sequential(*zhang_trunk(1, w, middle_dilations=(1, 2)), nn.Conv2d(4 * w, NUM_BINS, 1))
        self.register_buffer("class_priors", torch.zeros(NUM_BINS))
        loss = "rebalanced soft-encoded CE (lambda 0.5)" if rebalanced else "soft-encoded CE (no rebalancing)"
        self.info = BaselineInfo(
            family=family, paper=PAPER, color_space="lab", loss=loss, input_size=128,
            notes=f"width {w} (Zhang 64), 2 of 4 middle blocks kept; logits at H/4; annealed mean "
                  f"T={self.anneal_T}; priors from the train split; params {self.num_parameters()}",
        )

    def forward(self, L: torch.Tensor) -> torch.Tensor:
        x = pad_to_multiple((L - 50.0) / 50.0, 8)
        return crop_like(self.features(x), L.shape[-2:], x.shape[-2:])


def zhang313(*, width: int = 32, anneal_T: float = ANNEAL_T) -> Zhang313:
    return Zhang313(family="zhang313", width=width, anneal_T=anneal_T, rebalanced=True)


def zhang313_ce(*, width: int = 32, anneal_T: float = ANNEAL_T) -> Zhang313:
    return Zhang313(family="zhang313_ce", width=width, anneal_T=anneal_T, rebalanced=False)


def objective() -> ClassificationObjective:
    return ClassificationObjective(rebalance=True)


def objective_ce() -> ClassificationObjective:
    return ClassificationObjective(rebalance=False)


# Seed 001: Adam (lr not given: Keras default 1e-3), batch 100, up to 40 epochs, early stopping
# 7 / 0.001, runtime zoom/rotate/shear/hflip (ranges not given: Deep Koalarization's 20 deg,
# 0.2 zoom, 0.2 rad shear).
AUGMENT_001 = Augment(hflip=True, rotate_deg=20.0, zoom=0.2, shear_deg=11.5)
TRAIN_DEFAULTS = TrainSettings(epochs=40, batch_size=100, image_size=128, optimizer="adam", lr=1e-3,
                               early_stopping_patience=7, early_stopping_min_delta=0.001, augment=AUGMENT_001)
