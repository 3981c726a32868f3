"""`ddcolor_lite`: a small DDColor (Kang et al., ICCV 2023) as described in seed 002.

Network: ConvNeXt-style encoder -> pixel decoder (four upsampling stages with encoder
shortcuts, to full resolution, giving per-pixel embeddings) and a colour decoder (learnable
colour queries that cross-attend to the first three pixel-decoder stages, strides 16/8/4, in
turn); fusion: queries . per-pixel embeddings -> Q channels, concat L, 1x1 conv -> ab.
Losses: 0.1 pixel L1 (ab, CIE units) + 5.0 perceptual (VGG16) + 1.0 adversarial (PatchGAN)
+ 0.5 colourfulness; AdamW lr 1e-4, betas (0.9, 0.99), weight decay 0.01, batch 16.

Reductions from the paper (all recorded in BaselineInfo.notes):
- encoder: ConvNeXt blocks from scratch, dims (48, 96, 192, 384), depths (2, 2, 6, 2), 1-channel
  stem on L / 50 - 1 (the paper: ConvNeXt-L, ImageNet-pretrained, on the gray RGB image); no
  ConvNeXt weights exist offline.
- colour decoder: 16 queries (paper 100; seed 002 used 50), 64-dim embeddings (paper 256),
  2 heads (paper 8; as seed 002), 3 blocks = one multi-scale group (paper 3 groups, 9 blocks),
  FFN 128; sine positional encoding plus a learned level embedding, as in the paper.
- pixel decoder: 1x1 conv + PixelShuffle upsampling, Conv-BN-ReLU fusion of the shortcuts
  (paper: UnetBlockWide with ICNR PixelShuffle and spectral norm); widths (192, 96, 64).
- discriminator: a pix2pix PatchGAN on the Lab image (seed 002 says PatchGAN; the paper's code
  uses a U-Net discriminator). Adversarial loss: non-saturating BCE.
- perceptual loss: torchvision VGG16 features (no BN; paper vgg16_bn) from colorbench weights
  'vgg16-features', L1 on conv1_1..conv5_1 with weights 1/16, 1/8, 1/4, 1/2, 1, ImageNet
  normalisation, on the RGB of (L, predicted ab); loaded by the objective (inference needs no
  VGG). A missing file raises MissingWeightsError; `perceptual_weights="random"` (tests only)
  uses a random VGG and says so in info.
- colourfulness loss (DDColor code): 1 - CF(rgb), averaged over the batch (the code sums),
  CF = sqrt(std(rg)^2 + std(yb)^2) + 0.3 sqrt(mean(rg)^2 + mean(yb)^2) with rg = |R - G|,
  yb = |(R + G) / 2 - B|, RGB in [0, 1], population std, +1e-8 inside the square roots.
- schedule: constant lr (the paper halves it at 80k iterations then every 40k); epochs = 5
  (400k iterations x 16 images is ~5 ImageNet epochs).
"""
from __future__ import annotations

import math
from typing import Literal

import torch
from torch import nn

from baselines.adversarial import (
    AdversarialBaseline,
    PatchDiscriminator,
    init_gan_weights,
)
from baselines.backbones import vgg16_features
from baselines.common import pad_to_multiple
from colorbench.contracts import BaselineInfo
from colorbench.training.adversarial import l_to_unit
from colorbench.training.perceptual import DDColorObjective

PerceptualWeights = Literal["vgg16-features", "random"]


# --------------------------------------------------------------------------- encoder


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over channels of an (N, C, H, W) tensor."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class ConvNeXtBlock(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.dw = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))
        self.gamma = nn.Parameter(torch.full((dim,), 1e-6))  # layer scale as in ConvNeXt

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.mlp(self.norm(self.dw(x).permute(0, 2, 3, 1))) * self.gamma
        return x + y.permute(0, 3, 1, 2)


class ConvNeXtEncoder(nn.Module):
    """Stem (4x4, stride 4) and four stages; returns features at strides 4, 8, 16, 32."""

    def __init__(self, *, dims: tuple[int, ...], depths: tuple[int, ...]):
        super().__init__()
        self.downs = nn.ModuleList([nn.Sequential(nn.Conv2d(1, dims[0], 4, 4), LayerNorm2d(dims[0]))])
        for i in range(1, len(dims)):
            self.downs.append(nn.Sequential(LayerNorm2d(dims[i - 1]), nn.Conv2d(dims[i - 1], dims[i], 2, 2)))
        self.stages = nn.ModuleList(nn.Sequential(*[ConvNeXtBlock(d) for _ in range(n)]) for d, n in zip(dims, depths))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats = []
        for down, stage in zip(self.downs, self.stages):
            x = stage(down(x))
            feats.append(x)
        return feats


# --------------------------------------------------------------------------- pixel decoder


