"""`colorbench run`: datasets x baselines -> trained models, saved outputs, scored tables.

The stages, in order, each reusing finished work: data (datasets loaded, the ground truth saved
as 8-bit PNGs at evaluation size), baselines (each trained or loaded, then colorizing every test
split), scoring (from the saved PNGs, as `colorbench score`), tabulating (records with
statistics, role, best and failures decided once), the provenance document, and publishing
(tables, run.json and report replaced together). run_benchmark returns it all as data.

Under torchrun every rank runs the stages: rank 0 holds the lock, writes the ground truth first
and publishes; the ranks train together, colorize and score disjoint shards of whole batches.
A baseline that raises on one rank ends the job there (the others cannot tell a failure from a
slow rank; torchrun stops them) instead of failing only its row.
"""
from __future__ import annotations

import contextlib
import time
import traceback
from dataclasses import dataclass, field

import pandas as pd
import torch

from colorbench import distributed, runfolder
from colorbench.document import RunDocument
from colorbench.errors import RankFailure
from colorbench.hashing import canonical_hash
from colorbench.lock import RunLock
from colorbench.pipeline import folder
from colorbench.pipeline.colorize import colorize_folder
from colorbench.pipeline.data import RunData, prepare_data
from colorbench.pipeline.describe import run_document
from colorbench.pipeline.outputs import import_outputs
from colorbench.pipeline.publish import publish
from colorbench.pipeline.score import Scored, score_row
from colorbench.pipeline.tabulate import (
    build_records,
    dataset_warnings,
    per_image_table,
)
from colorbench.pipeline.train import build_and_train
from colorbench.plan import BaselinePlan, Plan
from colorbench.provenance import environment
from colorbench.results import ResultRecord
from colorbench.training.workdir import TrainResult


@dataclass
class BaselineOutcome:
    name: str
    status: str  # 'ok' | 'failed'
    reason: str = ""
    role: str = "model"  # from the model's BaselineInfo: 'model', 'floor' or 'ceiling'
    train: TrainResult | None = None
    info: dict = field(default_factory=dict)
    seconds: dict = field(default_factory=dict)


@dataclass
class RunResult:
    records: list[ResultRecord]
    per_image: pd.DataFrame
    outcomes: list[BaselineOutcome]
    document: RunDocument

    @property
    def failed(self) -> list[str]:
        """Baselines with any failed row (the run is partial, exit 6)."""
        return list(dict.fromkeys([o.name for o in self.outcomes if o.status != "ok"]
                                  + [r.baseline for r in self.records if r.status != "ok"]))

    def subsets(self) -> list[str]:
        """'<baseline> on <dataset>: n of N' for each row scored on only some test images whose config
        row does not say allow_partial (the run is then partial, exit 6)."""
        allowed = {b["name"] for b in self.document.config.get("baselines", []) if b.get("allow_partial")}
        found = {(r.baseline, r.dataset): r.n for r in self.records if r.subset and r.baseline not in allowed}
        return [f"{b} on {ds}: {n} of {self.document.datasets[ds].n_test_scored}" for (b, ds), n in found.items()]


def run_benchmark(plan: Plan) -> RunResult:
    out, main = plan.output_dir, distributed.world().main
    if main and plan.part_of is not None:
        runfolder.mark_run_folder(plan.part_of)  # before the lock creates parts/<name>: other parts accept it
    with RunLock(out) if main else contextlib.nullcontext():
        torch.manual_seed(plan.config.seed)
        started, env = time.time(), environment(plan.device)
        data = distributed.rank0_first(lambda: _start(plan) if main else prepare_data(plan, out, write=False))
        outcomes = [run_baseline(bp, plan, data) for bp in plan.baselines]
        distributed.barrier()  # every rank's outputs are saved before any rank scores them
        scored = [s for o in outcomes for s in _score_baseline(plan, data, o)]
        run_id = canonical_hash({"config": plan.config_path, "created": env["created"]})[:12]
        records = build_records(scored, plan.metrics, data.protocols, run_id, {o.name: o.role for o in outcomes},
                               plan.config.seed, {ds: len(ids) for ds, ids in data.test_ids.items()},
                               plan.protocol)
        warnings = dataset_warnings(scored)
        for dataset, messages in warnings.items():
            for message in messages if main else ():
                print(f"colorbench: warning: {dataset}: {message}")
        document = run_document(plan, data, outcomes, env, run_id, warnings, time.time() - started)
        per_image = per_image_table(scored)
        if main:
            publish(out, records, per_image, document)
        distributed.barrier()  # no rank reports success before the results exist
        return RunResult(records, per_image, outcomes, document)


