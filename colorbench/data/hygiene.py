"""Hygiene: which images are unfit as colorization ground truth, and why. Nothing is dropped silently.

An image is excluded, in this order of reasons:
  unreadable      the reader raised UnreadableImage (or strict=True turns this into DataError);
  grayscale-mode  its PIL mode is a single-channel one (1, L, LA, I, I;16*, F);
  equal-channels  decoded R == G == B at every pixel (a gray image saved as RGB/palette);
  low-chroma      mean chroma < chroma_threshold, where chroma = sqrt(a^2 + b^2) in CIELAB
                  (colorbench.color.rgb_to_lab, D65) averaged over all pixels at full resolution.

Default threshold 1.0 (colorbench.data.spec.DEFAULT_CHROMA_THRESHOLD), from the imagenet-samples
distribution: 977 RGB files; 3 are black-and-white photos stored as colour JPEGs with mean chroma
0.00-0.11 (JPEG chroma noise, one with a small colour logo); the next lowest is 1.12, a brown beetle
on white, and everything from there up (espresso maker 1.22, a selective-colour plunger 1.58,
snow scenes, white appliances ~2-6) is a genuine colour photo of a muted subject, checked by
eye. A threshold in the gap (0.11, 1.12) removes the gray ones without biasing the set towards
saturated scenes; 2.0 would drop 7 real colour photos.

Measurements (mode, equal channels, chroma) are cached in cache_dir('hygiene') per (manifest
hash, reader key, HYGIENE_VERSION); the threshold is applied afterwards, so changing it needs no
rescan. Unreadable results are not cached (they may be transient) and are re-read every time.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from colorbench.color import rgb_to_lab
from colorbench.files import atomic_write_bytes
from colorbench.hashing import sha256_bytes
from colorbench.imageio import UnreadableImage
from colorbench.paths import cache_dir

from .manifest import ImageRecord

HYGIENE_VERSION = 1  # bump when a measurement changes meaning; old cache files are then ignored
GRAY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"})
REASONS = ("unreadable", "grayscale-mode", "equal-channels", "low-chroma")
_SLAB_PIXELS = 1 << 20  # bounds memory for very large images


@dataclass(frozen=True)
class Measurement:
    id: str
    mode: str | None = None
    equal_channels: bool = False
    chroma: float | None = None
    error: str | None = None  # set when the image could not be read


@dataclass(frozen=True)
class Exclusion:
    id: str
    reason: str  # one of REASONS
    detail: str


def mean_chroma(rgb: np.ndarray) -> float:
    """Mean CIELAB chroma of an (H, W, 3) sRGB array in [0, 1]."""
    pixels = torch.from_numpy(np.ascontiguousarray(rgb, dtype=np.float32)).reshape(-1, 3)
    total = 0.0
    for start in range(0, pixels.shape[0], _SLAB_PIXELS):
        slab = pixels[start : start + _SLAB_PIXELS].T.reshape(1, 3, -1, 1)
        ab = rgb_to_lab(slab)[:, 1:]
        total += float(ab.square().sum(dim=1).sqrt().double().sum())
    return total / max(pixels.shape[0], 1)


def measure(record: ImageRecord, reader) -> Measurement:
    try:
        rgb, mode = reader(record)
    except UnreadableImage as exc:
        return Measurement(record.id, error=str(exc))
    equal = bool(np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 1], rgb[..., 2]))
    return Measurement(record.id, mode, equal, 0.0 if equal else mean_chroma(rgb))


def exclusion(m: Measurement, chroma_threshold: float) -> Exclusion | None:
    if m.error is not None:
        return Exclusion(m.id, "unreadable", m.error)
    if m.mode in GRAY_MODES:
        return Exclusion(m.id, "grayscale-mode", f"PIL mode {m.mode}")
    if m.equal_channels:
        return Exclusion(m.id, "equal-channels", f"R == G == B everywhere (PIL mode {m.mode})")
    if m.chroma is not None and m.chroma < chroma_threshold:
        return Exclusion(m.id, "low-chroma", f"mean chroma {m.chroma:.3f} < {chroma_threshold:g}")
    return None


class _Measuring(Dataset):
    def __init__(self, records: list[ImageRecord], reader):
        self.records, self.reader = records, reader

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, i: int) -> Measurement:
        return measure(self.records[i], self.reader)


def _cache_path(manifest_hash: str, reader_key: str) -> Path:
    reader = sha256_bytes(reader_key.encode())[:12]
    return cache_dir("hygiene") / f"{manifest_hash[:32]}-{reader}-v{HYGIENE_VERSION}.json"


def _load_cache(path: Path, manifest_hash: str, reader_key: str) -> dict[str, Measurement]:
    try:
        data = json.loads(path.read_text())
        if data["manifest_hash"] != manifest_hash or data["reader"] != reader_key or data["version"] != HYGIENE_VERSION:
            return {}
        return {i: Measurement(i, mode, bool(eq), float(c)) for i, (mode, eq, c) in data["measurements"].items()}
    except (OSError, ValueError, KeyError, TypeError):
        return {}  # absent or damaged: measure again


def _save_cache(path: Path, manifest_hash: str, reader_key: str, ms: dict[str, Measurement]) -> None:
    good = {i: [m.mode, m.equal_channels, m.chroma] for i, m in sorted(ms.items()) if m.error is None}
    payload = {"manifest_hash": manifest_hash, "reader": reader_key, "version": HYGIENE_VERSION, "measurements": good}
    data = json.dumps(payload).encode("utf-8")
    try:
        atomic_write_bytes(path, lambda fh: fh.write(data))
    except OSError:
        pass  # a read-only cache only costs time


def _identity(m: Measurement) -> Measurement:
    return m  # module-level so DataLoader workers can pickle it under the spawn start method


def _workers(n: int) -> int:
    # Worker start-up costs ~0.1 s each; only worth it for more than a handful of images.
    return 0 if n < 32 else min(4, os.cpu_count() or 1)


def measure_all(records: tuple[ImageRecord, ...], reader, manifest_hash: str, label: str,
                progress: bool = True) -> dict[str, Measurement]:
    """Measurements for every record, from the cache where possible."""
    path = _cache_path(manifest_hash, reader.key)
    found = _load_cache(path, manifest_hash, reader.key)
    todo = [r for r in records if r.id not in found]
    if todo:
        workers = _workers(len(todo))
        loader = DataLoader(_Measuring(todo, reader), batch_size=None, num_workers=workers, collate_fn=_identity)
        threads = torch.get_num_threads()
        if workers == 0:
            torch.set_num_threads(1)  # per-image tensors are small; extra threads measured 4x slower
        try:
            for m in tqdm(loader, total=len(todo), desc=f"hygiene {label}", unit="img", disable=not progress):
                found[m.id] = m
        finally:
            torch.set_num_threads(threads)
        if any(m.error is None for m in (found[r.id] for r in todo)):
            _save_cache(path, manifest_hash, reader.key, found)
    return {r.id: found[r.id] for r in records}
