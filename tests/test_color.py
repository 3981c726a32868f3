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


def test_rgb_to_lab_matches_skimage_outside_the_unit_cube():
    """Out-of-range RGB (model outputs) takes skimage's branches too: finite, no NaN from log or pow."""
    v = torch.linspace(-0.3, 1.3, 17, dtype=torch.float64)
    r, g, b = torch.meshgrid(v, v, v, indexing="ij")
    rgb = torch.stack((r, g, b)).reshape(1, 3, 17, 17 * 17)
    ref = skcolor.rgb2lab(rgb[0].permute(1, 2, 0).numpy())
    ours = color.rgb_to_lab(rgb)[0].permute(1, 2, 0).numpy()
    assert np.isfinite(ref).all() and np.abs(ours - ref).max() < 1e-9


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_rgb8_to_lab_is_bitwise_rgb_to_lab_of_the_decoded_values(dtype):
    """Every 8-bit code, and a photo-like batch with odd sizes: the lookup table changes nothing."""
    every_code = torch.arange(256, dtype=torch.uint8).repeat(3, 1).view(1, 3, 16, 16)
    gen = torch.Generator().manual_seed(5)
    batch = torch.randint(0, 256, (2, 3, 37, 53), generator=gen, dtype=torch.uint8)
    for codes in (every_code, every_code.flip(1), batch):
        expected = color.rgb_to_lab((codes.float() / 255).to(dtype))
        assert torch.equal(color.rgb8_to_lab(codes, dtype), expected)
    ref = skcolor.rgb2lab(every_code[0].permute(1, 2, 0).numpy())  # skimage scales uint8 by 255
    assert np.abs(color.rgb8_to_lab(every_code)[0].permute(1, 2, 0).numpy() - ref).max() < 1e-3
    with pytest.raises(ValueError, match="uint8"):
        color.rgb8_to_lab(every_code.float())


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_conversions_keep_the_dtype(dtype):
    rgb = _cube(5).to(dtype)
    assert color.rgb_to_lab(rgb).dtype == dtype
    assert color.lab_to_rgb(color.rgb_to_lab(rgb)).dtype == dtype


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_conversions_do_not_depend_on_the_thread_count(dtype):
    """Bitwise equal results with 1 and 2 torch threads (torch.pow failed this: its vectorised
    body and per-thread tails differ in the last bit). Odd sizes put chunk tails everywhere."""
    gen = torch.Generator().manual_seed(3)
    rgb = torch.rand(3, 3, 97, 131, generator=gen, dtype=torch.float64).to(dtype)
    lab = color.rgb_to_lab(_cube().to(dtype))
    before = torch.get_num_threads()
    results = []
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            results.append((color.rgb_to_lab(rgb), color.rgb_to_lab(_cube().to(dtype)), color.lab_to_rgb(lab)))
    finally:
        torch.set_num_threads(before)
    for one, two in zip(*results):
        assert torch.equal(one, two)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_rgb_to_lab_with_autograd_gives_the_same_values(dtype):
    gen = torch.Generator().manual_seed(4)
    rgb = torch.rand(2, 3, 31, 33, generator=gen, dtype=torch.float64).mul(1.4).sub(0.2).to(dtype)
    plain = color.rgb_to_lab(rgb)
    tracked = color.rgb_to_lab(rgb.clone().requires_grad_())
    assert tracked.requires_grad and torch.equal(tracked.detach(), plain)
    small = torch.rand(1, 3, 4, 5, generator=gen, dtype=torch.float64).requires_grad_()
    assert torch.autograd.gradcheck(color.rgb_to_lab, (small,))
    assert torch.autograd.gradcheck(color.lab_to_rgb, (color.rgb_to_lab(small.detach()).requires_grad_(),))


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
