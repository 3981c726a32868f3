"""The run folder and the datasets behind it: layout, ground truth, provenance document.

<output_dir>/gt/<dataset>/<id>.png                 ground truth at evaluation size, 8-bit
<output_dir>/outputs/<dataset>/<baseline>/<id>.png each baseline's colorization
<output_dir>/results.csv|jsonl, per_image.csv, run.json, summary.md, reports/
<output_dir>/.colorbench                           marks the folder as a run's (written first)

A run writes, and cleans up, only these; anything else in the folder (a user's notes, a study
under studies/) is left alone.
"""
from __future__ import annotations

import json
from pathlib import Path

from tqdm import tqdm

from colorbench.config import DatasetConfig
from colorbench.data import DatasetSpec, ImageDataset, PreparedDataset, load_dataset
from colorbench.data.splits import seeded_order
from colorbench.errors import DataError, MissingWeightsError
from colorbench.files import PARTIAL_FILE_GLOB, display_name, partial_name, write_text
from colorbench.imageio import save_png
from colorbench.lock import LOCK_NAME
from colorbench.plan import Plan
from colorbench.publish import remove_staging
from colorbench.provenance import canonical_hash
from colorbench.typed import to_dict

RUN_SCHEMA = "colorbench.run/1"
RUN_MARKER = ".colorbench"
RUN_FILES = ("results.csv", "results.jsonl", "per_image.csv", "run.json", "summary.md", RUN_MARKER)
RUN_DIRS = ("gt", "outputs", "reports")


def gt_dir(out: Path, dataset: str) -> Path:
    return out / "gt" / dataset


def pred_dir(out: Path, dataset: str, baseline: str) -> Path:
    return out / "outputs" / dataset / baseline


def is_run_folder(out: Path) -> bool:
    return any((out / name).is_file() for name in (RUN_MARKER, "run.json", LOCK_NAME))


def foreign_entries(out: Path) -> list[str]:
    """What a folder that is not a colorbench run holds (empty for a run folder or an empty one)."""
    if not out.is_dir() or is_run_folder(out):
        return []
    return sorted(display_name(p.name) for p in out.iterdir())


def mark_run_folder(out: Path) -> None:
    if not (out / RUN_MARKER).is_file():
        write_text(out / RUN_MARKER, json.dumps({"schema": RUN_SCHEMA, "note": "a colorbench run folder"}) + "\n")


def remove_partial_files(out: Path) -> int:
    """Delete temporary files a killed run left mid-write (files.atomic_write_bytes): only in the
    run's own subfolders, and at the top only the temporaries of the run's own files."""
    remove_staging(out)
    stale = [p for d in RUN_DIRS if (out / d).is_dir() for p in (out / d).rglob(PARTIAL_FILE_GLOB)]
    stale += [p for name in RUN_FILES for p in out.glob(partial_name(out / name) + "*.tmp")]
    for path in stale:
        if path.is_file():
            path.unlink()
    return len(stale)


def dataset_spec(d: DatasetConfig, plan: Plan) -> DatasetSpec:
    return DatasetSpec(
        source=d.source_name, root=d.root, name=d.name,
        train_fraction=d.split.train, val_fraction=d.split.val, test_fraction=d.split.test,
        seed=plan.config.seed, size=plan.scale.eval_size, resize_policy=plan.config.evaluation.resize,
        chroma_threshold=plan.config.evaluation.chroma_threshold, strict=plan.config.strict,
        category_from=d.category_from, category_regex=d.category_regex, gray_side=d.gray_side,
        upstream_split=d.upstream_split, verify_hashes=d.verify_hashes, download=d.download,
    )


def open_datasets(plan: Plan) -> dict[str, PreparedDataset]:
    prepared = {}
    for d in plan.config.datasets:
        prepared[d.name] = load_dataset(dataset_spec(d, plan))
        print(prepared[d.name].report.summary())
    return prepared


def subset(ds: PreparedDataset, split: str, size: int, max_images: int | None) -> ImageDataset:
    """A split at `size`, capped to the first `max_images` of the seeded order (not id order)."""
    full = ds.split(split)
    keep = set(seeded_order(full.ids, ds.spec.seed)[:max_images] if max_images else full.ids)
    records = tuple(r for r in full.records if r.id in keep)
    return ImageDataset(split, records, full.reader, size, full.resize_policy)


