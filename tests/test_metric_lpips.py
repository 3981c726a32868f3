"""LPIPS metric against an independent per-pair lpips reference and the original values."""
from __future__ import annotations

import csv
import warnings

import lpips
import pytest
import torch

from colorbench import weights
from colorbench.imageio import load_rgb
from colorbench.metrics.base import MetricContext, compute_value
from colorbench.metrics.perceptual import SPECS
from colorbench.weights.verification import CALIB_ENV, default_calib_dir

pytestmark = pytest.mark.usefixtures("weights_env")
SPEC = {s.name: s for s in SPECS}


def _images(n: int, seed: int, h: int = 48, w: int = 40) -> torch.Tensor:
    """Smooth random images (blurred noise), so the backbone sees some structure."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 3, h // 4, w // 4, generator=gen)
    return torch.nn.functional.interpolate(x, size=(h, w), mode="bilinear", align_corners=False)


def _reference_model(net: str, weight_name: str) -> lpips.LPIPS:
    """lpips.LPIPS with the same backbone file, loaded module by module (not via load_lpips)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        model = lpips.LPIPS(net=net, pnet_rand=True, verbose=False)
    features = torch.load(weights.require(weight_name), weights_only=True)
    for part in (model.net.slice1, model.net.slice2, model.net.slice3, model.net.slice4, model.net.slice5):
        for index, module in part.named_children():
            own = {k.split(".", 1)[1]: v for k, v in features.items() if k.split(".")[0] == index}
            module.load_state_dict(own, strict=True)
    return model.eval()


@pytest.mark.parametrize("name,net,weight_name", [("lpips", "alex", "alexnet-features"),
                                                   ("lpips_vgg", "vgg", "vgg16-features")])
def test_lpips_matches_per_pair_reference(name, net, weight_name):
    pred, target = _images(5, 0), _images(5, 1)
    metric = SPEC[name].build(MetricContext())
    metric.update(pred[:2], target[:2])  # two batches: per_image must keep update order
    metric.update(pred[2:], target[2:])
    result = compute_value(metric)
    ref_model = _reference_model(net, weight_name)
    with torch.no_grad():
        ref = torch.tensor([ref_model(p[None], t[None], normalize=True).item() for p, t in zip(pred, target)],
                           dtype=torch.float64)
    assert result.per_image.dtype == torch.float64 and result.per_image.shape == (5,)
    torch.testing.assert_close(result.per_image, ref, rtol=1e-5, atol=1e-6)
    assert result.value == pytest.approx(ref.mean().item(), rel=1e-5)
    assert result.extra["weights_sha256"] == weights.sha256(weight_name)


def test_lpips_metric_reproduces_tid2013_official_values():
    calib = default_calib_dir()
    assert calib is not None, f"TID2013 calibration folder not found; set {CALIB_ENV}"
    with open(calib / "official_lpips_alex_v0.1.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    ref = torch.stack([load_rgb(calib / "ref_dir" / r["image"]) for r in rows])
    dist = torch.stack([load_rgb(calib / "dist_dir" / r["image"]) for r in rows])
    metric = SPEC["lpips"].build(MetricContext())
    metric.update(dist, ref)
    ours = compute_value(metric).per_image
    for value, row in zip(ours.tolist(), rows):
        assert float(f"{value:.4g}") == float(row["lpips_alex_v0_1"]), (row["image"], value)


def test_lpips_identical_images_is_zero():
    x = _images(3, 2)
    metric = SPEC["lpips"].build(MetricContext())
    metric.update(x, x.clone())
    result = compute_value(metric)
    assert torch.equal(result.per_image, torch.zeros(3, dtype=torch.float64))
    assert result.value == 0.0


def test_lpips_specs_describe_themselves():
    for spec in SPECS:
        assert spec.higher_is_better is False and spec.per_image is True
        assert "[-1, 1]" in spec.definition and "mean" in spec.definition
    assert SPEC["lpips"].weights == ("alexnet-features",)
    assert SPEC["lpips_vgg"].weights == ("vgg16-features",)


def test_lpips_rejects_mismatched_shapes():
    metric = SPEC["lpips"].build(MetricContext())
    with pytest.raises(ValueError, match="differ in shape"):
        metric.update(_images(2, 0), _images(2, 1, h=40))
