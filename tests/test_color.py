"""The colour core against scikit-image and the figures of Zhang et al.'s gamut."""
import numpy as np
import pytest
import torch
from skimage import color as skcolor

from colorbench import color


def _cube(steps: int = 33) -> torch.Tensor:
    """A dense RGB-cube sample including its edges and corners, as (1, 3, steps, steps^2)."""
    v = torch.linspace(0, 1, steps, dtype=torch.float64)
    r, g, b = torch.meshgrid(v, v, v, indexing="ij")
    return torch.stack((r, g, b)).reshape(1, 3, steps, steps * steps)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_rgb_to_lab_matches_skimage(dtype):
    rgb = _cube()
    ref = skcolor.rgb2lab(rgb[0].permute(1, 2, 0).numpy())
    ours = color.rgb_to_lab(rgb.to(dtype))[0].permute(1, 2, 0).double().numpy()
    assert np.abs(ours - ref).max() < 1e-3


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_lab_to_rgb_matches_skimage_including_out_of_gamut(dtype):
    L, a, b = np.meshgrid(np.linspace(0, 100, 21), np.linspace(-128, 127, 52), np.linspace(-128, 127, 52), indexing="ij")
    lab = np.stack((L, a, b), axis=-1).reshape(21, -1, 3)
    with np.errstate(all="ignore"), pytest.warns(UserWarning):  # skimage warns on negative Z
        ref = skcolor.lab2rgb(lab)
    ours = color.lab_to_rgb(torch.from_numpy(lab).permute(2, 0, 1)[None].to(dtype))[0].permute(1, 2, 0).double().numpy()
    assert np.abs(ours - ref).max() < 1e-4


def test_round_trip_of_the_cube():
    rgb = _cube(17)
    assert (color.lab_to_rgb(color.rgb_to_lab(rgb)) - rgb).abs().max() < 1e-6


def test_gamut_313_figures():
    g = color.gamut_313()
    assert g.shape == (313, 2)
    rows = {-90: (50, 90), 0: (-70, 100), 60: (-110, 80), 100: (-90, 0)}
    for a, (lo, hi) in rows.items():
        bs = g[g[:, 0] == a, 1]
        assert bs.tolist() == list(np.arange(lo, hi + 1, 10, dtype=float))
    keys = (g[:, 0] * 1000 + g[:, 1]).tolist()
    assert keys == sorted(keys) and len(set(keys)) == 313  # lexicographic in (a, b), unique
    assert set(g[:, 0].tolist()) == set(range(-90, 101, 10))


def test_quantize_is_nearest_centre():
    gen = torch.Generator().manual_seed(0)
    ab = (torch.rand(2, 2, 7, 9, generator=gen) - 0.5) * 220
    idx = color.quantize_ab(ab)
    g = color.gamut_313().numpy()
    px = ab.permute(0, 2, 3, 1).reshape(-1, 2).numpy()
    brute = ((px[:, None, :] - g[None]) ** 2).sum(-1).argmin(1)
    assert (idx.flatten().numpy() == brute).all()
    centres = torch.from_numpy(g).T.reshape(1, 2, 1, 313)
    assert (color.quantize_ab(centres).flatten() == torch.arange(313)).all()


def test_soft_encoding_properties():
    ab = torch.tensor([[3.0, -7.0], [0.0, 0.0], [55.0, 12.0]]).T.reshape(1, 2, 1, 3)
    target = color.soft_encode(ab)
    assert target.shape == (1, 313, 1, 3)
    assert torch.allclose(target.sum(1), torch.ones(1, 1, 3))
    assert ((target > 0).sum(1) == 5).all()
    # the largest weight sits on the nearest bin, and weights follow exp(-d^2 / 2 sigma^2)
    assert (target.argmax(1) == color.quantize_ab(ab)).all()
    g = color.gamut_313()
    px = ab[0, :, 0, 0]
    nz = target[0, :, 0, 0].nonzero().flatten()
    d2 = ((g[nz] - px) ** 2).sum(1)
    expected = torch.exp(-d2 / (2 * 5.0**2))
    assert torch.allclose(target[0, nz, 0, 0], expected / expected.sum(), atol=1e-6)


def test_annealed_mean_limits():
    gen = torch.Generator().manual_seed(1)
    logits = torch.randn(2, 313, 3, 4, generator=gen) * 3
    g = color.gamut_313()
    mean = torch.einsum("nqhw,qc->nchw", logits.softmax(1), g)
    assert torch.allclose(color.annealed_mean(logits, T=1.0), mean, atol=1e-4)
    mode = g[logits.argmax(1)].permute(0, 3, 1, 2)
    assert torch.allclose(color.annealed_mean(logits, T=1e-4), mode, atol=1e-3)
    assert torch.equal(color.annealed_mean(logits, T=0), mode)
    # T = 0.38 lies between: closer to the mode than the mean is
    mid = color.annealed_mean(logits, T=0.38)
    assert (mid - mode).abs().mean() < (mean - mode).abs().mean()


def test_rebalance_weights_expectation_is_one():
    gen = torch.Generator().manual_seed(2)
    p = torch.rand(313, generator=gen, dtype=torch.float64) ** 4
    p /= p.sum()
    w = color.rebalance_weights(p, lam=0.5)
    assert torch.isclose((p * w).sum(), torch.tensor(1.0, dtype=torch.float64))
    raw = 1 / (0.5 * p + 0.5 / 313)
    assert torch.allclose(w / w[0], raw / raw[0])
    # lambda = 1 gives uniform weights: no rebalancing
    assert torch.allclose(color.rebalance_weights(p, lam=1.0), torch.ones(313, dtype=torch.float64))


def test_class_counts_histogram():
    ab = torch.tensor([[0.0, 0.0], [1.0, 2.0], [40.0, -40.0]]).T.reshape(1, 2, 1, 3)
    counts = color.class_counts(ab)
    assert counts.sum() == 3
    assert counts[color.quantize_ab(ab).flatten()].tolist() == [2.0, 2.0, 1.0]
