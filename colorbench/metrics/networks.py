"""The one cache of loaded feature networks (pytorch-fid's Inception, the protocols' Inception and
LPIPS-VGG): built once per (name, weights' SHA-256, device) and shared by every metric that uses
it. The scoring engine drops them all once the last batch is scored: computing the values needs
none of them (0.1-0.15 GB of FID's compute: `score --protocol ct2`'s Inception and VGG).
"""
from __future__ import annotations

from typing import Callable

import torch

from colorbench import weights

_CACHE: dict[tuple[str, str, str], torch.nn.Module] = {}


def cached(name: str, weights_name: str, device: torch.device, build: Callable[[], torch.nn.Module]) -> torch.nn.Module:
    """The network `name` on `device` from the registered weights `weights_name`; one per name, so
    a substituted weight file (--weights-file) replaces the cached network instead of joining it."""
    key = (name, weights.sha256(weights_name), str(device))
    if key not in _CACHE:
        for old in [k for k in _CACHE if k[0] == name]:
            del _CACHE[old]
        _CACHE[key] = build()
    return _CACHE[key]


def release() -> None:
    """Drop every cached network (they are rebuilt on the next use)."""
    _CACHE.clear()
