"""Resize policies: output shapes, aspect handling, upscaling, range, and the PIL-bicubic claim."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from colorbench.data.resize import describe as describe_resize
from colorbench.data.resize import resize
from colorbench.data.spec import RESIZE_POLICIES


def _thirds(height: int, width: int) -> torch.Tensor:
    """Left third red, middle green, right third blue."""
    img = torch.zeros(3, height, width)
    edges = [0, width // 3, 2 * width // 3, width]
    for channel in range(3):
        img[channel, :, edges[channel] : edges[channel + 1]] = 1.0
    return img


@pytest.mark.parametrize("shape", [(120, 360), (360, 120), (50, 70), (256, 256), (300, 301)])
@pytest.mark.parametrize("policy", ["short_side_crop", "stretch"])
def test_square_policies_give_size_by_size_float32_in_range(shape, policy):
    img = torch.rand(3, *shape)
    out = resize(img, 64 if min(shape) > 64 else 96, policy)  # (50, 70) is upscaled to 96
    size = out.shape[-1]
    assert out.shape == (3, size, size) and out.dtype == torch.float32
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0


def test_none_keeps_the_image():
    img = torch.rand(3, 37, 53)
    assert resize(img, None, "none") is img


def test_short_side_crop_keeps_aspect_and_takes_the_centre():
    out = resize(_thirds(100, 300), 50, "short_side_crop")  # 100x300 -> 50x150 -> centre 50x50
    means = out.mean(dim=(1, 2))
    assert means[1] > 0.95 and means[0] < 0.05 and means[2] < 0.05  # only the green middle remains


def test_stretch_ignores_aspect_and_keeps_everything():
    out = resize(_thirds(100, 300), 50, "stretch")
    for channel, columns in enumerate((slice(0, 10), slice(20, 30), slice(40, 50))):
        assert out[channel, :, columns].mean() > 0.95  # each third still where it was


def test_small_images_are_upscaled():
    img = torch.rand(3, 20, 30)
    assert resize(img, 64, "short_side_crop").shape == (3, 64, 64)


@pytest.mark.parametrize("target", [(256, 171), (1200, 800)])  # down- and upscaling
def test_resampling_matches_pil_bicubic_to_within_rounding(target):
    rng = np.random.default_rng(0)
    # a smooth image with some edges, so the kernel shape matters
    base = rng.integers(0, 256, size=(24, 36, 3), dtype=np.uint8)
    pil = Image.fromarray(base).resize((600, 400), Image.NEAREST)
    img = torch.from_numpy(np.asarray(pil, dtype=np.float32) / 255).permute(2, 0, 1)
    w, h = target
    ours = resize(img, min(w, h), "short_side_crop").permute(1, 2, 0).numpy() * 255
    ref = np.asarray(pil.resize((w, h), Image.BICUBIC), dtype=np.float64)
    top, left = (h - min(w, h)) // 2, (w - min(w, h)) // 2
    ref = ref[top : top + min(w, h), left : left + min(w, h)]
    assert np.abs(ours - ref).mean() < 1.0  # in 8-bit levels; PIL rounds to 8 bits per pass


def test_describe_names_policy_and_size_and_unknown_policies_fail():
    for policy in RESIZE_POLICIES:
        text = describe_resize(policy, 128)
        assert text.startswith(policy)
        assert ("128" in text) == (policy != "none")
    with pytest.raises(ValueError, match="unknown resize policy"):
        resize(torch.rand(3, 8, 8), 4, "crop")
    with pytest.raises(ValueError, match="size"):
        resize(torch.rand(3, 8, 8), None, "stretch")
