"""torchvision-backed sets (Flowers102, CIFAR10, STL10, CelebA, Places365).

Files live in dataset.root or cache_dir('datasets', 'torchvision', <name>). torchvision is asked for
an existing copy first (download=False); only if that fails and dataset.download is true is it
asked to download. Either failure becomes a DataError naming the set, split and folder.

Records are '<split>/<index:06d>' with path = the dataset folder; categories are not derived.
The manifest hash identifies the set by torchvision class, split and length, not by content
(torchvision checks its archives' MD5 when it downloads them).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from colorbench.errors import DataError
from colorbench.hashing import sha256_bytes
from colorbench.paths import cache_dir

from .manifest import ImageRecord
from .sources import ResolvedSource
from .spec import DatasetConfig


@dataclass(frozen=True)
class TorchvisionSet:
    name: str
    class_name: str
    splits: tuple[str, ...]
    default_split: str  # the set's evaluation split
    description: str

    def construct(self, root: Path, split: str, download: bool) -> Any:
        import torchvision.datasets as tvd  # deferred: importing torchvision costs ~1 s

        cls = getattr(tvd, self.class_name)
        if self.class_name == "CIFAR10":
            return cls(str(root), train=split == "train", download=download)
        if self.class_name == "Places365":
            return cls(str(root), split=split, small=True, download=download)  # 256x256 version
        if self.class_name == "CelebA":
            return cls(str(root), split=split, target_type=[], download=download)
        return cls(str(root), split=split, download=download)


TORCHVISION_SETS: dict[str, TorchvisionSet] = {
    s.name: s
    for s in (
        TorchvisionSet("flowers102", "Flowers102", ("train", "val", "test"), "test",
                       "torchvision Oxford Flowers102 (needs internet or a copy in the cache)"),
        TorchvisionSet("cifar10", "CIFAR10", ("train", "test"), "test",
                       "torchvision CIFAR-10, 32x32 (needs internet or a copy in the cache)"),
        TorchvisionSet("stl10", "STL10", ("train", "test", "unlabeled"), "test",
                       "torchvision STL-10, 96x96 (needs internet or a copy in the cache)"),
        TorchvisionSet("celeba", "CelebA", ("train", "valid", "test"), "test",
                       "torchvision CelebA faces (needs internet or a copy in the cache)"),
        TorchvisionSet("places365", "Places365", ("train-standard", "train-challenge", "val"), "val",
                       "torchvision Places365, small 256x256 images (needs internet or a copy in the cache)"),
    )
}


@dataclass(frozen=True)
class TorchvisionReader:
    dataset: Any = field(compare=False, repr=False)
    name: str = ""
    split: str = ""

    @property
    def key(self) -> str:
        return f"torchvision:{self.name}:{self.split}"

    def __call__(self, record: ImageRecord) -> tuple[np.ndarray, str]:
        image = self.dataset[int(record.id.rpartition("/")[2])][0]
        mode = image.mode
        return np.asarray(image.convert("RGB"), dtype=np.float64) / 255.0, mode


def open_torchvision(tv: TorchvisionSet, dataset: DatasetConfig) -> tuple[Any, Path, str]:
    split = dataset.upstream_split or tv.default_split
    if split not in tv.splits:
        raise DataError(f"{tv.name}: upstream_split must be one of {tv.splits}, got {split!r}")
    root = Path(dataset.root).expanduser() if dataset.root else cache_dir("datasets", "torchvision", tv.name)
    try:
        return tv.construct(root, split, download=False), root, split
    except (RuntimeError, OSError) as exc:
        absent = f"torchvision {tv.class_name} (split {split!r}) is not in {root}: {exc}"
    if not dataset.download:
        raise DataError(f"{tv.name}: {absent}; downloading is disabled")
    try:
        return tv.construct(root, split, download=True), root, split
    except Exception as exc:  # torchvision raises many kinds (URLError, RuntimeError, HTTP errors...)
        raise DataError(
            f"{tv.name}: {absent}; downloading it failed ({type(exc).__name__}: {exc}). "
            f"Offline, put the files torchvision.datasets.{tv.class_name} expects into {root}"
        ) from None


def resolve_torchvision(tv: TorchvisionSet, dataset: DatasetConfig, progress: bool = True) -> ResolvedSource:
    dataset, root, split = open_torchvision(tv, dataset)
    n = len(dataset)
    records = tuple(ImageRecord(f"{split}/{i:06d}", root) for i in range(n))
    identity = sha256_bytes(f"torchvision\t{tv.class_name}\t{split}\t{n}\n".encode())
    return ResolvedSource(records, identity, f"torchvision:{root}", TorchvisionReader(dataset, tv.name, split))
