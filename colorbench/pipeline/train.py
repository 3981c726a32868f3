"""The run's training stage: build a baseline, then prepare, train or load it from its dataset.

A learned baseline's checkpoints live in cache_dir('checkpoints', '<family>-<key>'), the key
covering the family, its parameters and resolved settings, the fingerprints of the train and
validation splits, the seed, the source checkpoint of init_from and the code
(colorbench.training.checkpoint).
"""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import torch

from colorbench import distributed
from colorbench.contracts import Baseline
from colorbench.fingerprint import split_fingerprint
from colorbench.hashing import canonical_hash
from colorbench.paths import cache_dir
from colorbench.pipeline.data import RunData, capped_split
from colorbench.plan import BaselinePlan, Plan
from colorbench.training.checkpoint import PIPELINE_CODE, checkpoint_key, code_version
from colorbench.training.init_from import load_init_state
from colorbench.training.trainer import fit
from colorbench.training.workdir import BEST, DONE, TrainResult


def training_splits(bp: BaselinePlan, data: RunData):
    ds, s = data.prepared[bp.config.train_on], bp.settings
    return capped_split(ds, "train", s.image_size, s.max_train_images), capped_split(ds, "val", s.image_size, s.max_val_images)


def checkpoint_dir(bp: BaselinePlan, plan: Plan, data: RunData) -> Path:
    ds = data.prepared[bp.config.train_on]
    train, val = training_splits(bp, data)
    fingerprints = {"train": split_fingerprint(ds, train), "val": split_fingerprint(ds, val)}
    init = checkpoint_dir(bp.init_from.baseline, plan, data).name if bp.init_from else None
    code = code_version((*PIPELINE_CODE, *bp.family.code))
    if bp.family.source is not None:  # a plug-in: its own code hash and version
        code = canonical_hash({"pipeline": code, "plugin": asdict(bp.family.source)})
    key = checkpoint_key(bp.config.model_name, bp.params, bp.settings, fingerprints, plan.config.seed, init, code,
                         distributed.world().size)
    return cache_dir("checkpoints", f"{bp.config.model_name}-{key}")


def build_and_train(bp: BaselinePlan, plan: Plan, data: RunData) -> tuple[Baseline, TrainResult | None]:
    family = bp.family
    torch.manual_seed(plan.config.seed)
    model = family.create(**bp.params)
    if family.prepares:
        model.prepare(capped_split(data.prepared[bp.config.train_on], "train", plan.scale.eval_size,
                                   plan.scale.max_train_images))
    if not family.learned:
        return model, None
    train, val = training_splits(bp, data)
    workdir = checkpoint_dir(bp, plan, data)
    if bp.init_from is not None and not (workdir / DONE).exists():
        load_init_state(model, checkpoint_dir(bp.init_from.baseline, plan, data) / BEST)
    result = fit(model, family.objective(), train, val if len(val) else None, bp.settings, workdir,
                 plan.device, plan.config.seed, progress=distributed.world().main)
    return model, result
