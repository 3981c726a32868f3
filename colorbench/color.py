"""The one colour module: sRGB <-> CIELAB, Zhang et al.'s 313-bin ab gamut and its encodings.

Conventions (used everywhere in colorbench):
- RGB tensors are (N, 3, H, W), sRGB (IEC 61966-2-1 transfer curve) in [0, 1].
- Lab tensors are (N, 3, H, W) with L in [0, 100] and a, b in CIE units (about -128..127),
  D65 white (2 degree observer), matching scikit-image's rgb2lab / lab2rgb.
- lab_to_rgb clips out-of-gamut results per channel to [0, 1] after the inverse transfer
  curve, exactly as scikit-image does; it does not map hue-preservingly into the gamut.
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch

# scikit-image's sRGB -> XYZ matrix and D65 white point, so results agree with it.
_XYZ_FROM_RGB = (
    (0.412453, 0.357580, 0.180423),
    (0.212671, 0.715160, 0.072169),
    (0.019334, 0.119193, 0.950227),
)
_WHITE_D65 = (0.95047, 1.0, 1.08883)
_EPS = 0.008856  # (6/29)^3 as rounded in the CIE standard and skimage
_KAPPA = 7.787

NUM_BINS = 313
BIN_SIZE = 10.0
SOFT_NEIGHBOURS = 5
SOFT_SIGMA = 5.0
ANNEAL_T = 0.38
REBALANCE_LAMBDA = 0.5


def _check(x: torch.Tensor, name: str) -> None:
    if x.ndim != 4 or x.shape[1] != 3:
        raise ValueError(f"{name} expects a (N, 3, H, W) tensor, got {tuple(x.shape)}")
    if not x.is_floating_point():
        raise TypeError(f"{name} expects a floating-point tensor, got {x.dtype}")


# Speed and reproducibility (scripts/bench_color.py measures both):
# - Powers are exp(k * log(u)). On the CPU, torch.pow(u, 2.4) computes the vectorised body and
#   the tail of each thread's chunk with different code, so a pixel's value changed (in the last
#   bit) with torch's thread count; exp and log use one code path for every element. They are
#   also several times faster than pow.
# - Constants are folded in float64 before casting: the transfer curve's power branch is scaled
#   to 12.92 x linear RGB (so the other branch is x itself, no multiply), and the 3x3 matrix
#   takes that scale and the D65 white; Lab's linear part is a second 3x3 matrix.
# - Branches are selected with torch.lerp(a, b, w) and a 0/1 weight w of the same dtype: it
#   returns a exactly where w = 0 and b exactly where w = 1 (both finite, as the clamps ensure),
#   and it is vectorised, while torch.where on a bool mask is not (2-3x slower on the CPU).
# - rgb_to_lab allocates three full-size buffers (one is the result) and works in place with
#   out=: fresh temporaries cost as much as the arithmetic.
# - float64 on the CPU (the metrics' dtype) takes log, exp and the cube root from numpy's
#   vectorised loops on views of the same memory: one thread, so independent of torch's thread
#   count, and 2-3.5x faster than torch's float64 log/exp on two threads (np.cbrt is also what
#   scikit-image uses). Other dtypes and devices keep torch's exp(log(t) / 3).
# - A tensor that requires grad gets these very values (_RgbToLab); its gradient is autograd's
#   through the same formulas written out of place.
_GAMMA = 2.4
# 12.92 ((x + 0.055) / 1.055)^2.4 = exp(2.4 log(x + 0.055) + _LOG_SRGB_SCALE)
_LOG_SRGB_SCALE = math.log(12.92 / 1.055**_GAMMA)
_LAB_FROM_F = ((0.0, 116.0, 0.0), (500.0, -500.0, 0.0), (0.0, 200.0, -200.0))  # L also has -16


@lru_cache(maxsize=None)
def _constants(dtype: torch.dtype, device: torch.device) -> dict[str, torch.Tensor]:
    f64 = torch.float64
    white = torch.tensor(_WHITE_D65, dtype=f64)
    xyz_from_rgb = torch.tensor(_XYZ_FROM_RGB, dtype=f64)
    lab_from_f = torch.tensor(_LAB_FROM_F, dtype=f64)
    f_from_lab = torch.linalg.inv(lab_from_f)
    c = {
        "xyz_from_srgb_lin": xyz_from_rgb / white[:, None] / 12.92,  # input: 12.92 x linear RGB
        "log_srgb_scale": torch.tensor(_LOG_SRGB_SCALE, dtype=f64),
        "lab_from_f": lab_from_f,
        "f_offset": torch.tensor(16.0 / 116.0, dtype=f64),
        "f_from_lab": f_from_lab, "f_bias": f_from_lab @ torch.tensor((16.0, 0.0, 0.0), dtype=f64).view(3, 1),
        "rgb_from_xyz": torch.linalg.inv(xyz_from_rgb) * white[None, :],
        "f_inv_offset": torch.tensor(-16.0 / 116.0 / _KAPPA, dtype=f64),
        "srgb_offset": torch.tensor(-0.055, dtype=f64),
        "f_floor": torch.tensor((-math.inf, -math.inf, 0.0), dtype=f64).view(3, 1),
    }
    return {k: v.to(device=device, dtype=dtype) for k, v in c.items()}


def _apply(matrix: torch.Tensor, x: torch.Tensor, bias: torch.Tensor | None = None,
           out: torch.Tensor | None = None) -> torch.Tensor:
    """matrix (3, 3) @ x (N, 3, P) [+ bias (3, 1)] as one batched matmul."""
    m = matrix.expand(x.shape[0], 3, 3)
    if bias is None:
        return torch.bmm(m, x, out=out)
    return torch.baddbmm(bias.expand(x.shape[0], 3, 1), m, x)


def rgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """sRGB in [0, 1] (N, 3, H, W) -> Lab (N, 3, H, W), in rgb's dtype and on its device."""
    _check(rgb, "rgb_to_lab")
    if rgb.requires_grad and torch.is_grad_enabled():
        return _RgbToLab.apply(rgb)
    return _rgb_to_lab(rgb)


