"""Pixel metrics against independent references (scikit-image, numpy formulas)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from skimage.color import rgb2lab
from skimage.metrics import (
    mean_squared_error,
    peak_signal_noise_ratio,
    structural_similarity,
)

from colorbench.metrics import pixel
from colorbench.metrics.base import MetricValue, compute_value


def _pair(n=4, h=29, w=41, noise=0.08, seed=0):
    """(pred, target) float32 RGB in [0, 1] on the 8-bit grid, like decoded PNGs."""
    rng = np.random.default_rng(seed)
    t = rng.integers(0, 256, size=(n, 3, h, w))
    p = np.clip(t + rng.normal(0, noise * 255, size=t.shape), 0, 255).round()
    to = lambda x: torch.from_numpy(x / 255.0).float()
    return to(p), to(t)


def _hwc(x: torch.Tensor, i: int) -> np.ndarray:
    return x[i].double().permute(1, 2, 0).numpy()


def _run(name, pred, target, chunks=(None,)):
    m = {s.name: s for s in pixel.SPECS}[name].build(None)
    bounds = [0, *[c for c in chunks if c is not None], pred.shape[0]]
    for a, b in zip(bounds[:-1], bounds[1:]):
        m.update(pred[a:b], target[a:b])
    return compute_value(m)


def test_mse_psnr_ssim_match_skimage_per_image():
    pred, target = _pair()
    n = pred.shape[0]
    ref_mse = [mean_squared_error(_hwc(target, i), _hwc(pred, i)) for i in range(n)]
    ref_psnr = [peak_signal_noise_ratio(_hwc(target, i), _hwc(pred, i), data_range=1) for i in range(n)]
    ref_ssim = [
        structural_similarity(_hwc(target, i), _hwc(pred, i), channel_axis=-1, gaussian_weights=True,
                              sigma=1.5, use_sample_covariance=False, data_range=1)
        for i in range(n)
    ]
    for name, ref, tol in (("mse", ref_mse, 1e-9), ("psnr", ref_psnr, 1e-5), ("ssim", ref_ssim, 1e-4)):
        out = _run(name, pred, target)
        np.testing.assert_allclose(out.per_image.numpy(), ref, atol=tol, rtol=0)
        assert out.value == pytest.approx(np.mean(ref), abs=tol)
    pooled = _run("psnr_pooled", pred, target)
    assert pooled.value == pytest.approx(10 * math.log10(1 / np.mean(ref_mse)), abs=1e-5)
    assert pooled.per_image is None


def test_identical_images():
    _, target = _pair(n=3)
    assert _run("mse", target, target).value == 0.0
    psnr = _run("psnr", target, target)
    assert psnr.value == pixel.PSNR_CAP_DB and psnr.extra["n_capped"] == 3
    assert _run("psnr_pooled", target, target).value == pixel.PSNR_CAP_DB
    assert _run("ssim", target, target).value == pytest.approx(1.0, abs=1e-12)
    assert _run("r2", target, target).value == pytest.approx(1.0, abs=1e-12)
    assert _run("mse_ab", target, target).value == 0.0


def test_constant_shift_gives_c_squared():
    rng = np.random.default_rng(1)
    k = rng.integers(0, 240, size=(2, 3, 16, 16))
    for d in (1, 7, 15):
        target = torch.from_numpy(k / 255.0)
        pred = torch.from_numpy((k + d) / 255.0)
        c = d / 255.0
        out = _run("mse", pred, target)
        np.testing.assert_allclose(out.per_image.numpy(), c * c, rtol=1e-12)
        assert _run("psnr", pred, target).value == pytest.approx(10 * math.log10(1 / (c * c)), rel=1e-10)


def _ab(x: torch.Tensor) -> np.ndarray:
    """(N, H, W, 2) ab via skimage, the independent reference conversion."""
    return np.stack([rgb2lab(_hwc(x, i))[..., 1:] for i in range(x.shape[0])])


def test_mse_ab_and_r2_match_numpy():
    pred, target = _pair(seed=2)
    pa, ta = _ab(pred), _ab(target)
    ref_mse = ((pa - ta) ** 2).reshape(len(pa), -1).mean(1)
    res = ((pa - ta) ** 2).reshape(len(pa), -1).sum(1)
    tot = ((ta - ta.mean(axis=(1, 2), keepdims=True)) ** 2).reshape(len(ta), -1).sum(1)
    ref_r2 = 1 - res / tot
    out = _run("mse_ab", pred, target)
    np.testing.assert_allclose(out.per_image.numpy(), ref_mse, rtol=1e-5)
    out = _run("r2", pred, target)
    np.testing.assert_allclose(out.per_image.numpy(), ref_r2, rtol=1e-5, atol=1e-6)
    assert out.value == pytest.approx(ref_r2.mean(), rel=1e-5)
    flat_p, flat_t = pa.reshape(-1, 2), ta.reshape(-1, 2)
    pooled = 1 - ((flat_p - flat_t) ** 2).sum() / ((flat_t - flat_t.mean(0)) ** 2).sum()
    assert _run("r2_pooled", pred, target).value == pytest.approx(pooled, rel=1e-6)


def test_r2_excludes_greyscale_truth():
    pred, target = _pair(n=3, seed=3)
    target[1] = target[1].mean(0, keepdim=True)  # R = G = B: ab is 0 everywhere
    out = _run("r2", pred, target)
    assert math.isnan(out.per_image[1].item()) and out.extra["n_excluded_nan"] == 1
    keep = out.per_image[[0, 2]]
    assert torch.isfinite(keep).all() and out.value == pytest.approx(keep.mean().item())
    grey = target.mean(1, keepdim=True).expand(-1, 3, -1, -1)
    assert math.isnan(_run("r2", pred, grey).value)
    assert math.isnan(_run("r2_pooled", pred, grey).value)


@pytest.mark.parametrize("name", [s.name for s in pixel.SPECS])
def test_streaming_equals_one_shot(name):
    pred, target = _pair(n=7, seed=4)
    one = _run(name, pred, target)
    chunked = _run(name, pred, target, chunks=(1, 3, 6))
    assert chunked.value == pytest.approx(one.value, rel=1e-12, abs=1e-12)
    if one.per_image is not None:
        torch.testing.assert_close(chunked.per_image, one.per_image, rtol=1e-12, atol=1e-12)
        assert one.per_image.dtype == torch.float64 and one.per_image.shape == (7,)


def test_ssim_rejects_tiny_images_and_mismatched_shapes():
    pred, target = _pair(n=1, h=8, w=40)
    with pytest.raises(ValueError, match="11x11"):
        _run("ssim", pred, target)
    with pytest.raises(ValueError, match="shape"):
        _run("mse", pred, target[..., :20])


def test_rejects_out_of_range_or_nan_inputs():
    pred, target = _pair(n=1)
    pred[0, 0, 0, 0] = math.nan
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        _run("mse", pred, target)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        _run("mse", target * 2, target)


def test_single_image_keeps_a_vector_and_compute_returns_metric_value():
    from colorbench.metrics.base import MetricValue

    pred, target = _pair(n=1)
    out = _run("ssim", pred, target)
    assert isinstance(out, MetricValue) and out.per_image.shape == (1,)
    assert out.value == pytest.approx(out.per_image.item())


def test_reset_forward_and_flush_keep_per_image_order():
    pred, target = _pair(n=5, seed=6)
    ref = _run("mse", pred, target).per_image
    m = pixel.MSE()
    m.update(pred[:2], target[:2])
    m.reset()  # drops buffered values too
    m.update(pred[:2], target[:2])
    batch = m(pred[2:4], target[2:4])  # forward: batch value, accumulates as well
    torch.testing.assert_close(MetricValue.from_output(batch).per_image, ref[2:4])
    m._FLUSH_EVERY = 1  # force the float buffer into the list state after every update
    m.update(pred[4:], target[4:])
    torch.testing.assert_close(compute_value(m).per_image, ref)


@pytest.mark.parametrize("strip_pixels", [40 * 7, 40 * 23, 1 << 20])
def test_ssim_in_row_strips_equals_skimage(monkeypatch, strip_pixels):
    # Strips bound SSIM's memory for camera-size photos; overlapping by the window, they change nothing.
    monkeypatch.setattr(pixel, "_STRIP_PIXELS", strip_pixels)
    pred, target = _pair(n=2, h=57, w=40)
    ref = [structural_similarity(_hwc(target, i), _hwc(pred, i), channel_axis=-1, gaussian_weights=True,
                                 sigma=1.5, use_sample_covariance=False, data_range=1) for i in range(2)]
    np.testing.assert_allclose(pixel.ssim_per_image(pred.double(), target.double()).numpy(), ref, atol=1e-9, rtol=0)
