"""Resize policies applied to ground-truth images before they reach a model or a metric.

Resampling, for every policy: torch.nn.functional.interpolate(mode="bicubic", antialias=True) on
the float image, then clamp to [0, 1] (bicubic overshoots at edges). With antialias=True torch
uses PIL's bicubic kernel (a = -0.5) widened by the scale factor when downscaling, so results
match PIL's Image.resize(BICUBIC) to within 8-bit rounding, without an extra quantisation to
8 bits. Images smaller than the target are upscaled with the same kernel (there is no separate
"too small" rule; upscaled content is soft, and the report records the policy).

  short_side_crop  resize so the short side is `size` (long side rounded to nearest), then take
                   the centred size x size crop (offset floor((long - size) / 2)).
  stretch          resize to size x size, ignoring aspect ratio.
  none             return the image unchanged (batches then need batch_size=1 or padding).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .spec import RESIZE_POLICIES


def _resample(rgb: torch.Tensor, height: int, width: int) -> torch.Tensor:
    if (height, width) == tuple(rgb.shape[-2:]):
        return rgb
    out = F.interpolate(rgb[None], size=(height, width), mode="bicubic", antialias=True, align_corners=False)
    return out[0].clamp_(0.0, 1.0)


def resize(rgb: torch.Tensor, size: int | None, policy: str) -> torch.Tensor:
    """(3, H, W) float in [0, 1] -> (3, size, size) (or unchanged for policy 'none')."""
    if rgb.ndim != 3 or rgb.shape[0] != 3 or not rgb.is_floating_point():
        raise ValueError(f"resize expects a float (3, H, W) tensor, got {rgb.dtype} {tuple(rgb.shape)}")
    if policy not in RESIZE_POLICIES:
        raise ValueError(f"unknown resize policy {policy!r}; choose from {RESIZE_POLICIES}")
    if policy == "none":
        return rgb
    if not isinstance(size, int) or size < 1:
        raise ValueError(f"resize policy {policy!r} needs a positive integer size, got {size!r}")
    if policy == "stretch":
        return _resample(rgb, size, size)
    h, w = rgb.shape[-2:]
    if h <= w:
        new_h, new_w = size, max(size, round(w * size / h))
    else:
        new_h, new_w = max(size, round(h * size / w)), size
    out = _resample(rgb, new_h, new_w)
    top, left = (new_h - size) // 2, (new_w - size) // 2
    return out[:, top : top + size, left : left + size].contiguous()


def describe(policy: str, size: int | None) -> str:
    """One line recorded with results, e.g. for the report's dataset table."""
    kernel = "torch bicubic antialias=True (PIL BICUBIC kernel), float, clamped to [0,1]; smaller images upscaled"
    if policy == "none":
        return "none: original size, no resampling"
    if policy == "stretch":
        return f"stretch {size}x{size}: aspect ratio not kept; {kernel}"
    if policy == "short_side_crop":
        return f"short_side_crop {size}: short side to {size}, centre crop {size}x{size}; {kernel}"
    raise ValueError(f"unknown resize policy {policy!r}; choose from {RESIZE_POLICIES}")