def _remove_stale(folder: Path, ids: list[str]) -> None:
    """Drop PNGs of an earlier run that are not in this run's id set."""
    wanted = {f"{i}.png" for i in ids}
    for path in folder.rglob("*.png"):
        if path.relative_to(folder).as_posix() not in wanted:
            path.unlink()


def write_ground_truth(ds: PreparedDataset, plan: Plan, out: Path) -> list[str]:
    """Save the capped test split at evaluation size; returns its ids (sorted)."""
    if ds.spec.test_fraction <= 0:
        return []
    test = subset(ds, "test", plan.scale.eval_size, plan.scale.max_test_images)
    if len(test) == 0:
        raise DataError(f"{ds.spec.label}: the test split is empty after hygiene")
    folder = gt_dir(out, ds.spec.label)
    for i in tqdm(range(len(test)), desc=f"ground truth {ds.spec.label}", unit="img", leave=False):
        image_id, rgb = test[i]
        save_png(folder / f"{image_id}.png", rgb)
    _remove_stale(folder, test.ids)
    return test.ids


def weight_hashes(names) -> dict[str, str]:
    from colorbench import weights

    hashes = {}
    for name in names:
        try:
            hashes[name] = weights.sha256(name)
        except MissingWeightsError:
            hashes[name] = "missing"
    return hashes


def dataset_protocol(plan: Plan, ds: PreparedDataset, test_ids: list[str]) -> str:
    """Fingerprint of the evaluation images: content, selection, hygiene and resize."""
    r = ds.report
    return canonical_hash({
        "manifest": r.manifest_hash, "test_ids": test_ids, "eval_size": plan.scale.eval_size,
        "resize": r.resize, "chroma_threshold": r.chroma_threshold, "hygiene": r.hygiene_version,
    })[:16]


def dataset_document(ds: PreparedDataset, test_ids: list[str], grid_ids: list[str]) -> dict:
    r = ds.report
    return {
        "source": r.source, "location": r.location, "manifest_hash": r.manifest_hash,
        "n_found": r.n_found, "n_used": dict(r.split_sizes), "n_test_scored": len(test_ids),
        "resize": r.resize, "chroma_threshold": r.chroma_threshold,
        "excluded": [{"id": e.id, "reason": e.reason, "detail": e.detail} for e in r.excluded if e.reason != "unreadable"],
        "skipped_unreadable": [{"id": e.id, "reason": e.detail} for e in r.excluded if e.reason == "unreadable"],
        "excluded_by_reason": r.excluded_by_reason(), "test_ids": test_ids, "grid_ids": grid_ids,
    }


def grid_ids(test_ids: list[str], seed: int, k: int) -> list[str]:
    return sorted(seeded_order(test_ids, seed)[:k])


def run_document(plan: Plan, datasets, test_ids, outcomes, env, protocols, run_id, seconds) -> dict:
    from colorbench import weights

    k = plan.config.evaluation.grid_images
    return {
        "schema": RUN_SCHEMA, "run_id": run_id, "config_path": plan.config_path, "config": to_dict(plan.config),
        "scale": plan.scale_name, "scale_settings": to_dict(plan.scale), "device": str(plan.device),
        "seed": plan.config.seed, "environment": env, "weights": weights.manifest(),
        "evaluation": {
            "eval_size": plan.scale.eval_size, "resize": plan.config.evaluation.resize,
            "chroma_threshold": plan.config.evaluation.chroma_threshold,
            "metrics": list(plan.config.evaluation.metrics), "protocol": protocols,
        },
        "datasets": {n: dataset_document(ds, test_ids[n], grid_ids(test_ids[n], plan.config.seed, k)) for n, ds in datasets.items()},
        "baselines": {o.name: baseline_document(o, plan) for o in outcomes},
        "timings": {"total": seconds},
    }


def baseline_document(o, plan: Plan) -> dict:
    bp = next(b for b in plan.baselines if b.config.name == o.name)
    from baselines.registry import BASELINES

    return {
        "status": o.status, "reason": o.reason, "model": bp.config.model_name,
        "description": BASELINES.entry(bp.config.model_name).description,
        "info": o.info, "config": to_dict(bp.config),
        "settings": to_dict(bp.settings) if bp.settings else None,
        "train": o.train.as_dict() if o.train is not None else None,
        "init_from": bp.config.init_from, "evaluate_on": list(bp.evaluate_on), "seconds": o.seconds,
    }


def describe_model(model) -> dict:
    return {**model.info.as_dict(), "num_parameters": model.num_parameters()}
