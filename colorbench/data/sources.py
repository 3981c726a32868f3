"""Turning a DatasetConfig into records: the `folder` and `paired` sources, and shared helpers.

A source resolves to a ResolvedSource: sorted records, the manifest hash of their content, where
the files were found, and the reader that produces ground-truth pixels from a record.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol

import numpy as np

from colorbench.errors import DataError
from colorbench.imageio import IMAGE_SUFFIXES

from .hashcache import hash_files
from .manifest import ImageRecord, check_unique_ids, manifest_hash, record_id
from .readers import FileReader, PairedReader
from .spec import DatasetConfig


class Reader(Protocol):
    key: str

    def __call__(self, record: ImageRecord) -> tuple[np.ndarray, str]: ...


@dataclass(frozen=True)
class ResolvedSource:
    records: tuple[ImageRecord, ...]  # sorted by id
    manifest_hash: str
    location: str  # human-readable: where the files came from
    reader: Reader


Resolver = Callable[[DatasetConfig, bool], ResolvedSource]  # (dataset config, show progress bars)


def scan_image_files(root: Path) -> list[str]:
    """Relative '/'-separated names of image files under root, recursively, sorted.

    Hidden files and folders (leading '.') are skipped: they hold temporary downloads and
    editor/OS litter, never dataset images.
    """
    names: list[str] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        rel = Path(folder).relative_to(root).as_posix()
        for file in files:
            if not file.startswith(".") and Path(file).suffix.lower() in IMAGE_SUFFIXES:
                names.append(file if rel == "." else f"{rel}/{file}")
    return sorted(names)


def category_of(relative: str, dataset: DatasetConfig) -> str | None:
    """'subfolder': first-level folder (ImageFolder convention), None for files at the root;
    'regex': group 'category' of re.search on the file name, None when it does not match."""
    if dataset.category_from == "subfolder":
        head, sep, _ = relative.partition("/")
        return head if sep else None
    if dataset.category_from == "regex":
        match = re.search(dataset.category_regex or "", relative.rpartition("/")[2])
        return match.group("category") if match else None
    return None


def make_records(root: Path, relative_names: list[str], dataset: DatasetConfig, where: str) -> tuple[ImageRecord, ...]:
    records = sorted(ImageRecord(record_id(n), root / n, category_of(n, dataset)) for n in relative_names)
    check_unique_ids(records, where)
    return tuple(records)


def _local_root(dataset: DatasetConfig) -> Path:
    if dataset.root is None:
        raise DataError(f"dataset source {dataset.source_name!r} needs root: the directory holding the images")
    root = Path(dataset.root).expanduser()
    if not root.is_dir():
        raise DataError(f"dataset {dataset.name!r}: root {str(root)!r} is not a directory")
    return root


def _resolve_files(dataset: DatasetConfig, reader: Reader) -> ResolvedSource:
    root = _local_root(dataset)
    names = scan_image_files(root)
    if not names:
        raise DataError(f"dataset {dataset.name!r}: no image files ({', '.join(IMAGE_SUFFIXES)}) under {root}")
    records = make_records(root, names, dataset, str(root))
    return ResolvedSource(records, manifest_hash(hash_files(root, names)), f"folder:{root}", reader)


def resolve_folder(dataset: DatasetConfig, progress: bool = True) -> ResolvedSource:
    return _resolve_files(dataset, FileReader())


def resolve_paired(dataset: DatasetConfig, progress: bool = True) -> ResolvedSource:
    return _resolve_files(dataset, PairedReader(dataset.gray_side))
