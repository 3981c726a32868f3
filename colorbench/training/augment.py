"""Seeded runtime augmentation on RGB batches (before the Lab conversion), seed 001's
zoom / rotation / shear / horizontal flip. Random parameters are drawn on the CPU from the
caller's generator, so a batch's augmentation depends only on (seed, epoch, batch index),
never on the device or on the global RNG.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from colorbench.contracts import Augment


def is_identity(aug: Augment) -> bool:
    return not aug.hflip and aug.rotate_deg == 0 and aug.zoom == 0 and aug.shear_deg == 0


def augment_batch(rgb: torch.Tensor, aug: Augment, generator: torch.Generator) -> torch.Tensor:
    """(N, 3, H, W) in [0, 1] -> augmented batch, same shape; borders reflect."""
    if is_identity(aug):
        return rgb
    n = rgb.shape[0]
    u = torch.rand(n, 4, generator=generator, dtype=torch.float64)  # flip, angle, zoom, shear
    flip = (u[:, 0] < 0.5) if aug.hflip else torch.zeros(n, dtype=torch.bool)
    if aug.rotate_deg == 0 and aug.zoom == 0 and aug.shear_deg == 0:
        # a pure flip is exact: no resampling blur
        out = rgb.clone()
        idx = flip.nonzero().flatten().to(rgb.device)
        out[idx] = rgb[idx].flip(-1)
        return out
    angle = torch.deg2rad((2 * u[:, 1] - 1) * aug.rotate_deg)
    scale = 1 + (2 * u[:, 2] - 1) * aug.zoom
    shear = torch.tan(torch.deg2rad((2 * u[:, 3] - 1) * aug.shear_deg))
    cos, sin = torch.cos(angle), torch.sin(angle)
    # output -> input sampling matrix: rotation @ shear @ flip / zoom (normalised coordinates)
    fx = torch.where(flip, -1.0, 1.0).double()
    a11 = cos / scale * fx
    a12 = (cos * shear - sin) / scale
    a21 = sin / scale * fx
    a22 = (sin * shear + cos) / scale
    theta = torch.zeros(n, 2, 3, dtype=torch.float64)
    theta[:, 0, 0], theta[:, 0, 1], theta[:, 1, 0], theta[:, 1, 1] = a11, a12, a21, a22
    theta = theta.to(device=rgb.device, dtype=rgb.dtype)
    grid = F.affine_grid(theta, list(rgb.shape), align_corners=False)
    return F.grid_sample(rgb, grid, mode="bilinear", padding_mode="reflection", align_corners=False).clamp(0, 1)


