"""The published protocols' per-image pixel statistics, on the 8-bit codes they read.

Inputs are the scoring engine's float64 (N, 3, H, W) RGB batches, value/255 of 8-bit files;
every function here works on the codes (0..255) themselves, as the protocols' scripts do with
PIL / OpenCV arrays, and returns (N,) float64. Batches are memoised (colorbench.metrics.memo),
so the metrics of one protocol share one set of codes and one Lab round trip per batch.
"""
from __future__ import annotations

import numpy as np
import torch
from skimage import color
from skimage.metrics import structural_similarity

from colorbench.metrics.accumulate import PerImageMean
from colorbench.metrics.base import MetricSpec
from colorbench.metrics.memo import memo, noted_codes, remember_codes

_F64 = torch.float64


def codes8(rgb: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) uint8 codes of value/255 batches: the codes the scoring engine decoded, when it
    noted them; otherwise recovered, and anything but k/255 is refused (the protocols' scripts read
    8-bit files only)."""
    noted = noted_codes(rgb)
    if noted is not None:
        return noted

    def convert(x: torch.Tensor) -> torch.Tensor:
        scaled = x * 255.0
        codes = torch.round(scaled)
        if (codes - scaled).abs().max() > 1e-3:  # float32 k/255 carries ~1e-5 after scaling
            raise ValueError("the published protocols read 8-bit images; these values are not k/255")
        return codes.to(torch.uint8)

    return memo("protocol:codes8", rgb, convert)


def _hwc(codes: torch.Tensor) -> np.ndarray:
    """(N, 3, H, W) uint8 tensor -> (N, H, W, 3) uint8 array, as PIL's np.array(img)."""
    return np.ascontiguousarray(codes.permute(0, 2, 3, 1).cpu().numpy())


def lab_round_trip(rgb: np.ndarray) -> np.ndarray:
    """CT2's `_convert` ground truth (segm/metrics.py rgb_to_lab, lab_to_rgb): scikit-image Lab of
    the uint8 image, rounded to float32, back to sRGB, clipped to [0, 1], times 255, truncated
    (astype(uint8), not rounded)."""
    lab = color.rgb2lab(rgb).astype(np.float32)
    return (255 * np.clip(color.lab2rgb(lab), 0, 1)).astype(np.uint8)


def ct2_converted(target: torch.Tensor) -> torch.Tensor:
    """The ground-truth batch after CT2's Lab round trip, as value/255 float64 (memoised, so the
    four _convert metrics of a batch share one conversion and one tensor)."""
    def convert(x: torch.Tensor) -> torch.Tensor:
        images = _hwc(codes8(x))
        codes = torch.from_numpy(np.stack([lab_round_trip(img) for img in images])).permute(0, 3, 1, 2).to(x.device)
        rgb = codes.to(_F64) / 255.0
        remember_codes(rgb, codes)
        return rgb

    return memo("protocol:ct2-convert", target, convert)


def colorfulness_abs(rgb: torch.Tensor) -> torch.Tensor:
    """The colourfulness of CT2's eval_colorfullness.py and DDColor's calculate_cf: on the 8-bit
    channels, rg = |R - G|, yb = |(R + G)/2 - B| (absolute values, unlike Hasler & Süsstrunk),
    sqrt(std_rg^2 + std_yb^2) + 0.3 sqrt(mean_rg^2 + mean_yb^2), population standard deviations."""
    x = codes8(rgb).to(_F64)
    r, g, b = x[:, 0].flatten(1), x[:, 1].flatten(1), x[:, 2].flatten(1)
    rg, yb = (r - g).abs(), (0.5 * (r + g) - b).abs()
    mean_rg, mean_yb = rg.mean(1), yb.mean(1)
    var_rg = (rg - mean_rg[:, None]).square().mean(1)
    var_yb = (yb - mean_yb[:, None]).square().mean(1)
    return (var_rg + var_yb).sqrt() + 0.3 * (mean_rg.square() + mean_yb.square()).sqrt()


def _mse_codes(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-image mean squared difference of codes: the integer sum is exact (as float64's is, below
    2^53), in int32 temporaries, half float64's size."""
    squares = (a.to(torch.int32) - b.to(torch.int32)).square_().flatten(1)
    return squares.sum(1, dtype=torch.int64).to(_F64) / squares.shape[1]


def psnr_255(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """scikit-image's compare_psnr(gt, pred, 255) as CT2 calls it: 10 log10(255^2 / MSE) over all
    pixels and channels of the codes; identical images give +inf."""
    mse = _mse_codes(codes8(pred), codes8(target))
    return 10.0 * torch.log10(255.0**2 / mse)


def psnr_cropped(pred: torch.Tensor, target: torch.Tensor, border: int) -> torch.Tensor:
    """BasicSR's calculate_psnr (DDColor): `border` pixels cut from every edge, then
    20 log10(255 / sqrt(MSE)) on the codes; identical images give +inf."""
    p, t = codes8(pred), codes8(target)
    if border:
        p, t = p[..., border:-border, border:-border], t[..., border:-border, border:-border]
    mse = _mse_codes(p, t)
    return torch.where(mse == 0, torch.full_like(mse, torch.inf), 20.0 * torch.log10(255.0 / mse.sqrt()))


def ssim_skimage(pred: torch.Tensor, target: torch.Tensor, data_range: float) -> torch.Tensor:
    """scikit-image's SSIM of (target, prediction) on the uint8 codes with its defaults (7x7
    uniform window, sample covariances, K1 0.01, K2 0.03), per channel then averaged, with the
    given data_range; what compare_ssim(gt, pred, data_range, multichannel=True) computed."""
    truth, guess = _hwc(codes8(target)), _hwc(codes8(pred))
    values = [structural_similarity(t, p, data_range=data_range, channel_axis=-1) for t, p in zip(truth, guess)]
    return torch.tensor(values, dtype=_F64)


class PerImage(PerImageMean):
    """A per-image protocol statistic, averaged over images (NaN excluded and counted)."""

    def __init__(self, fn) -> None:
        super().__init__()
        self._fn = fn

    def score(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self._fn(pred, target)


CF_TEXT = ("on the 8-bit prediction, rg = |R - G|, yb = |(R + G)/2 - B|, sqrt(std_rg^2 + std_yb^2) + "
           "0.3 sqrt(mean_rg^2 + mean_yb^2) (population std); mean over images. Informational: more "
           "colourful is not more correct.")


def colorfulness_spec(definition: str) -> MetricSpec:
    """The protocols' colourfulness of the predictions (colorfulness_abs), averaged over images."""
    return MetricSpec(group="colourfulness", name="colorfulness", higher_is_better=None, unit="CF (0..255 scale)",
                      definition=definition, per_image=True, build=lambda ctx: PerImage(lambda p, t: colorfulness_abs(p)))
