"""Run one baseline over images and save its outputs as 8-bit PNGs (`run`, and `colorize`).

The model input is the L channel of the image (in `run`, the saved 8-bit ground truth),
resized (bilinear, antialiased) to the model's square input size when it has one. Lab models:
the predicted ab is resized bilinearly to the image's own size and joined with its
full-resolution L. RGB models: the RGB output is resized bilinearly to the image's size.
"""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm import tqdm

from colorbench import distributed
from colorbench.color import lab_to_rgb, rgb_to_lab
from colorbench.contracts import Baseline
from colorbench.imageio import load_rgb, save_png


def _resize(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=tuple(size), mode="bilinear", align_corners=False, antialias=True)


@torch.no_grad()
def colorize_batch(model: Baseline, rgb: torch.Tensor, input_size: int | None, device: torch.device) -> torch.Tensor:
    """RGB (N, 3, H, W) -> the model's colourisation (N, 3, H, W) in [0, 1], on the CPU. Only the
    L channel of `rgb` reaches the model (and the ground truth, for the oracle)."""
    size = tuple(rgb.shape[-2:])
    lab = rgb_to_lab(rgb)
    L = lab[:, :1]
    L_in = _resize(L, (input_size, input_size)) if input_size else L
    target = rgb.to(device) if model.sees_ground_truth else None
    out = model.colorize(L_in.to(device), target_rgb=target).float().cpu()
    if model.info.color_space == "lab":
        return lab_to_rgb(torch.cat((L, _resize(out[:, 1:], size)), dim=1))
    return _resize(out, size).clamp(0, 1)


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
