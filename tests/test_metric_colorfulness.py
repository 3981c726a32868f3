"""Hasler & Süsstrunk colourfulness against a numpy implementation of the formula."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from colorbench.metrics import colorfulness
from colorbench.metrics.base import compute_value


def _numpy_cf(img: np.ndarray) -> float:
    """img (H, W, 3) in 0..255."""
    r, g, b = (img[..., i].astype(np.float64) for i in range(3))
    rg, yb = r - g, 0.5 * (r + g) - b
    return np.sqrt(np.std(rg) ** 2 + np.std(yb) ** 2) + 0.3 * np.sqrt(np.mean(rg) ** 2 + np.mean(yb) ** 2)


def _pair(n=5, seed=0):
    rng = np.random.default_rng(seed)
    t = rng.integers(0, 256, size=(n, 17, 19, 3))
    p = (t * rng.uniform(0.3, 1.0, size=(n, 1, 1, 1)) + 40).clip(0, 255).round()  # desaturated-ish
    to = lambda x: torch.from_numpy(x / 255.0).permute(0, 3, 1, 2).float()
    return to(p), to(t), p, t


def _run(name, pred, target, chunks=()):
    m = {s.name: s for s in colorfulness.SPECS}[name].build(None)
    bounds = [0, *chunks, pred.shape[0]]
    for a, b in zip(bounds[:-1], bounds[1:]):
        m.update(pred[a:b], target[a:b])
    return compute_value(m)


def test_matches_numpy_formula():
    pred, target, p, t = _pair()
    cf_p = np.array([_numpy_cf(x) for x in p])
    cf_t = np.array([_numpy_cf(x) for x in t])
    out = _run("colorfulness", pred, target)
    np.testing.assert_allclose(out.per_image.numpy(), cf_p, rtol=1e-5)
    assert out.extra["truth_mean"] == pytest.approx(cf_t.mean(), rel=1e-5)
    assert _run("delta_cf", pred, target).value == pytest.approx(abs(cf_p.mean() - cf_t.mean()), rel=1e-4)
    out = _run("delta_cf_image", pred, target)
    np.testing.assert_allclose(out.per_image.numpy(), np.abs(cf_p - cf_t), rtol=1e-4, atol=1e-4)


def test_grey_is_zero_and_identical_gap_is_zero():
    _, target, _, _ = _pair(n=2)
    grey = target.mean(1, keepdim=True).expand(-1, 3, -1, -1).contiguous()
    assert _run("colorfulness", grey, target).value == pytest.approx(0.0, abs=1e-9)
    assert _run("delta_cf", target, target).value == 0.0
    assert _run("delta_cf_image", target, target).value == 0.0


def test_directions():
    spec = {s.name: s for s in colorfulness.SPECS}
    assert spec["colorfulness"].higher_is_better is None
    assert spec["delta_cf"].higher_is_better is False and spec["delta_cf_image"].higher_is_better is False


@pytest.mark.parametrize("name", [s.name for s in colorfulness.SPECS])
def test_streaming_equals_one_shot(name):
    pred, target, _, _ = _pair(n=6, seed=2)
    one, chunked = _run(name, pred, target), _run(name, pred, target, chunks=(2, 5))
    assert chunked.value == pytest.approx(one.value, rel=1e-12)
    assert chunked.extra == pytest.approx(one.extra, rel=1e-12)
