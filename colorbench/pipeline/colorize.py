"""Run one baseline over images and save its outputs as 8-bit PNGs (`run`, and `colorize`).

The model input is the L channel of the image (in `run`, the saved 8-bit ground truth),
resized (bilinear, antialiased) to the model's square input size when it has one; a model
without one sees the image at its own size, or (`colorize`, max_side) with its long side
shrunk to max_side. Lab models: the predicted ab is resized bilinearly to the image's own size
and joined with its full-resolution L. RGB models: the RGB output is resized bilinearly to the
image's size.

Every output passes through predict(): the one place where a model's colorize() is called for
scoring or saving, and where its output is held to the Baseline contract (contracts.check_output).
Memory: the colour conversions and the 8-bit rounding run a strip of rows at a time, so a
full-resolution image costs its uint8 codes, its float32 L, the upsampled ab and the output
codes (18 bytes per pixel; 20 measured at 8000², scripts/bench_colorize.py), not the float64
temporaries of whole-image conversions (133 bytes per pixel before).
"""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm import tqdm

from colorbench import distributed
from colorbench.color import lab_to_rgb, rgb_to_lab
from colorbench.contracts import Baseline, ContractError, check_output
from colorbench.imageio import as_unit, load_rgb, save_png

# Pixels converted at once (the whole batch's rows): the conversions' temporaries stay near 60 MB,
# and strips are few (on a busy CPU each multi-threaded op of a strip waits for a time slice).
STRIP_PIXELS = 1 << 20
# `colorize`: a model without an input size sees a photo at most this long on its long side.
# Its ab is upsampled onto the full-resolution L as for every model with an input size, so the
# output keeps its meaning (the model's colours on the photo's own lightness); photos up to this
# size are colorized exactly as before, and the model's memory no longer grows with the photo.
MAX_MODEL_SIDE = 1024


def _resize(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=tuple(size), mode="bilinear", align_corners=False, antialias=True)


def _strips(n: int, height: int, width: int):
    rows = max(1, STRIP_PIXELS // max(n * width, 1))
    return ((r, min(r + rows, height)) for r in range(0, height, rows))


def model_size(height: int, width: int, input_size: int | None, max_side: int | None) -> tuple[int, int]:
    """The (H, W) the model sees: its square input size, else the image's, shrunk to max_side."""
    if input_size:
        return input_size, input_size
    if max_side is None or max(height, width) <= max_side:
        return height, width
    scale = max_side / max(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


def predict(model: Baseline, L: torch.Tensor, target: torch.Tensor | None, device: torch.device) -> torch.Tensor:
    """model.colorize(L) as float32 on the CPU, held to the contract (ContractError otherwise)."""
    try:
        out = model.colorize(L.to(device), target_rgb=target)
    except SystemExit as exc:  # plug-in code must not end the process (exit 0 would read as success)
        raise ContractError(f"the model's colorize() called sys.exit({exc.code!r})") from None
    if not isinstance(out, torch.Tensor):
        raise ContractError(f"colorize() returned a {type(out).__name__}, not a tensor")
    out = out.float().cpu()
    check_output(out, model.info.color_space, L.shape[0])
    return out


def _lightness(rgb: torch.Tensor) -> torch.Tensor:
    """L (N, 1, H, W) float32 of RGB given as uint8 codes or floats in [0, 1], a strip at a time."""
    n, _, h, w = rgb.shape
    L = torch.empty((n, 1, h, w), dtype=torch.float32)
    for r0, r1 in _strips(n, h, w):
        L[:, :, r0:r1] = rgb_to_lab(as_unit(rgb[:, :, r0:r1]))[:, :1]
    return L


def _codes(rgb: torch.Tensor) -> torch.Tensor:
    """RGB floats -> uint8 codes, rounded as imageio.to_uint8 rounds (float64, half to even)."""
    return torch.round(rgb.to(torch.float64).clamp_(0, 1).mul_(255.0)).to(torch.uint8)


@torch.no_grad()
def colorize_batch(model: Baseline, rgb: torch.Tensor, input_size: int | None, device: torch.device,
                   max_side: int | None = None) -> torch.Tensor:
    """RGB (N, 3, H, W), uint8 codes or floats in [0, 1] -> the model's colourisation as uint8
    codes (N, 3, H, W). Only the L channel of `rgb` reaches the model (and the ground truth, for
    the oracle); ContractError if its output breaks the contract."""
    n, _, h, w = rgb.shape
    L = _lightness(rgb)
    target = as_unit(rgb).to(device) if model.sees_ground_truth else None
    out = predict(model, _resize(L, model_size(h, w, input_size, max_side)), target, device)
    lab = model.info.color_space == "lab"
    full = _resize(out[:, 1:] if lab else out, (h, w))  # ab, or RGB, at the image's size
    codes = torch.empty((n, 3, h, w), dtype=torch.uint8)
    for r0, r1 in _strips(n, h, w):
        part = lab_to_rgb(torch.cat((L[:, :, r0:r1], full[:, :, r0:r1]), dim=1)) if lab else full[:, :, r0:r1]
        codes[:, :, r0:r1] = _codes(part)
    return codes


def colorize_folder(
    model: Baseline,
    ids: list[str],
    gt_dir: Path,
    out_dir: Path,
    input_size: int | None,
    device: torch.device,
    batch_size: int,
    desc: str,
) -> None:
    """Colorize every `<id>.png` of gt_dir into out_dir; images of one size are batched. Under
    torchrun each rank takes a contiguous block of the same batches (outputs do not depend on
    the number of ranks)."""
    model.eval()
    chunks = distributed.shard([ids[i : i + batch_size] for i in range(0, len(ids), batch_size)])
    for chunk in tqdm(chunks, desc=desc, unit="batch", leave=False, disable=not distributed.world().main):
        images = [load_rgb(gt_dir / f"{i}.png") for i in chunk]
        by_size: dict[tuple, list[int]] = {}
        for j, img in enumerate(images):
            by_size.setdefault(tuple(img.shape), []).append(j)
        for members in by_size.values():
            pred = colorize_batch(model, torch.stack([images[j] for j in members]), input_size, device)
            for k, j in enumerate(members):
                save_png(out_dir / f"{chunk[j]}.png", pred[k])
