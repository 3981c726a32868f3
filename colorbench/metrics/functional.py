"""The functional API: every per-image metric as a plain function, as torchmetrics.functional.

    from colorbench.metrics import functional as CF
    CF.psnr(pred, target)        # (N,) float64: one value per image, in input order

`pred` and `target` are RGB batches (N, 3, H, W), floating point in [0, 1] (8-bit images as
value / 255), on any device; the result is float64 on that device. Each function is the same
definition the registered metric averages (`colorbench list metrics` prints it), so
`CF.psnr(pred, target).mean()` equals the `psnr` metric of `colorbench score` on those images.
Dataset-level metrics (psnr_pooled, r2_pooled, auc_ab_rebal, delta_cf, fid, kid) have no
per-image value and are only accumulators (colorbench.scoring.build_accumulators).
"""
from __future__ import annotations

from typing import Callable

import torch

from colorbench.metrics import ab_structure, bins, pixel
from colorbench.metrics import colorfulness as cf
from colorbench.metrics.memo import check_pair, clear_memo


def _per_image(fn: Callable, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    try:
        return fn(*check_pair(pred, target))
    finally:
        clear_memo()  # the memo serves one scoring pass; a direct call must not keep its inputs alive


def mse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-image mean squared error in sRGB [0, 1]."""
    return _per_image(pixel.mse_per_image, pred, target)


def psnr(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-image PSNR in dB (data range 1), capped at pixel.PSNR_CAP_DB."""
    return _per_image(pixel.psnr_per_image, pred, target)


def ssim(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-image SSIM (skimage's Gaussian-window definition, mean over the 3 channels)."""
    return _per_image(pixel.ssim_per_image, pred, target)


def mse_ab(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-image mean squared error of CIELAB a and b (CIE units)."""
    return _per_image(pixel.mse_ab_per_image, pred, target)


def r2(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-image coefficient of determination of CIELAB ab (NaN for a gray ground truth)."""
    return _per_image(pixel.r2_ab_per_image, pred, target)


def acc313(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-image share of pixels in the same of Zhang et al.'s 313 ab bins."""
    return _per_image(bins.acc313_per_image, pred, target)


def acc313_approx(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-image share of pixels in the same 313 bin or one of its 8 grid neighbours."""
    return _per_image(bins.acc313_approx_per_image, pred, target)


def auc_ab(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-image area under the cumulative ab-error curve, thresholds 0..150."""
    return _per_image(bins.auc_ab_per_image, pred, target)


def msssim_ab(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-image MS-SSIM of the encoded CIELAB a*, b* channels, averaged over the two (NaN under
    ab_structure.MS_SSIM_MIN_SIDE pixels on a side)."""
    return _per_image(ab_structure.msssim_ab_per_image, pred, target)


def colorfulness(rgb: torch.Tensor) -> torch.Tensor:
    """Per-image Hasler & Suesstrunk colourfulness (0..255 scale) of one batch."""
    return _per_image(lambda p, _t: cf.colorfulness_per_image(p), rgb, rgb)


def delta_cf_image(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-image |CF(pred) - CF(target)|."""
    return _per_image(cf.delta_cf_per_image, pred, target)


# metric name -> its per-image function (the metric contract test checks this covers every
# registered per-image metric whose value is the mean of these)
PER_IMAGE = {
    "mse": mse, "psnr": psnr, "ssim": ssim, "mse_ab": mse_ab, "r2": r2, "acc313": acc313,
    "acc313_approx": acc313_approx, "auc_ab": auc_ab, "msssim_ab": msssim_ab, "colorfulness": lambda p, t: colorfulness(p),
    "delta_cf_image": delta_cf_image,
}
