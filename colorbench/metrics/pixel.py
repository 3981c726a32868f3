"""Pixel-wise fidelity metrics: MSE, PSNR, SSIM (RGB) and MSE / R² on the Lab ab channels."""
from __future__ import annotations

import math

import torch

from colorbench.metrics.accumulate import PerImageMean, StreamingMetric, output
from colorbench.metrics.base import MetricSpec
from colorbench.metrics.memo import check_pair, lab64

PSNR_CAP_DB = 100.0  # per-image PSNR is min(PSNR, 100 dB); identical images score exactly 100
R2_MIN_VARIANCE = 1e-6  # ab units²: ground truth with less per-pixel ab variance has no R²
_COMMON = (
    "Computed on the saved 8-bit prediction against the ground truth at evaluation resolution "
    "(no resizing inside the metric; both decoded as uint8/255)."
)


# Per-image definitions: float64 (N, 3, H, W) RGB in [0, 1] -> (N,) float64. The accumulators
# below and colorbench.metrics.functional (the public API) both call these.


def _mse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return (pred - target).square().flatten(1).mean(1)


def _psnr(mse: torch.Tensor) -> torch.Tensor:
    # data range 1; mse == 0 gives +inf, which the cap turns into PSNR_CAP_DB
    return (10.0 * torch.log10(1.0 / mse)).clamp(max=PSNR_CAP_DB)