def _rgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    n, _, h, w = rgb.shape
    x = rgb.reshape(n, 3, h * w)
    buf, weight = torch.empty_like(x), torch.empty_like(x)
    _scaled_linear(x, buf, weight)
    return _lab_from_scaled_linear(buf, weight).view(n, 3, h, w)


def rgb8_to_lab(rgb8: torch.Tensor, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """8-bit sRGB (N, 3, H, W) uint8 -> Lab in dtype: bitwise rgb_to_lab(rgb8.float() / 255 in dtype).

    The decoded float32 value k / 255, widened to dtype, as colorbench's metrics see an 8-bit
    file. The transfer curve of the 256 possible values is a lookup table computed by
    rgb_to_lab's own code, so only the matrices and the cube root run per pixel.
    """
    if rgb8.dtype != torch.uint8 or rgb8.ndim != 4 or rgb8.shape[1] != 3:
        raise ValueError(f"rgb8_to_lab expects a (N, 3, H, W) uint8 tensor, got {rgb8.dtype} {tuple(rgb8.shape)}")
    n, _, h, w = rgb8.shape
    codes = rgb8.reshape(-1).int()  # int32 indices: a cheaper cast and a faster gather than int64
    buf = _scaled_linear_table(dtype, rgb8.device).index_select(0, codes).view(n, 3, h * w)
    return _lab_from_scaled_linear(buf, torch.empty_like(buf)).view(n, 3, h, w)


@lru_cache(maxsize=None)
def _scaled_linear_table(dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """(256,) 12.92 x linear RGB of every 8-bit code (as float32 k / 255, widened to dtype)."""
    x = (torch.arange(256, dtype=torch.float32) / 255).to(device=device, dtype=dtype).view(1, 1, 256)
    buf = torch.empty_like(x)
    return _scaled_linear(x, buf, torch.empty_like(x)).view(256)


def _scaled_linear(x: torch.Tensor, buf: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """buf = 12.92 x linear RGB: exp(2.4 log(x + 0.055) + log scale) where x > 0.04045, else x."""
    c = _constants(x.dtype, x.device)
    torch.gt(x, 0.04045, out=weight)
    _inplace(torch.clamp_min(x, 0.04045, out=buf).add_(0.055), np.log, torch.Tensor.log_)
    _inplace(torch.add(c["log_srgb_scale"], buf, alpha=_GAMMA, out=buf), np.exp, torch.Tensor.exp_)
    return torch.lerp(x, buf, weight, out=buf)


def _lab_from_scaled_linear(buf: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """(N, 3, P) 12.92 x linear RGB -> Lab, reusing buf (the result) and weight as scratch."""
    c = _constants(buf.dtype, buf.device)
    t = _apply(c["xyz_from_srgb_lin"], buf)  # XYZ / white
    # f = t^(1/3) where t > eps, else kappa t + 16/116
    torch.add(c["f_offset"], t, alpha=_KAPPA, out=buf)
    torch.gt(t, _EPS, out=weight)
    f = torch.lerp(buf, _inplace(t.clamp_min_(_EPS), np.cbrt, _cube_root), weight, out=t)
    lab = _apply(c["lab_from_f"], f, out=buf)
    lab[:, 0].sub_(16.0)
    return lab


def _inplace(t: torch.Tensor, numpy_ufunc, torch_op) -> torch.Tensor:
    """numpy_ufunc on t's own memory for float64 CPU tensors (see above), else torch_op(t); in place."""
    if t.dtype == torch.float64 and t.device.type == "cpu":
        a = t.numpy()
        numpy_ufunc(a, out=a)
        return t
    return torch_op(t)


def _cube_root(t: torch.Tensor) -> torch.Tensor:
    return t.log_().mul_(1.0 / 3.0).exp_()


class _RgbToLab(torch.autograd.Function):
    """rgb_to_lab for autograd: the values of the in-place path, the gradient of the formulas."""

    @staticmethod
    def forward(ctx, rgb: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(rgb)
        return _rgb_to_lab(rgb.detach())

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        (rgb,) = ctx.saved_tensors
        with torch.enable_grad():
            x = rgb.detach().requires_grad_()
            (dx,) = torch.autograd.grad(_rgb_to_lab_differentiable(x), x, grad)
        return dx


def _rgb_to_lab_differentiable(rgb: torch.Tensor) -> torch.Tensor:
    """rgb_to_lab's formulas out of place, for autograd's gradient."""
    c = _constants(rgb.dtype, rgb.device)
    n, _, h, w = rgb.shape
    x = rgb.reshape(n, 3, h * w)
    log_u = (x + 0.055).clamp_min(0.05).log()  # the clamp spares x > 0.04045
    p = torch.add(c["log_srgb_scale"], log_u, alpha=_GAMMA).exp()
    t = _apply(c["xyz_from_srgb_lin"], torch.where(x > 0.04045, p, x))
    cube_root = (t.clamp_min(_EPS).log() * (1.0 / 3.0)).exp()
    f = torch.where(t > _EPS, cube_root, torch.add(c["f_offset"], t, alpha=_KAPPA))
    lab = _apply(c["lab_from_f"], f)
    return torch.cat((lab[:, :1] - 16.0, lab[:, 1:]), dim=1).view(n, 3, h, w)


def lab_to_rgb(lab: torch.Tensor) -> torch.Tensor:
    """Lab (N, 3, H, W) -> sRGB in [0, 1], out-of-gamut values clipped per channel."""
    _check(lab, "lab_to_rgb")
    c = _constants(lab.dtype, lab.device)
    n, _, h, w = lab.shape
    f = _apply(c["f_from_lab"], lab.reshape(n, 3, h * w), c["f_bias"])  # bias: L's +16
    f = torch.maximum(f, c["f_floor"])  # skimage zeroes negative z
    t = torch.where(f > 0.2068966, f * f * f, torch.add(c["f_inv_offset"], f, alpha=1.0 / _KAPPA))
    linear = _apply(c["rgb_from_xyz"], t)  # t is XYZ / white
    # 1.055 * linear^(1/2.4) - 0.055 through exp and log, as in rgb_to_lab
    p = (linear.clamp_min(0.0031308).log() * (1.0 / _GAMMA)).exp()
    rgb = torch.where(linear > 0.0031308, torch.add(c["srgb_offset"], p, alpha=1.055), linear * 12.92)
    return rgb.clamp_(0.0, 1.0).view(n, 3, h, w)


def l_to_lab(L: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
    """Join L (N, 1, H, W) and ab (N, 2, H, W) into Lab."""
    return torch.cat((L, ab), dim=1)


# Zhang et al.'s quantized ab gamut: for each a, the inclusive range of b (step 10).
_GAMUT_ROWS = {
    -90: (50, 90), -80: (20, 90), -70: (0, 90), -60: (-20, 90), -50: (-30, 100),
    -40: (-40, 100), -30: (-50, 100), -20: (-50, 100), -10: (-60, 100), 0: (-70, 100),
    10: (-80, 90), 20: (-80, 90), 30: (-90, 90), 40: (-100, 90), 50: (-100, 80),
    60: (-110, 80), 70: (-110, 80), 80: (-110, 70), 90: (-110, 70), 100: (-90, 0),
}


@lru_cache(maxsize=None)
def _gamut_cpu() -> torch.Tensor:
    centres = [(a, b) for a, (lo, hi) in sorted(_GAMUT_ROWS.items()) for b in range(lo, hi + 1, 10)]
    assert len(centres) == NUM_BINS
    return torch.tensor(centres, dtype=torch.float32)


def gamut_313(device: torch.device | str | None = None) -> torch.Tensor:
    """(313, 2) ab bin centres, lexicographic in (a, b)."""
    return _gamut_cpu().clone().to(device) if device is not None else _gamut_cpu().clone()


def _ab_pixels(ab: torch.Tensor) -> torch.Tensor:
    """(N, 2, H, W) -> (N*H*W, 2)."""
    if ab.ndim != 4 or ab.shape[1] != 2:
        raise ValueError(f"expected ab of shape (N, 2, H, W), got {tuple(ab.shape)}")
    return ab.permute(0, 2, 3, 1).reshape(-1, 2)


def _bin_distances(ab: torch.Tensor) -> torch.Tensor:
    """(P, 2) pixels -> (P, 313) squared distances to every bin centre."""
    centres = gamut_313(ab.device).to(ab.dtype)
    return torch.cdist(ab, centres).square()


# Zhang's 313 centres lie on the 10-unit grid; a lookup from grid cell to bin index makes exact
# nearest-centre assignment O(1) per pixel (cdist against 313 centres dominates otherwise).
_A0, _B0, _NA, _NB = -90, -110, 20, 22


@lru_cache(maxsize=None)
def _grid_lut() -> torch.Tensor:
    lut = torch.full((_NA, _NB), -1, dtype=torch.long)
    centres = gamut_313().long()
    lut[(centres[:, 0] - _A0) // 10, (centres[:, 1] - _B0) // 10] = torch.arange(len(centres))
    return lut


def quantize_ab(ab: torch.Tensor) -> torch.Tensor:
    """Index (N, H, W) of the nearest of the 313 bin centres to ab (N, 2, H, W), exactly.

    Ties go to the lowest bin index (the (a, b)-lexicographically smallest centre), as a
    brute-force argmin would. If the nearest grid point is a gamut centre it is the answer;
    the other pixels (outside the gamut) fall back to a brute-force float64 argmin.
    """
    if ab.ndim != 4 or ab.shape[1] != 2:
        raise ValueError(f"expected ab of shape (N, 2, H, W), got {tuple(ab.shape)}")
    a, b = ab[:, 0], ab[:, 1]
    ia = torch.ceil(a / 10.0 - 0.5).long() - _A0 // 10  # ceil(x - 0.5): ties round down
    ib = torch.ceil(b / 10.0 - 0.5).long() - _B0 // 10
    inside = (ia >= 0) & (ia < _NA) & (ib >= 0) & (ib < _NB)
    lut = _grid_lut().to(ab.device)
    idx = torch.full_like(ia, -1)
    idx[inside] = lut[ia[inside], ib[inside]]
    miss = idx < 0
    if miss.any():
        pixels = ab.permute(0, 2, 3, 1)[miss].to(torch.float64)
        centres = gamut_313(ab.device).to(torch.float64)
        found = [
            (pixels[s : s + 4096, None, :] - centres[None]).square().sum(-1).argmin(1)
            for s in range(0, pixels.shape[0], 4096)
        ]
        idx[miss] = torch.cat(found)
    return idx


def soft_encode(ab: torch.Tensor, k: int = SOFT_NEIGHBOURS, sigma: float = SOFT_SIGMA) -> torch.Tensor:
    """(N, 2, H, W) ab -> (N, 313, H, W) targets: Gaussian weights on the k nearest bins, summing to 1."""
    n, _, h, w = ab.shape
    d2, idx = _bin_distances(_ab_pixels(ab)).topk(k, dim=1, largest=False)
    weights = torch.softmax(-d2 / (2 * sigma**2), dim=1)  # = normalised exp(-d^2 / 2 sigma^2)
    target = torch.zeros(d2.shape[0], NUM_BINS, dtype=ab.dtype, device=ab.device)
    target.scatter_(1, idx, weights)
    return target.view(n, h, w, NUM_BINS).permute(0, 3, 1, 2)


def annealed_mean(logits: torch.Tensor, T: float = ANNEAL_T) -> torch.Tensor:
    """(N, 313, H, W) logits (or log-probabilities) -> (N, 2, H, W) ab.

    f_T(z) = exp(log z / T) / sum exp(log z / T) equals softmax(logits / T), so T = 1 gives the
    mean of the predicted distribution and T -> 0 its mode. T <= 0 returns the mode exactly.
    """
    centres = gamut_313(logits.device).to(logits.dtype)
    if T <= 0:
        return centres[logits.argmax(dim=1)].permute(0, 3, 1, 2)
    probs = torch.softmax(logits / T, dim=1)
    return torch.einsum("nqhw,qc->nchw", probs, centres)


def class_counts(ab: torch.Tensor) -> torch.Tensor:
    """Histogram (313,) of nearest-bin indices over all pixels of ab (N, 2, H, W)."""
    return torch.bincount(quantize_ab(ab).flatten(), minlength=NUM_BINS).to(torch.float64)


def rebalance_weights(priors: torch.Tensor, lam: float = REBALANCE_LAMBDA) -> torch.Tensor:
    """w proportional to ((1 - lam) p + lam / Q)^-1, scaled so that sum_q p_q w_q = 1."""
    p = priors.to(torch.float64)
    p = p / p.sum()
    w = 1.0 / ((1.0 - lam) * p + lam / NUM_BINS)
    return (w / (p * w).sum()).to(priors.dtype if priors.is_floating_point() else torch.float32)
