"""`colorbench merge RUN_DIR`: the parts of a sharded run (`run --only`) as one run.

Each part is a finished run folder under RUN_DIR/parts/<part>/. The merge checks every part
before writing anything: each is finished (run.json) and not locked by a live job, the parts
agree on the protocol (each shared dataset's test split fingerprint, each metric's protocol, the
seed, scale and evaluation settings) and no baseline appears twice. Then it rebuilds the scores
from the parts' tables (dataset-level values from results.jsonl, per-image values from
per_image.csv, both read back exactly), tabulates them as one run does (so the best row and the
paired tests span all parts), links the parts' images into RUN_DIR and publishes there.
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
import torch

from colorbench import runfolder
from colorbench.document import RunDocument
from colorbench.errors import UsageError
from colorbench.hashing import canonical_hash
from colorbench.lock import RunLock, holder
from colorbench.metrics.base import MetricValue
from colorbench.pipeline import folder
from colorbench.pipeline.publish import publish
from colorbench.pipeline.score import Scored
from colorbench.pipeline.tabulate import build_records, per_image_table
from colorbench.protocols.registry import get
from colorbench.results import read_per_image, read_results

METRIC_FAILED = "metric failed: "  # tabulate's prefix for one metric's failure in a scored row


@dataclass
class Part:
    name: str
    folder: Path
    document: RunDocument
    results: pd.DataFrame
    per_image: pd.DataFrame


def merge_parts(run_dir: Path, force: bool = False) -> tuple[RunDocument, list]:
    """Merge RUN_DIR/parts/* into RUN_DIR; returns the merged document and records. The results of
    a full (unsharded) run already in RUN_DIR are not replaced unless `force`."""
    run_dir = Path(run_dir)
    parts = _load_parts(run_dir)
    if not force and _holds_full_run(run_dir):
        raise UsageError(f"{run_dir} holds the results of a full run (not a merge); merging would replace "
                         "them: use --force, or run the parts into another output_dir")
    _check_agree(parts)
    scored = [s for p in parts for s in _scored(p)]
    order = list(parts[0].document.config.get("baselines", []))
    rank = {b.get("name"): k for k, b in enumerate(order)}
    scored.sort(key=lambda s: rank.get(s.baseline, len(rank)))
    document = _document(parts, sorted({s.baseline for s in scored}, key=lambda b: rank.get(b, len(rank))))
    roles = {name: b.role for name, b in document.baselines.items()}
    protocols = {name: d.protocol for name, d in document.datasets.items()}
    n_test = {name: d.n_test_scored for name, d in document.datasets.items()}
    records = build_records(scored, list(document.evaluation["metrics"]), protocols, document.run_id, roles,
                            document.seed, n_test, get(document.evaluation.get("protocol")),
                            {w["name"]: w.get("sha256") for w in document.weights})
    per_image = per_image_table(scored)
    with RunLock(run_dir):
        runfolder.mark_run_folder(run_dir)
        folder.remove_partial_files(run_dir)
        _link_images(parts, run_dir)
        publish(run_dir, records, per_image, document)
    return document, records


def _holds_full_run(run_dir: Path) -> bool:
    if not (run_dir / "run.json").is_file():
        return False
    try:
        return not RunDocument.load(run_dir / "run.json").parts
    except (OSError, ValueError, KeyError, TypeError):
        return True  # unreadable: treat as a user's results, not ours to replace


def _load_parts(run_dir: Path) -> list[Part]:
    root = run_dir / runfolder.PARTS
    found = sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    if not found:
        raise UsageError(f"{run_dir} has no parts to merge (expected {root}/<part>/ from `colorbench run --only`)")
    locked = [f"{p.name} ({who})" for p in found if (who := holder(p)) is not None]
    if locked:
        raise UsageError(f"part(s) still in use by a running job: {', '.join(locked)}; merge when they finish")
    unfinished = [p.name for p in found if not (p / "run.json").is_file()]
    if unfinished:
        raise UsageError(f"part(s) without a finished run (no run.json): {', '.join(unfinished)}")
    return [_part(p) for p in found]


def _part(path: Path) -> Part:
    try:
        return Part(path.name, path, RunDocument.load(path / "run.json"), read_results(path / "results.jsonl"),
                    read_per_image(path / "per_image.csv"))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"part {path.name} cannot be read ({type(exc).__name__}: {exc}); "
                         "rerun it with `colorbench run --only`") from None


def _protocol(p: Part) -> dict:
    d = p.document
    return {"seed": d.seed, "scale": d.scale, "scale_settings": d.scale_settings, "evaluation": d.evaluation}


def _check_agree(parts: list[Part]) -> None:
    first = parts[0]
    for p in parts[1:]:
        if _protocol(p) != _protocol(first):
            raise UsageError(f"parts {first.name} and {p.name} were run with different settings "
                             f"(seed, scale or evaluation); they cannot be merged")
    for label, key in (("test split", lambda p, ds: p.document.datasets[ds].protocol),
                       ("metric protocols", lambda p, ds: sorted(set(
                           zip(p.results.loc[p.results.dataset == ds, "metric"],
                               p.results.loc[p.results.dataset == ds, "protocol"]))))):
        for ds in {ds for p in parts for ds in p.document.datasets}:
            having = [p for p in parts if ds in p.document.datasets]
            values = {p.name: repr(key(p, ds)) for p in having}
            if len(set(values.values())) > 1:
                raise UsageError(f"parts disagree on the {label} of {ds}: {', '.join(sorted(values))} "
                                 "differ (different data, weights or code); they cannot be merged")
    seen: dict[str, str] = {}
    for p in parts:
        for b in p.document.baselines:
            if b in seen:
                raise UsageError(f"baseline {b} is in both parts {seen[b]} and {p.name}")
            seen[b] = p.name


def _scored(p: Part) -> list[Scored]:
    """Each (dataset, baseline) row of a part as scoring left it, from its tables."""
    out = []
    for name, b in p.document.baselines.items():
        for ds in b.evaluate_on:
            rows = p.results[(p.results.dataset == ds) & (p.results.baseline == name)]
            ok, failed = rows[rows.status == "ok"], rows[rows.status == "failed"]
            if len(ok) == 0:  # the whole row failed (or the baseline did)
                out.append(Scored(ds, name, None, [], failed["reason"].iloc[0] if len(failed) else b.reason))
                continue
            images = p.per_image[(p.per_image.dataset == ds) & (p.per_image.baseline == name)]
            values = {r.metric: MetricValue(float(r.value), _per_image(images, r.metric)) for r in ok.itertuples()}
            reasons = {r.metric: r.reason.removeprefix(METRIC_FAILED) for r in failed.itertuples()}
            out.append(Scored(ds, name, values, list(images["image_id"]), failed=reasons))
    return out


def _per_image(images: pd.DataFrame, metric: str) -> torch.Tensor | None:
    if metric not in images.columns:
        return None
    return torch.tensor(images[metric].to_numpy(dtype=float), dtype=torch.float64)


def _document(parts: list[Part], baselines: list[str]) -> RunDocument:
    by_name = {b: doc for p in parts for b, doc in p.document.baselines.items()}
    datasets = {}
    for p in parts:
        for name, d in p.document.datasets.items():
            if name in datasets:
                datasets[name].warnings.extend(w for w in d.warnings if w not in datasets[name].warnings)
            else:
                datasets[name] = replace(d, warnings=list(d.warnings))
    first = parts[0].document
    run_ids = [p.document.run_id for p in parts]
    return replace(first, run_id=canonical_hash({"merged": run_ids})[:12], datasets=datasets,
                   baselines={b: by_name[b] for b in baselines},
                   timings={f"part {p.name}": p.document.timings.get("total", 0.0) for p in parts},
                   parts=[{"name": p.name, "run_id": p.document.run_id, "baselines": list(p.document.baselines)}
                          for p in parts])


def _link_images(parts: list[Part], run_dir: Path) -> None:
    """The parts' ground truth and outputs under RUN_DIR (hard links; copies across filesystems)."""
    gt_from = {}
    for p in parts:
        for ds in p.document.datasets:
            gt_from.setdefault(ds, p.folder)
    for ds, source in gt_from.items():
        _link_tree(runfolder.gt_dir(source, ds), runfolder.gt_dir(run_dir, ds))
    for p in parts:
        for b, doc in p.document.baselines.items():
            for ds in doc.evaluate_on:
                _link_tree(runfolder.pred_dir(p.folder, ds, b), runfolder.pred_dir(run_dir, ds, b))


def _link_tree(src: Path, dst: Path) -> None:
    if not src.is_dir():
        return
    shutil.rmtree(dst, ignore_errors=True)
    for path in src.rglob("*.png"):
        target = dst / path.relative_to(src)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(path, target)
        except OSError:
            shutil.copy2(path, target)
