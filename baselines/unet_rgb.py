"""`unet_rgb` (seed 004's U-Net listing): gf = 32, seven 4x4 stride-2 convs (LeakyReLU 0.2, then
BatchNorm except the first), six (x2 up, 4x4 conv, ReLU, BatchNorm, concat skip) steps, a final
x2 up and a 4x4 conv to 3-channel sigmoid RGB. MSE on RGB. Input L / 100.
Inputs are replicate-padded to a multiple of 2**depth (128 for the seed's depth 7).
"""
from __future__ import annotations

import torch
from torch import nn

from baselines.common import LearnedColorizer, crop_like, pad_to_multiple
from colorbench.contracts import Augment, BaselineInfo, TrainSettings
from colorbench.training.objectives import RegressionObjective

PAPER = "seed 004_9d39193bbb33fb71 (Matos et al., U-Net)"
KERAS_BN_MOMENTUM = 0.2  # Keras momentum 0.8 = torch momentum 0.2


class _Down(nn.Sequential):
    def __init__(self, cin: int, cout: int, bn: bool):
        layers: list[nn.Module] = [nn.Conv2d(cin, cout, 4, stride=2, padding=1), nn.LeakyReLU(0.2, inplace=True)]
        if bn:
            layers.append(nn.BatchNorm2d(cout, momentum=KERAS_BN_MOMENTUM))
        super().__init__(*layers)


class _Up(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Upsample(scale_factor=2), nn.Conv2d(cin, cout, 4, padding="same"), nn.ReLU(inplace=True),
            nn.BatchNorm2d(cout, momentum=KERAS_BN_MOMENTUM),
        )

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return torch.cat((self.body(x), skip), dim=1)


class UnetRgb(LearnedColorizer):
    output = "rgb"

    def __init__(self, *, gf: int, depth: int):
        super().__init__()
        if depth < 2:
            raise ValueError(f"unet depth must be >= 2, got {depth}")
        ch = [gf * min(2**i, 8) for i in range(depth)]  # 32, 64, 128, 256, 256, 256, 256
        self.depth = depth
        self.downs = nn.ModuleList(_Down(1 if i == 0 else ch[i - 1], ch[i], bn=i > 0) for i in range(depth))
        ups, cin = [], ch[-1]
        for i in range(depth - 2, -1, -1):
            ups.append(_Up(cin, ch[i]))
            cin = 2 * ch[i]
        self.ups = nn.ModuleList(ups)
        self.out = nn.Sequential(nn.Upsample(scale_factor=2), nn.Conv2d(cin, 3, 4, padding="same"), nn.Sigmoid())
        self.info = BaselineInfo(
            family="unet_rgb", paper=PAPER, color_space="rgb", loss="MSE on RGB (sigmoid)", input_size=256,
            notes=f"gf {gf}, depth {depth} (seed 7); params {self.num_parameters()}",
        )

    def forward(self, L: torch.Tensor) -> torch.Tensor:
        x = pad_to_multiple(L / 100.0, 2**self.depth)
        skips = []
        h = x
        for down in self.downs:
            h = down(h)
            skips.append(h)
        for up, skip in zip(self.ups, reversed(skips[:-1])):
            h = up(h, skip)
        return crop_like(self.out(h), L.shape[-2:], x.shape[-2:])


def unet_rgb(*, gf: int = 32, depth: int = 7) -> UnetRgb:
    return UnetRgb(gf=gf, depth=depth)


def objective() -> RegressionObjective:
    return RegressionObjective(target="rgb", loss="mse")


# Seed 004: Adam; its fit_generator ran 2 "epochs" of 20 steps (batch not given); we keep Adam
# (Keras default lr 1e-3), batch 16, and 10 epochs over the training split; 256x256.
TRAIN_DEFAULTS = TrainSettings(epochs=10, batch_size=16, image_size=256, optimizer="adam", lr=1e-3,
                               augment=Augment(hflip=False))
