"""313-bin accuracy and ab AuC against brute-force numpy references."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage.color import rgb2lab

from colorbench.color import gamut_313, lab_to_rgb, rgb_to_lab
from colorbench.color import quantize_ab as nearest_bin
from colorbench.metrics import bins
from colorbench.metrics.base import compute_value

CENTRES = gamut_313().double().numpy()


def _brute_bins(ab: np.ndarray) -> np.ndarray:
    """(..., 2) -> nearest-centre index, first index on ties."""
    d = ((ab[..., None, :] - CENTRES) ** 2).sum(-1)
    return d.argmin(-1)


def _pair(n=3, h=23, w=31, noise=0.15, seed=0):
    rng = np.random.default_rng(seed)
    t = rng.integers(0, 256, size=(n, 3, h, w))
    p = np.clip(t + rng.normal(0, noise * 255, size=t.shape), 0, 255).round()
    return torch.from_numpy(p / 255.0).float(), torch.from_numpy(t / 255.0).float()


def _ab(x: torch.Tensor) -> np.ndarray:
    return np.stack([rgb2lab(x[i].double().permute(1, 2, 0).numpy())[..., 1:] for i in range(x.shape[0])])


def _run(name, pred, target, chunks=()):
    m = {s.name: s for s in bins.SPECS}[name].build(None)
    bounds = [0, *chunks, pred.shape[0]]
    for a, b in zip(bounds[:-1], bounds[1:]):
        m.update(pred[a:b], target[a:b])
    return compute_value(m)


def test_nearest_bin_matches_brute_force_including_ties_and_out_of_gamut():
    rng = np.random.default_rng(0)
    ab = rng.uniform(-160, 160, size=(2, 40, 50, 2))
    ab[0, 0, :6] = [[5, 5], [15, -25], [-95, 45], [105, 5], [0, 0], [-35, 105]]  # exact ties
    got = nearest_bin(torch.from_numpy(ab).permute(0, 3, 1, 2)).numpy()
    np.testing.assert_array_equal(got, _brute_bins(ab))


def test_accuracies_match_brute_force():
    pred, target = _pair()
    bp, bt = _brute_bins(_ab(pred)), _brute_bins(_ab(target))
    ref = (bp == bt).reshape(len(bp), -1).mean(1)
    near = (np.abs(CENTRES[bp] - CENTRES[bt]) <= 10).all(-1).reshape(len(bp), -1).mean(1)
    out = _run("acc313", pred, target)
    np.testing.assert_allclose(out.per_image.numpy(), ref, atol=1e-12)
    assert out.value == pytest.approx(ref.mean())
    out = _run("acc313_approx", pred, target)
    np.testing.assert_allclose(out.per_image.numpy(), near, atol=1e-12)
    assert (near >= ref).all() and 0 < ref.mean() < near.mean() < 1


def _auc_reference(pred, target):
    err = np.sqrt(((_ab(pred) - _ab(target)) ** 2).sum(-1))  # (N, H, W)
    curve = np.stack([(err <= t) for t in range(151)]).mean(0)  # per pixel share of thresholds
    return err, curve


def test_auc_matches_threshold_sweep():
    pred, target = _pair(noise=0.3, seed=1)
    err, curve = _auc_reference(pred, target)
    per_image = curve.reshape(len(curve), -1).mean(1)
    # the textbook sweep: mean over t of the fraction of pixels with e <= t
    sweep = np.array([np.mean([(e <= t).mean() for t in range(151)]) for e in err])
    np.testing.assert_allclose(per_image, sweep, atol=1e-12)
    out = _run("auc_ab", pred, target)
    np.testing.assert_allclose(out.per_image.numpy(), sweep, atol=1e-6)
    q = _brute_bins(_ab(target)).reshape(-1)
    prior = np.bincount(q, minlength=313) / q.size
    w = 1.0 / prior[q]
    ref_rebal = (w * curve.reshape(-1)).sum() / w.sum()
    rebal = _run("auc_ab_rebal", pred, target)
    assert rebal.value == pytest.approx(ref_rebal, abs=1e-6)
    assert rebal.extra["n_classes"] == np.count_nonzero(prior)


def test_identical_images_score_one():
    _, target = _pair(n=2)
    for s in bins.SPECS:
        assert _run(s.name, target, target).value == pytest.approx(1.0, abs=1e-12)


def _shifted_lab_images(shift=10.0, seed=0):
    """L=60 images whose ab lie within 3 units of bin centres well inside the gamut, and the same
    images shifted in a by `shift`; both exactly representable in sRGB."""
    rng = np.random.default_rng(seed)
    centres = [(a, b) for a in (-20, -10, 0, 10) for b in (-20, -10, 0, 10, 20)]
    pick = np.array(centres)[rng.integers(0, len(centres), size=(2, 12, 14))]
    ab = pick + rng.uniform(-3, 3, size=pick.shape)
    lab = np.concatenate([np.full(ab.shape[:-1] + (1,), 60.0), ab], -1)
    lab_t = torch.from_numpy(lab).permute(0, 3, 1, 2)
    shifted = lab_t.clone()
    shifted[:, 1] += shift
    rgb_t, rgb_p = lab_to_rgb(lab_t), lab_to_rgb(shifted)
    for rgb, lab_ref in ((rgb_t, lab_t), (rgb_p, shifted)):  # precondition: no gamut clipping
        torch.testing.assert_close(rgb_to_lab(rgb), lab_ref, atol=1e-6, rtol=0)
    return rgb_p, rgb_t


def test_one_bin_shift_is_wrong_but_approximately_right():
    pred, target = _shifted_lab_images()
    assert _run("acc313", pred, target).value == 0.0
    assert _run("acc313_approx", pred, target).value == 1.0
    # an error of 10.5 everywhere (still one bin over) passes the 140 thresholds 11..150
    pred, target = _shifted_lab_images(shift=10.5)
    assert _run("acc313", pred, target).value == 0.0
    assert _run("auc_ab", pred, target).value == pytest.approx(140 / 151, abs=1e-12)


@pytest.mark.parametrize("name", [s.name for s in bins.SPECS])
def test_streaming_equals_one_shot(name):
    pred, target = _pair(n=5, seed=3)
    one, chunked = _run(name, pred, target), _run(name, pred, target, chunks=(1, 2, 4))
    assert chunked.value == pytest.approx(one.value, rel=1e-12)
    if one.per_image is not None:
        torch.testing.assert_close(chunked.per_image, one.per_image, rtol=0, atol=1e-12)
