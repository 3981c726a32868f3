"""`colorbench run`: datasets x baselines -> trained models, saved outputs, scored tables.

Stages, each reusing finished work: evaluation ground truth (8-bit PNGs at evaluation size),
training or loading each baseline, colorizing every test split, scoring from the saved PNGs
(the same routine as `colorbench score`), then records and the report.
"""
from __future__ import annotations

import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import torch

from colorbench import workspace
from colorbench.colorize import colorize_folder
from colorbench.lock import RunLock
from colorbench.plan import BaselinePlan, Plan
from colorbench.provenance import environment
from colorbench.scoring_stage import score_run
from colorbench.training.trainer import TrainResult
from colorbench.training_stage import build_and_train


@dataclass
class BaselineOutcome:
    name: str
    status: str  # 'ok' | 'failed'
    reason: str = ""
    train: TrainResult | None = None
    info: dict = field(default_factory=dict)
    seconds: dict = field(default_factory=dict)


@dataclass
class RunSummary:
    output_dir: Path
    failed: list[str]
    n_records: int

    @property
    def partial(self) -> bool:
        return bool(self.failed)


def run_benchmark(plan: Plan) -> RunSummary:
    out = plan.output_dir
    with RunLock(out):
        workspace.mark_run_folder(out)
        workspace.remove_partial_files(out)
        torch.manual_seed(plan.config.seed)
        started = time.time()
        env = environment(plan.device)
        datasets = workspace.open_datasets(plan)
        test_ids = {name: workspace.write_ground_truth(ds, plan, out) for name, ds in datasets.items()}
        outcomes = [_run_baseline(bp, plan, datasets, test_ids, out) for bp in plan.baselines]
        records = score_run(plan, datasets, test_ids, outcomes, env, started)
        failed = list(dict.fromkeys([o.name for o in outcomes if o.status != "ok"]
                                    + [r.baseline for r in records if r.status != "ok"]))
        return RunSummary(out, failed, len(records))


def _run_baseline(bp: BaselinePlan, plan: Plan, datasets, test_ids, out: Path) -> BaselineOutcome:
    name = bp.config.name
    outcome = BaselineOutcome(name, "ok")
    try:
        t0 = time.time()
        model, train = build_and_train(bp, plan, datasets)
        outcome.train, outcome.info = train, workspace.describe_model(model)
        outcome.seconds["train"] = time.time() - t0
        if train is not None and train.status == "failed":
            outcome.status, outcome.reason = "failed", f"training failed: {train.reason}"
            return outcome
        t0 = time.time()
        input_size = bp.settings.image_size if bp.settings else model.info.input_size
        model.to(plan.device)
        for ds in bp.evaluate_on:
            colorize_folder(
                model, test_ids[ds], workspace.gt_dir(out, ds), workspace.pred_dir(out, ds, name),
                input_size, plan.device, plan.config.evaluation.batch_size, desc=f"colorize {name} on {ds}",
            )
        outcome.seconds["colorize"] = time.time() - t0
    except torch.cuda.OutOfMemoryError as exc:
        outcome.status, outcome.reason = "failed", f"out of memory: {exc}"
    except Exception as exc:  # one baseline's failure must not lose the others' results
        outcome.status, outcome.reason = "failed", f"{type(exc).__name__}: {exc}"
        outcome.info.setdefault("traceback", traceback.format_exc(limit=8))
    return outcome
