"""Rated sets by name (RATED_SETS: explicit registry) or by folder (a study or rated folder)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from colorbench.registry import Registry

from .folder import load_rated_folder, rated_folder
from .ratings import RatedSet


@dataclass
class LoadedSet:
    rs: RatedSet
    checks: dict = field(default_factory=dict)  # e.g. HECD's z-score reproduction


def _hecd(download: bool, progress: bool) -> LoadedSet:
    from . import hecd

    folder, where = hecd.locate(download, progress)
    rs = hecd.read_hecd(folder, where)
    return LoadedSet(rs, {"zscore_reproduction": hecd.zscore_reproduction(rs, folder)})


RATED_SETS: Registry[Callable[[bool, bool], LoadedSet]] = Registry("rated set")
RATED_SETS.register(
    "hecd", _hecd,
    "Human Evaluated Colourisation Dataset (Mullery and Whelan 2022): 20 scenes x (ground truth + 65 "
    "recolourisations), rated 1..5 by 1267 raters; 120 images from six published colorizers",
)


def load(name_or_path: str, download: bool = True, progress: bool = True) -> LoadedSet:
    """A registered name, else a study folder (its counted votes), else a rated folder."""
    from .study import is_study_folder, study_rated_set

    if name_or_path in RATED_SETS:
        return RATED_SETS.get(name_or_path)(download, progress)
    if is_study_folder(name_or_path):
        return LoadedSet(study_rated_set(name_or_path))
    if rated_folder(name_or_path) is not None or Path(name_or_path).expanduser().is_dir():
        return LoadedSet(load_rated_folder(name_or_path))
    RATED_SETS.get(name_or_path)  # UnknownNameError with did-you-mean
    raise AssertionError("unreachable")
