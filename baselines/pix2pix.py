"""`pix2pix` ("GAN a") and `pix2pix_pretrained` ("GAN b"): seeds 002 (Fellah et al.) and 003
(Buttau & Gatto), both after Isola et al.'s pix2pix as applied to Lab colorization.

pix2pix: U-Net generator (unet_256: 8 down blocks 64..512, BatchNorm, dropout 0.5 in the three
innermost decoder blocks), L in (L / 50 - 1), ab out (tanh, ab / 110); a 70x70 PatchGAN of
Conv-BatchNorm-LeakyReLU blocks on (L, ab); conditional GAN loss + 100 * L1; Adam lr 2e-4,
betas (0.5, 0.999), batch 16.

pix2pix_pretrained: the same GAN with a U-Net on a ResNet-18 body (1-channel stem: ImageNet
conv1 weights summed over RGB, as fastai's create_body(n_in=1) does); the generator is first
trained alone with L1 for settings.pretrain_epochs, then the GAN (seed 002: 20 + 40 epochs).

Reductions / choices:
- ab scale 110 (not 128): the colorization pix2pix code the seeds follow uses ab / 110.
- GAN b's decoder is a plain U-Net head (bilinear x2, concat skip, two 3x3 Conv-BN-ReLU) rather
  than fastai's DynamicUnet (PixelShuffle-ICNR, self-attention off, extra res block).
- the same G optimizer continues from pretraining into the GAN phase (the tutorial restarts it).
- ImageNet weights come only from the torch hub cache (torchvision's online path); offline the
  config must say `encoder_weights: none`, recorded as "no (random init, requested)".
- seed 003 trains at 224 px; the defaults here use 256 px for both (pix2pix's size; the ResNet
  U-Net takes any multiple of 32, other sizes are padded). Seed 003's 180 GAN epochs / 10
  pretrain epochs are an alternative setting (use overrides).
- colorize runs in eval mode (BatchNorm running stats, no dropout), as the tutorial does.
"""
from __future__ import annotations

from pathlib import Path
from typing import Literal

import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from baselines.adversarial import (
    AdversarialBaseline,
    PatchDiscriminator,
    UNetGenerator,
    init_gan_weights,
)
from baselines.common import pad_to_multiple
from colorbench.contracts import BaselineInfo
from colorbench.errors import MissingWeightsError
from colorbench.hashing import sha256_file
from colorbench.training.adversarial import AdversarialObjective, l_to_unit

DEFAULT_CHANNELS = (64, 128, 256, 512, 512, 512, 512, 512)
EncoderWeights = Literal["imagenet", "none"]


