"""Rated sets by name (RATED_SETS: explicit registry) or by folder (a rated folder, or a folder
kind a caller's reader recognises: `colorbench agreement` hands in the study folder's)."""
from __future__ import annotations

from collections.abc import Callable, Sequence
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


# Reads a folder of its own kind as a rated set, or returns None when the folder is not one.
FolderReader = Callable[[str], RatedSet | None]


def load(name_or_path: str, download: bool = True, progress: bool = True, readers: Sequence[FolderReader] = ()) -> LoadedSet:
    """A registered name, else a folder one of `readers` recognises (tried in order), else a rated
    folder. The readers come from above: human/ sits below study/, so the study folder's reader
    (colorbench.study.agreement.read_study_folder) is handed in by `colorbench agreement`."""
    if name_or_path in RATED_SETS:
        return RATED_SETS.get(name_or_path)(download, progress)
    for read in readers:
        rs = read(name_or_path)
        if rs is not None:
            return LoadedSet(rs)
    if rated_folder(name_or_path) is not None or Path(name_or_path).expanduser().is_dir():
        return LoadedSet(load_rated_folder(name_or_path))
    RATED_SETS.get(name_or_path)  # UnknownNameError with did-you-mean
    raise AssertionError("unreachable")
