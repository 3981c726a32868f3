"""The one scoring routine, shared by `colorbench run` and `colorbench score`.

Pairs are (prediction, ground truth, id): files, or 8-bit codes in memory (colorbench.score on
arrays), scored exactly as the same codes decoded from a file. The batch plan (batches.py) groups
them from their headers; images are then decoded a wave at a time (up to WAVE_PIXELS, on a thread pool:
PIL releases the GIL) and every metric's accumulator is updated batch by batch with torch's own
threads. Decoding and the metrics take turns instead of competing for the cores: on a busy CPU,
torch's multi-threaded kernels wait a scheduler time slice for every thread that is not running.

Nothing is resized silently; a prediction whose size differs from its ground truth is handled by
`size_policy` (exclude and list it, resize it as if saved at that size, or error); unreadable
files are listed (DataError under strict=True).

Memory is bounded by pixels (MAX_BATCH_PIXELS per batch, WAVE_PIXELS decoded at once), so it does
not grow with the number of images; the metrics' working memory scales with the largest image.
Metrics that load different networks are scored in separate passes over the images (decoded
again), so only one pass's networks and states are held at a time; passes of per-image metrics
come first, so states that grow with N (FID's features) are built last; the networks are dropped
before the values are computed, and freed memory is handed back to the system after each pass.
Under torchrun each rank scores its contiguous block of whole batches of the one plan, the
accumulators' states are synchronised (sums added, lists concatenated in rank order) and the
per-image ids gathered: the result does not depend on the number of ranks.
"""
from __future__ import annotations

import ctypes
import gc
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Callable, Iterable

import torch
import torch.nn.functional as F

from colorbench import distributed
from colorbench.errors import DataError, UsageError
from colorbench.files import display_name, name_bytes
from colorbench.hashing import canonical_hash, sha256_bytes, sha256_file
from colorbench.imageio import UnreadableImage, as_unit, load_rgb_codes
from colorbench.metrics import networks
from colorbench.metrics.base import MetricContext, MetricValue, compute_value
from colorbench.metrics.memo import clear_memo, remember_codes
from colorbench.scoring.batches import (
    MAX_BATCH_PIXELS,
    SIZE_POLICIES,
    Item,
    plan_batches,
)
from colorbench.scoring.pairs import Pair, Source, in_memory

WAVE_PIXELS = 8 * MAX_BATCH_PIXELS  # decoded at once: 64 pairs of 256 px, 25 MB as 8-bit codes


@dataclass
class ScoreResult:
    values: dict[str, MetricValue]
    ids: list[str]  # scored ids, in the order of every per_image vector
    size_mismatch: list[str] = field(default_factory=list)  # excluded under size_policy="exclude"
    resized: list[str] = field(default_factory=list)  # under size_policy="resize"
    unreadable: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # metric -> reason; the others still count


def build_accumulators(names: Iterable[str], context: MetricContext, registry=None) -> dict:
    """Fresh accumulators on context.device; unknown names raise UnknownNameError. `registry`:
    where the names are defined (a protocol's metrics, colorbench.protocols); default METRICS.
    Their states are synchronised exactly when the engine shards the batches (under torchrun),
    not whenever a process group exists: a caller's own group (colorbench.score in a DDP script)
    must not gather what every rank scored in full."""
    if registry is None:
        from colorbench.metrics.registry import METRICS as registry

    specs = [registry.get(n) for n in names]  # look every name up before building anything
    accumulators = {s.name: s.build(context).to(context.device) for s in specs}
    for acc in accumulators.values():
        acc.distributed_available_fn = _sharded
    return accumulators


def _sharded() -> bool:
    return distributed.world().active


