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

Memory is bounded by pixels (MAX_BATCH_PIXELS per batch, twice that decoded ahead), so it does
not grow with the number of images; the metrics' own working memory scales with the largest
image (about 0.4 KB per pixel with every metric, mostly float64 Lab and SSIM maps).
"""
from __future__ import annotations

from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

import torch
import torch.nn.functional as F
from PIL import Image

from colorbench.errors import DataError, UsageError
from colorbench.files import display_name
from colorbench.imageio import IMAGE_SUFFIXES, UnreadableImage, load_rgb
from colorbench.metrics.base import MetricContext, MetricValue, compute_value
from colorbench.metrics.memo import clear_memo

SIZE_POLICIES = ("exclude", "resize", "error")
# A batch holds at most this many pixels (and at most batch_size images), and decoding runs at most
# twice this ahead: scoring memory is bounded by pixels, not by image count. 2^20 px = 16 images of
# 256 px; a camera-size photo is a batch of its own.
MAX_BATCH_PIXELS = 1 << 20


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
    failed: dict[str, str] = field(default_factory=dict)  # metric -> reason; the others still count


def build_accumulators(names: Iterable[str], context: MetricContext) -> dict:
    """Fresh accumulators on context.device; unknown names raise UnknownNameError."""
    from colorbench.metrics.registry import METRICS

    specs = [METRICS.get(n) for n in names]  # look every name up before building anything
    return {s.name: s.build(context).to(context.device) for s in specs}


def resize_to(pred: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    out = F.interpolate(pred[None], size=size, mode="bicubic", align_corners=False, antialias=True)[0]
    return torch.round(out.clamp(0, 1) * 255.0) / 255.0


def _load(pair: Pair) -> tuple[torch.Tensor, torch.Tensor] | str:
    try:
        return load_rgb(pair.pred), load_rgb(pair.gt)
    except (UnreadableImage, OSError) as exc:
        return str(exc)


def _pixels(pair: Pair) -> int:
    """The ground truth's pixel count from its header (no decoding); 0 if unreadable."""
    try:
        with Image.open(pair.gt) as img:
            return img.width * img.height
    except Exception:  # an unreadable file costs nothing to hold; _load reports it
        return 0


def _loaded(pairs: list[Pair], workers: int, window_pixels: int) -> Iterator[tuple[Pair, object]]:
    """Decode pairs in order on a thread pool (PIL releases the GIL), ahead of use by at most
    `window_pixels` ground-truth pixels (at least one pair): memory is bounded by pixels."""
    if workers <= 0:
        yield from ((p, _load(p)) for p in pairs)
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        ahead: deque = deque()  # (pair, future, pixels)
        in_flight, nxt = 0, 0
        for _ in pairs:
            while nxt < len(pairs) and (not ahead or in_flight < window_pixels):
                px = _pixels(pairs[nxt])
                ahead.append((pairs[nxt], pool.submit(_load, pairs[nxt]), px))
                in_flight, nxt = in_flight + px, nxt + 1
            pair, future, px = ahead.popleft()
            in_flight -= px
            yield pair, future.result()


class _Batches:
    """Same-size pairs grouped into batches of at most `batch_size` images and MAX_BATCH_PIXELS
    pixels, each passed to every accumulator; a metric that raises is dropped with its reason."""

    def __init__(self, accumulators: dict, context: MetricContext, batch_size: int, result: ScoreResult, progress):
        self.accumulators, self.context, self.batch_size = accumulators, context, batch_size
        self.result, self.progress = result, progress
        self.pending: dict[tuple[int, int], list[tuple[str, torch.Tensor, torch.Tensor]]] = {}

    def add(self, image_id: str, pred: torch.Tensor, gt: torch.Tensor) -> None:
        key = tuple(gt.shape[1:])
        group = self.pending.setdefault(key, [])
        group.append((image_id, pred, gt))
        if len(group) >= self.batch_size or len(group) * key[0] * key[1] >= MAX_BATCH_PIXELS:
            self.flush(key)
        elif sum(len(g) * k[0] * k[1] for k, g in self.pending.items()) >= MAX_BATCH_PIXELS:
            self.flush_all()  # many sizes: bound memory

    def flush_all(self) -> None:
        for key in list(self.pending):
            self.flush(key)

    def flush(self, key: tuple[int, int]) -> None:
        group = self.pending.pop(key)
        pred = torch.stack([g[1] for g in group]).to(self.context.device)
        gt = torch.stack([g[2] for g in group]).to(self.context.device)
        for name in list(self.accumulators):
            try:
                self.accumulators[name].update(pred, gt)
            except Exception as exc:  # e.g. SSIM on an image under 11 px: this metric fails, not the others
                self.result.failed[name] = f"{type(exc).__name__}: {exc}"
                del self.accumulators[name]
        self.result.ids.extend(g[0] for g in group)
        if self.progress is not None:
            self.progress(len(group))


def _compute(accumulators: dict, result: ScoreResult) -> None:
    for name, acc in accumulators.items():
        try:
            result.values[name] = compute_value(acc)
        except Exception as exc:  # e.g. FID of a single image
            result.failed[name] = f"{type(exc).__name__}: {exc}"


def _checked(pair: Pair, pred: torch.Tensor, gt: torch.Tensor, size_policy: str, result: ScoreResult):
    """The prediction to score (resized if the policy says so), or None to exclude the pair."""
    if pred.shape == gt.shape:
        return pred
    if size_policy == "error":
        raise DataError(f"{display_name(pair.id)}: prediction is {pred.shape[2]}x{pred.shape[1]}, ground truth "
                        f"{gt.shape[2]}x{gt.shape[1]} (size policy 'error')")
    if size_policy == "exclude":
        result.size_mismatch.append(pair.id)
        return None
    result.resized.append(pair.id)
    return resize_to(pred, tuple(gt.shape[1:]))


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
    """Score `pairs` with every metric in `metrics`; per-image vectors follow ScoreResult.ids.
    A metric that fails (its update or compute raises) is listed in .failed; the rest are kept."""
    if size_policy not in SIZE_POLICIES:
        raise UsageError(f"unknown size policy {size_policy!r} (choose from {', '.join(SIZE_POLICIES)})")
    if batch_size < 1:
        raise UsageError("batch size must be positive")
    accumulators = build_accumulators(metrics, context)
    result = ScoreResult({}, [])
    batches = _Batches(accumulators, context, batch_size, result, progress)
    try:
        for pair, loaded in _loaded(list(pairs), workers, window_pixels=2 * MAX_BATCH_PIXELS):
            if isinstance(loaded, str):
                if strict:
                    raise DataError(f"{display_name(pair.id)}: unreadable image: {loaded}")
                result.unreadable.append(pair.id)
                continue
            pred = _checked(pair, *loaded, size_policy, result)
            if pred is not None:
                batches.add(pair.id, pred, loaded[1])
        batches.flush_all()
        if not result.ids:
            raise DataError("no image pairs could be scored")
        _compute(batches.accumulators, result)
    finally:
        clear_memo()
    return result
