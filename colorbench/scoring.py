"""The one scoring routine, shared by `colorbench run` and `colorbench score`.

Pairs are (prediction file, ground-truth file, id). Images are decoded with
colorbench.imageio.load_rgb, same-size pairs are batched, and every metric's accumulator is
updated with each batch. Nothing is resized silently; a prediction whose size differs from its
ground truth is handled by `size_policy`:
  - "exclude" (default): the pair is not scored and is listed in ScoreResult.size_mismatch;
  - "resize": the prediction is resized to the ground-truth size (bicubic, antialiased, clipped
    to [0, 1] and re-quantised to 8 bits, as if saved at that size) and listed in .resized;
  - "error": DataError.
Unreadable files are listed in .unreadable (DataError under strict=True).
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

import torch
import torch.nn.functional as F

from colorbench.errors import DataError, UsageError
from colorbench.imageio import IMAGE_SUFFIXES, UnreadableImage, load_rgb
from colorbench.metrics._common import clear_memo
from colorbench.metrics.base import MetricContext, MetricValue

SIZE_POLICIES = ("exclude", "resize", "error")


@dataclass(frozen=True)
class Pair:
    id: str  # relative path without suffix, '/'-separated
    pred: Path
    gt: Path


@dataclass
class PairMatch:
    pairs: list[Pair]
    missing: list[str]  # ground-truth ids without a prediction
    extra: list[str]  # prediction ids without a ground truth
    ambiguous: list[str]  # ids with several files (e.g. a.png and a.jpg) on one side: not scored


def _index(root: Path) -> tuple[dict[str, Path], set[str]]:
    """id -> file for every image under root (hidden files skipped); ids with several files."""
    found: dict[str, list[Path]] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(part.startswith(".") for part in rel.parts) or not path.is_file():
            continue
        if path.suffix.lower() in IMAGE_SUFFIXES:
            found.setdefault(rel.with_suffix("").as_posix(), []).append(path)
    return {k: v[0] for k, v in found.items() if len(v) == 1}, {k for k, v in found.items() if len(v) > 1}


def match_folders(pred_dir: str | Path, gt_dir: str | Path) -> PairMatch:
    """Pair files by relative path and stem; the suffixes may differ (pred .png, truth .jpg)."""
    for name, d in (("prediction", pred_dir), ("ground-truth", gt_dir)):
        if not Path(d).is_dir():
            raise DataError(f"{name} folder {str(d)!r} does not exist")
    pred, pred_dup = _index(Path(pred_dir))
    gt, gt_dup = _index(Path(gt_dir))
    ambiguous = pred_dup | gt_dup
    pairs = [Pair(i, pred[i], gt[i]) for i in sorted(gt) if i in pred and i not in ambiguous]
    missing = sorted(i for i in set(gt) | gt_dup if i not in pred and i not in pred_dup)
    extra = sorted(i for i in set(pred) | pred_dup if i not in gt and i not in gt_dup)
    both = (set(gt) | gt_dup) & (set(pred) | pred_dup)
    return PairMatch(pairs, missing, extra, sorted(ambiguous & both))


@dataclass
class ScoreResult:
    values: dict[str, MetricValue]
    ids: list[str]  # scored ids, in the order of every per_image vector
    size_mismatch: list[str] = field(default_factory=list)  # excluded under size_policy="exclude"
    resized: list[str] = field(default_factory=list)  # under size_policy="resize"
    unreadable: list[str] = field(default_factory=list)


def build_accumulators(names: Iterable[str], context: MetricContext) -> dict:
    """Fresh accumulators on context.device; unknown names raise UnknownNameError."""
    from colorbench.metrics.registry import METRICS

    specs = [METRICS.get(n) for n in names]  # look every name up before building anything
    return {s.name: s.build(context).to(context.device) for s in specs}


def _resize_to(pred: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    out = F.interpolate(pred[None], size=size, mode="bicubic", align_corners=False, antialias=True)[0]
    return torch.round(out.clamp(0, 1) * 255.0) / 255.0


def _load(pair: Pair) -> tuple[torch.Tensor, torch.Tensor] | str:
    try:
        return load_rgb(pair.pred), load_rgb(pair.gt)
    except (UnreadableImage, OSError) as exc:
        return str(exc)


def _loaded(pairs: list[Pair], workers: int, window: int) -> Iterator[tuple[Pair, object]]:
    """Decode pairs in order, `window` ahead on a thread pool (PIL releases the GIL)."""
    if workers <= 0:
        yield from ((p, _load(p)) for p in pairs)
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(_load, p) for p in pairs[:window]]
        for i, pair in enumerate(pairs):
            if i + window < len(pairs):
                futures.append(pool.submit(_load, pairs[i + window]))
            yield pair, futures[i].result()
            futures[i] = None  # release the decoded images


def score_pairs(
    pairs: list[Pair],
    metrics: list[str],
    context: MetricContext,
    batch_size: int = 16,
    size_policy: str = "exclude",
    strict: bool = False,
    workers: int = 2,
    progress: Callable[[int], None] | None = None,
) -> ScoreResult:
    """Score `pairs` with every metric in `metrics`; per-image vectors follow ScoreResult.ids."""
    if size_policy not in SIZE_POLICIES:
        raise UsageError(f"unknown size policy {size_policy!r} (choose from {', '.join(SIZE_POLICIES)})")
    if batch_size < 1:
        raise UsageError("batch size must be positive")
    accumulators = build_accumulators(metrics, context)
    result = ScoreResult({}, [])
    pending: dict[tuple[int, int], list[tuple[str, torch.Tensor, torch.Tensor]]] = {}

    def flush(key: tuple[int, int]) -> None:
        group = pending.pop(key)
        pred = torch.stack([g[1] for g in group]).to(context.device)
        gt = torch.stack([g[2] for g in group]).to(context.device)
        for acc in accumulators.values():
            acc.update(pred, gt)
        result.ids.extend(g[0] for g in group)
        if progress is not None:
            progress(len(group))

    try:
        for pair, loaded in _loaded(list(pairs), workers, window=2 * batch_size):
            if isinstance(loaded, str):
                if strict:
                    raise DataError(f"{pair.id}: unreadable image: {loaded}")
                result.unreadable.append(pair.id)
                continue
            pred, gt = loaded
            if pred.shape != gt.shape:
                if size_policy == "error":
                    raise DataError(
                        f"{pair.id}: prediction is {pred.shape[2]}x{pred.shape[1]}, ground truth "
                        f"{gt.shape[2]}x{gt.shape[1]} (size policy 'error')"
                    )
                if size_policy == "exclude":
                    result.size_mismatch.append(pair.id)
                    continue
                pred = _resize_to(pred, tuple(gt.shape[1:]))
                result.resized.append(pair.id)
            key = tuple(gt.shape[1:])
            pending.setdefault(key, []).append((pair.id, pred, gt))
            if len(pending[key]) >= batch_size:
                flush(key)
            elif sum(len(g) for g in pending.values()) >= 2 * batch_size:  # many sizes: bound memory
                for k in list(pending):
                    flush(k)
        for k in list(pending):
            flush(k)
        if not result.ids:
            raise DataError("no image pairs could be scored")
        result.values = {name: acc.compute() for name, acc in accumulators.items()}
    finally:
        clear_memo()
    return result
