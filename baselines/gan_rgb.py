"""`gan_rgb`: the "GAN with RGB" of Ji et al., "Colorization Model Comparison" (seed 000).

Generator: an encoder of C_N blocks (4x4 conv, stride 2, padding 1, BatchNorm, LeakyReLU 0.2),
a mirrored decoder, symmetric skip connections; input the grayscale image as 3 identical
channels (L / 100), output RGB (tanh, RGB * 2 - 1). Loss L_BCE + lambda * L1, lambda = 100.

Reductions / assumptions (the seed's architecture figures did not survive extraction):
- depth and widths are pix2pix's unet_256: 8 blocks of 64-128-256-512-512-512-512-512
  (256 px -> 1 px), BatchNorm on every encoder block as the seed says (pix2pix skips it on the
  first and innermost); decoder blocks are ConvTranspose(4, 2, 1)-BatchNorm-ReLU, no dropout.
- discriminator: a conditional 70x70 PatchGAN on (gray, RGB); the seed's final sigmoid is
  folded into BCEWithLogits (identical maths).
- the seed's L1 is a sum; we use the mean (a constant factor 3HW that only rescales lambda's
  meaning; lambda = 100 with the mean is pix2pix's setting, which the seed's lambda comes from).
- optimizer: the seed gives none for the GAN; we use its CNN-RGB settings (Adam lr 2e-4,
  betas (0.5, 0.999), batch 4, 30 epochs), which are pix2pix's.
"""
from __future__ import annotations

import torch

from baselines.adversarial import (
    AdversarialBaseline,
    PatchDiscriminator,
    UNetGenerator,
    init_gan_weights,
)
from colorbench.contracts import BaselineInfo
from colorbench.training.adversarial import AdversarialObjective

DEFAULT_CHANNELS = (64, 128, 256, 512, 512, 512, 512, 512)


class GanRGB(AdversarialBaseline):
    target = "rgb"

    def __init__(self, *, channels: tuple[int, ...], ndf: int, d_layers: int):
        super().__init__()
        self.generator = UNetGenerator(in_channels=3, out_channels=3, channels=tuple(channels),
                                       first_norm=True, innermost_norm=True, dropout=0.0, dropout_levels=0)
        self.discriminator = PatchDiscriminator(in_channels=6, ndf=ndf, n_layers=d_layers)
        init_gan_weights(self)
        self.info = BaselineInfo(
            family="gan_rgb", paper="seed 000 (Ji et al., Colorization Model Comparison), GAN with RGB",
            color_space="rgb", loss="BCE (GAN) + 100 * L1 on RGB", input_size=None,
            backbone=f"U-Net of {len(channels)} C_N blocks {tuple(channels)}",
            notes=("architecture figures missing from the seed: pix2pix unet_256 depth/widths with BN on "
                   "every encoder block, ConvTranspose-BN-ReLU decoder; conditional PatchGAN on (gray, RGB) "
                   "with logits + BCEWithLogits (= sigmoid + BCE); L1 as a mean, not a sum; optimizer "
                   "settings taken from the seed's CNN-RGB section (Adam 2e-4, betas 0.5/0.999, batch 4)"),
        )

    @staticmethod
    def gray(L: torch.Tensor) -> torch.Tensor:
        return (L / 100.0).expand(-1, 3, -1, -1)  # the seed feeds 3 identical gray channels

    def generate(self, L: torch.Tensor) -> torch.Tensor:
        return self.generator(self.gray(L))

    def discriminate(self, L: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.discriminator(torch.cat((self.gray(L), y), dim=1))


def gan_rgb(*, channels: tuple[int, ...] = DEFAULT_CHANNELS, ndf: int = 64, d_layers: int = 3) -> GanRGB:
    return GanRGB(channels=channels, ndf=ndf, d_layers=d_layers)


def objective() -> AdversarialObjective:
    return AdversarialObjective(lambda_l1=100.0, target="rgb", name="gan_rgb")
