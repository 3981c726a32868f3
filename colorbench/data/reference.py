"""Named reference sets (imagenet-samples, kodak24, mcmaster, cbsd68) with shipped manifests.

Lookup order: dataset.root if given (only there); else $COLORBENCH_DATA/<name>/ if that folder
exists; else cache_dir('datasets')/<name>/, downloading whatever is missing (unless
dataset.download is false). Records come from the shipped manifest, so extra files in a folder are
ignored and the manifest hash is the manifest's own (no hashing needed). Local folders are
checked for presence of every listed file; dataset.verify_hashes also checks their SHA-256.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from tqdm import tqdm

from colorbench.errors import DataError
from colorbench.hashing import sha256_file
from colorbench.paths import cache_dir, data_root

from .download import download_missing
from .manifest import manifest_hash, parse_manifest
from .readers import FileReader
from .sources import ResolvedSource, make_records
from .spec import DatasetConfig

DOWNLOAD_BASE_ENV = "COLORBENCH_DOWNLOAD_BASE"


@dataclass(frozen=True)
class ReferenceSet:
    name: str
    repository: str
    commit: str
    path: str  # folder inside the repository; "" for its root
    description: str

    def upstream_url(self) -> str:
        path = f"/{self.path.strip('/')}" if self.path.strip("/") else ""
        return f"https://raw.githubusercontent.com/{self.repository}/{self.commit}{path}"


REFERENCE_SETS: dict[str, ReferenceSet] = {
    s.name: s
    for s in (
        ReferenceSet(
            "imagenet-samples", "EliSchwartz/imagenet-sample-images", "bc69043e2862758a1906c6a24a792bb28c6bb2ff", "",
            "1000 ImageNet-1k JPEGs, one per class (<wnid>_<class>.JPEG); includes grayscale ones",
        ),
        ReferenceSet(
            "kodak24", "cszn/IRCNN", "d9dcd537bdac3ae5b753296cd675db8a303c8f72", "testsets/Set24",
            "24 Kodak PhotoCD PNGs, 768x512",
        ),
        ReferenceSet(
            "mcmaster", "cszn/FFDNet", "e787f46df2f374ff3591186706229cb9a0591fea", "testsets/McMaster",
            "18 McMaster demosaicing TIFFs, 500x500, highly saturated",
        ),
        ReferenceSet(
            "cbsd68", "cszn/FFDNet", "e787f46df2f374ff3591186706229cb9a0591fea", "testsets/CBSD68",
            "68 colour BSD test PNGs, 481x321",
        ),
    )
}


@lru_cache(maxsize=None)
def shipped_manifest(name: str) -> dict[str, str]:
    """{file name: sha256} from colorbench/data/manifests/<name>.sha256."""
    text = resources.files("colorbench.data").joinpath("manifests", f"{name}.sha256").read_text("utf-8")
    return parse_manifest(text, f"manifests/{name}.sha256")


def download_base(ref: ReferenceSet, dataset: DatasetConfig) -> str:
    """dataset.download_base, else $COLORBENCH_DOWNLOAD_BASE (a mirror with one folder per set), else upstream."""
    mirror = dataset.download_base or os.environ.get(DOWNLOAD_BASE_ENV)
    return f"{mirror.rstrip('/')}/{ref.name}" if mirror else ref.upstream_url()


def _require_present(folder: Path, files: dict[str, str], label: str, where: str) -> None:
    missing = [n for n in sorted(files) if not (folder / n).is_file()]
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise DataError(f"{label}: {len(missing)} of {len(files)} manifest files missing from {folder} ({where}): {shown}")


def _verify_hashes(folder: Path, files: dict[str, str], label: str, progress: bool) -> None:
    bad = [n for n in tqdm(sorted(files), desc=f"verify {label}", unit="file", disable=not progress)
           if sha256_file(folder / n) != files[n]]
    if bad:
        raise DataError(f"{label}: {len(bad)} files in {folder} do not match the manifest SHA-256: {', '.join(bad[:5])}")


def locate(ref: ReferenceSet, dataset: DatasetConfig, progress: bool) -> tuple[Path, str]:
    """(folder holding a complete copy, how it was found)."""
    files = shipped_manifest(ref.name)
    if dataset.root is not None:
        folder, where = Path(dataset.root).expanduser(), "root"
        _require_present(folder, files, ref.name, "the root given in the dataset config")
    elif (env := data_root()) is not None and (env / ref.name).is_dir():
        folder, where = env / ref.name, "COLORBENCH_DATA"
        _require_present(folder, files, ref.name, "$COLORBENCH_DATA")
    else:
        folder, where = cache_dir("datasets") / ref.name, "cache"
        if not dataset.download:
            _require_present(folder, files, ref.name, "cache; downloading is disabled")
        elif download_missing(download_base(ref, dataset), files, folder, ref.name, progress):
            where = "downloaded"
    if dataset.verify_hashes:
        _verify_hashes(folder, files, ref.name, progress)
    return folder, where


def resolve_reference(ref: ReferenceSet, dataset: DatasetConfig, progress: bool = True) -> ResolvedSource:
    folder, where = locate(ref, dataset, progress)
    files = shipped_manifest(ref.name)
    records = make_records(folder, sorted(files), dataset, ref.name)
    return ResolvedSource(records, manifest_hash(files), f"{where}:{folder}", FileReader())