def mse_per_image(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return _mse(pred, target)


def mse_ab_per_image(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return _mse(lab64(pred)[:, 1:], lab64(target)[:, 1:])


def psnr_per_image(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return _psnr(_mse(pred, target))


class MSE(PerImageMean):
    score = staticmethod(mse_per_image)


class MSEab(PerImageMean):
    score = staticmethod(mse_ab_per_image)


class PSNR(PerImageMean):
    score = staticmethod(psnr_per_image)

    def compute(self) -> dict:
        out = super().compute()
        out["extra"]["n_capped"] = int((out["per_image"] >= PSNR_CAP_DB).sum())
        return out


class PSNRPooled(StreamingMetric):
    def __init__(self) -> None:
        super().__init__()
        self._sum_state("mse_sum")
        self._sum_state("n")

    def update(self, pred: torch.Tensor, target: torch.Tensor) -> None:
        mse = _mse(*check_pair(pred, target))
        self.mse_sum += mse.sum()
        self.n += mse.numel()

    def compute(self) -> dict:
        if self.n == 0:
            return output(math.nan, n_images=0)
        mse = self.mse_sum / self.n
        return output(_psnr(mse).item(), n_images=int(self.n), mse=mse.item())


# SSIM as in skimage.metrics.structural_similarity(gaussian_weights=True, sigma=1.5,
# use_sample_covariance=False, data_range=1, channel_axis=-1): scipy's Gaussian with
# truncate=3.5 has radius int(3.5 * 1.5 + 0.5) = 5, i.e. an 11-tap window, and skimage crops
# (11 - 1) // 2 = 5 pixels from every border of the SSIM map before averaging. The kept pixels'
# windows lie entirely inside the image, so a 'valid' convolution reproduces it exactly
# (skimage's reflect padding never reaches the average).
SSIM_SIGMA, SSIM_RADIUS, SSIM_K1, SSIM_K2 = 1.5, 5, 0.01, 0.03


def _gauss_1d(device: torch.device) -> torch.Tensor:
    x = torch.arange(-SSIM_RADIUS, SSIM_RADIUS + 1, dtype=torch.float64, device=device)
    w = torch.exp(-0.5 * (x / SSIM_SIGMA) ** 2)
    return w / w.sum()


def _blur_valid(x: torch.Tensor, g: torch.Tensor, dim: int) -> torch.Tensor:
    """'valid' correlation of x with the 1-D kernel g along dim, as shifted slices: float64
    depthwise conv2d has no fast CPU kernel, eleven multiply-adds of views do."""
    out_len = x.shape[dim] - g.numel() + 1
    acc = x.narrow(dim, 0, out_len) * g[0].item()
    for k in range(1, g.numel()):
        acc.add_(x.narrow(dim, k, out_len), alpha=g[k].item())
    return acc


_STRIP_PIXELS = 1 << 20  # SSIM maps are computed in row strips of about this many pixels


def _ssim_map_sum(x: torch.Tensor, y: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """Sum of the cropped SSIM map of one (1, 1, h, w) channel pair."""
    c1, c2 = SSIM_K1**2, SSIM_K2**2  # data range 1
    # only vx + vy is needed, so E[x²] + E[y²] is blurred as one map (4 maps, not 5)
    stack = torch.cat([x, y, x * x + y * y, x * y], dim=1)
    ux, uy, uxx_uyy, uxy = _blur_valid(_blur_valid(stack, g, 3), g, 2).split(1, dim=1)
    ux2_uy2 = ux * ux + uy * uy
    vx_vy, vxy = uxx_uyy - ux2_uy2, uxy - ux * uy
    return (((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux2_uy2 + c1) * (vx_vy + c2))).sum()


def ssim_per_image(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """(N,) mean SSIM over the 3 channels and the cropped map, float64 inputs in [0, 1].

    One channel and one strip of rows at a time (strips overlap by the window, so the map is
    the same): memory stays flat in the image size and the 15 float64 maps stay small.
    """
    n, c, h, w = pred.shape
    size = 2 * SSIM_RADIUS + 1
    if h < size or w < size:
        raise ValueError(f"SSIM needs images of at least {size}x{size}, got {h}x{w}")
    g = _gauss_1d(torch.device("cpu"))
    rows = max(1, _STRIP_PIXELS // w)  # map rows per strip
    map_h = h - size + 1
    out = torch.empty(n, dtype=pred.dtype, device=pred.device)
    for i in range(n):
        total = torch.zeros((), dtype=pred.dtype, device=pred.device)
        for ch in range(c):
            for top in range(0, map_h, rows):
                span = slice(top, min(top + rows, map_h) + size - 1)
                total += _ssim_map_sum(pred[i : i + 1, ch : ch + 1, span], target[i : i + 1, ch : ch + 1, span], g)
        out[i] = total / (c * map_h * (w - size + 1))
    return out


class SSIM(PerImageMean):
    score = staticmethod(ssim_per_image)


def r2_per_image(pred_ab: torch.Tensor, target_ab: torch.Tensor) -> torch.Tensor:
    """(N,) 1 - SS_res / SS_tot over both ab channels; NaN where the truth has no ab variance."""
    ss_res = (pred_ab - target_ab).square().flatten(1).sum(1)
    centred = target_ab - target_ab.mean(dim=(2, 3), keepdim=True)
    ss_tot = centred.square().flatten(1).sum(1)
    per_value = ss_tot / target_ab[0].numel()
    return torch.where(per_value < R2_MIN_VARIANCE, torch.nan, 1.0 - ss_res / ss_tot)


def r2_ab_per_image(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return r2_per_image(lab64(pred)[:, 1:], lab64(target)[:, 1:])


class R2(PerImageMean):
    score = staticmethod(r2_ab_per_image)


class R2Pooled(StreamingMetric):
    # ab is centred near 0 (neutral grey), so sum-of-squares streaming loses no precision
    def __init__(self) -> None:
        super().__init__()
        self._sum_state("ss_res")
        self._sum_state("sum_y", (2,))
        self._sum_state("sum_yy", (2,))
        self._sum_state("n")  # pixels

    def update(self, pred: torch.Tensor, target: torch.Tensor) -> None:
        pred, target = check_pair(pred, target)
        p, t = lab64(pred)[:, 1:], lab64(target)[:, 1:]
        self.ss_res += (p - t).square().sum()
        self.sum_y += t.sum(dim=(0, 2, 3))
        self.sum_yy += t.square().sum(dim=(0, 2, 3))
        self.n += t[:, 0].numel()

    def compute(self) -> dict:
        n = self.n.item()
        if n == 0:
            return output(math.nan, n_pixels=0)
        ss_tot = (self.sum_yy - self.sum_y.square() / n).sum().item()
        value = math.nan if ss_tot / (2 * n) < R2_MIN_VARIANCE else 1.0 - self.ss_res.item() / ss_tot
        return output(value, n_pixels=int(n))


SPECS: tuple[MetricSpec, ...] = (
    MetricSpec(
        group="pixel fidelity", name="mse", higher_is_better=False, unit="RGB² ([0,1] scale)", per_image=True, build=lambda ctx: MSE(),
        definition="Mean squared error in sRGB with values in [0, 1] (uint8/255): per image the mean "
        "over all pixels and the 3 channels, then the unweighted mean over images. " + _COMMON,
    ),
    MetricSpec(
        group="pixel fidelity", name="mse_ab", higher_is_better=False, unit="CIE ab units²", per_image=True, build=lambda ctx: MSEab(),
        definition="Mean squared error of the CIELAB a and b channels in raw CIE units (a, b about "
        "-128..127; D65, skimage-compatible conversion from sRGB): per image the mean over all pixels "
        "and both channels, then the unweighted mean over images. One 313-bin width (10 units) of "
        "error on one channel everywhere gives 50. " + _COMMON,
    ),
    MetricSpec(
        group="pixel fidelity", name="psnr", higher_is_better=True, unit="dB", per_image=True, build=lambda ctx: PSNR(),
        definition="Peak signal-to-noise ratio in sRGB, data range 1: per image 10*log10(1/MSE) with "
        f"the MSE over all pixels and 3 channels, capped at {PSNR_CAP_DB:g} dB (identical images, whose "
        f"PSNR is infinite, score {PSNR_CAP_DB:g}; extra['n_capped'] counts capped images), then the "
        "unweighted mean over images. " + _COMMON,
    ),
    MetricSpec(
        group="pixel fidelity", name="psnr_pooled", higher_is_better=True, unit="dB", per_image=False, build=lambda ctx: PSNRPooled(),
        definition="PSNR (data range 1) of the dataset-mean MSE: 10*log10(1/m) where m is the "
        f"unweighted mean over images of the per-image sRGB MSE (the 'mse' metric), capped at "
        f"{PSNR_CAP_DB:g} dB. Dominated by the worst images, unlike the per-image mean 'psnr'. " + _COMMON,
    ),
    MetricSpec(
        group="pixel fidelity", name="ssim", higher_is_better=True, unit="", per_image=True, build=lambda ctx: SSIM(),
        definition="Structural similarity on sRGB in [0, 1] (data range 1), computed per channel with "
        "an 11x11 Gaussian window (sigma 1.5, truncated at 3.5 sigma), K1=0.01, K2=0.03, population "
        "(co)variances, the SSIM map cropped by 5 pixels at each border and averaged over the map and "
        "the 3 channels; equal to skimage.metrics.structural_similarity(channel_axis=-1, "
        "gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1). Unweighted mean "
        "over images. Images smaller than 11x11 are an error. " + _COMMON,
    ),
    MetricSpec(
        group="pixel fidelity", name="r2", higher_is_better=True, unit="", per_image=True, build=lambda ctx: R2(),
        definition="Coefficient of determination of the CIELAB ab channels (raw CIE units): per image "
        "1 - SS_res/SS_tot, SS_res the sum over pixels and both channels of squared ab error and "
        "SS_tot the sum of squared deviations of the ground-truth ab from its per-image, per-channel "
        "mean; then the mean over images. Images whose ground truth has ab variance below "
        f"{R2_MIN_VARIANCE:g} units² per pixel and channel (greyscale ground truth) have no R²: their "
        "per-image value is NaN, they are excluded from the mean and counted in "
        "extra['n_excluded_nan']. Can be negative. " + _COMMON,
    ),
    MetricSpec(
        group="pixel fidelity", name="r2_pooled", higher_is_better=True, unit="", per_image=False, build=lambda ctx: R2Pooled(),
        definition="Coefficient of determination of the CIELAB ab channels pooled over every pixel of "
        "the dataset: 1 - SS_res/SS_tot with SS_tot around the dataset-wide per-channel ab mean "
        "(pixels weigh equally, so larger images weigh more). NaN if the whole ground truth has ab "
        f"variance below {R2_MIN_VARIANCE:g} units². " + _COMMON,
    ),
)
