"""DatasetSpec: every option that decides which images a run sees, as plain typed fields.

The YAML config constructs this directly, so field names are plain words and every field has a
type a YAML scalar can hold. Validation happens in __post_init__ so a bad config fails before any
file is touched. `as_dict()` is what gets recorded with results.
"""
from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass

from colorbench.errors import DataError

RESIZE_POLICIES = ("short_side_crop", "stretch", "none")
CATEGORY_FROM = ("none", "subfolder", "regex")
GRAY_SIDES = ("left", "right")
SPLITS = ("train", "val", "test")

# Mean CIELAB chroma below which an image counts as near-gray. Chosen from the
# imagenet-samples distribution: grayscale photos stored as RGB JPEG score < 0.2 (JPEG chroma
# noise), the lowest genuine colour photo scores 1.12; see colorbench/data/hygiene.py.
DEFAULT_CHROMA_THRESHOLD = 1.0


@dataclass(frozen=True)
class DatasetSpec:
    source: str  # a DATASETS name: "folder", "paired", "kodak24", "cifar10", ...
    root: str | None = None  # directory: required for folder/paired; optional override otherwise
    name: str | None = None  # label recorded with results; default: the source name
    train_fraction: float = 0.0
    val_fraction: float = 0.0
    test_fraction: float = 1.0  # sets meant only for testing keep the default 0/0/1
    seed: int = 0
    size: int | None = 256  # None only with resize_policy "none"
    resize_policy: str = "short_side_crop"
    chroma_threshold: float = DEFAULT_CHROMA_THRESHOLD  # 0 disables the near-gray filter
    strict: bool = False  # unreadable files raise DataError instead of being skipped and counted
    max_images: int | None = None  # per split: first k of the seeded order
    category_from: str = "none"  # "subfolder" (first-level folder) or "regex" (on the file name)
    category_regex: str | None = None  # needs a named group "category"
    gray_side: str = "left"  # paired files: which half is the grayscale one
    upstream_split: str | None = None  # torchvision sets: their own split; None = their test split
    verify_hashes: bool = False  # named sets found locally: SHA-256 every file (slow)
    download: bool = True  # named and torchvision sets may be downloaded into the cache
    download_base: str | None = None  # mirror root for named sets; else $COLORBENCH_DOWNLOAD_BASE

    def __post_init__(self) -> None:
        fractions = (self.train_fraction, self.val_fraction, self.test_fraction)
        if any(not isinstance(f, (int, float)) or isinstance(f, bool) or not 0.0 <= f <= 1.0 for f in fractions):
            raise DataError(f"split fractions must be numbers in [0, 1], got {fractions}")
        if not math.isclose(sum(fractions), 1.0, abs_tol=1e-9):
            raise DataError(f"split fractions must sum to 1, got {fractions} (sum {sum(fractions):g})")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool):
            raise DataError(f"seed must be an integer, got {self.seed!r}")
        if self.resize_policy not in RESIZE_POLICIES:
            raise DataError(f"resize_policy must be one of {RESIZE_POLICIES}, got {self.resize_policy!r}")
        if self.resize_policy != "none" and (not isinstance(self.size, int) or self.size < 1):
            raise DataError(f"size must be a positive integer for {self.resize_policy!r}, got {self.size!r}")
        if not isinstance(self.chroma_threshold, (int, float)) or self.chroma_threshold < 0:
            raise DataError(f"chroma_threshold must be a number >= 0, got {self.chroma_threshold!r}")
        if self.max_images is not None and (not isinstance(self.max_images, int) or self.max_images < 1):
            raise DataError(f"max_images must be a positive integer or null, got {self.max_images!r}")
        if self.category_from not in CATEGORY_FROM:
            raise DataError(f"category_from must be one of {CATEGORY_FROM}, got {self.category_from!r}")
        if self.category_from == "regex":
            if not self.category_regex:
                raise DataError('category_from "regex" needs category_regex')
            try:
                pattern = re.compile(self.category_regex)
            except re.error as exc:
                raise DataError(f"category_regex {self.category_regex!r} is not a valid regex: {exc}") from None
            if "category" not in pattern.groupindex:
                raise DataError(f"category_regex {self.category_regex!r} needs a named group (?P<category>...)")
        elif self.category_regex is not None:
            raise DataError('category_regex is set but category_from is not "regex"')
        if self.gray_side not in GRAY_SIDES:
            raise DataError(f"gray_side must be one of {GRAY_SIDES}, got {self.gray_side!r}")

    @property
    def label(self) -> str:
        return self.name or self.source

    def fractions(self) -> dict[str, float]:
        return {"train": float(self.train_fraction), "val": float(self.val_fraction), "test": float(self.test_fraction)}

    def as_dict(self) -> dict:
        return asdict(self)
