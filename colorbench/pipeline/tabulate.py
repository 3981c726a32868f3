"""From scores to the results table: statistics, and the one place where a row's role, the
best row and failures are decided (the report only reads them)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from colorbench.errors import MissingWeightsError
from colorbench.fingerprint import metric_fingerprint
from colorbench.pipeline.score import Scored
from colorbench.protocols.registry import COLORBENCH
from colorbench.results import ResultRecord
from colorbench.stats import bootstrap_ci, paired_test


def weight_hashes(names) -> dict[str, str]:
    from colorbench import weights

    hashes = {}
    for name in names:
        try:
            hashes[name] = weights.sha256(name)
        except MissingWeightsError:
            hashes[name] = "missing"
    return hashes


def metric_protocol(dataset_protocol: str, metric: str, protocol=COLORBENCH,
                    recorded: dict[str, str] | None = None) -> str:
    """Fingerprint of everything that changes this metric's number on this dataset. `recorded`:
    the weight files' SHA-256 as the run recorded them (merge), else the files in use now."""
    names = protocol.spec(metric).weights
    hashes = {n: recorded.get(n) or "missing" for n in names} if recorded is not None else weight_hashes(names)
    return metric_fingerprint(dataset_protocol, metric, hashes, protocol.name)


def best_row(rows: list[Scored], metric: str, roles: dict[str, str], protocol=COLORBENCH) -> Scored | None:
    """The best model row (floor and ceiling rows excluded); None for directionless metrics."""
    higher = protocol.spec(metric).higher_is_better
    candidates = [s for s in rows if roles.get(s.baseline) == "model" and s.value(metric) is not None
                  and s.value(metric).value == s.value(metric).value]  # no NaN
    if higher is None or not candidates:
        return None
    return (max if higher else min)(candidates, key=lambda s: s.value(metric).value)


def build_records(scored: list[Scored], metrics: list[str], protocols: dict[str, str], run_id: str,
                  roles: dict[str, str], seed: int, evaluation=COLORBENCH,
                  recorded: dict[str, str] | None = None) -> list[ResultRecord]:
    """`evaluation`: the evaluation protocol (colorbench.protocols) defining the metrics;
    `recorded`: weight SHA-256s as run.json recorded them (see metric_protocol)."""
    records = []
    for dataset in dict.fromkeys(s.dataset for s in scored):
        rows = [s for s in scored if s.dataset == dataset]
        for metric in metrics:
            protocol = metric_protocol(protocols[dataset], metric, evaluation, recorded)
            best = best_row(rows, metric, roles, evaluation)
            spec = evaluation.spec(metric)
            records += [_record(s, metric, spec, protocol, best, run_id, roles.get(s.baseline, "model"), seed)
                        for s in rows]
    return records


def _record(s: Scored, metric: str, spec, protocol: str, best: Scored | None, run_id: str, role: str,
            seed: int) -> ResultRecord:
    common = dict(run_id=run_id, dataset=s.dataset, baseline=s.baseline, metric=metric,
                  higher_is_better=spec.higher_is_better, unit=spec.unit, protocol=protocol, role=role)
    v = s.value(metric)
    if v is None:
        reason = s.reason if s.values is None else f"metric failed: {s.failed.get(metric, 'no value')}"
        return ResultRecord(**common, value=None, ci_low=None, ci_high=None, n=0, status="failed", reason=reason,
                            best=None if spec.higher_is_better is None else False)
    per_image = v.per_image.numpy() if v.per_image is not None else None
    ci = bootstrap_ci(per_image, seed=seed) if per_image is not None else None
    p = None
    if best is not None and best is not s and per_image is not None:
        p = paired_test(*_paired(s, best, metric), seed=seed).p_value
    return ResultRecord(**common, value=float(v.value), ci_low=ci[0] if ci else None, ci_high=ci[1] if ci else None,
                        n=len(s.ids), status="ok", reason="", p_vs_best=p,
                        best=None if spec.higher_is_better is None else best is s)


def _paired(s: Scored, best: Scored, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """Both rows' per-image values on the images both scored, in one order (a precomputed-outputs
    row may lack some)."""
    a, b = s.value(metric).per_image.numpy(), best.value(metric).per_image.numpy()
    if s.ids == best.ids:
        return a, b
    where = {image_id: k for k, image_id in enumerate(best.ids)}
    common = [(k, where[i]) for k, i in enumerate(s.ids) if i in where]
    return a[[k for k, _ in common]], b[[j for _, j in common]]


def per_image_frame(s: Scored) -> pd.DataFrame:
    columns = {name: v.per_image.numpy() for name, v in s.values.items() if v.per_image is not None}
    return pd.DataFrame({"dataset": s.dataset, "baseline": s.baseline, "image_id": s.ids, **columns})


def per_image_table(scored: list[Scored]) -> pd.DataFrame:
    """Every scored row's per-image values in one table (empty, with its key columns, if none)."""
    frames = [per_image_frame(s) for s in scored if s.values is not None]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["dataset", "baseline", "image_id"])


def dataset_warnings(scored: list[Scored]) -> dict[str, list[str]]:
    """Each distinct metric warning once per dataset (e.g. FID at small N), whatever the row count."""
    out: dict[str, list[str]] = {}
    for s in scored:
        for v in (s.values or {}).values():
            for message in v.extra.get("warnings", []):
                if message not in out.setdefault(s.dataset, []):
                    out[s.dataset].append(message)
    return out