def resize_to(pred: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    out = F.interpolate(pred[None], size=size, mode="bicubic", align_corners=False, antialias=True)[0]
    return torch.round(out.clamp(0, 1) * 255.0) / 255.0


def _codes(source: Source) -> torch.Tensor:
    return source if in_memory(source) else load_rgb_codes(source)


def _load(item: Item) -> tuple[torch.Tensor, torch.Tensor] | str:
    """(pred, gt) as uint8 codes where the files are 8-bit (imageio.load_rgb_codes), or the reason."""
    try:
        pred, gt = _codes(item.pair.pred), _codes(item.pair.gt)
    except (UnreadableImage, OSError) as exc:
        return str(exc)
    return (resize_to(as_unit(pred), tuple(gt.shape[1:])) if item.resize else pred), gt


def _stack(images: list[torch.Tensor], device: torch.device) -> torch.Tensor:
    """One float batch of load_rgb's values; an all-8-bit batch notes its codes in the memo."""
    if all(x.dtype == torch.uint8 for x in images):
        codes = torch.stack(images).to(device)
        rgb = as_unit(codes)
        remember_codes(rgb, codes)
        return rgb
    return torch.stack([as_unit(x) for x in images]).to(device)


def _content_hash(source: Source) -> str:
    """A file's SHA-256 (cached by size and mtime), or that of in-memory codes and their shape."""
    if in_memory(source):
        return sha256_bytes(repr(tuple(source.shape)).encode() + source.contiguous().numpy().tobytes())
    return sha256_file(source)


def _files_key(plan) -> str:
    """The scored ground truth's identity: each image's id and SHA-256."""
    files = sorted(((item.pair.id, item.pair.gt) for batch in plan.batches for item in batch), key=lambda f: f[0])
    return "files-" + canonical_hash([[name_bytes(i).hex(), _content_hash(src)] for i, src in files])[:24]


def _waves(batches: list[list[Item]]) -> Iterable[list[list[Item]]]:
    wave, pixels = [], 0
    for batch in batches:
        wave.append(batch)
        pixels += sum(item.pixels for item in batch)
        if pixels >= WAVE_PIXELS:
            yield wave
            wave, pixels = [], 0
    if wave:
        yield wave


def _update(accumulators: dict, batch: list[Item], loaded: list, context: MetricContext, result: ScoreResult,
            strict: bool) -> int:
    """Every accumulator updated with one batch; returns how many pairs it scored."""
    kept = []
    for item, images in zip(batch, loaded):
        if isinstance(images, str):
            if strict:
                raise DataError(f"{display_name(item.pair.id)}: unreadable image: {images}")
            result.unreadable.append(item.pair.id)
        else:
            kept.append((item.pair.id, *images))
    by_size: dict[tuple, list] = {}  # one size unless a header hid its orientation (a late PNG eXIf)
    for k in kept:
        by_size.setdefault(tuple(k[2].shape), []).append(k)
    for group in by_size.values():
        clear_memo()  # the memo is per batch: nothing of the last one is held (95 MB under ct2)
        pred = _stack([k[1] for k in group], context.device)
        gt = _stack([k[2] for k in group], context.device)
        for name in list(accumulators):
            try:
                accumulators[name].update(pred, gt)
            except Exception as exc:  # e.g. SSIM on an image under 11 px: this metric fails, not the others
                result.failed[name] = f"{type(exc).__name__}: {exc}"
                del accumulators[name]
        result.ids.extend(k[0] for k in group)
    return len(kept)


def _agree(accumulators: dict, result: ScoreResult) -> None:
    """Under torchrun: every rank drops a metric that failed on any rank (or their states would
    not synchronise), and learns every rank's ids and exclusions, in rank order."""
    if not distributed.world().active:
        return
    for failed in distributed.gather(result.failed):
        for name, reason in failed.items():
            result.failed.setdefault(name, reason)
            accumulators.pop(name, None)
    result.ids = [i for ids in distributed.gather(result.ids) for i in ids]
    result.unreadable = list(dict.fromkeys(i for ids in distributed.gather(result.unreadable) for i in ids))


def _nothing_scored(n_pairs: int, plan, result: ScoreResult) -> str:
    """Why no pair was scored, with the first few of each cause."""
    def shown(ids: list[str], detail=lambda i: "") -> str:
        return "; ".join(display_name(i) + detail(i) for i in ids[:3]) + ("; ..." if len(ids) > 3 else "")

    causes = []
    if result.size_mismatch:
        causes.append(f"{len(result.size_mismatch)} differ in size from their ground truth, excluded under size policy "
                      f"'exclude' ({shown(result.size_mismatch, lambda i: f' ({plan.sizes[i]})')}); "
                      "size policy 'resize' scores them resized")
    if result.unreadable:
        causes.append(f"{len(result.unreadable)} unreadable ({shown(result.unreadable)})")
    found = f"of {n_pairs} matched pair(s): " + ", and ".join(causes) if causes else "no prediction matches a ground-truth file"
    return f"no image pairs could be scored: {found}"


def _return_freed_memory() -> None:
    """glibc keeps freed memory for reuse in holes that later, differently sized tensors do not
    fit (the batches, the networks' activations, FID's eigenproblem), so RSS creeps up; after
    each wave, before compute and after each pass, malloc_trim hands the free pages back.
    Elsewhere (no glibc) nothing happens."""
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _compute(accumulators: dict, result: ScoreResult) -> None:
    for name, acc in accumulators.items():
        try:
            result.values[name] = compute_value(acc)
        except Exception as exc:  # e.g. FID of a single image
            result.failed[name] = f"{type(exc).__name__}: {exc}"


def network_passes(names: list[str], registry) -> list[list[str]]:
    """The metrics grouped into passes over the images, one per set of network weights they load:
    only one pass's networks and states are held at a time. For `--protocol ct2` at 5000 pairs
    that keeps the FID features (0.12 GB) apart from LPIPS-VGG and its feature maps. Passes of
    per-image metrics only (states of 8 bytes per image, FID's 16 KB) come first, so the states
    that grow with N are built last and never sit under another pass's working memory; metrics
    without a network join the first pass. Unknown names raise before anything is built."""
    specs = [registry.get(n) for n in names]
    groups: dict[tuple[str, ...], list] = {}
    for spec in specs:
        groups.setdefault(tuple(sorted(spec.weights)), []).append(spec)
    plain = groups.pop((), [])
    passes = sorted(groups.values(), key=lambda group: not all(s.per_image for s in group)) or [[]]
    passes[0] = plain + passes[0]
    return [[s.name for s in group] for group in passes]


class _PassProgress:
    """Each pair reported once over several passes: the passes' counts divided by their number."""

    def __init__(self, progress: Callable[[int], None] | None, passes: int) -> None:
        self.progress, self.passes, self.seen, self.told = progress, passes, 0, 0

    def __call__(self, done: int) -> None:
        self.seen += done
        due = self.seen // self.passes - self.told
        if due and self.progress is not None:
            self.progress(due)
        self.told += due


def score_pairs(
    pairs: list[Pair],
    metrics: list[str],
    context: MetricContext,
    batch_size: int = 16,
    size_policy: str = "exclude",
    strict: bool = False,
    workers: int = 2,
    progress: Callable[[int], None] | None = None,
    key_real_stats_by_files: bool = False,
    registry=None,
) -> ScoreResult:
    """Score `pairs` with every metric in `metrics`; per-image vectors follow ScoreResult.ids.
    A metric that fails (its update or compute raises) is listed in .failed; the rest are kept.
    Metrics that load different networks are scored in separate passes (network_passes).
    key_real_stats_by_files: cache the real images' FID statistics under a hash of the scored
    ground-truth files' bytes (`colorbench score`; `run` keys them by its test split instead).
    registry: the metrics' definitions (a protocol's, colorbench.protocols; default METRICS)."""
    if size_policy not in SIZE_POLICIES:
        raise UsageError(f"unknown size policy {size_policy!r} (choose from {', '.join(SIZE_POLICIES)})")
    if batch_size < 1:
        raise UsageError("batch size must be positive")
    if registry is None:
        from colorbench.metrics.registry import METRICS as registry
    passes = network_passes(metrics, registry)
    plan = plan_batches(list(pairs), batch_size, size_policy, strict)
    if key_real_stats_by_files:
        context = replace(context, real_stats_key=_files_key(plan))
    result = ScoreResult({}, [], plan.size_mismatch, plan.resized, plan.unreadable)
    counter = _PassProgress(progress, len(passes))
    for k, names in enumerate(passes):
        part = result if k == 0 else ScoreResult({}, [], [], [], [])
        _score_pass(plan, len(pairs), names, context, registry, part, strict, workers, counter)
        if part is not result:
            if part.ids != result.ids:  # the same plan and files: only a file changed mid-run gets here
                raise DataError("the images changed between scoring passes; score them again")
            result.values.update(part.values)
            result.failed.update(part.failed)
    result.values = {name: result.values[name] for name in metrics if name in result.values}
    return result


def _score_pass(plan, n_pairs: int, metrics: list[str], context: MetricContext, registry, result: ScoreResult,
                strict: bool, workers: int, progress: Callable[[int], None]) -> None:
    """One pass over the plan's images with `metrics`; values, failures and ids into `result`."""
    accumulators = build_accumulators(metrics, context, registry)
    try:
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            for wave in _waves(distributed.shard(plan.batches)):
                decoded = iter(list(pool.map(_load, [item for batch in wave for item in batch])))  # decode, then compute
                for batch in wave:
                    progress(_update(accumulators, batch, [next(decoded) for _ in batch], context, result, strict))
                del decoded
                _return_freed_memory()
        _agree(accumulators, result)
        if not result.ids:
            raise DataError(_nothing_scored(n_pairs, plan, result))
        clear_memo()
        networks.release()  # computing the values needs no network; reloading one costs ~0.2 s
        _return_freed_memory()
        _compute(accumulators, result)
    finally:
        clear_memo()
        # torchmetrics keeps wrapped bound methods on each metric, a reference cycle: without a
        # collection now, every row's states (FID and KID: 256 MiB) wait for the cyclic GC, and a
        # run of 68 rows reached 13 GB.
        accumulators.clear()
        gc.collect()
        _return_freed_memory()  # the states just freed: before the next pass or the exit
