"""msssim_ab against torchmetrics' independent MS-SSIM, on the encoded a*b* channels."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from _human_fixtures import shared_datasets
from skimage.color import rgb2lab
from torchmetrics.functional.image import (
    multiscale_structural_similarity_index_measure as tm_msssim,
)

from colorbench.imageio import load_rgb
from colorbench.metrics.ab_structure import (
    MS_SSIM_MIN_SIDE,
    encoded_ab,
    ms_ssim_channels,
    msssim_ab_per_image,
)
from colorbench.metrics.base import MetricContext, compute_value
from colorbench.metrics.registry import METRICS

# torchmetrics raises its betas to the power in float32 (torch.tensor(betas) default dtype), so
# values agree to ~1e-8, not to float64 rounding
TOL = 1e-7


def _reference(pred: torch.Tensor, target: torch.Tensor) -> float:
    """Mean over a*, b* of torchmetrics' MS-SSIM, each channel encoded from skimage's Lab."""
    def enc(rgb):
        lab = rgb2lab(rgb[0].permute(1, 2, 0).numpy())
        return torch.from_numpy((lab[..., 1:] + 128.0) / 255.0).permute(2, 0, 1)[None]

    p, t = enc(pred), enc(target)
    return float(np.mean([float(tm_msssim(p[:, c:c + 1], t[:, c:c + 1], data_range=1.0, normalize="relu"))
                          for c in range(2)]))


def test_matches_torchmetrics_on_a_hecd_pair():
    root = shared_datasets() / "hecd" / "HECDImages"
    gt = load_rgb(root / "015004_gt.jpg").double()[None]
    for name in ("015004F_9.jpg",):
        pred = load_rgb(root / name).double()[None]
        assert float(msssim_ab_per_image(pred, gt)[0]) == pytest.approx(_reference(pred, gt), abs=TOL)


def test_matches_torchmetrics_per_channel_including_negative_structure():
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.uniform(size=(1, 2, MS_SSIM_MIN_SIDE, MS_SSIM_MIN_SIDE + 7)))
    noisy = (x + torch.from_numpy(rng.normal(0, 0.4, x.shape))).clamp(0, 1)
    inverted = 1.0 - x  # negative covariance: cs < 0, which relu sets to 0
    for y in (noisy, inverted):
        ours = ms_ssim_channels(x, y)
        ref = torch.tensor([[float(tm_msssim(x[i:i + 1, c:c + 1], y[i:i + 1, c:c + 1], data_range=1.0, normalize="relu"))
                             for c in range(2)] for i in range(1)], dtype=torch.float64)
        torch.testing.assert_close(ours, ref, atol=TOL, rtol=0)


def test_identical_is_one_small_is_nan_and_counted():
    rng = np.random.default_rng(1)
    big = torch.from_numpy(rng.uniform(size=(1, 3, MS_SSIM_MIN_SIDE, MS_SSIM_MIN_SIDE + 9)))
    assert float(msssim_ab_per_image(big, big)[0]) == pytest.approx(1.0, abs=1e-12)
    metric = METRICS.get("msssim_ab").build(MetricContext())
    small = torch.from_numpy(rng.uniform(size=(2, 3, 64, 64))).float()
    metric.update(big.float(), big.float())
    metric.update(small, small.flip(-1))
    out = compute_value(metric)
    assert out.extra["n_excluded_nan"] == 2 and out.value == pytest.approx(1.0, abs=1e-6)
    assert torch.isnan(out.per_image[1:]).all()


def test_encoding_is_ab_plus_128_over_255():
    rgb = torch.tensor([[[[1.0]], [[0.0]], [[0.0]]]], dtype=torch.float64)  # pure red
    lab = rgb2lab(np.array([[[1.0, 0.0, 0.0]]]))[0, 0]
    np.testing.assert_allclose(encoded_ab(rgb)[0, :, 0, 0].numpy(), (lab[1:] + 128) / 255, atol=1e-9)
