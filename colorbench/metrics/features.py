"""Inception features for FID and KID, apart from the distances (as clean-fid's features.py), and
the cache of the real images' statistics.

Features: pytorch-fid's InceptionV3([3]) with its defaults (colorbench weights 'inception-fid'):
the [0, 1] RGB batches are resized inside the model to 299x299 (bilinear, align_corners=False)
and scaled to [-1, 1]. pytorch-fid's own CLI reads files with PIL and ToTensor, i.e. uint8/255
as float32, which is what our decoded PNGs are, so features equal pytorch-fid's for the same files
to float32 rounding (2e-6 relative: the batch norms are folded into the convolutions, for speed).

The statistics cache is keyed by every setting that changes the number: the real set's key
(the run's test-split fingerprint), the Inception weights' SHA-256 and the feature dimension.
Files are verified with colorbench.hashing's sidecar; a damaged one is rebuilt, never used.
"""
from __future__ import annotations

import io
import re
import warnings
from pathlib import Path

import torch

from colorbench import weights
from colorbench.hashing import (
    CorruptFileError,
    read_verified,
    remove_verified,
    sha256_bytes,
    write_verified,
)
from colorbench.metrics import networks
from colorbench.metrics.memo import memo
from colorbench.paths import cache_dir

DIM = 2048
# Images per Inception forward, in channels_last. On a 2-core CPU, per image and peak RSS of the
# activations: 30-34 ms and +123-129 MB at 4, 33-35 ms and +207 MB at 8, 34-38 ms and +81-93 MB
# at 2 (bitwise the same features at any size); 120 ms contiguous at 16.
_CHUNK = 4


def fold_batch_norms(model: torch.nn.Module) -> torch.nn.Module:
    """Each of Inception's conv + eval-mode batch norm pairs (torchvision's BasicConv2d) as one conv.

    The same affine map with the scale and shift in the conv's weights and bias: a quarter less
    time on the CPU, features equal to 2e-6 relative (float32 rounding; tests/test_metric_fid.py).
    """
    from torch.nn.utils.fusion import fuse_conv_bn_eval
    from torchvision.models.inception import BasicConv2d

    for block in model.modules():
        if isinstance(block, BasicConv2d) and isinstance(block.bn, torch.nn.BatchNorm2d):
            block.conv = fuse_conv_bn_eval(block.conv, block.bn)
            block.bn = torch.nn.Identity()
    return model


def _extractor(device: torch.device) -> torch.nn.Module:
    def build() -> torch.nn.Module:
        return fold_batch_norms(weights.load_fid_inception(device).eval()).to(memory_format=torch.channels_last)

    return networks.cached("fid-inception", "inception-fid", device, build)


def inception_features(images: torch.Tensor, device: torch.device) -> torch.Tensor:
    """(N, 2048) float32 CPU features; fid and kid fed the same unchanged tensor share one pass."""
    if images.ndim != 4 or images.shape[1] != 3 or not images.is_floating_point():
        raise ValueError(f"FID/KID want (N, 3, H, W) float RGB in [0, 1], got {tuple(images.shape)}")

    def forward(x: torch.Tensor) -> torch.Tensor:
        if not len(x):
            return torch.zeros(0, DIM)
        model = _extractor(device)
        return torch.cat([model(chunk.to(device, torch.float32).contiguous(memory_format=torch.channels_last)).cpu()
                          for chunk in x.split(_CHUNK)])

    return memo(f"inception:{device}", images, forward)


def stats_cache_path(real_stats_key: str, weights_sha256: str) -> Path:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", real_stats_key)[:80]
    digest = sha256_bytes(f"{real_stats_key}\n{weights_sha256}\n{DIM}".encode())[:24]
    return cache_dir("fid-stats") / f"{slug}--w{weights_sha256[:12]}-d{DIM}-{digest}.pt"


def load_stats(path: Path, key: str, weights_sha256: str) -> dict | None:
    """The cached real statistics, or None (and the bad files removed) if absent or damaged."""
    try:
        payload = read_verified(path)
        if payload is None:
            return None
        stats = torch.load(io.BytesIO(payload), map_location="cpu", weights_only=True)
        n = int(stats["n"])
        ok = (stats["key"] == key and stats["weights_sha256"] == weights_sha256
              and stats["mu"].shape == (DIM,) and stats["sigma"].shape == (DIM, DIM)
              and stats["features"].shape == (n, DIM) and n >= 2)
        if not ok:
            raise ValueError("contents do not match the key, weights or shapes")
        return stats
    except (CorruptFileError, Exception) as exc:  # any unreadable or inconsistent file is rebuilt
        warnings.warn(f"ignoring and rebuilding damaged FID statistics cache {path}: {exc}")
        remove_verified(path)
        return None


def save_stats(path: Path, stats: dict) -> None:
    write_verified(path, lambda fh: torch.save(stats, fh))  # streamed: no second copy in memory
