"""A small, complete run folder written the way the harness writes one (the report's contract).

Values are random (seeded) per-image numbers; the aggregate rows are their means, so tests
recompute everything they assert from the files, never from constants.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from colorbench.document import BaselineDocument, DatasetDocument, RunDocument
from colorbench.metrics.registry import METRICS
from colorbench.results import ResultRecord, write_results

SCRIPT_NAME = "<script>alert(1)</script>"
FAILED_NAME = "broken-net"
# metric -> (higher_is_better, unit)
METRIC_SPECS = {"psnr": (True, "dB"), "mse": (False, "RGB²"), "ssim": (True, ""), "colorfulness": (None, "M3")}
# ... and every other registered metric, so the leaderboard is as wide as a real one
WIDE = {e.name: (e.obj.higher_is_better, e.obj.unit) for e in METRICS.entries() if e.name not in METRIC_SPECS}
METRIC_SPECS = {**METRIC_SPECS, **WIDE}
BASELINES = {  # name -> registry model
    "gray": "gray", "oracle": "oracle", "cnn": "cnn_rgb", "pix2pix": "pix2pix", SCRIPT_NAME: "resnet_lab", FAILED_NAME: "zhang313",
}
DATASETS = {"tiny-a": ["a01", "a02", "sub/a 03#x", "a04", "a05", "a06"], "tiny-b": ["b01", "b02", "b03", "b04", "b05"]}
SIZE = 24


def _png(path: Path, arr: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr.astype(np.uint8), "RGB").save(path)


def _gt(rng: np.random.Generator) -> np.ndarray:
    """A smooth colour gradient image, different per call."""
    y, x = np.mgrid[0:SIZE, 0:SIZE] / (SIZE - 1)
    c0, c1, c2 = rng.uniform(0, 255, size=(3, 3))
    return np.clip(c0 + np.einsum("hw,c->hwc", x, c1 - c0) + np.einsum("hw,c->hwc", y, c2 - c0) / 2, 0, 255)


def _history(gan: bool) -> list[dict]:
    rows = []
    for epoch in range(1, 6):
        train = {"loss": 1.0 / epoch + 0.1}
        if gan:
            train.update(g_loss=2.0 - 0.2 * epoch, d_loss=0.6 + 0.03 * epoch)
        rows.append({"epoch": epoch, "train": train, "val": {"loss": 1.1 / epoch + 0.15}})
    return rows


ROLES = {"gray": "floor", "oracle": "ceiling"}  # registry model -> role; the others are models


def _baseline_doc(name: str, model: str, datasets: list[str]) -> BaselineDocument:
    learned = model not in ROLES
    info = {"family": model, "paper": "Someone et al. 2016" if learned else "reference", "color_space": "lab", "loss": "l2",
            "input_size": SIZE, "backbone": "resnet18" if model == "resnet_lab" else None,
            "pretrained": "imagenet" if model == "resnet_lab" else None, "learned": learned, "notes": "",
            "num_parameters": 123456 if learned else 0, "role": ROLES.get(model, "model")}
    doc = BaselineDocument(
        status="ok", role=ROLES.get(model, "model"), model=model, description=f"{model} baseline", info=info,
        config={"name": name, "model": model, "params": {"width": 8}},
        settings={"epochs": 5, "lr": 0.001} if learned else None,
        settings_origin={"epochs": "small", "lr": "paper"} if learned else None,
        evaluate_on=list(datasets), seconds={"train": 12.5 if learned else 0.0, "colorize": 0.4, "score": 0.2},
    )
    if learned:
        doc.train = {"status": "trained", "reason": "", "history": _history(gan=model == "pix2pix"), "best_epoch": 5, "epochs_run": 5,
                     "seconds": 12.5, "checkpoint": f"ckpt/{model}.pt", "checkpoint_sha256": "ab" * 32, "steps_per_second": 3.2}
    if name == FAILED_NAME:
        doc.status, doc.reason = "failed", "RuntimeError: loss is NaN at epoch 2 <boom>"
        doc.train.update(status="failed", reason="loss is NaN")
    return doc


def _dataset_doc(d: str, ids: list[str]) -> DatasetDocument:
    return DatasetDocument(
        source="folder", location=f"/data/{d}", manifest_hash=f"hash-{d}", n_found=len(ids) + 1,
        n_used={"train": 0, "val": 0, "test": len(ids)}, n_test_scored=len(ids), resize="short_side_crop 24",
        chroma_threshold=1.0, protocol=f"proto-{d}", excluded=[{"id": f"{d}-gray", "reason": "near-gray <chroma>", "detail": ""}],
        test_ids=ids, grid_ids=ids[:4], warnings=[f"FID with {len(ids)} images per set is strongly biased <small N>"],
    )


def _records(ds: str, frame: pd.DataFrame, n: int) -> list[ResultRecord]:
    records = []
    for metric, (hib, unit) in METRIC_SPECS.items():
        means = frame.groupby("baseline")[metric].mean()
        scored = [b for b in means.index if BASELINES[b] not in ROLES]
        best = None if hib is None else (means[scored].idxmax() if hib else means[scored].idxmin())
        for i, b in enumerate(BASELINES):
            role = ROLES.get(BASELINES[b], "model")
            if b == FAILED_NAME:
                records.append(ResultRecord("run-1", ds, b, metric, None, None, None, 0, hib, unit, "failed",
                                            "training failed: loss is NaN", f"proto-{ds}", role=role, best=None if hib is None else False))
                continue
            v = float(means[b])
            spread = abs(v) * 0.02 + 1e-6
            p = None if best is None or b == best else (0.31 if i % 2 else 0.004)
            records.append(ResultRecord("run-1", ds, b, metric, v, v - spread, v + spread, n, hib, unit, "ok", "",
                                        f"proto-{ds}", p, role=role, best=None if hib is None else b == best))
    return records


def build_run(folder: Path, seed: int = 0, datasets: dict[str, list[str]] | None = None) -> Path:
    """The run folder; `datasets` ({name: image ids}, default DATASETS) e.g. to add a long image id."""
    datasets = DATASETS if datasets is None else datasets
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    records, per_image = [], []
    for ds, ids in datasets.items():
        gts = {}
        for image_id in ids:
            gts[image_id] = _gt(rng)
            _png(folder / "gt" / ds / f"{image_id}.png", gts[image_id])
        quality = {}  # per baseline: a mean quality level, so the ranking is not random noise
        for b, model in BASELINES.items():
            if b == FAILED_NAME:
                continue
            quality[b] = {"gray": 0.0, "oracle": 1.0}.get(model, rng.uniform(0.2, 0.8))
            for image_id, gt in gts.items():
                out = gt if model == "oracle" else gt * quality[b] + gt.mean(axis=2, keepdims=True) * (1 - quality[b])
                _png(folder / "outputs" / ds / b / f"{image_id}.png", out + rng.normal(0, 3, out.shape) * (model != "oracle"))
            q = quality[b]
            per_image.append(pd.DataFrame({
                "dataset": ds, "baseline": b, "image_id": ids,
                "psnr": 20 + 15 * q + rng.normal(0, 1, len(ids)),
                "mse": 0.02 * (1.2 - q) + rng.uniform(0, 0.002, len(ids)),
                "ssim": 0.6 + 0.35 * q + rng.normal(0, 0.01, len(ids)),
                "colorfulness": 30 * q + rng.normal(0, 2, len(ids)),
                **{m: 1.0 + (q if hib is not False else 1 - q) + rng.normal(0, 0.05, len(ids)) for m, (hib, _) in WIDE.items()},
            }))
        records += _records(ds, pd.concat([f for f in per_image if f["dataset"].iloc[0] == ds]), len(ids))
    write_results(folder, records)
    pd.concat(per_image, ignore_index=True).to_csv(folder / "per_image.csv", index=False)
    RunDocument(
        run_id="run-1", config_path="configs/tiny.yaml",
        config={"datasets": [{"name": d} for d in datasets], "baselines": [{"name": b} for b in BASELINES]},
        scale="small", scale_settings={"eval_size": SIZE}, device="cpu", seed=seed,
        environment={"python": "3.11.2", "platform": "Linux", "packages": {"torch": "2.x", "numpy": "2.x"},
                     "git": {"commit": "0123456789abcdef", "dirty": True}, "device": "cpu", "cpu": "test cpu",
                     "torch_threads": 2, "created": "2024-01-01T00:00:00Z"},
        weights=[{"name": "resnet18", "path": "/cache/resnet18.pth", "sha256": "cd" * 32, "source": "pypi", "verified": True}],
        evaluation={"eval_size": SIZE, "resize": "short_side_crop", "chroma_threshold": 1.0, "metrics": list(METRIC_SPECS)},
        datasets={d: _dataset_doc(d, ids) for d, ids in datasets.items()},
        baselines={b: _baseline_doc(b, m, list(datasets)) for b, m in BASELINES.items()},
        timings={"total": 42.0, "score": 3.0},
    ).save(folder / "run.json")
    return folder
