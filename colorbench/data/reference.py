"""Named reference sets (imagenet-samples, kodak24, mcmaster, cbsd68) with shipped manifests, and
the published protocols' test sets (imagenet-val5k, imagenet-ctest10k, ade20k-val), listed by name.

Listed sets (LISTED_SETS) are never shipped or downloaded: the user points
$COLORBENCH_DATA/<name>/ (or the dataset's root) at a copy of the upstream files; colorbench
checks the names against the list, and a listed file that is missing is reported (unreadable, so
`--strict` exits 4). Their manifest hash covers the files found (SHA-256) and the missing names.

Reference set lookup order: dataset.root if given (only there); else $COLORBENCH_DATA/<name>/ if that folder
exists; else cache_dir('datasets')/<name>/, downloading whatever is missing (unless
dataset.download is false). Records come from the shipped manifest, so extra files in a folder are
ignored and the manifest hash is the manifest's own (no hashing needed). Local folders are
checked for presence of every listed file; dataset.verify_hashes also checks their SHA-256.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache, partial
from importlib import resources
from pathlib import Path
from typing import Callable

import numpy as np
from tqdm import tqdm

from colorbench.errors import DataError
from colorbench.hashing import sha256_file
from colorbench.imageio import UnreadableImage, load_rgb_array
from colorbench.paths import cache_dir, data_root

from .download import download_missing
from .hashcache import hash_files
from .manifest import ImageRecord, manifest_hash, parse_manifest
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


# --- the published protocols' test sets, listed by name --------------------------------------


@dataclass(frozen=True)
class CT2Prepared:
    """CT2's test images (segm/data/coco.py COCODataset.get_img, split 'val'): PIL's RGB of the
    file (no EXIF rotation), torchvision CenterCrop to the short side, then Resize(256) (PIL
    bilinear). A missing file is unreadable (listed; --strict exits 4)."""

    size: int = 256
    key: str = "ct2-centre-crop-256"

    def __call__(self, record: ImageRecord) -> tuple[np.ndarray, str]:
        from PIL import Image
        from torchvision.transforms import functional as TF

        if not record.path.is_file():
            raise UnreadableImage(f"listed, not found: {record.path}")
        try:
            with Image.open(record.path) as img:
                mode, rgb = img.mode, img.convert("RGB")
        except (OSError, SyntaxError, ValueError) as exc:
            raise UnreadableImage(f"{type(exc).__name__}: {exc}") from None
        square = TF.center_crop(rgb, [min(rgb.size)] * 2)
        return np.asarray(TF.resize(square, self.size), dtype=np.float64) / 255.0, mode


@dataclass(frozen=True)
class ListedFiles:
    """Files read as they are (FileReader); a missing one is unreadable, not a crash."""

    key: str = "file"

    def __call__(self, record: ImageRecord) -> tuple[np.ndarray, str]:
        if not record.path.is_file():
            raise UnreadableImage(f"listed, not found: {record.path}")
        return load_rgb_array(record.path)


@dataclass(frozen=True)
class ListedSet:
    name: str
    names: Callable[[], list[str]]  # the listed file names, relative to the set's folder
    source: str  # repository@commit: path that defines the list
    description: str
    reader: object = ListedFiles()


def _numbered(pattern: str, first: int, last: int) -> Callable[[], list[str]]:
    return lambda: [pattern.format(i) for i in range(first, last + 1)]


def shipped_names(name: str) -> list[str]:
    """The file names in colorbench/data/manifests/<name>.names ('#' lines are the citation)."""
    text = resources.files("colorbench.data").joinpath("manifests", f"{name}.names").read_text("utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


LISTED_SETS: dict[str, ListedSet] = {s.name: s for s in (
    ListedSet("imagenet-val5k", _numbered("ILSVRC2012_val_{:08d}.JPEG", 1, 5000),
              "shuchenweng/CT2@cd40f5a: segm/data/coco.py (load_filenames, split 'val'; get_img)",
              "CT2's test set: the first 5000 ImageNet validation images by file name, centre-cropped to a "
              "square and resized to 256 as CT2 prepares them (your own ImageNet copy)", CT2Prepared()),
    ListedSet("imagenet-ctest10k", partial(shipped_names, "imagenet-ctest10k"),
              "AruniRC/colorizer-fcn@33ab423: lists/ctest10k.txt (Larsson et al. 2016)",
              "Larsson et al.'s ctest10k: 10000 ImageNet validation images, listed in "
              "colorbench/data/manifests/imagenet-ctest10k.names (your own ImageNet copy)"),
    ListedSet("ade20k-val", _numbered("ADE_val_{:08d}.jpg", 1, 2000),
              "CSAILVision/semantic-segmentation-pytorch@8f27c9b: data/validation.odgt",
              "ADE20K SceneParsing validation images ADE_val_00000001..02000.jpg (your own ADEChallengeData2016 "
              "images/validation copy)"),
)}


def resolve_listed(listed: ListedSet, dataset: DatasetConfig, progress: bool = True) -> ResolvedSource:
    """Records for every listed name in the user's copy; a missing name stays a record that reads
    as unreadable (so it is listed, and --strict fails), never a silent change of N."""
    if dataset.root is not None:
        folder = Path(dataset.root).expanduser()
    elif data_root() is not None:
        folder = data_root() / listed.name
    else:
        folder = cache_dir("datasets") / listed.name
    if not folder.is_dir():
        raise DataError(f"{listed.name}: no folder {folder}; colorbench does not ship or download these images: "
                        f"point $COLORBENCH_DATA/{listed.name} (or the dataset's root) at your copy")
    names = listed.names()
    present = [n for n in names if (folder / n).is_file()]
    if not present:
        raise DataError(f"{listed.name}: none of the {len(names)} listed files ({names[0]}, ...) is in {folder}")
    hashes = hash_files(folder, present)
    hashes.update({n: "missing" for n in names if n not in hashes})
    records = make_records(folder, names, dataset, listed.name)
    return ResolvedSource(records, manifest_hash(hashes), f"listed:{folder}", listed.reader)
