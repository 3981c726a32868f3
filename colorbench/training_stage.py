"""Build one baseline and train, load or prepare it from its training dataset."""
from __future__ import annotations

from pathlib import Path

import torch

from baselines.registry import BASELINES
from colorbench.paths import cache_dir
from colorbench.plan import BaselinePlan, Plan
from colorbench.training.checkpoint import checkpoint_key
from colorbench.training.init_from import load_init_state
from colorbench.training.trainer import TrainResult, fit
from colorbench.workspace import subset


def checkpoint_dir(bp: BaselinePlan, plan: Plan, datasets) -> Path:
    ds = datasets[bp.config.train_on]
    manifest = f"{ds.report.manifest_hash}:{plan.config.evaluation.resize}:{ds.spec.fractions()}:{ds.report.chroma_threshold}"
    key = checkpoint_key(bp.config.model_name, bp.params, bp.settings, manifest, plan.config.seed, _init_key(bp, plan, datasets))
    return cache_dir("checkpoints", f"{bp.config.model_name}-{key}")


def _init_key(bp: BaselinePlan, plan: Plan, datasets) -> str | None:
    """The source stage's checkpoint key: a retrained source invalidates the fine-tuned model."""
    if bp.config.init_from is None:
        return None
    return checkpoint_dir(_source(bp, plan), plan, datasets).name


def _source(bp: BaselinePlan, plan: Plan) -> BaselinePlan:
    name = bp.config.init_from.partition("@")[0]
    return next(b for b in plan.baselines if b.config.name == name)


def build_and_train(bp: BaselinePlan, plan: Plan, datasets) -> tuple[torch.nn.Module, TrainResult | None]:
    family = BASELINES.get(bp.config.model_name)
    torch.manual_seed(plan.config.seed)
    model = family.create(**bp.params)
    if family.prepares:
        model.prepare(subset(datasets[bp.config.train_on], "train", plan.scale.eval_size, plan.scale.max_train_images))
    if not family.learned:
        return model, None
    s = bp.settings
    ds = datasets[bp.config.train_on]
    train = subset(ds, "train", s.image_size, s.max_train_images)
    val = subset(ds, "val", s.image_size, s.max_val_images)
    workdir = checkpoint_dir(bp, plan, datasets)
    if bp.config.init_from is not None and not (workdir / "done.json").exists():
        source_dir = checkpoint_dir(_source(bp, plan), plan, datasets)
        load_init_state(model, source_dir / "best.pt")
    result = fit(model, family.objective(), train, val if len(val) else None, s, workdir, plan.device, plan.config.seed)
    return model, result
