"""DATASETS: the explicit registry of dataset sources (no folder auto-scan), and their descriptions."""
from __future__ import annotations

from functools import partial

from colorbench.registry import Registry

from .reference import LISTED_SETS, REFERENCE_SETS, resolve_listed, resolve_reference
from .sources import Resolver, resolve_folder, resolve_paired
from .torchvision_sets import TORCHVISION_SETS, resolve_torchvision

DATASETS: Registry[Resolver] = Registry("dataset")

DATASETS.register(
    "folder", resolve_folder,
    "any directory of images (root), recursive; category from sub-folder or file-name regex",
)
DATASETS.register(
    "paired", resolve_paired,
    "NCD-style files with grayscale and colour halves side by side (root, gray_side); truth = colour half",
)
for _ref in REFERENCE_SETS.values():
    DATASETS.register(_ref.name, partial(resolve_reference, _ref), _ref.description)
for _listed in LISTED_SETS.values():
    DATASETS.register(_listed.name, partial(resolve_listed, _listed), f"{_listed.description}; list: {_listed.source}")
for _tv in TORCHVISION_SETS.values():
    DATASETS.register(_tv.name, partial(resolve_torchvision, _tv), _tv.description)
