"""The one dataset schema, from YAML to the loader: DatasetConfig (what a dataset is) and
LoadOptions (the run's settings that decide which pixels it yields).

A benchmark file's `datasets:` entries are parsed into DatasetConfig by colorbench.typed (unknown
keys and wrong types are refused with the key named, exit 2); load_dataset(config, options)
takes them as they are. Both are recorded with results.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Literal

from colorbench.labels import label_problem
from colorbench.typed import require

RESIZE_POLICIES = ("short_side_crop", "stretch", "none")
SPLITS = ("train", "val", "test")

# Mean CIELAB chroma below which an image counts as near-gray. Chosen from the
# imagenet-samples distribution: grayscale photos stored as RGB JPEG score < 0.2 (JPEG chroma
# noise), the lowest genuine colour photo scores 1.12; see colorbench/data/hygiene.py.
DEFAULT_CHROMA_THRESHOLD = 1.0


@dataclass(frozen=True)
class Split:
    """Fractions of the found images in each split (seeded, colorbench/data/splits.py)."""

    train: float = 0.8
    val: float = 0.1
    test: float = 0.1

    def __post_init__(self):
        for name in SPLITS:
            require(0.0 <= getattr(self, name) <= 1.0, name, "must lie in [0, 1]")
        require(abs(self.train + self.val + self.test - 1.0) < 1e-9, "test", "train + val + test must sum to 1")

    def fractions(self) -> dict[str, float]:
        return {name: float(getattr(self, name)) for name in SPLITS}


TEST_ONLY = Split(0.0, 0.0, 1.0)


@dataclass(frozen=True)
class DatasetConfig:
    name: str  # row label in tables, and a folder name under the run
    source: str | None = None  # dataset registry name; defaults to `name`
    root: str | None = None  # directory: required for `folder` / `paired`; an override for named sets
    split: Split = field(default_factory=Split)
    category_from: Literal["none", "subfolder", "regex"] = "none"
    category_regex: str | None = None  # with category_from: regex; a named group `category`
    gray_side: Literal["left", "right"] = "left"  # paired sources: the grayscale half
    upstream_split: str | None = None  # torchvision sources: their own split to draw from
    verify_hashes: bool = False  # named sets found locally: SHA-256 every file (slow)
    download: bool = True  # named and torchvision sets may be downloaded into the cache
    download_base: str | None = None  # mirror root for named sets; else $COLORBENCH_DOWNLOAD_BASE

    def __post_init__(self):
        require(label_problem(self.name) is None, "name", label_problem(self.name) or "")
        if self.category_from == "regex":
            require(bool(self.category_regex), "category_regex", 'category_from "regex" needs category_regex')
            try:
                pattern = re.compile(self.category_regex)
            except re.error as exc:
                require(False, "category_regex", f"{self.category_regex!r} is not a valid regex: {exc}")
            require("category" in pattern.groupindex, "category_regex",
                    f"{self.category_regex!r} needs a named group (?P<category>...)")
        else:
            require(self.category_regex is None, "category_regex", 'is set but category_from is not "regex"')

    @property
    def source_name(self) -> str:
        return self.source or self.name

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class LoadOptions:
    """The run's settings that decide which pixels a dataset yields (the same for every dataset)."""

    seed: int = 0
    size: int | None = 256  # None only with resize_policy "none"
    resize_policy: Literal["short_side_crop", "stretch", "none"] = "short_side_crop"
    chroma_threshold: float = DEFAULT_CHROMA_THRESHOLD  # 0 disables the near-gray filter
    strict: bool = False  # unreadable files raise DataError instead of being skipped and counted

    def __post_init__(self):
        require(self.resize_policy in RESIZE_POLICIES, "resize_policy", f"must be one of {RESIZE_POLICIES}")
        require(self.resize_policy == "none" or (self.size is not None and self.size >= 1), "size",
                f"must be a positive integer for {self.resize_policy!r}, got {self.size!r}")
        require(self.chroma_threshold >= 0, "chroma_threshold", f"must be >= 0, got {self.chroma_threshold!r}")
