"""Multi-scale structural similarity of the chroma channels: MS-SSIM on CIELAB a* and b*.

HECD (Mullery and Whelan 2022) found MS-SSIM on a*b* the full-reference measure closest to
people (pooled SRCC 0.567); on the 390 rated images of the 6 local HECD scenes it has SRCC 0.581
with the per-image mean z-score, above every metric colorbench had (best: lpips, 0.486).
The a*, b* channels are encoded as OpenCV's 8-bit Lab does, e = (ab + 128) / 255 (not
quantised), so they lie in about [0.16, 0.93] with data range 1: SSIM's luminance term compares
channel means, and on raw CIE units (centred on 0) it would divide by numbers near 0.

MS-SSIM (Wang, Simoncelli and Bovik 2003) per channel, as torchmetrics computes it: at each of
5 scales the channel is reflect-padded by 5 pixels and filtered with an 11-tap Gaussian (sigma
1.5, separable), giving local means, variances (clamped at 0) and covariance; the contrast-
structure term cs = (2 s_xy + C2) / (s_x^2 + s_y^2 + C2) is averaged over the map without its
5-pixel border, the full SSIM map over the whole padded-back image; between scales both images
are 2x2 average-pooled (odd edges dropped). The value is prod_{i<5} relu(cs_i)^beta_i *
relu(ssim_5)^beta_5 with beta = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333), K1 = 0.01, K2 = 0.03;
relu keeps the fractional powers real (torchmetrics' normalize="relu"; without it a negative cs
gives NaN).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from colorbench.metrics.accumulate import PerImageMean
from colorbench.metrics.base import MetricSpec
from colorbench.metrics.memo import lab64
from colorbench.metrics.pixel import (
    SSIM_K1,
    SSIM_K2,
    SSIM_RADIUS,
    _blur_valid,
    _gauss_1d,
)

AB_OFFSET, AB_SCALE = 128.0, 255.0
MS_SSIM_BETAS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
MS_SSIM_MIN_SIDE = (2 * SSIM_RADIUS + 1) * 2 ** (len(MS_SSIM_BETAS) - 1)  # 176: the coarsest scale keeps 11 px


def encoded_ab(rgb: torch.Tensor) -> torch.Tensor:
    """(N, 2, H, W) (ab + 128) / 255 of float64 sRGB (N, 3, H, W) in [0, 1]."""
    return (lab64(rgb)[:, 1:] + AB_OFFSET) / AB_SCALE


def _ssim_and_cs(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, C) mean SSIM over the whole map and mean cs over the border-cropped map."""
    r = SSIM_RADIUS
    g = _gauss_1d(torch.device("cpu"))
    c1, c2 = SSIM_K1**2, SSIM_K2**2
    stack = F.pad(torch.cat([x, y, x * x, y * y, x * y], dim=1), (r, r, r, r), mode="reflect")
    ux, uy, uxx, uyy, uxy = _blur_valid(_blur_valid(stack, g, 3), g, 2).split(x.shape[1], dim=1)
    vx, vy, vxy = (uxx - ux * ux).clamp_min(0), (uyy - uy * uy).clamp_min(0), uxy - ux * uy
    upper, lower = 2 * vxy + c2, vx + vy + c2
    ssim_map = (2 * ux * uy + c1) * upper / ((ux * ux + uy * uy + c1) * lower)
    cs_map = (upper / lower)[..., r:-r, r:-r]
    return ssim_map.mean(dim=(2, 3)), cs_map.mean(dim=(2, 3))


def ms_ssim_channels(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """(N, C) MS-SSIM of every channel of float64 (N, C, H, W) pairs with data range 1."""
    factors = []
    for scale in range(len(MS_SSIM_BETAS)):
        sim, cs = _ssim_and_cs(x, y)
        factors.append(cs if scale < len(MS_SSIM_BETAS) - 1 else sim)
        x, y = F.avg_pool2d(x, 2), F.avg_pool2d(y, 2)
    betas = torch.tensor(MS_SSIM_BETAS, dtype=x.dtype, device=x.device)
    return torch.stack(factors).relu().pow(betas[:, None, None]).prod(dim=0)


def msssim_ab_per_image(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """(N,) mean over a* and b* of MS-SSIM on the encoded channels; NaN for images under
    MS_SSIM_MIN_SIDE pixels on a side."""
    if min(pred.shape[-2:]) < MS_SSIM_MIN_SIDE:
        return torch.full((pred.shape[0],), torch.nan, dtype=pred.dtype, device=pred.device)
    return ms_ssim_channels(encoded_ab(pred), encoded_ab(target)).mean(dim=1)


class MSSSIMab(PerImageMean):
    score = staticmethod(msssim_ab_per_image)


SPECS: tuple[MetricSpec, ...] = (
    MetricSpec(
        group="pixel fidelity", name="msssim_ab", higher_is_better=True, unit="", per_image=True, build=lambda ctx: MSSSIMab(),
        definition="Multi-scale structural similarity of the chroma channels: CIELAB a* and b* (D65, "
        "skimage-compatible conversion from sRGB) encoded as (value + 128) / 255, MS-SSIM per channel "
        "(5 scales, 11-tap Gaussian, sigma 1.5, K1=0.01, K2=0.03, data range 1, betas 0.0448, 0.2856, "
        "0.3001, 0.2363, 0.1333, 2x2 average pooling; equal to torchmetrics' "
        "multiscale_structural_similarity_index_measure with normalize='relu' on each encoded "
        "channel), averaged over the two channels. Per image, then the unweighted mean over images. "
        f"Images under {MS_SSIM_MIN_SIDE} pixels on a side have no value (NaN, excluded from the mean "
        "and counted in extra['n_excluded_nan']). HECD's 'MS-SSIM (a*b*)' is the product of the two "
        "channels' MS-SSIMs on OpenCV's quantised 8-bit Lab (sewar). Computed on the saved 8-bit "
        "prediction at evaluation resolution, no resizing.",
    ),
)
