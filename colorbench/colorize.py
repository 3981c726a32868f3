"""Run one baseline over saved ground-truth PNGs and save its outputs as 8-bit PNGs.

The model input is the L channel of the saved 8-bit ground truth, resized (bilinear,
antialiased) to the model's input size when that differs from the evaluation size. Lab
models: the predicted ab is upsampled bilinearly to the evaluation size and joined with the
full-resolution L. RGB models: the RGB output is resized bilinearly to the evaluation size.
"""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm import tqdm

from baselines.base import Baseline
from colorbench.color import lab_to_rgb, rgb_to_lab
from colorbench.imageio import load_rgb, save_png


def _resize(x: torch.Tensor, size: int) -> torch.Tensor:
    if x.shape[-2:] == (size, size):
        return x
    return F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)


@torch.no_grad()
def colorize_batch(model: Baseline, rgb: torch.Tensor, input_size: int | None, device: torch.device) -> torch.Tensor:
    """Ground-truth RGB (N, 3, S, S) -> predicted RGB (N, 3, S, S) in [0, 1], on the CPU."""
    size = rgb.shape[-1]
    lab = rgb_to_lab(rgb)
    L = lab[:, :1]
    L_in = _resize(L, input_size) if input_size else L
    target = rgb.to(device) if model.sees_ground_truth else None
    out = model.colorize(L_in.to(device), target_rgb=target).float().cpu()
    if model.info.color_space == "lab":
        ab = _resize(out[:, 1:], size) if out.shape[-1] != size else out[:, 1:]
        return lab_to_rgb(torch.cat((L, ab), dim=1))
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
    """Colorize every `<id>.png` of gt_dir into out_dir; images of one size are batched."""
    model.eval()
    for start in tqdm(range(0, len(ids), batch_size), desc=desc, unit="batch", leave=False):
        chunk = ids[start : start + batch_size]
        images = [load_rgb(gt_dir / f"{i}.png") for i in chunk]
        by_size: dict[tuple, list[int]] = {}
        for j, img in enumerate(images):
            by_size.setdefault(tuple(img.shape), []).append(j)
        for members in by_size.values():
            pred = colorize_batch(model, torch.stack([images[j] for j in members]), input_size, device)
            for k, j in enumerate(members):
                save_png(out_dir / f"{chunk[j]}.png", pred[k])