class Pix2Pix(AdversarialBaseline):
    """Shared by both entries: a generator mapping L units -> ab units, PatchGAN on (L, ab)."""

    target = "ab"

    def __init__(self, *, generator: nn.Module, ndf: int, d_layers: int, info: BaselineInfo):
        super().__init__()
        self.generator = generator
        self.discriminator = PatchDiscriminator(in_channels=3, ndf=ndf, n_layers=d_layers)
        init_gan_weights(self.discriminator)
        self.info = info

    def generate(self, L: torch.Tensor) -> torch.Tensor:
        return self.generator(l_to_unit(L))

    def discriminate(self, L: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.discriminator(torch.cat((l_to_unit(L), y), dim=1))


# --------------------------------------------------------------------------- GAN b generator


def _conv_bn_relu(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class _UpBlock(nn.Module):
    def __init__(self, cin: int, cskip: int, cout: int):
        super().__init__()
        self.conv = nn.Sequential(*_conv_bn_relu(cin + cskip, cout), *_conv_bn_relu(cout, cout))

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
        return self.conv(torch.cat((x, skip), dim=1))


class ResNetUNet(nn.Module):
    """U-Net whose encoder is torchvision's ResNet-18 without avgpool/fc (strides 2..32)."""

    def __init__(self, *, imagenet_state: dict | None, out_channels: int = 2):
        super().__init__()
        body = torchvision.models.resnet18(weights=None)
        if imagenet_state is not None:
            body.load_state_dict(imagenet_state)
        stem = nn.Conv2d(1, 64, 7, 2, 3, bias=False)
        with torch.no_grad():  # 1-channel input: sum the RGB filters (fastai n_in=1)
            stem.weight.copy_(body.conv1.weight.sum(dim=1, keepdim=True))
        self.stem = nn.Sequential(stem, body.bn1, body.relu)  # stride 2, 64
        self.pool = body.maxpool
        self.layers = nn.ModuleList([body.layer1, body.layer2, body.layer3, body.layer4])  # 4, 8, 16, 32
        self.ups = nn.ModuleList([_UpBlock(512, 256, 256), _UpBlock(256, 128, 128), _UpBlock(128, 64, 64),
                                  _UpBlock(64, 64, 64), _UpBlock(64, 1, 32)])
        self.head = nn.Conv2d(32, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[-2:]
        x0 = pad_to_multiple(x, 32)
        s2 = self.stem(x0)
        feats = [x0, s2]
        h = self.pool(s2)
        for layer in self.layers:
            h = layer(h)
            feats.append(h)
        h = feats.pop()
        for up in self.ups:
            h = up(h, feats.pop())
        return torch.tanh(self.head(h))[..., : size[0], : size[1]]


def _resnet18_cache_file() -> Path:
    url = torchvision.models.ResNet18_Weights.IMAGENET1K_V1.url
    return Path(torch.hub.get_dir()) / "checkpoints" / url.rsplit("/", 1)[-1]


def load_resnet18_imagenet() -> tuple[dict, str]:
    """The ImageNet ResNet-18 state_dict from the torch hub cache, and its description."""
    path = _resnet18_cache_file()
    if not path.exists():
        raise MissingWeightsError(
            f"ImageNet ResNet-18 weights are not in the torch hub cache ({path}); on a machine with "
            "internet run `python -c \"import torchvision; torchvision.models.resnet18(weights='IMAGENET1K_V1')\"`, "
            "or set `encoder_weights: none` in the baseline's config to train the encoder from scratch")
    digest = sha256_file(path)
    return torch.load(path, map_location="cpu", weights_only=True), f"resnet18 IMAGENET1K_V1 ({path.name}, sha256 {digest})"


# --------------------------------------------------------------------------- entry points

_PIX2PIX_NOTES = ("ab scale 110; colorize in eval mode (BN running stats, no dropout); U-Net pads each level to "
                  "an even size so any input size works (exact pix2pix at 256 px)")


def pix2pix(*, channels: tuple[int, ...] = DEFAULT_CHANNELS, dropout: float = 0.5, ndf: int = 64,
            d_layers: int = 3) -> Pix2Pix:
    generator = UNetGenerator(in_channels=1, out_channels=2, channels=tuple(channels), first_norm=False,
                              innermost_norm=False, dropout=dropout, dropout_levels=3)
    init_gan_weights(generator)
    info = BaselineInfo(
        family="pix2pix", paper="seeds 002/003 (pix2pix, 'GAN a')", color_space="lab",
        loss="cGAN (BCE) + 100 * L1 on ab/110", input_size=None,
        backbone=f"U-Net {tuple(channels)}", notes=_PIX2PIX_NOTES)
    return Pix2Pix(generator=generator, ndf=ndf, d_layers=d_layers, info=info)


def pix2pix_pretrained(*, encoder_weights: EncoderWeights = "imagenet", ndf: int = 64, d_layers: int = 3) -> Pix2Pix:
    if encoder_weights == "imagenet":
        state, pretrained = load_resnet18_imagenet()
    elif encoder_weights == "none":
        state, pretrained = None, "no (random init, requested)"
    else:
        raise ValueError(f"encoder_weights must be 'imagenet' or 'none', got {encoder_weights!r}")
    generator = ResNetUNet(imagenet_state=state)  # torchvision / PyTorch default init, not N(0, 0.02)
    info = BaselineInfo(
        family="pix2pix_pretrained", paper="seeds 002/003 (pix2pix with ResNet-18 U-Net, 'GAN b')",
        color_space="lab", loss="L1 pretraining, then cGAN (BCE) + 100 * L1 on ab/110", input_size=None,
        backbone="ResNet-18 U-Net", pretrained=pretrained,
        notes=_PIX2PIX_NOTES + "; plain U-Net head instead of fastai DynamicUnet; 1-channel stem = "
              "sum of ImageNet RGB filters; generator L1-pretrained for pretrain_epochs with the same optimizer")
    return Pix2Pix(generator=generator, ndf=ndf, d_layers=d_layers, info=info)


def objective() -> AdversarialObjective:
    # pretrain length (0 for GAN a, 20 for GAN b) comes from settings.pretrain_epochs
    return AdversarialObjective(lambda_l1=100.0, target="ab", name="pix2pix")
