"""Shared pieces of the learned baselines: the forward/colorize convention and small layers.

Convention for every learned model (the objectives in colorbench.training.objectives rely on it):
  forward(L) takes L (N, 1, H, W) in [0, 100] at any size and returns the *raw* prediction at the
  model's own output resolution:
    output == "ab"     (N, 2, h, w) ab / ab_scale (tanh models: in [-1, 1])
    output == "rgb"    (N, 3, h, w) sRGB in [0, 1]
    output == "logits" (N, 313, h, w) class scores over colorbench.color.gamut_313
  colorize(L) decodes that, resizes it bilinearly to (H, W) and, for ab, joins it with the input L.
"""
from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from colorbench.color import ANNEAL_T, NUM_BINS, annealed_mean, l_to_lab
from colorbench.contracts import Baseline
from colorbench.training.objectives import RegressionObjective

AB_SCALE = 128.0  # ab = raw * AB_SCALE: the tanh ab models' output range


class LearnedColorizer(Baseline):
    output: Literal["ab", "rgb", "logits"] = "ab"
    ab_scale: float = AB_SCALE  # ab = raw * ab_scale for output == "ab"
    anneal_T: float = ANNEAL_T  # decoding temperature for output == "logits"

    def colorize(self, L: torch.Tensor, target_rgb: torch.Tensor | None = None) -> torch.Tensor:
        was_training = self.training
        self.eval()  # BatchNorm must use running stats whatever mode the caller left
        try:
            with torch.no_grad():
                raw = self(L)
        finally:
            self.train(was_training)
        raw = raw.float()
        size = L.shape[-2:]
        if self.output == "rgb":
            return resize(raw, size).clamp(0.0, 1.0)
        ab = annealed_mean(raw, self.anneal_T) if self.output == "logits" else raw * self.ab_scale
        # a linear ab head (resnet_lab) can leave the contract's ab range: decoded into it, as rgb into [0, 1]
        return l_to_lab(L.float(), resize(ab, size).clamp(-AB_SCALE, AB_SCALE))


def resize(x: torch.Tensor, size) -> torch.Tensor:
    size = tuple(int(s) for s in size)
    if tuple(x.shape[-2:]) == size:
        return x
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


def pad_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Replicate-pad bottom/right so H and W are multiples of `multiple` (strided nets need it)."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    return F.pad(x, (0, pw, 0, ph), mode="replicate") if ph or pw else x


def crop_like(out: torch.Tensor, in_hw, padded_hw) -> torch.Tensor:
    """Crop an output computed on a padded input back to the unpadded region (same scale)."""
    h = round(out.shape[-2] * in_hw[0] / padded_hw[0])
    w = round(out.shape[-1] * in_hw[1] / padded_hw[1])
    return out[..., : max(h, 1), : max(w, 1)]


def gray3(L: torch.Tensor) -> torch.Tensor:
    """L in [0, 100] -> 3-channel gray in [0, 1] (the seeds' 'L repeated' input)."""
    return (L / 100.0).expand(-1, 3, -1, -1)


IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def imagenet_normalize(rgb: torch.Tensor) -> torch.Tensor:
    mean = torch.tensor(IMAGENET_MEAN, device=rgb.device, dtype=rgb.dtype).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=rgb.device, dtype=rgb.dtype).view(1, 3, 1, 1)
    return (rgb - mean) / std


def conv_relu(cin: int, cout: int, *, stride: int = 1, dilation: int = 1, kernel: int = 3) -> list[nn.Module]:
    pad = dilation * (kernel - 1) // 2
    return [nn.Conv2d(cin, cout, kernel, stride=stride, padding=pad, dilation=dilation), nn.ReLU(inplace=True)]


def zhang_block(cin: int, cout: int, n: int, *, stride_last: int = 1, dilation: int = 1) -> nn.Sequential:
    """Zhang et al.'s block: n x (conv 3x3 + ReLU), the last one optionally strided, then BatchNorm."""
    layers: list[nn.Module] = []
    for i in range(n):
        stride = stride_last if i == n - 1 else 1
        layers += conv_relu(cin if i == 0 else cout, cout, stride=stride, dilation=dilation)
    layers.append(nn.BatchNorm2d(cout))
    return nn.Sequential(*layers)


def zhang_up_block(cin: int, cout: int, n: int) -> nn.Sequential:
    """Zhang's conv8: a 4x4 stride-2 deconvolution then (n - 1) convs, each with ReLU (no BN)."""
    layers: list[nn.Module] = [nn.ConvTranspose2d(cin, cout, 4, stride=2, padding=1), nn.ReLU(inplace=True)]
    for _ in range(n - 1):
        layers += conv_relu(cout, cout)
    return nn.Sequential(*layers)


def zhang_trunk(cin: int, w: int, *, middle_dilations: tuple[int, ...]) -> list[nn.Module]:
    """Zhang et al.'s layer stack at width w: three stride-2 blocks (H/8), one 3-conv block per
    middle dilation, then the 4x4 deconvolution block (H/4)."""
    layers: list[nn.Module] = [
        zhang_block(cin, w, 2, stride_last=2),
        zhang_block(w, 2 * w, 2, stride_last=2),
        zhang_block(2 * w, 4 * w, 3, stride_last=2),
    ]
    layers += [zhang_block(4 * w if i == 0 else 8 * w, 8 * w, 3, dilation=d) for i, d in enumerate(middle_dilations)]
    return [*layers, zhang_up_block(8 * w, 4 * w, 3)]


def ab_mse_objective() -> RegressionObjective:
    """MSE on ab / AB_SCALE: the objective of every tanh-ab regression baseline."""
    return RegressionObjective(target="ab", loss="mse", ab_scale=AB_SCALE)


__all__ = [
    "LearnedColorizer", "NUM_BINS", "resize", "pad_to_multiple", "crop_like", "gray3",
    "imagenet_normalize", "conv_relu", "zhang_block", "zhang_up_block", "zhang_trunk", "AB_SCALE",
    "ab_mse_objective",
]
