"""Datasets: sources, hygiene, deterministic splits and resizing for colorbench.

Typical use:
    prepared = load_dataset(DatasetSpec(source="kodak24"))
    test = prepared.split("test")        # torch Dataset of (id, (3, S, S) float32 in [0, 1])
    print(prepared.report.summary())     # always check what was excluded and why
"""
from __future__ import annotations

from .catalog import DATASETS, describe_datasets
from .dataset import ImageDataset
from .hygiene import HYGIENE_VERSION, Exclusion
from .prepare import DatasetReport, PreparedDataset, load_dataset
from .records import ImageRecord
from .resize import describe as describe_resize
from .resize import resize
from .spec import DEFAULT_CHROMA_THRESHOLD, RESIZE_POLICIES, DatasetSpec

__all__ = [
    "DATASETS",
    "DEFAULT_CHROMA_THRESHOLD",
    "DatasetReport",
    "DatasetSpec",
    "Exclusion",
    "HYGIENE_VERSION",
    "ImageDataset",
    "ImageRecord",
    "PreparedDataset",
    "RESIZE_POLICIES",
    "describe_datasets",
    "describe_resize",
    "load_dataset",
    "resize",
]
