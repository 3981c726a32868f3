"""`autoencoder_frozen` (seed 004, "AutoEncoder with embedded pretrained imagenet frozen layer").

Seed: L -> UpSampling3D((2, 2, 3)) (x2 spatially, gray repeated to 3 channels) -> ResNet50
('imagenet', include_top=False) -> x4 upsampling -> a small conv/upsampling decoder -> tanh ab.
ResNet-50 ImageNet weights are not available offline, so the default backbone is the offline
`vgg16-features` (ImageNet VGG16 conv stack, also /32); `resnet50-imagenet` raises
MissingWeightsError; `random` is for tests. (In the seed's listing `layers[-1].trainable = False`
actually froze the upsampling layer, so its ResNet trained; we freeze the backbone as the text
intends.) The seed's decoder sizes only close up for 300x300 inputs; we keep its layer sequence
and resize the decoder output bilinearly to the input size.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from baselines.backbones import FrozenBackboneMixin, resnet50_imagenet, vgg16_features
from baselines.common import (
    LearnedColorizer,
    gray3,
    imagenet_normalize,
    pad_to_multiple,
    resize,
)
from colorbench.contracts import Augment, BaselineInfo, TrainSettings

PAPER = "seed 004_9d39193bbb33fb71 (Matos et al., AutoEncoder behind a frozen ImageNet backbone)"


def _c(cin: int, cout: int, k: int, *, stride: int = 1, padding="same") -> list[nn.Module]:
    if padding == "same" and stride > 1:
        padding = (k - 1) // 2  # Keras 'same' with stride 2 on even sizes
    return [nn.Conv2d(cin, cout, k, stride=stride, padding=padding), nn.ReLU(inplace=True)]


class AutoEncoderFrozen(FrozenBackboneMixin, LearnedColorizer):
    output = "ab"

    def __init__(self, *, backbone: str, input_upsample: int):
        super().__init__()
        if backbone == "resnet50-imagenet":
            loaded = resnet50_imagenet()
        else:
            loaded = vgg16_features(backbone)
        self._set_backbone(loaded)
        self.input_upsample = int(input_upsample)
        up = lambda f: nn.Upsample(scale_factor=f)  # noqa: E731
        self.decoder = nn.Sequential(
            up(4), *_c(512, 8, 4, padding=0, stride=2), *_c(8, 16, 4), *_c(16, 16, 3, stride=2),
            *_c(16, 32, 3), *_c(32, 32, 3, stride=2), up(2), *_c(32, 32, 3), up(3), *_c(32, 16, 2),
            up(5), nn.Conv2d(16, 2, 3, padding=1), nn.Tanh(),
        )
        self.info = BaselineInfo(
            family="autoencoder_frozen", paper=PAPER, color_space="lab", loss="MSE on ab/128 (tanh)",
            input_size=300, backbone=f"{loaded.name} (frozen)", pretrained=loaded.pretrained,
            notes=f"seed used ResNet50-imagenet (not offline); input x{self.input_upsample}; trainable params "
                  f"{self.num_parameters()}, frozen backbone params {loaded.frozen_parameters}",
        )

    def forward(self, L: torch.Tensor) -> torch.Tensor:
        x = gray3(L)
        if self.input_upsample != 1:
            x = F.interpolate(x, scale_factor=self.input_upsample, mode="nearest")
        x = pad_to_multiple(x, 32)
        with torch.no_grad():
            feats = self.backbone(imagenet_normalize(x))
        return resize(self.decoder(feats), L.shape[-2:])


def autoencoder_frozen(*, backbone: str = "vgg16-features", input_upsample: int = 2) -> AutoEncoderFrozen:
    return AutoEncoderFrozen(backbone=backbone, input_upsample=input_upsample)



# Seed 004: rmsprop (not in TrainSettings: Adam instead), batch 5, 50 epochs on 500 images, 300x300.
TRAIN_DEFAULTS = TrainSettings(epochs=50, batch_size=5, image_size=300, optimizer="adam", lr=1e-3,
                               augment=Augment(hflip=False))
