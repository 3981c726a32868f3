"""The grayscale input shown in the grids: the L channel of the ground truth, as the models see it."""
from __future__ import annotations

from pathlib import Path

import torch

from colorbench.color import l_to_lab, lab_to_rgb, rgb_to_lab
from colorbench.imageio import UnreadableImage, load_rgb, save_png


def write_gray_input(gt_png: Path, out_png: Path) -> bool:
    """Save the ground truth's L channel with a = b = 0 (Lab -> sRGB, so the gray is perceptually
    right, not L/100 as a linear value), as an exactly neutral RGB PNG. Reuses a file newer than the ground truth. False if the
    ground truth is missing or unreadable."""
    if out_png.is_file() and gt_png.is_file() and out_png.stat().st_mtime >= gt_png.stat().st_mtime:
        return True
    try:
        rgb = load_rgb(gt_png).unsqueeze(0).double()
    except (UnreadableImage, FileNotFoundError):
        return False
    L = rgb_to_lab(rgb)[:, :1]
    gray = lab_to_rgb(l_to_lab(L, torch.zeros_like(rgb[:, :2])))[0]
    # the matrix and D65 white agree only to ~1e-4, which can tint a channel by 1/255: make it neutral
    gray = gray.mean(dim=0, keepdim=True).expand(3, -1, -1)
    out_png.parent.mkdir(parents=True, exist_ok=True)
    save_png(out_png, gray)
    return True
