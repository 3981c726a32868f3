"""The run's data stage: datasets loaded once, the one cap on a split, the ground truth written.

capped_split is the only place that limits how many images a split yields: the first k of the
split's seeded order (colorbench.data.splits), never the first k by name, so a cap draws an
unbiased sample and a larger cap keeps every image of a smaller one.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from colorbench.data.dataset import ImageDataset
from colorbench.data.prepare import PreparedDataset, load_dataset
from colorbench.data.splits import seeded_order
from colorbench.document import DatasetDocument
from colorbench.errors import DataError
from colorbench.fingerprint import split_fingerprint
from colorbench.imageio import save_png
from colorbench.pipeline.folder import remove_stale_pngs
from colorbench.plan import Plan
from colorbench.runfolder import gt_dir


@dataclass
class RunData:
    prepared: dict[str, PreparedDataset]
    test_ids: dict[str, list[str]]  # the scored test ids per dataset (empty: no test split)
    protocols: dict[str, str]  # the test split's fingerprint per dataset


def capped_split(ds: PreparedDataset, split: str, size: int | None, cap: int | None) -> ImageDataset:
    """Split `split` of `ds` at `size`, limited to the first `cap` images of its seeded order."""
    full = ds.split(split)
    keep = set(seeded_order(full.ids, ds.options.seed)[:cap] if cap else full.ids)
    return ImageDataset(split, tuple(r for r in full.records if r.id in keep), full.reader, size, full.resize_policy,
                        full.memo)


def prepare_data(plan: Plan, out: Path, write: bool = True) -> RunData:
    """Every dataset loaded; with `write` (rank 0 under torchrun, which goes first) its ground
    truth saved and the summary printed."""
    data = RunData({}, {}, {})
    for name, config in plan.datasets.items():
        ds = load_dataset(config, plan.load_options)
        if write:
            print(ds.report.summary())
        data.prepared[name] = ds
        data.test_ids[name], data.protocols[name] = [], ""
        if config.split.test > 0:
            test = capped_split(ds, "test", plan.scale.eval_size, plan.scale.max_test_images)
            data.test_ids[name] = write_ground_truth(test, gt_dir(out, name), name) if write else list(test.ids)
            data.protocols[name] = split_fingerprint(ds, test)
    return data


def write_ground_truth(test: ImageDataset, folder: Path, label: str) -> list[str]:
    """Save the test split as 8-bit PNGs at evaluation size; returns its ids (sorted)."""
    if len(test) == 0:
        raise DataError(f"{label}: the test split is empty after hygiene")
    for i in tqdm(range(len(test)), desc=f"ground truth {label}", unit="img", leave=False):
        image_id, rgb = test[i]
        save_png(folder / f"{image_id}.png", rgb)
    remove_stale_pngs(folder, test.ids)
    return test.ids


def grid_ids(test_ids: list[str], seed: int, k: int) -> list[str]:
    return sorted(seeded_order(test_ids, seed)[:k])


def dataset_document(ds: PreparedDataset, test_ids: list[str], protocol: str, grid: list[str],
                     warnings: list[str]) -> DatasetDocument:
    r = ds.report
    return DatasetDocument(
        source=r.source, location=r.location, manifest_hash=r.manifest_hash, n_found=r.n_found,
        n_used=dict(r.split_sizes), n_test_scored=len(test_ids), resize=r.resize,
        chroma_threshold=r.chroma_threshold, protocol=protocol,
        excluded=[{"id": e.id, "reason": e.reason, "detail": e.detail} for e in r.excluded if e.reason != "unreadable"],
        skipped_unreadable=[{"id": e.id, "reason": e.detail} for e in r.excluded if e.reason == "unreadable"],
        excluded_by_reason=r.excluded_by_reason(), test_ids=test_ids, grid_ids=grid, warnings=warnings,
    )
