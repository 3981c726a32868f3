"""Checkpoint identity (checkpoint_key) and verified, atomic checkpoint files.

checkpoint_key hashes a canonical JSON of everything that changes a trained model:
family, model params, every TrainSettings field, the data manifest id, the seed, the init
checkpoint, and a *code version* = SHA-256 over the source bytes of
  - the module defining the family's create() and the module defining its objective factory,
  - every module of colorbench.training (trainer, objectives, augment, settings, ...),
  - colorbench/color.py, baselines/base.py, baselines/common.py, baselines/backbones.py,
plus the colorbench and torch versions. Editing any of those files retrains (by design:
a stale checkpoint silently reused is worse than a retrain).

Every checkpoint file `X.pt` has a sidecar `X.pt.sha256`; load_verified() refuses a file whose
bytes do not match it (CorruptCheckpointError), and the trainer then falls back or restarts.
"""
from __future__ import annotations

import dataclasses
import hashlib
import importlib
import io
import json
from pathlib import Path

import torch

import colorbench
from colorbench.files import atomic_write_bytes
from colorbench.training.settings import TrainSettings

KEY_LENGTH = 16  # hex characters of the SHA-256 kept in directory names
_ROOT = Path(__file__).resolve().parents[2]
_SHARED_CODE = ("colorbench/color.py", "baselines/base.py", "baselines/common.py", "baselines/backbones.py", "baselines/adversarial.py")


class CorruptCheckpointError(RuntimeError):
    """A checkpoint whose bytes do not match its recorded SHA-256 (or with no record)."""


def _module_file(module_name: str) -> Path:
    return Path(importlib.import_module(module_name).__file__).resolve()


def _family_files(family: str) -> list[Path]:
    from baselines.registry import BASELINES  # lazy: baselines.registry imports the trainer package

    entry = BASELINES.get(family)
    files = [_module_file(entry.create.__module__)]
    if entry.objective is not None:
        files.append(_module_file(entry.objective.__module__))
    return files


def code_files(family: str) -> list[Path]:
    training = sorted(Path(__file__).resolve().parent.glob("*.py"))
    shared = [_ROOT / p for p in _SHARED_CODE]
    return sorted(set(_family_files(family) + training + shared))


def code_version(family: str) -> str:
    h = hashlib.sha256()
    for path in code_files(family):
        rel = path.relative_to(_ROOT) if path.is_relative_to(_ROOT) else path.name
        h.update(str(rel).encode() + b"\0" + path.read_bytes() + b"\0")
    h.update(f"colorbench {colorbench.__version__} torch {torch.__version__}".encode())
    return h.hexdigest()


def canonical_json(obj) -> str:
    """Sorted keys, no whitespace, tuples as lists; anything not JSON-native raises TypeError."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)


def checkpoint_key(family: str, params: dict, settings: TrainSettings, data_manifest: str, seed: int,
                   init_from: str | None) -> str:
    record = {
        "family": family,
        "params": params,
        "settings": dataclasses.asdict(settings),
        "data_manifest": data_manifest,
        "seed": int(seed),
        "init_from": init_from,
        "code": code_version(family),
    }
    return hashlib.sha256(canonical_json(record).encode()).hexdigest()[:KEY_LENGTH]


def sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def save_verified(path: Path, payload: dict) -> str:
    """torch.save atomically, then write the sidecar; returns the file's SHA-256.
    A crash between the two leaves a mismatch, which load_verified reports as corrupt."""
    buf = io.BytesIO()
    torch.save(payload, buf)
    data = buf.getvalue()
    digest = hashlib.sha256(data).hexdigest()
    atomic_write_bytes(path, lambda fh: fh.write(data))
    atomic_write_bytes(sidecar(path), lambda fh: fh.write(f"{digest}  {path.name}\n".encode()))
    return digest


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def load_verified(path: Path) -> dict | None:
    """The payload, or None if the file does not exist; CorruptCheckpointError on a mismatch."""
    if not path.exists():
        return None
    side = sidecar(path)
    if not side.exists():
        raise CorruptCheckpointError(f"{path}: no SHA-256 sidecar {side.name}")
    expected = side.read_text().split()[0] if side.read_text().strip() else ""
    actual = file_sha256(path)
    if actual != expected:
        raise CorruptCheckpointError(f"{path}: SHA-256 {actual[:16]}... != recorded {expected[:16]}...")
    # weights_only: a checkpoint is data (tensors, numbers, strings), never code
    return torch.load(path, map_location="cpu", weights_only=True)
