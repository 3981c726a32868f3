"""Matching prediction files to ground-truth files by relative path and stem.

A Pair's images are files, or (colorbench.score on arrays) in-memory uint8 tensors (3, H, W)
holding 8-bit codes, which the engine scores exactly as the same codes decoded from a PNG.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Union

from colorbench.errors import DataError
from colorbench.imageio import IMAGE_SUFFIXES

if TYPE_CHECKING:
    import torch

Source = Union[Path, "torch.Tensor"]  # an image file, or uint8 codes (3, H, W) in memory


def in_memory(source: Source) -> bool:
    return not isinstance(source, (str, os.PathLike))


@dataclass(frozen=True)
class Pair:
    id: str  # relative path without suffix, '/'-separated
    pred: Source
    gt: Source


@dataclass
class PairMatch:
    pairs: list[Pair]
    missing: list[str]  # ground-truth ids without a prediction
    extra: list[str]  # prediction ids without a ground truth
    ambiguous: list[str]  # ids with several files (e.g. a.png and a.jpg) on one side: not scored


def _index(root: Path, prefix: str = "") -> tuple[dict[str, Path], set[str]]:
    """id -> file for every image under root (hidden files skipped); ids with several files.
    `prefix`: a file-name prefix dropped from ids (CT2's fake_NAME predictions)."""
    found: dict[str, list[Path]] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(part.startswith(".") for part in rel.parts) or not path.is_file():
            continue
        if path.suffix.lower() in IMAGE_SUFFIXES:
            if prefix and rel.name.startswith(prefix) and len(rel.name) > len(prefix):
                rel = rel.with_name(rel.name[len(prefix):])
            found.setdefault(rel.with_suffix("").as_posix(), []).append(path)
    return {k: v[0] for k, v in found.items() if len(v) == 1}, {k for k, v in found.items() if len(v) > 1}


def match_folders(pred_dir: str | Path, gt_dir: str | Path, pred_prefix: str = "") -> PairMatch:
    """Pair files by relative path and stem; the suffixes may differ (pred .png, truth .jpg).
    pred_prefix: predictions may also be named <prefix><name> (a protocol's layout); a name
    present both ways is ambiguous."""
    for name, d in (("prediction", pred_dir), ("ground-truth", gt_dir)):
        if not Path(d).is_dir():
            raise DataError(f"{name} folder {str(d)!r} does not exist")
    pred, pred_dup = _index(Path(pred_dir), pred_prefix)
    gt, gt_dup = _index(Path(gt_dir))
    ambiguous = pred_dup | gt_dup
    pairs = [Pair(i, pred[i], gt[i]) for i in sorted(gt) if i in pred and i not in ambiguous]
    missing = sorted(i for i in set(gt) | gt_dup if i not in pred and i not in pred_dup)
    extra = sorted(i for i in set(pred) | pred_dup if i not in gt and i not in gt_dup)
    both = (set(gt) | gt_dup) & (set(pred) | pred_dup)
    return PairMatch(pairs, missing, extra, sorted(ambiguous & both))
