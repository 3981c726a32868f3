"""Shared networks of the adversarial family: pix2pix's U-Net generator, the PatchGAN
discriminator and the AdversarialBaseline that holds both (one state_dict). The objective and
losses are colorbench/training/adversarial.py.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from colorbench.contracts import Baseline
from colorbench.training.adversarial import AB_SCALE, Target


def init_gan_weights(module: nn.Module, std: float = 0.02) -> None:
    """pix2pix / DCGAN init: conv weights N(0, std), BatchNorm weights N(1, std), biases 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, std)
            nn.init.zeros_(m.bias)


# --------------------------------------------------------------------------- modules


def _down(cin: int, cout: int, norm: bool) -> nn.Sequential:
    # seed 000's C_N block: 4x4 conv, stride 2, padding 1, BatchNorm, LeakyReLU(0.2)
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, 4, 2, 1, bias=not norm)]
    if norm:
        layers.append(nn.BatchNorm2d(cout))
    layers.append(nn.LeakyReLU(0.2, inplace=True))
    return nn.Sequential(*layers)


def _up(cin: int, cout: int, dropout: float) -> nn.Sequential:
    layers: list[nn.Module] = [nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False), nn.BatchNorm2d(cout)]
    if dropout > 0:
        layers.append(nn.Dropout(dropout))
    layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


def _even(x: torch.Tensor) -> torch.Tensor:
    """Pad to even H, W >= 2 so a stride-2 4x4 conv halves exactly (any input size works)."""
    h, w = x.shape[-2:]
    ph, pw = max(h % 2, 2 - h), max(w % 2, 2 - w)
    return F.pad(x, (0, pw, 0, ph), mode="replicate") if ph > 0 or pw > 0 else x


class UNetGenerator(nn.Module):
    """pix2pix U-Net: len(channels) stride-2 encoder blocks, mirrored transposed-conv decoder,
    skip connections by concatenation, tanh output. Works at any input size: every level pads to
    an even size (replicate) and the decoder crops to its skip, so 256 px runs exactly as pix2pix.
    """

    def __init__(self, *, in_channels: int, out_channels: int, channels: tuple[int, ...],
                 first_norm: bool, innermost_norm: bool, dropout: float, dropout_levels: int):
        super().__init__()
        n = len(channels)
        self.downs = nn.ModuleList(
            _down(channels[i - 1] if i else in_channels, channels[i],
                  norm=(first_norm if i == 0 else innermost_norm if i == n - 1 else True))
            for i in range(n)
        )
        # decoder block i produces channels[i] from the level below (concatenated except innermost)
        self.ups = nn.ModuleList(
            _up(channels[i + 1] * (1 if i == n - 2 else 2), channels[i],
                dropout if i >= n - 1 - dropout_levels else 0.0)
            for i in range(n - 1)
        )
        self.final = nn.ConvTranspose2d(channels[0] * 2, out_channels, 4, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[-2:]
        skips = []
        for down in self.downs:
            x = down(_even(x))
            skips.append(x)
        x = skips.pop()
        for up in reversed(self.ups):
            skip = skips.pop()
            x = up(x)[..., : skip.shape[-2], : skip.shape[-1]]
            x = torch.cat((x, skip), dim=1)
        return torch.tanh(self.final(x)[..., : size[0], : size[1]])


class PatchDiscriminator(nn.Module):
    """pix2pix 70x70 PatchGAN (n_layers=3): Conv-BatchNorm-LeakyReLU blocks, one logit per patch."""

    def __init__(self, *, in_channels: int, ndf: int = 64, n_layers: int = 3):
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(in_channels, ndf, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True)]
        mult = 1
        for i in range(1, n_layers + 1):
            prev, mult = mult, min(2**i, 8)
            stride = 2 if i < n_layers else 1
            layers += [nn.Conv2d(ndf * prev, ndf * mult, 4, stride, 1, bias=False),
                       nn.BatchNorm2d(ndf * mult), nn.LeakyReLU(0.2, inplace=True)]
        layers.append(nn.Conv2d(ndf * mult, 1, 4, 1, 1))  # logits; sigmoid lives in the loss
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class AdversarialBaseline(Baseline):
    """A Baseline with `generator` and `discriminator` submodules (one state_dict for both).

    Subclasses define `generate(L)` (network units) and `discriminate(L, y)` (logits);
    `target` says which units. Only the generator is used by `colorize`.
    """

    target: Target = "ab"
    generator: nn.Module
    discriminator: nn.Module

    def generate(self, L: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def discriminate(self, L: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def to_output(self, L: torch.Tensor, pred: torch.Tensor) -> torch.Tensor:
        """Network units -> Lab (target 'ab') or sRGB in [0, 1] (target 'rgb')."""
        if self.target == "ab":
            return torch.cat((L, (pred * AB_SCALE).clamp(-128.0, 127.0)), dim=1)
        return ((pred + 1.0) / 2.0).clamp(0.0, 1.0)

    def colorize(self, L: torch.Tensor, target_rgb: torch.Tensor | None = None) -> torch.Tensor:
        # Inference always uses BatchNorm running statistics and no dropout, whatever mode the
        # module is in (a fresh model is in train mode; batch 1 would break train-mode BN).
        was_training = self.training
        self.eval()
        try:
            with torch.no_grad():
                return self.to_output(L, self.generate(L))
        finally:
            self.train(was_training)


