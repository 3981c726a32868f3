"""What colorbench.score accepts as images, turned into the pairs the scoring engine takes.

- Two folders: files matched by relative path and stem (match_folders), as `colorbench score`.
- Two lists of image files, paired by position; an id is the ground-truth file's stem (its path
  as given when two stems are equal).
- Two arrays or tensors (N, 3, H, W), or two lists of (3, H, W) ones (sizes may then differ from
  pair to pair), numpy or torch, uint8 or floating point in [0, 1]; an id is the position,
  zero-padded ("0", "1", ... or "00", "01", ...).

Arrays are scored as the 8-bit PNGs colorbench saves from them: uint8 codes as they are, floats
quantised by imageio.to_uint8 (round(255 x), halves to even: what save_png writes), so a float
array scores exactly as `colorbench score` on those PNGs. Floats outside [0, 1] or NaN, other
dtypes, other shapes and unequal lengths are refused with one error naming the argument:
ValueError, or TypeError for a type or dtype.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from colorbench.errors import DataError
from colorbench.imageio import to_uint8
from colorbench.scoring.pairs import Pair, PairMatch, match_folders

Images = Any  # a folder, a list of files, an array/tensor (N, 3, H, W) or a list of (3, H, W) ones


def _kind(x: Images, name: str) -> str:
    if isinstance(x, (str, os.PathLike)):
        return "a folder"
    if isinstance(x, (np.ndarray, torch.Tensor)):
        return "an array"
    if isinstance(x, (list, tuple)):
        if not x:
            raise ValueError(f"{name}: an empty list")
        if all(isinstance(v, (str, os.PathLike)) for v in x):
            return "a list of files"
        return "a list of arrays"
    raise TypeError(f"{name}: expected a folder, a list of files, or an array or tensor (N, 3, H, W); "
                    f"got {type(x).__name__}")


def pairs_from(pred: Images, gt: Images, pred_prefix: str = "") -> tuple[PairMatch, dict[str, Any]]:
    """The pairs to score and how each side is described in the provenance ("pred", "gt");
    pred_prefix: a protocol's prediction-name prefix, for folders (scoring.pairs.match_folders)."""
    kinds = _kind(pred, "pred"), _kind(gt, "gt")
    if kinds[0] != kinds[1] and "a folder" in kinds:
        raise TypeError(f"pred is {kinds[0]} but gt is {kinds[1]}: give two of the same kind")
    if kinds[0] == "a folder":
        return match_folders(pred, gt, pred_prefix=pred_prefix), {"pred": str(pred), "gt": str(gt)}
    if "a list of files" in kinds:
        if kinds[0] != kinds[1]:
            raise TypeError(f"pred is {kinds[0]} but gt is {kinds[1]}: give two of the same kind")
        return _file_pairs(pred, gt)
    return _array_pairs(pred, gt)


def _same_length(pred: Sequence, gt: Sequence) -> None:
    if len(pred) != len(gt):
        raise ValueError(f"pred has {len(pred)} images but gt has {len(gt)}")


def _file_pairs(pred: Sequence, gt: Sequence) -> tuple[PairMatch, dict[str, Any]]:
    _same_length(pred, gt)
    for name, paths in (("pred", pred), ("gt", gt)):
        for i, path in enumerate(paths):
            if not Path(path).is_file():
                raise DataError(f"{name}[{i}]: {str(path)!r} is not a file")
    stems = [Path(p).stem for p in gt]
    ids = stems if len(set(stems)) == len(stems) else [str(p) for p in gt]
    if len(set(ids)) != len(ids):
        twice = next(i for i in ids if ids.count(i) > 1)
        raise ValueError(f"gt lists {twice!r} twice")
    pairs = [Pair(i, Path(p), Path(g)) for i, p, g in zip(ids, pred, gt)]
    return PairMatch(pairs, [], [], []), {"pred": [str(p) for p in pred], "gt": [str(g) for g in gt]}


def _array_pairs(pred: Images, gt: Images) -> tuple[PairMatch, dict[str, Any]]:
    pred_codes, pred_about = codes_of(pred, "pred")
    gt_codes, gt_about = codes_of(gt, "gt")
    _same_length(pred_codes, gt_codes)
    width = len(str(len(gt_codes) - 1))
    pairs = [Pair(f"{i:0{width}d}", p, g) for i, (p, g) in enumerate(zip(pred_codes, gt_codes))]
    return PairMatch(pairs, [], [], []), {"pred": pred_about, "gt": gt_about}


def codes_of(x: Images, name: str) -> tuple[list[torch.Tensor], str]:
    """uint8 codes (3, H, W) per image, on the CPU, and a description of the input for the
    provenance, e.g. "Tensor float32 (4, 3, 64, 64), quantised to 8-bit"."""
    items = [(f"{name}[{i}]", v, 3) for i, v in enumerate(x)] if isinstance(x, (list, tuple)) else [(name, x, 4)]
    codes: list[torch.Tensor] = []
    described, quantised = [], False
    for label, value, ndim in items:
        t = _tensor(value, label)
        want = "(N, 3, H, W)" if ndim == 4 else "(3, H, W)"
        if t.ndim != ndim or t.shape[-3] != 3 or min(t.shape[-2:]) < 1:
            hint = " (channels last? transpose to channels first)" if t.ndim == ndim and t.shape[-1] == 3 else ""
            raise ValueError(f"{label}: expected RGB of shape {want}, got {tuple(t.shape)}{hint}")
        codes.extend(_eight_bit(img, label) for img in (list(t) if ndim == 4 else [t]))
        quantised |= t.is_floating_point()
        described.append(f"{type(value).__name__} {str(t.dtype).removeprefix('torch.')} {tuple(t.shape)}")
    if not codes:
        raise ValueError(f"{name}: no images")
    distinct = list(dict.fromkeys(described))
    shown = ", ".join(distinct[:3]) + (", ..." if len(distinct) > 3 else "")
    about = shown if len(items) == 1 else f"list of {len(items)}: {shown}"
    return codes, about + (", quantised to 8-bit" if quantised else "")


def _tensor(value: Any, label: str) -> torch.Tensor:
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "uf" or value.dtype.itemsize > 8:
            raise TypeError(f"{label}: expected uint8 or floating-point RGB in [0, 1], got {value.dtype}")
        return torch.from_numpy(np.ascontiguousarray(value))
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    raise TypeError(f"{label}: expected a numpy array or torch tensor, got {type(value).__name__}")


def _eight_bit(img: torch.Tensor, label: str) -> torch.Tensor:
    """uint8 codes (3, H, W) of one image: uint8 as given, floats in [0, 1] as save_png writes them."""
    if img.dtype == torch.uint8:
        return img
    if not img.is_floating_point():
        raise TypeError(f"{label}: expected uint8 or floating-point RGB in [0, 1], got {img.dtype}")
    lo, hi = img.min().item(), img.max().item()  # NaN propagates into both
    if not (lo >= 0 and hi <= 1):
        raise ValueError(f"{label}: floating-point RGB must be finite and in [0, 1], found values in [{lo:g}, {hi:g}]")
    return torch.from_numpy(to_uint8(img)).permute(2, 0, 1).contiguous()
