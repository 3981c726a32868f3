"""A training run's folder: last.pt (resume), best.pt (the kept weights), done.json (the result).

  last.pt   (+ .sha256)  model, optimizers, schedulers, RNG states and the TrainState of the last epoch
  best.pt   (+ .sha256)  model weights of the epoch with the lowest selection 'loss'
  done.json              the final TrainResult; a later fit loads best.pt instead of training
All are written atomically; a checkpoint whose bytes do not match its sidecar is never used.
"""
from __future__ import annotations

import json
import math
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import torch

from colorbench import distributed
from colorbench.contracts import Baseline
from colorbench.files import write_text
from colorbench.hashing import recorded_sha256, remove_verified
from colorbench.training.checkpoint import (
    CorruptCheckpointError,
    load_verified,
    save_verified,
)
from colorbench.training.runtime import rng_state, set_rng_state

LAST, BEST, DONE = "last.pt", "best.pt", "done.json"
FORMAT = 2  # 2: the epoch state is one "state" entry in last.pt


@dataclass
class TrainResult:
    status: Literal["trained", "loaded", "failed"]
    reason: str
    history: list[dict] = field(default_factory=list)  # one dict per epoch
    best_epoch: int | None = None  # 0-based index into history
    epochs_run: int = 0
    seconds: float = 0.0  # training wall time (for 'loaded': the recorded training run's)
    checkpoint: str | None = None  # best.pt
    checkpoint_sha256: str | None = None
    steps_per_second: float | None = None  # optimizer steps per second of training (no validation)

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "TrainResult":
        return cls(**{k: data[k] for k in cls.__dataclass_fields__})


@dataclass
class TrainState:
    """What an epoch boundary carries forward (saved in last.pt, restored on resume)."""

    epoch: int = 0  # epochs completed
    history: list[dict] = field(default_factory=list)
    best_val: float = math.inf
    best_epoch: int | None = None
    es_ref: float = math.inf  # early stopping: the loss to improve on by min_delta
    bad_epochs: int = 0
    best_sha: str | None = None


def write_done(workdir: Path, result: TrainResult) -> None:
    write_text(workdir / DONE, json.dumps({"format": FORMAT, **result.as_dict()}, indent=2, sort_keys=True, allow_nan=True) + "\n")


def load_done(model: Baseline, workdir: Path, device: torch.device) -> TrainResult | None:
    """The recorded result if training already finished (weights loaded), else None."""
    done = workdir / DONE
    if not done.exists():
        return None
    try:
        record = TrainResult.from_dict(json.loads(done.read_text()))
    except (ValueError, KeyError, TypeError) as exc:
        warnings.warn(f"{done} unreadable ({exc}); training again")
        done.unlink(missing_ok=True)
        return None
    if record.status == "failed":  # deterministic failure: do not burn the time again
        record.reason = f"recorded failure: {record.reason}"
        return record
    try:
        payload = load_verified(workdir / BEST)
        if payload is not None and recorded_sha256(workdir / BEST) != record.checkpoint_sha256:
            raise CorruptCheckpointError(f"{workdir / BEST} is not the checkpoint {DONE} recorded")
    except CorruptCheckpointError as exc:
        warnings.warn(f"{exc}; training again")
        payload = None
    if payload is None:
        done.unlink(missing_ok=True)
        remove_verified(workdir / BEST)
        return None
    model.load_state_dict(payload["model"])
    model.to(device)
    record.status = "loaded"
    record.reason = f"loaded best checkpoint (epoch {record.best_epoch}) from {workdir / BEST}"
    return record


# `run` below is the trainer's _Run: model, optimizers, schedulers, settings, workdir.


def save_last(run, state: TrainState) -> None:
    """Written by rank 0, with every rank's RNG state (called on every rank under torchrun)."""
    rngs = distributed.gather(rng_state())
    if not distributed.world().main:
        return
    save_verified(run.workdir / LAST, {
        "format": FORMAT, "settings": asdict(run.settings), "model": run.model.state_dict(),
        "optimizers": {k: o.state_dict() for k, o in run.optimizers.items()},
        "schedulers": {k: s.state_dict() for k, s in run.schedulers.items()},
        "rng": rngs[0], "state": asdict(state), **({"rng_by_rank": rngs} if len(rngs) > 1 else {}),
    })


def resume_state(run) -> TrainState | None:
    """The state to continue from, when last.pt is intact and was written with the same settings."""
    last = run.workdir / LAST
    try:
        payload = load_verified(last)
    except CorruptCheckpointError as exc:
        warnings.warn(f"{exc}; starting from scratch")
        remove_verified(last)
        return None
    if payload is None:
        return None
    if payload.get("format") != FORMAT or payload.get("settings") != asdict(run.settings):
        warnings.warn(f"{last} was written with other settings; starting from scratch")
        return None
    state = TrainState(**payload["state"])
    if state.best_sha is not None and not best_intact(run.workdir, state.best_sha):
        warnings.warn(f"{run.workdir / BEST} is missing or corrupted, so last.pt cannot be continued; starting from scratch")
        remove_verified(last)
        return None
    run.model.load_state_dict(payload["model"])
    for k, opt in run.optimizers.items():
        opt.load_state_dict(payload["optimizers"][k])
    for k, sched in run.schedulers.items():
        sched.load_state_dict(payload["schedulers"][k])
    set_rng_state(payload.get("rng_by_rank", [payload["rng"]])[distributed.world().rank])
    return state


def best_intact(workdir: Path, digest: str) -> bool:
    try:
        return recorded_sha256(workdir / BEST) == digest and load_verified(workdir / BEST) is not None
    except CorruptCheckpointError:
        return False
