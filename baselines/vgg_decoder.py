"""`vgg_decoder` (seed 004, "VGG16 we used 19 layers of pre-trained").

The first 19 Keras VGG16 layers (input + 5 conv blocks through block5_pool) are torchvision's
whole `vgg16().features`, frozen, fed the gray image repeated to 3 channels at 224x224 (ImageNet
normalisation, the torchvision weights' convention). Decoder as in the seed: conv 256, conv 128,
then four (x2 up, conv) steps (64, 32, 16) ending in a 2-channel tanh and a final x2 up (7 -> 224).
`input_size` must be a multiple of 32 (64 for small CPU runs); L is resized to it and the ab
output back to the caller's size.
"""
from __future__ import annotations

import torch
from torch import nn

from baselines.backbones import FrozenBackboneMixin, vgg16_features
from baselines.common import (
    LearnedColorizer,
    conv_relu,
    gray3,
    imagenet_normalize,
    resize,
)
from colorbench.contracts import Augment, BaselineInfo, TrainSettings

PAPER = "seed 004_9d39193bbb33fb71 (Matos et al., frozen VGG16 features + decoder)"


class VggDecoder(FrozenBackboneMixin, LearnedColorizer):
    output = "ab"

    def __init__(self, *, backbone: str, input_size: int):
        super().__init__()
        if input_size % 32:
            raise ValueError(f"vgg_decoder input_size must be a multiple of 32, got {input_size}")
        loaded = vgg16_features(backbone)
        self._set_backbone(loaded)
        self.input_size = int(input_size)
        up = lambda: nn.Upsample(scale_factor=2)  # noqa: E731
        self.decoder = nn.Sequential(
            *conv_relu(512, 256), *conv_relu(256, 128), up(), *conv_relu(128, 64), up(),
            *conv_relu(64, 32), up(), *conv_relu(32, 16), up(), nn.Conv2d(16, 2, 3, padding=1), nn.Tanh(), up(),
        )
        self.info = BaselineInfo(
            family="vgg_decoder", paper=PAPER, color_space="lab", loss="MSE on ab/128 (tanh)",
            input_size=self.input_size, backbone=f"{loaded.name} (frozen)", pretrained=loaded.pretrained,
            notes=f"trainable params {self.num_parameters()}, frozen backbone params {loaded.frozen_parameters}",
        )

    def forward(self, L: torch.Tensor) -> torch.Tensor:
        x = resize(gray3(L), (self.input_size, self.input_size))
        with torch.no_grad():
            feats = self.backbone(imagenet_normalize(x))
        return self.decoder(feats)  # at input_size; objectives / colorize resize to the target


def vgg_decoder(*, backbone: str = "vgg16-features", input_size: int = 224) -> VggDecoder:
    return VggDecoder(backbone=backbone, input_size=input_size)



# Seed 004: Adam, batch 128, 1000 epochs (curves suggest ~100 suffice), 224x224.
TRAIN_DEFAULTS = TrainSettings(epochs=1000, batch_size=128, image_size=224, optimizer="adam", lr=1e-3,
                               augment=Augment(hflip=False))