def _start(plan: Plan) -> RunData:
    """Rank 0's first stage: the folder marked and cleaned, the ground truth written."""
    runfolder.mark_run_folder(plan.output_dir)
    folder.remove_partial_files(plan.output_dir)
    return prepare_data(plan, plan.output_dir)


def run_baseline(bp: BaselinePlan, plan: Plan, data: RunData) -> BaselineOutcome:
    """Train or load the baseline, then colorize its test sets; a failure fails this row only."""
    if bp.outputs is not None:  # files copied once, by rank 0
        return distributed.broadcast(_bring_outputs(bp, plan, data) if distributed.world().main else None)
    outcome = BaselineOutcome(bp.name, "ok")
    try:
        t0 = time.time()
        model, train = build_and_train(bp, plan, data)
        outcome.train, outcome.role = train, model.info.role
        outcome.info = {**model.info.as_dict(), "num_parameters": model.num_parameters()}
        outcome.seconds["train"] = time.time() - t0
        if train is not None and train.status == "failed":
            outcome.status, outcome.reason = "failed", f"training failed: {train.reason}"
            return outcome
        t0 = time.time()
        input_size = bp.settings.image_size if bp.settings else model.info.input_size
        model.to(plan.device)
        for ds in bp.evaluate_on:
            colorize_folder(model, data.test_ids[ds], runfolder.gt_dir(plan.output_dir, ds),
                            runfolder.pred_dir(plan.output_dir, ds, bp.name), input_size, plan.device,
                            plan.config.evaluation.batch_size, desc=f"colorize {bp.name} on {ds}")
        outcome.seconds["colorize"] = time.time() - t0
    except torch.cuda.OutOfMemoryError as exc:
        if distributed.world().active:
            raise RankFailure(bp.name, exc) from exc
        outcome.status, outcome.reason = "failed", f"out of memory: {exc}"
    except (Exception, SystemExit) as exc:  # one baseline's failure (a plug-in's sys.exit too) must not end the run
        if distributed.world().active:
            raise RankFailure(bp.name, exc) from exc
        outcome.status, outcome.reason = "failed", _failure_reason(exc)
        outcome.info.setdefault("traceback", traceback.format_exc(limit=8))
    return outcome


def _failure_reason(exc: BaseException) -> str:
    if isinstance(exc, SystemExit):  # exit 0 from a plug-in would otherwise read as a successful run
        return f"the model's code called sys.exit({exc.code!r})"
    return f"{type(exc).__name__}: {exc}"


def _bring_outputs(bp: BaselinePlan, plan: Plan, data: RunData) -> BaselineOutcome:
    """A precomputed-outputs row: its files, matched to the test ids, saved like a baseline's outputs."""
    outcome, t0 = BaselineOutcome(bp.name, "ok"), time.time()
    imported = {ds: import_outputs(bp.outputs, ds, runfolder.gt_dir(plan.output_dir, ds),
                                   runfolder.pred_dir(plan.output_dir, ds, bp.name), data.test_ids[ds],
                                   bp.config.size_policy, plan.config.strict) for ds in bp.evaluate_on}
    outcome.info = {"outputs": {ds: i.as_dict() for ds, i in imported.items()}}
    for ds, i in imported.items():
        for kind, ids in i.problems().items():
            print(f"colorbench: warning: {bp.name} on {ds}: {len(ids)} {kind.replace('_', ' ')} output file(s)")
    outcome.seconds["import"] = time.time() - t0
    return outcome


def _score_baseline(plan: Plan, data: RunData, o: BaselineOutcome) -> list[Scored]:
    t0 = time.time()
    partial = plan.baseline(o.name).outputs is not None  # precomputed outputs may lack some images (listed)
    rows = [score_row(plan, ds, o.name, data.test_ids[ds], data.protocols[ds], partial) if o.status == "ok"
            else Scored(ds, o.name, None, [], o.reason) for ds in plan.baseline(o.name).evaluate_on]
    o.seconds["score"] = time.time() - t0
    return rows
