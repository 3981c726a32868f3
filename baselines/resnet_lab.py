"""`resnet_lab` (seed 000, section 3.3; the code it links: lukemelas.github.io/image-colorization).

ResNet-18 (torchvision, random init: no ImageNet weights are available offline) with a 1-channel
first conv, cut after its 6th child (conv1, bn1, relu, maxpool, layer1, layer2: 128 ch at H/8),
then the linked code's upsampling head (conv-BN-ReLU blocks with three x2 nearest upsamplings)
to 2 linear ab channels. Target ab / 128; MSE.
"""
from __future__ import annotations

import torch
import torchvision
from torch import nn

from baselines.common import LearnedColorizer, crop_like, pad_to_multiple
from colorbench.contracts import Augment, BaselineInfo, TrainSettings

PAPER = "seed 000_1271ff9aeea447fa (Ji et al., CNN with LAB channels)"


def _cbr(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class ResnetLab(LearnedColorizer):
    output = "ab"

    def __init__(self):
        super().__init__()
        resnet = torchvision.models.resnet18(weights=None, num_classes=1000)
        resnet.conv1 = nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.trunk = nn.Sequential(*list(resnet.children())[:6])
        self.head = nn.Sequential(
            *_cbr(128, 128), nn.Upsample(scale_factor=2),
            *_cbr(128, 64), *_cbr(64, 64), nn.Upsample(scale_factor=2),
            *_cbr(64, 32), nn.Conv2d(32, 2, 3, padding=1), nn.Upsample(scale_factor=2),
        )
        self.info = BaselineInfo(
            family="resnet_lab", paper=PAPER, color_space="lab", loss="MSE on ab/128", input_size=128,
            backbone="resnet18[:6] (trainable)", pretrained="no",
            notes=f"1-channel conv1; random init (ImageNet weights not available offline); "
                  f"params {self.num_parameters()}",
        )

    def forward(self, L: torch.Tensor) -> torch.Tensor:
        x = pad_to_multiple(L / 100.0, 8)
        return crop_like(self.head(self.trunk(x)), L.shape[-2:], x.shape[-2:])


def resnet_lab() -> ResnetLab:
    return ResnetLab()



# Seed 000: Adam lr 1e-2, batch 4, 30 epochs, 128x128 (lr kept only if it trains: see report).
TRAIN_DEFAULTS = TrainSettings(epochs=30, batch_size=4, image_size=128, optimizer="adam", lr=1e-2,
                               augment=Augment(hflip=False))
