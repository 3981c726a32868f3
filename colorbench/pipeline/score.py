"""The run's scoring stage: each baseline's saved PNGs against the ground truth, with the same
routine as `colorbench score` (colorbench.scoring.score_pairs). It only scores: records,
statistics and files are the next stages'."""
from __future__ import annotations

from dataclasses import dataclass, field

from tqdm import tqdm

from colorbench import distributed
from colorbench.errors import RankFailure
from colorbench.hashing import canonical_json, sha256_bytes
from colorbench.metrics.base import MetricContext, MetricValue
from colorbench.plan import Plan
from colorbench.runfolder import gt_dir, pred_dir
from colorbench.scoring import match_folders, score_pairs


@dataclass
class Scored:
    dataset: str
    baseline: str
    values: dict[str, MetricValue] | None  # None: the row failed (reason)
    ids: list[str]
    reason: str = ""
    failed: dict[str, str] = field(default_factory=dict)  # metric -> reason (that metric alone failed)

    def value(self, metric: str) -> MetricValue | None:
        return None if self.values is None else self.values.get(metric)


def score_row(plan: Plan, dataset: str, baseline: str, test_ids: list[str], protocol: str,
              partial: bool = False) -> Scored:
    """One baseline on one dataset; a fault fails this row, never the run. `partial`: score the
    outputs there are (precomputed outputs, whose missing files were listed when brought in)."""
    try:
        return _score(plan, dataset, baseline, test_ids, protocol, partial)
    except Exception as exc:  # one row's fault must not lose the others' results
        if distributed.world().active:  # another rank may wait at a collective: end the job
            raise RankFailure(f"scoring {baseline} on {dataset}", exc) from exc
        return Scored(dataset, baseline, None, [], f"scoring failed: {type(exc).__name__}: {exc}")


def _score(plan: Plan, dataset: str, baseline: str, test_ids: list[str], protocol: str, partial: bool) -> Scored:
    out = plan.output_dir
    match = match_folders(pred_dir(out, dataset, baseline), gt_dir(out, dataset))
    wanted = set(test_ids)
    missing = sorted(wanted - {p.id for p in match.pairs})
    if missing and (not partial or len(missing) == len(wanted)):
        return Scored(dataset, baseline, None, [], f"{len(missing)} outputs missing, e.g. {missing[0]}")
    pairs = [p for p in match.pairs if p.id in wanted]
    # the real images' FID statistics are cached per test set; a partial row has its own subset
    key = protocol if not missing else f"{protocol}-{sha256_bytes(canonical_json([p.id for p in pairs]).encode())[:12]}"
    ctx = MetricContext(device=plan.device, real_stats_key=key, seed=plan.config.seed)
    with tqdm(total=len(pairs), desc=f"score {baseline} on {dataset}", unit="img", leave=False,
              disable=not distributed.world().main) as bar:
        result = score_pairs(pairs, plan.metrics, ctx, batch_size=plan.config.evaluation.batch_size,
                             size_policy="error", strict=True, progress=bar.update, registry=plan.protocol.metrics)
    return Scored(dataset, baseline, result.values, result.ids, failed=result.failed)
