"""`autoencoder` (seed 004, "Plain old AutoEncoder"): the seed's Keras listing layer for layer.

L / 100 -> 3 stride-2 convs (H/8) -> 512-wide middle -> two x2 upsamplings -> 2-channel tanh
(ab / 128) -> a final x2 upsampling. MSE on ab / 128.
"""
from __future__ import annotations

import torch
from torch import nn

from baselines.common import LearnedColorizer, conv_relu, crop_like, pad_to_multiple
from colorbench.contracts import Augment, BaselineInfo, TrainSettings

PAPER = "seed 004_9d39193bbb33fb71 (Matos et al., plain AutoEncoder)"


class AutoEncoder(LearnedColorizer):
    output = "ab"

    def __init__(self):
        super().__init__()
        up = lambda: nn.Upsample(scale_factor=2)  # noqa: E731  (Keras UpSampling2D = nearest)
        self.net = nn.Sequential(
            *conv_relu(1, 64, stride=2), *conv_relu(64, 128), *conv_relu(128, 128, stride=2),
            *conv_relu(128, 256), *conv_relu(256, 256, stride=2), *conv_relu(256, 512),
            *conv_relu(512, 512), *conv_relu(512, 256), *conv_relu(256, 128), up(),
            *conv_relu(128, 64), up(), *conv_relu(64, 32), *conv_relu(32, 16),
            nn.Conv2d(16, 2, 3, padding=1), nn.Tanh(), up(),
        )
        self.info = BaselineInfo(
            family="autoencoder", paper=PAPER, color_space="lab", loss="MSE on ab/128 (tanh)",
            input_size=256, notes=f"seed listing unchanged; params {self.num_parameters()}",
        )

    def forward(self, L: torch.Tensor) -> torch.Tensor:
        x = pad_to_multiple(L / 100.0, 8)
        return crop_like(self.net(x), L.shape[-2:], x.shape[-2:])


def autoencoder() -> AutoEncoder:
    return AutoEncoder()



# Seed 004: Adam, batch 16, 150 epochs (best model; the listing says 500), 256x256 input.
TRAIN_DEFAULTS = TrainSettings(epochs=150, batch_size=16, image_size=256, optimizer="adam", lr=1e-3,
                               augment=Augment(hflip=False))
