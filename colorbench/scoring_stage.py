"""The run's scoring stage: saved PNGs -> metric values, CIs, paired tests, records, report."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import pandas as pd
from tqdm import tqdm

from colorbench import workspace
from colorbench.metrics.base import MetricContext, MetricValue
from colorbench.metrics.registry import METRICS
from colorbench.plan import Plan
from colorbench.provenance import canonical_hash
from colorbench.publish import publish
from colorbench.records import ResultRecord
from colorbench.scoring import match_folders, score_pairs
from colorbench.stats import bootstrap_ci, paired_test

P_LEVEL = 0.05


@dataclass
class Scored:
    dataset: str
    baseline: str
    values: dict[str, MetricValue] | None  # None: failed
    ids: list[str]
    reason: str = ""
    failed: dict[str, str] = field(default_factory=dict)  # metric -> reason (the metric alone failed)

    def value(self, metric: str) -> MetricValue | None:
        return None if self.values is None else self.values.get(metric)


def metric_protocol(dataset_protocol: str, metric: str) -> str:
    """Fingerprint of everything that changes this metric's number on this dataset."""
    spec = METRICS.get(metric)
    return canonical_hash({"dataset": dataset_protocol, "metric": metric, "weights": workspace.weight_hashes(spec.weights)})[:16]


def _score_one(plan: Plan, dataset: str, baseline: str, test_ids: list[str], protocol: str) -> Scored:
    out = plan.output_dir
    match = match_folders(workspace.pred_dir(out, dataset, baseline), workspace.gt_dir(out, dataset))
    wanted = set(test_ids)
    missing = sorted(wanted - {p.id for p in match.pairs})
    if missing:
        return Scored(dataset, baseline, None, [], f"{len(missing)} outputs missing, e.g. {missing[0]}")
    pairs = [p for p in match.pairs if p.id in wanted]
    ctx = MetricContext(device=plan.device, real_stats_key=protocol, seed=plan.config.seed)
    with tqdm(total=len(pairs), desc=f"score {baseline} on {dataset}", unit="img", leave=False) as bar:
        result = score_pairs(pairs, plan.config.evaluation.metrics, ctx, batch_size=plan.config.evaluation.batch_size, size_policy="error", strict=True, progress=bar.update)
    return Scored(dataset, baseline, result.values, result.ids, failed=result.failed)


def _records(plan: Plan, scored: list[Scored], protocols: dict[str, str], run_id: str, roles: dict[str, str]) -> list[ResultRecord]:
    records = []
    for dataset in dict.fromkeys(s.dataset for s in scored):
        rows = [s for s in scored if s.dataset == dataset]
        for metric in plan.config.evaluation.metrics:
            spec = METRICS.get(metric)
            protocol = metric_protocol(protocols[dataset], metric)
            best = _best(rows, metric, spec.higher_is_better, roles)
            for s in rows:
                v = s.value(metric)
                if v is None:
                    reason = s.reason if s.values is None else f"metric failed: {s.failed.get(metric, 'no value')}"
                    records.append(ResultRecord(run_id, dataset, s.baseline, metric, None, None, None, 0, spec.higher_is_better, spec.unit, "failed", reason, protocol))
                    continue
                ci = bootstrap_ci(v.per_image.numpy(), seed=plan.config.seed) if v.per_image is not None else None
                p = None
                if best is not None and best is not s and v.per_image is not None:
                    p = paired_test(v.per_image.numpy(), best.values[metric].per_image.numpy(), seed=plan.config.seed).p_value
                records.append(ResultRecord(run_id, dataset, s.baseline, metric, float(v.value), ci[0] if ci else None, ci[1] if ci else None, len(s.ids), spec.higher_is_better, spec.unit, "ok", "", protocol, p))
    return records


def _best(rows: list[Scored], metric: str, higher_is_better, roles: dict[str, str]) -> Scored | None:
    """The best model row (floor and ceiling rows excluded); None for directionless metrics."""
    candidates = [s for s in rows if s.value(metric) is not None and roles.get(s.baseline) == "model"]
    candidates = [s for s in candidates if s.values[metric].value == s.values[metric].value]  # drop NaN
    if higher_is_better is None or not candidates:
        return None
    key = lambda s: s.values[metric].value
    return max(candidates, key=key) if higher_is_better else min(candidates, key=key)


def _per_image_frame(s: Scored) -> pd.DataFrame:
    columns = {name: v.per_image.numpy() for name, v in s.values.items() if v.per_image is not None}
    frame = pd.DataFrame({"dataset": s.dataset, "baseline": s.baseline, "image_id": s.ids, **columns})
    return frame


def score_run(plan: Plan, datasets, test_ids: dict[str, list[str]], outcomes, env: dict, started: float) -> list[ResultRecord]:
    out = plan.output_dir
    protocols = {name: workspace.dataset_protocol(plan, ds, test_ids[name]) for name, ds in datasets.items()}
    scored: list[Scored] = []
    for o in outcomes:
        t0 = time.time()
        bp = next(b for b in plan.baselines if b.config.name == o.name)
        for dataset in bp.evaluate_on:
            if o.status != "ok":
                scored.append(Scored(dataset, o.name, None, [], o.reason))
                continue
            try:
                scored.append(_score_one(plan, dataset, o.name, test_ids[dataset], protocols[dataset]))
            except Exception as exc:  # a scoring fault fails this row, not the run
                scored.append(Scored(dataset, o.name, None, [], f"scoring failed: {type(exc).__name__}: {exc}"))
        o.seconds["score"] = time.time() - t0
        if any(s.values is None for s in scored if s.baseline == o.name) and o.status == "ok":
            o.status, o.reason = "failed", next(s.reason for s in scored if s.baseline == o.name and s.values is None)
    run_id = canonical_hash({"config": plan.config_path, "created": env["created"]})[:12]
    roles = {o.name: o.info.get("role", "model") for o in outcomes}
    records = _records(plan, scored, protocols, run_id, roles)
    document = workspace.run_document(plan, datasets, test_ids, outcomes, env, protocols, run_id, time.time() - started)
    publish(out, records, [_per_image_frame(s) for s in scored if s.values is not None], document)
    return records
