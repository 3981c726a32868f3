"""The published protocols' pixel statistics against independent computations of their
definitions (numpy, scipy, scikit-image) and analytic cases, on pairs made here."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.ndimage import uniform_filter
from skimage import color

from colorbench.protocols import ct2, ddcolor
from colorbench.protocols.pixels import (
    codes8,
    colorfulness_abs,
    ct2_converted,
    lab_round_trip,
    psnr_255,
    psnr_cropped,
    ssim_skimage,
)


def _batch(*images: np.ndarray) -> torch.Tensor:
    """(H, W, 3) uint8 arrays -> the scoring engine's float64 value/255 batch (via float32, as decoded)."""
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float().div(255.0).to(torch.float64)


def _pairs(seed: int = 0, n: int = 3, size: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """Photo-like pairs: smooth colour fields plus noise, and a perturbed copy."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    truth, guess = [], []
    for _ in range(n):
        base = np.stack([np.sin(3 * xx + rng.uniform(0, 6)), np.cos(2 * yy + rng.uniform(0, 6)), xx * yy], -1)
        img = np.clip(127 + 100 * base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)
        truth.append(img)
        guess.append(np.clip(img.astype(int) + rng.integers(-30, 31, img.shape), 0, 255).astype(np.uint8))
    return np.stack(truth), np.stack(guess)


def _cf_numpy(bgr: np.ndarray) -> float:
    """CT2 / DDColor colourfulness written from its definition on a BGR float image."""
    b, g, r = (bgr[..., k].astype(np.float64) for k in range(3))
    rg, yb = np.abs(r - g), np.abs(0.5 * (r + g) - b)
    return float(np.sqrt(rg.std() ** 2 + yb.std() ** 2) + 0.3 * np.sqrt(rg.mean() ** 2 + yb.mean() ** 2))


def test_colorfulness_of_a_flat_colour_is_the_mean_term():
    img = np.empty((8, 8, 3), np.uint8)
    img[...] = (200, 100, 50)  # rg = 100, yb = |150 - 50| = 100, no spread
    assert colorfulness_abs(_batch(img)).item() == pytest.approx(0.3 * np.sqrt(100**2 + 100**2), rel=1e-15)


def test_colorfulness_uses_absolute_differences():
    """Half the pixels R - G = +40, half -40: Hasler & Süsstrunk's signed rg has mean 0 and std 40;
    the protocols' |R - G| has mean 40 and std 0 (yb = 0 everywhere)."""
    img = np.zeros((4, 4, 3), np.uint8)
    img[:2] = (140, 100, 120)
    img[2:] = (100, 140, 120)
    assert colorfulness_abs(_batch(img)).item() == pytest.approx(0.3 * 40, rel=1e-15)


def test_colorfulness_equals_the_numpy_formula_on_bgr():
    truth, guess = _pairs(1)
    got = colorfulness_abs(_batch(*guess)).numpy()
    want = [_cf_numpy(img[..., ::-1]) for img in guess]  # the scripts read BGR with OpenCV
    np.testing.assert_allclose(got, want, rtol=1e-13)


def test_psnr_255_is_scikit_image_compare_psnr():
    from skimage.metrics import peak_signal_noise_ratio

    truth, guess = _pairs(2)
    got = psnr_255(_batch(*guess), _batch(*truth)).numpy()
    want = [peak_signal_noise_ratio(t, g, data_range=255) for t, g in zip(truth, guess)]
    np.testing.assert_allclose(got, want, rtol=1e-13)
    assert psnr_255(_batch(truth[0]), _batch(truth[0])).item() == np.inf  # no cap


def test_ddcolor_psnr_crops_four_pixels():
    truth, guess = _pairs(3)
    guess[:, :4] = 0  # damage confined to the cropped border
    got = psnr_cropped(_batch(*guess), _batch(*truth), border=4).numpy()
    want = []
    for t, g in zip(truth, guess):
        mse = np.mean((t[4:-4, 4:-4].astype(np.float64) - g[4:-4, 4:-4]) ** 2)
        want.append(20 * np.log10(255.0 / np.sqrt(mse)))
    np.testing.assert_allclose(got, want, rtol=1e-13)
    assert psnr_cropped(_batch(guess[0]), _batch(truth[0]), border=0).item() < got[0]  # the border counts otherwise


def _ssim_numpy(x: np.ndarray, y: np.ndarray, data_range: float) -> float:
    """Wang et al.'s SSIM as scikit-image's defaults define it, written out: 7x7 uniform windows,
    sample (co)variances (x 49/48), C1 = (0.01 L)^2, C2 = (0.03 L)^2, the mean over the map without
    its 3-pixel border, per channel, then the mean of the channels."""
    values = []
    for c in range(3):
        a, b = x[..., c].astype(np.float64), y[..., c].astype(np.float64)
        mean = lambda z: uniform_filter(z, 7)  # noqa: E731
        ma, mb = mean(a), mean(b)
        k = 49 / 48
        va, vb, cov = k * (mean(a * a) - ma * ma), k * (mean(b * b) - mb * mb), k * (mean(a * b) - ma * mb)
        c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
        s = ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma**2 + mb**2 + c1) * (va + vb + c2))
        values.append(s[3:-3, 3:-3].mean())
    return float(np.mean(values))


