"""`fusion` (seed 001's Fusion Encoder-Decoder = Deep Koalarization, Baldassarre et al. 2017).

Encoder: 8 conv layers on L (scaled to [-1, 1]) down to H/8 x 256. Feature extractor: a FROZEN
pretrained classifier's global vector (default: the offline TF-2015 Inception-v3, 2048-d pool3,
fed the gray image as RGB [0, 1]; the loader's module does its own 299x299 resize), tiled over
H/8 x W/8 and fused with the encoder output by a 1x1 conv to 256. Decoder: convs with nearest
x2 upsamplings back to H x W, 2-channel tanh (ab / 128). MSE.
(Deep Koalarization used Inception-ResNet-v2, seed 001 a ResNet-50 layer; neither is offline.)
"""
from __future__ import annotations

import torch
from torch import nn

from baselines.backbones import FrozenBackboneMixin, global_embedding
from baselines.common import (
    LearnedColorizer,
    conv_relu,
    crop_like,
    gray3,
    pad_to_multiple,
)
from baselines.zhang313 import AUGMENT_001
from colorbench.contracts import BaselineInfo, TrainSettings

PAPER = "seed 001_f5d59e148816172e (Fusion Encoder-Decoder / Deep Koalarization)"


class Fusion(FrozenBackboneMixin, LearnedColorizer):
    output = "ab"

    def __init__(self, *, backbone: str):
        super().__init__()
        loaded = global_embedding(backbone)
        self._set_backbone(loaded)
        dim = 2048
        self.encoder = nn.Sequential(
            *conv_relu(1, 64, stride=2), *conv_relu(64, 128), *conv_relu(128, 128, stride=2),
            *conv_relu(128, 256), *conv_relu(256, 256, stride=2), *conv_relu(256, 512),
            *conv_relu(512, 512), *conv_relu(512, 256),
        )
        self.fuse = nn.Sequential(nn.Conv2d(256 + dim, 256, 1), nn.ReLU(inplace=True))
        up = lambda: nn.Upsample(scale_factor=2)  # noqa: E731
        self.decoder = nn.Sequential(
            *conv_relu(256, 128), up(), *conv_relu(128, 64), *conv_relu(64, 64), up(),
            *conv_relu(64, 32), nn.Conv2d(32, 2, 3, padding=1), nn.Tanh(), up(),
        )
        self.info = BaselineInfo(
            family="fusion", paper=PAPER, color_space="lab", loss="MSE on ab/128 (tanh)", input_size=128,
            backbone=f"{loaded.name} (frozen, global vector)", pretrained=loaded.pretrained,
            notes=f"trainable params {self.num_parameters()}, frozen backbone params {loaded.frozen_parameters}",
        )

    def forward(self, L: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            emb = self.backbone(gray3(L)).flatten(1)  # (N, 2048)
        x = pad_to_multiple(L / 50.0 - 1.0, 8)
        enc = self.encoder(x)
        tiled = emb.to(enc.dtype)[:, :, None, None].expand(-1, -1, *enc.shape[-2:])
        out = self.decoder(self.fuse(torch.cat((enc, tiled), dim=1)))
        return crop_like(out, L.shape[-2:], x.shape[-2:])


def fusion(*, backbone: str = "inception-fid") -> Fusion:
    return Fusion(backbone=backbone)



# Seed 001: batch 100, Adam (Keras default lr 1e-3), 40 epochs, early stopping 7 / 0.001, 128x128.
TRAIN_DEFAULTS = TrainSettings(epochs=40, batch_size=100, image_size=128, optimizer="adam", lr=1e-3,
                               early_stopping_patience=7, early_stopping_min_delta=0.001, augment=AUGMENT_001)
