"""Checkpoint identity (checkpoint_key) and verified checkpoint files.

checkpoint_key hashes a canonical JSON of everything that changes a trained model: the family,
its model parameters, every TrainSettings field, the fingerprints of the train and validation
splits it saw (colorbench.fingerprint: content, hygiene, selection, size), the seed, the key of
the checkpoint it started from, and a code version: the source of every module the family
declares (BaselineFamily.code) and of PIPELINE_CODE, the modules that turn files into training
batches and train on them, with the colorbench and torch versions. Editing any of them retrains
(by design: a stale checkpoint silently reused is worse than a retrain).

Every checkpoint file `X.pt` has a sidecar `X.pt.sha256` (colorbench.hashing); load_verified()
refuses a file whose bytes do not match it, and the trainer then falls back or restarts.
"""
from __future__ import annotations

import dataclasses
import hashlib
import importlib
import io
from pathlib import Path

import torch

import colorbench
from colorbench.contracts import TrainSettings
from colorbench.hashing import (
    CorruptFileError,
    canonical_hash,
    read_verified,
    write_verified,
)

KEY_LENGTH = 16  # hex characters of the SHA-256 kept in directory names
CorruptCheckpointError = CorruptFileError

# Decoding, resizing, colour conversion, the contracts and the trainer: what every learned
# baseline's training batches and updates go through.
PIPELINE_CODE = (
    "colorbench.contracts", "colorbench.color", "colorbench.imageio", "colorbench.data.readers",
    "colorbench.data.resize", "colorbench.data.dataset", "colorbench.training.augment",
    "colorbench.training.trainer", "colorbench.training.checkpoint", "colorbench.training.objectives",
    "colorbench.training.parallel", "colorbench.distributed",
)


def module_source(name: str) -> bytes:
    module = importlib.import_module(name)
    return Path(module.__file__).read_bytes()


def code_version(modules) -> str:
    """SHA-256 over the named modules' sources (sorted by name) and the colorbench and torch versions."""
    digest = hashlib.sha256()
    for name in sorted(set(modules)):
        digest.update(name.encode() + b"\0" + module_source(name) + b"\0")
    digest.update(f"colorbench {colorbench.__version__} torch {torch.__version__}".encode())
    return digest.hexdigest()


def checkpoint_key(family: str, params: dict, settings: TrainSettings, data: dict[str, str], seed: int,
                   init_from: str | None, code: str, world_size: int = 1) -> str:
    """`data`: {split: fingerprint} of the splits trained on; `code`: code_version(...) of the family;
    world_size: the ranks trained on (per-rank batches and BatchNorm statistics change the numbers;
    1 adds nothing, so one-process keys are those of earlier versions)."""
    record = {
        "family": family, "params": params, "settings": dataclasses.asdict(settings), "data": data,
        "seed": int(seed), "init_from": init_from, "code": code,
        **({"world_size": int(world_size)} if world_size > 1 else {}),
    }
    return canonical_hash(record)[:KEY_LENGTH]


def save_verified(path: Path, payload: dict) -> str:
    """torch.save atomically, then the sidecar; returns the file's SHA-256. A crash between the two
    leaves a mismatch, which load_verified reports as corrupt."""
    return write_verified(path, lambda fh: torch.save(payload, fh))


def load_verified(path: Path) -> dict | None:
    """The payload, or None if the file does not exist; CorruptCheckpointError on a mismatch."""
    data = read_verified(path)
    if data is None:
        return None
    # weights_only: a checkpoint is data (tensors, numbers, strings), never code
    return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
