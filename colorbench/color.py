"""The one colour module: sRGB <-> CIELAB, Zhang et al.'s 313-bin ab gamut and its encodings.

Conventions (used everywhere in colorbench):
- RGB tensors are (N, 3, H, W), sRGB (IEC 61966-2-1 transfer curve) in [0, 1].
- Lab tensors are (N, 3, H, W) with L in [0, 100] and a, b in CIE units (about -128..127),
  D65 white (2 degree observer), matching scikit-image's rgb2lab / lab2rgb.
- lab_to_rgb clips out-of-gamut results per channel to [0, 1] after the inverse transfer
  curve, exactly as scikit-image does; it does not map hue-preservingly into the gamut.
"""
from __future__ import annotations

from functools import lru_cache

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


def _matrix(rows, like: torch.Tensor) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.float64).to(device=like.device, dtype=like.dtype)


def _check(x: torch.Tensor, name: str) -> None:
    if x.ndim != 4 or x.shape[1] != 3:
        raise ValueError(f"{name} expects a (N, 3, H, W) tensor, got {tuple(x.shape)}")
    if not x.is_floating_point():
        raise TypeError(f"{name} expects a floating-point tensor, got {x.dtype}")


def rgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """sRGB in [0, 1] (N, 3, H, W) -> Lab (N, 3, H, W)."""
    _check(rgb, "rgb_to_lab")
    linear = torch.where(rgb > 0.04045, ((rgb + 0.055) / 1.055).clamp_min(0) ** 2.4, rgb / 12.92)
    xyz = torch.einsum("ij,njhw->nihw", _matrix(_XYZ_FROM_RGB, rgb), linear)
    xyz = xyz / _matrix(_WHITE_D65, rgb).view(1, 3, 1, 1)
    f = torch.where(xyz > _EPS, xyz.clamp_min(_EPS) ** (1.0 / 3.0), _KAPPA * xyz + 16.0 / 116.0)
    fx, fy, fz = f[:, 0], f[:, 1], f[:, 2]
    return torch.stack((116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)), dim=1)


def lab_to_rgb(lab: torch.Tensor) -> torch.Tensor:
    """Lab (N, 3, H, W) -> sRGB in [0, 1], out-of-gamut values clipped per channel."""
    _check(lab, "lab_to_rgb")
    fy = (lab[:, 0] + 16.0) / 116.0
    fx = lab[:, 1] / 500.0 + fy
    fz = (fy - lab[:, 2] / 200.0).clamp_min(0)  # skimage also zeroes negative z
    f = torch.stack((fx, fy, fz), dim=1)
    xyz = torch.where(f > 0.2068966, f**3, (f - 16.0 / 116.0) / _KAPPA)
    xyz = xyz * _matrix(_WHITE_D65, lab).view(1, 3, 1, 1)
    rgb_from_xyz = torch.linalg.inv(_matrix(_XYZ_FROM_RGB, lab).double()).to(lab.dtype)
    linear = torch.einsum("ij,njhw->nihw", rgb_from_xyz, xyz)
    rgb = torch.where(
        linear > 0.0031308, 1.055 * linear.clamp_min(0.0031308) ** (1 / 2.4) - 0.055, 12.92 * linear
    )
    return rgb.clamp(0.0, 1.0)


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


def quantize_ab(ab: torch.Tensor, chunk: int = 1 << 16) -> torch.Tensor:
    """Index (N, H, W) of the nearest of the 313 bin centres (ties: lowest index)."""
    n, _, h, w = ab.shape
    pixels = _ab_pixels(ab)
    out = torch.empty(pixels.shape[0], dtype=torch.long, device=ab.device)
    for start in range(0, pixels.shape[0], chunk):
        out[start : start + chunk] = _bin_distances(pixels[start : start + chunk]).argmin(dim=1)
    return out.view(n, h, w)


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