def test_ct2_ssim_is_wang_ssim_with_data_range_225():
    truth, guess = _pairs(4)
    got = ssim_skimage(_batch(*guess), _batch(*truth), data_range=225).numpy()
    want = [_ssim_numpy(t, g, 225) for t, g in zip(truth, guess)]
    np.testing.assert_allclose(got, want, rtol=1e-10)
    with_255 = [_ssim_numpy(t, g, 255) for t, g in zip(truth, guess)]
    assert not np.allclose(got, with_255, rtol=1e-6)  # the 225 changes the number


def test_lab_round_trip_is_scikit_image_float32_and_truncated():
    truth, _ = _pairs(5)
    for img in truth:
        lab = color.rgb2lab(img).astype(np.float32)
        back = np.clip(color.lab2rgb(lab), 0, 1) * 255
        np.testing.assert_array_equal(lab_round_trip(img), back.astype(np.uint8))
    img = truth[0]
    exact = np.clip(color.lab2rgb(color.rgb2lab(img)), 0, 1) * 255
    assert (lab_round_trip(img) < np.round(exact)).mean() > 0.1  # truncation moves many codes down


def test_converted_batch_is_the_round_trip_of_each_image():
    truth, _ = _pairs(6)
    batch = _batch(*truth)
    got = ct2_converted(batch)
    assert got is ct2_converted(batch)  # one conversion per batch, shared by the _convert metrics
    want = np.stack([lab_round_trip(img) for img in truth]).transpose(0, 3, 1, 2) / 255.0
    np.testing.assert_array_equal(got.numpy(), want)


def test_non_8bit_values_are_refused():
    with pytest.raises(ValueError, match="8-bit"):
        codes8(torch.full((1, 3, 4, 4), 0.5 / 255, dtype=torch.float64))


def test_protocol_metric_sets_and_quirks_are_documented():
    for protocol in (ct2.PROTOCOL, ddcolor.PROTOCOL):
        described = protocol.describe()
        assert "@" in described["source"] and described["quirks"]
        for m in described["metrics"]:
            assert len(m["definition"]) > 100 and m["quirks"], m["name"]
    assert ct2.PROTOCOL.resolve(None) == ["fid", "fid_convert", "psnr", "psnr_convert", "ssim", "ssim_convert",
                                          "lpips", "lpips_convert", "colorfulness"]
    assert ddcolor.PROTOCOL.resolve(None) == ["fid", "colorfulness", "psnr"]


def test_an_exact_image_makes_the_protocol_psnr_mean_inf_in_every_output():
    """CT2 averages per-image PSNRs with np.mean: one exact reproduction makes the mean inf. The
    summary, the printed table and --json (strict: null, with "nonfinite") all say so, never NaN."""
    import colorbench
    from skimage.metrics import peak_signal_noise_ratio

    truth, guess = _pairs(4)
    guess[0] = truth[0]
    scores = colorbench.score(torch.from_numpy(guess).permute(0, 3, 1, 2), torch.from_numpy(truth).permute(0, 3, 1, 2),
                              metrics=["psnr"], protocol="ct2")
    with np.errstate(divide="ignore"):
        want = np.mean([peak_signal_noise_ratio(t, g, data_range=255) for t, g in zip(truth, guess)])
    assert want == np.inf and scores.summary.loc["psnr", "value"] == want
    assert scores.to_json()["psnr"] is None and scores.to_json()["nonfinite"] == {"psnr": "inf"}
    assert "psnr    inf" in scores.table()


def test_codes_noted_by_the_engine_are_the_codes_recovered_from_values():
    """codes8 takes the engine's decoded codes when noted (and the round trip notes its own):
    the same codes, so the same PSNR, as recovering them from the value/255 floats."""
    from colorbench.metrics.memo import clear_memo, remember_codes

    truth, guess = _pairs(seed=4)
    clear_memo()
    plain_t, plain_g = _batch(*truth), _batch(*guess)
    recovered = psnr_255(plain_g, plain_t)
    codes_t = torch.from_numpy(truth).permute(0, 3, 1, 2).contiguous()
    noted_t = codes_t.float().div(255.0)
    remember_codes(noted_t, codes_t)
    assert codes8(noted_t) is codes_t
    assert torch.equal(psnr_255(_batch(*guess), noted_t.to(torch.float64)), recovered)
    converted = ct2_converted(noted_t)
    assert torch.equal(codes8(converted), torch.from_numpy(np.stack([lab_round_trip(t) for t in truth])).permute(0, 3, 1, 2))
    clear_memo()


def test_psnr_mse_in_integers_equals_the_float64_formula_bitwise():
    """The codes' squared differences summed in integers equal np.mean((a - b)^2) in float64 (whose
    partial sums are integers below 2^53, hence exact), bit for bit; the logarithm is libm's."""
    from colorbench.protocols.pixels import _mse_codes

    rng = np.random.default_rng(9)
    a, b = (rng.integers(0, 256, (3, 3, 64, 48), dtype=np.uint8) for _ in range(2))
    expected = [np.mean((x.astype(np.float64) - y) ** 2) for x, y in zip(a, b)]
    assert _mse_codes(torch.from_numpy(a), torch.from_numpy(b)).tolist() == expected
    psnr = psnr_255(torch.from_numpy(a).double() / 255.0, torch.from_numpy(b).double() / 255.0)
    np.testing.assert_allclose(psnr.numpy(), [10 * np.log10(255.0**2 / m) for m in expected], rtol=1e-15)
