"""Initialise a model from another trained stage's checkpoint (seed 003's transfer learning:
train on a source domain, fine-tune on a target domain with fresh optimizers).

Only the weights travel: optimizer state, epoch counters and schedules start fresh, and the new
stage uses its own TrainSettings. The load is strict: every parameter and buffer of the model
must be in the checkpoint with the same shape and nothing else may be there, so a changed
architecture or model parameter fails loudly instead of fine-tuning a half-random network.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from colorbench.errors import ConfigError
from colorbench.hashing import sidecar
from colorbench.training.checkpoint import load_verified

_LISTED = 5  # names shown per kind of mismatch


def _state_of(payload: dict) -> dict[str, torch.Tensor]:
    """The model state_dict inside a checkpoint payload ({'model': ...}) or a bare state_dict."""
    for key in ("model", "state_dict"):
        if isinstance(payload.get(key), dict):
            return payload[key]
    if payload and all(isinstance(v, torch.Tensor) for v in payload.values()):
        return payload
    raise ValueError(f"no model state_dict in checkpoint (top-level keys: {sorted(payload)[:10]})")


def _names(keys: list[str]) -> str:
    shown = ", ".join(keys[:_LISTED])
    return shown + (f" (+{len(keys) - _LISTED} more)" if len(keys) > _LISTED else "")


def state_mismatches(model: nn.Module, state: dict[str, torch.Tensor]) -> list[str]:
    """Human-readable differences between a model's state_dict and `state`; empty if loadable."""
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = sorted(k for k in set(own) & set(state) if tuple(own[k].shape) != tuple(state[k].shape))
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing from the checkpoint: {_names(missing)}")
    if unexpected:
        problems.append(f"{len(unexpected)} not in the model: {_names(unexpected)}")
    if shapes:
        detail = [f"{k} {tuple(state[k].shape)} vs {tuple(own[k].shape)}" for k in shapes]
        problems.append(f"{len(shapes)} with different shapes (checkpoint vs model): {_names(detail)}")
    return problems


def load_init_state(model: nn.Module, checkpoint_path: str | Path, key: str = "init_from",
                    verified: bool = True) -> None:
    """Copy a checkpoint's weights into `model` (strict); ConfigError(key) names mismatches.

    verified: the file must match its SHA-256 sidecar (colorbench's own checkpoints); a user's
    file without a sidecar is read as data (weights_only) when verified is False.
    """
    path = Path(checkpoint_path)
    if verified or sidecar(path).exists():
        payload = load_verified(path)  # CorruptCheckpointError if the bytes do not match the sidecar
    else:
        payload = torch.load(path, map_location="cpu", weights_only=True) if path.exists() else None
    if payload is None:
        raise ConfigError(str(path), key, "no checkpoint here: train the source stage first")
    try:
        state = _state_of(payload)
    except (ValueError, AttributeError) as exc:
        raise ConfigError(str(path), key, f"not a checkpoint: {exc}") from None
    problems = state_mismatches(model, state)
    if problems:
        raise ConfigError(str(path), key, f"checkpoint does not fit {type(model).__name__}: " + "; ".join(problems))
    model.load_state_dict(state, strict=True)
