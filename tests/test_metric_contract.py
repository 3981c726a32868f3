"""The contract every registered metric keeps, checked for each one with no per-metric code (as
torchmetrics' MetricTester): the result does not depend on how images are batched, per-image
values follow the input order and equal the functional API, reset() forgets, out-of-range input
is refused, and the metric's independent reference is named in REFERENCES (None explicitly)."""
from __future__ import annotations

import math

import pytest
import torch

from colorbench.metrics import functional
from colorbench.metrics.ab_structure import MS_SSIM_MIN_SIDE
from colorbench.metrics.base import GROUPS, MetricContext, compute_value
from colorbench.metrics.registry import METRICS

# metric -> (independent reference, the test that compares against it); None: no independent
# implementation exists (the definition is checked against its formula in the named test).
REFERENCES = {
    "mse": ("skimage.metrics.mean_squared_error", "test_metric_pixel.py::test_mse_psnr_ssim_match_skimage_per_image"),
    "psnr": ("skimage.metrics.peak_signal_noise_ratio", "test_metric_pixel.py::test_mse_psnr_ssim_match_skimage_per_image"),
    "psnr_pooled": (None, "test_metric_pixel.py::test_constant_shift_gives_c_squared"),
    "ssim": ("skimage.metrics.structural_similarity", "test_metric_pixel.py::test_mse_psnr_ssim_match_skimage_per_image"),
    "mse_ab": ("numpy on skimage.color.rgb2lab", "test_metric_pixel.py::test_mse_ab_and_r2_match_numpy"),
    "r2": ("numpy on skimage.color.rgb2lab", "test_metric_pixel.py::test_mse_ab_and_r2_match_numpy"),
    "r2_pooled": ("numpy on skimage.color.rgb2lab", "test_metric_pixel.py::test_mse_ab_and_r2_match_numpy"),
    "acc313": ("brute-force nearest centre", "test_metric_bins.py::test_accuracies_match_brute_force"),
    "acc313_approx": ("brute-force nearest centre", "test_metric_bins.py::test_accuracies_match_brute_force"),
    "auc_ab": ("threshold sweep", "test_metric_bins.py::test_auc_matches_threshold_sweep"),
    "auc_ab_rebal": ("threshold sweep with 1/p weights", "test_metric_bins.py::test_auc_matches_threshold_sweep"),
    "colorfulness": ("numpy formula (Hasler & Suesstrunk)", "test_metric_colorfulness.py::test_matches_numpy_formula"),
    "delta_cf": ("numpy formula", "test_metric_colorfulness.py::test_matches_numpy_formula"),
    "delta_cf_image": ("numpy formula", "test_metric_colorfulness.py::test_matches_numpy_formula"),
    "lpips": ("lpips package and the TID2013 values", "test_metric_lpips.py::test_lpips_matches_per_pair_reference"),
    "lpips_vgg": ("lpips package", "test_metric_lpips.py::test_lpips_matches_per_pair_reference"),
    "fid": ("pytorch-fid calculate_frechet_distance", "test_metric_fid.py::test_fid_and_kid_match_references_on_torchscript_features"),
    "msssim_ab": ("torchmetrics multiscale_structural_similarity_index_measure", "test_metric_ab_structure.py::test_matches_torchmetrics_per_channel_including_negative_structure"),
    "kid": ("torchmetrics KernelInceptionDistance", "test_metric_fid.py::test_kid_matches_torchmetrics_given_the_same_features"),
}
# metrics with no value on images under this side (NaN): the contract is checked on images this large
MIN_SIDE = {"msssim_ab": MS_SSIM_MIN_SIDE}
NETWORK = {"lpips", "lpips_vgg", "fid", "kid"}  # float32 convolutions: batch size changes the last bits
NAMES = METRICS.names()


def _pair(n: int = 4, size: int = 64, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Smooth colour images (8-bit values / 255) and a distorted copy."""
    gen = torch.Generator().manual_seed(seed)
    base = torch.rand(n, 3, 4, 4, generator=gen)
    target = torch.nn.functional.interpolate(base, size=(size, size), mode="bilinear", align_corners=False)
    pred = (target * 0.8 + 0.1 * torch.rand(n, 3, size, size, generator=gen)).clamp(0, 1)
    return torch.round(pred * 255) / 255, torch.round(target * 255) / 255


def _pair_for(name: str, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    return _pair(size=max(64, MIN_SIDE.get(name, 0)), seed=seed)


def _score(name: str, pred: torch.Tensor, target: torch.Tensor, batch: int, acc=None):
    acc = acc if acc is not None else METRICS.get(name).build(MetricContext())
    for start in range(0, len(pred), batch):
        acc.update(pred[start : start + batch], target[start : start + batch])
    return compute_value(acc)


def _close(a: float, b: float, name: str) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b if name not in NETWORK else math.isclose(a, b, rel_tol=1e-5, abs_tol=1e-7)


def test_every_metric_names_its_reference_and_the_test_exists():
    import importlib

    assert set(REFERENCES) == set(NAMES), "add the new metric's reference (or None) to REFERENCES"
    for name, (_, test) in REFERENCES.items():
        module, function = test.split("::")
        assert hasattr(importlib.import_module(module.removesuffix(".py")), function), (name, test)


@pytest.mark.parametrize("name", NAMES)
def test_spec_is_complete(name):
    spec = METRICS.get(name)
    assert spec.higher_is_better in (True, False, None) and spec.group in GROUPS and len(spec.definition) > 80
    assert spec.per_image == (name in functional.PER_IMAGE or name in ("lpips", "lpips_vgg"))


@pytest.mark.parametrize("name", NAMES)
def test_batching_does_not_change_the_result(name):
    pred, target = _pair_for(name)
    whole = _score(name, pred, target, batch=len(pred))
    for batch in (1,) if name in NETWORK else (1, 3):  # Inception and LPIPS forwards are the cost
        split = _score(name, pred, target, batch=batch)
        assert _close(split.value, whole.value, name), (batch, split.value, whole.value)
        if whole.per_image is not None:
            assert all(_close(a, b, name) for a, b in zip(split.per_image.tolist(), whole.per_image.tolist()))


@pytest.mark.parametrize("name", [n for n in NAMES if METRICS.get(n).per_image])
def test_per_image_values_follow_the_input_order(name):
    pred, target = _pair_for(name)
    forward = _score(name, pred, target, batch=3).per_image
    backward = _score(name, pred.flip(0), target.flip(0), batch=3).per_image
    assert len(forward) == len(pred) and all(_close(a, b, name) for a, b in zip(forward.tolist(), backward.flip(0).tolist()))
    if name in functional.PER_IMAGE:  # the public function is the same definition
        direct = functional.PER_IMAGE[name](pred, target)
        assert all(_close(a, b, name) for a, b in zip(direct.tolist(), forward.tolist()))


@pytest.mark.parametrize("name", NAMES)
def test_reset_forgets_everything(name):
    pred, target = _pair_for(name)
    other_pred, other_target = _pair_for(name, seed=1)
    acc = METRICS.get(name).build(MetricContext())
    acc.update(other_pred, other_target)
    acc.reset()
    again = _score(name, pred, target, batch=3, acc=acc)
    fresh = _score(name, pred, target, batch=3)
    assert _close(again.value, fresh.value, name)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("bad", [1.5, -0.1, math.nan])
def test_out_of_range_input_is_refused(name, bad):
    pred, target = _pair(n=2)
    pred[0, 0, 0, 0] = bad
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        METRICS.get(name).build(MetricContext()).update(pred, target)
