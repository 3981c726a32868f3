"""Builds the run's provenance document (run.json) from the plan and what each stage did."""
from __future__ import annotations

from colorbench.document import BaselineDocument, RunDocument
from colorbench.pipeline.data import RunData, dataset_document, grid_ids
from colorbench.plan import BaselinePlan, Plan
from colorbench.typed import to_dict


def run_document(plan: Plan, data: RunData, outcomes, env: dict, run_id: str, warnings: dict[str, list[str]],
                 seconds: float) -> RunDocument:
    from colorbench import weights

    k, seed = plan.config.evaluation.grid_images, plan.config.seed
    ev = plan.config.evaluation
    datasets = {name: dataset_document(ds, data.test_ids[name], data.protocols[name],
                                       grid_ids(data.test_ids[name], seed, k), warnings.get(name, []))
                for name, ds in data.prepared.items()}
    return RunDocument(
        run_id=run_id, config_path=plan.config_path, config=to_dict(plan.config), scale=plan.scale_name,
        scale_settings=to_dict(plan.scale), device=str(plan.device), seed=seed,
        evaluation={"eval_size": plan.scale.eval_size, "resize": ev.resize, "chroma_threshold": ev.chroma_threshold,
                    "metrics": plan.metrics, "batch_size": ev.batch_size, "protocol": ev.protocol,
                    "protocol_source": plan.protocol.source},
        datasets=datasets, baselines={o.name: baseline_document(o, plan.baseline(o.name)) for o in outcomes},
        environment=env, weights=weights.manifest(), timings={"total": seconds},
    )


def baseline_document(o, bp: BaselinePlan) -> BaselineDocument:
    from dataclasses import asdict

    from baselines.registry import BASELINES

    source = bp.family.source if bp.family is not None else None
    if bp.outputs is not None:
        model, description = "", f"precomputed outputs from {bp.outputs}"
    else:
        model = bp.config.model_name
        description = BASELINES.entry(model).description if model in BASELINES else f"plug-in: {source.describe()}"
    return BaselineDocument(
        status=o.status, role=o.role, model=model, description=description,
        reason=o.reason, info=o.info, config=to_dict(bp.config), params=dict(bp.params),
        source=asdict(source) if source else None, outputs=o.info.get("outputs"),
        settings=to_dict(bp.settings) if bp.settings else None,
        settings_origin=dict(bp.resolved.origin) if bp.resolved else None,
        train=o.train.as_dict() if o.train is not None else None,
        init_from=bp.config.init_from, evaluate_on=list(bp.evaluate_on), seconds=dict(o.seconds),
    )