class _ShuffleUp(nn.Module):
    """x `scale` by PixelShuffle, then (optionally) fuse an encoder shortcut with Conv-BN-ReLU."""

    def __init__(self, cin: int, cskip: int, cout: int, scale: int = 2):
        super().__init__()
        self.up = nn.Sequential(nn.Conv2d(cin, cout * scale * scale, 1), nn.PixelShuffle(scale))
        self.fuse = nn.Sequential(nn.Conv2d(cout + cskip, cout, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(cout), nn.ReLU(inplace=True))

    def forward(self, x: torch.Tensor, skip: torch.Tensor | None) -> torch.Tensor:
        x = self.up(x)
        return self.fuse(x if skip is None else torch.cat((x, skip), dim=1))


class PixelDecoder(nn.Module):
    """Four upsampling stages 32->16->8->4->1 with shortcuts (encoder s16, s8, s4, the input L)."""

    def __init__(self, *, enc_dims: tuple[int, ...], dec_dims: tuple[int, int, int], embed_dim: int):
        super().__init__()
        self.stages = nn.ModuleList([
            _ShuffleUp(enc_dims[3], enc_dims[2], dec_dims[0]),
            _ShuffleUp(dec_dims[0], enc_dims[1], dec_dims[1]),
            _ShuffleUp(dec_dims[1], enc_dims[0], dec_dims[2]),
            _ShuffleUp(dec_dims[2], 1, embed_dim, scale=4),
        ])

    def forward(self, feats: list[torch.Tensor], x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        """-> ([stride 16, 8, 4 decoder features], per-pixel embeddings at stride 1)."""
        h = feats[3]
        multi = []
        for stage, skip in zip(self.stages, (feats[2], feats[1], feats[0], x)):
            h = stage(h, skip)
            multi.append(h)
        return multi[:3], multi[3]


# --------------------------------------------------------------------------- colour decoder


def sine_position(h: int, w: int, dim: int, device, dtype) -> torch.Tensor:
    """DETR-style 2-D sine encoding, (h * w, dim): dim/2 channels for y, dim/2 for x."""
    quarter = dim // 4
    freq = 10000 ** (-torch.arange(quarter, device=device, dtype=torch.float32) / quarter)
    ys = torch.linspace(0, 2 * math.pi, h, device=device)[:, None] * freq  # normalised as DETR
    xs = torch.linspace(0, 2 * math.pi, w, device=device)[:, None] * freq
    py = torch.cat((ys.sin(), ys.cos()), dim=1)[:, None, :].expand(h, w, 2 * quarter)
    px = torch.cat((xs.sin(), xs.cos()), dim=1)[None, :, :].expand(h, w, 2 * quarter)
    return torch.cat((py, px), dim=2).reshape(h * w, 4 * quarter).to(dtype)


class ColorDecoderBlock(nn.Module):
    """DDColor's colour decoder block: cross-attention (queries -> features), self-attention, FFN."""

    def __init__(self, *, dim: int, heads: int, ffn: int):
        super().__init__()
        self.cross = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.self_attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.ffn = nn.Sequential(nn.Linear(dim, ffn), nn.ReLU(inplace=True), nn.Linear(ffn, dim))
        self.norms = nn.ModuleList(nn.LayerNorm(dim) for _ in range(3))

    def forward(self, q: torch.Tensor, q_pos: torch.Tensor, mem: torch.Tensor, mem_pos: torch.Tensor) -> torch.Tensor:
        q = self.norms[0](q + self.cross(q + q_pos, mem + mem_pos, mem, need_weights=False)[0])
        q = self.norms[1](q + self.self_attn(q + q_pos, q + q_pos, q, need_weights=False)[0])
        return self.norms[2](q + self.ffn(q))


class ColorDecoder(nn.Module):
    def __init__(self, *, in_dims: tuple[int, int, int], dim: int, num_queries: int, heads: int,
                 blocks: int, ffn: int):
        super().__init__()
        self.proj = nn.ModuleList(nn.Conv2d(c, dim, 1) for c in in_dims)
        self.level_embed = nn.Parameter(torch.zeros(len(in_dims), dim))
        self.query_feat = nn.Parameter(torch.randn(num_queries, dim) * 0.02)
        self.query_pos = nn.Parameter(torch.randn(num_queries, dim) * 0.02)
        self.blocks = nn.ModuleList(ColorDecoderBlock(dim=dim, heads=heads, ffn=ffn) for _ in range(blocks))
        self.norm = nn.LayerNorm(dim)

    def forward(self, feats: list[torch.Tensor]) -> torch.Tensor:
        mems = []
        for i, (proj, f) in enumerate(zip(self.proj, feats)):
            m = proj(f)
            n, c, h, w = m.shape
            pos = sine_position(h, w, c, m.device, m.dtype) + self.level_embed[i]
            mems.append((m.flatten(2).transpose(1, 2), pos.unsqueeze(0).expand(n, -1, -1)))
        n = feats[0].shape[0]
        q = self.query_feat.unsqueeze(0).expand(n, -1, -1)
        q_pos = self.query_pos.unsqueeze(0).expand(n, -1, -1)
        for i, block in enumerate(self.blocks):
            mem, mem_pos = mems[i % len(mems)]  # coarse-to-fine round robin, as DDColor
            q = block(q, q_pos, mem, mem_pos)
        return self.norm(q)


# --------------------------------------------------------------------------- the model


class DDColorGenerator(nn.Module):
    def __init__(self, *, dims: tuple[int, ...], depths: tuple[int, ...], dec_dims: tuple[int, int, int],
                 embed_dim: int, num_queries: int, heads: int, color_blocks: int, ffn: int):
        super().__init__()
        self.encoder = ConvNeXtEncoder(dims=dims, depths=depths)
        self.pixel_decoder = PixelDecoder(enc_dims=dims, dec_dims=dec_dims, embed_dim=embed_dim)
        self.color_decoder = ColorDecoder(in_dims=dec_dims, dim=embed_dim, num_queries=num_queries, heads=heads,
                                          blocks=color_blocks, ffn=ffn)
        self.color_embed = nn.Sequential(nn.Linear(embed_dim, embed_dim), nn.ReLU(inplace=True),
                                         nn.Linear(embed_dim, embed_dim))
        self.refine = nn.Conv2d(num_queries + 1, 2, 1)  # fusion: Q maps + L -> ab

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: L / 50 - 1 (N, 1, H, W) -> ab / 110, unbounded (the paper predicts raw ab)."""
        size = x.shape[-2:]
        xp = pad_to_multiple(x, 32)
        multi, pixel_embed = self.pixel_decoder(self.encoder(xp), xp)
        queries = self.color_embed(self.color_decoder(multi))
        maps = torch.einsum("nqc,nchw->nqhw", queries, pixel_embed)
        return self.refine(torch.cat((maps, xp), dim=1))[..., : size[0], : size[1]]


class DDColorLite(AdversarialBaseline):
    target = "ab"

    def __init__(self, *, generator: DDColorGenerator, ndf: int, d_layers: int,
                 perceptual_weights: PerceptualWeights, info: BaselineInfo):
        super().__init__()
        self.generator = generator
        self.discriminator = PatchDiscriminator(in_channels=3, ndf=ndf, n_layers=d_layers)
        init_gan_weights(self.discriminator)
        self.perceptual_weights = perceptual_weights  # read by the objective
        self.info = info

    def generate(self, L: torch.Tensor) -> torch.Tensor:
        return self.generator(l_to_unit(L))

    def discriminate(self, L: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.discriminator(torch.cat((l_to_unit(L), y), dim=1))

    def perceptual_features(self) -> tuple[nn.Sequential, str]:
        """The frozen VGG16 features DDColorObjective's perceptual loss uses, and their provenance."""
        loaded = vgg16_features(self.perceptual_weights)
        return loaded.module, loaded.pretrained


def ddcolor_lite(*, dims: tuple[int, ...] = (48, 96, 192, 384), depths: tuple[int, ...] = (2, 2, 6, 2),
                 dec_dims: tuple[int, int, int] = (192, 96, 64), embed_dim: int = 64, num_queries: int = 16,
                 heads: int = 2, color_blocks: int = 3, ffn: int = 128, ndf: int = 64, d_layers: int = 3,
                 perceptual_weights: PerceptualWeights = "vgg16-features") -> DDColorLite:
    if perceptual_weights not in ("vgg16-features", "random"):
        raise ValueError(f"perceptual_weights must be 'vgg16-features' or 'random', got {perceptual_weights!r}")
    generator = DDColorGenerator(dims=tuple(dims), depths=tuple(depths), dec_dims=tuple(dec_dims),
                                 embed_dim=embed_dim, num_queries=num_queries, heads=heads,
                                 color_blocks=color_blocks, ffn=ffn)
    perceptual = ("VGG16 features from colorbench weights 'vgg16-features'" if perceptual_weights == "vgg16-features"
                  else "RANDOM VGG16 (perceptual_weights=random: test-only, not the paper's loss)")
    info = BaselineInfo(
        family="ddcolor_lite", paper="seed 002 (DDColor, Kang et al. ICCV 2023, reduced)", color_space="lab",
        loss="0.1 L1(ab) + 5.0 perceptual(VGG16) + 1.0 adversarial(PatchGAN) + 0.5 colourfulness",
        input_size=None, backbone=f"ConvNeXt-style dims {tuple(dims)} depths {tuple(depths)} (from scratch)",
        pretrained="no (ConvNeXt weights not available offline; random init)",
        notes=(f"queries {num_queries} (paper 100), embed {embed_dim} (256), heads {heads} (8), colour blocks "
               f"{color_blocks} (9), PixelShuffle pixel decoder {tuple(dec_dims)}, 1-channel L input; "
               f"PatchGAN discriminator (paper: U-Net D); perceptual: {perceptual}, conv1_1..conv5_1 L1; "
               "colourfulness loss 1 - CF(rgb in [0,1]) batch-mean; constant lr (paper: step decay)"),
    )
    return DDColorLite(generator=generator, ndf=ndf, d_layers=d_layers, perceptual_weights=perceptual_weights,
                       info=info)


def objective() -> DDColorObjective:
    return DDColorObjective()
