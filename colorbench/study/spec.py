"""study.json: the typed, versioned description of a study, and the checks that a folder is whole.

A trial names images from images/ (file names are the first 16 hex digits of the file's SHA-256):
`reference` (the real photo) and `test` (a baseline's colourisation; for a vigilance trial the
ground truth with its hue rotated by 180 degrees; the ground truth itself when `system` is "":
the hidden reference, test == reference). A trial's role is its `system`, never the file: an
output identical to the photo (the oracle's) also has test == reference. Which of the two a
rater sees, and how, is the study's design (`design`, a name in colorbench.study.designs).
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from colorbench.errors import ConfigError, DataError
from colorbench.registry import UnknownNameError
from colorbench.study.designs import DESIGNS, Design
from colorbench.typed import FieldError, from_dict, require

STUDY_SCHEMA = "colorbench.study/1"
STUDY_FILE = "study.json"
IMAGES_DIR = "images"
DB_FILE = "responses.sqlite"
ANALYSIS_FILE = "analysis.json"  # written by `study analyze`
EXPORT_DIR = "export"  # written by `study export`
IMAGE_NAME = re.compile(r"^[0-9a-f]{16}\.png$")
GROUND_TRUTH = ""  # `system` of a hidden-reference trial


@dataclass(frozen=True)
class Trial:
    id: str
    kind: Literal["main", "practice", "vigilance"]
    dataset: str
    image_id: str
    system: str
    test: str
    reference: str

    def __post_init__(self):
        for key in ("test", "reference"):
            require(bool(IMAGE_NAME.fullmatch(getattr(self, key))), key, f"not a study image name: {getattr(self, key)!r}")


@dataclass(frozen=True)
class Settings:
    per_baseline: int
    datasets: list[str]
    baselines: list[str]
    practice: int
    vigilance: int
    vigilance_max_fail: float  # a rater failing a larger share of vigilance trials is excluded
    skipped_baselines: dict[str, str]  # name -> why it is not in the study
    skipped_scenes: dict[str, list[str]]  # dataset -> test ids lacking an image some baseline needs


@dataclass(frozen=True)
class Source:
    run_id: str
    run_dir: str


@dataclass(frozen=True)
class Study:
    schema: str
    name: str
    design: str  # a name in colorbench.study.designs.DESIGNS
    seed: int
    created: str
    colorbench_version: str
    source: Source
    settings: Settings
    images: dict[str, str]  # file name under images/ -> full SHA-256
    fingerprint: str  # SHA-256 over the sorted image hashes
    trials: list[Trial]

    def __post_init__(self):
        require(self.schema == STUDY_SCHEMA, "schema", f"expected {STUDY_SCHEMA!r}, got {self.schema!r}")
        try:
            DESIGNS.get(self.design)
        except UnknownNameError as exc:  # did-you-mean
            raise FieldError("design", str(exc)) from None
        ids = [t.id for t in self.trials]
        require(len(set(ids)) == len(ids), "trials", "trial ids are not unique")
        for t in self.trials:
            for name in (t.test, t.reference):
                require(name in self.images, "trials", f"trial {t.id} uses {name}, which is not in images")
        require(self.fingerprint == fingerprint(self.images.values()), "fingerprint", "does not match the image hashes")

    @property
    def rules(self) -> Design:
        """The design `design` names: how its trials are shown, answered, scored and checked."""
        return DESIGNS.get(self.design)

    def trial(self, trial_id: str) -> Trial:
        return self._by_id()[trial_id]

    def _by_id(self) -> dict[str, Trial]:
        cache = self.__dict__.get("_index")
        if cache is None:
            cache = {t.id: t for t in self.trials}
            object.__setattr__(self, "_index", cache)
        return cache

    def has_trial(self, trial_id: str) -> bool:
        return trial_id in self._by_id()


def fingerprint(hashes) -> str:
    return hashlib.sha256("\n".join(sorted(hashes)).encode()).hexdigest()


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_study(folder: Path, check_images: bool = True) -> Study:
    """The study in `folder`, checked; a missing or corrupt part is one clear error (exit 2 or 4)."""
    folder = Path(folder)
    path = folder / STUDY_FILE
    if not folder.is_dir():
        raise DataError(f"{folder}: no such study folder")
    if not path.is_file():
        raise DataError(f"{folder}: not a study folder (no {STUDY_FILE}); create one with `colorbench study create RUN_DIR`")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(str(path), "", f"corrupt study file: {exc}") from None
    try:
        study = from_dict(Study, data)
    except FieldError as exc:
        raise ConfigError(str(path), exc.key, str(exc)) from None
    if check_images:
        check_image_files(folder, study)
    return study


def check_image_files(folder: Path, study: Study) -> None:
    """Every image the study names is present with the recorded content."""
    images = folder / IMAGES_DIR
    for name, digest in sorted(study.images.items()):
        p = images / name
        if not p.is_file():
            raise DataError(f"{p}: study image missing ({len(study.images)} expected); the study folder is incomplete")
        if file_sha256(p) != digest:
            raise DataError(f"{p}: study image changed since the study was created (SHA-256 mismatch)")
